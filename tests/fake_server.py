"""A tiny local fake HTTP endpoint for eval targets and LLM judges (tests of the eval context).

``/json`` answers the item, ``/chat`` speaks the OpenAI chat shape, ``/hang`` sleeps, ``/fail``
errors; see the handler for every route.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_S = 3.0  # how long /hang sleeps at most; cut short when the server stops


class FakeServer:
    """An HTTP server on 127.0.0.1 (port 0) in a thread, stopped by the fixture."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.stop = threading.Event()
        self.flaky_left = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    return  # the client gave up (a timeout test)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"null")
                outer.requests.append((self.path, payload))
                outer.route(self, payload)

        self.handler_type = Handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, h: Any, payload: Any) -> None:
        """Fault routes match by prefix, so ``/500/v1/chat/completions`` fails too."""
        path = h.path
        if path == "/json":
            h._reply(200, json.dumps({"echo": payload}).encode())
        elif path.startswith("/500"):
            h._reply(500, b"internal boom")
        elif path.startswith("/badjson"):
            h._reply(200, b"{not json")
        elif path.startswith("/nan"):
            h._reply(200, b'{"score": NaN}')
        elif path.startswith("/redirect"):
            h._reply(302, b"", {"Location": self.url + "/json"})
        elif path.startswith("/hang"):
            self.stop.wait(HANG_S)
            h._reply(200, b"{}")
        elif path.startswith("/flaky"):
            if self.flaky_left > 0:
                self.flaky_left -= 1
                h._reply(503, b"try later")
            else:
                h._reply(200, b'{"ok": true}')
        elif path.endswith("/chat/completions"):
            h._reply(200, json.dumps(self.chat(payload)).encode())
        else:
            h._reply(404, b"no such route")

    def chat(self, payload: dict[str, Any]) -> dict[str, Any]:
        """OpenAI-style answer; as a judge (system prompt present) the user text picks it."""
        messages = payload["messages"]
        text = messages[-1]["content"]
        if messages[0]["role"] == "system":
            if "GARBLE" in text:
                content = "Looks good to me!"
            elif "FENCE" in text:
                content = '```json\n{"score": 0.8, "verdict": "pass", "reason": "ok"}\n```'
            elif "RANGE" in text:
                content = '{"score": 7, "verdict": "pass"}'
            elif "GOOD" in text:
                content = '{"score": 0.9, "verdict": "pass", "reason": "correct"}'
            else:
                content = '{"score": 0.1, "verdict": "fail", "reason": "wrong"}'
        elif text == "NOCONTENT":
            return {"choices": []}
        else:
            content = f"answer: {text}"
        return {
            "id": "chatcmpl-1",
            "model": payload["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def verdict_body(text: str) -> dict[str, Any]:
    good = "GOOD" in text
    content = json.dumps({"score": 0.9 if good else 0.1, "verdict": "pass" if good else "fail"})
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


class JudgeServer(FakeServer):
    """FakeServer plus judge routes that fail, wait, count in-flight calls and echo headers.

    Routes (prefixes before ``/v1/chat/completions``): ``/flaky`` 429 (Retry-After: 0), then
    503, then a verdict, per item; ``/down`` always 503; ``/wait`` 429 with Retry-After: 1 once
    per item; ``/later`` 429 with Retry-After: 30; ``/slow`` an item whose answer says SLOW
    waits 3 s; ``/pool`` the call for answer ``An`` takes 0.05 + 0.01 × (12 - n) s, so later
    items finish first; ``/echo401`` and ``/echo200`` send the Authorization header back.
    """

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[dict[str, str]] = []
        self.seen: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def route(self, h: Any, payload: Any) -> None:
        path = h.path
        text = payload["messages"][-1]["content"] if isinstance(payload, dict) else ""
        key = text.split("Answer: ")[-1].split("\n")[0]
        with self.lock:
            self.headers.append(dict(h.headers))
            self.seen[key] += 1
            self.times.setdefault(key, []).append(time.monotonic())
            attempt = self.seen[key]
        if path.startswith("/flaky"):
            if attempt == 1:
                h._reply(429, b"slow down", {"Retry-After": "0"})
            elif attempt == 2:
                h._reply(503, b"busy")
            else:
                h._reply(200, json.dumps(verdict_body(text)).encode())
        elif path.startswith("/down"):
            h._reply(503, b"down for maintenance")
        elif path.startswith("/wait"):
            if attempt == 1:
                h._reply(429, b"wait a second", {"Retry-After": "1"})
            else:
                h._reply(200, json.dumps(verdict_body(text)).encode())
        elif path.startswith("/later"):
            h._reply(429, b"come back later", {"Retry-After": "30"})
        elif path.startswith("/slow"):
            if "SLOW" in text:
                self.stop.wait(3.0)
            h._reply(200, json.dumps(verdict_body(text)).encode())
        elif path.startswith("/pool"):
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            index = int(key.removeprefix("A"))
            time.sleep(0.05 + 0.01 * (12 - index))
            with self.lock:
                self.in_flight -= 1
            h._reply(
                200, json.dumps(verdict_body(f"GOOD {index}" if index % 2 else "bad")).encode()
            )
        elif path.startswith("/echo401"):
            h._reply(401, f"invalid key {h.headers.get('Authorization')}".encode())
        elif path.startswith("/echo200"):
            body = verdict_body("GOOD")
            body["echo"] = {"auth": h.headers.get("Authorization"), "org": h.headers.get("X-Org")}
            h._reply(200, json.dumps(body).encode())
        else:
            super().route(h, payload)
