"""Judge and plugin evaluators inside `eval run` (E1, E2, E4) against a local fake judge.

The judge's model, prompt template and rubric are a versioned evaluator; its endpoint is
deployment configuration. A judge or plugin failure is an evaluator error for that item, never
a pass; a judge without an endpoint or a plugin that is not installed is refused before any
call is made or anything is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airel.client import Client
from airel.config import load_settings
from airel.errors import AirelError, NotFoundError, Reason, ValidationError
from fake_server import FakeServer
from llm_suite_helpers import (
    CASES,
    GOOD,
    MEDIOCRE,
    Writer,
    install_plugins,
    register_dataset,
    register_judge,
    register_plugin,
    write_outputs,
    write_suite,
)

RAISES = """
def answer(item):
    if item["id"] == "c2":
        raise RuntimeError("model crashed")
    return {"text": "GOOD: see online banking", "handoff": True}
"""


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture
def golden(client: Client, write: Writer, project: Path) -> str:
    write_outputs(project, "good.jsonl", GOOD)
    write_outputs(project, "mediocre.jsonl", MEDIOCRE)
    return register_dataset(client, write, "SERVICE-GOLDEN", CASES)


def _judge_requests(server: FakeServer) -> list[Any]:
    return [p for path, p in server.requests if path.endswith("/chat/completions")]


def test_judge_and_plugin_run_and_record_versions(
    client: Client,
    write: Writer,
    project: Path,
    golden: str,
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """E1/E2: each evaluator's name:version and digest are recorded; verdicts per item."""
    install_plugins(monkeypatch)
    judge_ref = register_judge(client, write)
    plugin_ref = register_plugin(client, write, "mentions_branch", "{min_pass_rate: 1.0}")
    suite = write_suite(project, [golden], evaluators=[judge_ref, plugin_ref])
    outcome = client.evals.run(
        suite, target=str(project / "good.jsonl"), label="assistant:1", judge_endpoint=server.url
    )
    body = outcome.record.body
    assert outcome.record.passed
    recorded = {e["ref"]: e for e in body["evaluators"]}
    for ref in (judge_ref, plugin_ref):
        assert recorded[ref]["digest"] == client.registry.component("evaluator", ref).digest
        assert recorded[ref]["executed"] is True
    assert recorded[judge_ref]["judge_model_name"] == "judge-model-2026-01"
    dataset = body["datasets"][0]
    assert dataset["evaluators"][judge_ref] == {
        "passed": 4,
        "failed": 0,
        "errored": 0,
        "no_output": 0,
    }
    assert dataset["checks"][plugin_ref]["pass_rate"] == 1.0
    assert [t["outcome"] for t in dataset["thresholds"]] == ["pass", "pass"]
    first = dataset["item_results"][0]["evaluators"][judge_ref]
    assert first["judgement"]["raw_request"]["model"] == "judge-model-2026-01"
    assert "hand off to a colleague" in first["judgement"]["raw_request"]["messages"][1]["content"]
    assert first["judgement"]["raw_response"]["choices"]
    assert len(_judge_requests(server)) == 4


def test_hard_threshold_missed_fails_the_run_soft_does_not(
    client: Client, write: Writer, project: Path, golden: str, server: FakeServer
) -> None:
    """E2: a hard min_pass_rate missed → not passed; the same as soft → passed, reported."""
    hard = register_judge(client, write, version="1", thresholds="{min_pass_rate: 0.9}")
    soft = register_judge(
        client, write, version="2", thresholds="{min_pass_rate: 0.9, hard: false}"
    )
    target = str(project / "mediocre.jsonl")
    for ref, passes in ((hard, False), (soft, True)):
        suite = write_suite(project, [golden], evaluators=[ref], name=f"s{ref[-1]}.yaml")
        outcome = client.evals.run(suite, target=target, label="a:2", judge_endpoint=server.url)
        verdict = outcome.record.body["datasets"][0]["thresholds"][0]
        assert (verdict["outcome"], verdict["observed"]) == ("fail", 0.25)
        assert outcome.record.passed is passes
        assert len(outcome.record.body["blocking_thresholds"]) == (0 if passes else 1)


def test_judge_without_endpoint_is_refused_before_anything(
    client: Client, write: Writer, project: Path, golden: str
) -> None:
    """A judge evaluator and no endpoint: MISSING_FIELD naming the fix; nothing stored."""
    suite = write_suite(project, [golden], evaluators=[register_judge(client, write)])
    with pytest.raises(ValidationError) as info:
        client.evals.run(suite, target=str(project / "good.jsonl"), label="a:1")
    assert info.value.reason is Reason.MISSING_FIELD
    assert info.value.fix
    assert "AIREL_JUDGE_ENDPOINT" in info.value.fix
    assert client.evals.records() == []
    with pytest.raises(ValidationError) as bad:
        client.evals.run(
            suite, target=str(project / "good.jsonl"), label="a:1", judge_endpoint="ftp://x"
        )
    assert bad.value.reason is Reason.INVALID_VALUE


def test_judge_endpoint_from_settings(
    database_url: str, project: Path, write: Writer, server: FakeServer
) -> None:
    """AIREL_JUDGE_ENDPOINT serves judges when no endpoint is passed."""
    settings = load_settings(
        {"database_url": database_url, "actor": "alice"},
        cwd=project,
        environ={"AIREL_JUDGE_ENDPOINT": server.url},
    )
    assert settings.judge_endpoint == server.url
    assert settings.as_dict()["judge_endpoint"]["source"] == "env AIREL_JUDGE_ENDPOINT"
    with Client(settings) as client:
        client.init()
        write_outputs(project, "good.jsonl", GOOD)
        golden = register_dataset(client, write, "SERVICE-GOLDEN", CASES)
        suite = write_suite(project, [golden], evaluators=[register_judge(client, write)])
        outcome = client.evals.run(suite, target=str(project / "good.jsonl"), label="a:1")
    assert outcome.record.passed
    assert len(_judge_requests(server)) == 4


def test_plugin_not_installed_is_refused(
    client: Client, write: Writer, project: Path, golden: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PLUGIN_NOT_FOUND (exit 2) before any target call or stored record."""
    install_plugins(monkeypatch)
    suite = write_suite(project, [golden], evaluators=[register_plugin(client, write, "absent")])
    with pytest.raises(NotFoundError) as info:
        client.evals.run(suite, target=str(project / "good.jsonl"), label="a:1")
    assert info.value.reason is Reason.PLUGIN_NOT_FOUND
    assert client.evals.records() == []


@pytest.mark.parametrize("name", ["raises", "returns_nan"])
def test_plugin_failure_is_an_item_error_never_a_pass(
    client: Client,
    write: Writer,
    project: Path,
    golden: str,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    """A plugin that raises or returns non-JSON: every item errors; the run does not pass."""
    install_plugins(monkeypatch)
    ref = register_plugin(client, write, name)
    suite = write_suite(project, [golden], evaluators=[ref])
    outcome = client.evals.run(suite, target=str(project / "good.jsonl"), label="a:1")
    body = outcome.record.body
    assert not outcome.record.passed
    assert body["evaluator_errors"] == 4
    verdicts = [i["evaluators"][ref] for i in body["datasets"][0]["item_results"]]
    assert all(v["status"] == "error" and v["passed"] is False for v in verdicts)
    assert body["datasets"][0]["checks"][ref]["pass_rate"] == 0.0


@pytest.mark.parametrize("route", ["/500", "/badjson", "/hang"])
def test_judge_endpoint_failures_are_errors_never_passes(
    client: Client, write: Writer, project: Path, golden: str, server: FakeServer, route: str
) -> None:
    """A judge that returns 500, invalid JSON or hangs: each item an evaluator error."""
    ref = register_judge(client, write)
    suite = write_suite(project, [golden], evaluators=[ref])
    outcome = client.evals.run(
        suite,
        target=str(project / "good.jsonl"),
        label="a:1",
        judge_endpoint=server.url + route,
        timeout_s=0.5,
    )
    body = outcome.record.body
    assert not outcome.record.passed
    assert body["evaluator_errors"] == 4
    for item in body["datasets"][0]["item_results"]:
        verdict = item["evaluators"][ref]
        assert (verdict["status"], verdict["passed"]) == ("error", False)
        assert verdict["judgement"]["verdict"] == "error"
        assert verdict["judgement"]["raw_response"] is None


def test_unparseable_verdict_is_an_error(
    client: Client, write: Writer, project: Path, golden: str, server: FakeServer
) -> None:
    """Prose instead of the JSON verdict: an evaluator error for that item, not a pass."""
    outputs = dict(GOOD, c3={"text": "GARBLE"})
    target = write_outputs(project, "garble.jsonl", outputs)
    ref = register_judge(client, write)
    suite = write_suite(project, [golden], evaluators=[ref])
    outcome = client.evals.run(suite, target=str(target), label="a:1", judge_endpoint=server.url)
    items = {
        i["id"]: i["evaluators"][ref] for i in outcome.record.body["datasets"][0]["item_results"]
    }
    assert (items["c3"]["status"], items["c3"]["passed"]) == ("error", False)
    assert items["c1"]["status"] == "ok"
    assert not outcome.record.passed


def test_target_errors_are_not_judged(
    client: Client,
    write: Writer,
    project: Path,
    golden: str,
    server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A callable that raises on one item: that item is an error, not sent to the judge."""
    (project / "agent_raises.py").write_text(RAISES)
    monkeypatch.chdir(project)
    ref = register_judge(client, write)
    suite = write_suite(project, [golden], evaluators=[ref])
    outcome = client.evals.run(
        suite, target="py:agent_raises:answer", label="a:1", judge_endpoint=server.url
    )
    body = outcome.record.body
    assert not outcome.record.passed
    assert body["errored_items"] == 1
    items = {i["id"]: i for i in body["datasets"][0]["item_results"]}
    assert items["c2"]["status"] == "error"
    assert items["c2"]["evaluators"][ref] == {
        "passed": False,
        "status": "no_output",
        "detail": items["c2"]["evaluators"][ref]["detail"],
    }
    assert len(_judge_requests(server)) == 3


def test_stored_run_can_be_rejudged_without_the_endpoint(
    client: Client, write: Writer, project: Path, golden: str, server: FakeServer
) -> None:
    """E4: the raw judgements stored with the run re-parse to the same verdicts offline."""
    ref = register_judge(client, write)
    suite = write_suite(project, [golden], evaluators=[ref])
    outcome = client.evals.run(
        suite, target=str(project / "mediocre.jsonl"), label="a:1", judge_endpoint=server.url
    )
    before = len(server.requests)
    again = client.evals.rejudge(outcome.record.record_id)
    assert list(again) == [ref]
    stored = [
        i["evaluators"][ref]["judgement"]
        for i in outcome.record.body["datasets"][0]["item_results"]
    ]
    assert [j.verdict for j in again[ref]] == [s["verdict"] for s in stored]
    assert [j.verdict for j in again[ref]] == ["pass", "fail", "fail", "fail"]
    assert len(server.requests) == before


def test_rule_evaluator_threshold_reads_the_rule(
    client: Client, write: Writer, project: Path, golden: str
) -> None:
    """A rule evaluator names a deterministic rule; its threshold is judged on that rule."""
    client.registry.register(
        write(
            "rule.yaml",
            """
            kind: evaluator
            name: RULE-REQUIRED
            version: "1"
            evaluator_type: rule
            entry_point: required_phrases
            thresholds: {min_pass_rate: 1.0}
            """,
        )
    )
    outputs = dict(GOOD, c4={"text": "Call us."})
    target = write_outputs(project, "miss.jsonl", outputs)
    suite = write_suite(project, [golden], evaluators=["RULE-REQUIRED:1"])
    outcome = client.evals.run(suite, target=str(target), label="a:1")
    verdict = outcome.record.body["datasets"][0]["thresholds"][0]
    assert (verdict["evaluator"], verdict["outcome"], verdict["observed"]) == (
        "RULE-REQUIRED:1",
        "fail",
        0.5,
    )
    assert not outcome.record.passed


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("evaluator_type: judge\njudge_model_name: m", Reason.MISSING_FIELD),
        ("evaluator_type: judge\nprompt_template: t", Reason.MISSING_FIELD),
        ("evaluator_type: plugin", Reason.MISSING_FIELD),
        ("evaluator_type: plugin\nentry_point: p\nthresholds: {min_pass: 1}", Reason.UNKNOWN_FIELD),
        (
            "evaluator_type: judge\njudge_model_name: m\nprompt_template: t\n"
            "thresholds: {min_pass_rate: 1.5}",
            Reason.INVALID_VALUE,
        ),
        ("evaluator_type: plugin\nentry_point: p\nthresholds: {hard: 1}", Reason.WRONG_TYPE),
    ],
)
def test_evaluator_spec_is_validated(
    client: Client, write: Writer, spec: str, reason: Reason
) -> None:
    """A judge needs a model name and template, a plugin an entry point; thresholds checked."""
    path = write("ev.yaml", 'kind: evaluator\nname: EV\nversion: "1"\n' + spec + "\n")
    with pytest.raises(AirelError) as info:
        client.registry.register(path)
    assert info.value.reason is reason
