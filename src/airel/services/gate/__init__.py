"""Gate use cases: evidence, policies, decisions, approvals and waivers, role grants and signing
keys, signed approvals.
"""
