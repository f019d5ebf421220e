"""Tests for the bounds of the YAML/JSON parser in :mod:`airel.adapters.documents.parse`.

What protects it from hostile or broken input: the size limit (checked before parsing, also on
huge sparse files and endless streams read by ``read_bounded``), UTF-8 decoding (byte offsets,
BOM, surrogates), the refusal of anchors and aliases (billion laughs), and the depth and node
count limits (no ``RecursionError``; a 1 MiB document still parses quickly).

Every rejection is asserted by its stable ``Reason`` code and its line, never by message text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from airel.adapters.documents.parse import (
    ParseLimits,
    load_document,
    parse_json,
    parse_yaml,
    parse_yaml_stream,
    read_bounded,
)
from airel.errors import NotFoundError, ParseError, Reason
from documents_helpers import (
    both_loaders_fixture,  # noqa: F401  (the pytest fixture ``both_loaders``)
)
from documents_helpers import json_error as _json_error
from documents_helpers import yaml_error as _yaml_error

MiB = 1024 * 1024


# -- size -------------------------------------------------------------------------------------


def test_100_mb_bytes_fail_on_size_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: Any, **_kwargs: Any) -> Iterator[Any]:
        raise AssertionError("the parser must not run on an over-size document")

    monkeypatch.setattr(yaml, "parse", never)
    monkeypatch.setattr(json, "loads", never)
    blob = b"a: " + b"x" * (100 * MiB)
    started = time.perf_counter()
    for parse in (parse_yaml, parse_yaml_stream, parse_json):
        with pytest.raises(ParseError) as info:
            parse(blob)
        assert info.value.reason is Reason.DOC_TOO_LARGE
    assert time.perf_counter() - started < 1.0


def test_size_limit_boundary_bytes_and_str() -> None:
    limits = ParseLimits(max_bytes=10)
    assert parse_yaml(b"a: 1234567", limits=limits).data == {"a": 1234567}  # exactly 10 bytes
    assert _yaml_error(b"a: 12345678", limits=limits).reason is Reason.DOC_TOO_LARGE
    # a str is measured in UTF-8 bytes, not characters: 'é' is two bytes
    assert _yaml_error("a: éééé", limits=limits).reason is Reason.DOC_TOO_LARGE
    assert _yaml_error("a: " + "x" * 100, limits=limits).reason is Reason.DOC_TOO_LARGE
    assert _json_error('{"a": 123456}', limits=limits).reason is Reason.DOC_TOO_LARGE


def test_read_bounded_refuses_huge_sparse_file_quickly(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("wb") as handle:
        handle.truncate(100 * MiB)
    started = time.perf_counter()
    with pytest.raises(ParseError) as info:
        read_bounded(big)
    assert info.value.reason is Reason.DOC_TOO_LARGE
    with pytest.raises(ParseError) as info:
        load_document(big)
    assert info.value.reason is Reason.DOC_TOO_LARGE
    assert time.perf_counter() - started < 1.0


def test_read_bounded_boundary(tmp_path: Path) -> None:
    limits = ParseLimits(max_bytes=8)
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(b"a: 12345")
    assert read_bounded(exact, limits) == b"a: 12345"
    over = tmp_path / "over.yaml"
    over.write_bytes(b"a: 123456")
    with pytest.raises(ParseError) as info:
        read_bounded(over, limits)
    assert info.value.reason is Reason.DOC_TOO_LARGE


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_read_bounded_stops_on_endless_stream() -> None:
    # /dev/zero reports size 0 but never ends: only the bounded read protects us
    with pytest.raises(ParseError) as info:
        read_bounded(Path("/dev/zero"), ParseLimits(max_bytes=1024))
    assert info.value.reason is Reason.DOC_TOO_LARGE


def test_read_bounded_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as info:
        read_bounded(tmp_path / "missing.yaml")
    assert info.value.reason is Reason.ARTIFACT_MISSING
    assert info.value.fix
    with pytest.raises(NotFoundError) as info:
        load_document(tmp_path / "missing.json")
    assert info.value.reason is Reason.ARTIFACT_MISSING
    with pytest.raises(NotFoundError) as info:
        read_bounded(tmp_path)
    assert info.value.reason is Reason.ARTIFACT_MISSING


# -- encoding ---------------------------------------------------------------------------------


def test_invalid_utf8_reports_byte_offset_and_line() -> None:
    exc = _yaml_error(b"a: 1\nb: caf\xe9\n")
    assert exc.reason is Reason.NOT_UTF8
    assert exc.details["offset"] == 11
    assert exc.line == 2
    exc = _json_error(b'{"a": "\xff"}')
    assert exc.reason is Reason.NOT_UTF8
    assert exc.details["offset"] == 7


def test_invalid_utf8_offset_counts_the_bom() -> None:
    exc = _yaml_error(b"\xef\xbb\xbfa: \xff")
    assert exc.reason is Reason.NOT_UTF8
    assert exc.details["offset"] == 6


def test_utf16_is_not_utf8() -> None:
    assert _yaml_error("a: 1\n".encode("utf-16")).reason is Reason.NOT_UTF8


def test_lone_surrogate_in_str_is_not_utf8() -> None:
    exc = _yaml_error("a: 1\nb: \udcff\n")
    assert exc.reason is Reason.NOT_UTF8
    assert exc.line == 2


def test_bom_is_accepted_and_stripped(tmp_path: Path) -> None:
    assert parse_yaml(b"\xef\xbb\xbfa: 1\n").data == {"a": 1}
    assert parse_yaml("\ufeffa: 1\n").data == {"a": 1}
    assert parse_json(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    path = tmp_path / "bom.json"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert load_document(path).data == {"a": 1}


def test_non_ascii_text_round_trips() -> None:
    assert parse_yaml("owner: Zoë Ångström\n".encode()).data == {"owner": "Zoë Ångström"}


# -- aliases ----------------------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_refused_at_the_first_anchor(both_loaders: str) -> None:
    exc = _yaml_error(BILLION_LAUGHS)
    assert exc.reason is Reason.YAML_ALIAS
    assert exc.line == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: *undefined\n", 2),  # an alias alone, even to nothing
        ("base: &base {x: 1}\n", 1),  # an anchor alone
        ("a: 1\nb:\n  - &item x\n", 3),
        ("a: 1\n<<: *base\n", 2),  # merge keys need aliases: refused too
    ],
)
def test_anchors_and_aliases_are_refused(text: str, line: int) -> None:
    exc = _yaml_error(text)
    assert exc.reason is Reason.YAML_ALIAS
    assert exc.line == line


def test_aliases_refused_in_streams() -> None:
    with pytest.raises(ParseError) as info:
        parse_yaml_stream("a: 1\n---\nb: &x 2\n")
    assert info.value.reason is Reason.YAML_ALIAS
    assert info.value.line == 3


# -- depth and node count ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "a: " + "{b: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "a:\n  " + "- " * 10_000 + "x\n",
        "a: " + "[" * 100_000,  # unterminated: the depth limit still comes first
    ],
    ids=["flow-seq", "flow-map", "block-seq", "unterminated-100k"],
)
def test_deep_yaml_is_too_deep_not_recursion_error(both_loaders: str, text: str) -> None:
    exc = _yaml_error(text)
    assert exc.reason is Reason.DOC_TOO_DEEP
    assert exc.line is not None


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"a": ' * 10_000 + "1" + "}" * 10_000,
        '{"s": "[[[[", "a": ' + "[" * 100_000,
    ],
    ids=["arrays", "objects", "unterminated-100k"],
)
def test_deep_json_is_too_deep_not_recursion_error(text: str) -> None:
    exc = _json_error(text)
    assert exc.reason is Reason.DOC_TOO_DEEP
    assert exc.line == 1


def _nested_yaml(depth: int) -> str:
    """A document whose deepest collection is at ``depth`` (the root mapping is depth 1)."""
    return "a: " + "[" * (depth - 1) + "x" + "]" * (depth - 1) + "\n"


def test_depth_limit_boundary() -> None:
    assert parse_yaml(_nested_yaml(32)).data["a"] is not None
    assert _yaml_error(_nested_yaml(33)).reason is Reason.DOC_TOO_DEEP
    limits = ParseLimits(max_depth=3)
    assert parse_yaml("a:\n  b:\n    c: 1\n", limits=limits).data == {"a": {"b": {"c": 1}}}
    exc = _yaml_error("a:\n  b:\n    c:\n      - 1\n", limits=limits)
    assert exc.reason is Reason.DOC_TOO_DEEP
    assert exc.line == 4
    assert parse_json("[[[1]]]", limits=limits) == [[[1]]]
    exc = _json_error('{"a": [\n  [\n    [1]]]}', limits=limits)
    assert exc.reason is Reason.DOC_TOO_DEEP
    assert exc.line == 3


def test_brackets_inside_json_strings_do_not_count_as_depth() -> None:
    text = json.dumps({"s": "[" * 1000 + '\\"{{{', "t": ["]]]}}}"]})
    assert parse_json(text) == json.loads(text)


def test_node_limit(both_loaders: str) -> None:
    limits = ParseLimits(max_nodes=10)
    text = "items: [" + ", ".join(str(i) for i in range(20)) + "]\n"
    exc = _yaml_error(text, limits=limits)
    assert exc.reason is Reason.DOC_TOO_MANY_NODES
    assert exc.line == 1
    exc = _json_error(json.dumps({"items": list(range(20))}), limits=limits)
    assert exc.reason is Reason.DOC_TOO_MANY_NODES
    # root + key + list + 7 items = 10 nodes: allowed
    assert parse_yaml("items: [1, 2, 3, 4, 5, 6, 7]", limits=limits).data["items"][6] == 7


def test_node_limit_applies_to_a_whole_stream() -> None:
    limits = ParseLimits(max_nodes=6)
    text = "a: 1\n---\nb: 2\n---\nc: 3\n"  # 3 nodes per document
    with pytest.raises(ParseError) as info:
        parse_yaml_stream(text, limits=limits)
    assert info.value.reason is Reason.DOC_TOO_MANY_NODES
    assert info.value.line == 5


def test_one_mib_document_parses_quickly() -> None:
    entries = [
        f"  component-{i:05d}:\n    name: model-{i}-{'x' * 10}\n    version: 1.{i}.0\n"
        f"    digest: sha256:{i:064x}\n    notes: {'lorem ipsum ' * 3}\n"
        for i in range(5000)
    ]
    text = "components:\n" + "".join(entries)
    text += "padding: " + "p" * (MiB - len(text) - 20) + "\n"
    assert MiB - 100 < len(text.encode()) <= MiB
    started = time.perf_counter()
    doc = parse_yaml(text)
    elapsed = time.perf_counter() - started
    assert len(doc.data["components"]) == 5000
    assert len(doc.lines) > 20_000
    assert elapsed < 1.0
