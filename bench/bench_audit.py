"""Benchmark: ``airel audit verify`` over N audit entries (default 1,000,000; target <= 10 s).

Builds a store with a real hash chain of N entries (bulk-inserted with the same payload and
hashing code the store uses), then times ``Client.verify_audit()`` end to end, three runs.

    .venv/bin/python bench/bench_audit.py [--entries 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from airel import Client
from airel.config import load_settings
from airel.domain.audit import canonical_details, hash_entry
from airel.store import schema as t

WORK = Path(__file__).parent / ".work" / "audit"


def build(client: Client, entries: int) -> None:
    """Append ``entries`` chained entries after the init entry, in batches."""
    engine = client.ctx.store.engine  # type: ignore[attr-defined]
    with client.ctx.store.read() as tx:
        seq, prev = tx.audit_head()
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:
        for i in range(entries):
            seq += 1
            minute, second = (i // 60_000) % 60, (i // 1000) % 60
            at = f"2026-11-25T10:{minute:02d}:{second:02d}.{i % 1_000_000:06d}Z"
            subject = f"model/fraud-score:{i}"
            details = canonical_details({"artifact": None, "i": i})
            h = hash_entry(
                seq,
                prev,
                at,
                "bench",
                "component.register",
                subject,
                None,
                "sha256:" + "ab" * 32,
                details,
            )
            batch.append(
                {
                    "seq": seq,
                    "prev_hash": prev,
                    "entry_hash": h,
                    "at": at,
                    "actor": "bench",
                    "action": "component.register",
                    "subject": subject,
                    "before_digest": None,
                    "after_digest": "sha256:" + "ab" * 32,
                    "details_json": details,
                }
            )
            prev = h
            if len(batch) == 50_000:
                conn.execute(t.audit_log.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(t.audit_log.insert(), batch)
        conn.execute(
            t.audit_head.update().where(t.audit_head.c.id == 1).values(seq=seq, entry_hash=prev)
        )
    _ = sa  # SQLAlchemy Core is used through the store's engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    url = args.database_url or f"sqlite:///{WORK / 'airel.db'}"
    client = Client(load_settings({"database_url": url, "home": str(WORK)}, cwd=WORK))
    client.init()
    t0 = time.perf_counter()
    build(client, args.entries)
    print(f"built {args.entries:,} entries in {time.perf_counter() - t0:.1f} s")
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        report = client.verify_audit()
        times.append(time.perf_counter() - t0)
        if not report.ok or report.entries != args.entries + 1:
            raise SystemExit(f"unexpected verify result: {report.problems[:3]}")
    median = statistics.median(times)
    print(
        f"audit verify over {report.entries:,} entries: median {median:.2f} s "
        f"(runs {', '.join(f'{x:.2f}' for x in times)}), "
        f"{report.entries / median:,.0f} entries/s"
    )
    print(
        "RESULT_JSON: "
        + json.dumps(
            {
                "bench": "audit_verify",
                "entries": report.entries,
                "median_s": round(median, 3),
                "target_s": 10.0,
                "ok": median <= 10.0,
            }
        )
    )
    client.close()


if __name__ == "__main__":
    main()
