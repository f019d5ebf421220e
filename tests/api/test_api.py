"""The REST API (issue 13; SPEC G6, C2): identity from a token, deny by default, permissions
per route, the same use cases as the SDK — on SQLite and PostgreSQL.

* Every route declares its permission; the app has no route without one.
* No token, a malformed one, a wrong secret, an expired or revoked token: 401 with a
  ``problem+json`` body and the stable reason; an identity without roles: 403 even to read.
* An auditor reads and cannot write; an approver approves only in a role they hold, never a
  release they submitted; the audit entry names the authenticated identity (``api-token``).
* A token row forged behind airel is refused (RECORD_TAMPERED), never honoured.
* Bodies: unknown fields and bad types 422, over the limit 413; unknown paths 404.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from airel.api.app import create_app
from airel.api.auth import PERMISSION_KEY
from airel.cli.main import app as cli_app
from airel.client import Client
from airel.domain.kernel.clock import FixedClock
from airel.domain.kernel.permissions import Permission
from airel.domain.kernel.tokens import secret_digest
from airel.services.gate import tokens
from airel.store import schema as t
from gate_fixtures import V1, V2, freeze_pair

PROBLEM = "application/problem+json"


class Http:
    """Synchronous calls into the app in-process (httpx's ASGI transport; starlette's
    TestClient wants another httpx)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
                return await c.request(method, path, **kw)

        return asyncio.run(call())

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)


@dataclasses.dataclass
class Api:
    admin: Client
    http: Http
    tokens: dict[str, str]  # identity -> token text

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def head(self) -> int:
        with self.admin.ctx.store.read() as tx:
            return tx.audit_head()[0]


@pytest.fixture
def api(fraud_registry: Client, bundle_yaml: Any, write: Any) -> Api:
    """V1, V2 frozen by alice (admin, the submitter); mara model_risk, lena-vos compliance,
    audrey auditor, sam engineer, nobody without roles; a token each."""
    c = fraud_registry
    freeze_pair(c, bundle_yaml, write)
    roles = {"mara": "model_risk", "lena-vos": "compliance", "audrey": "auditor",
             "sam": "engineer"}  # fmt: skip
    for who, role in roles.items():
        c.identity.grant_role(who, role)
    made = {who: c.identity.create_token(who, "test").text for who in [*roles, "nobody", "alice"]}
    return Api(c, Http(create_app(c.runtime.context, max_body_bytes=8192)), made)


def test_every_route_declares_its_permission(api: Api) -> None:
    """Deny by default is structural: an operation without a declared permission, or whose
    dependency does not enforce the declared one, fails here."""
    app = api.http.app
    tables = app.state.route_tables
    routes = [r for table in tables for r in table.router.routes]
    assert all(isinstance(r, APIRoute) for r in routes)
    assert len(routes) >= 30
    for route in routes:
        assert isinstance(route, APIRoute)
        declared = (route.openapi_extra or {}).get(PERMISSION_KEY)
        assert declared in {p.value for p in Permission}, route.path
        enforced = [getattr(d.call, "airel_permission", None) for d in route.dependant.dependencies]
        assert enforced == [Permission(declared)], route.path
    # nothing is mounted but those tables and the OpenAPI document
    ours = {id(table.router) for table in tables}
    for mounted in app.routes:
        inner = getattr(mounted, "original_router", None)
        assert id(inner) in ours or getattr(mounted, "path", "") == "/api/v1/openapi.json"
    schema = api.http.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    ops = [op for path in schema["paths"].values() for op in path.values()]
    assert all(op[PERMISSION_KEY] for op in ops)
    public = sorted(p for p, v in schema["paths"].items() for op in v.values()
                    if op[PERMISSION_KEY] == "public")  # fmt: skip
    assert public == ["/api/v1/health"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "AUTH_REQUIRED"),
        ("Bearer not-a-token", "TOKEN_INVALID"),
        ("Bearer airel_tok_0123456789abcdef_" + "A" * 43, "TOKEN_INVALID"),
        ("Basic YWxpY2U6c2VjcmV0", "AUTH_REQUIRED"),
    ],
)
def test_requests_without_a_valid_token_are_refused(
    api: Api, header: str | None, reason: str
) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("/api/v1/releases", f"/api/v1/releases/{V2}", "/api/v1/audit"):
        r = api.http.get(path, headers=headers)
        assert (r.status_code, r.json()["reason"]) == (401, reason), path
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert api.http.get("/api/v1/health").status_code == 200


def test_a_wrong_secret_is_not_a_token(api: Api) -> None:
    good = api.tokens["mara"]
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    r = api.http.get("/api/v1/releases", headers={"Authorization": f"Bearer {forged}"})
    assert (r.status_code, r.json()["reason"]) == (401, "TOKEN_INVALID")


def test_an_identity_without_roles_may_do_nothing(api: Api) -> None:
    r = api.http.get("/api/v1/releases", headers=api.as_("nobody"))
    assert (r.status_code, r.json()["reason"]) == (403, "PERMISSION_DENIED")


def test_an_auditor_reads_everything_and_writes_nothing(api: Api) -> None:
    hdr = api.as_("audrey")
    listed = api.http.get("/api/v1/releases", headers=hdr).json()
    assert {b["release_id"] for b in listed["items"]} == {V1, V2}
    assert listed["total"] == 2
    assert (
        api.http.get(f"/api/v1/releases/{V2}", headers=hdr).json()["digest"].startswith("sha256:")
    )
    diff = api.http.get(f"/api/v1/releases/{V2}/diff", params={"against": V1}, headers=hdr)
    assert diff.status_code == 200
    assert any(ch["component"].startswith("model") for ch in diff.json()["items"]), diff.text
    assert api.http.get("/api/v1/audit", params={"limit": 5}, headers=hdr).status_code == 200
    assert api.http.get("/api/v1/audit-verification", headers=hdr).json()["ok"] is True
    before = api.head()
    writes = [
        (f"/api/v1/releases/{V2}/approvals", {"role": "model_risk"}),
        (f"/api/v1/releases/{V2}/evidence", {"kind": "shadow", "metrics": {}}),
        (f"/api/v1/releases/{V2}/gate-checks", {}),
        (f"/api/v1/releases/{V2}/promotions", {"to": "staging"}),
        (f"/api/v1/releases/{V2}/rollbacks",
         {"component": "route", "confirm": V2, "reason": "x"}),
        ("/api/v1/tokens", {"identity": "audrey", "name": "more"}),
    ]  # fmt: skip
    for path, body in writes:
        r = api.http.post(path, json=body, headers=hdr)
        assert (r.status_code, r.json()["reason"]) == (403, "PERMISSION_DENIED"), path
    assert api.head() == before


def test_approvals_are_made_as_the_authenticated_identity(api: Api) -> None:
    """G6: mara approves as model_risk — the audit entry and the approval name mara, with
    auth api-token; as compliance she is refused; alice, the submitter, may not approve her
    own release even once granted the role; lena-vos may."""
    r = api.http.post(f"/api/v1/releases/{V2}/approvals", json={"role": "model_risk"},
                      headers=api.as_("mara"))  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["approver"], r.json()["auth"]) == ("mara", "api-token")
    with api.admin.ctx.store.read() as tx:
        entry = tx.get_audit(tx.audit_head()[0])
    assert entry is not None
    assert entry.actor == "mara"
    refused = api.http.post(f"/api/v1/releases/{V2}/approvals", json={"role": "compliance"},
                            headers=api.as_("mara"))  # fmt: skip
    assert (refused.status_code, refused.json()["reason"]) == (403, "ROLE_NOT_HELD")
    api.admin.identity.grant_role("alice", "compliance")
    own = api.http.post(f"/api/v1/releases/{V2}/approvals", json={"role": "compliance"},
                        headers=api.as_("alice"))  # fmt: skip
    assert (own.status_code, own.json()["reason"]) == (403, "SELF_APPROVAL")
    lena = api.http.post(f"/api/v1/releases/{V2}/approvals", json={"role": "compliance"},
                         headers=api.as_("lena-vos"))  # fmt: skip
    assert lena.status_code == 201
    listed = api.http.get(f"/api/v1/releases/{V2}/approvals", headers=api.as_("audrey")).json()
    assert sorted(a["approver"] for a in listed["items"]) == ["lena-vos", "mara"]


def test_revocation_expiry_and_role_changes_take_effect_at_once(api: Api) -> None:
    hdr = api.as_("mara")
    assert api.http.get("/api/v1/whoami", headers=hdr).json()["roles"] == ["model_risk"]
    api.admin.identity.revoke_role("mara", "model_risk")
    r = api.http.get("/api/v1/releases", headers=hdr)
    assert (r.status_code, r.json()["reason"]) == (403, "PERMISSION_DENIED")
    api.admin.identity.grant_role("mara", "model_risk")
    assert api.http.get("/api/v1/releases", headers=hdr).status_code == 200

    token_id = api.tokens["mara"].split("_")[1] + "_" + api.tokens["mara"].split("_")[2]
    revoked = api.http.delete(f"/api/v1/tokens/{token_id}", headers=hdr)  # her own
    assert revoked.status_code == 200
    assert "secret_digest" not in revoked.json()
    r = api.http.get("/api/v1/releases", headers=hdr)
    assert (r.status_code, r.json()["reason"]) == (401, "TOKEN_REVOKED")

    past = api.admin.ctx.clock.now() - timedelta(days=2)
    old_ctx = dataclasses.replace(api.admin.ctx, clock=FixedClock(past))
    stale = tokens.create_token(old_ctx, "mara", "old", expires="1d").text
    r = api.http.get("/api/v1/releases", headers={"Authorization": f"Bearer {stale}"})
    assert (r.status_code, r.json()["reason"]) == (401, "TOKEN_EXPIRED")


def test_a_token_forged_in_the_database_is_refused(api: Api, database_url: str) -> None:
    """Someone with database access inserts a token row for mara with a secret they chose:
    it does not match the audit chain, so it authenticates nobody."""
    secret = "S" * 43
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(t.api_tokens.insert().values(
            token_id="tok_" + "f" * 16, identity="mara", name="forged",
            secret_digest=secret_digest(secret), created_at="2026-01-01T00:00:00Z",
            created_by="alice", expires_at="2099-01-01T00:00:00Z",
        ))  # fmt: skip
    engine.dispose()
    bearer = f"airel_tok_{'f' * 16}_{secret}"
    r = api.http.get("/api/v1/releases", headers={"Authorization": f"Bearer {bearer}"})
    assert r.status_code >= 400
    assert r.json()["reason"] == "RECORD_TAMPERED"


def test_bad_bodies_and_paths_are_clear_errors(api: Api) -> None:
    hdr = api.as_("mara")
    before = api.head()
    path = f"/api/v1/releases/{V2}/approvals"
    cases: list[tuple[Any, int, str]] = [
        ({"role": "model_risk", "sneaky": 1}, 422, "INVALID_VALUE"),
        ({"role": "nope"}, 422, "INVALID_VALUE"),
        ({"role": "model_risk", "comment": "x" * 5000}, 422, "INVALID_VALUE"),
    ]
    for body, status, reason in cases:
        r = api.http.post(path, json=body, headers=hdr)
        assert (r.status_code, r.json()["reason"]) == (status, reason), body
        assert r.headers["content-type"] == PROBLEM
    r = api.http.post(
        path, content=b"{not json", headers={**hdr, "content-type": "application/json"}
    )
    assert r.status_code == 422
    big = api.http.post(path, content=json.dumps({"role": "model_risk", "comment": "x" * 9000}),
                        headers={**hdr, "content-type": "application/json"})  # fmt: skip
    assert (big.status_code, big.json()["reason"]) == (413, "DOC_TOO_LARGE")
    missing = api.http.get("/api/v1/releases/NOPE-1", headers=hdr)
    assert (missing.status_code, missing.json()["reason"]) == (404, "RELEASE_NOT_FOUND")
    assert api.http.get("/api/v1/nothing-here", headers=hdr).status_code == 404
    limit = api.http.get("/api/v1/releases", params={"limit": 100000}, headers=hdr)
    assert limit.status_code == 422
    assert api.head() == before


def test_rollback_needs_the_release_id_typed(api: Api) -> None:
    api.admin.identity.grant_role("rita", "release_manager")
    rita = {"Authorization": f"Bearer {api.admin.identity.create_token('rita', 't').text}"}
    r = api.http.post(f"/api/v1/releases/{V2}/rollbacks",
                      json={"component": "route", "confirm": V1, "reason": "bad canary"},
                      headers=rita)  # fmt: skip
    assert (r.status_code, r.json()["reason"]) == (400, "CONFIRMATION_REQUIRED")


def test_tokens_from_the_cli_are_shown_once_and_stored_hashed(
    api: Api, database_url: str, project: Path
) -> None:
    runner = CliRunner()
    base = ["--database-url", database_url, "--actor"]
    made = runner.invoke(cli_app, [*base, "alice", "token", "create", "audrey", "--name", "ci",
                                   "--expires", "30d", "--json"])  # fmt: skip
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert created["token"].startswith("airel_tok_")
    assert "secret_digest" not in created
    ok = api.http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {created['token']}"})
    assert ok.json()["identity"] == "audrey"
    listed = runner.invoke(cli_app, [*base, "alice", "token", "list", "--json"])
    assert created["token"] not in listed.stdout
    assert created["token_id"] in listed.stdout
    denied = runner.invoke(cli_app, [*base, "sam", "token", "create", "sam", "--name", "x"])
    assert denied.exit_code == 2
    too_long = runner.invoke(cli_app, [*base, "alice", "token", "create", "sam", "--name", "x",
                                       "--expires", "400d"])  # fmt: skip
    assert too_long.exit_code == 2
    with api.admin.ctx.store.read() as tx:
        stored = tx.get_api_token(created["token_id"])
    assert stored is not None
    assert created["token"].split("_", 3)[3] not in stored.secret_digest
    assert api.admin.audit.verify().ok
