"""Use cases: walk lineage both ways (R7) and report a release's reproducibility (R8, §7.2)."""

from __future__ import annotations

from collections import deque

from airel.domain.bundle import release_node
from airel.domain.components import ComponentKey, ComponentKind
from airel.domain.lineage import Direction, Edge, LineageGraph, Relation
from airel.errors import NotFoundError, Reason, ValidationError
from airel.services.context import Context
from airel.store.contract import ReadTx


def parse_node(tx: ReadTx, text: str) -> str:
    """Accept ``release/ID``, ``kind/name:version``, ``kind:name:version`` or a bare release id."""
    if text.startswith("release/"):
        release_id = text.removeprefix("release/")
        if tx.get_bundle(release_id) is None:
            raise NotFoundError(
                Reason.RELEASE_NOT_FOUND,
                f"release {release_id} not found",
                fix="list releases with `airel bundle list`",
            )
        return text
    kind_text, sep, rest = text.partition("/")
    if not sep:
        kind_text, sep, rest = text.partition(":")
    if sep and kind_text in {k.value for k in ComponentKind}:
        name, _, version = rest.partition(":")
        if not version:
            raise ValidationError(
                Reason.INVALID_NAME,
                f"{text!r} lacks a version",
                fix="write kind/name:version, e.g. dataset/FRAUD-TRAIN:1",
            )
        key = ComponentKey(ComponentKind(kind_text), name, version)
        if tx.get_component(key) is None:
            raise NotFoundError(
                Reason.COMPONENT_NOT_FOUND,
                f"{key.node} is not registered",
                fix="list components with `airel component list`",
            )
        return key.node
    if tx.get_bundle(text) is not None:
        return release_node(text)
    raise NotFoundError(
        Reason.COMPONENT_NOT_FOUND,
        f"{text!r} is neither a release id nor kind/name:version",
        fix="use release/ID or e.g. dataset/FRAUD-TRAIN-2026H1:1",
    )


def walk(
    ctx: Context, node: str, direction: Direction, *, max_depth: int | None = None
) -> LineageGraph:
    """Breadth-first walk from ``node``: upstream to what went in, downstream to what used it."""
    with ctx.store.read() as tx:
        root = parse_node(tx, node)
        seen = {root}
        edges: list[Edge] = []
        frontier = deque([root])
        depth = 0
        while frontier and (max_depth is None or depth < max_depth):
            level = list(frontier)
            frontier.clear()
            found = (
                tx.edges_from_children(level)
                if direction is Direction.UPSTREAM
                else tx.edges_from_parents(level)
            )
            for edge in found:
                # A rollback target is a fallback, not an input: show it next to the root,
                # never walk through it (else "which releases used X" would over-report).
                fallback = edge.relation is Relation.ROLLS_BACK_TO
                here = edge.child if direction is Direction.UPSTREAM else edge.parent
                if fallback and here != root:
                    continue
                edges.append(edge)
                nxt = edge.parent if direction is Direction.UPSTREAM else edge.child
                if nxt not in seen:
                    seen.add(nxt)
                    if not fallback:
                        frontier.append(nxt)
            depth += 1
    return LineageGraph(
        root=root,
        direction=direction,
        nodes=tuple(sorted(seen - {root})),
        edges=tuple(sorted(set(edges), key=lambda e: (e.parent, e.child, e.relation.value))),
    )
