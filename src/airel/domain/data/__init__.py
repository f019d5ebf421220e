"""Data: profiles, drift, feature specs, findings, the nine validation checks (§5.5) and validation
cards.
"""
