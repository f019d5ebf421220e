"""The demo's canary with live traffic (issue 12): real scoring requests through ``airel serve
gateway``, a planted production problem, the automatic rollback and the impacted population.

:class:`Services` runs the demo's serving processes, each a subprocess on a local port in the
demo's work directory (the same store), logging to ``logs/``:

* one model upstream per release (``serve_model.py``): FRAUD-SCORING-2026-001 serves
  ``models/baseline``, FRAUD-SCORING-2026-002 ``models/candidate``. They start as soon as the
  models are trained (they load while the release is registered and gated): the deployment
  files the rollout stores carry their ``endpoint:``;
* the gateway (``airel serve gateway``), started with the rollout. It serves what the
  reconciler applied, reloading the routes from the records every half second, and shows the
  split it serves on its ``/metrics``.

:class:`Services` is a context manager: every process it started is stopped when the demo
leaves it, however it leaves (SIGTERM — the gateway flushes its traces —, then SIGKILL for a
process that does not stop in time).

:func:`canary_with_traffic` is the canary step:

1. ``airel reconcile`` applies canary-1 (2 %); the gateway serves it;
2. 1,200 authorisations of the serving sample (the transactions after the validation window)
   go through the gateway, 12 at a time, each with its customer id (the plan's sticky key) and
   its segment tags: the customer's vulnerable flag from the data (a routing tag, never a model
   input), hardship and complaint tags from the issuer's CRM (synthetic: a stable 2 % and 1 %
   of customers) and transaction tags (card-not-present, cross-border, new-card). The response
   headers show the split, that each returning customer stays on one release, and that the
   excluded segments stay on production;
3. ``airel canary analyse`` on those traces: no critical failure, too few canary requests for a
   verdict — inconclusive, so the route holds (an inconclusive canary never advances);
4. the planted problem: the candidate's upstream restarts on its endpoint with a defect in
   release 2.0's new reason-code path (``--plant-critical-rate 0.5``: half of its
   authorisations are declined whatever their score; its own policy check reports each decline
   below the policy's threshold as a critical failure). It restarts between two bursts of
   traffic (while the analysis above runs), so the restart costs no request;
5. 600 more authorisations, then ``airel canary analyse`` again: FAIL, and the plan's stop
   condition (``canary_critical_failures > 0``) rolls the route back at once;
6. ``airel reconcile`` applies the rollback; 200 more authorisations are all answered by
   production;
7. ``airel traces query --release FRAUD-SCORING-2026-002`` gives the impacted population
   (requests, customers by keyed digest, segments) — exactly the requests the gateway answered
   from the candidate; the gateway stops (SIGTERM) and ``airel traces verify`` checks every
   trace batch against its root and the audit chain.

Twelve requests in flight keep the gateway busy: on two cores more only wait in its queue (and
its connection pool's work grows with the connections), so they lower throughput.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import pyarrow.parquet as pq
from demo_cli import HERE, Demo

PRODUCTION = "FRAUD-SCORING-2026-001"
CANDIDATE = "FRAUD-SCORING-2026-002"
ROUTE = "fraud-score-prod"
MODELS = {PRODUCTION: "models/baseline", CANDIDATE: "models/candidate"}
EXCLUDED = ("vulnerable-customers", "hardship", "complaint")  # the plan's canary exclusions
CONCURRENCY = 12  # requests in flight at once (more only queue in the gateway: see README)
CLEAN, PLANTED, AFTER = 1_200, 600, 200  # authorisations per burst
PLANT_RATE = 0.5
MIN_SAMPLES = 50  # per arm for a PASS (a critical failure fails the canary at any size)
REFRESH_S = 0.5  # how often the gateway reloads the routes from the records
# the gateway's Prometheus gauge of the split it serves, one series per release
WEIGHT = re.compile(r"^airel_route_weight\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE)
LABEL = re.compile(r'(\w+)="([^"]*)"')
STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # the store's time format (trace windows compare as text)
PR_SET_PDEATHSIG = 1  # prctl(2)
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def _die_with_parent() -> None:
    """In the child, before it runs: SIGTERM when the demo dies, even by SIGKILL (Linux), so
    no server outlives it."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stamp() -> str:
    return datetime.now(UTC).strftime(STAMP)


@dataclass
class Process:
    """One serving subprocess: its name, port (0: not known yet), process and log."""

    name: str
    port: int
    proc: subprocess.Popen[str]
    log: IO[str]


class Services:
    """The model upstreams and the gateway of the demo (module docstring); a context manager
    that stops every process it started.

    Starting returns at once (a model takes seconds to load, the gateway to import): the
    processes come up while the demo runs its other steps, and :meth:`endpoint` and
    :meth:`gateway_url` wait for them when their address is first needed."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.models: dict[str, Process] = {}
        self.gateway: Process | None = None
        self.ports: dict[str, int] = {}  # release → its upstream's port (kept on a restart)
        self.logs = demo.work / "logs"
        # one OpenMP thread per model process: two cores are shared by five processes
        self.env = {**demo.env, "OMP_NUM_THREADS": "1"}

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _spawn(self, name: str, port: int, cmd: list[str]) -> Process:
        self.logs.mkdir(exist_ok=True)
        log = (self.logs / f"{name}.log").open("a", encoding="utf-8")
        try:
            # no other thread runs while a server is spawned (the traffic threads are joined)
            proc = subprocess.Popen(
                cmd, cwd=self.demo.work, env=self.env, stdout=subprocess.PIPE, stderr=log,
                stdin=subprocess.DEVNULL, text=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )  # fmt: skip
        except BaseException:
            log.close()
            raise
        return Process(name, port, proc, log)

    def _failed(self, name: str, what: str) -> SystemExit:
        text = (self.logs / f"{name}.log").read_text(encoding="utf-8")[-3000:]
        return SystemExit(f"{name} {what}; logs/{name}.log:\n{text}")

    def start_models(self, plant: dict[str, float] | None = None) -> None:
        """Start the model upstreams not running (on the port each had before, if any),
        with ``plant`` rates per release."""
        for release, model in MODELS.items():
            if release in self.models:
                continue
            port = self.ports.get(release, 0)
            cmd = [sys.executable, str(HERE / "serve_model.py"), "--release", release,
                   "--model", model, "--port", str(port)]  # fmt: skip
            rate = (plant or {}).get(release)
            if rate:
                cmd += ["--plant-critical-rate", str(rate)]
            self.models[release] = self._spawn(f"model-{release}", 0, cmd)

    def endpoint(self, release: str) -> str:
        """The upstream URL of ``release`` (its deployment file's ``endpoint:``), once it
        listens."""
        p = self.models[release]
        if not p.port:
            assert p.proc.stdout is not None
            line = p.proc.stdout.readline()  # its first line: the port, once loaded
            if not line.strip().isdigit():
                raise self._failed(p.name, "did not start")
            p.port = self.ports[release] = int(line)
        return f"http://127.0.0.1:{p.port}/score"

    def restart_model(self, release: str, plant_rate: float) -> None:
        """Stop ``release``'s upstream and start it again on the same port with a planted
        critical-failure rate (:meth:`endpoint` waits until it listens)."""
        self._stop(self.models.pop(release))
        self.start_models({release: plant_rate})

    def start_gateway(self) -> None:
        """``airel serve gateway`` on a free port (:meth:`gateway_url` waits until ready)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        cmd = [sys.executable, "-m", "airel.cli", "serve", "gateway", "--port", str(port),
               "--refresh", str(REFRESH_S)]  # fmt: skip
        self.gateway = self._spawn("gateway", port, cmd)

    def gateway_url(self) -> str:
        """The gateway's base URL once /readyz says it is ready."""
        assert self.gateway is not None
        proc, base = self.gateway.proc, f"http://127.0.0.1:{self.gateway.port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(base_url=base, timeout=2, trust_env=False) as http:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise self._failed("gateway", f"exited {proc.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get("/readyz").status_code == 200:
                        return base
                time.sleep(0.1)
        raise self._failed("gateway", f"was not ready within {START_TIMEOUT_S:g} s")

    def served_split(self, route: str) -> dict[str, float]:
        """The split the gateway serves on ``route``@production now (its /metrics gauge)."""
        assert self.gateway is not None
        r = httpx.get(f"http://127.0.0.1:{self.gateway.port}/metrics", trust_env=False)
        split = {}
        for found in WEIGHT.finditer(r.text):  # airel_route_weight{route=…,…} 98.0
            labels = dict(LABEL.findall(found["labels"]))
            if (labels.get("route"), labels.get("lane")) == (route, "production"):
                split[labels["release"]] = float(found["value"])
        return split

    def wait_for_split(self, route: str, weights: dict[str, float]) -> dict[str, float]:
        """Wait until the gateway serves ``weights`` on ``route`` (it reloads the routes from
        the records every REFRESH_S); the split it serves."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while (split := self.served_split(route)) != weights and time.monotonic() < deadline:
            time.sleep(REFRESH_S / 5)
        return split

    def stop_gateway(self) -> int | None:
        """SIGTERM the gateway (it stops taking requests and flushes its traces); its exit
        code."""
        gateway, self.gateway = self.gateway, None
        return self._stop(gateway) if gateway else None

    def _stop(self, p: Process) -> int:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
            try:
                p.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()
        if p.proc.stdout is not None:
            p.proc.stdout.close()
        p.log.close()
        return p.proc.returncode

    def close(self) -> None:
        """Stop every process still running: the gateway first, then the models."""
        self.stop_gateway()
        for release in list(self.models):
            self._stop(self.models.pop(release))


# -- traffic ---------------------------------------------------------------------------------


def _tags(row: dict[str, Any]) -> list[str]:
    """The segment tags the caller sends with an authorisation (module docstring, 2)."""
    tags = []
    if row.pop("vulnerable_customer", False):
        tags.append("vulnerable-customers")
    crm = int.from_bytes(hashlib.sha256(f"crm\x00{row['customer_id']}".encode()).digest()[:4])
    if crm % 100 < 2:
        tags.append("hardship")
    elif crm % 100 < 3:
        tags.append("complaint")
    if row["channel"] == "ecommerce":
        tags.append("card-not-present")
    if row["is_cross_border"]:
        tags.append("cross-border")
    if row["card_age_days"] < 30:
        tags.append("new-card")
    return tags


def authorisations(work: Path, n: int) -> list[dict[str, Any]]:
    """The first ``n`` transactions of the serving sample as request bodies (in time order;
    from the start again if the sample is shorter)."""
    rows = pq.read_table(work / "data" / "serving_sample.parquet").slice(0, n).to_pylist()
    bodies = []
    for row in rows:
        row["event_time"] = row["event_time"].isoformat()
        row["segments"] = _tags(row)
        bodies.append(row)
    return [bodies[i % len(bodies)] for i in range(n)]


@dataclass(frozen=True)
class Answer:
    """What the gateway answered to one authorisation."""

    customer: str
    segments: tuple[str, ...]
    status: int
    release: str
    request_id: str
    fallback: str | None
    decision: str | None
    critical: bool
    error: str | None = None  # why it failed (a transport error, or a non-200 answer)


def _answer(http: httpx.Client, body: dict[str, Any]) -> Answer:
    customer, segments = body["customer_id"], tuple(body["segments"])
    try:
        r = http.post(f"/v1/routes/{ROUTE}", json=body)
    except httpx.HTTPError as exc:  # counted as a failed request, not raised
        return Answer(customer, segments, 0, "?", "?", None, None, False,
                      f"{type(exc).__name__}: {exc}")  # fmt: skip
    doc = r.json() if r.status_code == 200 else {}
    return Answer(
        customer=customer, segments=segments, status=r.status_code,
        release=r.headers.get("x-airel-release", "?"),
        request_id=r.headers.get("x-airel-request-id", "?"),
        fallback=r.headers.get("x-airel-fallback"), decision=doc.get("decision"),
        critical=bool((doc.get("airel") or {}).get("critical_failure")),
        error=None if r.status_code == 200 else r.text[:300],
    )  # fmt: skip


def send(base: str, bodies: list[dict[str, Any]]) -> tuple[list[Answer], float]:
    """Every body through the gateway, ``CONCURRENCY`` at a time (one httpx client shared by
    that many threads): the answers in order, and the requests per second."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    started = time.perf_counter()
    with (
        httpx.Client(base_url=base, timeout=30, limits=limits, trust_env=False) as http,
        ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="traffic") as pool,
    ):
        answers = list(pool.map(lambda body: _answer(http, body), bodies))
    return answers, len(answers) / (time.perf_counter() - started)


def _n(count: int, what: str) -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"


def _failed(answers: list[Answer]) -> str:
    """``; 3 failed (first: …)`` when some requests were not answered by their release."""
    bad = [a for a in answers if a.status != 200 or a.fallback]
    if not bad:
        return ""
    first = bad[0].error or f"fallback from {bad[0].fallback}"
    return f"; {_n(len(bad), 'request')} failed (first: {first})"


def _weights(split: dict[str, float]) -> str:
    return ", ".join(f"{r} {w:g} %" for r, w in split.items())


def answered_by(answers: list[Answer]) -> str:
    """``A 1,962, B 38 (1.9 %)`` of who answered."""
    by = Counter(a.release for a in answers)
    share = by[CANDIDATE] / max(1, len(answers))
    return f"{PRODUCTION} {by[PRODUCTION]:,}, {CANDIDATE} {by[CANDIDATE]:,} ({share * 100:.1f} %)"


def sticky(answers: list[Answer]) -> tuple[int, int]:
    """(returning customers, those of them answered by more than one release)."""
    seen: dict[str, set[str]] = defaultdict(set)
    count: Counter[str] = Counter()
    for a in answers:
        seen[a.customer].add(a.release)
        count[a.customer] += 1
    returning = [c for c, k in count.items() if k > 1]
    return len(returning), sum(len(seen[c]) > 1 for c in returning)


# -- the story -------------------------------------------------------------------------------


def _reasons(reasons: list[str], limit: int = 3) -> str:
    more = f", … {len(reasons) - limit} more" if len(reasons) > limit else ""
    return ", ".join(reasons[:limit]) + more


class Canary:
    """The canary step on live traffic (module docstring, 1–7): one method per part, each
    printing its step line; :meth:`run` is True when every step went as the story expects."""

    def __init__(
        self, demo: Demo, services: Services, shares: Callable[[dict[str, Any]], str]
    ) -> None:
        self.demo = demo
        self.services = services
        self.shares = shares  # ``A 98 %, B 2 %`` of a route's desired traffic
        self.verdicts: list[bool] = []
        self.answers: list[Answer] = []  # every answer the gateway gave, in order
        self.base = ""

    def step(
        self, ok: bool, text: str, ident: str | None = None,
        lookup: tuple[str, ...] | None = None, *, show: bool = True,
    ) -> None:  # fmt: skip
        self.verdicts.append(ok)
        self.demo.step(ok, text, ident, lookup, show=show)

    def send(self, bodies: list[dict[str, Any]]) -> tuple[list[Answer], float]:
        answers, rate = send(self.base, bodies)
        self.answers += answers
        return answers, rate

    def analyse(self) -> dict[str, Any]:
        _, run = self.demo.cli("canary", "analyse", ROUTE, "--min-samples", str(MIN_SAMPLES),
                               expect=(0, 1))  # fmt: skip
        return dict(run)

    def run(self) -> bool:
        self.serve()
        bodies = authorisations(self.demo.work, CLEAN + PLANTED + AFTER)
        self.clean(bodies[:CLEAN])
        self.services.restart_model(CANDIDATE, PLANT_RATE)  # the planted defect: it loads
        self.hold()  # meanwhile (no request reaches the candidate until it listens again)
        self.plant(bodies[CLEAN : CLEAN + PLANTED])
        since = self.stop()
        self.after(bodies[CLEAN + PLANTED :])
        self.population(since)
        self.verify()
        return all(self.verdicts)

    def serve(self) -> None:
        """1: the reconciler applies canary-1, the gateway serves it."""
        _, reports = self.demo.cli("reconcile")
        applied = [k for r in reports for k in r["applied"]]
        self.base = self.services.gateway_url()
        canary = {PRODUCTION: 98.0, CANDIDATE: 2.0}
        split = self.services.wait_for_split(ROUTE, canary)
        endpoints = ", ".join(
            f"{r} → {self.services.endpoint(r).removeprefix('http://')} ({MODELS[r]})"
            for r in MODELS
        )
        self.step(
            f"{ROUTE}@production" in applied and split == canary,
            f"airel reconcile applies canary-1 and airel serve gateway on {self.base} serves "
            f"it (its /metrics: {_weights(split)}), each release at its deployment's "
            f"endpoint: {endpoints}",
            lookup=("rollout", "status", ROUTE),
        )

    def clean(self, bodies: list[dict[str, Any]]) -> None:
        """2: live traffic: the split, stickiness, the excluded segments."""
        clean, rate = self.send(bodies)
        returning, moved = sticky(clean)
        held = [a for a in clean if set(a.segments) & set(EXCLUDED)]
        on_candidate = [a for a in clean if a.release == CANDIDATE]
        self.step(
            all(a.status == 200 and not a.fallback for a in clean)
            and bool(on_candidate)
            and moved == 0
            and all(a.release == PRODUCTION for a in held)
            and not any(a.critical for a in clean),
            f"{len(clean):,} authorisations of the serving sample through the gateway, "
            f"{CONCURRENCY} at a time ({rate:.0f}/s), each with its customer id and segment "
            f"tags: {answered_by(clean)}; sticky: {_n(returning, 'returning customer')}, "
            f"{moved} of them moved; {len(held):,} vulnerable, hardship or complaint requests "
            f"all on production; {sum(a.critical for a in clean)} critical failures"
            + _failed(clean),
            lookup=("traces", "show", (on_candidate or clean)[0].request_id),
        )

    def hold(self) -> None:
        """3: the analysis of clean traffic: inconclusive, the route holds."""
        run = self.analyse()
        a, outcome = run["analysis"], run["rollout"]
        self.step(
            a["verdict"] in ("inconclusive", "pass") and outcome["verdict"] != "stop",
            f"airel canary analyse on the traces of canary-1: {a['verdict']} — "
            f"{a['canary']['requests']} canary / {a['baseline']['requests']:,} baseline "
            f"requests (eligible ones), {a['canary']['critical_failures']} critical failures "
            f"({_reasons(list(a['reasons']))}); {ROUTE} stays at canary-1 "
            f"({outcome['verdict']}): an inconclusive canary never advances",
            run["attestation_id"],
            ("rollout", "analyse", ROUTE),
            show=False,
        )

    def plant(self, bodies: list[dict[str, Any]]) -> None:
        """4–5: the planted defect (the candidate restarted with it) under more traffic."""
        self.services.endpoint(CANDIDATE)  # the restarted upstream listens again
        planted, _ = self.send(bodies)
        bad = [a for a in planted if a.critical]
        self.step(
            bool(bad)
            and all(a.release == CANDIDATE for a in bad)
            and all(a.status == 200 and not a.fallback for a in planted),
            f"plant a production problem: the candidate's upstream restarts on its endpoint "
            f"with a defect in release 2.0's new reason-code path (serve_model.py "
            f"--plant-critical-rate {PLANT_RATE:g}: it declines {PLANT_RATE * 100:g} % of its "
            f"authorisations whatever their score); {len(planted):,} more authorisations: "
            f"{answered_by(planted)}, {_n(len(bad), 'decline')} below the policy's threshold, "
            "each reported as a critical failure" + _failed(planted),
            lookup=("traces", "show", (bad or planted)[0].request_id),
        )

    def stop(self) -> str:
        """5: the analysis fails, the stop condition rolls the route back; when the canary
        step began."""
        run = self.analyse()
        a, outcome = run["analysis"], run["rollout"]
        route = outcome["route"]
        stops = "; ".join((outcome.get("analysis") or {}).get("reasons", []))
        self.step(
            a["verdict"] == "fail" and outcome["verdict"] == "stop",
            f"canary analysis of the traces: {a['verdict']} ({_reasons(list(a['reasons']))}; "
            f"{a['canary']['requests']} canary / {a['baseline']['requests']:,} baseline "
            f"requests, {a['canary']['critical_failures']} critical failures): the stop "
            f"condition fires ({stops}) and {ROUTE} is rolled back at once: "
            f"{self.shares(route)} ({route['status']})",
            run["attestation_id"],
            ("rollout", "status", ROUTE),
        )
        return str(run["window"][0])

    def after(self, bodies: list[dict[str, Any]]) -> None:
        """6: the reconciler applies the rollback; production answers everyone."""
        self.demo.cli("reconcile")
        split = self.services.wait_for_split(ROUTE, {PRODUCTION: 100.0})
        served = {x.customer for x in self.answers if x.release == CANDIDATE}
        after, _ = self.send(bodies)
        back = {x.customer for x in after} & served
        among = f" (among them {_n(len(back), 'customer')} the candidate had served)"
        self.step(
            split == {PRODUCTION: 100.0}
            and all(x.release == PRODUCTION and x.status == 200 for x in after),
            f"airel reconcile applies the rollback and the gateway serves it (its /metrics: "
            f"{_weights(split)}): {len(after):,} more authorisations, {answered_by(after)}"
            + (among if back else "")
            + _failed(after),
            lookup=("rollout", "status", ROUTE),
            show=False,
        )

    def population(self, since: str) -> None:
        """7: the impacted population: exactly the candidate's answered requests."""
        until = _stamp()
        _, found = self.demo.cli("traces", "query", "--release", CANDIDATE, "--since", since,
                                 "--until", until)  # fmt: skip
        population = found["population"]
        answered = {x.request_id for x in self.answers if x.release == CANDIDATE}
        exact = set(found["request_ids"]) == answered
        segments = ", ".join(f"{k} {v}" for k, v in population["segments"].items()) or "none"
        self.step(
            exact,
            f"impacted population of {CANDIDATE} since canary-1 began: "
            f"{_n(population['requests'], 'request')} "
            f"({'exactly those' if exact else f'not the {len(answered)}'} the gateway "
            f"answered from it), {_n(population['customers'], 'customer')} by keyed digest, "
            f"segments: {segments}; {_n(sum(x.critical for x in self.answers), 'wrong decline')}"
            " to re-review",
            lookup=("traces", "query", "--release", CANDIDATE, "--since", since,
                    "--until", until),
        )  # fmt: skip

    def verify(self) -> None:
        """7: the gateway stops, flushing its traces; every trace verifies."""
        # uvicorn shuts down gracefully on SIGTERM (the trace writer is flushed), then
        # re-raises the signal: the gateway ends by it
        code = self.services.stop_gateway()
        clean_exit = code in (0, -signal.SIGTERM)
        vcode, verified = self.demo.cli("traces", "verify", expect=(0, 1))
        total = len(self.answers)
        self.step(
            clean_exit and vcode == 0 and bool(verified["ok"]) and verified["traces"] == total,
            f"gateway stopped by SIGTERM ({'cleanly' if clean_exit else f'exit {code}'}: "
            f"traces flushed); airel traces verify: {verified['batches']:,} batches, "
            f"{_n(verified['traces'], 'trace')} match their roots and the audit chain — one "
            f"per answer the gateway gave ({total:,})",
            lookup=("traces", "verify"),
            show=False,
        )


def canary_with_traffic(
    demo: Demo, services: Services, shares: Callable[[dict[str, Any]], str]
) -> bool:
    """The canary step on live traffic (module docstring); True when every step went as the
    story expects. ``shares`` formats a route's desired traffic."""
    return Canary(demo, services, shares).run()
