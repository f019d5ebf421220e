"""The child process that runs a ``module:function`` entry point for :mod:`eval_entrypoint`.

Run as ``python -m airel.adapters.eval.worker`` with the working directory and ``PYTHONPATH``
of the code under evaluation; it speaks JSON lines (one object per line, UTF-8):

1. parent → worker ``{"spec": "pkg.mod:func", "max_output_bytes": n}``;
   worker → parent ``{"ready": true}`` or ``{"ready": false, "error": "ImportError: ..."}``.
2. for each item, parent → worker ``{"item": {...}}``; worker → parent
   ``{"status": "ok", "output": ..., "latency_ms": t}`` or
   ``{"status": "error", "error": "ValueError: ...", "latency_ms": t}``.
3. end of input → the worker exits.

The protocol runs on a private duplicate of the original stdout; file descriptor 1 and
``sys.stdout`` are pointed at stderr before user code is imported, so a ``print`` in the
evaluated function cannot corrupt the stream. Latency is measured here, around the call only.
This module imports nothing from airel, so the worker starts fast.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any

__all__ = ["main", "resolve"]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def resolve(spec: str) -> Callable[[Any], Any]:
    """Import ``module:attr.path`` and return the callable it names."""
    module_name, _, attr_path = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec} is a {type(target).__name__}, not a callable")
    fn: Callable[[Any], Any] = target
    return fn


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message, allow_nan=False) + "\n")
    out.flush()


def _run_one(fn: Callable[[Any], Any], item: Any, max_output_bytes: int) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        output = fn(item)
    except BaseException as exc:  # the item's failure, whatever it is (SystemExit included)
        if isinstance(exc, KeyboardInterrupt):
            raise
        elapsed = (time.perf_counter() - start) * 1000.0
        return {"status": "error", "error": _describe(exc), "latency_ms": elapsed}
    elapsed = (time.perf_counter() - start) * 1000.0
    try:
        encoded = json.dumps(output, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return {
            "status": "error",
            "error": f"output is not JSON-serialisable: {_describe(exc)}",
            "latency_ms": elapsed,
        }
    if len(encoded) > max_output_bytes:
        return {
            "status": "error",
            "error": f"output is larger than {max_output_bytes} bytes as JSON",
            "latency_ms": elapsed,
        }
    return {"status": "ok", "output": output, "latency_ms": elapsed}


def main() -> int:
    """Serve one spec's items from stdin until end of input."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    header_line = sys.stdin.readline()
    if not header_line:
        return 0
    header = json.loads(header_line)
    max_output_bytes = int(header.get("max_output_bytes", 16 * 1024 * 1024))
    try:
        fn = resolve(str(header["spec"]))
    except BaseException as exc:  # an import that fails or exits is reported, not crashed on
        if isinstance(exc, KeyboardInterrupt):
            raise
        _send(proto, {"ready": False, "error": _describe(exc)})
        return 1
    _send(proto, {"ready": True})
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)["item"]
        _send(proto, _run_one(fn, item, max_output_bytes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
