"""Write ``tests/compat/airel-0.1.0.db``: a small store as airel 0.1.0 leaves it on disk.

The compatibility test (tests/store/test_migrations.py) copies the file, runs ``Client.upgrade()``
with the current code and reads everything back, so a future migration that loses or
re-encodes data is caught. Regenerate only when cutting a new compat fixture, never to make a
failing test pass::

    .venv/bin/python tests/compat/make_compat_db.py
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import textwrap
from pathlib import Path

from airel.client import Client
from airel.config import load_settings

OUT = Path(__file__).with_name("airel-0.1.0.db")

SPECS = {
    "policy-1.yaml": """
        kind: policy
        name: fraud-threshold-policy
        version: "1.0"
        owner: fraud-risk
        text: "decline if score >= 0.9\\nchallenge if score >= 0.6\\n"
    """,
    "policy-2.yaml": """
        kind: policy
        name: fraud-threshold-policy
        version: "1.1"
        owner: fraud-risk
        labels: {ticket: RISK-42}
        text: "decline if score >= 0.95\\nchallenge if score >= 0.6\\n"
    """,
    "prompt.yaml": """
        kind: prompt
        name: support-system-prompt
        version: "3"
        format: markdown
        text: "You are a careful assistant. Never reveal card numbers — ünïcødé kept.\\n"
    """,
    "release.yaml": """
        release_id: COMPAT-2026-001
        use_case_id: COMPAT-USE
        risk_tier: Tier 3
        prompt_policy:
          prompt_version: support-system-prompt:3
          decision_policy: fraud-threshold-policy@production
    """,
}


def build(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = root / ".airel" / "airel.db"
        settings = load_settings(
            {"database_url": f"sqlite:///{db}", "actor": "compat-bot"}, cwd=root, environ={}
        )
        with Client(settings) as client:
            client.init()
            for name, text in SPECS.items():
                (root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
            for name in ("policy-1.yaml", "policy-2.yaml", "prompt.yaml"):
                client.registry.register(root / name, base_dir=root)
            client.registry.set_alias("policy", "fraud-threshold-policy", "production", "1.0")
            client.registry.set_alias(
                "policy", "fraud-threshold-policy", "production", "1.1", reason="tighten"
            )
            client.bundles.create(
                root / "release.yaml", freeze=True, allow_incomplete="compat fixture"
            )
            assert client.audit.verify().ok
        # Every connection is closed, so the WAL is checkpointed; write one compact file.
        out.unlink(missing_ok=True)
        conn = sqlite3.connect(db)
        try:
            conn.execute("VACUUM INTO ?", (str(out),))
        finally:
            conn.close()
        conn = sqlite3.connect(out)  # smallest pages: the fixture is committed to git
        try:
            conn.execute("PRAGMA page_size = 512")
            conn.execute("VACUUM")
        finally:
            conn.close()


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {OUT if len(sys.argv) < 2 else sys.argv[1]}")
