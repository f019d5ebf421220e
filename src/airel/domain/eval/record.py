"""A stored eval record (E1–E4): one model's run on a suite, or a baseline-vs-candidate
comparison, as the gate engine reads it for G4."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class EvalRecord(BaseModel):
    """An eval run (one model on a suite) or a baseline-vs-candidate comparison (R5)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    record_id: str  # sha256 of the record's canonical inputs and results
    kind: str  # "run" or "comparison"
    subject: str  # the evaluated model (run) or "baseline -> candidate" (comparison)
    passed: bool | None  # comparisons: no hard threshold failed and no critical failure
    body: dict[str, Any]
    created_at: str
    created_by: str
