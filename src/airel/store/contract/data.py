"""The store contract of the data context: stored profiles and validation runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a contract names the models; importing it builds none (issue 10)
    from airel.domain.data.evidence import ProfileRecord, ValidationRun


class DataReads(Protocol):
    """Reads of the data context: stored profiles and validation runs."""

    def get_profile(self, source_digest: str, options_key: str) -> ProfileRecord | None:
        """The stored profile of some content under some options, if computed before."""
        ...

    def get_validation_run(self, run_id: str) -> ValidationRun | None: ...

    def list_validation_runs(self, *, current: str | None = None) -> list[ValidationRun]:
        """Runs, oldest first; optionally only those whose current dataset is ``current``."""
        ...


class DataWrites(Protocol):
    """Mutations of the data context (inside :meth:`Store.write`)."""

    def insert_profile(self, record: ProfileRecord) -> None: ...

    def insert_validation_run(self, run: ValidationRun) -> None: ...
