"""Stored validation evidence (V3): profiles and validation runs, as records.

A profile is stored once per (dataset content digest, profile options) and reused: that is
what makes "validate ten candidates against one reference" read the reference once. A
validation run records exactly what was compared (dataset and feature-view versions or file
digests, spec digest, use case, as-of time), every finding, and the rendered §8.3 card; the
gate engine reads runs as G1/G3 evidence.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ProfileRecord(BaseModel):
    """A stored profile of one dataset content under one set of options."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    digest: str  # sha256 of the canonical profile JSON
    source_digest: str  # sha256 of the profiled bytes (file or tree)
    options_key: str  # canonical JSON of the options that change a profile (label, …)
    engine: str  # "arrow" or "spark"
    rows: int
    dataset_node: str | None  # dataset/NAME:VERSION when the data is registered
    body: dict[str, Any]  # the profile (airel.domain.data.profile codec)
    created_at: str
    created_by: str


class ValidationRun(BaseModel):
    """One validation of a current dataset against a reference and a feature spec."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    run_id: str  # sha256 of the run's canonical inputs and findings
    current: str  # dataset node or sha256 of the current file
    reference: str | None  # dataset node or sha256 of the reference file
    serving: str | None  # dataset node or sha256 of the serving sample (skew)
    feature_view: str | None  # feature_view/NAME:VERSION whose spec was used
    spec_digest: str
    use_case: str | None
    as_of: str
    passed: bool  # no hard finding
    hard: int
    soft: int
    findings: list[dict[str, Any]]
    card: dict[str, Any]
    created_at: str
    created_by: str
