"""A real upstream for the gateway tests: one process on a local port, answering as one release.

``python tests/gateway_upstream.py NAME LOG`` prints its port, then serves until killed. It
appends every request it receives (path, the X-Airel-* headers, the body) to LOG as JSON lines
and answers by path:

- ``/score``: ``{"release": NAME, "score": …, "airel": {...}}``; with ``"plant": NAME``
  (NAME the release) the answer reports a critical failure, with ``"propose": "write"`` it proposes
  a write-tool call (``case-note``) with an approval and an idempotency key;
- ``/fail`` (or ``"fail": NAME`` in the body): HTTP 500; ``/hang`` (or ``"hang": NAME``):
  sleeps 5 s.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NAME = sys.argv[1] if len(sys.argv) > 1 else "upstream"
LOG = sys.argv[2] if len(sys.argv) > 2 else None
_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length) or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-airel")}
        if LOG:
            with _lock, open(LOG, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"path": self.path, "headers": headers, "body": payload}))
                fh.write("\n")
        if self.path.startswith("/fail") or payload.get("fail") == NAME:
            self._reply(500, {"error": "boom"})
            return
        if self.path.startswith("/hang") or payload.get("hang") == NAME:
            time.sleep(5)
            self._reply(200, {"late": True})
            return
        meta: dict[str, Any] = {"cost": 0.002, "policy_decisions": ["auto-approve"]}
        if payload.get("plant") == NAME:
            meta["critical_failure"] = True
            meta["quality_flags"] = ["pii_leak"]
        if payload.get("propose") == "write":
            meta["tool_calls"] = [
                {"tool": "case-lookup", "arguments": {"case": 7}},
                {"tool": "case-note", "arguments": {"note": "x"}, "side_effect": True,
                 "approval": "CHG-1", "idempotency_key": payload.get("customer_id", "k")},
            ]  # fmt: skip
        self._reply(200, {"release": NAME, "score": 0.12, "airel": meta})


class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default backlog of 5 refuses a burst of connections


def main() -> None:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
