"""The ``airel`` CLI: a thin edge over :class:`airel.Client`."""
