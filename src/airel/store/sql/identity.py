"""Identity tables of the SQL store: role grants, signing keys (issue 18, G6) and API tokens
(issue 13).

Mixed into the transaction classes of :mod:`airel.store.sql` like :mod:`airel.store.sql.gate`,
so every change shares the connection, the audit-or-refuse rule and the record binding. A
grant is one row per (identity, role): revoking marks it, granting again clears the mark;
the history is the audit chain. Keys are never deleted either.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.kernel.roles import GrantRole, RoleGrant, SigningKey
from airel.domain.kernel.tokens import ApiToken
from airel.domain.release.records import RecordTable
from airel.store import schema as t
from airel.store.sql.records import RecordWrites


def _grant(row: sa.Row[Any]) -> RoleGrant:
    return RoleGrant.model_validate(dict(row._mapping))


def _key(row: sa.Row[Any]) -> SigningKey:
    return SigningKey.model_validate(dict(row._mapping))


def _token(row: sa.Row[Any]) -> ApiToken:
    return ApiToken.model_validate(dict(row._mapping))


class IdentityReads:
    """Reads of the identity tables."""

    conn: Connection

    def list_role_grants(
        self, identity: str | None = None, *, include_revoked: bool = False
    ) -> list[RoleGrant]:
        c = t.role_grants.c
        query = sa.select(t.role_grants).order_by(c.identity, c.role)
        if identity is not None:
            query = query.where(c.identity == identity)
        if not include_revoked:
            query = query.where(c.revoked_at.is_(None))
        return [_grant(r) for r in self.conn.execute(query)]

    def get_signing_key(self, key_id: str) -> SigningKey | None:
        row = self.conn.execute(
            sa.select(t.signing_keys).where(t.signing_keys.c.key_id == key_id)
        ).first()
        return _key(row) if row else None

    def list_signing_keys(self, identity: str | None = None) -> list[SigningKey]:
        c = t.signing_keys.c
        query = sa.select(t.signing_keys).order_by(c.created_at, c.key_id)
        if identity is not None:
            query = query.where(c.identity == identity)
        return [_key(r) for r in self.conn.execute(query)]

    def get_api_token(self, token_id: str) -> ApiToken | None:
        row = self.conn.execute(
            sa.select(t.api_tokens).where(t.api_tokens.c.token_id == token_id)
        ).first()
        return _token(row) if row else None

    def list_api_tokens(self, identity: str | None = None) -> list[ApiToken]:
        c = t.api_tokens.c
        query = sa.select(t.api_tokens).order_by(c.created_at, c.token_id)
        if identity is not None:
            query = query.where(c.identity == identity)
        return [_token(r) for r in self.conn.execute(query)]


class IdentityWrites(RecordWrites):
    """Changes to the identity tables (each a mutation needing an audit entry)."""

    conn: Connection
    mutations: int

    def _grant_row(self, identity: str, role: GrantRole) -> RoleGrant:
        c = t.role_grants.c
        row = self.conn.execute(
            sa.select(t.role_grants).where(c.identity == identity, c.role == role.value)
        ).one()
        return _grant(row)

    def grant_role(self, identity: str, role: GrantRole, *, at: str, by: str) -> RoleGrant:
        self.mutations += 1
        c = t.role_grants.c
        values = {"granted_at": at, "granted_by": by, "revoked_at": None, "revoked_by": None}
        updated = self.conn.execute(
            t.role_grants.update()
            .where(c.identity == identity, c.role == role.value)
            .values(**values)
        )
        if updated.rowcount == 0:
            self.conn.execute(
                t.role_grants.insert().values(identity=identity, role=role.value, **values)
            )
        self.bind(RecordTable.ROLE_GRANTS, identity, role.value)
        return self._grant_row(identity, role)

    def revoke_role(self, identity: str, role: GrantRole, *, at: str, by: str) -> RoleGrant:
        self.mutations += 1
        c = t.role_grants.c
        self.conn.execute(
            t.role_grants.update()
            .where(c.identity == identity, c.role == role.value, c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        )
        self.bind(RecordTable.ROLE_GRANTS, identity, role.value)
        return self._grant_row(identity, role)

    def insert_signing_key(self, key: SigningKey) -> None:
        self.mutations += 1
        self.conn.execute(t.signing_keys.insert().values(**key.model_dump()))
        self.bind(RecordTable.SIGNING_KEYS, key.key_id)

    def revoke_signing_key(self, key_id: str, *, at: str, by: str) -> SigningKey:
        self.mutations += 1
        c = t.signing_keys.c
        self.conn.execute(
            t.signing_keys.update()
            .where(c.key_id == key_id, c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        )
        self.bind(RecordTable.SIGNING_KEYS, key_id)
        row = self.conn.execute(sa.select(t.signing_keys).where(c.key_id == key_id)).one()
        return _key(row)

    def insert_api_token(self, token: ApiToken) -> None:
        self.mutations += 1
        self.conn.execute(t.api_tokens.insert().values(**token.model_dump()))
        self.bind(RecordTable.API_TOKENS, token.token_id)

    def revoke_api_token(self, token_id: str, *, at: str, by: str) -> ApiToken:
        self.mutations += 1
        c = t.api_tokens.c
        self.conn.execute(
            t.api_tokens.update()
            .where(c.token_id == token_id, c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        )
        self.bind(RecordTable.API_TOKENS, token_id)
        row = self.conn.execute(sa.select(t.api_tokens).where(c.token_id == token_id)).one()
        return _token(row)
