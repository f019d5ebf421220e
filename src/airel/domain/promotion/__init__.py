"""Promotion (issue 11): environments and the stage graph, deployment manifests, rollout plans and
per-component rollback. Empty until that issue lands.
"""
