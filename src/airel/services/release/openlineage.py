"""Use case: export lineage as OpenLineage run events, for Marquez, DataHub and friends.

Each node reached by a lineage walk that has parents becomes one ``COMPLETE`` RunEvent
(OpenLineage spec 2-0-2): the job is "build <node>", its inputs are the parents and its
output is the node, all in the dataset namespace ``airel://<store id>``. Run ids are UUIDv5 of
the store id and node, so exporting twice gives the same events. airel's own facts (kind,
content digest, artifact digest, relations) travel in a custom ``airel`` facet.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from airel.domain.release.bundle import FrozenBundle
from airel.domain.release.components import ComponentKey, ComponentVersion
from airel.domain.release.lineage import Direction, Edge
from airel.services.kernel.context import Context
from airel.services.release.lineage import walk

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
PRODUCER = "urn:airel:0.1.0"
FACET_SCHEMA = "urn:airel:facets:component:1"


def _facts(record: ComponentVersion | FrozenBundle | None) -> dict[str, Any]:
    if isinstance(record, ComponentVersion):
        return {
            "kind": record.kind.value,
            "digest": record.digest,
            "artifact": record.artifact.digest if record.artifact else None,
            "createdAt": record.created_at,
            "createdBy": record.created_by,
        }
    if isinstance(record, FrozenBundle):
        return {
            "kind": "release",
            "digest": record.digest,
            "riskTier": int(record.risk_tier),
            "createdAt": record.created_at,
            "createdBy": record.created_by,
        }
    return {}


def _dataset(namespace: str, node: str, facts: dict[str, Any]) -> dict[str, Any]:
    facets = {"airel": {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMA, **facts}}
    return {"namespace": namespace, "name": node, "facets": facets}


def export_events(
    ctx: Context, node: str, direction: Direction = Direction.UPSTREAM
) -> list[dict[str, Any]]:
    """OpenLineage RunEvents for the lineage reachable from ``node``, oldest first."""
    graph = walk(ctx, node, direction)
    parents: dict[str, list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        parents[edge.child].append(edge)
    nodes = set(graph.nodes) | set(graph.starts)
    records: dict[str, ComponentVersion | FrozenBundle | None] = {}
    with ctx.store.read() as tx:
        store_id = tx.store_id()
        for n in sorted(nodes):
            if n.startswith("release/"):
                records[n] = tx.get_bundle(n.removeprefix("release/"))
            else:
                records[n] = tx.get_component(ComponentKey.from_node(n))
    namespace = f"airel://{store_id}"
    events: list[dict[str, Any]] = []
    for child, edges in parents.items():
        facts = _facts(records.get(child))
        facts["relations"] = sorted({f"{e.relation.value}:{e.parent}" for e in edges})
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": facts.get("createdAt", ""),
                "producer": PRODUCER,
                "schemaURL": SCHEMA_URL,
                "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{child}"))},
                "job": {"namespace": namespace, "name": f"build {child}"},
                "inputs": [
                    _dataset(namespace, e.parent, _facts(records.get(e.parent)))
                    for e in sorted(edges, key=lambda e: e.parent)
                ],
                "outputs": [_dataset(namespace, child, facts)],
            }
        )
    return sorted(events, key=lambda e: (e["eventTime"], e["job"]["name"]))
