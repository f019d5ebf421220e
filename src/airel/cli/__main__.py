"""``python -m airel.cli``."""

from airel.cli.main import main

main()
