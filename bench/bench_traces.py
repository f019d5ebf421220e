"""Benchmark: trace ingest through the TraceWriter's group commit, and through plain ``ingest``
(issue 12; SPEC T1).

Two phases, each in a fresh interpreter on its own store (SQLite files under a temp directory;
with ``--database-url`` both phases share that database, each with its own release id):

* ``writer`` — ``--producers`` threads submit ``--traces`` traces to one trace writer:
  ``--writer process`` (default) a :class:`~airel.services.monitoring.writer.PipedTraceWriter`
  whose ingest process commits (what ``airel serve gateway`` runs), ``--writer thread`` a
  :class:`~airel.services.monitoring.writer.TraceWriter` committing on a thread. Each producer
  keeps ``--in-flight`` requests open like a gateway with that many concurrent calls (it waits
  for its oldest acknowledgement before it submits more). Reports traces/s from the first
  submit to the last acknowledgement, the batch sizes the writer formed, the acknowledgement
  latency (submit → future done) p50/p99, and the process's peak RSS;
* ``ingest`` — the same traces through ``traces.ingest`` in batches of ``--ingest-batch`` from
  one thread: the cost of a commit without the writer's queue and futures.

Traces are built (pydantic-validated, as the gateway builds them) before the clock starts; the
build rate is reported apart. ``--profile`` adds a cProfile of ``ingest`` over 20,000 traces
(by own time): where a trace's cost goes — validation, canonical JSON, the SQL insert, commit.

Prints a table and one ``RESULT_JSON:`` line (``--json``: the JSON alone); exits 1 when the
writer misses ``--target`` traces/s (20,000 on SQLite: issue 12).

Usage::

    .venv/bin/python bench/bench_traces.py [--traces 200000] [--producers 4] [--in-flight 512]
        [--writer process|thread] [--database-url URL] [--profile] [--json]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import airel
from airel.client import Client
from airel.config import load_settings
from airel.domain.monitoring.trace import Trace, TraceBatch, TraceQuery
from airel.sdk.ingest import ingest_process
from airel.services.monitoring import traces as svc
from airel.services.monitoring.writer import PipedTraceWriter, TraceWriter

PROFILE_TRACES = 20_000


def make_traces(release: str, n: int) -> list[Trace]:
    """``n`` Tier 1 traces as the gateway writes them: full lineage, a few feature values."""
    base: dict[str, Any] = {
        "release_id": release,
        "use_case_id": "FRAUD-SCORING",
        "risk_tier": 1,
        "model_version": "fraud-score:2.0.0",
        "policy_version": "fraud-threshold-policy:1.0",
        "feature_view_version": "fraud-auth-features:11",
        "dataset_or_index_version": "FRAUD-TRAIN:1",
        "eval_gate_id": "sha256:" + "d" * 64,
        "deployment_route": "fraud-score@production",
        "manifest_digest": "sha256:" + "e" * 64,
        "monitoring_tags": ["canary-1"],
        "segments": ["retail", "eu"],
        "status": 200,
    }
    out = []
    for i in range(n):
        out.append(
            Trace(
                **base,
                request_id=f"{release}-{i:09d}",
                at=f"2026-12-04T{i // 3_600_000 % 24:02d}:{i // 60_000 % 60:02d}:"
                f"{i // 1000 % 60:02d}.{i % 1000:03d}000Z",
                key_digest=f"hmac-sha256:{i % 50_000:032x}",
                latency_ms=2.0 + (i % 97) / 10,
                cost=0.0001,
                feature_values={"amount": float(i % 5000), "mcc": "5411", "card_present": True},
                input_classes=["pii"] if i % 10 == 0 else [],
            )
        )
    return out


def _peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``: reset by exec, unlike ``ru_maxrss``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _client(url: str, work: Path) -> Client:
    settings = load_settings({"database_url": url, "actor": "bench"}, cwd=work, environ={})
    return Client(settings)


def _stored(client: Client, release: str, n: int) -> int:
    with client.ctx.store.read() as tx:
        return len(tx.trace_columns(TraceQuery(release_id=release, limit=n + 1))["request_id"])


def run_writer(client: Client, args: argparse.Namespace, release: str) -> dict[str, Any]:
    """The writer phase (child side)."""
    t0 = time.perf_counter()
    traces = make_traces(release, args.traces)
    build_s = time.perf_counter() - t0
    base_rss = _peak_rss_mb()
    commits: list[tuple[int, float, float]] = []  # (traces, seconds, when it returned)

    def on_commit(n: int, seconds: float) -> None:
        commits.append((n, seconds, time.perf_counter()))

    with client.ctx.store.read() as tx:
        last = tx.last_trace_batch()
    first_batch = (last.batch_id if last else 0) + 1
    writer: TraceWriter | PipedTraceWriter
    if args.writer == "thread":
        writer = TraceWriter(
            client.ctx,
            max_batch=args.max_batch,
            linger_s=args.linger_ms / 1000,
            on_commit=on_commit,
        )
    else:
        writer = PipedTraceWriter(
            ingest_process(client.settings),
            max_batch=args.max_batch,
            linger_s=args.linger_ms / 1000,
            on_commit=on_commit,
        )
    submitted = [0.0] * len(traces)
    batch_of = [0] * len(traces)

    def produce(indices: range) -> None:
        # A trace is acknowledged when the commit of its batch returns (the writer calls
        # on_commit, then completes the batch's futures): stamped per batch, not per trace, so
        # measuring adds nothing to the writer's work.
        window: deque[tuple[int, Future[TraceBatch | None]]] = deque()

        def settle(i: int, future: Future[TraceBatch | None]) -> None:
            batch = future.result()
            assert batch is not None
            batch_of[i] = batch.batch_id

        for i in indices:
            if len(window) >= args.in_flight:
                settle(*window.popleft())
            submitted[i] = time.perf_counter()
            window.append((i, writer.submit(traces[i])))
        for pending in window:
            settle(*pending)

    share = -(-len(traces) // args.producers)
    threads = [
        threading.Thread(target=produce, args=(range(k, min(k + share, len(traces))),))
        for k in range(0, len(traces), share)
    ]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    writer.close()
    peak_rss = _peak_rss_mb()
    returned = [at for _, _, at in commits]
    wall = returned[-1] - start
    latencies = [
        (returned[b - first_batch] - s) * 1000 for b, s in zip(batch_of, submitted, strict=True)
    ]
    sizes = [n for n, _, _ in commits]
    commit_ms = [s * 1000 for _, s, _ in commits]
    assert sum(sizes) == len(traces) == writer.committed, (sum(sizes), writer.committed)
    assert _stored(client, release, len(traces)) == len(traces)
    v0 = time.perf_counter()
    _, verified, problems = svc.verify_traces(client.ctx)
    verify_s = time.perf_counter() - v0
    assert not problems, problems[:3]
    return {
        "traces": len(traces),
        "wall_s": round(wall, 3),
        "traces_per_s": round(len(traces) / wall),
        "build_traces_per_s": round(len(traces) / build_s),
        "batches": len(sizes),
        "batch_mean": round(statistics.fmean(sizes), 1),
        "batch_p50": _pct(sizes, 0.5),
        "batch_max": max(sizes),
        "commit_p50_ms": round(_pct(commit_ms, 0.5), 2),
        "commit_p99_ms": round(_pct(commit_ms, 0.99), 2),
        "ack_p50_ms": round(_pct(latencies, 0.5), 2),
        "ack_p99_ms": round(_pct(latencies, 0.99), 2),
        "ack_max_ms": round(max(latencies), 2),
        "peak_rss_mb": round(peak_rss, 1),
        "base_rss_mb": round(base_rss, 1),
        "verify_s": round(verify_s, 2),
        "verified_traces": verified,
    }


def run_ingest(client: Client, args: argparse.Namespace, release: str) -> dict[str, Any]:
    """The plain-ingest phase (child side): one thread, fixed batches."""
    t0 = time.perf_counter()
    traces = make_traces(release, args.traces)
    build_s = time.perf_counter() - t0
    base_rss = _peak_rss_mb()
    per_batch: list[float] = []
    start = time.perf_counter()
    for at in range(0, len(traces), args.ingest_batch):
        b0 = time.perf_counter()
        svc.ingest(client.ctx, traces[at : at + args.ingest_batch])
        per_batch.append((time.perf_counter() - b0) * 1000)
    wall = time.perf_counter() - start
    assert _stored(client, release, len(traces)) == len(traces)
    return {
        "traces": len(traces),
        "wall_s": round(wall, 3),
        "traces_per_s": round(len(traces) / wall),
        "build_traces_per_s": round(len(traces) / build_s),
        "batches": len(per_batch),
        "batch_size": args.ingest_batch,
        "batch_p50_ms": round(_pct(per_batch, 0.5), 2),
        "batch_p99_ms": round(_pct(per_batch, 0.99), 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "base_rss_mb": round(base_rss, 1),
    }


# Where a trace's time goes on the ingest path: (depth, label, file suffix, function name)
# whose cumulative time cProfile reports; depth 1 is a part of the depth-0 line above it.
COSTS = (
    (0, "trace_row: canonical body + digest", "monitoring/trace.py", "trace_row"),
    (1, "pydantic model_dump", "pydantic/main.py", "model_dump"),
    (1, "json.dumps (sort_keys)", "json/__init__.py", "dumps"),
    (0, "insert_trace_batch: SQL insert", "sql/monitoring.py", "insert_trace_batch"),
    (1, "_values (row dicts)", "sql/monitoring.py", "_values"),
    (1, "SQLAlchemy bind processing", "sql/compiler.py", "construct_params"),
    (1, "driver executemany", "engine/default.py", "do_executemany"),
    (0, "commit (fsync)", "engine/default.py", "do_commit"),
    (0, "connection close (WAL checkpoint)", "engine/base.py", "close"),
    (0, "append_audit", "store/sql/__init__.py", "append_audit"),
)


def run_profile(client: Client, args: argparse.Namespace, release: str) -> dict[str, Any]:
    """cProfile of ``ingest`` (child side): µs per trace in each of :data:`COSTS` and the top
    functions by own time (cProfile roughly doubles Python-heavy costs: compare shares)."""
    traces = make_traces(release, PROFILE_TRACES)
    profiler = cProfile.Profile()
    profiler.enable()
    for at in range(0, len(traces), args.ingest_batch):
        svc.ingest(client.ctx, traces[at : at + args.ingest_batch])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in table.values())
    costs: dict[str, float] = {}
    for _depth, label, suffix, name in COSTS:
        cumulative = sum(
            v[3] for (f, _line, fn), v in table.items() if fn == name and f.endswith(suffix)
        )
        costs[label] = round(cumulative / len(traces) * 1e6, 1)
    costs["total"] = round(total / len(traces) * 1e6, 1)
    stats.sort_stats("tottime").print_stats(15)
    return {"traces": len(traces), "us_per_trace": costs, "report": out.getvalue()}


PHASES = {"writer": run_writer, "ingest": run_ingest, "profile": run_profile}


def run_phase(phase: str, url: str, work: Path, argv: list[str]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter; return its result."""
    cmd = [sys.executable, __file__, *argv, "--database-url", url, "--phase", phase]
    proc = subprocess.run([*cmd, "--work", str(work)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench phase {phase} failed:\n{proc.stdout}{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _argv(args: argparse.Namespace) -> list[str]:
    return [
        "--traces", str(args.traces), "--producers", str(args.producers),
        "--in-flight", str(args.in_flight), "--max-batch", str(args.max_batch),
        "--linger-ms", str(args.linger_ms), "--ingest-batch", str(args.ingest_batch),
        "--writer", args.writer,
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--traces", type=int, default=200_000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--in-flight", type=int, default=512, help="open requests per producer")
    parser.add_argument("--max-batch", type=int, default=2000)
    parser.add_argument("--linger-ms", type=float, default=2.0)
    parser.add_argument("--ingest-batch", type=int, default=2000)
    parser.add_argument(
        "--writer", choices=["process", "thread"], default="process",
        help="who commits: an ingest process (as airel serve gateway) or a thread",
    )  # fmt: skip
    parser.add_argument("--target", type=float, default=20_000.0, help="writer traces/s")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", action="store_true", help="also cProfile plain ingest")
    parser.add_argument("--json", action="store_true", help="print the result JSON only")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        with _client(args.database_url, Path(args.work)) as client:
            release = f"BENCH-{args.phase.upper()}-{os.getpid()}"
            print(json.dumps(PHASES[args.phase](client, args, release)))
        return 0

    with tempfile.TemporaryDirectory(prefix="airel-bench-traces-") as tmp:
        work = Path(tmp)
        results: dict[str, dict[str, Any]] = {}
        phases = ["writer", "ingest", *(["profile"] if args.profile else [])]
        for phase in phases:
            url = args.database_url or f"sqlite:///{work / phase / 'airel.db'}"
            (work / phase).mkdir()
            with _client(url, work / phase) as client:
                client.init()
            results[phase] = run_phase(phase, url, work / phase, _argv(args))
    backend = (args.database_url or "sqlite").split(":", 1)[0].split("+", 1)[0]
    writer, ingest = results["writer"], results["ingest"]
    result: dict[str, Any] = {
        "bench": "traces",
        "airel": airel.__version__,
        "python": platform.python_version(),
        "backend": backend,
        "producers": args.producers,
        "writer_kind": args.writer,
        "in_flight": args.producers * args.in_flight,
        "max_batch": args.max_batch,
        "linger_ms": args.linger_ms,
        "writer": writer,
        "ingest": ingest,
        "load1": round(os.getloadavg()[0], 2),
        "target_traces_per_s": args.target,
        "ok": writer["traces_per_s"] >= args.target,
    }
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0 if result["ok"] else 1
    if "profile" in results:
        profile = results["profile"]
        print(profile["report"])
        print(f"ingest under cProfile, {profile['traces']:,} traces: µs per trace")
        depth = {label: d for d, label, _, _ in COSTS}
        for label, us in profile["us_per_trace"].items():
            print(f"  {'  ' * depth.get(label, 0) + label:<40}{us:>8}")
        result["profile_us_per_trace"] = profile["us_per_trace"]
    print(
        f"{'path':<26}{'traces/s':>10}{'batches':>9}{'mean':>8}{'ack p50 ms':>12}"
        f"{'ack p99 ms':>12}{'peak RSS MB':>13}{'of which traces':>17}"
    )
    print(
        f"{'writer (' + args.writer + ')':<26}{writer['traces_per_s']:>10,}{writer['batches']:>9}"
        f"{writer['batch_mean']:>8}{writer['ack_p50_ms']:>12}{writer['ack_p99_ms']:>12}"
        f"{writer['peak_rss_mb']:>13}{writer['base_rss_mb']:>17}"
    )
    print(
        f"{'ingest, batches of ' + str(args.ingest_batch):<26}{ingest['traces_per_s']:>10,}"
        f"{ingest['batches']:>9}{ingest['batch_size']:>8}{ingest['batch_p50_ms']:>12}"
        f"{ingest['batch_p99_ms']:>12}{ingest['peak_rss_mb']:>13}{ingest['base_rss_mb']:>17}"
    )
    print(
        f"(ingest: the ack columns are ms per batch. 'of which traces': RSS once the traces were "
        f"built, at {writer['build_traces_per_s']:,}/s, before the clock; writer commit p50 "
        f"{writer['commit_p50_ms']} ms, p99 {writer['commit_p99_ms']} ms; verify_traces "
        f"{writer['verify_s']} s)"
    )
    print("RESULT_JSON: " + json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
