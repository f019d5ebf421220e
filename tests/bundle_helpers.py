"""Helpers shared by the release-bundle tests (tests/release/test_bundles.py,
test_bundle_diff.py and test_bundle_verify.py).

Freezing with a recorded completeness waiver, the registered model's artifact digest, spec
registration, a checked one-time text replacement, and policy 1.1 for moving an alias.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from airel.client import Client
from airel.services.release.bundles import Frozen

Write = Callable[[str, str], Path]
Render = Callable[..., str]

RELEASE = "FRAUD-2026-001"
# Tier 1 needs a rollback target the first release cannot have: freezing records why (B3).
INCOMPLETE_OK = "test release: completeness is not what is under test"


def freeze(client: Client, write: Write, text: str, name: str = "release.yaml") -> Frozen:
    return client.bundles.create(write(name, text), freeze=True, allow_incomplete=INCOMPLETE_OK)


def model_digest(client: Client, version: str = "1.0.0") -> str:
    artifact = client.registry.component("model", f"fraud-score:{version}").artifact
    assert artifact is not None
    return artifact.digest


def register(client: Client, write: Write, name: str, text: str) -> None:
    path = write(f"specs/{name}.yaml", text)
    client.registry.register(path, base_dir=path.parent.parent)


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


POLICY_11 = """
    kind: policy
    name: fraud-threshold-policy
    version: "1.1"
    text: "decline if score >= 0.95\\nchallenge if score >= 0.6\\n"
"""
