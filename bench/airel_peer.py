"""airel as a peer of ``../shared/bench-peers``: validate current.parquet against reference.parquet.

Usage::

    airel_peer.py DIR [--mode full|cached] [--cache FILE] [--threads N]

``full`` profiles both files with the Arrow engine (and writes the reference profile as JSON to
``--cache``, default ``DIR/reference.airel-profile.json``); ``cached`` loads that reference
profile and profiles only the current file — a release check against a stored reference. The
mode can also come from ``AIREL_PEER_MODE`` (``run.sh`` passes only the data directory).

Next to the floors and peers (``run.sh`` resolves the script relative to its own directory and
runs ``$PEERS_ROOT/<venv>/bin/python``)::

    ln -s /work/main/.venv ~/.cache/airel-peers/airel
    cd ../shared/bench-peers
    ./run.sh 1m airel:../../main/bench/airel_peer   # full (writes the reference profile)
    AIREL_PEER_MODE=cached ./run.sh 1m airel:../../main/bench/airel_peer:airel_cached

The checks are airel's own (``airel.domain.data.checks.run_checks``) with a spec inferred from
the reference profile (every column declared with its type; no declared bounds, so no range
rule): schema, drift (PSI/JS/KS+Wasserstein with the documented defaults), missingness and
cardinality. The script prints one ``RESULT_JSON:`` line in the shape of ``common.emit``
(tool, version, drift_flagged, drift_true_found, drift_false_pos, quality, extra, inproc_s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from airel import __version__
from airel.adapters.arrow.engine import ProfileOptions, profile_path
from airel.domain.data.checks import run_checks
from airel.domain.data.featurespec import infer_spec
from airel.domain.data.findings import Dimension
from airel.domain.data.profile import Profile, profile_from_dict, profile_to_dict

T0 = time.time()  # as common.py (imported after the heavy imports): in-process time from here

DRIFT_TRUTH = ["num_03", "num_11", "num_22", "cat_2", "cat_7"]  # as common.DRIFT_TRUTH


def emit(
    tool: str,
    version: str,
    drift_flagged: list[str],
    quality: dict[str, list[str]],
    extra: dict[str, object],
) -> None:
    """Print the line ``common.emit`` prints (same keys, same rounding)."""
    flagged = sorted(set(drift_flagged))
    res = {
        "tool": tool,
        "version": version,
        "drift_flagged": flagged,
        "drift_true_found": sum(c in flagged for c in DRIFT_TRUTH),
        "drift_false_pos": [c for c in flagged if c not in DRIFT_TRUTH],
        "quality": quality,
        "extra": extra,
        "inproc_s": round(time.time() - T0, 2),
    }
    print("RESULT_JSON: " + json.dumps(res))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument(
        "--mode", choices=["full", "cached"], default=os.environ.get("AIREL_PEER_MODE", "full")
    )
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    cache = args.cache or args.dir / "reference.airel-profile.json"
    opts = ProfileOptions(threads=args.threads)
    timings: dict[str, float] = {}
    t = time.time()
    if args.mode == "cached":
        if not cache.is_file():
            sys.exit(f"no cached reference profile at {cache}: run --mode full first")
        reference: Profile = profile_from_dict(json.loads(cache.read_text()))
        timings["load_reference_s"] = time.time() - t
    else:
        reference = profile_path(args.dir / "reference.parquet", opts)
        timings["profile_reference_s"] = time.time() - t
        cache.write_text(json.dumps(profile_to_dict(reference)))
    t = time.time()
    current = profile_path(args.dir / "current.parquet", opts)
    timings["profile_current_s"] = time.time() - t
    t = time.time()
    spec = infer_spec(reference)
    findings = run_checks(
        spec, reference, current, use_case=None, as_of=datetime.now(UTC), skew=None
    )
    timings["checks_s"] = time.time() - t
    drift = [f.column for f in findings if f.dimension is Dimension.DISTRIBUTION and f.column]
    quality: dict[str, list[str]] = {}
    for f in findings:
        if f.dimension is not Dimension.DISTRIBUTION and f.column:
            quality.setdefault(f.reason.value, []).append(f.column)
    emit(
        f"airel-{args.mode}",
        __version__,
        drift,
        {k: sorted(set(v)) for k, v in sorted(quality.items())},
        extra={
            "mode": args.mode,
            "engine": current.engine,
            "rows": [reference.rows, current.rows],
            "findings": len(findings),
            "rule": "airel drift defaults (PSI>0.2 | KS>0.1&W/sd>0.1 | JS>0.1)",
            **{k: round(v, 3) for k, v in timings.items()},
        },
    )


if __name__ == "__main__":
    main()
