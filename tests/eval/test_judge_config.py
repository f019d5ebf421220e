"""The judge and plugins inside `eval run` / `eval compare` / `eval rejudge`, end to end.

The judge's authentication headers come from the environment or a secrets file and reach the
endpoint, but never a stored record, the CLI's output or ``config show``; a badly protected
secrets file is refused before any call; the judge pool size comes from the setting or
``--judge-concurrency``; a plugin that hangs on one item errors that item and the run goes on;
stored runs are re-judged from the CLI with `eval run`'s exit codes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import types
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.adapters.eval.plugins import GROUP
from airel.cli.main import app
from airel.client import Client
from airel.config import load_settings
from airel.errors import AirelError, Reason
from fake_server import JudgeServer
from llm_suite_helpers import (
    CASES,
    GOOD,
    MEDIOCRE,
    Writer,
    register_dataset,
    register_judge,
    register_plugin,
    write_outputs,
    write_suite,
)

SECRET = "sk-e2e-7d3e1f0a9b8c"
TEAM = "team-secret-42"
RELEASE = threading.Event()  # set at teardown: lets a plugin left hanging by a test finish


class CountingServer(JudgeServer):
    """``/count``: each judge call takes 50 ms; the most calls in flight at once is kept."""

    def route(self, h: Any, payload: Any) -> None:
        if not h.path.startswith("/count"):
            super().route(h, payload)
            return
        with self.lock:
            self.headers.append(dict(h.headers))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(0.05)
        with self.lock:
            self.in_flight -= 1
        h._reply(200, json.dumps(self.chat(payload)).encode())


@pytest.fixture
def server() -> Iterator[CountingServer]:
    running = CountingServer()
    with running:
        yield running


@pytest.fixture
def store(project: Path, write: Writer) -> dict[str, Any]:
    """An initialised SQLite store with the golden cases, a judge, a suite and outputs."""
    url = f"sqlite:///{project / '.airel' / 'airel.db'}"
    settings = load_settings({"database_url": url, "actor": "alice"}, cwd=project, environ={})
    with Client(settings) as client:
        client.init()
        golden = register_dataset(client, write, "SERVICE-GOLDEN", CASES)
        judge_ref = register_judge(client, write)
    write_suite(project, [golden], evaluators=[judge_ref], name="judged.yaml")
    write_suite(project, [golden], name="plain.yaml")
    write_outputs(project, "good.jsonl", GOOD)
    write_outputs(project, "mediocre.jsonl", MEDIOCRE)
    return {"url": url, "golden": golden, "judge": judge_ref}


def _cli(store: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(app, ["--database-url", store["url"], "--actor", "bob", *args])


def _secrets_file(project: Path, mode: int = 0o600) -> Path:
    path = project / "judge.secrets"
    path.write_text(f"# judge credentials\nX-Team: {TEAM}\n", encoding="utf-8")
    path.chmod(mode)
    return path


def _stored_text(project: Path) -> str:
    """Every byte of the store (database, WAL) and the artifacts, as text."""
    found = []
    for path in (project / ".airel").rglob("*"):
        if path.is_file():
            found.append(path.read_bytes().decode("latin-1"))
    return "\n".join(found)


def test_headers_from_env_and_secrets_file_reach_the_judge_but_are_never_kept(
    project: Path,
    store: dict[str, Any],
    server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AIREL_JUDGE_API_KEY and AIREL_JUDGE_SECRETS_FILE: every judge call carries both headers;
    neither value is in the stored record, the database file, the CLI output or config show."""
    monkeypatch.setenv("AIREL_JUDGE_API_KEY", SECRET)
    monkeypatch.setenv("AIREL_JUDGE_SECRETS_FILE", str(_secrets_file(project)))
    monkeypatch.setenv("AIREL_JUDGE_ENDPOINT", server.url)
    result = _cli(store, "eval", "run", "--suite", "judged.yaml", "--target", "good.jsonl",
                  "--label", "a:1", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    judge_calls = [h for h in server.headers if "Authorization" in h]
    assert len(judge_calls) == len(CASES)
    assert all(h["Authorization"] == f"Bearer {SECRET}" for h in judge_calls)
    assert all(h["X-Team"] == TEAM for h in judge_calls)
    record_id = json.loads(result.stdout)["record_id"]
    shown = _cli(store, "eval", "report", record_id, "--json")
    config = _cli(store, "config", "show", "--json")
    assert json.loads(config.stdout)["judge_api_key"]["value"] == "***"
    stored = _stored_text(project)
    assert "judge-model-2026-01" in stored  # the scan sees the stored judgements
    for text in (result.output, shown.output, config.output, stored):
        assert SECRET not in text
        assert TEAM not in text
    first = json.loads(shown.stdout)["body"]["datasets"][0]["item_results"][0]
    assert "Authorization" not in json.dumps(first["evaluators"][store["judge"]]["judgement"])


def test_headers_from_airel_judge_headers(
    project: Path, store: dict[str, Any], server: CountingServer
) -> None:
    """AIREL_JUDGE_HEADERS as a JSON object, through the SDK's settings."""
    env = {"AIREL_JUDGE_HEADERS": json.dumps({"X-Api-Key": SECRET})}
    settings = load_settings({"database_url": store["url"]}, cwd=project, environ=env)
    with Client(settings) as client:
        outcome = client.evals.run(
            project / "judged.yaml",
            target=str(project / "good.jsonl"),
            label="a:1",
            judge_endpoint=server.url,
        )
    assert outcome.record.passed
    assert [h["X-Api-Key"] for h in server.headers] == [SECRET] * len(CASES)
    assert SECRET not in json.dumps(outcome.record.body)


def test_an_open_secrets_file_is_refused_before_any_call(
    project: Path,
    store: dict[str, Any],
    server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """0644 secrets file: exit 2, CONFIG_INVALID with `chmod 600` as the fix, nothing called or
    stored. A suite without a judge evaluator does not read the file."""
    path = _secrets_file(project, 0o644)
    monkeypatch.setenv("AIREL_JUDGE_SECRETS_FILE", str(path))
    result = _cli(store, "eval", "run", "--suite", "judged.yaml", "--target", "good.jsonl",
                  "--label", "a:1", "--judge-endpoint", server.url, "--json")  # fmt: skip
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["reason"] == Reason.CONFIG_INVALID.value
    assert error["fix"] == f"chmod 600 {path}"
    assert TEAM not in result.output
    assert server.requests == []
    assert json.loads(_cli(store, "eval", "list", "--json").stdout) == []
    plain = _cli(store, "eval", "run", "--suite", "plain.yaml", "--target", "good.jsonl",
                 "--label", "a:1", "--json")  # fmt: skip
    assert plain.exit_code == 0


@pytest.mark.parametrize(("option", "env", "bound"), [("1", None, 1), (None, "2", 2)])
def test_judge_concurrency_from_option_or_setting(
    store: dict[str, Any],
    server: CountingServer,
    monkeypatch: pytest.MonkeyPatch,
    option: str | None,
    env: str | None,
    bound: int,
) -> None:
    """--judge-concurrency (or AIREL_JUDGE_CONCURRENCY) bounds the judge calls in flight."""
    if env is not None:
        monkeypatch.setenv("AIREL_JUDGE_CONCURRENCY", env)
    extra = ["--judge-concurrency", option] if option is not None else []
    result = _cli(store, "eval", "compare", "--suite", "judged.yaml", "--baseline",
                  "mediocre.jsonl", "--candidate", "good.jsonl", "--judge-endpoint",
                  server.url + "/count", *extra, "--json")  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert len(server.headers) == 2 * len(CASES)
    assert server.max_in_flight == bound


def test_bad_judge_concurrency_is_exit_2(store: dict[str, Any], server: CountingServer) -> None:
    result = _cli(store, "eval", "run", "--suite", "judged.yaml", "--target", "good.jsonl",
                  "--label", "a:1", "--judge-endpoint", server.url,
                  "--judge-concurrency", "0")  # fmt: skip
    assert result.exit_code == 2
    assert server.requests == []


# -- plugins that hang ---------------------------------------------------------------------------


def stalls_on_iban(case: dict[str, Any], output: Any) -> dict[str, Any]:
    """A plugin that never returns for the IBAN case."""
    if "IBAN" in case["input"]:
        RELEASE.wait(30)
    return {"passed": True}


@pytest.fixture
def stalling_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    module = types.ModuleType("fake_stalling_plugins")
    module.__dict__["stalls_on_iban"] = stalls_on_iban  # a plugin module built in the test
    monkeypatch.setitem(sys.modules, "fake_stalling_plugins", module)
    entries = [metadata.EntryPoint("stalls", "fake_stalling_plugins:stalls_on_iban", GROUP)]

    def fake_entry_points(**params: Any) -> metadata.EntryPoints:
        return metadata.EntryPoints(entries).select(**params)

    monkeypatch.setattr(metadata, "entry_points", fake_entry_points)
    RELEASE.clear()
    yield
    RELEASE.set()


def test_a_plugin_hanging_on_one_item_errors_that_item_only(
    client: Client, write: Writer, project: Path, stalling_plugin: None
) -> None:
    """Timeout per item: the stuck item is an evaluator error with the reason, the others are
    evaluated, the run finishes (and does not pass)."""
    golden = register_dataset(client, write, "SERVICE-GOLDEN", CASES)
    ref = register_plugin(client, write, "stalls")
    suite = write_suite(project, [golden], evaluators=[ref])
    write_outputs(project, "good.jsonl", GOOD)
    start = time.monotonic()
    outcome = client.evals.run(suite, target=str(project / "good.jsonl"), label="a:1", timeout_s=1)
    assert time.monotonic() - start < 10
    body = outcome.record.body
    verdicts = {i["id"]: i["evaluators"][ref] for i in body["datasets"][0]["item_results"]}
    assert verdicts["c2"]["status"] == "error"
    assert verdicts["c2"]["passed"] is False
    assert "did not return within 1 s" in verdicts["c2"]["detail"]
    assert all(verdicts[c]["passed"] for c in ("c1", "c3", "c4"))
    assert body["evaluator_errors"] == 1
    assert not outcome.record.passed


# -- eval rejudge ------------------------------------------------------------------------------


def test_cli_rejudge_exit_codes(
    project: Path, store: dict[str, Any], server: CountingServer
) -> None:
    """`eval rejudge ID` re-reads the stored verdicts without calling the judge: exit 0 when
    every item has a verdict, 1 when any is an evaluator error (as `eval run`), 2 for an
    unknown record or one without judge verdicts."""
    base = ["--suite", "judged.yaml", "--label", "a:1", "--json"]
    ran = _cli(store, "eval", "run", *base, "--target", "mediocre.jsonl",
               "--judge-endpoint", server.url)  # fmt: skip
    record_id = json.loads(ran.stdout)["record_id"]
    calls = len(server.requests)
    again = _cli(store, "eval", "rejudge", record_id, "--json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    summary = data["evaluators"][store["judge"]]
    assert (summary["items"], summary["passed"], summary["failed"], summary["errored"]) == (
        4,
        1,
        3,
        0,
    )
    assert [j["item_id"] for j in summary["judgements"]] == ["c1", "c2", "c3", "c4"]
    assert data["errored"] == 0
    assert len(server.requests) == calls
    text = _cli(store, "eval", "rejudge", record_id)
    assert text.exit_code == 0
    assert store["judge"] in text.stdout

    failed = _cli(store, "eval", "run", *base, "--target", "good.jsonl", "--timeout", "1",
                  "--judge-endpoint", server.url + "/down")  # fmt: skip
    failed_id = json.loads(failed.stdout)["record_id"]
    errored = _cli(store, "eval", "rejudge", failed_id)
    assert errored.exit_code == 1
    assert "c1" in errored.stdout

    unknown = _cli(store, "eval", "rejudge", "sha256:" + "0" * 64, "--json")
    assert unknown.exit_code == 2
    assert json.loads(unknown.stdout)["reason"] == Reason.COMPONENT_NOT_FOUND.value
    plain = _cli(store, "eval", "run", "--suite", "plain.yaml", "--target", "good.jsonl",
                 "--label", "a:1", "--json")  # fmt: skip
    nothing = _cli(store, "eval", "rejudge", json.loads(plain.stdout)["record_id"], "--json")
    assert nothing.exit_code == 2
    assert json.loads(nothing.stdout)["reason"] == Reason.INVALID_VALUE.value


def test_sdk_rejudge_of_a_record_without_judgements_is_refused(
    client: Client, write: Writer, project: Path
) -> None:
    golden = register_dataset(client, write, "SERVICE-GOLDEN", CASES)
    write_outputs(project, "good.jsonl", GOOD)
    outcome = client.evals.run(
        write_suite(project, [golden]), target=str(project / "good.jsonl"), label="a:1"
    )
    with pytest.raises(AirelError) as err:
        client.evals.rejudge(outcome.record.record_id)
    assert err.value.reason is Reason.INVALID_VALUE
