"""Lineage (R7): directed edges from what was used to what was made from it.

Nodes are ids ``kind/name:version`` for component versions and ``release/<id>`` for releases.
An edge ``parent -> child`` reads "child was built from / uses parent"; queries walk it both
ways: *upstream* ("what went into release Y") and *downstream* ("which releases used X").
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Relation(StrEnum):
    """Why a child depends on a parent."""

    TRAINED_ON = "trained_on"  # a model's training dataset
    USES_FEATURES = "uses_features"  # a model's feature view
    DERIVED_FROM = "derived_from"  # a dataset/feature view/index built from a dataset
    ROLLS_BACK_TO = "rolls_back_to"  # a model's or release's rollback target
    RUNS_ON = "runs_on"  # an image built from code
    JUDGED_BY = "judged_by"  # an evaluator's judge model
    BUNDLES = "bundles"  # a release bundle binds a component version


class Direction(StrEnum):
    """Which way a lineage query walks."""

    UPSTREAM = "upstream"  # towards parents: what went into this
    DOWNSTREAM = "downstream"  # towards children: what used this


class Edge(BaseModel):
    """``child`` depends on ``parent`` because of ``relation``."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    parent: str
    child: str
    relation: Relation


class LineageGraph(BaseModel):
    """The result of a lineage walk from ``root``."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    root: str  # what was asked for: a node id, or kind/name for every version of a name
    direction: Direction
    nodes: tuple[str, ...]  # every node reached, excluding the root, sorted
    starts: tuple[str, ...] = ()  # the node ids the walk started from
    edges: tuple[Edge, ...]  # every edge walked

    def releases(self) -> list[str]:
        """Release ids among the reached nodes (e.g. "which releases used dataset X")."""
        return sorted(n.removeprefix("release/") for n in self.nodes if n.startswith("release/"))


REFERENCE_RELATIONS: dict[str, Relation] = {
    "training_dataset": Relation.TRAINED_ON,
    "feature_view": Relation.USES_FEATURES,
    "derived_from": Relation.DERIVED_FROM,
    "source_datasets": Relation.DERIVED_FROM,
    "rollback_target": Relation.ROLLS_BACK_TO,
    "code": Relation.RUNS_ON,
    "judge_model": Relation.JUDGED_BY,
}
