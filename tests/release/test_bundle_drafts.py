"""Bundle drafts before freezing (issue 18 point 4; SPEC B1, B2, B3), on SQLite and PostgreSQL.

``bundle create FILE`` stores an editable draft that nothing may cite; ``bundle freeze`` (or
``create --freeze``) resolves and freezes it, refused while completeness fails unless a reason
is given, so a mistake never uses up a release id. Edits are compare-and-set on the draft's
version; draft rows are bound to the audit chain like every record, and a draft removed by its
freeze is not a deleted record. Refusals are asserted by reason code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from airel.domain.release.bundle import BundleDraft
from airel.domain.release.kinds import BundleState
from airel.domain.release.records import REMOVED, entry_records
from airel.errors import AirelError, ConflictError, Reason, ValidationError
from airel.store import schema as t
from airel.store.sql import SqlStore

Write = Callable[[str, str], Path]
Render = Callable[..., str]

V1, V2 = "FRAUD-2026-001", "FRAUD-2026-002"
WHY = "first release of the use case: nothing earlier to roll back to"
runner = CliRunner()


def audit_size(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def last_entry_records(client: Client) -> list[tuple[str, str, str]]:
    with client.ctx.store.read() as tx:
        entry = tx.get_audit(tx.audit_head()[0])
    assert entry is not None
    return entry_records(entry.details)


def last_details(client: Client) -> dict[str, Any]:
    with client.ctx.store.read() as tx:
        entry = tx.get_audit(tx.audit_head()[0])
    assert entry is not None
    return entry.details


def engine(client: Client) -> sa.Engine:
    return cast(SqlStore, client.ctx.store).engine


def draft_of(client: Client, release_id: str) -> BundleDraft:
    view = client.bundles.view(release_id)
    assert view.state is BundleState.DRAFT
    assert view.draft is not None
    return view.draft


def reason_of(fn: Callable[[], object]) -> Reason:
    with pytest.raises(AirelError) as info:
        fn()
    return info.value.reason


@pytest.fixture
def first_frozen(fraud_registry: Client, bundle_yaml: Render, write: Write) -> Client:
    """V1 frozen (incomplete at Tier 1 — no rollback target — so with a reason)."""
    fraud_registry.bundles.create(
        write("v1.yaml", bundle_yaml()), freeze=True, allow_incomplete=WHY
    )
    return fraud_registry


# -- the life of a draft (B1, B2) ------------------------------------------------------------


def test_a_draft_is_stored_edited_and_frozen(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1/B2: create stores a draft (one audit entry, not a frozen bundle); the same file again
    is a no-op; another file edits it (version 2); freeze resolves it, inserts the bundle and
    removes the draft in one entry, with the digest a direct freeze would give."""
    client = first_frozen
    text = bundle_yaml(V2, "2.0.0", V1)
    before = audit_size(client)
    edited_text = text.replace("traffic_start: shadow", "traffic_start: canary")
    first = client.bundles.create(write("v2.yaml", edited_text))
    assert (first.created, first.draft.version, first.draft.created_by) == (True, 1, "alice")
    assert audit_size(client) == before + 1
    assert [b.release_id for b in client.bundles.list()] == [V1]  # not frozen
    assert reason_of(lambda: client.bundles.get(V2)) is Reason.BUNDLE_DRAFT
    again = client.bundles.create(write("v2-again.yaml", edited_text))
    assert (again.created, again.draft) == (False, first.draft)
    assert audit_size(client) == before + 1

    path = write("v2.yaml", text)
    edited = client.bundles.create(path)
    assert (edited.created, edited.draft.version) == (True, 2)
    assert edited.draft.created_at == first.draft.created_at
    assert draft_of(client, V2) == edited.draft
    states = {b.release_id: type(b).__name__ for b in client.bundles.listing()}
    assert states == {V1: "FrozenBundle", V2: "BundleDraft"}
    assert [b.release_id for b in client.bundles.listing(state="draft")] == [V2]

    direct = client.bundles.create(path, freeze=True, dry_run=True)
    frozen = client.bundles.freeze(V2)
    assert frozen.created
    assert frozen.completeness.complete
    assert frozen.bundle.digest == direct.bundle.digest  # same identity however it is frozen
    assert frozen.bundle.incomplete_reason is None
    assert audit_size(client) == before + 3
    assert last_details(client)["draft_version"] == 2
    assert ("bundle_drafts", f'["{V2}"]', REMOVED) in last_entry_records(client)
    assert client.bundles.get(V2) == frozen.bundle
    assert client.bundles.view(V2).state is BundleState.FROZEN
    assert client.bundles.listing(state=BundleState.DRAFT) == []
    report = client.audit.verify()
    assert report.ok, report.record_problems  # the removed draft is not a deleted record

    assert client.bundles.freeze(V2).created is False  # re-freezing: a no-op
    assert client.bundles.create(path, freeze=True).created is False
    assert audit_size(client) == before + 3


def test_a_frozen_release_takes_no_draft_and_no_other_digest(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B2: a frozen release id is immutable: a draft of the same content is BUNDLE_FROZEN, of
    other content RELEASE_CONFLICT, and a freeze of other content RELEASE_CONFLICT."""
    client = first_frozen
    before = audit_size(client)
    same = write("same.yaml", bundle_yaml())
    other = write("other.yaml", bundle_yaml(model_version="2.0.0"))
    assert reason_of(lambda: client.bundles.create(same)) is Reason.BUNDLE_FROZEN
    assert reason_of(lambda: client.bundles.create(other)) is Reason.RELEASE_CONFLICT
    refreeze = lambda: client.bundles.create(other, freeze=True, allow_incomplete=WHY)  # noqa: E731
    assert reason_of(refreeze) is Reason.RELEASE_CONFLICT
    assert audit_size(client) == before


# -- completeness at freeze (B2, B3) -----------------------------------------------------------


def test_an_incomplete_freeze_is_refused_unless_a_reason_is_given(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B3: a draft that fails completeness is stored (findings are warnings); freezing it is
    BUNDLE_INCOMPLETE with the failures listed and nothing written; with a reason it freezes
    and the reason is kept with the bundle and in its audit entry, outside the digest."""
    client = fraud_registry
    drafted = client.bundles.create(write("v1.yaml", bundle_yaml()))
    assert drafted.created
    assert not drafted.completeness.complete
    assert "BUNDLE_NO_ROLLBACK_TARGET" in drafted.draft.summary.failures
    before = audit_size(client)
    with pytest.raises(ValidationError) as info:
        client.bundles.freeze(V1)
    assert info.value.reason is Reason.BUNDLE_INCOMPLETE
    assert "BUNDLE_NO_ROLLBACK_TARGET" in {p["reason"] for p in info.value.problems}
    assert info.value.details["completeness"]["complete"] is False
    path = write("v1.yaml", bundle_yaml())
    assert reason_of(lambda: client.bundles.create(path, freeze=True)) is Reason.BUNDLE_INCOMPLETE
    blank = lambda: client.bundles.freeze(V1, allow_incomplete="  ")  # noqa: E731
    assert reason_of(blank) is Reason.INVALID_VALUE
    assert audit_size(client) == before
    assert draft_of(client, V1) == drafted.draft

    dry = client.bundles.create(path, freeze=True, allow_incomplete=WHY, dry_run=True)
    frozen = client.bundles.freeze(V1, allow_incomplete=f"  {WHY} ")
    assert frozen.created
    assert frozen.bundle.incomplete_reason == WHY
    assert frozen.bundle.digest == dry.bundle.digest
    details = last_details(client)
    assert (details["incomplete_reason"], details["complete"]) == (WHY, False)
    assert "BUNDLE_NO_ROLLBACK_TARGET" in details["failures"]
    assert client.bundles.get(V1).incomplete_reason == WHY
    assert client.audit.verify().ok


def test_a_corrected_file_after_a_refused_freeze_takes_the_release_id(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B2 (issue 18.4): a refused freeze writes nothing, so the id is not used up: the
    corrected file freezes under the same id, directly or through the draft."""
    client = first_frozen
    wrong = write("v2.yaml", bundle_yaml(V2, "2.0.0"))  # forgot the rollback target
    refused = lambda: client.bundles.create(wrong, freeze=True)  # noqa: E731
    assert reason_of(refused) is Reason.BUNDLE_INCOMPLETE
    assert client.bundles.listing(state="frozen")[-1].release_id == V1
    corrected = write("v2.yaml", bundle_yaml(V2, "2.0.0", V1))
    frozen = client.bundles.create(corrected, freeze=True)
    assert frozen.created
    assert frozen.completeness.complete

    client.bundles.create(write("v3.yaml", bundle_yaml("FRAUD-2026-003", "2.0.0")))
    assert reason_of(lambda: client.bundles.freeze("FRAUD-2026-003")) is Reason.BUNDLE_INCOMPLETE
    client.bundles.create(write("v3.yaml", bundle_yaml("FRAUD-2026-003", "2.0.0", V2)))
    assert client.bundles.freeze("FRAUD-2026-003").completeness.complete


def test_unresolved_references_are_findings_of_a_draft_and_resolved_at_freeze(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: a draft may name a component not registered yet (a finding); freezing resolves
    every reference and refuses while one does not resolve; once registered it freezes."""
    client = first_frozen
    text = bundle_yaml(V2, "2.0.0", V1).replace(
        "fraud-threshold-policy:1.0", "fraud-threshold-policy:2.0"
    )
    drafted = client.bundles.create(write("v2.yaml", text))
    unresolved = {u["field"]: u["reason"] for u in drafted.draft.summary.unresolved}
    assert unresolved == {"prompt_policy.decision_policy": "DANGLING_REFERENCE"}
    assert client.bundles.view(V2).unresolved == drafted.draft.summary.unresolved
    assert reason_of(lambda: client.bundles.freeze(V2)) is Reason.DANGLING_REFERENCE
    policy = write(
        "policy2.yaml",
        """
        kind: policy
        name: fraud-threshold-policy
        version: "2.0"
        text: "decline if score >= 0.8\\n"
        """,
    )
    client.registry.register(policy)
    assert client.bundles.view(V2).unresolved == ()
    frozen = client.bundles.freeze(V2)
    resolved = {r.path: r.node for r in frozen.bundle.resolutions}
    assert resolved["prompt_policy.decision_policy"] == "policy/fraud-threshold-policy:2.0"


# -- a draft is not citable (B1) -----------------------------------------------------------------


def test_approvals_waivers_evidence_and_gates_refuse_a_draft(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: approvals, exceptions, evidence and gate checks on a release that is only a draft
    are BUNDLE_DRAFT (not RELEASE_NOT_FOUND), and write nothing; an unknown id stays
    RELEASE_NOT_FOUND."""
    client = first_frozen
    client.bundles.create(write("v2.yaml", bundle_yaml(V2, "2.0.0", V1)))
    before = audit_size(client)
    calls: dict[str, Callable[[], object]] = {
        "approve": lambda: client.gates.approve(V2, "model_risk", expires="7d"),
        "exception": lambda: client.gates.add_exception(V2, ["x"], reason="r", expires="7d"),
        "gate check": lambda: client.gates.check(V2, through="G4"),
        "evidence add": lambda: client.gates.add_evidence(V2, "ci", {"ci_tests_failed": 0}),
        "evidence link": lambda: client.gates.link_evidence(V2, eval="sha256:" + "0" * 64),
        "verify": lambda: client.bundles.verify(V2),
        "repro": lambda: client.bundles.reproducibility(V2),
        "diff": lambda: client.bundles.diff(V1, V2),
    }
    for name, call in calls.items():
        with pytest.raises(ConflictError) as info:
            call()
        assert info.value.reason is Reason.BUNDLE_DRAFT, name
        assert info.value.details["state"] == "draft", name
    assert audit_size(client) == before
    assert reason_of(lambda: client.gates.check("NOPE-1", through="G4")) is Reason.RELEASE_NOT_FOUND
    rollback = write("v3.yaml", bundle_yaml("FRAUD-2026-003", "2.0.0", V2))
    refused = lambda: client.bundles.create(rollback, freeze=True)  # noqa: E731
    assert reason_of(refused) is Reason.ROLLBACK_TARGET_NOT_FOUND  # a draft is no target


# -- compare-and-set (B1) ------------------------------------------------------------------------


def test_a_stale_draft_version_loses_nothing(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: two editors read version 1; the first edit wins (version 2), the second, naming
    version 1, is STALE_VERSION and changes nothing; a freeze naming a stale version too."""
    client = first_frozen
    base = bundle_yaml(V2, "2.0.0", V1)
    client.bundles.create(write("v2.yaml", base))
    seen = draft_of(client, V2).version
    mine = write("mine.yaml", base.replace("traffic_start: shadow", "traffic_start: canary"))
    theirs = write("theirs.yaml", base.replace("route: fraud-score-prod", "route: other"))
    won = client.bundles.create(mine, expected_version=seen)
    assert won.draft.version == seen + 1
    before = audit_size(client)
    lost = lambda: client.bundles.create(theirs, expected_version=seen)  # noqa: E731
    assert reason_of(lost) is Reason.STALE_VERSION
    assert reason_of(lambda: client.bundles.freeze(V2, expected_version=seen)) is (
        Reason.STALE_VERSION
    )
    assert audit_size(client) == before
    assert draft_of(client, V2) == won.draft
    assert client.bundles.freeze(V2, expected_version=seen + 1).created


def test_concurrent_editors_of_one_version_never_lose_an_update(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: editors racing from the same version: exactly one edit is stored, every other
    one is STALE_VERSION — the compare-and-set holds inside the write transaction."""
    client = first_frozen
    base = bundle_yaml(V2, "2.0.0", V1)
    client.bundles.create(write("v2.yaml", base))
    paths = [
        write(f"edit{i}.yaml", base.replace("route: fraud-score-prod", f"route: route-{i}"))
        for i in range(4)
    ]
    before = audit_size(client)
    barrier = threading.Barrier(len(paths))
    outcomes: list[str] = []

    def edit(path: Path) -> None:
        with Client(client.settings) as editor:
            editor.bundles.view(V2)  # open the store before the race
            barrier.wait()
            try:
                editor.bundles.create(path, expected_version=1)
                outcomes.append(str(path))
            except ConflictError as exc:
                outcomes.append(exc.reason.value)

    threads = [threading.Thread(target=edit, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [o for o in outcomes if o.endswith(".yaml")]
    assert len(stored) == 1
    assert sorted(o for o in outcomes if o not in stored) == ["STALE_VERSION"] * 3
    draft = draft_of(client, V2)
    assert draft.version == 2
    assert f"route-{Path(stored[0]).stem[-1]}" == draft.spec["deployment"]["route"]
    assert audit_size(client) == before + 1


# -- drafts are records bound to the audit chain -------------------------------------------------


def test_draft_rows_are_covered_by_audit_verify(
    first_frozen: Client, bundle_yaml: Render, write: Write
) -> None:
    """B2/C2: a draft row edited in the database is `edited`; deleted behind airel's back,
    `deleted`; removed by its freeze, nothing; put back after the freeze, `unaudited`."""
    client = first_frozen
    client.bundles.create(write("v2.yaml", bundle_yaml(V2, "2.0.0", V1)))
    assert client.audit.verify().ok
    draft = t.bundle_drafts
    key = draft.c.release_id == V2
    with engine(client).connect() as conn:
        row = dict(conn.execute(sa.select(draft).where(key)).mappings().one())

    def problems() -> set[tuple[str, str]]:
        report = client.audit.verify()
        assert report.problems == ()  # the chain itself is intact
        return {(p["table"], p["kind"]) for p in report.record_problems}

    spec = json.loads(row["spec_json"])
    spec["deployment"]["route"] = "somewhere-else"
    with engine(client).begin() as conn:
        conn.execute(draft.update().where(key).values(spec_json=json.dumps(spec)))
    assert problems() == {("bundle_drafts", "edited")}
    with engine(client).begin() as conn:
        conn.execute(draft.update().where(key).values(spec_json=row["spec_json"]))
    assert problems() == set()
    with engine(client).begin() as conn:
        conn.execute(draft.delete().where(key))
    assert problems() == {("bundle_drafts", "deleted")}
    with engine(client).begin() as conn:
        conn.execute(draft.insert().values(**row))
    assert problems() == set()

    client.bundles.freeze(V2)
    assert problems() == set()
    with engine(client).begin() as conn:
        conn.execute(draft.insert().values(**row))
    assert problems() == {("bundle_drafts", "unaudited")}


# -- the CLI -----------------------------------------------------------------------------------


def test_cli_create_freeze_show_list(
    first_frozen: Client, bundle_yaml: Render, write: Write, database_url: str
) -> None:
    """B1/B3 at the CLI: create → draft (exit 0, findings as warnings); show/list name the
    state; create --freeze refuses an incomplete bundle (exit 1, failures listed); freeze
    --allow-incomplete freezes it; gate check on a draft is exit 2 BUNDLE_DRAFT."""

    def cli(*args: str) -> tuple[int, Any]:
        argv = ["--database-url", database_url, "--actor", "alice", *args]
        result = runner.invoke(app, argv, env={"COLUMNS": "200"})
        text = result.stdout.strip()
        try:
            return result.exit_code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return result.exit_code, text

    path = str(write("v2.yaml", bundle_yaml(V2, "2.0.0")))  # no rollback target: incomplete
    code, data = cli("bundle", "create", path, "--json")
    assert (code, data["state"], data["created"], data["draft"]["version"]) == (0, "draft", True, 1)
    assert data["completeness"]["complete"] is False
    code, data = cli("bundle", "create", path)
    assert code == 0
    assert "unchanged" in data
    code, data = cli("bundle", "show", V2, "--json")
    assert (code, data["state"], data["bundle"]) == (0, "draft", None)
    assert data["draft"]["release_id"] == V2
    code, data = cli("bundle", "list", "--json")
    assert [(b["release_id"], b["state"]) for b in data] == [(V1, "frozen"), (V2, "draft")]
    code, data = cli("bundle", "list", "--state", "draft", "--json")
    assert [b["release_id"] for b in data] == [V2]
    code, text = cli("bundle", "list")
    assert code == 0
    assert "draft v1 (incomplete)" in text

    code, data = cli("gate", "check", V2, "--json")
    assert (code, data["reason"]) == (2, "BUNDLE_DRAFT")
    code, data = cli("bundle", "create", path, "--freeze", "--json")
    assert (code, data["reason"]) == (1, "BUNDLE_INCOMPLETE")
    assert "BUNDLE_NO_ROLLBACK_TARGET" in {p["reason"] for p in data["details"]["problems"]}
    code, text = cli("bundle", "freeze", V2)
    assert code == 1
    assert "BUNDLE_NO_ROLLBACK_TARGET" in text
    code, data = cli("bundle", "freeze", V2, "--expected-version", "7", "--json")
    assert (code, data["reason"]) == (2, "STALE_VERSION")
    code, data = cli("bundle", "freeze", V2, "--allow-incomplete", "pilot only", "--json")
    assert (code, data["state"], data["created"]) == (0, "frozen", True)
    assert data["bundle"]["incomplete_reason"] == "pilot only"
    code, data = cli("bundle", "show", V2, "--json")
    assert (code, data["state"], data["draft"]) == (0, "frozen", None)
    code, data = cli("bundle", "freeze", V2, "--json")
    assert (code, data["created"]) == (0, False)
    code, data = cli("bundle", "create", path, "--json")
    assert (code, data["reason"]) == (2, "BUNDLE_FROZEN")
