"""Benchmark: airel's streaming SHA-256 (``hash_file``) against coreutils ``sha256sum``.

Creates a test file (1 GiB by default) under ``bench/.work/``, reads it once to warm the page
cache, then times ``sha256sum`` and :func:`airel.adapters.files.blobs.hash_file` ``--runs`` times
each
and compares medians. ``BlobStore.ingest`` (hash while copying into a fresh store, with fsync) is
timed too, for information only. Prints a ``RESULT_JSON: {...}`` line and exits 1 when
hash_file's throughput is below ``--min-ratio`` (default 0.9) of sha256sum's.

Usage::

    .venv/bin/python bench/bench_hash.py [--size-mib 1024] [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from airel.adapters.files.blobs import CHUNK, BlobStore, hash_file

WORK = Path(__file__).resolve().parent / ".work"
PATTERN_MIB = 64  # random block repeated to fill the file: fast to write, not compressible


def make_file(path: Path, size: int) -> None:
    """Write ``size`` bytes of repeated ``os.urandom`` content."""
    block = os.urandom(min(size, PATTERN_MIB << 20))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(left, len(block))
            fh.write(block[:n] if n < len(block) else block)
            left -= n


def warm(path: Path) -> None:
    """Read the whole file once so every timed run reads from the page cache."""
    buf = bytearray(CHUNK)
    with path.open("rb", buffering=0) as fh:
        while fh.readinto(buf):
            pass


def timed(fn: Callable[[], str], runs: int) -> tuple[list[float], str]:
    times: list[float] = []
    result = ""
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def run_sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return "sha256:" + out.stdout.split()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024, help="test file size (MiB)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool")
    parser.add_argument("--min-ratio", type=float, default=0.9, help="fail below this ratio")
    parser.add_argument("--no-ingest", action="store_true", help="skip the ingest measurement")
    parser.add_argument("--keep", action="store_true", help="keep the test file afterwards")
    args = parser.parse_args(argv)
    if shutil.which("sha256sum") is None:
        print("sha256sum is not installed; nothing to compare against", file=sys.stderr)
        return 2

    size: int = int(args.size_mib) << 20
    data = WORK / f"bench-{args.size_mib}MiB.bin"
    store_root = WORK / "store"
    try:
        print(f"writing {args.size_mib} MiB to {data} ...", flush=True)
        make_file(data, size)
        warm(data)

        sums, sum_digest = timed(lambda: run_sha256sum(data), args.runs)
        ours, our_digest = timed(lambda: hash_file(data)[0], args.runs)
        if sum_digest != our_digest:
            print(f"DIGEST DIFFERS: sha256sum {sum_digest} airel {our_digest}", file=sys.stderr)
            return 1

        ingests: list[float] = []
        if not args.no_ingest:
            for _ in range(args.runs):
                shutil.rmtree(store_root, ignore_errors=True)
                store = BlobStore(store_root)
                start = time.perf_counter()
                ref = store.ingest(data.parent, data.name)
                ingests.append(time.perf_counter() - start)
                assert ref.digest == our_digest
    finally:
        shutil.rmtree(store_root, ignore_errors=True)
        if not args.keep:
            data.unlink(missing_ok=True)

    def mbps(seconds: float) -> float:
        return size / seconds / 1e6

    sum_med, our_med = statistics.median(sums), statistics.median(ours)
    ratio = sum_med / our_med  # airel throughput / sha256sum throughput
    result: dict[str, object] = {
        "size_mib": args.size_mib,
        "runs": args.runs,
        "sha256sum_median_s": round(sum_med, 4),
        "sha256sum_mb_s": round(mbps(sum_med), 1),
        "hash_file_median_s": round(our_med, 4),
        "hash_file_mb_s": round(mbps(our_med), 1),
        "ratio": round(ratio, 3),
        "min_ratio": args.min_ratio,
        "pass": ratio >= args.min_ratio,
        "sha256sum_runs_s": [round(t, 4) for t in sums],
        "hash_file_runs_s": [round(t, 4) for t in ours],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if ingests:
        ing_med = statistics.median(ingests)
        result |= {
            "ingest_median_s": round(ing_med, 4),
            "ingest_mb_s": round(mbps(ing_med), 1),
            "ingest_runs_s": [round(t, 4) for t in ingests],
        }
    print(f"sha256sum : median {sum_med:.3f} s  {mbps(sum_med):8.1f} MB/s")
    print(f"hash_file : median {our_med:.3f} s  {mbps(our_med):8.1f} MB/s  ratio {ratio:.2f}")
    if ingests:
        ing_med = statistics.median(ingests)
        print(f"ingest    : median {ing_med:.3f} s  {mbps(ing_med):8.1f} MB/s  (hash+copy+fsync)")
    print("RESULT_JSON: " + json.dumps(result, sort_keys=True))
    return 0 if ratio >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
