"""LLM and agent evaluation use cases: run a suite on one side, compare baseline and candidate, re-
judge.
"""
