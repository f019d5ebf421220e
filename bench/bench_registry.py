"""Benchmark: register 10,000 component versions, then query lineage over them.

Each registration goes through the real path: a YAML spec file is parsed strictly,
validated, its references resolved, and stored with its lineage edges and audit entry in one
durable transaction (SQLite WAL, synchronous=FULL). The graph: one root dataset; 400 source
datasets derived from it, each with a chain of 20 dataset versions; 2,000 models trained on
the chain ends; 50 frozen releases. Lineage is then walked downstream from one source ("which
releases used X"), upstream from a release ("what went into Y"), and downstream from the root
(the whole graph: every version and every release).

    .venv/bin/python bench/bench_registry.py [--versions 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from airel import Client
from airel.config import load_settings

WORK = Path(__file__).parent / ".work" / "registry"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "specs").mkdir(parents=True)
    url = args.database_url or f"sqlite:///{WORK / 'airel.db'}"
    client = Client(load_settings({"database_url": url, "home": str(WORK)}, cwd=WORK))
    client.init()

    chain = 20
    sources = max(1, (args.versions * 8 // 10) // chain)
    models = args.versions - sources * chain
    spec_dir = WORK / "specs"
    latencies: list[float] = []
    started = time.perf_counter()
    n = 0

    def register(text: str) -> None:
        nonlocal n
        path = spec_dir / f"{n}.yaml"
        path.write_text(text)
        t0 = time.perf_counter()
        client.register(path)
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
        client.create_bundle(path)

    down, up, wide = [], [], []
    for _ in range(5):
        t0 = time.perf_counter()
        whole = client.lineage("dataset/DS-ROOT:1", direction="downstream")
        wide.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        graph = client.lineage("dataset/DS-0000:0", direction="downstream")
        down.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        upg = client.lineage("BENCH-000", direction="upstream")
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
    print(json.dumps(result, indent=2))
    print("RESULT_JSON: " + json.dumps(result))
    client.close()


if __name__ == "__main__":
    main()
