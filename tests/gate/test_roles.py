"""Roles live in the store (issue 18 point 3; SPEC G6, C2), on SQLite and PostgreSQL.

* Identity → role assignments are audited records (``role_grants``), bound to the chain and
  changed only by an identity holding ``admin``; the last administrator cannot be revoked.
* ``[identities]`` in a config file seeds the grants of a store that has none, at ``init``
  (the initialising actor becomes ``admin`` when the seed names none) — nothing more: a stray
  ``airel.toml`` or ``AIREL_CONFIG`` file granting a role afterwards is ignored.
* Every approval and waiver made as the local actor records ``auth: unauthenticated-local``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from airel.config import load_settings
from airel.domain.kernel.roles import AdminRole, AuthMethod
from airel.errors import AirelError, Reason
from airel.store import schema as t
from airel.store.sql import SqlStore
from gate_fixtures import CI_OK, V2, freeze_pair, now, ready_through_g4

runner = CliRunner()


@pytest.fixture
def release(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Client:
    """alice initialised the store (admin) and submitted V2."""
    freeze_pair(fraud_registry, bundle_yaml, write)
    return fraud_registry


@pytest.fixture
def acting(release: Client) -> Iterator[Callable[[str], Client]]:
    made: list[Client] = []

    def make(name: str) -> Client:
        made.append(Client(dataclasses.replace(release.settings, actor=name)))
        return made[-1]

    yield make
    for c in made:
        c.close()


def head(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def refused(client: Client, reason: Reason, fn: Callable[[], object]) -> None:
    """``fn`` fails with ``reason`` and writes nothing."""
    before = head(client)
    with pytest.raises(AirelError) as exc:
        fn()
    assert exc.value.reason is reason, exc.value.to_dict()
    assert head(client) == before


def last_entry(client: Client) -> Any:
    with client.ctx.store.read() as tx:
        entry = tx.get_audit(tx.audit_head()[0])
    assert entry is not None
    return entry


def test_init_seeds_the_configured_roles_once(database_url: str, project: Path) -> None:
    """G6: `init` grants [identities] of airel.toml to a store without grants, bound to the
    store.init entry; with no admin named, the initialising actor becomes admin. A second
    init, and a changed file, grant nothing."""
    (project / "airel.toml").write_text('[identities]\nlena-vos = ["compliance"]\n')
    settings = load_settings(
        {"database_url": database_url, "actor": "ops"}, cwd=project, environ={}
    )
    with Client(settings) as c:
        c.init()
        grants = {(g.identity, g.role.value) for g in c.identity.role_grants()}
        assert grants == {("lena-vos", "compliance"), ("ops", "admin")}
        with c.ctx.store.read() as tx:
            init = tx.get_audit(1)
        assert init is not None
        assert init.action == "store.init"
        assert {r["table"] for r in init.details["records"]} >= {"role_grants"}
        assert c.audit.verify().ok
    (project / "airel.toml").write_text('[identities]\nmallory = ["admin", "model_risk"]\n')
    settings = load_settings(
        {"database_url": database_url, "actor": "mallory"}, cwd=project, environ={}
    )
    with Client(settings) as c:
        c.init()
        assert {(g.identity, g.role.value) for g in c.identity.role_grants()} == grants
        refused(c, Reason.ROLE_NOT_HELD, lambda: c.identity.grant_role("mallory", "model_risk"))


def test_a_seed_naming_an_admin_does_not_make_the_actor_one(
    database_url: str, project: Path
) -> None:
    """G6: when [identities] names an administrator, the initialising actor gets nothing."""
    (project / "airel.toml").write_text('[identities]\nmara = ["admin"]\n')
    settings = load_settings(
        {"database_url": database_url, "actor": "ops"}, cwd=project, environ={}
    )
    with Client(settings) as c:
        c.init()
        assert [(g.identity, g.role) for g in c.identity.role_grants()] == [
            ("mara", AdminRole.ADMIN)
        ]


def test_upgrading_a_store_without_grants_seeds_its_admin(tmp_path: Path) -> None:
    """G6: a store written before roles lived in the store (airel 0.1.0) gets its first
    grants at `db upgrade` — the upgrading actor as admin — bound to the store.migrate entry."""
    db = tmp_path / "airel.db"
    shutil.copyfile(Path(__file__).parents[1] / "compat" / "airel-0.1.0.db", db)
    settings = load_settings(
        {"database_url": f"sqlite:///{db}", "actor": "ops"}, cwd=tmp_path, environ={}
    )
    with Client(settings) as c:
        c.upgrade()
        assert [(g.identity, g.role.value) for g in c.identity.role_grants()] == [("ops", "admin")]
        with c.ctx.store.read() as tx:
            migrate = next(e for e in tx.iter_audit() if e.action == "store.migrate")
        assert migrate.details["roles"] == [{"identity": "ops", "role": "admin"}]
        assert c.audit.verify().ok


@pytest.mark.parametrize("how", ["airel.toml", "AIREL_CONFIG"])
def test_a_role_granted_by_a_stray_config_file_is_refused(
    release: Client, database_url: str, project: Path, tmp_path: Path, how: str
) -> None:
    """C2/G6 (issue 18): after init, a config file giving mallory model_risk grants nothing:
    her approval and her exception are refused with ROLE_NOT_HELD, nothing is written, and
    `config show` says the file's [identities] are ignored."""
    stray = '[identities]\nmallory = ["model_risk", "admin"]\n'
    environ: dict[str, str] = {}
    if how == "airel.toml":
        (project / "airel.toml").write_text(stray)
    else:
        (tmp_path / "elsewhere.toml").write_text(stray)
        environ["AIREL_CONFIG"] = str(tmp_path / "elsewhere.toml")
    settings = load_settings(
        {"database_url": database_url, "actor": "mallory"}, cwd=project, environ=environ
    )
    assert settings.identities  # the file was read ...
    with Client(settings) as mallory:
        refused(release, Reason.ROLE_NOT_HELD, lambda: mallory.gates.approve(V2, "model_risk"))
        refused(
            release,
            Reason.ROLE_NOT_HELD,
            lambda: mallory.gates.add_exception(V2, ["low-cves-planned"], reason="x", expires="7d"),
        )
        refused(
            release, Reason.ROLE_NOT_HELD, lambda: mallory.identity.grant_role("mallory", "risk")
        )
        assert mallory.identity.role_grants(identity="mallory") == []  # ... and granted nothing
    result = runner.invoke(
        app, ["--database-url", database_url, "--actor", "mallory", "config", "show", "--json"]
    )
    shown = json.loads(result.stdout)
    assert "mallory" not in shown["identities"]
    assert "ignored" in shown["identities_note"]


def test_only_an_admin_grants_and_revokes(release: Client, acting: Callable[[str], Client]) -> None:
    """G6: a non-admin's grant is refused (ROLE_NOT_HELD); an admin's grant is one audited
    transaction binding the row; revoking takes the role away again; history is kept."""
    bob = acting("bob")
    refused(release, Reason.ROLE_NOT_HELD, lambda: bob.identity.grant_role("bob", "model_risk"))
    refused(release, Reason.UNKNOWN_ROLE, lambda: release.identity.grant_role("bob", "chief_vibes"))
    refused(release, Reason.INVALID_NAME, lambda: release.identity.grant_role("bob smith", "risk"))
    before = head(release)
    grant = release.identity.grant_role("bob", "model_risk")
    assert (grant.identity, grant.role.value, grant.granted_by) == ("bob", "model_risk", "alice")
    assert head(release) == before + 1
    entry = last_entry(release)
    assert (entry.action, entry.actor, entry.subject) == ("role.grant", "alice", "identity/bob")
    assert entry.details["auth"] == "unauthenticated-local"
    assert [r["table"] for r in entry.details["records"]] == ["role_grants"]
    release.identity.grant_role("bob", "model_risk")  # already held: nothing written
    assert head(release) == before + 1
    assert bob.gates.approve(V2, "model_risk").approver == "bob"
    release.identity.revoke_role("bob", "model_risk")
    refused(
        release, Reason.ROLE_NOT_HELD, lambda: release.identity.revoke_role("bob", "model_risk")
    )
    carol = acting("carol")
    release.identity.grant_role("carol", "model_risk")
    release.identity.revoke_role("carol", "model_risk")
    refused(release, Reason.ROLE_NOT_HELD, lambda: carol.gates.approve(V2, "model_risk"))
    history = release.identity.role_grants(identity="carol", include_revoked=True)
    assert [(g.role.value, g.revoked_by) for g in history] == [("model_risk", "alice")]
    assert release.identity.role_grants(identity="carol") == []
    assert release.audit.verify().ok


def test_the_last_admin_cannot_be_revoked(release: Client, acting: Callable[[str], Client]) -> None:
    """G6: revoking the only administrator is refused (LAST_ADMIN); with a second one it is
    allowed, and the former admin can grant nothing any more."""
    refused(release, Reason.LAST_ADMIN, lambda: release.identity.revoke_role("alice", "admin"))
    release.identity.grant_role("mara", "admin")
    release.identity.revoke_role("alice", "admin")
    refused(release, Reason.ROLE_NOT_HELD, lambda: release.identity.grant_role("alice", "admin"))
    mara = acting("mara")
    refused(release, Reason.LAST_ADMIN, lambda: mara.identity.revoke_role("mara", "admin"))
    assert [g.identity for g in mara.identity.role_grants(role="admin")] == ["mara"]


def test_admin_is_not_an_approver_role(release: Client, acting: Callable[[str], Client]) -> None:
    """G6: `admin` manages grants and keys; it approves nothing."""
    release.identity.grant_role("mara", "admin")
    refused(release, Reason.UNKNOWN_ROLE, lambda: acting("mara").approve(V2, "admin"))


def test_a_grant_edited_in_the_database_is_not_counted(
    release: Client, acting: Callable[[str], Client]
) -> None:
    """C2: un-revoking a grant (or inserting one) behind airel's back is caught: the approval
    is refused with RECORD_TAMPERED, and `audit verify` reports the row."""
    release.identity.grant_role("bob", "model_risk")
    release.identity.revoke_role("bob", "model_risk")
    engine = release.ctx.store.engine if isinstance(release.ctx.store, SqlStore) else None
    assert engine is not None
    with engine.begin() as conn:
        conn.execute(
            t.role_grants.update()
            .where(t.role_grants.c.identity == "bob")
            .values(revoked_at=None, revoked_by=None)
        )
        conn.execute(
            t.role_grants.insert().values(
                identity="eve", role="compliance", granted_at="2026-01-01", granted_by="alice"
            )
        )
    refused(release, Reason.RECORD_TAMPERED, lambda: acting("bob").approve(V2, "model_risk"))
    refused(release, Reason.RECORD_TAMPERED, lambda: acting("eve").approve(V2, "compliance"))
    problems = {(p["key"], p["kind"]) for p in release.audit.verify().record_problems}
    assert problems == {('["bob","model_risk"]', "edited"), ('["eve","compliance"]', "unaudited")}


def test_approvals_and_waivers_record_unauthenticated_local(
    release: Client, acting: Callable[[str], Client]
) -> None:
    """G6: an approval or waiver made as the local actor says so, in its stored record (under
    its seal) and in its audit entry."""
    release.identity.grant_role("bob", "model_risk")
    release.identity.grant_role("mia", "model_risk")
    when = now()
    approval = acting("bob").approve(V2, "model_risk", now=when)
    assert approval.auth is AuthMethod.UNAUTHENTICATED_LOCAL
    assert approval.key_id is None
    assert approval.seal_ok()
    assert last_entry(release).details["auth"] == "unauthenticated-local"
    stored = release.gates.approvals(V2)[0]
    assert stored.auth is AuthMethod.UNAUTHENTICATED_LOCAL
    ready_through_g4(release)
    release.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 1})
    waived = acting("mia").add_exception(V2, ["low-cves-planned"], reason="x", expires="7d")
    assert waived.waiver.auth is AuthMethod.UNAUTHENTICATED_LOCAL
    assert waived.waiver.seal_ok()
    assert last_entry(release).details["auth"] == "unauthenticated-local"
    engine = release.ctx.store.engine if isinstance(release.ctx.store, SqlStore) else None
    assert engine is not None
    with engine.connect() as conn:
        body = json.loads(conn.execute(sa.select(t.approvals.c.body_json)).scalar_one())
    assert body["auth"] == "unauthenticated-local"


# -- the command line ------------------------------------------------------------------------------


def cli(database_url: str, actor: str, *args: str) -> tuple[int, Any]:
    result = runner.invoke(app, ["--database-url", database_url, "--actor", actor, *args])
    text = result.stdout.strip()
    try:
        return result.exit_code, json.loads(text) if text else None
    except json.JSONDecodeError:
        return result.exit_code, text


def test_role_commands(release: Client, database_url: str) -> None:
    """G6: `airel role grant|revoke|list`: exit 2 with ROLE_NOT_HELD for a non-admin and
    LAST_ADMIN for the last admin; `list --json` shows the store's grants."""
    code, out = cli(database_url, "bob", "role", "grant", "bob", "compliance", "--json")
    assert (code, out["reason"]) == (2, "ROLE_NOT_HELD")
    code, out = cli(database_url, "alice", "role", "grant", "bob", "compliance", "--json")
    assert (code, out["identity"], out["role"]) == (0, "bob", "compliance")
    code, out = cli(database_url, "alice", "role", "list", "--identity", "bob", "--json")
    assert [(g["identity"], g["role"]) for g in out] == [("bob", "compliance")]
    code, out = cli(database_url, "alice", "role", "revoke", "alice", "admin", "--json")
    assert (code, out["reason"]) == (2, "LAST_ADMIN")
    code, text = cli(database_url, "alice", "role", "revoke", "bob", "compliance")
    assert code == 0
    assert "no longer holds compliance" in text
    code, out = cli(database_url, "alice", "role", "list", "--revoked", "--json")
    assert {(g["identity"], g["role"], g["revoked_by"]) for g in out} == {
        ("alice", "admin", None),
        ("bob", "compliance", "alice"),
    }
