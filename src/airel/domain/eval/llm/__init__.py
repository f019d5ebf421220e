"""LLM and agent evaluation: rules, cases, PII, schema and text checks, pass-rate thresholds, the
LLM comparison and its report.
"""
