"""Movable aliases (``name@production``) over immutable versions, with their full history."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from airel.domain.release.kinds import ComponentKind


class Alias(BaseModel):
    """The current target of an alias. ``row_version`` is the compare-and-set token."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    kind: ComponentKind
    name: str
    alias: str
    version: str
    row_version: int  # 1 on creation, +1 on every move
    updated_at: str
    updated_by: str


class AliasMove(BaseModel):
    """One entry of an alias's history; ``seq`` equals the row_version it produced."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    kind: ComponentKind
    name: str
    alias: str
    seq: int
    from_version: str | None
    to_version: str
    at: str
    actor: str
    reason: str | None
