"""The REST API edge (``airel serve api``; issue 13): FastAPI under uvicorn over the same
services the SDK calls. See :mod:`airel.api.app`."""
