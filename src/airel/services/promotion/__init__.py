"""Promotion (issue 11): environments and the stage graph, deployment manifests, rollout plans and
per-component rollback, drills, the CI checklist, CT triggers and the release workflow.
"""
