"""Shared fixtures: a Client on SQLite and (when AIREL_TEST_POSTGRES_URL is set) on PostgreSQL.

Every test that takes ``client`` runs once per backend: that is the one store contract suite.
PostgreSQL tests get a clean ``public`` schema each time. In CI (``CI`` set) a missing
PostgreSQL URL is an error, not a skip.

Parallel runs (``pytest -n N``, pytest-xdist): each worker creates its own database on the
server at AIREL_TEST_POSTGRES_URL (``<database>_gw0``, ``<database>_gw1``, …) the first time
it needs one, resets only that database, and drops it when the worker ends, so workers never
share a schema. Modules whose module-scoped fixtures are expensive (one Spark session, one
demo run) are kept on one worker each with ``xdist_group`` (``--dist loadgroup``).
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.config import load_settings

PG_URL = os.environ.get("AIREL_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() not in {"", "0", "false"}

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Test modules kept on one xdist worker (their module-scoped fixtures are costly to build twice).
XDIST_GROUPS = {
    "test_demo": "demo",  # one demo run (~1 min) shared by the module's tests
    "test_engine_conformance": "spark",  # one local[2] Spark session (~6 s, 1 GB driver)
    "test_engine_conformance_inputs": "spark",  # each module starts its own session
    "test_engine_conformance_findings": "spark",
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (it suffixes node ids)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the modules of XDIST_GROUPS so ``--dist loadgroup`` keeps each on one worker."""
    for item in items:
        group = XDIST_GROUPS.get(Path(item.nodeid.partition("::")[0]).stem)
        if group and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))


def reset_postgres(url: str) -> None:
    """Drop everything in the test database."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def worker_database_url(base_url: str, worker: str | None) -> str:
    """The database URL a pytest-xdist worker uses: ``<database>_<worker>`` on the same server.

    Without xdist (``worker`` None or ``master``) it is the configured database itself.
    """
    if not worker or worker == "master":
        return base_url
    if not re.fullmatch(r"[a-z0-9_]+", worker):
        raise ValueError(f"unexpected xdist worker id {worker!r}")
    url = sa.make_url(base_url)
    return url.set(database=f"{url.database or 'airel_test'}_{worker}").render_as_string(
        hide_password=False
    )


def _admin(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on the server of ``url``."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _drop_database(admin_url: str, name: str) -> None:
    # WITH (FORCE) (PostgreSQL 13+) ends connections a test may have leaked.
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This worker's own PostgreSQL database, created on first use and dropped at the end."""
    assert PG_URL
    url = worker_database_url(PG_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    if url == PG_URL:
        yield url
        return
    name = sa.make_url(url).database
    assert name
    try:
        _drop_database(PG_URL, name)  # left over from an interrupted run
        _admin(PG_URL, f'CREATE DATABASE "{name}"')
    except sa.exc.SQLAlchemyError as exc:
        pytest.fail(
            f"cannot create the per-worker test database {name} via AIREL_TEST_POSTGRES_URL "
            f"(the role needs CREATEDB; or run without -n): {exc}"
        )
    try:
        yield url
    finally:
        _drop_database(PG_URL, name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """'sqlite' or 'postgres'."""
    name = str(request.param)
    if name == "postgres" and not PG_URL:
        if IN_CI:
            pytest.fail("CI must run the PostgreSQL contract tests: set AIREL_TEST_POSTGRES_URL")
        pytest.skip("AIREL_TEST_POSTGRES_URL not set")
    return name


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory that is also the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    for var in list(os.environ):
        if var.startswith("AIREL_") and var != "AIREL_TEST_POSTGRES_URL":
            monkeypatch.delenv(var)
    return root


@pytest.fixture
def database_url(backend: str, project: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL for the backend (PostgreSQL: this worker's database)."""
    if backend == "postgres":
        url = str(request.getfixturevalue("postgres_url"))
        reset_postgres(url)
        return url
    return f"sqlite:///{project / '.airel' / 'airel.db'}"


@pytest.fixture
def client(database_url: str, project: Path) -> Iterator[Client]:
    """An initialised Client on the backend under test, acting as 'alice'."""
    settings = load_settings(
        {"database_url": database_url, "actor": "alice"}, cwd=project, environ={}
    )
    c = Client(settings)
    c.init()
    yield c
    c.close()


@pytest.fixture
def write(project: Path) -> Callable[[str, str], Path]:
    """Write a (dedented) text file under the project and return its path."""

    def _write(rel: str, text: str) -> Path:
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def fraud_registry(client: Client, write: Callable[[str, str], Path], project: Path) -> Client:
    """A small registry: dataset, feature view, policy, eval set, evaluator, model 1.0 and 2.0."""
    (project / "data").mkdir(exist_ok=True)
    (project / "data" / "train.csv").write_text("amount,label\n1.0,0\n250.0,1\n")
    (project / "models" / "v1").mkdir(parents=True, exist_ok=True)
    (project / "models" / "v1" / "model.bin").write_bytes(b"model-one")
    (project / "models" / "v2").mkdir(parents=True, exist_ok=True)
    (project / "models" / "v2" / "model.bin").write_bytes(b"model-two")
    (project / "features.py").write_text("def transform(row):\n    return row\n")
    specs = {
        "dataset.yaml": """
            kind: dataset
            name: FRAUD-TRAIN
            version: "1"
            owner: fraud-data
            source_lineage: [cards.authorisations]
            snapshot: {query: "select * from auth where month <= 6", window_start: "2026-01-01",
                       window_end: "2026-06-30"}
            schema: {amount: float64, label: int64}
            classification: confidential
            retention: 7y
            allowed_use: [fraud-detection]
            row_count: 2
            artifact: data/train.csv
        """,
        "features.yaml": """
            kind: feature_view
            name: fraud-auth-features
            version: "11"
            owner: fraud-data
            entity_key: customer_id
            features: [{name: amount, dtype: float64}]
            transform: features.py
            freshness_sla: 15m
            serving_view: online.fraud_auth_v11
            allowed_use: [fraud-detection]
            source_datasets: ["FRAUD-TRAIN:1"]
        """,
        "policy.yaml": """
            kind: policy
            name: fraud-threshold-policy
            version: "1.0"
            text: "decline if score >= 0.9\\nchallenge if score >= 0.6\\n"
        """,
        "labels.yaml": """
            kind: policy
            name: FRAUD-LABEL-GUIDE
            version: "1.4"
            text: "fraud = confirmed chargeback with reason code 10.4\\n"
        """,
        "golden.yaml": """
            kind: eval_dataset
            name: FRAUD-GOLDEN
            version: "2"
            role: golden
            row_count: 2
            derived_from: ["FRAUD-TRAIN:1"]
            artifact: data/train.csv
        """,
        "evaluator.yaml": """
            kind: evaluator
            name: ROC-AUC
            version: "1"
            evaluator_type: metric
            thresholds: {min: 0.85}
        """,
        "model1.yaml": """
            kind: model
            name: fraud-score
            version: 1.0.0
            owner: Fraud Analytics Lead
            risk_tier: Tier 1
            signature:
              inputs: [{name: amount, type: float}]
              outputs: [{name: score, type: float}]
            training_run_id: TRN-1
            training_dataset: FRAUD-TRAIN:1
            feature_view: fraud-auth-features:11
            artifact: models/v1
        """,
        "model2.yaml": """
            kind: model
            name: fraud-score
            version: 2.0.0
            owner: Fraud Analytics Lead
            risk_tier: 1
            signature:
              inputs: [{name: amount, type: float}]
              outputs: [{name: score, type: float}]
            training_run_id: TRN-2
            training_dataset: FRAUD-TRAIN:1
            feature_view: fraud-auth-features:11
            rollback_target: fraud-score:1.0.0
            training: {algorithm: hgb, params: {max_iter: 200}, seed: 7, metrics: {auc: 0.91}}
            artifact: models/v2
        """,
    }
    for name, text in specs.items():
        client.registry.register(write(f"specs/{name}", text), base_dir=project)
    return client


BUNDLE_V1 = """
release_id: FRAUD-2026-001
use_case_id: FRAUD-SCORING
risk_tier: Tier 1
pipeline_type: classifier
code:
  repo_commit: 9f2c81a
  pipeline_image: registry/fraud-pipeline@sha256:{pipe}
  serving_image: registry/fraud-serving@sha256:{serve}
data:
  training_snapshot: FRAUD-TRAIN:1
  validation_snapshot: FRAUD-TRAIN:1
  label_policy: FRAUD-LABEL-GUIDE:1.4
features:
  feature_view: fraud-auth-features:11
model:
  model_id: fraud-score
  model_version: 1.0.0
  artifact_hash: {model_hash}
prompt_policy:
  decision_policy: fraud-threshold-policy:1.0
eval:
  dataset_versions: [FRAUD-GOLDEN:2]
  evaluator_versions: [ROC-AUC:1]
deployment:
  route: fraud-score-prod
  traffic_start: shadow
"""


@pytest.fixture
def bundle_yaml(fraud_registry: Client) -> Callable[..., str]:
    """Render a classifier bundle for the fraud registry; keyword args patch the text."""

    def _render(
        release_id: str = "FRAUD-2026-001",
        model_version: str = "1.0.0",
        rollback_target: str | None = None,
    ) -> str:
        model = fraud_registry.registry.component("model", f"fraud-score:{model_version}")
        assert model.artifact is not None
        text = (
            BUNDLE_V1.replace("{pipe}", "a" * 64)
            .replace("{serve}", "b" * 64)
            .replace("{model_hash}", model.artifact.digest)
            .replace("FRAUD-2026-001", release_id)
            .replace("model_version: 1.0.0", f"model_version: {model_version}")
        )
        if rollback_target:
            text += f"  rollback_target: {rollback_target}\n"
        return text

    return _render
