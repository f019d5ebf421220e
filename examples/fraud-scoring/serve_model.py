"""Serve one release's fraud model over HTTP: the upstream the airel gateway calls (demo).

``python serve_model.py --release ID --model models/candidate [--port 0]`` loads the model the
demo trained, the safe way the demo saved it: with ``skops``, trusting only the types
``train.py`` recorded for review in ``params.json`` (``skops_untrusted_types``) — a file that
asks for anything else is refused; pickle is never used. It listens on 127.0.0.1 (``--port``;
0: any free port) and prints the port as its first line on stdout.

``POST /score`` takes one authorisation as a JSON object (the model's input columns from its
``signature.json``, plus ``transaction_id``, ``customer_id`` and the caller's ``segments``)
and answers::

    {"release": ID, "transaction_id": …, "score": 0.031, "decision": "approve",
     "airel": {"feature_values": {...}, "policy_decisions": [...], "cost": 0.0001, …}}

The decision follows the demo's decision policy (``policies/decision_policy.yaml``: decline
from 0.92, challenge — step-up authentication — from 0.55, else approve; a vulnerable
customer is never declined but routed to an analyst, as is an amount above the guard's limit).
The ``airel`` object is the gateway's upstream contract: what the request's trace records.

Before it answers, the server checks its own decision against the policy: a decline below the
policy's decline threshold, or a decline of a customer the policy says must never be declined,
is reported as ``critical_failure`` (with a quality flag). ``--plant-critical-rate X`` plants
the production problem the demo's canary must catch: release 2.0's new reason-code path
declines a fraction X of authorisations (chosen by a hash of the transaction id, so the same
ones every run) whatever their score — and the check reports each such wrong decline.

Requests that arrive together are scored in one ``predict_proba`` call (a small batching
thread): scikit-learn's cost is per call, not per row, so this keeps a single-row request at
about one call's latency under concurrent load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import queue
import re
import signal
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

import pyarrow as pa
import sklearn
import skops.io as sio
import yaml

MAX_BODY = 65_536
MAX_BATCH = 256
COST_EUR = 0.0001  # the serving tier's price per scoring call (the same for both models)


def load_model(directory: Path) -> tuple[Any, pa.Schema]:
    """The model and its input schema; refused unless every type it needs was reviewed."""
    params = json.loads((directory / "params.json").read_text(encoding="utf-8"))
    reviewed = list(params["skops_untrusted_types"])
    needed = sio.get_untrusted_types(file=directory / "model.skops")
    unreviewed = sorted(set(needed) - set(reviewed))
    if unreviewed:
        raise SystemExit(f"{directory}/model.skops needs unreviewed types: {unreviewed}")
    model = sio.load(directory / "model.skops", trusted=reviewed)
    signature = json.loads((directory / "signature.json").read_text(encoding="utf-8"))
    schema = pa.schema([(i["name"], pa.type_for_alias(i["type"])) for i in signature["inputs"]])
    return model, schema


@dataclass(frozen=True)
class Policy:
    """The decision policy's thresholds and guards (``decision_policy.yaml``)."""

    decline: float
    challenge: float
    review_amount: float
    version: str

    @classmethod
    def load(cls, path: Path) -> Policy:
        text = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        version = re.search(r"\(version ([\w.]+)\)", text)  # its heading: "… (version 3.1)"
        return cls(
            decline=float(doc["route"]["decline"]["min_score"]),
            challenge=float(doc["route"]["challenge"]["min_score"]),
            review_amount=float(doc["guards"]["amount_eur_over"]["threshold"]),
            version=version[1] if version else "?",
        )


class ScoringError(RuntimeError):
    """The model could not score a batch (the server answers 500)."""


def checked(f: pa.Field, value: Any) -> Any:
    """``value`` as input column ``f`` takes it; ValueError when it is of another type (one
    bad row must not fail the batch it would be scored in)."""
    t = f.type
    if pa.types.is_boolean(t):
        ok = isinstance(value, bool)
    elif pa.types.is_integer(t):
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    elif pa.types.is_floating(t):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    else:
        ok = pa.types.is_string(t) and isinstance(value, str)
    if not ok:
        kind = f"a finite {t}" if pa.types.is_floating(t) else f"a {t}"
        raise ValueError(f"input {f.name!r} must be {kind}, not {value!r}")
    return float(value) if pa.types.is_floating(t) else value


@dataclass
class Job:
    """One row waiting for its score."""

    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    score: float | None = None
    error: str | None = None


class Scorer:
    """Scores rows in batches: whatever is queued when the model is free goes in one call."""

    def __init__(self, model: Any, schema: pa.Schema) -> None:
        self.model = model
        self.schema = schema
        self.jobs: queue.Queue[Job] = queue.Queue()
        threading.Thread(target=self._run, name="scorer", daemon=True).start()

    def score(self, row: dict[str, Any]) -> float:
        """The model's fraud probability for one checked row (ScoringError: the model
        failed)."""
        job = Job(row)
        self.jobs.put(job)
        job.done.wait()
        if job.score is None:
            raise ScoringError(job.error or "not scored")
        return job.score

    def _run(self) -> None:
        while True:
            batch = [self.jobs.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                table = pa.Table.from_pylist([j.row for j in batch], schema=self.schema)
                scores = self.model.predict_proba(table)[:, 1]
                for job, p in zip(batch, scores, strict=True):
                    job.score = float(p)
            except Exception as exc:  # the callers answer 500 with the reason
                for job in batch:
                    job.error = f"{type(exc).__name__}: {exc}"
            for job in batch:
                job.done.set()


def planted(transaction_id: str, rate: float) -> bool:
    """Whether the planted defect hits this transaction (a stable share ``rate`` of ids)."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"reason-code-path\x00{transaction_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


@dataclass(frozen=True)
class Service:
    """What the handler needs: the release, its scorer, the policy and the planted defect."""

    release: str
    scorer: Scorer
    policy: Policy
    plant_rate: float

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The scoring answer for one authorisation (ValueError: a bad request)."""
        features = {}
        for f in self.scorer.schema:
            if body.get(f.name) is None:
                raise ValueError(f"missing input {f.name!r}")
            features[f.name] = checked(f, body[f.name])
        txn = str(body.get("transaction_id", ""))
        segments = {str(s) for s in body.get("segments") or [] if isinstance(s, str)}
        vulnerable = "vulnerable-customers" in segments
        score = self.scorer.score(features)
        p = self.policy
        review = "not_required"
        if score >= p.decline:
            decision, why = "decline", f"decline: score >= {p.decline:g}"
        elif score >= p.challenge:
            decision, why = "challenge", f"challenge: score >= {p.challenge:g}"
        else:
            decision, why = "approve", f"approve: score < {p.challenge:g}"
        if vulnerable and decision == "decline":
            decision, why, review = "approve", "human review: vulnerable, never declined", "pending"
        elif float(features.get("amount", 0.0)) > p.review_amount:
            why, review = f"{why}; human review: amount > {p.review_amount:g} EUR", "pending"
        if planted(txn, self.plant_rate):  # release 2.0's new reason-code path (the defect)
            decision, why = "decline", "decline: reason code R-17 (new reason-code path)"
        flags = []
        if decision == "decline" and score < p.decline:
            flags.append("decline_below_policy_threshold")
        if decision == "decline" and vulnerable:
            flags.append("declined_vulnerable_customer")
        meta: dict[str, Any] = {
            "feature_values": features,
            "policy_decisions": [f"decision policy {p.version}", why],
            "cost": COST_EUR,
            "human_review_status": review,
            "customer_impact": decision == "decline",
        }
        if flags:  # the decision breaks the policy: a critical failure of this release
            meta["critical_failure"] = True
            meta["quality_flags"] = flags
        return {"release": self.release, "transaction_id": txn, "score": round(score, 6),
                "decision": decision, "airel": meta}  # fmt: skip


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses its connections
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK
    service: Service  # set on the class by main()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, {"status": "ok", "release": self.service.release})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        if self.path != "/score" or length > MAX_BODY:
            self.rfile.read(min(length, MAX_BODY))
            self._reply(404 if self.path != "/score" else 413, {"error": "POST /score"})
            return
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
            answer = self.service.answer(body)
        except ValueError as exc:  # includes malformed JSON
            self._reply(400, {"error": str(exc)})
            return
        except ScoringError as exc:
            self._reply(500, {"error": str(exc)})
            return
        self._reply(200, answer)


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default backlog of 5 refuses a burst of connections
    daemon_threads = True


def stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", required=True, help="the release id this model serves")
    parser.add_argument("--model", type=Path, required=True, help="models/baseline or candidate")
    parser.add_argument("--policy", type=Path, default=Path("policies/decision_policy.yaml"))
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument(
        "--plant-critical-rate",
        type=float,
        default=0.0,
        help="share of authorisations the planted defect declines wrongly (default 0)",
    )
    args = parser.parse_args()
    if not 0 <= args.plant_critical_rate <= 1:
        parser.error("--plant-critical-rate must be between 0 and 1")
    # inputs are checked against the signature above: skip the per-call NaN scan and checks
    sklearn.set_config(assume_finite=True, skip_parameter_validation=True)
    model, schema = load_model(args.model)
    Handler.service = Service(
        args.release, Scorer(model, schema), Policy.load(args.policy), args.plant_critical_rate
    )
    httpd = Server(("127.0.0.1", args.port), Handler)
    signal.signal(signal.SIGTERM, stop)
    print(httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        sys.stdout.close()


if __name__ == "__main__":
    main()
