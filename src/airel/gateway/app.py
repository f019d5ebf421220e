"""The gateway: an ASGI app that applies each route's traffic plan to real requests (T2).

``POST /v1/routes/{route}`` (lane from ``X-Airel-Lane``, default production) picks the release
by the route's weights, sticky by key, segment filters applied (:mod:`airel.gateway.routing`),
forwards the body to that release's endpoint (from its deployment manifest), and answers with
the upstream's answer plus ``X-Airel-Request-Id`` and ``X-Airel-Release``. Before it answers,
the request's trace is committed (:class:`TraceSink`): an answer is never given untraced.

- A candidate that times out, fails (5xx) or cannot be reached is answered for by the stable
  release when the gateway's policy allows (``fallback``; the trace says so), else with a clear
  502/504 error — never a hang: every upstream call has a timeout.
- Shadow releases (the route's mirrors) get a copy *after* the answer is sent, marked
  ``X-Airel-Mode: shadow`` and ``X-Airel-Tools: dry-run``; their answers are traced and never
  returned, and the write tools they propose are recorded as dry-runs, never executed.
- ``POST /v1/feedback/{request_id}`` records an override or a complaint against a traced
  request; ``/healthz``, ``/readyz`` and ``/metrics`` (Prometheus) serve operations.

The app reads routes from memory; a background task reloads the serving table from the
records every ``refresh_s`` (the reconciler's changes reach traffic within that time). On
shutdown it waits for shadow copies in flight and flushes the trace writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airel.domain.kernel.clock import stamp
from airel.domain.monitoring import kubernetes as k8s
from airel.domain.monitoring.masking import DEFAULT_POLICY, MaskingPolicy
from airel.domain.monitoring.serving import ServedRelease, ServedRoute
from airel.domain.monitoring.trace import Mode, Trace
from airel.domain.promotion.traffic_plan import StepVerdict
from airel.errors import AirelError, Reason
from airel.gateway import requests as rq
from airel.gateway.routing import choose, shadows
from airel.gateway.tools import ledger

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LANES = ("production", "staging")


class TraceSink(Protocol):
    """Where traces go: :class:`airel.services.monitoring.writer.TraceWriter`."""

    async def write(self, trace: Trace) -> None: ...

    @property
    def alive(self) -> bool: ...

    @property
    def pending(self) -> int: ...

    def close(self, timeout: float = 30.0) -> None: ...


class Telemetry(Protocol):
    """Metrics and spans (:mod:`airel.adapters.telemetry`)."""

    def observe(self, trace: Trace) -> None: ...

    def set_routes(self, routes: Mapping[str, ServedRoute], pending: int) -> None: ...

    def render(self) -> tuple[bytes, str]: ...

    def close(self) -> None: ...


Feedback = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]
# (route, lane) → the current step, its verdict, the metrics it read and the reasons
Analysis = Callable[[str, str], tuple[str | None, StepVerdict, Mapping[str, object], list[str]]]


@dataclass(frozen=True)
class GatewayConfig:
    """How the gateway behaves (``airel serve gateway`` options)."""

    key_secret: bytes  # keys the sticky-key digests in traces
    timeout_s: float = 5.0  # per upstream call
    shadow_timeout_s: float = 10.0
    max_body_bytes: int = 1_048_576
    fallback: bool = True  # a failed candidate is answered for by the stable release
    refresh_s: float = 1.0
    max_shadow_inflight: int = 256  # shadow copies beyond this are dropped (and counted)
    # True: answer only once the trace is committed (a SIGKILL loses no answered request's
    # trace); False: answer first, commit within the writer's linger (lower latency; a
    # SIGKILL may lose the traces of the last commit window — never an acknowledged trace)
    await_trace: bool = True
    masking: MaskingPolicy = DEFAULT_POLICY


def _system_now() -> datetime:
    return datetime.now(UTC)


def _error(status: int, reason: Reason, message: str, fix: str, **headers: str) -> JSONResponse:
    body = {"error": reason.value, "reason": reason.value, "message": message, "fix": fix}
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class _State:
    routes: dict[str, ServedRoute] = field(default_factory=dict)
    loaded_at: float = 0.0
    load_error: str | None = None
    shadow_tasks: set[asyncio.Task[None]] = field(default_factory=set)
    shadow_dropped: int = 0
    trace_failures: int = 0


class Gateway:
    """The app's behaviour; :func:`create_app` wires it into Starlette."""

    def __init__(
        self,
        config: GatewayConfig,
        load_routes: Callable[[], Mapping[str, ServedRoute]],
        sink: TraceSink,
        *,
        telemetry: Telemetry | None = None,
        feedback: Feedback | None = None,
        analysis: Analysis | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _system_now,
    ) -> None:
        self.config = config
        self.load_routes = load_routes
        self.sink = sink
        self.telemetry = telemetry
        self.feedback = feedback
        self.analysis = analysis
        self.clock = clock
        self.state = _State()
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
        # upstream calls go straight to the transport (connection pool, HTTP/1.1): the client
        # layer above it — cookies, auth, redirects, URL merging — is a third of the cost of a
        # call and nothing a model endpoint needs; ``http`` owns (and closes) the transport
        self.transport = transport or httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        self.http = httpx.AsyncClient(transport=self.transport, trust_env=False)

    # -- routes --------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Reload the serving table (in a thread: it reads the store)."""
        try:
            routes = await asyncio.to_thread(self.load_routes)
        except Exception as exc:  # keep serving the last table; readiness reports it
            self.state.load_error = f"{type(exc).__name__}: {exc}"
            return
        self.state.routes = dict(routes)
        self.state.loaded_at = time.monotonic()
        self.state.load_error = None
        if self.telemetry is not None:
            self.telemetry.set_routes(self.state.routes, self.sink.pending)

    async def _refresher(self) -> None:
        while True:
            await asyncio.sleep(self.config.refresh_s)
            await self.refresh()

    # -- upstream calls --------------------------------------------------------------------

    async def call(
        self, release: ServedRelease, raw: bytes, request_id: str, mode: Mode, timeout: float
    ) -> rq.Outcome:
        """One upstream call, classified; never raises, never waits past ``timeout``."""
        if release.endpoint is None:
            return rq.Outcome(0, b"", 0.0, "NO_ENDPOINT")
        headers = {
            "content-type": "application/json",
            "x-airel-request-id": request_id,
            "x-airel-release": release.release_id,
            "x-airel-mode": mode.value,
        }
        if mode is Mode.SHADOW:
            headers["x-airel-tools"] = "dry-run"
        t0 = time.perf_counter()
        limit = {"timeout": httpx.Timeout(timeout).as_dict()}
        request = httpx.Request("POST", release.endpoint, content=raw, headers=headers,
                                extensions=limit)  # fmt: skip
        try:
            async with asyncio.timeout(timeout):  # the whole call, not each read
                r = await self.transport.handle_async_request(request)
                try:
                    content = await r.aread()
                finally:
                    await r.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return rq.Outcome(0, b"", (time.perf_counter() - t0) * 1000, "TIMEOUT")
        except httpx.HTTPError:
            return rq.Outcome(0, b"", (time.perf_counter() - t0) * 1000, "UNREACHABLE")
        ms = (time.perf_counter() - t0) * 1000
        ctype = r.headers.get("content-type", "application/json")
        if r.status_code >= 500:
            return rq.Outcome(r.status_code, content, ms, "UPSTREAM_5XX", {"content-type": ctype})
        return rq.Outcome(r.status_code, content, ms, None, {"content-type": ctype})

    # -- one request -----------------------------------------------------------------------

    def _served(
        self, ctx: dict[str, Any], release_id: str, outcome: rq.Outcome, mode: Mode, **kw: Any
    ) -> rq.Served:
        route: ServedRoute = ctx["route"]
        release = route.releases[release_id]
        calls = ledger(release, outcome.body, mode) if outcome.status else ()
        return rq.Served(
            request_id=ctx["request_id"], at=ctx["at"], mode=mode, route=route, release=release,
            outcome=outcome, key=ctx["key"], segments=ctx["segments"], text=ctx["text"],
            tool_calls=calls, **kw,
        )  # fmt: skip

    async def _trace(self, served: rq.Served) -> None:
        trace = rq.build_trace(served, secret=self.config.key_secret, policy=self.config.masking)
        await self.sink.write(trace)
        if self.telemetry is not None:
            self.telemetry.observe(trace)

    async def invoke(self, request: Request) -> Response:
        """``POST /v1/routes/{route}``."""
        name = request.path_params["route"]
        lane = request.headers.get("x-airel-lane", "production")
        if not _NAME.match(name) or lane not in _LANES:
            return _error(
                400,
                Reason.REQUEST_INVALID,
                f"no route {name!r} in lane {lane!r}",
                "name a route of `airel rollout list`; lanes: production, staging",
            )
        route = self.state.routes.get(f"{name}@{lane}")
        if route is None:
            return _error(404, Reason.ROUTE_NOT_FOUND, f"no route {name}@{lane}",
                          "promote a release to it, then `airel reconcile`")  # fmt: skip
        if route.unavailable or not route.weights:
            return _error(503, Reason.UPSTREAM_UNAVAILABLE,
                          f"route {route.key} cannot be served: {route.unavailable}",
                          "reconcile the route: `airel reconcile`")  # fmt: skip
        raw = await request.body()
        try:
            body = rq.parse_body(raw, max_bytes=self.config.max_body_bytes)
        except AirelError as exc:
            status = 413 if exc.details.get("limit") else 400
            return _error(status, exc.reason, exc.message, exc.fix or "send a JSON object")
        request_id = rq.new_request_id()
        key = rq.sticky_key(route, body, request.headers.get("x-airel-key"))
        segments = rq.segment_tags(body, request.headers.get("x-airel-segments"))
        ctx = {"route": route, "request_id": request_id, "at": stamp(self.clock()), "key": key,
               "segments": segments, "text": rq.body_text(body, omit=route.sticky_by)}  # fmt: skip
        choice = choose(route, key, segments)
        outcome = await self.call(route.releases[choice.release_id], raw, request_id, Mode.LIVE,
                                  self.config.timeout_s)  # fmt: skip
        served = [self._served(ctx, choice.release_id, outcome, Mode.LIVE)]
        answer, answered_by = outcome, choice.release_id
        if not outcome.ok and choice.release_id != route.stable and self.config.fallback:
            answer = await self.call(route.releases[route.stable], raw, request_id, Mode.LIVE,
                                     self.config.timeout_s)  # fmt: skip
            answered_by = route.stable
            served.append(self._served(ctx, route.stable, answer, Mode.LIVE, fallback=True))
        try:
            if self.config.await_trace:
                await asyncio.gather(*(self._trace(s) for s in served))
            else:
                for s in served:
                    self._background(self._trace_quietly(s))
        except Exception as exc:
            self.state.trace_failures += 1
            return _error(503, Reason.STORE_UNAVAILABLE, f"the trace was not committed: {exc}",
                          "retry; check `airel doctor` and the gateway's log",
                          **{"x-airel-request-id": request_id})  # fmt: skip
        self._shadow(ctx, raw, answered_by)
        headers = {"x-airel-request-id": request_id, "x-airel-release": answered_by}
        if answered_by != choice.release_id:
            headers["x-airel-fallback"] = choice.release_id
        if not answer.ok:
            status = 504 if answer.error == "TIMEOUT" else 502
            return _error(status, Reason.UPSTREAM_UNAVAILABLE,
                          f"release {answered_by} did not answer: {answer.error}",
                          "see the trace: `airel traces show " + request_id + "`",
                          **headers)  # fmt: skip
        headers.update(answer.headers)
        return Response(answer.body, status_code=answer.status, headers=headers)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.state.shadow_tasks.add(task)
        task.add_done_callback(self.state.shadow_tasks.discard)

    async def _trace_quietly(self, served: rq.Served) -> None:
        try:
            await self._trace(served)
        except Exception:
            self.state.trace_failures += 1

    def _shadow(self, ctx: dict[str, Any], raw: bytes, answered_by: str) -> None:
        route: ServedRoute = ctx["route"]
        for release_id in shadows(route, answered_by):
            if len(self.state.shadow_tasks) >= self.config.max_shadow_inflight:
                self.state.shadow_dropped += 1
                continue
            self._background(self._shadow_one(ctx, raw, release_id))

    async def _shadow_one(self, ctx: dict[str, Any], raw: bytes, release_id: str) -> None:
        route: ServedRoute = ctx["route"]
        outcome = await self.call(route.releases[release_id], raw, ctx["request_id"],
                                  Mode.SHADOW, self.config.shadow_timeout_s)  # fmt: skip
        await self._trace_quietly(self._served(ctx, release_id, outcome, Mode.SHADOW))

    # -- feedback, health, metrics ---------------------------------------------------------

    async def record_feedback(self, request: Request) -> Response:
        """``POST /v1/feedback/{request_id}``: an override or a complaint."""
        if self.feedback is None:
            return _error(404, Reason.FEEDBACK_INVALID, "feedback is not enabled here",
                          "start the gateway with a store")  # fmt: skip
        try:
            body = rq.parse_body(await request.body(), max_bytes=65_536)
            result = await asyncio.to_thread(self.feedback, request.path_params["request_id"], body)
        except AirelError as exc:
            status = 404 if exc.reason is Reason.TRACE_NOT_FOUND else 400
            return _error(status, exc.reason, exc.message, exc.fix or "see `airel traces show`")
        return JSONResponse(dict(result), status_code=201)

    async def _verdict(self, request: Request) -> tuple[StepVerdict, dict[str, Any]] | Response:
        name = request.path_params["route"]
        lane = request.query_params.get("lane", "production")
        if self.analysis is None or not _NAME.match(name) or lane not in _LANES:
            return _error(
                404,
                Reason.ROUTE_NOT_FOUND,
                f"no analysis of {name!r} here",
                "start the gateway with a store; name a route of `airel rollout status`",
            )
        try:
            step, verdict, metrics, reasons = await asyncio.to_thread(self.analysis, name, lane)
        except AirelError as exc:
            step, verdict, metrics, reasons = None, StepVerdict.INCONCLUSIVE, {}, [exc.reason.value]
        asked = request.path_params.get("step")
        if asked is not None and asked != step:
            verdict, reasons = (
                StepVerdict.INCONCLUSIVE,
                [f"STEP:{name} is in step {step}, not {asked}"],
            )
        return verdict, k8s.web_metric_response(verdict, metrics, reasons=reasons)

    async def web_metric(self, request: Request) -> Response:
        """``GET /api/v1/analysis/{route}[/{step}]``: Argo Rollouts' web metric — always 200,
        the verdict in the body (pass / fail / hold / inconclusive)."""
        got = await self._verdict(request)
        if isinstance(got, Response):
            return got
        return JSONResponse(got[1])

    async def flagger_webhook(self, request: Request) -> Response:
        """``POST /api/v1/analysis/{route}``: Flagger's webhook — 200 passes, 412 does not."""
        try:
            payload = rq.parse_body(await request.body(), max_bytes=65_536)
            meta = payload.get("metadata")
            hook = k8s.flagger_hook(
                payload.get("type") or (meta.get("type") if isinstance(meta, dict) else None)
            )
        except AirelError as exc:
            return _error(400, exc.reason, exc.message, exc.fix or "see docs/gateway.md")
        got = await self._verdict(request)
        if isinstance(got, Response):
            return got
        verdict, body = got
        return JSONResponse(body, status_code=k8s.flagger_status(verdict, hook))

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        problems = []
        if not self.state.loaded_at:
            problems.append("the serving table is not loaded yet")
        if self.state.load_error:
            problems.append("the serving table could not be reloaded: " + self.state.load_error)
        if not self.sink.alive:
            problems.append("the trace writer is not running")
        body = {"ready": not problems, "problems": problems, "routes": len(self.state.routes),
                "traces_pending": self.sink.pending, "trace_failures": self.state.trace_failures,
                "shadow_dropped": self.state.shadow_dropped}  # fmt: skip
        return JSONResponse(body, status_code=200 if not problems else 503)

    async def metrics(self, request: Request) -> Response:
        if self.telemetry is None:
            return Response(b"", media_type="text/plain")
        self.telemetry.set_routes(self.state.routes, self.sink.pending)
        payload, ctype = self.telemetry.render()
        return Response(payload, headers={"content-type": ctype})

    # -- lifecycle -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.refresh()
        refresher = asyncio.create_task(self._refresher())
        try:
            yield
        finally:
            refresher.cancel()
            if self.state.shadow_tasks:
                pending = set(self.state.shadow_tasks)
                await asyncio.wait(pending, timeout=self.config.shadow_timeout_s)
            await self.http.aclose()
            await asyncio.to_thread(self.sink.close)
            if self.telemetry is not None:
                self.telemetry.close()


def create_app(gateway: Gateway) -> Starlette:
    """The ASGI app of ``gateway``."""
    handlers: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/v1/routes/{route}", gateway.invoke, ["POST"]),
        ("/v1/feedback/{request_id}", gateway.record_feedback, ["POST"]),
        ("/api/v1/analysis/{route}", gateway.web_metric, ["GET"]),
        ("/api/v1/analysis/{route}/{step}", gateway.web_metric, ["GET"]),
        ("/api/v1/analysis/{route}", gateway.flagger_webhook, ["POST"]),
        ("/healthz", gateway.healthz, ["GET"]),
        ("/readyz", gateway.readyz, ["GET"]),
        ("/metrics", gateway.metrics, ["GET"]),
    ]
    routes = [Route(path, fn, methods=methods) for path, fn, methods in handlers]
    return Starlette(routes=routes, lifespan=gateway.lifespan)
