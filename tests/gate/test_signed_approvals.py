"""Signed approvals are real signatures (issue 18 point 2; SPEC G6, C2), on SQLite and
PostgreSQL.

An approval document counts only when its Ed25519 signature verifies under the key an
administrator registered to the identity the statement names, registered before the statement
was issued and not revoked; the statement is single-use and bound to the bundle digest, and the
identity must hold the role in the store. A forged document — signed by an unregistered key, a
statement edited after signing, a key registered to someone else, a revoked key — is refused
with a stable reason code and writes nothing. The unkeyed "sealed" document of before is
refused too.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.adapters import signing
from airel.cli.main import app
from airel.client import Client
from airel.domain.gate.signed import approval_statement, statement_bytes
from airel.domain.kernel.roles import AuthMethod, key_id_of
from airel.errors import AirelError, Reason
from gate_fixtures import V1, V2, freeze_pair

runner = CliRunner()


@dataclasses.dataclass
class Scene:
    admin: Client  # alice: initialised the store, submitted the releases
    keys: dict[str, Path]  # identity -> private key file (registered to it)
    digest: str  # V2's bundle digest
    acting: Callable[[str], Client]


@pytest.fixture
def scene(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any, project: Path
) -> Iterator[Scene]:
    """V1 and V2 frozen; lena-vos (compliance) and mara (model_risk) each have a registered
    key; a stray key belongs to nobody."""
    c = fraud_registry
    freeze_pair(c, bundle_yaml, write)
    keys: dict[str, Path] = {}
    for name, role in (("lena-vos", "compliance"), ("mara", "model_risk")):
        c.identity.grant_role(name, role)
        keys[name] = project / f"{name}.pem"
        c.identity.register_key(name, c.identity.generate_signing_key(keys[name]))
    keys["stray"] = project / "stray.pem"
    c.identity.generate_signing_key(keys["stray"])
    made: list[Client] = []

    def acting(name: str) -> Client:
        made.append(Client(dataclasses.replace(c.settings, actor=name)))
        return made[-1]

    yield Scene(c, keys, c.bundles.get(V2).digest, acting)
    for m in made:
        m.close()


def sign(
    s: Scene, *, key: str = "lena-vos", identity: str = "lena-vos", role: str = "compliance",
    **kw: Any,
) -> dict[str, Any]:  # fmt: skip
    args: dict[str, Any] = {"release_id": V2, "bundle_digest": s.digest, "expires": "14d"}
    return Client.sign_approval(s.keys[key], identity=identity, role=role, **{**args, **kw})


def head(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def refused(s: Scene, reason: Reason, document: dict[str, Any]) -> None:
    """Presenting ``document`` fails with ``reason`` and writes nothing."""
    before = head(s.admin)
    with pytest.raises(AirelError) as exc:
        s.acting("ci-bot").present_signed_approval(document)
    assert exc.value.reason is reason, exc.value.to_dict()
    assert head(s.admin) == before


def test_a_signed_approval_is_verified_and_recorded_with_its_key(scene: Scene) -> None:
    """G6: a statement signed offline by lena-vos, presented by CI, is recorded as lena-vos's
    approval with auth signed-ed25519 and its key id; the stored record re-verifies under the
    registered key; a replay is refused (APPROVAL_REPLAYED)."""
    document = sign(scene, comment="reviewed the fairness report")
    approval = scene.acting("ci-bot").present_signed_approval(document)
    assert (approval.approver, approval.role.value) == ("lena-vos", "compliance")
    assert approval.auth is AuthMethod.SIGNED_ED25519
    key = scene.admin.identity.signing_keys("lena-vos")[0]
    assert approval.key_id == document["key_id"] == key.key_id
    stored = scene.admin.gates.approvals(V2)[0]
    assert stored == approval
    assert stored.seal_ok()
    message = statement_bytes(approval_statement(stored))
    assert stored.signature is not None
    assert signing.verify(key.public_key, message, stored.signature)
    with scene.admin.ctx.store.read() as tx:
        entry = tx.get_audit(tx.audit_head()[0])
    assert entry is not None
    assert (entry.actor, entry.action) == ("ci-bot", "gate.approve")
    assert entry.details["auth"] == "signed-ed25519"
    assert entry.details["key_id"] == key.key_id
    refused(scene, Reason.APPROVAL_REPLAYED, document)
    assert scene.admin.audit.verify().ok


def test_sign_with_approves_as_the_actor(scene: Scene) -> None:
    """G6: `approve --sign-with KEY` signs as the acting identity with its registered key; a
    key registered to someone else is refused (KEY_NOT_REGISTERED)."""
    mara = scene.acting("mara")
    with pytest.raises(AirelError) as exc:
        mara.gates.approve(V2, "model_risk", sign_with=scene.keys["lena-vos"])
    assert exc.value.reason is Reason.KEY_NOT_REGISTERED
    approval = mara.gates.approve(V2, "model_risk", sign_with=scene.keys["mara"], expires="7d")
    assert approval.auth is AuthMethod.SIGNED_ED25519
    assert approval.key_id == scene.admin.identity.signing_keys("mara")[0].key_id


def test_a_forged_approval_document_is_refused(scene: Scene) -> None:
    """C2/G6 (issue 18): every forgery is refused with its reason code and nothing written."""
    # signed by a key nobody registered
    refused(scene, Reason.KEY_NOT_REGISTERED, sign(scene, key="stray"))
    # ... claiming to be lena's registered key
    claimed = sign(scene, key="stray")
    claimed["key_id"] = scene.admin.identity.signing_keys("lena-vos")[0].key_id
    refused(scene, Reason.SIGNATURE_INVALID, claimed)
    # the statement edited after signing: another role, a later expiry, another approver
    for field, value in (
        ("role", "model_risk"),
        ("expires_at", "2099-01-01T00:00:00Z"),
        ("comment", "approved, no conditions"),
    ):
        edited = sign(scene)
        edited["statement"][field] = value
        refused(scene, Reason.SIGNATURE_INVALID, edited)
    # a key registered to another identity (mara signs a statement naming lena-vos)
    refused(scene, Reason.KEY_NOT_REGISTERED, sign(scene, key="mara"))
    # the bundle digest of another release
    other = sign(scene, bundle_digest=scene.admin.bundles.get(V1).digest)
    refused(scene, Reason.APPROVAL_DIGEST_MISMATCH, other)
    # a statement dated before its key was registered
    early = sign(scene, now=datetime.now(UTC) - timedelta(days=1))
    refused(scene, Reason.KEY_NOT_REGISTERED, early)
    # a statement in the future
    ahead = sign(scene, now=datetime.now(UTC) + timedelta(hours=1))
    refused(scene, Reason.CLOCK_SKEW, ahead)
    # a fine signature by an identity not holding the role
    refused(scene, Reason.ROLE_NOT_HELD, sign(scene, role="security"))
    # fields airel does not sign, or the signature of another statement
    extra = sign(scene)
    extra["statement"]["auth"] = "oidc"
    refused(scene, Reason.INVALID_VALUE, extra)
    swapped = sign(scene)
    swapped["signature"] = sign(scene)["signature"]
    refused(scene, Reason.SIGNATURE_INVALID, swapped)
    assert scene.admin.gates.approvals(V2) == []


def test_a_revoked_key_signs_nothing(scene: Scene) -> None:
    """G6: after `key revoke`, statements under the key — even ones signed before — are
    refused (KEY_REVOKED); revoking twice is KEY_REVOKED, an unknown key KEY_NOT_REGISTERED."""
    signed_before = sign(scene)
    key_id = signed_before["key_id"]
    revoked = scene.admin.identity.revoke_key(key_id)
    assert revoked.revoked_by == "alice"
    refused(scene, Reason.KEY_REVOKED, signed_before)
    refused(scene, Reason.KEY_REVOKED, sign(scene))
    with pytest.raises(AirelError) as exc:
        scene.admin.identity.revoke_key(key_id)
    assert exc.value.reason is Reason.KEY_REVOKED
    with pytest.raises(AirelError) as exc:
        scene.admin.identity.revoke_key("ed25519:" + "0" * 32)
    assert exc.value.reason is Reason.KEY_NOT_REGISTERED


def test_the_unkeyed_seal_document_is_refused(scene: Scene) -> None:
    """G6 (issue 18): the old "pre-signed" document — an approval record whose seal is an
    unkeyed hash anyone can compute — is not a signed approval."""
    mara = scene.acting("mara")
    record = mara.gates.approve(V2, "model_risk").model_dump(mode="json")
    forged = {**copy.deepcopy(record), "approver": "lena-vos", "role": "compliance"}
    refused(scene, Reason.MISSING_FIELD, forged)


def test_only_an_admin_manages_keys(scene: Scene, project: Path) -> None:
    """G6: registering or revoking a key needs admin (ROLE_NOT_HELD); a key already
    registered to one identity cannot be registered to another (DUPLICATE_RECORD); key
    files are private (0600) and never overwritten (INVALID_KEY)."""
    mara = scene.acting("mara")
    public = signing.load_public_key(scene.keys["stray"])
    before = head(scene.admin)
    attempts: list[Callable[[], object]] = [
        lambda: mara.identity.register_key("mara", public),
        lambda: mara.identity.revoke_key(scene.admin.identity.signing_keys("lena-vos")[0].key_id),
    ]
    for attempt in attempts:
        with pytest.raises(AirelError) as exc:
            attempt()
        assert exc.value.reason is Reason.ROLE_NOT_HELD
    assert head(scene.admin) == before
    lena_public = signing.load_public_key(scene.keys["lena-vos"])
    with pytest.raises(AirelError) as exc:
        scene.admin.identity.register_key("mara", lena_public)
    assert exc.value.reason is Reason.DUPLICATE_RECORD
    again = scene.admin.identity.register_key("lena-vos", lena_public)  # already hers: no-op
    assert again.key_id == key_id_of(signing.raw_bytes(lena_public))
    assert len(again.key_id) <= 71
    assert head(scene.admin) == before
    assert stat.S_IMODE(scene.keys["stray"].stat().st_mode) == 0o600
    with pytest.raises(AirelError) as exc:
        Client.generate_signing_key(scene.keys["stray"])
    assert exc.value.reason is Reason.INVALID_KEY


# -- the command line ------------------------------------------------------------------------------


def cli(database_url: str, actor: str, *args: str) -> tuple[int, Any]:
    result = runner.invoke(app, ["--database-url", database_url, "--actor", actor, *args])
    text = result.stdout.strip()
    try:
        return result.exit_code, json.loads(text) if text else None
    except json.JSONDecodeError:
        return result.exit_code, text


def test_signing_on_the_command_line(scene: Scene, database_url: str, project: Path) -> None:
    """G6: key generate → key register (admin) → approval sign (offline) → approve --signed;
    an edited document exits 2 with SIGNATURE_INVALID; --sign-with approves in one step."""
    key = project / "sam.pem"
    code, out = cli(database_url, "sam", "key", "generate", "--out", str(key), "--json")
    assert code == 0
    public = project / "sam.pub"
    public.write_text(out["public_key"] + "\n")
    code, out = cli(database_url, "sam", "key", "register", "sam", str(public), "--json")
    assert (code, out["reason"]) == (2, "ROLE_NOT_HELD")
    code, out = cli(database_url, "alice", "key", "register", "sam", str(public), "--json")
    assert code == 0
    assert out["key_id"].startswith("ed25519:")
    assert cli(database_url, "alice", "role", "grant", "sam", "security")[0] == 0
    doc = project / "sam-approval.json"
    code, out = cli(database_url, "sam", "approval", "sign", V2, "--bundle-digest",
                    scene.digest, "--role", "security", "--key", str(key), "--expires", "14d",
                    "--out", str(doc), "--json")  # fmt: skip
    assert code == 0, out
    edited = json.loads(doc.read_text())
    edited["statement"]["expires_at"] = "2099-01-01T00:00:00Z"
    forged = project / "forged.json"
    forged.write_text(json.dumps(edited))
    code, out = cli(database_url, "ci-bot", "approve", V2, "--signed", str(forged), "--json")
    assert (code, out["reason"]) == (2, "SIGNATURE_INVALID")
    code, out = cli(database_url, "ci-bot", "approve", V1, "--signed", str(doc), "--json")
    assert (code, out["reason"]) == (2, "INVALID_VALUE")  # the statement names V2
    code, text = cli(database_url, "ci-bot", "approve", V2, "--signed", str(doc))
    assert code == 0, text
    assert "sam approved" in text
    assert "signed with ed25519:" in text
    code, out = cli(database_url, "ci-bot", "approve", V2, "--signed", str(doc), "--json")
    assert (code, out["reason"]) == (2, "APPROVAL_REPLAYED")
    code, out = cli(database_url, "mara", "approve", V2, "--role", "model_risk",
                    "--sign-with", str(scene.keys["mara"]), "--json")  # fmt: skip
    assert (code, out["auth"]) == (0, "signed-ed25519")
    code, out = cli(database_url, "alice", "key", "list", "--json")
    assert {k["identity"] for k in out} == {"lena-vos", "mara", "sam"}
    code, out = cli(database_url, "alice", "key", "revoke", out[0]["key_id"], "--json")
    assert code == 0
    assert out["revoked_by"] == "alice"
