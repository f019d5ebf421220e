"""What an eval run evaluates (E1-E3): predictions files, entry points, HTTP endpoints.

Every per-item failure (raise, hang, crash, 500, invalid JSON) must be recorded as a Call with
status error/timeout and never counted as an answer (E3); only bad arguments raise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airel.adapters.eval.targets import (
    Call,
    call_entry_point,
    call_http,
    chat_url,
    read_predictions,
)
from airel.errors import NotFoundError, ParseError, Reason, ValidationError
from fake_server import HANG_S, FakeServer


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


ITEMS = [{"id": "a", "prompt": "hi"}, {"id": "b", "prompt": "there"}]

# ---------------------------------------------------------------------------------------------
# HTTP endpoints
# ---------------------------------------------------------------------------------------------


def test_http_json_mode_posts_item_and_parses_answer(server: FakeServer) -> None:
    """E3: json mode; output is the parsed answer and latency is recorded."""
    calls = call_http(server.url + "/json", ITEMS, timeout_s=5)
    assert [c.item_id for c in calls] == ["a", "b"]
    assert all(c.status == "ok" for c in calls)
    assert calls[0].output == {"echo": {"id": "a", "prompt": "hi"}}
    assert calls[0].latency_ms > 0
    assert calls[0].tokens_in is None
    assert calls[0].cost is None


def test_http_openai_chat_mode_tokens_and_cost(server: FakeServer) -> None:
    """E3: cost and latency measured: tokens from usage, cost from the per-1k price table."""
    calls = call_http(
        server.url,
        ITEMS,
        mode="openai_chat",
        model="m-1",
        timeout_s=5,
        price_per_1k_in=0.5,
        price_per_1k_out=2.0,
    )
    first = calls[0]
    assert first.status == "ok"
    assert first.output == "answer: hi"
    assert (first.tokens_in, first.tokens_out) == (100, 20)
    assert first.cost == pytest.approx(0.1 * 0.5 + 0.02 * 2.0)
    assert first.raw["model"] == "m-1"
    path, payload = server.requests[0]
    assert path == "/v1/chat/completions"
    assert payload == {"model": "m-1", "messages": [{"role": "user", "content": "hi"}]}


def test_http_openai_chat_without_prices_has_no_cost(server: FakeServer) -> None:
    """E3: cost is None when no price is known (never a made-up zero)."""
    calls = call_http(server.url + "/v1", ITEMS[:1], mode="openai_chat", model="m", timeout_s=5)
    assert calls[0].tokens_in == 100
    assert calls[0].cost is None


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/500", "error", "HTTP 500"),
        ("/badjson", "error", "invalid JSON"),
        ("/nan", "error", "invalid JSON"),
        ("/redirect", "error", "HTTP 302"),
        ("/nowhere", "error", "HTTP 404"),
    ],
)
def test_http_failures_are_recorded_not_raised(
    server: FakeServer, path: str, status: str, needle: str
) -> None:
    """E3: 500, invalid JSON and redirects are per-item errors, never passes or exceptions."""
    calls = call_http(server.url + path, ITEMS, timeout_s=5)
    assert [c.status for c in calls] == [status, status]
    assert all(c.output is None for c in calls)
    assert needle in (calls[0].error or "")


def test_http_hang_is_a_timeout(server: FakeServer) -> None:
    """E3: an endpoint that hangs gives a timeout per item, bounded by timeout_s."""
    start = time.perf_counter()
    calls = call_http(server.url + "/hang", ITEMS, timeout_s=0.3)
    assert time.perf_counter() - start < HANG_S
    assert [c.status for c in calls] == ["timeout", "timeout"]


def test_http_connection_refused_is_an_error() -> None:
    """E3: nothing listening is an error for the item, not an exception."""
    with FakeServer() as gone:
        url = gone.url
    calls = call_http(url + "/json", ITEMS[:1], timeout_s=2)
    assert calls[0].status == "error"
    assert "request failed" in (calls[0].error or "")


def test_http_retries_transient_failures(server: FakeServer) -> None:
    """E3: max_retries retries 5xx; without retries the item is an error."""
    server.flaky_left = 1
    assert call_http(server.url + "/flaky", ITEMS[:1], timeout_s=5)[0].status == "error"
    server.flaky_left = 2
    calls = call_http(server.url + "/flaky", ITEMS[:1], timeout_s=5, max_retries=2)
    assert calls[0].status == "ok"
    assert calls[0].output == {"ok": True}


def test_http_chat_answer_without_content_is_error(server: FakeServer) -> None:
    """E3: a chat response of the wrong shape is an error with the raw body kept."""
    items = [{"id": 1, "prompt": "NOCONTENT"}, {"id": 2, "other": "x"}]
    calls = call_http(server.url, items, mode="openai_chat", model="m", timeout_s=5)
    assert [c.status for c in calls] == ["error", "error"]
    assert calls[0].raw == {"choices": []}


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://h/", "http://", "/json"]
)
def test_http_refuses_other_schemes(url: str) -> None:
    """E3: only http/https URLs with a host are called."""
    with pytest.raises(ValidationError) as err:
        call_http(url, ITEMS, timeout_s=1)
    assert err.value.reason is Reason.INVALID_VALUE


def test_http_bad_arguments_raise() -> None:
    """E3: a chat mode without model, an unknown mode, duplicate ids are caller errors."""
    with pytest.raises(ValidationError) as err:
        call_http("http://127.0.0.1:1", ITEMS, mode="openai_chat", timeout_s=1)
    assert err.value.reason is Reason.MISSING_FIELD
    with pytest.raises(ValidationError) as err:
        call_http("http://127.0.0.1:1", ITEMS, mode=cast(Any, "grpc"), timeout_s=1)
    assert err.value.reason is Reason.INVALID_VALUE
    with pytest.raises(ValidationError) as err:
        call_http("http://127.0.0.1:1", [{"id": 1}, {"id": "1"}], timeout_s=1)
    assert err.value.reason is Reason.EVAL_DUPLICATE_ID


def test_chat_url_forms() -> None:
    """E3: base URLs with and without /v1 reach the chat completions route."""
    assert chat_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h/x/chat/completions") == "http://h/x/chat/completions"


def test_call_round_trips_and_refuses_silent_failure() -> None:
    """E3: a Call is JSON-able; a failed call must say why."""
    call = Call("x", {"a": 1}, "ok", None, 1.5, 3, 4, 0.01, {"raw": True})
    assert Call.from_dict(json.loads(json.dumps(call.to_dict()))) == call
    with pytest.raises(ValidationError):
        Call("x", None, "error", None, 0.0)
    with pytest.raises(ValidationError):
        Call("x", None, cast(Any, "passed"), None, 0.0)


# ---------------------------------------------------------------------------------------------
# Python entry points
# ---------------------------------------------------------------------------------------------

MODULE = """
import os, sys, time

def ok(item):
    print("noise on stdout must not break the protocol")
    return {"double": item["x"] * 2}

def boom(item):
    raise ValueError(f"bad item {item['x']}")

def hang_on_two(item):
    if item["x"] == 2:
        time.sleep(60)
    return item["x"]

def crash_on_one(item):
    if item["x"] == 1:
        os._exit(3)
    return item["x"]

def exits(item):
    sys.exit(4)

def unserialisable(item):
    return {1, 2}

class Scorer:
    @staticmethod
    def score(item):
        return 0.5
"""


@pytest.fixture
def ep_dir(tmp_path: Path) -> Path:
    (tmp_path / "evalmod.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "brokenmod.py").write_text("raise RuntimeError('import time')\n")
    return tmp_path


XS = [{"id": f"i{x}", "x": x} for x in range(4)]


def test_entry_point_ok_in_separate_process(ep_dir: Path) -> None:
    """E3: outputs per item, latency measured in the worker; prints do not corrupt results."""
    calls = call_entry_point("evalmod:ok", XS, timeout_s=10, cwd=ep_dir)
    assert [c.output for c in calls] == [{"double": 2 * x} for x in range(4)]
    assert all(c.status == "ok" and c.latency_ms >= 0 for c in calls)
    assert (
        call_entry_point("evalmod:Scorer.score", XS[:1], timeout_s=10, cwd=ep_dir)[0].output == 0.5
    )


def test_entry_point_raise_is_item_error(ep_dir: Path) -> None:
    """E3: a callable that raises gives error calls with the exception type."""
    calls = call_entry_point("evalmod:boom", XS[:2], timeout_s=10, cwd=ep_dir)
    assert [c.status for c in calls] == ["error", "error"]
    assert calls[1].error == "ValueError: bad item 1"


def test_entry_point_hang_times_out_and_rest_continue(ep_dir: Path) -> None:
    """E3: a callable that never returns is a timeout; the worker restarts for the rest."""
    start = time.perf_counter()
    calls = call_entry_point("evalmod:hang_on_two", XS, timeout_s=1.0, cwd=ep_dir)
    assert time.perf_counter() - start < 30
    assert [c.status for c in calls] == ["ok", "ok", "timeout", "ok"]
    assert calls[3].output == 3
    assert calls[2].latency_ms >= 1000


def test_entry_point_crash_and_exit_are_errors(ep_dir: Path) -> None:
    """E3: a worker that dies mid-item or a sys.exit is an error; later items still run."""
    calls = call_entry_point("evalmod:crash_on_one", XS, timeout_s=10, cwd=ep_dir)
    assert [c.status for c in calls] == ["ok", "error", "ok", "ok"]
    assert "code 3" in (calls[1].error or "")
    calls = call_entry_point("evalmod:exits", XS[:2], timeout_s=10, cwd=ep_dir)
    assert [c.error for c in calls] == ["SystemExit: 4", "SystemExit: 4"]
    calls = call_entry_point("evalmod:unserialisable", XS[:1], timeout_s=10, cwd=ep_dir)
    assert calls[0].status == "error"
    assert "JSON" in (calls[0].error or "")


@pytest.mark.parametrize("spec", ["nosuchmod:f", "evalmod:missing", "brokenmod:f"])
def test_entry_point_import_failure_errors_every_item(ep_dir: Path, spec: str) -> None:
    """E3: a module that cannot be loaded makes every item an error, never a pass."""
    calls = call_entry_point(spec, XS, timeout_s=10, cwd=ep_dir)
    assert len(calls) == 4
    assert all(c.status == "error" for c in calls)
    assert "cannot load" in (calls[0].error or "")


@pytest.mark.parametrize("spec", ["evalmod", "evalmod:", ":f", "a b:c", "m:f()", "m:f;x", "m::f"])
def test_entry_point_malformed_spec(ep_dir: Path, spec: str) -> None:
    """E3: a malformed spec is refused before any process starts."""
    with pytest.raises(ValidationError) as err:
        call_entry_point(spec, XS, timeout_s=1, cwd=ep_dir)
    assert err.value.reason is Reason.INVALID_VALUE


def test_entry_point_bad_items(ep_dir: Path) -> None:
    """E3: items need unique ids; an item that is not JSON is an error for that item only."""
    with pytest.raises(ValidationError) as err:
        call_entry_point("evalmod:ok", [{"x": 1}], timeout_s=1, cwd=ep_dir)
    assert err.value.reason is Reason.MISSING_FIELD
    items = [{"id": "n", "x": float("nan")}, {"id": "k", "x": 1}]
    calls = call_entry_point("evalmod:ok", items, timeout_s=10, cwd=ep_dir)
    assert [c.status for c in calls] == ["error", "ok"]
    assert call_entry_point("evalmod:ok", [], timeout_s=1, cwd=ep_dir) == []


# ---------------------------------------------------------------------------------------------
# Predictions files
# ---------------------------------------------------------------------------------------------

ROWS = [
    {"id": "007", "score": 0.9, "label": 1},
    {"id": "008", "score": 0.2, "label": 0},
]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".csv":
        cols = list(rows[0])
        lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_read_predictions_all_formats(tmp_path: Path, suffix: str) -> None:
    """E1/E3: one row per id in all three formats; CSV ids keep their leading zeros."""
    rows = read_predictions(_write(tmp_path / f"p{suffix}", ROWS))
    assert list(rows) == ["007", "008"]
    assert rows["007"]["score"] == pytest.approx(0.9)
    assert rows["008"]["label"] == 0


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_read_predictions_duplicate_id(tmp_path: Path, suffix: str) -> None:
    """E3 bad input: two predictions for one item are refused, not last-one-wins."""
    path = _write(tmp_path / f"p{suffix}", [*ROWS, {"id": "007", "score": 0.1, "label": 0}])
    with pytest.raises(ValidationError) as err:
        read_predictions(path)
    assert err.value.reason is Reason.EVAL_DUPLICATE_ID
    assert err.value.details["rows"] == [1, 3]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_read_predictions_missing_id_column(tmp_path: Path, suffix: str) -> None:
    """E3 bad input: predictions without the id column."""
    path = _write(tmp_path / f"p{suffix}", ROWS)
    with pytest.raises(ValidationError) as err:
        read_predictions(path, id_column="case_id")
    assert err.value.reason is Reason.COLUMN_MISSING


def test_read_predictions_custom_id_and_explicit_format(tmp_path: Path) -> None:
    """E3: id_column and fmt select the key and the reader."""
    path = _write(tmp_path / "p.data", ROWS)  # JSON lines under an unknown suffix
    rows = read_predictions(path, id_column="label", fmt="jsonl")
    assert sorted(rows) == ["0", "1"]
    with pytest.raises(ValidationError) as err:
        read_predictions(path)
    assert err.value.reason is Reason.INVALID_VALUE
    with pytest.raises(ValidationError):
        read_predictions(path, fmt="xlsx")


def test_read_predictions_bad_files(tmp_path: Path) -> None:
    """E3 bad input: missing, corrupt, bad JSON lines, NaN, empty ids."""
    with pytest.raises(NotFoundError) as nf:
        read_predictions(tmp_path / "absent.csv")
    assert nf.value.reason is Reason.ARTIFACT_MISSING
    corrupt = tmp_path / "c.parquet"
    corrupt.write_bytes(b"PAR1 not really")
    with pytest.raises(ValidationError) as err:
        read_predictions(corrupt)
    assert err.value.reason is Reason.DATA_UNREADABLE
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"id": 1}\n\n{"id": 2, "score": NaN}\n', encoding="utf-8")
    with pytest.raises(ParseError) as perr:
        read_predictions(bad)
    assert perr.value.reason is Reason.NON_FINITE_NUMBER
    assert perr.value.line == 3
    bad.write_text('{"id": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ParseError) as perr:
        read_predictions(bad)
    assert perr.value.reason is Reason.NOT_A_MAPPING
    bad.write_text('{"id": 1}\n{"id": null}\n', encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        read_predictions(bad)
    assert err.value.reason is Reason.MISSING_FIELD
