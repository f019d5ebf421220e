"""Use case: walk lineage both ways (R7): what went into a release, which releases used X."""

from __future__ import annotations

from collections import deque

from airel.domain.kernel.names import NameClass, check_name
from airel.domain.release.bundle import release_node
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import Direction, Edge, LineageGraph, Relation
from airel.errors import NotFoundError, Reason
from airel.services.kernel.context import Context
from airel.services.release.components import resolve_reference
from airel.store.contract import ReadTx


def parse_roots(tx: ReadTx, text: str) -> tuple[str, list[str]]:
    """Where a walk starts: ``(label, start nodes)``.

    Accepts ``release/ID`` or a bare release id; ``kind/name:version`` (or ``kind:name:version``);
    ``kind/name@alias``; and ``kind/name``, which starts from every version of that name
    ("which releases used dataset X", whatever its version).
    """
    if text.startswith("release/") or ("/" not in text and tx.get_bundle(text) is not None):
        release_id = text.removeprefix("release/")
        if tx.get_bundle(release_id) is None:
            raise NotFoundError(
                Reason.RELEASE_NOT_FOUND,
                f"release {release_id} not found",
                fix="list releases with `airel bundle list`",
            )
        node = release_node(release_id)
        return node, [node]
    kind_text, sep, rest = text.partition("/")
    if not sep:
        kind_text, sep, rest = text.partition(":")
    if not sep or kind_text not in {k.value for k in ComponentKind}:
        raise NotFoundError(
            Reason.COMPONENT_NOT_FOUND,
            f"{text!r} is neither a release id nor kind/name[:version|@alias]",
            fix="use release/ID, dataset/FRAUD-TRAIN, dataset/FRAUD-TRAIN:1 or model/x@production",
        )
    kind = ComponentKind(kind_text)
    if ":" in rest or "@" in rest:
        try:
            key = resolve_reference(tx, kind, rest, field="lineage node")
        except NotFoundError as exc:
            raise NotFoundError(
                Reason.COMPONENT_NOT_FOUND,
                f"{kind.value} {rest} is not registered",
                fix=exc.fix or "list components with `airel component list`",
            ) from None
        return key.node, [key.node]
    check_name(rest, NameClass.COMPONENT, field="lineage node")
    versions = tx.component_versions(kind, rest)
    if not versions:
        raise NotFoundError(
            Reason.COMPONENT_NOT_FOUND,
            f"{kind.value} {rest!r} is not registered",
            fix="list components with `airel component list`",
        )
    return f"{kind.value}/{rest}", [v.key.node for v in versions]


def walk(
    ctx: Context, node: str, direction: Direction, *, max_depth: int | None = None
) -> LineageGraph:
    """Breadth-first walk from ``node``: upstream to what went in, downstream to what used it."""
    with ctx.store.read() as tx:
        root, starts = parse_roots(tx, node)
        seen = set(starts)
        edges: list[Edge] = []
        frontier = deque(starts)
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
                if fallback and here not in starts:
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
        nodes=tuple(sorted(seen - set(starts))),
        starts=tuple(starts),
        edges=tuple(sorted(set(edges), key=lambda e: (e.parent, e.child, e.relation.value))),
    )
