"""Evaluation use cases: classifier runs and comparisons; ``llm/`` for LLM and agent suites."""
