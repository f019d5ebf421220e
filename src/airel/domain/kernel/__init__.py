"""Kernel: what every context shares — canonical JSON and digests, names, strict record parsing,
risk tiers, the clock, roles and identities.
"""
