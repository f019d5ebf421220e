"""Benchmark: ``airel audit verify`` over N audit entries (default 1,000,000; target <= 10 s).

Two store shapes, both bulk-inserted with the same payload, hashing and digest code the store
uses (``canonical_details``, ``hash_entry``, ``row_digest``, ``record_key``):

* ``--records`` (default): every entry is an ``alias.set`` that wrote one real ``alias_moves``
  row; the row's content digest is in the entry's hashed details under ``records`` and in the
  ``audit_records`` index, as the store writes them (issue 18). Times ``verify_audit()``
  (chain + every live record re-hashed, the default) and ``verify_audit(records=False)`` (the
  chain only, what ``airel audit verify --chain-only`` runs).
* ``--chain-only``: the pre-issue-18 shape, entries without records; times
  ``verify_audit(records=False)`` (the old figure).

Each timed verify runs in a fresh child process (so its peak RSS is the verify's own, not the
build's), the modes interleaved, ``--runs`` times each; the bench exits non-zero unless every
report is ok, covers the N entries plus those ``init`` wrote and, with records, has
``records_checked`` == N plus the rows ``init`` wrote (none before the identities change).

    .venv/bin/python bench/bench_audit.py [--entries 1000000] [--chain-only] [--runs 3]
        [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airel import Client
from airel.config import load_settings
from airel.domain.release.audit import canonical_details, hash_entry
from airel.domain.release.records import (
    RECORDS_KEY,
    RecordRef,
    RecordTable,
    record_key,
    row_digest,
)
from airel.store import schema as t

WORK = Path(__file__).parent / ".work" / "audit"
BATCH = 50_000
AFTER = "sha256:" + "ab" * 32
KIND, NAME, ALIAS = "model", "fraud-score", "prod"


def _at(i: int) -> str:
    minute, second = (i // 60_000) % 60, (i // 1000) % 60
    return f"2026-11-25T10:{minute:02d}:{second:02d}.{i % 1_000_000:06d}Z"


def _client(url: str) -> Client:
    return Client(load_settings({"database_url": url, "home": str(WORK)}, cwd=WORK))


def build(client: Client, entries: int, *, records: bool) -> None:
    """Append ``entries`` chained entries after the init entry, in batches of ``BATCH``.

    With ``records``, entry ``i`` is the ``alias.set`` that wrote ``alias_moves`` row
    ``(model, fraud-score, prod, i + 1)``; its digest (over every column, as stored) goes into
    the entry's hashed details and into the ``audit_records`` index.
    """
    engine = client.ctx.store.engine  # type: ignore[attr-defined]
    with client.ctx.store.read() as tx:
        seq, prev = tx.audit_head()
    audit: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    index: list[dict[str, Any]] = []
    table = RecordTable.ALIAS_MOVES.value
    with engine.begin() as conn:

        def flush() -> None:
            if moves:
                conn.execute(t.alias_moves.insert(), moves)
                conn.execute(t.audit_records.insert(), index)
            conn.execute(t.audit_log.insert(), audit)
            for batch in (audit, moves, index):
                batch.clear()

        for i in range(entries):
            seq += 1
            at = _at(i)
            if records:
                version = i + 1
                subject = f"{KIND}/{NAME}@{ALIAS}"
                row = {
                    "kind": KIND,
                    "name": NAME,
                    "alias": ALIAS,
                    "seq": version,
                    "from_version": str(i) if i else None,
                    "to_version": str(version),
                    "at": at,
                    "actor": "bench",
                    "reason": None,
                }
                key = record_key([KIND, NAME, ALIAS, version])
                digest = row_digest(table, row)
                moves.append(row)
                index.append(
                    {"seq": seq, "pos": 0, "table_name": table, "record_key": key, "digest": digest}
                )
                action = "alias.set"
                body: dict[str, Any] = {
                    "from": row["from_version"],
                    "to": row["to_version"],
                    "row_version": version,
                    "reason": None,
                    RECORDS_KEY: [{"table": table, "key": key, "digest": digest}],
                }
            else:
                subject = f"model/fraud-score:{i}"
                action = "component.register"
                body = {"artifact": None, "i": i}
            details = canonical_details(body)
            h = hash_entry(seq, prev, at, "bench", action, subject, None, AFTER, details)
            audit.append(
                {
                    "seq": seq,
                    "prev_hash": prev,
                    "entry_hash": h,
                    "at": at,
                    "actor": "bench",
                    "action": action,
                    "subject": subject,
                    "before_digest": None,
                    "after_digest": AFTER,
                    "details_json": details,
                }
            )
            prev = h
            if len(audit) == BATCH:
                flush()
        if audit:
            flush()
        conn.execute(
            t.audit_head.update().where(t.audit_head.c.id == 1).values(seq=seq, entry_hash=prev)
        )
    if records and entries:
        # The digests above were computed from the inserted values; check a few rows the way
        # the gate engine does (read back every column as stored, re-hash, match the entry
        # that vouches for it), so a wrong build fails here and not as a slow verify.
        refs = [
            RecordRef(RecordTable.ALIAS_MOVES, (KIND, NAME, ALIAS, v))
            for v in sorted({1, entries // 2 + 1, entries})
        ]
        with client.ctx.store.read() as tx:
            problems = tx.check_records(refs)
        if problems:
            raise SystemExit(f"bench build is wrong: {[p.to_dict() for p in problems]}")


def _peak_rss_mb() -> float:
    """This process's peak RSS. ``VmHWM`` is reset by exec; ``ru_maxrss`` is not (a child
    would report the parent's peak at fork), so it is only the fallback off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def verify_once(url: str, mode: str, entries: int, baseline: tuple[int, int]) -> dict[str, Any]:
    """One timed verify in this process (the child side); fails loudly on a bad report.

    ``baseline``: the (entries, records) ``init`` itself wrote, verified as well.
    """
    client = _client(url)
    base = _peak_rss_mb()
    t0 = time.perf_counter()
    report = client.audit.verify(records=mode == "records")
    wall = time.perf_counter() - t0
    peak = _peak_rss_mb()
    client.close()
    expected = None if mode == "chain" else entries + baseline[1]
    total = entries + baseline[0]
    if not report.ok or report.entries != total or report.records_checked != expected:
        raise SystemExit(
            f"verify ({mode}) failed: ok={report.ok} entries={report.entries} "
            f"records_checked={report.records_checked} (expected {expected}) "
            f"problems={list(report.problems[:3])} record_problems={report.record_problems[:3]}"
        )
    return {
        "mode": mode,
        "wall_s": wall,
        "peak_rss_mb": peak,
        "base_rss_mb": base,
        "entries": report.entries,
        "records_checked": report.records_checked,
    }


def run_child(url: str, mode: str, entries: int, baseline: tuple[int, int]) -> dict[str, Any]:
    """Run :func:`verify_once` in a fresh interpreter; return its result."""
    cmd = [sys.executable, __file__, "--entries", str(entries), "--database-url", url]
    cmd += ["--baseline", f"{baseline[0]},{baseline[1]}"]
    proc = subprocess.run(
        [*cmd, "--verify-child", mode], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"verify child ({mode}) failed:\n{proc.stdout}{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def parse_baseline(text: str) -> tuple[int, int]:
    entries, records = text.split(",")
    return int(entries), int(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=3)
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument(
        "--records", action="store_true", help="entries that wrote records (default)"
    )
    shape.add_argument("--chain-only", action="store_true", help="entries without records")
    parser.add_argument("--verify-child", choices=["records", "chain"], help=argparse.SUPPRESS)
    parser.add_argument("--baseline", default="1,0", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.verify_child:
        base = parse_baseline(args.baseline)
        result = verify_once(args.database_url, args.verify_child, args.entries, base)
        print(json.dumps(result))
        return

    records = not args.chain_only
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    url = args.database_url or f"sqlite:///{WORK / 'airel.db'}"
    client = _client(url)
    client.init()
    empty = client.audit.verify()  # what init wrote: its entries and record rows
    baseline = (empty.entries, empty.records_checked or 0)
    t0 = time.perf_counter()
    build(client, args.entries, records=records)
    client.close()
    shape_name = "records" if records else "chain-only"
    print(f"built {args.entries:,} entries ({shape_name}) in {time.perf_counter() - t0:.1f} s")

    modes = ["records", "chain"] if records else ["chain"]
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for _ in range(args.runs):
        for mode in modes:  # interleaved, so load changes hit both modes alike
            result = run_child(url, mode, args.entries, baseline)
            result["load1"] = os.getloadavg()[0]
            runs[mode].append(result)
            print(
                f"  {mode:8s} {result['wall_s']:6.2f} s  peak RSS {result['peak_rss_mb']:6.1f} MB"
                f"  (before verify {result['base_rss_mb']:.1f} MB)  load {result['load1']:.2f}"
            )
    for mode in modes:
        walls = [r["wall_s"] for r in runs[mode]]
        median = statistics.median(walls)
        peak = statistics.median(r["peak_rss_mb"] for r in runs[mode])
        base = statistics.median(r["base_rss_mb"] for r in runs[mode])
        entries = runs[mode][0]["entries"]
        label = "chain + records re-hashed" if mode == "records" else "chain only"
        print(
            f"audit verify ({label}) over {entries:,} entries: median {median:.2f} s "
            f"(runs {', '.join(f'{x:.2f}' for x in walls)}), {entries / median:,.0f} entries/s, "
            f"peak RSS {peak:.0f} MB (before verify {base:.0f} MB)"
        )
        print(
            "RESULT_JSON: "
            + json.dumps(
                {
                    "bench": "audit_verify",
                    "store": shape_name,
                    "mode": mode,
                    "entries": entries,
                    "records_checked": runs[mode][0]["records_checked"],
                    "median_s": round(median, 3),
                    "runs_s": [round(x, 3) for x in walls],
                    "peak_rss_mb": round(peak, 1),
                    "base_rss_mb": round(base, 1),
                    "load1": [round(r["load1"], 2) for r in runs[mode]],
                    "target_s": 10.0,
                    "ok": median <= 10.0,
                }
            )
        )


if __name__ == "__main__":
    main()
