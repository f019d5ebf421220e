"""The Store contract: what services may ask of storage, and nothing about how.

One protocol per bounded context (:mod:`.release`, :mod:`.data`, :mod:`.eval`, :mod:`.gate`,
:mod:`.promotion`, :mod:`.monitoring`), composed into the one transaction type services see.

Every mutation happens inside :meth:`Store.write`, which runs a function in ONE transaction
that must also append to the audit chain; the implementation refuses to commit a mutation
without an audit entry. Writers are serialised on the audit chain head (a hash chain has a
total order anyway), and every row that can change carries a version for compare-and-set.
A transaction that fails with a serialization failure or deadlock is retried from the start,
which is why ``write`` takes a function rather than being a context manager.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from airel.store.contract.data import DataReads, DataWrites
from airel.store.contract.eval import EvalReads, EvalWrites
from airel.store.contract.gate import GateReads, GateWrites
from airel.store.contract.monitoring import MonitoringReads, MonitoringWrites
from airel.store.contract.promotion import (
    PromotionReads,
    PromotionWrites,
    RolloutReads,
    RolloutWrites,
    TriggerReads,
    TriggerWrites,
)
from airel.store.contract.release import ReleaseReads, ReleaseWrites

__all__ = [
    "DataReads",
    "DataWrites",
    "EvalReads",
    "EvalWrites",
    "GateReads",
    "GateWrites",
    "MonitoringReads",
    "MonitoringWrites",
    "PromotionReads",
    "PromotionWrites",
    "ReadTx",
    "ReleaseReads",
    "ReleaseWrites",
    "RolloutReads",
    "RolloutWrites",
    "Store",
    "TriggerReads",
    "TriggerWrites",
    "WriteTx",
]

T = TypeVar("T")


class ReadTx(
    ReleaseReads,
    DataReads,
    EvalReads,
    GateReads,
    PromotionReads,
    RolloutReads,
    TriggerReads,
    MonitoringReads,
    Protocol,
):
    """Reads inside one consistent transaction (every context's, over one connection)."""


class WriteTx(
    ReleaseWrites,
    DataWrites,
    EvalWrites,
    GateWrites,
    PromotionWrites,
    RolloutWrites,
    TriggerWrites,
    MonitoringWrites,
    ReadTx,
    Protocol,
):
    """Reads plus mutations inside one serialised write transaction."""


class Store(Protocol):
    """A metadata store; SQL implementation in :mod:`airel.store.sql`."""

    url: str

    def read(self) -> AbstractContextManager[ReadTx]: ...

    def write(self, fn: Callable[[WriteTx], T]) -> T:
        """Run ``fn`` in one write transaction; retry on serialization failure; commit."""
        ...

    def close(self) -> None: ...
