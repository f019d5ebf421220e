"""``python -m airel.cli``."""

from airel.cli.main import main

if __name__ == "__main__":  # not when a spawned child (the trace ingest process) imports it
    main()
