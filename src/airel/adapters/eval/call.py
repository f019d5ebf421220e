"""The record of one call to the system under evaluation, shared by every kind of target.

A predictions file, a Python entry point and an HTTP endpoint all produce one :class:`Call` per
eval item. A failed item is *recorded* (``status`` ``"error"`` or ``"timeout"``, with the reason
in ``error``), never raised and never mistaken for an answer: evaluators count anything but
``"ok"`` as a failure. Import the names from :mod:`airel.adapters.eval.targets`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from airel.errors import Reason, ValidationError

__all__ = ["Call", "CallStatus", "item_ids"]

CallStatus = Literal["ok", "error", "timeout"]
"""``ok``: ``output`` is the answer; ``error``: the call failed (see ``error``); ``timeout``: it
did not answer within the per-item time limit."""

_STATUSES: frozenset[str] = frozenset(get_args(CallStatus))


@dataclass(frozen=True)
class Call:
    """One item's call: its output or failure, latency and, where the target reports them,
    tokens and cost. ``raw`` keeps what the target returned (e.g. the whole chat response)."""

    item_id: str
    output: Any
    status: CallStatus
    error: str | None
    latency_ms: float
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    raw: Any = None

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"call status {self.status!r} is not one of {sorted(_STATUSES)}",
                details={"item_id": self.item_id},
            )
        if self.status != "ok" and not self.error:
            raise ValidationError(
                Reason.MISSING_FIELD,
                f"item {self.item_id}: a {self.status} call needs an error message",
                details={"item_id": self.item_id},
            )

    @property
    def ok(self) -> bool:
        """True only for a call that returned an answer."""
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored with an eval run (``output`` and ``raw`` as the target gave)."""
        return {
            "item_id": self.item_id,
            "output": self.output,
            "status": self.status,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost": self.cost,
            "raw": self.raw,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Call:
        """Rebuild a stored call (the inverse of :meth:`to_dict`)."""
        return cls(
            item_id=str(data["item_id"]),
            output=data.get("output"),
            status=data["status"],
            error=data.get("error"),
            latency_ms=float(data.get("latency_ms", 0.0)),
            tokens_in=data.get("tokens_in"),
            tokens_out=data.get("tokens_out"),
            cost=data.get("cost"),
            raw=data.get("raw"),
        )


def item_ids(items: Sequence[Mapping[str, Any]], id_key: str = "id") -> list[str]:
    """The id of every eval item, as text; every item needs one and no two may share one.

    Ids are compared as text, so ``1`` and ``"1"`` are the same item (and a duplicate).
    """
    ids: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValidationError(
                Reason.WRONG_TYPE,
                f"eval item {index} is a {type(item).__name__}, not a mapping",
                details={"index": index},
            )
        value = item.get(id_key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationError(
                Reason.MISSING_FIELD,
                f"eval item {index} has no {id_key!r}",
                fix=f"give every eval item a unique {id_key!r}",
                details={"index": index, "id_key": id_key},
            )
        key = str(value)
        if key in seen:
            raise ValidationError(
                Reason.EVAL_DUPLICATE_ID,
                f"eval items {seen[key]} and {index} share the id {key!r}",
                fix="give every eval item a unique id",
                details={"id": key, "indices": [seen[key], index]},
            )
        seen[key] = index
        ids.append(key)
    return ids
