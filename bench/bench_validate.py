"""Benchmark: airel's data validation against the streaming Arrow + numpy floor (issue 3).

Generates the peer benchmark data (``../shared/bench-peers/gen_data.py``: N rows × 40 columns,
reference + current, 5 drifted columns) under ``bench/.work/peers/<size>``, then times, as
separate processes under ``/usr/bin/time -v`` with a warm page cache:

- ``floor_h``: ``floor_h_streaming_rowgroups.py`` (one pass, streamed row groups, 2 threads),
- ``airel full``: ``bench/airel_peer.py --mode full`` (profile both files, run the checks),
- ``airel cached``: ``bench/airel_peer.py --mode cached`` (reference profile loaded from JSON).

Rounds interleave the three (so background load hits them alike); before each run the script
waits (up to ``--max-wait`` s) for the machine to be quiet, as ``bench-peers/bench.py`` does,
and records the CPU other processes used during the run. Reports the median wall time and
peak RSS, prints a table and one ``RESULT_JSON:`` line per tool, and exits 1 when a target is
missed: full ≤ 1.5× floor, cached ≤ 1.0× floor, 5/5 drift found with 0 false positives, and
(at 5m) peak RSS ≤ 1 GiB.

Usage::

    .venv/bin/python bench/bench_validate.py [--size 1m|5m] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = Path(os.environ.get("AIREL_BENCH_PEERS", ROOT.parent / "shared" / "bench-peers"))
WORK = HERE / ".work" / "peers"
SIZES = {"1m": 1_000_000, "5m": 5_000_000}
FULL_RATIO, CACHED_RATIO, RSS_LIMIT_MB = 1.5, 1.0, 1024.0
HZ = os.sysconf("SC_CLK_TCK")


def cpu_total() -> float:
    """Busy CPU seconds of the whole machine so far."""
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:]))
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / HZ


def wait_quiet(max_wait: float) -> float:
    """Wait until other processes use < 0.25 CPU; return the last busy reading."""
    start = time.time()
    busy = 0.0
    while time.time() - start < max_wait:
        a = cpu_total()
        time.sleep(2)
        busy = (cpu_total() - a) / 2
        if busy < 0.25:
            break
        time.sleep(3)
    return busy


def ensure_data(size: str) -> Path:
    """Generate the reference/current files once per size."""
    out = WORK / size
    if not (out / "current.parquet").is_file():
        out.mkdir(parents=True, exist_ok=True)
        gen = PEERS / "gen_data.py"
        subprocess.run([sys.executable, str(gen), str(SIZES[size]), str(out)], check=True)
    return out


def warm(data: Path) -> None:
    """Read both inputs once so every run starts with a warm page cache."""
    for name in ("reference.parquet", "current.parquet"):
        with (data / name).open("rb") as fh:
            while fh.read(1 << 24):
                pass


def run_once(cmd: list[str], cwd: Path) -> dict[str, Any]:
    """One process under /usr/bin/time -v: wall, peak RSS, CPU, others' CPU, RESULT_JSON."""
    c0 = cpu_total()
    p = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], cwd=cwd, capture_output=True, text=True, check=False
    )
    cpu_all = cpu_total() - c0
    err = p.stderr
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", err)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    user = re.search(r"User time \(seconds\): ([\d.]+)", err)
    sys_ = re.search(r"System time \(seconds\): ([\d.]+)", err)
    if p.returncode != 0 or not (wall and rss and user and sys_):
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{err[-3000:]}")
    wall_s = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    cpu_self = float(user.group(1)) + float(sys_.group(1))
    result = None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT_JSON: "):
            result = json.loads(line[len("RESULT_JSON: ") :])
    return {
        "wall_s": wall_s,
        "rss_mb": int(rss.group(1)) / 1024,
        "cpu_s": cpu_self,
        "other_cpu_s": round(cpu_all - cpu_self, 2),
        "result": result,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="1m")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-wait", type=float, default=120.0)
    args = ap.parse_args()
    data = ensure_data(args.size)
    cache = data / "reference.airel-profile.json"
    py = sys.executable
    tools = {
        "floor_h": ([py, str(PEERS / "floor_h_streaming_rowgroups.py"), str(data)], PEERS),
        "airel full": (
            [py, str(HERE / "airel_peer.py"), str(data), "--mode", "full", "--cache", str(cache)],
            ROOT,
        ),
        "airel cached": (
            [py, str(HERE / "airel_peer.py"), str(data), "--mode", "cached", "--cache", str(cache)],
            ROOT,
        ),
    }
    warm(data)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in tools}
    for i in range(args.runs):
        for name, (cmd, cwd) in tools.items():
            busy = wait_quiet(args.max_wait)
            r = run_once(cmd, cwd)
            r["busy_before"] = round(busy, 2)
            runs[name].append(r)
            print(
                f"run {i + 1} {name:<13} {r['wall_s']:6.2f} s {r['rss_mb']:7.0f} MB "
                f"cpu {r['cpu_s']:.2f} s, others {r['other_cpu_s']:.2f} s",
                flush=True,
            )
    summary = {
        name: {
            "wall_s": statistics.median(r["wall_s"] for r in rs),
            "rss_mb": statistics.median(r["rss_mb"] for r in rs),
            "cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "walls": [r["wall_s"] for r in rs],
            "other_cpu_s": [r["other_cpu_s"] for r in rs],
            "result": rs[-1]["result"],
        }
        for name, rs in runs.items()
    }
    floor = summary["floor_h"]["wall_s"]
    print(f"\n{args.size} rows, median of {args.runs} (wall s / peak RSS MB / × floor_h)")
    print("| tool | wall s | peak RSS MB | × floor_h | drift found / false positives |")
    print("|---|---|---|---|---|")
    for name, s in summary.items():
        res = s["result"] or {}
        drift = f"{res.get('drift_true_found')} / {len(res.get('drift_false_pos', []))}"
        ratio = s["wall_s"] / floor
        print(f"| {name} | {s['wall_s']:.2f} | {s['rss_mb']:.0f} | {ratio:.2f} | {drift} |")
    failures = []
    for name, limit in (("airel full", FULL_RATIO), ("airel cached", CACHED_RATIO)):
        s = summary[name]
        res = s["result"] or {}
        if s["wall_s"] > limit * floor:
            failures.append(f"{name}: {s['wall_s']:.2f} s > {limit} × floor {floor:.2f} s")
        if res.get("drift_true_found") != 5 or res.get("drift_false_pos"):
            failures.append(f"{name}: drift {res.get('drift_flagged')}")
        if args.size == "5m" and s["rss_mb"] > RSS_LIMIT_MB:
            failures.append(f"{name}: peak RSS {s['rss_mb']:.0f} MB > {RSS_LIMIT_MB:.0f} MB")
    for name, s in summary.items():
        record = {"tool": name, "size": args.size, **s, "ratio_to_floor": s["wall_s"] / floor}
        print("RESULT_JSON: " + json.dumps(record))
    for f in failures:
        print("TARGET MISSED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
