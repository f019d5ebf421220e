"""Strict YAML and JSON parsing with limits (the only way airel reads a user's document)."""
