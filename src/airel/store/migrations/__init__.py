"""Alembic migrations for the airel store. ``HEAD`` names the newest revision."""

HEAD = "0010_api_tokens"
