"""Commands: ``serve gateway|api``, ``traces query|show|verify|feedback`` (T1, T2; issue 13)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

serve_app = typer.Typer(
    help="Run airel's servers: the gateway and the REST API.", no_args_is_help=True
)
traces_app = typer.Typer(
    help="Request traces: who was served by which release, feedback, verification.",
    no_args_is_help=True,
)

canary_app = typer.Typer(
    help="Canary analysis from request traces: candidate vs stable, same window.",
    no_args_is_help=True,
)

RequestArg = Annotated[str, typer.Argument(help="The request id (X-Airel-Request-Id).")]


@command
def gateway(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8787,
    timeout: Annotated[
        float, typer.Option(help="Seconds an upstream may take before it counts as failed.")
    ] = 5.0,
    on_candidate_failure: Annotated[
        str,
        typer.Option(
            help="fallback: the stable release answers for a failed candidate (traced as a "
            "fallback); error: answer 502/504."
        ),
    ] = "fallback",
    refresh: Annotated[
        float, typer.Option(help="Seconds between reloads of the routes from the records.")
    ] = 1.0,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted.")] = 1_048_576,
) -> int:
    """Serve every route by its recorded traffic, sticky by key; trace every request.

    POST /v1/routes/ROUTE (lane: X-Airel-Lane), POST /v1/feedback/REQUEST_ID, GET /healthz,
    /readyz, /metrics. An answer is sent only once its trace is committed; SIGTERM stops
    taking requests and flushes the traces. Exit 2 on a bad option."""
    if on_candidate_failure not in ("fallback", "error"):
        output.fail(f"--on-candidate-failure {on_candidate_failure!r}: use fallback or error")
        return output.EXIT_BAD_INPUT
    if timeout <= 0 or refresh <= 0 or max_body_bytes < 1024:
        output.fail("--timeout and --refresh must be positive, --max-body-bytes at least 1024")
        return output.EXIT_BAD_INPUT
    output.ok(f"airel gateway on http://{host}:{port} (routes reload every {refresh:g} s)")
    client().monitoring.serve_gateway(
        host=host,
        port=port,
        timeout_s=timeout,
        fallback=on_candidate_failure == "fallback",
        refresh_s=refresh,
        max_body_bytes=max_body_bytes,
    )
    return output.EXIT_OK


@command
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8780,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted.")] = 1_048_576,
) -> int:
    """Serve the REST API under /api/v1 (OpenAPI 3.1 at /api/v1/openapi.json) over this
    store. Every route but /api/v1/health and the OpenAPI document needs a bearer token
    (`airel token create`); what it may do follows the identity's roles."""
    if max_body_bytes < 1024:
        output.fail("--max-body-bytes must be at least 1024")
        return output.EXIT_BAD_INPUT
    output.ok(f"airel API on http://{host}:{port}/api/v1")
    client().serve_api(host=host, port=port, max_body_bytes=max_body_bytes)
    return output.EXIT_OK


def _population(rows: list[Any]) -> dict[str, Any]:
    segments: Counter[str] = Counter(s for t in rows for s in t.segments)
    return {
        "requests": len({t.request_id for t in rows}),
        "customers": len({t.key_digest for t in rows if t.key_digest}),
        "segments": dict(sorted(segments.items())),
        "releases": dict(sorted(Counter(t.release_id for t in rows).items())),
        "first": rows[0].at if rows else None,
        "last": rows[-1].at if rows else None,
    }


@command
def query(
    release: Annotated[str | None, typer.Option(help="Traces of this release.")] = None,
    route: Annotated[str | None, typer.Option(help="Traces of this route@lane.")] = None,
    component: Annotated[
        str | None,
        typer.Option(help="FIELD=VERSION, e.g. model_version=fraud-score:2.0.0 (§7.3 field)."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this ISO-8601 UTC time.")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this ISO-8601 UTC time.")] = None,
    mode: Annotated[str | None, typer.Option(help="live or shadow.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many traces.", min=1)] = 100_000,
    as_json: JsonOpt = False,
) -> int:
    """Which requests, customers and segments a release (or one component version) served
    between two times: the rollback runbook's impacted population.

    Customers are counted by their keyed digest (the key itself is never stored). Exit 2 on
    a bad option."""
    from airel.domain.monitoring.trace import TRACE_VERSION_FIELDS, TraceQuery  # noqa: PLC0415

    pair = None
    if component is not None:
        name, sep, version = component.partition("=")
        if not sep or name not in TRACE_VERSION_FIELDS or not version:
            output.fail(f"--component {component!r}: use FIELD=VERSION with FIELD one of "
                        + ", ".join(TRACE_VERSION_FIELDS))  # fmt: skip
            return output.EXIT_BAD_INPUT
        pair = (name, version)
    from airel.domain.kernel.clock import stamp  # noqa: PLC0415

    bounds: list[str | None] = []
    for option, value in (("--since", since), ("--until", until)):
        when = _when(value) if value is not None else None
        if value is not None and when is None:
            output.fail(f"{option} {value!r}: use an ISO-8601 time with a zone")
            return output.EXIT_BAD_INPUT
        bounds.append(stamp(when) if when is not None else None)  # the stored form
    q = TraceQuery(release_id=release, route=route, component=pair, since=bounds[0],
                   until=bounds[1], mode=mode, limit=limit)  # fmt: skip
    rows = client().monitoring.query(q)
    summary = _population(rows)
    if as_json:
        output.emit_json({"query": q, "population": summary,
                          "request_ids": sorted({t.request_id for t in rows})})  # fmt: skip
        return output.EXIT_OK
    output.kv("impacted population", [(k, str(v)) for k, v in summary.items()])
    return output.EXIT_OK


@command
def show(request_id: RequestArg, as_json: JsonOpt = False) -> int:
    """Every trace of one request: the live answer, a fallback, shadow copies."""
    rows = client().monitoring.request(request_id)
    if as_json:
        output.emit_json(rows)
        return output.EXIT_OK
    output.table(
        f"request {request_id}",
        ["release", "mode", "status", "latency ms", "error", "fallback", "route", "decision"],
        [(t.release_id, t.mode.value, str(t.status), f"{t.latency_ms:.1f}", t.error or "-",
          "yes" if t.fallback else "-", t.deployment_route, t.eval_gate_id or "-")
         for t in rows],
    )  # fmt: skip
    return output.EXIT_OK


@command
def verify(as_json: JsonOpt = False) -> int:
    """Check every trace batch against its root and the audit chain. Exit 1 on any problem."""
    batches, count, problems = client().monitoring.verify()
    code = output.EXIT_CHECK_FAILED if problems else output.EXIT_OK
    if as_json:
        output.emit_json({"batches": batches, "traces": count, "problems": problems,
                          "ok": not problems})  # fmt: skip
        return code
    for p in problems:
        where = f"batch {p.batch_id}" + ("" if p.position is None else f" trace {p.position}")
        output.fail(f"{where}: {p.problem}")
    (output.fail if problems else output.ok)(f"{batches} batches, {count} traces checked")
    return code


@command
def feedback(
    request_id: RequestArg,
    kind: Annotated[str, typer.Option(help="override or complaint.")],
    review: Annotated[
        str | None, typer.Option(help="An override's verdict: accepted, modified or rejected.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Free text (PII is masked).")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Record a human override or a customer complaint against a traced request."""
    made = client().monitoring.feedback(request_id, kind, review=review, note=note)
    if as_json:
        output.emit_json(made)
        return output.EXIT_OK
    output.ok(f"{made.kind.value} recorded against {request_id} by {made.by}")
    return output.EXIT_OK


def _when(value: str) -> Any:
    """An ISO-8601 time with a zone, or None (the caller exits 2)."""
    from datetime import datetime  # noqa: PLC0415

    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


@command
def monitor(
    release: Annotated[str, typer.Argument(help="The release in production.")],
    since: Annotated[str, typer.Option(help="Window start, ISO-8601 with zone.")],
    until: Annotated[str, typer.Option(help="Window end, ISO-8601 with zone.")],
    reference: Annotated[
        str | None,
        typer.Option(help="Reference dataset (default: the bundle's training snapshot)."),
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Watch a release in production over a window: drift, errors, latency, cost, quality.

    Drift of the traced feature values against the training reference; critical failures,
    errors, p95 latency, cost and quality per hour. Drift is recorded as a CT trigger (never
    a promotion), a degradation as an incident, once per window and check.

    Exit 0 when healthy, 1 on an alert or when the window is inconclusive (too little data
    is never healthy), 2 on bad input."""
    start, end = _when(since), _when(until)
    if start is None or end is None:
        output.fail("--since and --until take ISO-8601 times with a zone")
        return output.EXIT_BAD_INPUT
    report = client().monitoring.monitor(release, since=start, until=end, reference=reference)
    status = report.status.value
    code = output.EXIT_OK if status == "healthy" else output.EXIT_CHECK_FAILED
    if as_json:
        output.emit_json(report.to_dict())
        return code
    (output.ok if status == "healthy" else output.fail)(
        f"{release}: {status} over [{report.since}, {report.read_until})"
    )
    for r in report.recorded:
        result = r.alert.result
        record = r.incident_id or r.trigger_id or "report only"
        output.fail(f"{result.check.value}: {result.message} → {record}"
                    + ("" if r.new else " (recorded before)"))  # fmt: skip
    return code


def _num(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_num(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


@command
def analyse(
    route: Annotated[str, typer.Argument(help="The route, e.g. fraud-scoring.")],
    lane: Annotated[str, typer.Option(help="production (default) or staging.")] = "production",
    until: Annotated[
        str | None, typer.Option(help="End of the window, ISO-8601 with zone (default: now).")
    ] = None,
    min_samples: Annotated[
        int, typer.Option(help="Requests each arm needs before a pass is possible.", min=1)
    ] = 200,
    alpha: Annotated[float, typer.Option(help="Family-wise error rate (Bonferroni).")] = 0.05,
    as_json: JsonOpt = False,
) -> int:
    """Compare the canary with the stable release on the traces of the current step; record
    the analysis as canary evidence (G7) and let the rollout act on it.

    Rates by Newcombe's interval, p50/p95/p99 by order-statistic intervals, Bonferroni over
    the family (docs/adr/0011). A stop condition of the plan rolls the route back at once.
    Exit 0 when the canary passed, 1 when it failed or is inconclusive (inconclusive never
    advances), 2 when the route has no canary in progress."""
    when = None
    if until is not None:
        when = _when(until)
        if when is None:
            output.fail(f"--until {until!r}: use an ISO-8601 time with a zone")
            return output.EXIT_BAD_INPUT
    if not 0 < alpha < 1:
        output.fail("--alpha must be between 0 and 1")
        return output.EXIT_BAD_INPUT
    run = client().monitoring.analyse_canary(
        route, lane=lane, until=when, min_samples=min_samples, alpha=alpha
    )
    verdict = run.analysis.verdict.value
    code = output.EXIT_OK if verdict == "pass" else output.EXIT_CHECK_FAILED
    if as_json:
        output.emit_json(run.to_dict())
        return code
    (output.ok if verdict == "pass" else output.fail)(
        f"{route}: canary {verdict} over [{run.window[0]}, {run.window[1]}); rollout: "
        f"{run.rollout.verdict}"
    )
    output.table(
        "comparisons",
        ["metric", "baseline", "canary", "interval", "finding"],
        [
            (
                c["metric"],
                _num(c.get("baseline")),
                _num(c.get("canary")),
                _num(c.get("interval")),
                c["finding"],
            )
            for c in run.analysis.to_dict()["comparisons"]
        ],
    )
    return code


serve_app.command("gateway")(gateway)
serve_app.command("api")(api)
canary_app.command("analyse")(analyse)
traces_app.command("query")(query)
traces_app.command("show")(show)
traces_app.command("verify")(verify)
traces_app.command("feedback")(feedback)
