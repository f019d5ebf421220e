"""The gateway (issue 12; SPEC T1, T2) against real upstream processes on local ports.

* The route comes from the records: V1 adopted with its endpoint, V2 promoted with its own,
  the reconciler's observed traffic applied — no second configuration file.
* Every answer carries the request id and the release id, and is given only once its trace
  (with the §7.3 lineage of the release that answered) is committed.
* Canary: sticky by customer, excluded segments on the stable release.
* Shadow: the answer is the stable release's, byte for byte; the shadow copy is marked
  dry-run and its proposed writes are traced as dry-runs, never carried out.
* Failures: a failed candidate is answered for by the stable release (traced as a fallback)
  or with a clear 502/504 by policy, never a hang; malformed, oversized, unknown route,
  feedback for an unknown request — each refused with its reason code.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from airel.adapters.router import EmbeddedRouter
from airel.adapters.telemetry.gateway import GatewayTelemetry
from airel.client import Client
from airel.domain.monitoring.trace import Mode, ToolOutcome, TraceQuery
from airel.gateway.app import Gateway, GatewayConfig, create_app
from airel.services.gate import evidence
from airel.services.promotion import promotions, reconciler, rollouts
from gate_fixtures import ROUTE, V1, V2, approve_all, freeze_pair, now, ready_through_g9
from rollout_helpers import PLAN, MovingClock

HERE = Path(__file__).resolve().parent.parent
SECRET = b"test-secret-0123456789"


@dataclasses.dataclass
class Upstream:
    name: str
    url: str
    log: Path
    proc: subprocess.Popen[str]

    def received(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def start_upstream(name: str, tmp: Path) -> Upstream:
    log = tmp / f"{name}.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "gateway_upstream.py"), name, str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return Upstream(name, f"http://127.0.0.1:{port}", log, proc)


@pytest.fixture
def upstreams(tmp_path: Path) -> Iterator[dict[str, Upstream]]:
    ups = {r: start_upstream(r, tmp_path) for r in (V1, V2)}
    yield ups
    for u in ups.values():
        u.proc.kill()
        u.proc.wait()
        assert u.proc.stdout is not None
        u.proc.stdout.close()


def deployment(write: Callable[..., Path], name: str, endpoint: str) -> Path:
    return write(
        name,
        f"""\
tools: {{case-lookup: read, case-note: draft}}
monitoring:
  dashboard: grafana/fraud
  auto_rollback: [any critical failure]
change_approval: CHG-1182
endpoint: {endpoint}
""",
    )


@dataclasses.dataclass
class Routed:
    client: Client
    ctx: Any
    clock: MovingClock
    ups: dict[str, Upstream]

    def reconcile(self) -> None:
        reconciler.reconcile(self.ctx, EmbeddedRouter(), analyse=False)


@pytest.fixture
def routed(
    fraud_registry: Client,
    bundle_yaml: Callable[..., str],
    write: Callable[..., Path],
    upstreams: dict[str, Upstream],
) -> Routed:
    """V1 adopted at its endpoint, V2 gated go and promoted into the plan's shadow step."""
    client = fraud_registry
    freeze_pair(client, bundle_yaml, write)
    ready_through_g9(client)
    when = now()
    approve_all(client, when=when)
    assert client.gates.check(V2, now=when + timedelta(minutes=1)).record.decision == "go"
    v1 = deployment(write, "deploy-v1.yaml", upstreams[V1].url + "/score")
    client.rollouts.adopt(ROUTE, V1, change_approval="CHG-0001", deployment=v1)
    clock = MovingClock(when + timedelta(hours=1))
    ctx = dataclasses.replace(client.ctx, clock=clock)
    plan = write("plan.yaml", PLAN.format(use_case=client.bundles.get(V2).use_case_id))
    v2 = deployment(write, "deploy-v2.yaml", upstreams[V2].url + "/score")
    promotions.promote(ctx, V2, target="shadow", plan=plan, deployment=v2)
    r = Routed(client, ctx, clock, upstreams)
    r.reconcile()
    return r


def to_canary(r: Routed) -> None:
    r.clock.tick(seconds=1)
    shadow_ok = {"shadow_side_effects": 0, "shadow_requests": 500}
    evidence.add_attestation(r.ctx, V2, "shadow", shadow_ok)
    assert rollouts.advance(r.ctx, ROUTE).verdict == "advance"
    r.reconcile()


def run(
    r: Routed,
    calls: Callable[[httpx.AsyncClient, Gateway], Any],
    telemetry: GatewayTelemetry | None = None,
    **config: Any,
) -> Any:
    """Run ``calls`` against the gateway app in-process (upstreams are real processes)."""

    async def main() -> Any:
        gw = r.client.monitoring.gateway(
            GatewayConfig(key_secret=SECRET, **config), clock=r.clock.now, telemetry=telemetry
        )
        await gw.refresh()
        transport = httpx.ASGITransport(app=create_app(gw))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                result = await calls(http, gw)
                if gw.state.shadow_tasks:
                    await asyncio.wait(set(gw.state.shadow_tasks), timeout=10)
                return result
        finally:
            await gw.http.aclose()
            gw.sink.close()

    return asyncio.run(main())


def post(http: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> Any:
    return http.post(f"/v1/routes/{ROUTE}", json=body, headers=headers)


async def many(
    http: httpx.AsyncClient,
    n: int,
    request: Callable[[int], tuple[dict[str, Any], dict[str, str]]],
    width: int = 50,
) -> list[httpx.Response]:
    """``n`` requests, ``width`` at a time (so traces commit in groups), in order."""
    out: list[httpx.Response] = []
    for start in range(0, n, width):
        batch = [request(i) for i in range(start, min(n, start + width))]
        out += await asyncio.gather(*(post(http, body, **hdrs) for body, hdrs in batch))
    return out


def test_canary_answers_are_sticky_traced_and_respect_segments(routed: Routed) -> None:
    """T2: 5 % canary by customer, sticky; vulnerable customers stay on V1; T1: one trace per
    answer with the release's lineage, committed before the answer."""
    to_canary(routed)

    async def calls(http: httpx.AsyncClient, gw: Gateway) -> Any:
        first = await many(http, 300, lambda i: ({"customer_id": f"c{i}", "amount": 12.5}, {}))
        again = await many(http, 300, lambda i: ({"customer_id": f"c{i}", "amount": 1.0}, {}))
        held = await many(
            http, 100, lambda i: ({"customer_id": f"c{i}"}, {"x-airel-segments": "vulnerable"})
        )
        return first, again, held

    first, again, held = run(routed, calls)
    assert all(r.status_code == 200 for r in first + again + held)
    releases = [r.headers["x-airel-release"] for r in first]
    assert [r.headers["x-airel-release"] for r in again] == releases  # sticky
    share = Counter(releases)[V2] / len(releases)
    assert 0.01 < share < 0.12, share  # 5 % of 300 customers
    assert {r.headers["x-airel-release"] for r in held} == {V1}
    for resp in first:
        assert json.loads(resp.content)["release"] == resp.headers["x-airel-release"]
    traced = routed.client.monitoring.query(TraceQuery(route=f"{ROUTE}@production", limit=5000))
    assert len(traced) == 700  # every answer, exactly once, before it was given
    by_id = {t.request_id: t for t in traced}
    for resp in first:
        t = by_id[resp.headers["x-airel-request-id"]]
        assert t.release_id == resp.headers["x-airel-release"]
        assert t.mode is Mode.LIVE
        assert t.status == 200
        assert (t.model_version and t.eval_gate_id is not None) or t.release_id == V1
        assert t.manifest_digest
        assert t.key_digest
        assert t.key_digest.startswith("hmac-sha256:")
        assert t.cost == pytest.approx(0.002)
        assert t.policy_decisions == ["auto-approve"]
    v2 = next(t for t in traced if t.release_id == V2)
    assert v2.model_version == "fraud-score:2.0.0"
    assert v2.eval_gate_id is not None  # the decision that admitted it
    assert all("c1" not in (t.input_text or "") for t in traced)  # the key only as a digest


def test_shadow_has_no_effect_on_answers_and_no_side_effects(routed: Routed) -> None:
    """T2: in shadow the caller gets V1's answer; V2 gets a copy marked dry-run, its proposed
    write is a DRY_RUN in the ledger, and nothing of it reaches the response."""

    async def calls(http: httpx.AsyncClient, gw: Gateway) -> Any:
        return await many(http, 50, lambda i: ({"customer_id": f"s{i}", "propose": "write"}, {}))

    answers = run(routed, calls)
    assert {a.headers["x-airel-release"] for a in answers} == {V1}
    assert all(json.loads(a.content)["release"] == V1 for a in answers)
    assert all(V2 not in a.text for a in answers)
    copies = routed.ups[V2].received()
    assert len(copies) == 50
    assert {(c["headers"]["x-airel-mode"], c["headers"]["x-airel-tools"]) for c in copies} == {
        ("shadow", "dry-run")
    }
    assert {c["headers"]["x-airel-mode"] for c in routed.ups[V1].received()} == {"live"}
    shadow = routed.client.monitoring.query(TraceQuery(mode="shadow", limit=1000))
    assert len(shadow) == 50
    assert {t.release_id for t in shadow} == {V2}
    for t in shadow:
        outcomes = {c.tool: c.outcome for c in t.tool_calls}
        assert outcomes == {"case-lookup": ToolOutcome.EXECUTED, "case-note": ToolOutcome.DRY_RUN}
    live = routed.client.monitoring.query(TraceQuery(mode="live", limit=1000))
    assert {t.request_id for t in live} == {t.request_id for t in shadow}
    # a draft tool's write is a dry-run live too: the manifest says draft
    assert all(c.outcome is not ToolOutcome.EXECUTED for t in live for c in t.tool_calls
               if c.tool == "case-note")  # fmt: skip


def test_a_failed_candidate_falls_back_or_errors_by_policy(routed: Routed) -> None:
    """T2: a candidate answering 5xx is answered for by V1 (traced twice: the failure and the
    fallback); with fallback off the caller gets a clear 502; a hanging one a 504 in time."""
    to_canary(routed)

    def calls(
        fault: str, who: list[int] | None = None
    ) -> Callable[[httpx.AsyncClient, Gateway], Any]:
        ids = who if who is not None else list(range(200))

        async def go(http: httpx.AsyncClient, gw: Gateway) -> Any:
            return await many(
                http, len(ids), lambda i: ({"customer_id": f"f{ids[i]}", fault: V2}, {})
            )

        return go

    fell = run(routed, calls("fail"))
    hit = [r for r in fell if "x-airel-fallback" in r.headers]
    assert hit, "some customers land on the candidate"
    assert [r.text for r in fell if r.status_code != 200] == []
    assert {(r.headers["x-airel-fallback"], r.headers["x-airel-release"]) for r in hit} == {
        (V2, V1)
    }
    rid = hit[0].headers["x-airel-request-id"]
    pair = {t.release_id: t for t in routed.client.monitoring.request(rid)}
    assert (pair[V2].error, pair[V2].status, pair[V2].fallback) == ("UPSTREAM_5XX", 500, False)
    assert (pair[V1].status, pair[V1].fallback) == (200, True)

    errored = run(routed, calls("fail"), fallback=False)
    bad = [r for r in errored if r.status_code != 200]
    assert len(bad) == len(hit)  # the same customers: sticky
    assert {(r.status_code, r.json()["reason"]) for r in bad} == {(502, "UPSTREAM_UNAVAILABLE")}
    assert {r.headers["x-airel-release"] for r in bad} == {V2}

    # the candidate's customers and as many of the baseline's, few at a time: on a loaded CI
    # machine 50 concurrent baseline calls can take longer than a tight timeout themselves
    on_v2 = [i for i, r in enumerate(fell) if "x-airel-fallback" in r.headers]
    on_v1 = [i for i, r in enumerate(fell) if "x-airel-fallback" not in r.headers][: len(on_v2)]
    hung = run(routed, calls("hang", on_v2 + on_v1), fallback=False, timeout_s=1.0)
    slow = [r for r in hung if r.status_code != 200]
    assert {(r.status_code, r.json()["reason"]) for r in slow} == {(504, "UPSTREAM_UNAVAILABLE")}
    assert {r.headers["x-airel-release"] for r in slow} == {V2}
    assert len(slow) == len(hit)
    timeouts = routed.client.monitoring.query(TraceQuery(release_id=V2, limit=5000))
    waited = [t.latency_ms for t in timeouts if t.error == "TIMEOUT"]
    assert len(waited) == len(hit)
    assert max(waited) < 4000  # the 1 s timeout, never the upstream's sleep


def test_bad_requests_are_refused_with_their_reason(routed: Routed) -> None:
    """T2: unknown route 404, malformed 400, oversized 413, bad lane 400, feedback for an
    unknown request 404 TRACE_NOT_FOUND; nothing traced for any of them."""

    async def calls(http: httpx.AsyncClient, gw: Gateway) -> Any:
        return [
            await http.post("/v1/routes/no-such-route", json={}),
            await http.post(f"/v1/routes/{ROUTE}", content=b'{"a": 1, "a": 2}'),
            await http.post(f"/v1/routes/{ROUTE}", content=b"[1, 2]"),
            await http.post(f"/v1/routes/{ROUTE}", content=b"{" * 40 + b"}" * 40),
            await http.post(f"/v1/routes/{ROUTE}", content=b'{"x": "' + b"a" * 5000 + b'"}'),
            await http.post(f"/v1/routes/{ROUTE}", json={}, headers={"x-airel-lane": "moon"}),
            await http.post("/v1/feedback/req-00000000", json={"kind": "complaint"}),
        ]

    got = run(routed, calls, max_body_bytes=4096)
    assert [r.status_code for r in got] == [404, 400, 400, 400, 413, 400, 404]
    assert [r.json()["reason"] for r in got] == [
        "ROUTE_NOT_FOUND", "REQUEST_INVALID", "REQUEST_INVALID", "REQUEST_INVALID",
        "REQUEST_INVALID", "REQUEST_INVALID", "TRACE_NOT_FOUND",
    ]  # fmt: skip
    assert all(r.json()["fix"] for r in got)
    assert routed.client.monitoring.query(TraceQuery(limit=10)) == []


def test_feedback_health_and_readiness(routed: Routed) -> None:
    """T1: a complaint against a traced request is recorded; /healthz and /readyz answer."""

    async def calls(http: httpx.AsyncClient, gw: Gateway) -> Any:
        answer = await post(http, {"customer_id": "c1"})
        rid = answer.headers["x-airel-request-id"]
        made = await http.post(f"/v1/feedback/{rid}", json={"kind": "complaint", "note": "x"})
        bad = await http.post(f"/v1/feedback/{rid}", json={"kind": "override"})
        metrics = await http.get("/metrics")
        return rid, made, bad, await http.get("/healthz"), await http.get("/readyz"), metrics

    rid, made, bad, health, ready, metrics = run(routed, calls, GatewayTelemetry())
    assert made.status_code == 201
    assert made.json()["request_id"] == rid
    assert (bad.status_code, bad.json()["reason"]) == (400, "FEEDBACK_INVALID")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    served = [
        x for x in families["airel_gateway_requests"].samples
        if x.name.endswith("_total") and x.value and x.labels["route"] == ROUTE
    ]  # fmt: skip
    assert [(x.labels["release"], x.labels["outcome"], x.value) for x in served] == [
        (V1, "ok", 1.0)
    ]
    weights = {x.labels["release"]: x.value for x in families["airel_route_weight"].samples}
    assert weights == {V1: 100.0}  # the shadow step: V2 gets copies, no live share


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cli_gateway(routed: Routed, project: Path) -> tuple[subprocess.Popen[str], str]:
    """`airel serve gateway` on a free port over the test's store."""
    port = free_port()
    env = {**os.environ, "AIREL_DATABASE_URL": routed.client.settings.database_url}
    gw = subprocess.Popen(
        [sys.executable, "-m", "airel.cli", "serve", "gateway", "--port", str(port)],
        cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return gw, f"http://127.0.0.1:{port}"


# A client timeout well above the gateway's own upstream timeout (5 s) plus a commit: on a
# loaded CI machine a burst of 50 live + 50 shadow calls can take seconds, and these tests are
# about what survives a signal, not about latency (bench/bench_gateway.py measures that).
CLIENT_TIMEOUT_S = 60


async def wait_ready(http: httpx.AsyncClient, gw: subprocess.Popen[str]) -> None:
    for _ in range(150):  # up to 15 s for the gateway to be ready
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get("/readyz")).status_code == 200:
                return
        assert gw.poll() is None, "the gateway exited"
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not become ready")


def stop(gw: subprocess.Popen[str]) -> None:
    gw.kill()
    gw.wait()
    assert gw.stderr is not None
    gw.stderr.close()


def test_sigkill_loses_no_acknowledged_trace(routed: Routed, project: Path) -> None:
    """T1: `airel serve gateway` answers only once a trace is committed, so after a SIGKILL in
    the middle of traffic every answered request's trace is in the store, and the batches
    still verify."""
    to_canary(routed)
    gw, base = start_cli_gateway(routed, project)
    answered: list[str] = []

    async def traffic() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT_S) as http:
            await wait_ready(http, gw)

            async def one(i: int) -> None:
                with contextlib.suppress(httpx.HTTPError):
                    r = await post(http, {"customer_id": f"k{i}"})
                    if r.status_code == 200:
                        answered.append(r.headers["x-airel-request-id"])

            i = 0
            while len(answered) < 300 and i < 2000:
                await asyncio.gather(*(one(i + j) for j in range(20)))
                i += 20
            killer = asyncio.get_running_loop().run_in_executor(None, gw.kill)
            await asyncio.gather(*(one(i + j) for j in range(40)), killer)

    try:
        asyncio.run(traffic())
    finally:
        stop(gw)
    assert gw.returncode == -signal.SIGKILL
    assert len(answered) >= 300
    stored = {t.request_id for t in routed.client.monitoring.query(TraceQuery(limit=100_000))}
    assert set(answered) <= stored
    _batches, traces, problems = routed.client.monitoring.verify()
    assert problems == []
    assert traces >= len(answered)


def test_sigterm_drains_shadow_copies_and_flushes(routed: Routed, project: Path) -> None:
    """T2: on SIGTERM the gateway stops, waits for the shadow copies in flight and flushes
    their traces: every answered request has its live and its shadow trace (uvicorn shuts
    down gracefully, then re-raises the signal: the exit status is SIGTERM's)."""
    gw, base = start_cli_gateway(routed, project)

    async def traffic() -> list[str]:
        async with httpx.AsyncClient(base_url=base, timeout=CLIENT_TIMEOUT_S) as http:
            await wait_ready(http, gw)
            answers = await many(http, 100, lambda i: ({"customer_id": f"t{i}"}, {}))
            return [a.headers["x-airel-request-id"] for a in answers]

    try:
        answered = asyncio.run(traffic())
        gw.send_signal(signal.SIGTERM)
        gw.wait(30)
    finally:
        stop(gw)
    assert gw.returncode == -signal.SIGTERM
    traced = routed.client.monitoring.query(TraceQuery(limit=10_000))
    assert {t.request_id for t in traced if t.mode is Mode.LIVE} == set(answered)
    assert {t.request_id for t in traced if t.mode is Mode.SHADOW} == set(answered)
