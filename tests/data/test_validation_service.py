"""Validation as a use case (V1–V4): registered datasets, stored profiles reused, runs and
cards stored as audited evidence, the CLI's exit codes, and bad inputs refused cleanly."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from airel.errors import AirelError, Reason

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
SPEC = """
entity_key: id
label: y
prediction_time: ts
freshness: {column: ts, sla: 48h}
columns:
  id: {type: int, identifier: true, nullable: false}
  ts: {type: timestamp, nullable: false}
  amount: {type: float, range: {min: 0, max: 1000}, critical: true}
  channel: {type: string, allowed_values: [web, pos, atm]}
  y: {type: int}
"""


def table(n: int, seed: int, *, shift: float = 0.0, start: int = 0) -> pa.Table:
    """Synthetic transactions; ``shift`` moves the amount distribution (drift)."""
    rng = np.random.default_rng(seed)
    ts = np.datetime64("2026-06-30T00:00:00", "us") + rng.integers(0, 86_400_000_000, n)
    return pa.table(
        {
            "id": np.arange(start, start + n, dtype=np.int64),
            "ts": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
            "amount": np.abs(rng.normal(100 + shift, 20, n)),
            "channel": rng.choice(["web", "pos", "atm"], n, p=[0.5, 0.4, 0.1]),
            "y": (rng.random(n) < 0.05).astype(np.int64),
        }
    )


@pytest.fixture
def data(project: Path) -> Path:
    """reference.parquet, same.parquet (fresh sample), drifted.parquet, spec.yaml."""
    pq.write_table(table(5000, 1), project / "reference.parquet")
    pq.write_table(table(4000, 2, start=10_000), project / "same.parquet")
    pq.write_table(table(4000, 3, shift=40, start=20_000), project / "drifted.parquet")
    (project / "spec.yaml").write_text(textwrap.dedent(SPEC))
    return project


def test_clean_sample_passes_and_run_is_stored(client: Client, data: Path) -> None:
    """A same-distribution sample: no finding; the run and its card are audited evidence."""
    before = client.audit.verify().entries
    outcome = client.data.validate(
        data / "same.parquet",
        spec=data / "spec.yaml",
        reference=data / "reference.parquet",
        use_case="fraud",
        as_of=AS_OF,
    )
    assert outcome.findings == []
    assert outcome.run.passed
    stored = client.data.run(outcome.run.run_id)
    assert stored.card["passed"] is True
    assert "Distribution" in outcome.markdown or "drift" in outcome.markdown.lower()
    with client.ctx.store.read() as tx:
        actions = [e.action for e in tx.iter_audit()][before:]
    assert actions.count("profile.store") == 2
    assert actions[-1] == "validation.run"
    assert client.audit.verify().ok


def test_reference_profile_is_computed_once(client: Client, data: Path) -> None:
    """V4: validating several candidates against one reference profiles it once."""
    first = client.data.validate(
        data / "same.parquet",
        spec=data / "spec.yaml",
        reference=data / "reference.parquet",
        as_of=AS_OF,
    )
    second = client.data.validate(
        data / "drifted.parquet",
        spec=data / "spec.yaml",
        reference=data / "reference.parquet",
        as_of=AS_OF,
    )
    assert first.profiles_reused == 0
    assert second.profiles_reused == 1  # the reference came from the profile store
    drifted = {f.column for f in second.findings if f.reason.value.startswith("DRIFT")}
    assert drifted == {"amount"}
    assert not second.run.passed  # amount is critical: drift on it is hard


def test_registered_datasets_and_feature_view_spec(
    client: Client, data: Path, write: Callable[[str, str], Path]
) -> None:
    """V3: runs are stored against dataset and feature-view versions."""
    for name, file, rows in (("REF", "reference.parquet", 5000), ("CUR", "same.parquet", 4000)):
        write(
            f"{name}.yaml",
            f"""
            kind: dataset
            name: {name}
            version: "1"
            owner: data
            source_lineage: [core]
            snapshot: {{query: q, partition: p}}
            schema: {{id: int64, ts: timestamp, amount: float64, channel: string, y: int64}}
            classification: internal
            retention: 7y
            allowed_use: [fraud]
            row_count: {rows}
            artifact: {file}
        """,
        )
        client.registry.register(data / f"{name}.yaml")
    write(
        "fv.yaml",
        """
        kind: feature_view
        name: fv
        version: "1"
        owner: data
        entity_key: id
        features: [{name: amount, dtype: float}]
        transform_hash: sha256:0000000000000000000000000000000000000000000000000000000000000000
        freshness_sla: 24h
        serving_view: online.fv
        allowed_use: [fraud]
        validation_spec: spec.yaml
    """,
    )
    client.registry.register(data / "fv.yaml")
    outcome = client.data.validate("dataset/CUR:1", spec="fv:1", reference="REF:1", as_of=AS_OF)
    assert outcome.run.current == "dataset/CUR:1"
    assert outcome.run.reference == "dataset/REF:1"
    assert outcome.run.feature_view == "feature_view/fv:1"
    assert [r.run_id for r in client.data.runs(current="dataset/CUR:1")] == [outcome.run.run_id]


def test_feature_view_with_a_bad_spec_is_refused(
    client: Client, write: Callable[[str, str], Path]
) -> None:
    """A spec naming an undeclared column: SPEC_UNKNOWN_COLUMN, nothing registered."""
    write("bad-spec.yaml", "label: nope\ncolumns: {a: {type: int}}\n")
    path = write(
        "fv.yaml",
        """
        kind: feature_view
        name: fv
        version: "2"
        owner: data
        entity_key: a
        features: [{name: a, dtype: int}]
        transform_hash: sha256:0000000000000000000000000000000000000000000000000000000000000000
        freshness_sla: 24h
        serving_view: online.fv
        allowed_use: [fraud]
        validation_spec: bad-spec.yaml
    """,
    )
    entries = client.audit.verify().entries
    with pytest.raises(AirelError) as info:
        client.registry.register(path)
    assert info.value.reason is Reason.SPEC_UNKNOWN_COLUMN
    assert client.audit.verify().entries == entries


def test_skew_against_a_serving_sample(client: Client, data: Path) -> None:
    """V1 skew: the serving path computes amount differently for 10 % of entities."""
    cur = table(4000, 2, start=10_000)
    amount = cur["amount"].to_numpy().copy()
    amount[::10] *= 1.21
    serving = cur.drop_columns(["y"]).set_column(2, "amount", [amount])
    pq.write_table(serving, data / "serving.parquet")
    outcome = client.data.validate(
        data / "same.parquet",
        spec=data / "spec.yaml",
        serving=data / "serving.parquet",
        as_of=AS_OF,
    )
    skew = [f for f in outcome.findings if f.dimension.value == "skew"]
    assert [(f.column, f.reason.value) for f in skew] == [("amount", "SKEW_MISMATCH")]
    assert skew[0].measured == pytest.approx(0.1, abs=0.001)


def cli(project: Path, *args: str) -> tuple[int, Any]:
    url = f"sqlite:///{project / '.airel' / 'airel.db'}"
    result = CliRunner().invoke(app, ["--database-url", url, *args])
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.stdout


def test_cli_exit_codes(data: Path) -> None:
    """Exit 0 clean, 1 on a hard finding, 2 on bad input (nothing stored for bad input)."""
    assert cli(data, "init")[0] == 0
    base = [
        "validate",
        "--spec",
        "spec.yaml",
        "--reference",
        "reference.parquet",
        "--as-of",
        "2026-07-01T00:00:00+00:00",
        "--json",
    ]
    code, out = cli(data, *base, "--current", "same.parquet")
    assert code == 0, out
    code, out = cli(data, *base, "--current", "drifted.parquet")
    assert code == 1
    assert isinstance(out, dict)
    assert out["hard"] >= 1
    (data / "truncated.parquet").write_bytes((data / "same.parquet").read_bytes()[:500])
    for current, reason in (
        ("missing.parquet", "ARTIFACT_MISSING"),
        ("truncated.parquet", "DATA_UNREADABLE"),
    ):
        code, out = cli(data, *base, "--current", current)
        assert code == 2
        assert isinstance(out, dict)
        assert out["reason"] == reason
    code, out = cli(
        data, *base[:-3], "--as-of", "2026-07-01T00:00:00", "--json", "--current", "same.parquet"
    )
    assert code == 2
    assert isinstance(out, dict)
    assert out["reason"] == "INVALID_VALUE"
    code, out = cli(data, "validation", "list", "--json")
    assert code == 0
    assert isinstance(out, list)
    assert len(out) == 2  # the clean run and the drifted run; bad inputs stored nothing


def test_profile_command_reuses_the_stored_profile(data: Path) -> None:
    """`airel profile` stores once, then reuses."""
    assert cli(data, "init")[0] == 0
    code, out = cli(data, "profile", "reference.parquet", "--json")
    assert code == 0
    assert isinstance(out, dict)
    assert out["computed"] is True
    assert out["profile"]["rows"] == 5000
    code, again = cli(data, "profile", "reference.parquet", "--json")
    assert isinstance(again, dict)
    assert (code, again["computed"], again["digest"]) == (0, False, out["digest"])
