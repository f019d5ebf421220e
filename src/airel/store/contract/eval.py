"""The store contract of the eval context: stored eval records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a contract names the models; importing it builds none (issue 10)
    from airel.domain.eval.record import EvalRecord


class EvalReads(Protocol):
    """Reads of the eval context: stored eval records."""

    def get_eval_record(self, record_id: str) -> EvalRecord | None: ...

    def list_eval_records(self, *, kind: str | None = None) -> list[EvalRecord]:
        """Eval runs and comparisons, oldest first."""
        ...


class EvalWrites(Protocol):
    """Mutations of the eval context (inside :meth:`Store.write`)."""

    def insert_eval_record(self, record: EvalRecord) -> None: ...
