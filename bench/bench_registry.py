"""Benchmark: register 10,000 component versions, then query lineage over them.

Each registration goes through the real path: a YAML spec file is parsed strictly,
validated, its references resolved, and stored with its lineage edges and audit entry in one
durable transaction (SQLite WAL, synchronous=FULL). The graph: one root dataset; 400 source
datasets derived from it, each with a chain of 20 dataset versions; 2,000 models trained on
the chain ends; 50 frozen releases. Lineage is then walked downstream from one source ("which
releases used X"), upstream from a release ("what went into Y"), and downstream from the root
(the whole graph: every version and every release).

``--writes N`` isolates the write path instead: N small registrations (a dataset version
with one parent, so each transaction writes a component row, one lineage edge and its audit
entry) through the SDK, with the time spent in the audit-record binding (issue 18: the
read-back SELECT and digest of each written row, ``RecordWrites.bind``, and the index insert,
``attach_records``) measured inside the same calls when the store has it.

    .venv/bin/python bench/bench_registry.py [--versions 10000] [--database-url URL]
    .venv/bin/python bench/bench_registry.py --writes 2000 [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airel import Client
from airel.config import load_settings

WORK = Path(__file__).parent / ".work" / "registry"

BINDING: Any  # the store's audit-record binding (issue 18), None on an older store
try:
    from airel.store.sql.records import RecordWrites as BINDING
except ImportError:
    BINDING = None
HASH = "sha256:" + "c" * 64


def dataset(name: str, version: str, parent: str | None) -> str:
    derived = f"derived_from: ['{parent}']\n" if parent else ""
    return (
        f"kind: dataset\nname: {name}\nversion: '{version}'\nowner: data\n"
        "source_lineage: [core.ledger]\nsnapshot: {query: 'select 1', partition: p}\n"
        "schema: {a: int64}\nclassification: internal\nretention: 7y\n"
        f"allowed_use: [bench]\nrow_count: 1\ncontent_hash: '{HASH}'\n{derived}"
    )


def model(version: str, data: str) -> str:
    return (
        f"kind: model\nname: bench-model\nversion: '{version}'\nowner: ml\nrisk_tier: 2\n"
        "signature: {inputs: [{name: a}], outputs: [{name: s}]}\n"
        f"training_run_id: T{version}\ntraining_dataset: '{data}'\nartifact_hash: '{HASH}'\n"
    )


def _timed(owner: Any, name: str, spent: list[float]) -> Callable[[], None]:
    """Wrap ``owner.name`` so the wall and CPU time spent in it are added to ``spent[0]``
    and ``spent[1]``; return the undo."""
    original = getattr(owner, name, None)
    if original is None:  # a store without the record binding (before issue 18)
        return lambda: None

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0
            spent[1] += time.process_time() - c0

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def writes(client: Client, count: int) -> dict[str, Any]:
    """``count`` small registrations through the SDK; latency and binding cost per call.

    Wall time includes the fsync of each durable transaction and whatever else the machine
    runs; CPU time (this process) is the work airel itself does, less sensitive to load.
    """
    bind, attach = [0.0, 0.0], [0.0, 0.0]
    undo = [_timed(BINDING, "bind", bind), _timed(BINDING, "attach_records", attach)]
    spec_dir = WORK / "specs"
    (spec_dir / "root.yaml").write_text(dataset("DS-W", "root", None))
    client.registry.register(spec_dir / "root.yaml")
    bind[:] = attach[:] = [0.0, 0.0]
    latencies: list[float] = []
    cpu = 0.0
    for i in range(count):
        path = spec_dir / f"w{i}.yaml"
        path.write_text(dataset("DS-W", str(i), "DS-W:root"))
        t0, c0 = time.perf_counter(), time.process_time()
        client.registry.register(path)
        cpu += time.process_time() - c0
        latencies.append(time.perf_counter() - t0)
    for u in undo:
        u()
    total = sum(latencies)
    latencies.sort()

    def ms(seconds: float) -> float:
        return round(seconds / count * 1000, 3)

    return {
        "bench": "registry_writes",
        "writes": count,
        "binding": BINDING is not None,
        "per_s": round(count / total, 1),
        "mean_ms": ms(total),
        "p50_ms": round(latencies[count // 2] * 1000, 3),
        "p95_ms": round(latencies[int(count * 0.95)] * 1000, 3),
        "cpu_ms": ms(cpu),
        "bind_ms": ms(bind[0]),
        "bind_cpu_ms": ms(bind[1]),
        "attach_records_ms": ms(attach[0]),
        "attach_records_cpu_ms": ms(attach[1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--writes", type=int, default=None, help="time N small registrations")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "specs").mkdir(parents=True)
    url = args.database_url or f"sqlite:///{WORK / 'airel.db'}"
    client = Client(load_settings({"database_url": url, "home": str(WORK)}, cwd=WORK))
    client.init()
    result = writes(client, args.writes) if args.writes else registry(client, args.versions)
    print(json.dumps(result, indent=2))
    print("RESULT_JSON: " + json.dumps(result))
    client.close()


def registry(client: Client, versions: int) -> dict[str, Any]:
    """Register ``versions`` component versions, freeze 50 releases, time lineage walks."""
    chain = 20
    sources = max(1, (versions * 8 // 10) // chain)
    models = versions - sources * chain
    spec_dir = WORK / "specs"
    latencies: list[float] = []
    started = time.perf_counter()
    n = 0

    def register(text: str) -> None:
        nonlocal n
        path = spec_dir / f"{n}.yaml"
        path.write_text(text)
        t0 = time.perf_counter()
        client.registry.register(path)
        latencies.append(time.perf_counter() - t0)
        n += 1

    register(dataset("DS-ROOT", "1", None))  # every source derives from it: a 10k-node walk
    for s in range(sources):
        parent = "DS-ROOT:1"
        for v in range(chain):
            register(dataset(f"DS-{s:04d}", str(v), parent))
            parent = f"DS-{s:04d}:{v}"
    for m in range(models):
        register(model(f"1.{m}", f"DS-{m % sources:04d}:{chain - 1}"))
    elapsed = time.perf_counter() - started

    releases = 50
    for r in range(releases):
        path = spec_dir / f"release-{r}.yaml"
        path.write_text(
            f"release_id: BENCH-{r:03d}\nuse_case_id: BENCH\nrisk_tier: 2\n"
            f"pipeline_type: classifier\ndata: {{training_snapshot: 'DS-{r % sources:04d}:"
            f"{chain - 1}'}}\nmodel: {{model_id: bench-model, model_version: '1.{r}'}}\n"
        )
        client.bundles.create(path, freeze=True, allow_incomplete="benchmark release")

    down, up, wide = [], [], []
    for _ in range(5):
        t0 = time.perf_counter()
        whole = client.registry.lineage("dataset/DS-ROOT:1", direction="downstream")
        wide.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        graph = client.registry.lineage("dataset/DS-0000:0", direction="downstream")
        down.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        upg = client.registry.lineage("BENCH-000", direction="upstream")
        up.append(time.perf_counter() - t0)
    latencies.sort()
    result = {
        "bench": "registry",
        "versions": n,
        "register_total_s": round(elapsed, 2),
        "register_per_s": round(n / elapsed, 1),
        "register_p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "register_p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
        "lineage_downstream_ms": round(statistics.median(down) * 1000, 2),
        "downstream_nodes": len(graph.nodes),
        "downstream_releases": len(graph.releases()),
        "lineage_upstream_ms": round(statistics.median(up) * 1000, 2),
        "upstream_nodes": len(upg.nodes),
        "lineage_whole_graph_ms": round(statistics.median(wide) * 1000, 1),
        "whole_graph_nodes": len(whole.nodes),
        "whole_graph_releases": len(whole.releases()),
    }
    return result


if __name__ == "__main__":
    main()
