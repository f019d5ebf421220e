"""Continuous-training triggers and incidents (``airel ct``, ``airel incident``).

A facet of :class:`airel.Client` (``client.triggers``), loaded when first used; each method is
one service call with its arguments translated. A trigger records a candidate; it never promotes.
"""

from __future__ import annotations

import builtins
from pathlib import Path

from airel.domain.promotion.ct_trigger import CtTrigger, Incident, TriggerSpec
from airel.sdk.facet import Facet
from airel.services.promotion import triggers
from airel.services.promotion.triggers import TriggerResult


class Triggers(Facet):
    """The ``client.triggers`` facet (see the module docstring)."""

    def record(
        self,
        path: Path | str,
        *,
        build: bool = True,
        workdir: Path | str | None = None,
    ) -> TriggerResult:
        """Record a trigger file: build and freeze its candidate (never promote), and open an
        incident for a performance degradation. ``workdir`` defaults to the file's folder."""
        return triggers.record_trigger(
            self.ctx,
            Path(path),
            run_build=build,
            workdir=Path(workdir) if workdir is not None else None,
        )

    def check(self, path: Path | str) -> TriggerSpec:
        """Parse a trigger file strictly; every problem is reported, nothing is stored."""
        return triggers.load_trigger(self.ctx, Path(path))

    def list(self, use_case_id: str | None = None) -> builtins.list[CtTrigger]:
        """Stored trigger records, oldest first."""
        return triggers.list_triggers(self.ctx, use_case_id)

    def get(self, trigger_id: str) -> CtTrigger:
        """One trigger record by id."""
        return triggers.get_trigger(self.ctx, trigger_id)

    def record_markdown(self, trigger_id: str) -> str:
        """The §8.7 Continuous Training Trigger Record of a stored trigger (Markdown)."""
        return triggers.trigger_record(self.ctx, trigger_id)

    def incidents(
        self, *, release_id: str | None = None, use_case_id: str | None = None
    ) -> builtins.list[Incident]:
        """Stored incidents, oldest first."""
        return triggers.list_incidents(self.ctx, release_id=release_id, use_case_id=use_case_id)
