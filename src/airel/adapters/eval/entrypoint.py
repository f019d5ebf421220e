"""Evaluating a Python entry point ``module:function`` in a separate process, item by item.

:func:`call_entry_point` starts one worker process (:mod:`airel.adapters.eval.worker`) for the
batch, imports the function there (with ``cwd`` as working directory and first on
``PYTHONPATH``), and sends the items one at a time as JSON lines, reading one JSON line back
per item. The evaluated code never runs in airel's process, so it cannot corrupt airel's state,
hold its locks or take it down.

Per-item outcomes (never raised):

* the function returns → ``ok`` with its output and the latency measured in the worker;
* it raises (anything, ``SystemExit`` included) → ``error`` with ``"Type: message"``;
* it does not answer within ``timeout_s`` → ``timeout``; the worker (and its process group)
  is killed and a fresh one serves the remaining items;
* the worker dies mid-item → ``error`` with its exit code and the tail of its stderr, and a
  fresh worker serves the rest;
* the module cannot be imported → every item ``error`` with the import failure.

Only a malformed ``spec`` or bad items raise (``ValidationError``), before anything runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from airel.adapters.eval.call import Call, item_ids
from airel.errors import Reason, ValidationError

__all__ = ["call_entry_point", "parse_spec"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SPEC = re.compile(rf"^{_IDENT}(?:\.{_IDENT})*:{_IDENT}(?:\.{_IDENT})*$")
_SRC_DIR = Path(__file__).resolve().parents[2]  # the directory holding the airel package
_STDERR_TAIL = 2000
_EOF = None


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``"pkg.module:function"`` (or ``module:Class.method``) into module and attribute."""
    if not isinstance(spec, str) or not _SPEC.match(spec):
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"entry point {spec!r} is not of the form 'package.module:function'",
            fix="name a module and a callable in it, e.g. 'my_model.predict:score'",
            details={"spec": repr(spec)},
        )
    module, _, attr = spec.partition(":")
    return module, attr


class _Worker:
    """One worker process and a thread turning its stdout into a queue of messages."""

    def __init__(self, cwd: Path | None, env: Mapping[str, str], stderr: IO[bytes]) -> None:
        self.stderr = stderr
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airel.adapters.eval.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=cwd,
            env=dict(env),
            start_new_session=sys.platform != "win32",
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            for line in stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # not ours; the protocol stream only carries JSON objects
                if isinstance(message, dict):
                    self.messages.put(message)
        finally:
            self.messages.put(_EOF)

    def send(self, message: Mapping[str, Any]) -> bool:
        """Write one line; False when the worker is gone."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write((json.dumps(message, allow_nan=False) + "\n").encode("utf-8"))
            stdin.flush()
        except OSError:
            return False
        return True

    def receive(self, timeout_s: float) -> dict[str, Any] | None:
        """The next message; None when the worker exited; raises queue.Empty on timeout."""
        return self.messages.get(timeout=timeout_s)

    def death(self) -> str:
        """Why the worker is gone: its exit code and the end of its stderr."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - _STDERR_TAIL))
        tail = self.stderr.read().decode("utf-8", "replace").strip()
        code = self.proc.returncode
        return f"worker exited with code {code}" + (f": {tail}" if tail else "")

    def kill(self) -> None:
        if self.proc.poll() is None:
            if sys.platform != "win32":
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
        self.close()

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _env(cwd: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    parts = [str(cwd)] if cwd is not None else []
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    parts.append(str(_SRC_DIR))
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def _failed(item_id: str, error: str, latency_ms: float = 0.0) -> Call:
    return Call(item_id=item_id, output=None, status="error", error=error, latency_ms=latency_ms)


def _from_message(item_id: str, message: Mapping[str, Any]) -> Call:
    latency = float(message.get("latency_ms", 0.0))
    if message.get("status") == "ok":
        output = message.get("output")
        return Call(item_id=item_id, output=output, status="ok", error=None, latency_ms=latency)
    return _failed(item_id, str(message.get("error") or "the function failed"), latency)


def call_entry_point(
    spec: str,
    items: Sequence[Mapping[str, Any]],
    *,
    timeout_s: float,
    cwd: Path | None = None,
    id_key: str = "id",
    startup_timeout_s: float = 60.0,
    max_output_bytes: int = 16 * 1024 * 1024,
) -> list[Call]:
    """Call ``spec`` once per item (the item dict is its one argument), in item order.

    ``timeout_s`` bounds each item; ``startup_timeout_s`` bounds importing the module.
    """
    parse_spec(spec)
    if timeout_s <= 0 or startup_timeout_s <= 0:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "timeouts must be positive",
            details={"timeout_s": timeout_s, "startup_timeout_s": startup_timeout_s},
        )
    ids = item_ids(items, id_key)
    env = _env(cwd)
    calls: list[Call] = []
    header = {"spec": spec, "max_output_bytes": max_output_bytes}
    while len(calls) < len(items):
        with tempfile.TemporaryFile() as stderr:
            worker = _Worker(cwd, env, stderr)
            try:
                problem = _start(worker, header, startup_timeout_s)
                if problem is not None:
                    calls.extend(_failed(item_id, problem) for item_id in ids[len(calls) :])
                    break
                _serve(worker, items, ids, calls, timeout_s)
            finally:
                if len(calls) < len(items) or worker.proc.poll() is not None:
                    worker.kill()  # replaced mid-batch (timeout, crash) or failed to start
                else:
                    worker.close()  # end of input: the worker exits on its own
    return calls


def _start(worker: _Worker, header: Mapping[str, Any], startup_timeout_s: float) -> str | None:
    """None when the worker imported the function; otherwise why every item fails."""
    if not worker.send(header):
        return worker.death()
    try:
        ready = worker.receive(startup_timeout_s)
    except queue.Empty:
        return f"the entry point did not import within {startup_timeout_s:g} s"
    if ready is None:
        return worker.death()
    if not ready.get("ready"):
        return f"cannot load {header['spec']}: {ready.get('error')}"
    return None


def _serve(
    worker: _Worker,
    items: Sequence[Mapping[str, Any]],
    ids: Sequence[str],
    calls: list[Call],
    timeout_s: float,
) -> None:
    """Serve items until all are done or the worker must be replaced."""
    while len(calls) < len(items):
        index = len(calls)
        item_id = ids[index]
        try:
            json.dumps(items[index], allow_nan=False)
        except (TypeError, ValueError) as exc:
            calls.append(_failed(item_id, f"item is not JSON-serialisable: {exc}"))
            continue
        start = time.perf_counter()
        if not worker.send({"item": items[index]}):
            calls.append(_failed(item_id, worker.death()))
            return
        try:
            message = worker.receive(timeout_s)
        except queue.Empty:
            elapsed = (time.perf_counter() - start) * 1000.0
            calls.append(
                Call(
                    item_id=item_id,
                    output=None,
                    status="timeout",
                    error=f"no answer within {timeout_s:g} s",
                    latency_ms=elapsed,
                )
            )
            return
        if message is None:
            calls.append(_failed(item_id, worker.death()))
            return
        calls.append(_from_message(item_id, message))
