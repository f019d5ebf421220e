"""Spark: the same profile as the Arrow engine, for data bigger than one machine."""
