"""Evaluation: suites, metrics, bootstrap CIs, baseline-vs-candidate comparison, single runs and
reports; ``llm/`` holds the LLM/agent rules, cases, PII, schema and text checks, pass-rate
thresholds, LLM comparison and report.
"""
