"""Data validation: profiles and validation runs (``airel profile``, ``validate``, ``validation``).

A facet of :class:`airel.Client` (``client.data``), loaded when first used; each method is one
service call with its arguments translated.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from airel.adapters.arrow.engine import ProfileOptions
from airel.domain.data.evidence import ProfileRecord, ValidationRun
from airel.domain.data.profile import Profile
from airel.sdk.facet import Facet
from airel.services.data import profiling, validation
from airel.services.data.validation import ValidationOutcome


class Data(Facet):
    """The ``client.data`` facet (see the module docstring)."""

    def profile(
        self,
        source: str | Path,
        *,
        label: str | None = None,
        reference_time: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[Profile, ProfileRecord, bool]:
        """Profile a registered dataset or a local file once; (profile, record, computed)."""
        src = profiling.resolve_source(self.ctx, str(source))
        options = ProfileOptions(label=label, reference_time=reference_time)
        return profiling.get_or_compute(self.ctx, src, options, on_progress=on_progress)

    def validate(
        self,
        current: str | Path,
        *,
        spec: str | Path,
        reference: str | Path | None = None,
        serving: str | Path | None = None,
        use_case: str | None = None,
        as_of: datetime | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
    ) -> ValidationOutcome:
        """Run the nine §5.5 checks and store the run and its §8.3 card as evidence."""
        return validation.validate(
            self.ctx,
            current=str(current),
            spec=str(spec),
            reference=str(reference) if reference is not None else None,
            serving=str(serving) if serving is not None else None,
            use_case=use_case,
            as_of=as_of,
            on_progress=on_progress,
        )

    def run(self, run_id: str) -> ValidationRun:
        """A stored validation run."""
        return validation.get_run(self.ctx, run_id)

    def runs(self, *, current: str | None = None) -> list[ValidationRun]:
        """Stored validation runs, oldest first."""
        return validation.list_runs(self.ctx, current=current)
