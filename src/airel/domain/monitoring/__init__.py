"""Monitoring (issue 12): request traces, canary analysis and production drift. Empty until that
issue lands.
"""
