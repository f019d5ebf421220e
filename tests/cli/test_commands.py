"""The CLI edge: exit codes, --json on reads, and every bad input of issue 2 refused with
exit 2, a reason code, a fix, and nothing written (B1–B3, R1–R7, audit)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.cli.main import app

runner = CliRunner()

MODEL = """
kind: model
name: fraud-score
version: {version}
owner: Fraud Analytics Lead
risk_tier: Tier 1
signature: {{inputs: [{{name: amount}}], outputs: [{{name: score}}]}}
training_run_id: TRN-1
training_dataset: TRAIN:1
artifact: {artifact}
"""
DATASET = """
kind: dataset
name: TRAIN
version: "1"
owner: data
source_lineage: [cards]
snapshot: {query: q, partition: p}
schema: {amount: float64}
classification: internal
retention: 7y
allowed_use: [fraud]
row_count: 2
artifact: data.csv
"""


def cli(project: Path, *args: str) -> tuple[int, Any]:
    """Run ``airel`` in-process against the project's store; parse JSON output if any."""
    url = f"sqlite:///{project / '.airel' / 'airel.db'}"
    result = runner.invoke(app, ["--database-url", url, "--actor", "tester", *args])
    text = result.stdout.strip()
    try:
        return result.exit_code, json.loads(text) if text else None
    except json.JSONDecodeError:
        return result.exit_code, text


@pytest.fixture
def store(project: Path) -> Path:
    """An initialised project with a dataset and model 1.0.0 registered."""
    (project / "data.csv").write_text("amount\n1\n")
    (project / "model").mkdir()
    (project / "model" / "weights.bin").write_bytes(b"\x00weights")
    (project / "dataset.yaml").write_text(DATASET)
    (project / "model.yaml").write_text(MODEL.format(version="1.0.0", artifact="model"))
    assert cli(project, "init", "--json")[0] == 0
    assert cli(project, "register", "dataset", "dataset.yaml", "--json")[0] == 0
    assert cli(project, "register", "model", "model.yaml", "--json")[0] == 0
    return project


def snapshot(project: Path) -> tuple[int, int, list[str]]:
    """(audit entries, component rows, blob files): what 'nothing written' compares."""
    db = sqlite3.connect(project / ".airel" / "airel.db")
    try:
        audit = db.execute("select count(*) from audit_log").fetchone()[0]
        components = db.execute("select count(*) from components").fetchone()[0]
    finally:
        db.close()
    blobs = sorted(p.name for p in (project / ".airel" / "artifacts" / "sha256").glob("*"))
    return audit, components, blobs


def test_reads_have_json_and_exit_zero(store: Path) -> None:
    """--json on every read gives parseable JSON (README exit-code table)."""
    for args in (
        ["component", "list"],
        ["component", "show", "model", "fraud-score:1.0.0"],
        ["bundle", "list"],
        ["artifact", "list"],
        ["artifact", "verify"],
        ["audit", "verify"],
        ["config", "show"],
        ["lineage", "dataset/TRAIN:1", "--downstream"],
    ):
        code, data = cli(store, *args, "--json")
        assert code == 0, (args, data)
        assert isinstance(data, (dict, list)), args
    code, data = cli(store, "lineage", "dataset/TRAIN:1", "--downstream", "--json")
    assert "model/fraud-score:1.0.0" in data["nodes"]


def test_alias_set_and_history(store: Path) -> None:
    """R1/R4: aliases move with compare-and-set and keep their whole history."""
    (store / "m2").mkdir()
    (store / "m2" / "w.bin").write_bytes(b"two")
    (store / "model2.yaml").write_text(MODEL.format(version="2.0.0", artifact="m2"))
    assert cli(store, "register", "model", "model2.yaml")[0] == 0
    assert cli(store, "alias", "set", "model", "fraud-score", "production", "1.0.0")[0] == 0
    code, data = cli(
        store,
        "alias",
        "set",
        "model",
        "fraud-score",
        "production",
        "2.0.0",
        "--expect",
        "1",
        "--json",
    )
    assert code == 0
    assert data["alias"]["row_version"] == 2
    code, data = cli(
        store,
        "alias",
        "set",
        "model",
        "fraud-score",
        "production",
        "1.0.0",
        "--expect",
        "1",
        "--json",
    )
    assert code == 2
    assert data["reason"] == "STALE_VERSION"
    code, data = cli(store, "alias", "history", "model", "fraud-score", "production", "--json")
    assert [m["to_version"] for m in data] == ["1.0.0", "2.0.0"]


def _bad_inputs(project: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (argv, expected reason). Files are written here."""
    w = project / "bad"
    w.mkdir(exist_ok=True)

    def put(name: str, text: str | bytes) -> str:
        path = w / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return str(path)

    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n"
    deep = "a: " + "[" * 200 + "]" * 200 + "\n"
    big = w / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    m = MODEL.format(version="9.0.0", artifact="model")
    return {
        "malformed": (["register", "model", put("m.yaml", "name: [unclosed\n")], "YAML_SYNTAX"),
        "alias bomb": (["register", "model", put("bomb.yaml", bomb)], "YAML_ALIAS"),
        "duplicate keys": (
            ["register", "model", put("dup.yaml", m + "owner: someone else\n")],
            "DUPLICATE_KEY",
        ),
        "100 MB file": (["register", "model", str(big)], "DOC_TOO_LARGE"),
        "deep nesting": (["register", "model", put("deep.yaml", deep)], "DOC_TOO_DEEP"),
        "unknown field": (
            ["register", "model", put("unk.yaml", m + "ownr: typo\n")],
            "UNKNOWN_FIELD",
        ),
        "wrong type": (
            ["register", "model", put("wt.yaml", m.replace("TRN-1", "[1, 2]"))],
            "WRONG_TYPE",
        ),
        "version 1.10": (
            ["register", "model", put("v.yaml", m.replace("version: 9.0.0", "version: 1.10"))],
            "WRONG_TYPE",
        ),
        "NO for a bool": (
            [
                "register",
                "tool_schema",
                put(
                    "no.yaml",
                    (
                        "name: t\nversion: '1'\ntool_schema: {}\nside_effects: write\n"
                        "requires_approval: NO\nidempotent: true\n"
                    ),
                ),
            ],
            "WRONG_TYPE",
        ),
        "traversal in name": (
            ["register", "model", put("tn.yaml", m.replace("name: fraud-score", "name: ../x"))],
            "PATH_TRAVERSAL",
        ),
        "encoded traversal in artifact": (
            [
                "register",
                "model",
                put("ta.yaml", m.replace("artifact: model", "artifact: '%2e%2e/x'")),
            ],
            "PATH_TRAVERSAL",
        ),
        "backslash artifact": (
            [
                "register",
                "model",
                put("tb.yaml", m.replace("artifact: model", "artifact: '..\\\\x'")),
            ],
            "PATH_TRAVERSAL",
        ),
        "absolute artifact": (
            [
                "register",
                "model",
                put("tc.yaml", m.replace("artifact: model", "artifact: /etc/passwd")),
            ],
            "PATH_TRAVERSAL",
        ),
        "NUL in name": (
            [
                "register",
                "model",
                put("nul.yaml", m.replace("name: fraud-score", 'name: "fraud\\0score"')),
            ],
            "INVALID_NAME",
        ),
        "control char in name": (
            [
                "register",
                "model",
                put("ctl.yaml", m.replace("name: fraud-score", 'name: "fraud\\x1bscore"')),
            ],
            "INVALID_NAME",
        ),
        "look-alike in name": (
            [
                "register",
                "model",
                put("la.yaml", m.replace("name: fraud-score", "name: frаud-score")),
            ],
            "INVALID_NAME",
        ),
        "artifact hash mismatch": (
            ["register", "model", put("hm.yaml", m + f"artifact_hash: sha256:{'0' * 64}\n")],
            "HASH_MISMATCH",
        ),
        "missing artifact": (
            [
                "register",
                "model",
                put("ma.yaml", m.replace("artifact: model", "artifact: nowhere")),
            ],
            "ARTIFACT_MISSING",
        ),
        "existing version, other content": (
            [
                "register",
                "model",
                put("conf.yaml", MODEL.format(version="1.0.0", artifact="data.csv")),
            ],
            "VERSION_CONFLICT",
        ),
        "dangling reference": (
            ["register", "model", put("dr.yaml", m.replace("TRAIN:1", "NOPE:1"))],
            "DANGLING_REFERENCE",
        ),
        "rollback target does not exist": (
            [
                "bundle",
                "create",
                "--freeze",
                put(
                    "rb.yaml",
                    (
                        "release_id: R-2\nuse_case_id: UC\nrisk_tier: 1\n"
                        "deployment: {route: r, rollback_target: R-1}\n"
                    ),
                ),
            ],
            "ROLLBACK_TARGET_NOT_FOUND",
        ),
    }


def test_every_bad_input_is_refused_with_exit_2_and_nothing_written(store: Path) -> None:
    """Issue 2 'Bad input': each case -> exit 2, its reason code, a fix, nothing written."""
    cases = _bad_inputs(store)
    # The artifact paths are relative to the spec's directory: run them from the project.
    before = snapshot(store)
    for name, (argv, reason) in cases.items():
        extra = ["--base-dir", str(store)] if argv[0] == "register" else []
        code, data = cli(store, *argv, *extra, "--json")
        assert code == 2, (name, data)
        assert isinstance(data, dict), (name, data)
        assert data["reason"] == reason, (name, data)
        assert data.get("fix"), (name, data)
        assert snapshot(store) == before, name


def test_symlink_outside_is_refused(store: Path, tmp_path: Path) -> None:
    """A symlink that points outside the base directory is refused; nothing written."""
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"secret")
    (store / "escape").symlink_to(outside)
    (store / "sym.yaml").write_text(MODEL.format(version="3.0.0", artifact="escape"))
    before = snapshot(store)
    code, data = cli(store, "register", "model", "sym.yaml", "--json")
    assert (code, data["reason"]) == (2, "UNSAFE_SYMLINK")
    assert snapshot(store) == before


def test_locked_database_is_exit_2(store: Path) -> None:
    """A store held by another writer past the busy timeout: STORE_LOCKED, exit 2."""
    holder = sqlite3.connect(store / ".airel" / "airel.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        env = {**os.environ, "AIREL_BUSY_TIMEOUT_S": "0.2"}
        (store / "m3").mkdir()
        (store / "m3" / "w").write_bytes(b"3")
        (store / "m3.yaml").write_text(MODEL.format(version="3.0.0", artifact="m3"))
        proc = subprocess.run(
            [sys.executable, "-m", "airel.cli", "register", "model", "m3.yaml", "--json"],
            cwd=store,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 2, proc.stderr
    assert json.loads(proc.stdout)["reason"] == "STORE_LOCKED"


def test_read_only_database_is_exit_2(store: Path) -> None:
    """A read-only store refuses writes with STORE_READ_ONLY; reads still work."""
    url = f"sqlite:///file:{store / '.airel' / 'airel.db'}?mode=ro&uri=true"
    (store / "m4").mkdir()
    (store / "m4" / "w").write_bytes(b"4")
    (store / "m4.yaml").write_text(MODEL.format(version="4.0.0", artifact="m4"))
    result = runner.invoke(
        app, ["--database-url", url, "register", "model", str(store / "m4.yaml"), "--json"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stdout)["reason"] == "STORE_READ_ONLY"
    result = runner.invoke(app, ["--database-url", url, "component", "list", "--json"])
    assert result.exit_code == 0


def test_uninitialised_store_says_run_init(project: Path) -> None:
    """No store yet: exit 2 with STORE_NOT_INITIALISED and the fix `airel init`."""
    code, data = cli(project, "bundle", "list", "--json")
    assert (code, data["reason"]) == (2, "STORE_NOT_INITIALISED")
    assert "airel init" in data["fix"]


def test_usage_error_is_exit_2(project: Path) -> None:
    """Typer usage errors (unknown kind, missing argument) exit 2."""
    assert cli(project, "register", "spaceship", "x.yaml")[0] == 2
    assert cli(project, "bundle", "create")[0] == 2


def test_bundle_create_exit_codes_and_tamper(
    store: Path, write: Callable[[str, str], Path]
) -> None:
    """B1/B3: an incomplete Tier 1 bundle is stored as a draft (exit 0, findings shown); its
    freeze is refused (exit 1) until --allow-incomplete says why; verify catches a tampered
    blob."""
    write(
        "release.yaml",
        """
        release_id: FRAUD-1
        use_case_id: FRAUD
        risk_tier: Tier 1
        pipeline_type: classifier
        model: {model_id: fraud-score, model_version: 1.0.0}
        deployment: {route: fraud-prod, traffic_start: shadow}
    """,
    )
    code, data = cli(store, "bundle", "create", "release.yaml", "--json")
    assert (code, data["state"], data["created"]) == (0, "draft", True)
    reasons = {f["reason"] for f in data["completeness"]["findings"]}
    assert {"BUNDLE_NO_ROLLBACK_TARGET", "BUNDLE_NO_TRAINING_SNAPSHOT"} <= reasons
    code, data = cli(store, "bundle", "freeze", "FRAUD-1", "--json")
    assert (code, data["reason"]) == (1, "BUNDLE_INCOMPLETE")
    why = "first release: the route is switched off to roll back"
    code, data = cli(store, "bundle", "freeze", "FRAUD-1", "--allow-incomplete", why, "--json")
    assert (code, data["state"], data["bundle"]["incomplete_reason"]) == (0, "frozen", why)
    assert cli(store, "bundle", "verify", "FRAUD-1")[0] == 0
    model = cli(store, "component", "show", "model", "fraud-score:1.0.0", "--json")[1]
    manifest = store / ".airel" / "artifacts" / "sha256" / model["artifact"]["digest"][7:]
    entries = json.loads(manifest.read_text())["entries"]
    member = store / ".airel" / "artifacts" / "sha256" / entries[0]["digest"][7:]
    member.chmod(0o644)
    member.write_bytes(b"tampered")
    code, data = cli(store, "bundle", "verify", "FRAUD-1", "--json")
    assert code == 1
    assert not data["ok"]
    assert cli(store, "artifact", "verify")[0] == 1


def test_audit_checkpoint_via_cli(store: Path, tmp_path: Path) -> None:
    """Keygen, checkpoint, verify with the trusted public key."""
    priv, pub, ckpt = tmp_path / "k.pem", tmp_path / "k.pub", tmp_path / "c.json"
    assert cli(store, "audit", "keygen", "--private", str(priv), "--public", str(pub))[0] == 0
    assert cli(store, "audit", "checkpoint", "--key", str(priv), "--out", str(ckpt))[0] == 0
    code, data = cli(
        store, "audit", "verify", "--checkpoint", str(ckpt), "--public-key", str(pub), "--json"
    )
    assert code == 0
    assert data["ok"]
    assert data["checkpoint_seq"] == data["head_seq"]
    code, data = cli(
        store, "audit", "keygen", "--private", str(priv), "--public", str(pub), "--json"
    )
    assert (code, data["reason"]) == (2, "INVALID_KEY")


PLAYBOOK = Path(__file__).parents[1] / "fixtures" / "playbook_3_3.yaml"


def test_bundle_check_loads_the_playbook_example_offline(project: Path) -> None:
    """B1: the §3.3 example loads unchanged with no store at all; completeness is reported."""
    code, data = cli(project, "bundle", "check", str(PLAYBOOK), "--json")
    assert code == 1  # no pipeline_type in the example: a Tier 1 failure, not a parse error
    assert data["spec"]["model"]["model_version"] == "1.8.0"
    assert data["spec"]["risk_tier"] == 1
    failures = {f["reason"] for f in data["completeness"]["findings"] if f["severity"] == "failure"}
    assert failures == {"BUNDLE_NO_PIPELINE_TYPE"}
    assert not (project / ".airel").exists()


def test_bundle_check_refuses_bad_yaml(project: Path) -> None:
    """Malformed bundle files exit 2 from `bundle check` too."""
    (project / "b.yaml").write_text("release_id: X\nrelease_id: Y\n")
    code, data = cli(project, "bundle", "check", "b.yaml", "--json")
    assert (code, data["reason"]) == (2, "DUPLICATE_KEY")
