"""The SDK facets of :class:`airel.Client`, one per CLI noun (bounded context)."""
