"""Tests for JSON parsing in :mod:`airel.adapters.documents.parse`, and the parser's properties.

``parse_json``: values, non-finite numbers, duplicate keys, syntax errors with lines, and
``load_document`` on JSON files (lines, the root mapping). The Hypothesis properties cover both
parsers: YAML and JSON round trips (values and lines), finite floats, and arbitrary bytes
never crashing either parser.

Every rejection is asserted by its stable ``Reason`` code and its line, never by message text.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from airel.adapters.documents import parse as documents
from airel.adapters.documents.parse import (
    ParseLimits,
    load_document,
    parse_json,
    parse_yaml,
    parse_yaml_stream,
)
from airel.errors import ParseError, Reason
from documents_helpers import PLAYBOOK_VALUES
from documents_helpers import json_error as _json_error

# -- non-finite numbers -----------------------------------------------------------------------


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1.5e999"])
def test_json_non_finite_numbers_are_refused(literal: str) -> None:
    exc = _json_error('{\n  "a": [1,\n    ' + literal + "]\n}")
    assert exc.reason is Reason.NON_FINITE_NUMBER
    assert exc.line == 3


def test_json_non_finite_hook_is_a_backstop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "_scan_json", lambda *_args: {})
    for text in ('{"a": NaN}', '{"a": 1e400}', '{"a": ' + "9" * 5000 + "}"):
        assert _json_error(text).reason is Reason.NON_FINITE_NUMBER
    assert _json_error('{"a": 1, "a": 2}').reason is Reason.DUPLICATE_KEY


# -- JSON -------------------------------------------------------------------------------------


def test_json_values() -> None:
    text = '{"a": 1, "b": [true, null, 1.5, "x"], "c": {"d": "1.10"}}'
    assert parse_json(text) == {"a": 1, "b": [True, None, 1.5, "x"], "c": {"d": "1.10"}}
    assert parse_json("[1, 2]") == [1, 2]  # parse_json allows any root
    assert parse_json('"s"') == "s"


def test_json_duplicate_key_with_line() -> None:
    exc = _json_error('{\n  "a": {\n    "x": 1,\n    "x": 2\n  }\n}')
    assert exc.reason is Reason.DUPLICATE_KEY
    assert exc.line == 4
    assert exc.details["key"] == "x"
    # escapes are decoded before comparing
    assert _json_error('{"a": 1, "\\u0061": 2}').reason is Reason.DUPLICATE_KEY


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{"a": 1,}', 1),
        ('{\n  "a": 1\n  "b": 2\n}', 3),
        ("{'a': 1}", 1),
        ('{"a": [1, 2}', 1),
        ("", 1),
        ('{"a": 1} trailing', 1),
        ('{\n"a": "unterminated\n}', 2),
        ('{"a": 01}', 1),
    ],
)
def test_json_syntax_errors_have_lines(text: str, line: int) -> None:
    exc = _json_error(text)
    assert exc.reason is Reason.JSON_SYNTAX
    assert exc.line == line
    assert exc.details["column"] >= 1


def test_load_document_json_has_lines(tmp_path: Path) -> None:
    path = tmp_path / "release.json"
    path.write_text(json.dumps(PLAYBOOK_VALUES, indent=2))
    doc = load_document(path)
    assert doc.data == PLAYBOOK_VALUES
    assert doc.source == str(path)
    assert doc.lines[()] == 1
    assert doc.lines[("release_id",)] == 2
    assert doc.lines[("code", "repo_commit")] == 6
    dataset_line = path.read_text().splitlines().index('      "AML-REGRESSION-2026Q2-v4",') + 1
    assert doc.lines[("eval", "dataset_versions", 1)] == dataset_line
    assert doc.line_of(["eval", "dataset_versions", 1, "missing"]) == dataset_line


def test_load_document_json_root_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.JSON"
    path.write_text("\n[1, 2]")
    with pytest.raises(ParseError) as info:
        load_document(path)
    assert info.value.reason is Reason.NOT_A_MAPPING
    assert info.value.line == 2


# -- properties -------------------------------------------------------------------------------


class _Core12Dumper(yaml.SafeDumper):
    """``safe_dump`` quotes what YAML 1.1 reads as non-strings; also quote YAML 1.2 ones.

    PyYAML's emitter writes e.g. the string ``"09"`` or ``"1e3"`` plain, because YAML 1.1 reads
    them as strings, while the 1.2 core schema reads them as numbers.
    """


_Core12Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Core12Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)

_SCALARS = st.none() | st.booleans() | st.integers() | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
_DOCS = st.dictionaries(st.text(), _VALUES, max_size=6)


def _all_paths(data: dict[str, Any]) -> set[tuple[str | int, ...]]:
    paths: set[tuple[str | int, ...]] = set()
    todo: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while todo:
        path, value = todo.pop()
        paths.add(path)
        if isinstance(value, dict):
            todo.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            todo.extend(((*path, i), v) for i, v in enumerate(value))
    return paths


@settings(max_examples=200, deadline=None)
@given(_DOCS)
def test_property_yaml_round_trip(data: dict[str, Any]) -> None:
    text = yaml.dump(data, Dumper=_Core12Dumper)
    doc = parse_yaml(text)
    assert doc.data == data
    assert set(doc.lines) == _all_paths(data)
    assert all(1 <= line <= text.count("\n") + 1 for line in doc.lines.values())


@settings(max_examples=200, deadline=None)
@given(_DOCS)
def test_property_json_round_trip(data: dict[str, Any]) -> None:
    assert parse_json(json.dumps(data)) == data
    assert parse_json(json.dumps(data, indent=2, ensure_ascii=False).encode()) == data


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(), st.floats(allow_nan=False, allow_infinity=False), max_size=5))
def test_property_finite_floats_round_trip(data: dict[str, float]) -> None:
    assert parse_json(json.dumps(data)) == data
    assert parse_yaml(yaml.dump(data, Dumper=_Core12Dumper)).data == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_property_arbitrary_bytes_never_crash(blob: bytes) -> None:
    for parse in (parse_yaml, parse_yaml_stream, parse_json):
        with contextlib.suppress(ParseError):
            parse(blob, limits=ParseLimits(max_depth=4, max_nodes=50))
