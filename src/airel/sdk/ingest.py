"""The trace ingest process: how the gateway starts it, and its entry point.

``airel serve gateway`` commits traces in a separate interpreter (see
:mod:`airel.services.monitoring.writer`): :func:`ingest_process` is the recipe the
:class:`~airel.services.monitoring.writer.PipedTraceWriter` calls to start it. The child is a
plain ``python -m airel.sdk.ingest FD`` — not a ``multiprocessing`` spawn, which re-imports the
parent's main module and so breaks any script, notebook or server that embeds the gateway
without an ``if __name__ == "__main__"`` guard. Parent and child share one end each of a Unix
socket pair (the child's inherited as ``FD``); the first message is the store's settings
(JSON: where the store is and whom it records, never a secret), then batches.

The child runs in its own session, so a Ctrl-C at the terminal reaches the gateway only: the
gateway flushes its last batch and then tells the child to stop. If the gateway dies, the
child reads the end of the socket and exits; nothing is left behind.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from airel.config import Settings

SETTINGS_MAX_BYTES = 64 * 1024  # the first message: the settings as JSON


def _settings_message(settings: Settings) -> bytes:
    return json.dumps(
        {
            "home": str(settings.home),
            "database_url": settings.database_url,
            "artifact_root": str(settings.artifact_root),
            "actor": settings.actor,
            "max_document_bytes": settings.max_document_bytes,
            "busy_timeout_s": settings.busy_timeout_s,
        }
    ).encode()


def _settings_from(data: bytes) -> Settings:
    v = json.loads(data)
    return Settings(
        home=Path(v["home"]),
        database_url=str(v["database_url"]),
        artifact_root=Path(v["artifact_root"]),
        actor=str(v["actor"]),
        max_document_bytes=int(v["max_document_bytes"]),
        busy_timeout_s=float(v["busy_timeout_s"]),
    )


def ingest_process(
    settings: Settings,
) -> Callable[[], tuple[Connection, subprocess.Popen[bytes]]]:
    """How to start a trace ingest process over the store of ``settings``: a fresh interpreter
    that inherits nothing of this one's threads, connections or main module."""

    def start() -> tuple[Connection, subprocess.Popen[bytes]]:
        ours, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own module, an fd
                [sys.executable, "-m", "airel.sdk.ingest", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        conn.send_bytes(_settings_message(settings))
        return conn, proc

    return start


def main(argv: list[str]) -> int:
    """The child: settings from the socket, then :func:`serve_ingest` until told to stop."""
    from airel.client import Client  # noqa: PLC0415 - the child's own composition root
    from airel.services.monitoring.writer import serve_ingest  # noqa: PLC0415

    conn = Connection(int(argv[0]))
    try:
        settings = _settings_from(conn.recv_bytes(SETTINGS_MAX_BYTES))
    except (EOFError, OSError):  # the gateway went away before it said where the store is
        return 1
    serve_ingest(lambda: Client(settings).ctx, conn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
