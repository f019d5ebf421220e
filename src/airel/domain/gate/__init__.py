"""Gates: the G0–G9 stack, gate metrics and facts, stored gate records, the policy, the decision
engine, approvals and waivers, signed statements and the §8.1 memo.
"""
