"""Release-context tables of the SQL store: components, artifacts, aliases and their moves,
frozen bundles and lineage edges.

One part of the transaction classes in :mod:`airel.store.sql` (as the contract's
:mod:`airel.store.contract.release`); drafts (:mod:`.drafts`), the records the chain binds
(:mod:`.records`) and the audit chain itself (the transaction, in :mod:`airel.store.sql`) are
the rest of the release context.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.kernel.clock import utc_now
from airel.domain.release.alias import Alias, AliasMove
from airel.domain.release.artifact import ArtifactRef, ArtifactType
from airel.domain.release.bundle import FrozenBundle
from airel.domain.release.components import ComponentKey, ComponentVersion
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import Edge, Relation
from airel.domain.release.records import RecordTable
from airel.errors import ConflictError, Reason
from airel.store import schema as t
from airel.store.sql.records import RecordWrites, dumps_json


class ReleaseReads:
    """Reads of the release context."""

    conn: Connection

    # -- components --
    @staticmethod
    def _component(row: sa.Row[Any], artifact: ArtifactRef | None) -> ComponentVersion:
        return ComponentVersion(
            kind=ComponentKind(row.kind),
            name=row.name,
            version=row.version,
            fields=json.loads(row.fields_json),
            artifact=artifact,
            parents=tuple(json.loads(row.parents_json)),
            digest=row.digest,
            created_at=row.created_at,
            created_by=row.created_by,
        )

    def _with_artifacts(self, rows: Sequence[sa.Row[Any]]) -> list[ComponentVersion]:
        digests = {r.artifact_digest for r in rows if r.artifact_digest}
        refs: dict[str, ArtifactRef] = {}
        if digests:
            for a in self.conn.execute(
                sa.select(t.artifacts).where(t.artifacts.c.digest.in_(sorted(digests)))
            ):
                refs[a.digest] = _artifact(a)
        return [
            self._component(r, refs.get(r.artifact_digest) if r.artifact_digest else None)
            for r in rows
        ]

    def get_component(self, key: ComponentKey) -> ComponentVersion | None:
        row = self.conn.execute(
            sa.select(t.components).where(
                t.components.c.kind == key.kind.value,
                t.components.c.name == key.name,
                t.components.c.version == key.version,
            )
        ).first()
        return self._with_artifacts([row])[0] if row else None

    def component_versions(self, kind: ComponentKind, name: str) -> list[ComponentVersion]:
        rows = self.conn.execute(
            sa.select(t.components)
            .where(t.components.c.kind == kind.value, t.components.c.name == name)
            .order_by(t.components.c.created_at, t.components.c.version)
        ).all()
        return self._with_artifacts(rows)

    def list_components(
        self, kind: ComponentKind | None = None, *, limit: int = 1000
    ) -> list[ComponentVersion]:
        query = sa.select(t.components)
        if kind is not None:
            query = query.where(t.components.c.kind == kind.value)
        query = query.order_by(
            t.components.c.kind, t.components.c.name, t.components.c.created_at
        ).limit(limit)
        return self._with_artifacts(self.conn.execute(query).all())

    # -- aliases --
    def get_alias(self, kind: ComponentKind, name: str, alias: str) -> Alias | None:
        row = self.conn.execute(
            sa.select(t.aliases).where(
                t.aliases.c.kind == kind.value,
                t.aliases.c.name == name,
                t.aliases.c.alias == alias,
            )
        ).first()
        return _alias(row) if row else None

    def list_aliases(self, kind: ComponentKind, name: str) -> list[Alias]:
        rows = self.conn.execute(
            sa.select(t.aliases)
            .where(t.aliases.c.kind == kind.value, t.aliases.c.name == name)
            .order_by(t.aliases.c.alias)
        )
        return [_alias(r) for r in rows]

    def alias_history(self, kind: ComponentKind, name: str, alias: str) -> list[AliasMove]:
        rows = self.conn.execute(
            sa.select(t.alias_moves)
            .where(
                t.alias_moves.c.kind == kind.value,
                t.alias_moves.c.name == name,
                t.alias_moves.c.alias == alias,
            )
            .order_by(t.alias_moves.c.seq)
        )
        return [
            AliasMove(
                kind=ComponentKind(r.kind),
                name=r.name,
                alias=r.alias,
                seq=r.seq,
                from_version=r.from_version,
                to_version=r.to_version,
                at=r.at,
                actor=r.actor,
                reason=r.reason,
            )
            for r in rows
        ]

    # -- bundles --
    def get_bundle(self, release_id: str) -> FrozenBundle | None:
        row = self.conn.execute(
            sa.select(t.bundles.c.body_json).where(t.bundles.c.release_id == release_id)
        ).first()
        return FrozenBundle.model_validate_json(row[0]) if row else None

    def list_bundles(
        self, *, use_case_id: str | None = None, limit: int = 1000
    ) -> list[FrozenBundle]:
        query = sa.select(t.bundles.c.body_json)
        if use_case_id is not None:
            query = query.where(t.bundles.c.use_case_id == use_case_id)
        query = query.order_by(t.bundles.c.created_at, t.bundles.c.release_id).limit(limit)
        return [FrozenBundle.model_validate_json(r[0]) for r in self.conn.execute(query)]

    # -- lineage --
    def _edges(self, column: sa.ColumnElement[str], nodes: Sequence[str]) -> list[Edge]:
        out: list[Edge] = []
        nodes = sorted(set(nodes))
        for start in range(0, len(nodes), 500):
            chunk = nodes[start : start + 500]
            for r in self.conn.execute(sa.select(t.lineage_edges).where(column.in_(chunk))):
                out.append(Edge(parent=r.parent, child=r.child, relation=Relation(r.relation)))
        return out

    def edges_from_parents(self, parents: Sequence[str]) -> list[Edge]:
        return self._edges(t.lineage_edges.c.parent, parents)

    def edges_from_children(self, children: Sequence[str]) -> list[Edge]:
        return self._edges(t.lineage_edges.c.child, children)

    # -- artifacts --
    def get_artifact(self, digest: str) -> ArtifactRef | None:
        row = self.conn.execute(
            sa.select(t.artifacts).where(t.artifacts.c.digest == digest)
        ).first()
        return _artifact(row) if row else None

    def list_artifacts(self) -> list[ArtifactRef]:
        return [
            _artifact(r)
            for r in self.conn.execute(sa.select(t.artifacts).order_by(t.artifacts.c.digest))
        ]


class ReleaseWrites(RecordWrites, ReleaseReads):
    """Mutations of the release context (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int

    def insert_component(self, version: ComponentVersion) -> None:
        self.mutations += 1
        self.conn.execute(
            t.components.insert().values(
                kind=version.kind.value,
                name=version.name,
                version=version.version,
                digest=version.digest,
                fields_json=dumps_json(version.fields),
                artifact_digest=version.artifact.digest if version.artifact else None,
                parents_json=dumps_json(list(version.parents)),
                created_at=version.created_at,
                created_by=version.created_by,
            )
        )
        self.bind(RecordTable.COMPONENTS, version.kind.value, version.name, version.version)

    def put_artifact(self, ref: ArtifactRef) -> bool:
        if self.get_artifact(ref.digest) is not None:
            return False
        self.mutations += 1
        self.conn.execute(
            t.artifacts.insert().values(
                digest=ref.digest,
                type=ref.type.value,
                size=ref.size,
                files=ref.files,
                created_at=utc_now(),
            )
        )
        self.bind(RecordTable.ARTIFACTS, ref.digest)
        return True

    def set_alias(self, alias: Alias, *, expected_row_version: int | None) -> None:
        self.mutations += 1
        values = {
            "version": alias.version,
            "row_version": alias.row_version,
            "updated_at": alias.updated_at,
            "updated_by": alias.updated_by,
        }
        if expected_row_version is None:
            if self.get_alias(alias.kind, alias.name, alias.alias) is not None:
                raise _stale(alias, None)
            self.conn.execute(
                t.aliases.insert().values(
                    kind=alias.kind.value, name=alias.name, alias=alias.alias, **values
                )
            )
            self.bind(RecordTable.ALIASES, alias.kind.value, alias.name, alias.alias)
            return
        result = self.conn.execute(
            t.aliases.update()
            .where(
                t.aliases.c.kind == alias.kind.value,
                t.aliases.c.name == alias.name,
                t.aliases.c.alias == alias.alias,
                t.aliases.c.row_version == expected_row_version,
            )
            .values(**values)
        )
        if result.rowcount != 1:
            raise _stale(alias, expected_row_version)
        self.bind(RecordTable.ALIASES, alias.kind.value, alias.name, alias.alias)

    def insert_alias_move(self, move: AliasMove) -> None:
        self.mutations += 1
        self.conn.execute(
            t.alias_moves.insert().values(
                kind=move.kind.value,
                name=move.name,
                alias=move.alias,
                seq=move.seq,
                from_version=move.from_version,
                to_version=move.to_version,
                at=move.at,
                actor=move.actor,
                reason=move.reason,
            )
        )
        self.bind(RecordTable.ALIAS_MOVES, move.kind.value, move.name, move.alias, move.seq)

    def insert_bundle(self, bundle: FrozenBundle) -> None:
        self.mutations += 1
        self.conn.execute(
            t.bundles.insert().values(
                release_id=bundle.release_id,
                digest=bundle.digest,
                spec_digest=bundle.spec_digest,
                use_case_id=bundle.use_case_id,
                risk_tier=int(bundle.risk_tier),
                pipeline_type=bundle.pipeline_type.value if bundle.pipeline_type else None,
                body_json=bundle.model_dump_json(),
                created_at=bundle.created_at,
                created_by=bundle.created_by,
            )
        )
        self.bind(RecordTable.BUNDLES, bundle.release_id)

    def add_edges(self, edges: Sequence[Edge]) -> None:
        unique = sorted({(e.parent, e.child, e.relation.value) for e in edges})
        if not unique:
            return
        existing = {
            (e.parent, e.child, e.relation.value)
            for e in self.edges_from_children([c for _, c, _ in unique])
        }
        new = [u for u in unique if u not in existing]
        if new:
            self.mutations += 1
            self.conn.execute(
                t.lineage_edges.insert(),
                [{"parent": p, "child": c, "relation": r} for p, c, r in new],
            )
            for p, c, r in new:
                self.bind(RecordTable.LINEAGE_EDGES, p, c, r)


def _artifact(row: sa.Row[Any]) -> ArtifactRef:
    return ArtifactRef(
        digest=row.digest, type=ArtifactType(row.type), size=row.size, files=row.files
    )


def _alias(row: sa.Row[Any]) -> Alias:
    return Alias(
        kind=ComponentKind(row.kind),
        name=row.name,
        alias=row.alias,
        version=row.version,
        row_version=row.row_version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _stale(alias: Alias, expected: int | None) -> ConflictError:
    return ConflictError(
        Reason.STALE_VERSION,
        f"alias {alias.name}@{alias.alias} changed since it was read "
        f"(expected row version {expected})",
        fix="re-read the alias (`airel alias history`) and retry with the current version",
        details={"expected_row_version": expected},
    )
