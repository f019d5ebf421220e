"""Benchmark: what the gateway adds to a request, against calling the upstream directly (T2).

Starts, as separate processes on local ports, an upstream (Starlette under uvicorn, answering
a small JSON score) and the airel gateway (uvicorn, one worker) in front of it, with the trace
writer ``airel serve gateway`` runs (an ingest process committing over a pipe) on a fresh
SQLite store (or ``--database-url``). Then, at ``--concurrency``
requests in flight, sends ``--requests`` requests straight to the upstream and the same number
through the gateway, and reports p50 / p95 / p99 latency of each and the difference: the
gateway's overhead — routing, strict JSON parsing, classification and masking, the trace, the
group commit. Twice: with the gateway answering only once the trace is committed (the
default, ``await_trace``) and answering first (``--no-await``: the trace commits within the
writer's linger). For scale, a bare proxy — Starlette forwarding through the same httpx
transport, nothing else — measures what one more Python HTTP hop costs on this machine
before airel does anything.

Prints a table and one ``RESULT_JSON:`` line.

Usage::

    .venv/bin/python bench/bench_gateway.py [--requests 5000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airel.client import Client
from airel.config import load_settings
from airel.domain.monitoring.serving import ServedRelease, ServedRoute
from airel.gateway.app import Gateway, GatewayConfig, create_app
from airel.sdk.ingest import ingest_process
from airel.services.monitoring.writer import PipedTraceWriter

ROUTE = "score"
RELEASE = "SCORE-2026-001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_upstream(port: int) -> None:
    """The upstream: one JSON answer per POST, as fast as uvicorn allows."""
    answer = json.dumps({"release": RELEASE, "score": 0.12, "airel": {"cost": 0.001}}).encode()

    async def score(request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/json")

    app = Starlette(routes=[Route("/score", score, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_proxy(port: int, upstream: int) -> None:
    """The floor of any Python proxy hop here: Starlette under uvicorn forwarding each POST
    through the same httpx transport the gateway uses — no routing, parsing or trace."""
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=512))
    target = f"http://127.0.0.1:{upstream}/score"

    async def forward(request: Request) -> Response:
        body = await request.body()
        req = httpx.Request("POST", target, content=body,
                            headers={"content-type": "application/json"})  # fmt: skip
        r = await transport.handle_async_request(req)
        try:
            content = await r.aread()
        finally:
            await r.aclose()
        return Response(content, status_code=r.status_code, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b"ok")

    app = Starlette(routes=[Route("/score", forward, methods=["POST"]), Route("/healthz", health)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_gateway(
    port: int, upstream: int, database_url: str, home: str, await_trace: bool
) -> None:
    """The gateway over a fixed route (the serving table is what the records would give)."""
    client = Client(load_settings({"database_url": database_url, "home": home, "actor": "bench"},
                                  cwd=Path(home), environ={}))  # fmt: skip
    client.init()
    release = ServedRelease(RELEASE, f"http://127.0.0.1:{upstream}/score", "sha256:" + "0" * 64,
                            None, "SCORE", 1, {"model_version": "score:1.0.0"})  # fmt: skip
    route = ServedRoute(ROUTE, "production", 1, RELEASE, {RELEASE: 100.0}, [], {RELEASE: release},
                        sticky_by="customer_id")  # fmt: skip
    gw = Gateway(
        GatewayConfig(key_secret=b"bench-secret-0123456789", await_trace=await_trace),
        lambda: {route.key: route},
        PipedTraceWriter(ingest_process(client.settings)),
    )
    uvicorn.run(create_app(gw), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)  # fmt: skip


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, *args])


async def _wait(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                await http.get(url)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


async def _load(url: str, n: int, concurrency: int) -> list[float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {"customer_id": f"c{i % 5000}", "amount": 12.5, "merchant": "m-17"}
                t0 = time.perf_counter()
                r = await http.post(url, json=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def _q(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1]


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p95": _q(values, 0.95), "p99": _q(values, 0.99)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    up_port = _free_port()
    upstream = _spawn("--serve-upstream", str(up_port))
    try:
        direct_url = f"http://127.0.0.1:{up_port}/score"
        asyncio.run(_wait(direct_url.replace("/score", "/")))
        asyncio.run(_load(direct_url, 500, args.concurrency))  # warm-up
        results["direct"] = _stats(asyncio.run(_load(direct_url, args.requests, args.concurrency)))
        proxy_port = _free_port()
        proxy = _spawn("--serve-proxy", str(proxy_port), str(up_port))
        try:
            asyncio.run(_wait(f"http://127.0.0.1:{proxy_port}/healthz"))
            via_proxy = f"http://127.0.0.1:{proxy_port}/score"
            asyncio.run(_load(via_proxy, 500, args.concurrency))
            results["bare_proxy"] = _stats(
                asyncio.run(_load(via_proxy, args.requests, args.concurrency))
            )
        finally:
            proxy.terminate()
            proxy.wait(30)
        results["overhead_bare_proxy"] = {
            k: results["bare_proxy"][k] - results["direct"][k] for k in results["direct"]
        }
        for await_trace in (True, False):
            with tempfile.TemporaryDirectory() as home:
                url = args.database_url or f"sqlite:///{home}/airel.db"
                gw_port = _free_port()
                mode = "await" if await_trace else "no-await"
                gateway = _spawn("--serve-gateway", str(gw_port), str(up_port), url, home, mode)
                try:
                    base = f"http://127.0.0.1:{gw_port}"
                    asyncio.run(_wait(base + "/healthz"))
                    via = f"{base}/v1/routes/{ROUTE}"
                    asyncio.run(_load(via, 500, args.concurrency))
                    got = _stats(asyncio.run(_load(via, args.requests, args.concurrency)))
                finally:
                    gateway.terminate()
                    gateway.wait(30)
            results[f"gateway_{mode}"] = got
            results[f"overhead_{mode}"] = {k: got[k] - results["direct"][k] for k in got}
    finally:
        upstream.terminate()
        upstream.wait(30)
    return results


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-upstream":
        serve_upstream(int(sys.argv[2]))
        return 0
    if len(sys.argv) > 3 and sys.argv[1] == "--serve-proxy":
        serve_proxy(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    if len(sys.argv) > 6 and sys.argv[1] == "--serve-gateway":
        port, upstream, url, home, mode = sys.argv[2:7]
        serve_gateway(int(port), int(upstream), url, home, mode == "await")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=os.environ.get("AIREL_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    results = run(args)
    print(f"gateway overhead, {args.requests} requests at concurrency {args.concurrency}, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"{'':<22}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for name, row in results.items():
        print(f"{name:<22}{row['p50']:>10.2f}{row['p95']:>10.2f}{row['p99']:>10.2f}")
    print("RESULT_JSON: " + json.dumps({"requests": args.requests,
                                        "concurrency": args.concurrency, **results}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
