"""Evaluation adapters: calling models, plugins and HTTP endpoints, the LLM judge and its
authentication, eval data and predictions.
"""
