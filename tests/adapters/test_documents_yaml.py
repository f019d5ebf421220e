"""Tests for YAML parsing in :mod:`airel.adapters.documents.parse`.

Values and their lines (the playbook §3.3 bundle), syntax errors, the YAML 1.2 core schema for
plain scalars, non-finite numbers, tags, keys, the root mapping, multi-document streams, and
``load_document`` on YAML files. The input limits are in ``test_documents_limits.py``, JSON in
``test_documents_json.py``.

Every rejection is asserted by its stable ``Reason`` code and its line, never by message text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from airel.adapters.documents.parse import (
    Document,
    load_document,
    parse_yaml,
    parse_yaml_stream,
)
from airel.errors import ParseError, Reason
from documents_helpers import (
    PLAYBOOK_BUNDLE,
    PLAYBOOK_VALUES,
    both_loaders_fixture,  # noqa: F401  (the pytest fixture ``both_loaders``)
)
from documents_helpers import json_error as _json_error
from documents_helpers import yaml_error as _yaml_error

# -- the playbook bundle ---------------------------------------------------------------------


def test_playbook_bundle_parses_into_exact_values(both_loaders: str) -> None:
    doc = parse_yaml(PLAYBOOK_BUNDLE, source="release.yaml")
    assert doc.data == PLAYBOOK_VALUES
    assert doc.source == "release.yaml"
    assert isinstance(doc.data["code"]["repo_commit"], str)
    assert isinstance(doc.data["model"]["model_version"], str)


def test_playbook_bundle_lines() -> None:
    doc = parse_yaml(PLAYBOOK_BUNDLE)
    assert doc.lines[()] == 1
    assert doc.lines[("release_id",)] == 1
    assert doc.lines[("code",)] == 4  # a mapping value takes its key's line
    assert doc.lines[("code", "repo_commit")] == 5
    assert doc.lines[("model", "model_version")] == 17
    assert doc.lines[("eval", "dataset_versions")] == 24
    assert doc.lines[("eval", "dataset_versions", 0)] == 25
    assert doc.lines[("eval", "dataset_versions", 2)] == 27
    assert doc.lines[("eval", "evaluator_versions", 1)] == 30
    assert doc.lines[("deployment", "rollback_target")] == 34


def test_line_of_falls_back_to_longest_known_prefix() -> None:
    doc = parse_yaml(PLAYBOOK_BUNDLE)
    assert doc.line_of(["model", "model_version"]) == 17
    assert doc.line_of(("model", "no_such_field")) == 15
    assert doc.line_of(["eval", "dataset_versions", 99]) == 24
    assert doc.line_of(["nope", "deeper"]) == 1
    assert doc.line_of([]) == 1
    assert Document(data={}, lines={}, source="x").line_of(["a"]) is None


def test_lines_in_flow_and_nested_sequences() -> None:
    text = "a:\n  b: [x,\n     y]\n  c:\n    - d: 1\n      e:\n        - 2\n"
    doc = parse_yaml(text)
    assert doc.data == {"a": {"b": ["x", "y"], "c": [{"d": 1, "e": [2]}]}}
    assert doc.lines[("a", "b", 0)] == 2
    assert doc.lines[("a", "b", 1)] == 3
    assert doc.lines[("a", "c", 0)] == 5
    assert doc.lines[("a", "c", 0, "e")] == 6
    assert doc.lines[("a", "c", 0, "e", 0)] == 7


def test_lines_are_read_only() -> None:
    doc = parse_yaml("a: 1\n")
    with pytest.raises(TypeError):
        cast(Any, doc.lines)[("b",)] = 2


# -- syntax -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [b\nc: d\n", 2),
        ("a: 1\n b: 2\n", 2),
        ("a: 1\nb: 'unterminated\n", 3),
        ("a:\n  - x\n  y: z\n", 3),
        ("key: value\n\t- tab\n", 2),
    ],
)
def test_malformed_yaml_is_yaml_syntax_with_line(both_loaders: str, text: str, line: int) -> None:
    exc = _yaml_error(text)
    assert exc.reason is Reason.YAML_SYNTAX
    assert exc.line == line
    assert exc.fix


def test_control_character_is_yaml_syntax_with_line(both_loaders: str) -> None:
    exc = _yaml_error("é: ü\nb: \x01\n")
    assert exc.reason is Reason.YAML_SYNTAX
    assert exc.line == 2


# -- scalars: YAML 1.2 core schema ------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        # booleans: exactly six spellings
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        # YAML 1.1 booleans stay strings
        ("NO", "NO"),
        ("no", "no"),
        ("yes", "yes"),
        ("Yes", "Yes"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("n", "n"),
        ("tRUE", "tRUE"),
        # nulls
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("~", None),
        ("", None),
        ("nULL", "nULL"),
        # integers
        ("0", 0),
        ("42", 42),
        ("-17", -17),
        ("+5", 5),
        ("09", 9),
        ("0o17", 15),
        ("0x1F", 31),
        ("0x", "0x"),
        ("0b101", "0b101"),
        ("1_000", "1_000"),
        ("0O17", "0O17"),
        # floats
        ("1.10", 1.1),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-2.5E-3", -0.0025),
        (".5", 0.5),
        ("1.", 1.0),
        ("+1.0", 1.0),
        ("1.8.0", "1.8.0"),
        ("inf", "inf"),
        ("nan", "nan"),
        ("Infinity", "Infinity"),
        # dates, times and sexagesimals stay strings
        ("2026-01-01", "2026-01-01"),
        ("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"),
        ("2026-01-01 10:00:00", "2026-01-01 10:00:00"),
        ("1:20", "1:20"),
        ("190:20:30", "190:20:30"),
        # hashes and ids that look numeric-ish
        ("9f2c81a", "9f2c81a"),
        ("72e4...", "72e4..."),
        ("1e", "1e"),
        (".", "."),
        ("=", "="),
        ("<<", "<<"),
    ],
)
def test_core_schema_plain_scalars(both_loaders: str, plain: str, expected: Any) -> None:
    value = parse_yaml(f"v: {plain}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_version_1_10_is_the_float_1_1_not_a_string() -> None:
    value = parse_yaml("version: 1.10\n").data["version"]
    assert isinstance(value, float)
    assert value == 1.1


def test_country_no_stays_a_string() -> None:
    assert parse_yaml("country: NO\n").data == {"country": "NO"}


def test_on_as_a_key_is_the_string_on() -> None:
    assert parse_yaml("on: x\nyes: 1\noff: [y, n]\n").data == {
        "on": "x",
        "yes": 1,
        "off": ["y", "n"],
    }


def test_no_datetime_objects_ever() -> None:
    data = parse_yaml("d: 2026-01-01\nt: 2001-12-14t21:59:43.10-05:00\n").data
    assert data == {"d": "2026-01-01", "t": "2001-12-14t21:59:43.10-05:00"}


@pytest.mark.parametrize(
    "text",
    [
        "v: '1.10'\n",
        'v: "true"\n',
        "v: 'null'\n",
        "v: '~'\n",
        "v: '0x1F'\n",
        "v: |\n  42\n",
        "v: >\n  true\n",
        "v: ''\n",
    ],
)
def test_quoted_and_block_scalars_are_strings(text: str) -> None:
    assert isinstance(parse_yaml(text).data["v"], str)


def test_multiline_plain_scalar_folds() -> None:
    assert parse_yaml("v: one\n  two\n").data == {"v": "one two"}


def test_huge_integer_is_refused() -> None:
    exc = _yaml_error("a: 1\nv: " + "9" * 5000 + "\n")
    assert exc.reason is Reason.NON_FINITE_NUMBER
    assert exc.line == 2
    assert parse_yaml("v: 0x" + "f" * 5000).data["v"] == int("f" * 5000, 16)
    exc = _json_error('{"v": ' + "9" * 5000 + "}")
    assert exc.reason is Reason.NON_FINITE_NUMBER


# -- non-finite numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "plain", [".inf", ".Inf", ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN", "1e999", "-1e400"]
)
def test_yaml_non_finite_numbers_are_refused(plain: str) -> None:
    exc = _yaml_error(f"a: 1\nb:\n  c: {plain}\n")
    assert exc.reason is Reason.NON_FINITE_NUMBER
    assert exc.line == 3


def test_yaml_non_finite_quoted_is_a_string() -> None:
    assert parse_yaml("a: '.nan'\n").data == {"a": ".nan"}


# -- tags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\ncmd: !!python/object/apply:os.system ['rm -rf /']\n", 2),
        ("x: !!python/object:collections.OrderedDict {}\n", 1),
        ("x: !!python/name:os.system\n", 1),
        ("x: !custom value\n", 1),
        ("x: !!binary aGVsbG8=\n", 1),
        ("x: !!set {a, b}\n", 1),
        ("x: !!omap [a: 1]\n", 1),
        ("x: !!timestamp 2026-01-01\n", 1),
        ("x: ! 12\n", 1),
        ("x: !<tag:example.com,2000:thing> y\n", 1),
        ("%TAG !! tag:evil.example,2000:\n---\nx: !!str y\n", 3),
        ("!!python/object:os.system\na: 1\n", 1),
        ("x: !!map [1]\n", 1),
        ("x: !!seq {a: 1}\n", 1),
        ("x: !!int abc\n", 1),
        ("x: !!bool yes\n", 1),
        ("x: !!null x\n", 1),
        ("x: !!float 0x10\n", 1),
        ("!!python/name:os.system : x\n", 1),
    ],
)
def test_explicit_tags_are_refused(both_loaders: str, text: str, line: int) -> None:
    exc = _yaml_error(text)
    assert exc.reason is Reason.YAML_TAG
    assert exc.line == line


def test_core_tags_are_accepted() -> None:
    text = (
        "s: !!str 1.10\ni: !!int 0x10\nf: !!float 3\nb: !!bool true\nn: !!null ~\n"
        "m: !!map {k: v}\nq: !!seq [1]\n!!str 7: seven\nv: !<tag:yaml.org,2002:str> 5\n"
    )
    assert parse_yaml(text).data == {
        "s": "1.10",
        "i": 16,
        "f": 3.0,
        "b": True,
        "n": None,
        "m": {"k": "v"},
        "q": [1],
        "7": "seven",
        "v": "5",
    }


def test_float_tag_on_non_finite_is_refused() -> None:
    assert _yaml_error("x: !!float .inf\n").reason is Reason.NON_FINITE_NUMBER


# -- keys -------------------------------------------------------------------------------------


def test_duplicate_key_reports_the_second_line(both_loaders: str) -> None:
    exc = _yaml_error("a: 1\nb: 2\na: 3\n")
    assert exc.reason is Reason.DUPLICATE_KEY
    assert exc.line == 3
    assert exc.details["key"] == "a"


def test_duplicate_key_nested_and_quoted() -> None:
    exc = _yaml_error("model:\n  id: x\n  version: 1\n  'id': y\n")
    assert exc.reason is Reason.DUPLICATE_KEY
    assert exc.line == 4
    assert exc.details["key"] == "id"
    assert exc.details["path"] == ["model"]
    exc = _yaml_error("a: {x: 1, y: 2,\n  x: 3}\n")
    assert exc.reason is Reason.DUPLICATE_KEY
    assert exc.line == 2


def test_same_key_in_different_mappings_is_fine() -> None:
    data = parse_yaml("a: {id: 1}\nb: {id: 2}\nc: [{id: 3}, {id: 4}]\n").data
    assert data == {"a": {"id": 1}, "b": {"id": 2}, "c": [{"id": 3}, {"id": 4}]}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\n1: x\n", 2),
        ("null: x\n", 1),
        ("~: x\n", 1),
        ("true: x\n", 1),
        ("1.5: x\n", 1),
        (".inf: x\n", 1),
        ("?\n: x\n", 1),
        ("? [a, b]\n: x\n", 1),
        ("? {a: 1}\n: x\n", 1),
        ("a:\n  b:\n    0x10: x\n", 3),
        ("x: {1: 2}\n", 1),
        ("!!int 7: x\n", 1),
    ],
)
def test_non_string_keys_are_refused(both_loaders: str, text: str, line: int) -> None:
    exc = _yaml_error(text)
    assert exc.reason is Reason.NON_STRING_KEY
    assert exc.line == line


def test_quoted_keys_that_look_like_other_types_are_strings() -> None:
    data = parse_yaml("'1': a\n\"null\": b\n'true': c\nyes: d\n2026-01-01: e\n").data
    assert data == {"1": "a", "null": "b", "true": "c", "yes": "d", "2026-01-01": "e"}


# -- root and documents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["- a\n- b\n", "just a string\n", "42\n", "", "# only a comment\n", "---\n", "[a]\n", "~\n"],
)
def test_root_must_be_a_mapping(text: str) -> None:
    exc = _yaml_error(text)
    assert exc.reason is Reason.NOT_A_MAPPING
    assert exc.line is not None


def test_empty_mapping_is_a_mapping() -> None:
    assert parse_yaml("{}\n").data == {}


def test_parse_yaml_refuses_a_second_document() -> None:
    exc = _yaml_error("a: 1\n---\nb: 2\n")
    assert exc.reason is Reason.MULTIPLE_DOCUMENTS
    assert exc.line == 2
    exc = _yaml_error("---\na: 1\n...\n---\nb: 2\n")
    assert exc.reason is Reason.MULTIPLE_DOCUMENTS
    assert exc.line == 4


def test_parse_yaml_accepts_explicit_markers_on_one_document() -> None:
    assert parse_yaml("---\na: 1\n...\n").data == {"a": 1}
    assert parse_yaml("%YAML 1.1\n---\na: 1\n").data == {"a": 1}


def test_parse_yaml_stream() -> None:
    docs = parse_yaml_stream("a: 1\n---\nb:\n  - x\n---\nc: NO\n", source="specs.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"b": ["x"]}, {"c": "NO"}]
    assert docs[1].lines[("b", 0)] == 4
    assert docs[2].lines[("c",)] == 6
    assert all(d.source == "specs.yaml" for d in docs)


def test_parse_yaml_stream_edge_cases() -> None:
    assert parse_yaml_stream("") == []
    assert parse_yaml_stream("# nothing here\n") == []
    assert [d.data for d in parse_yaml_stream("a: 1\n")] == [{"a": 1}]
    with pytest.raises(ParseError) as info:
        parse_yaml_stream("a: 1\n---\n- not a mapping\n")
    assert info.value.reason is Reason.NOT_A_MAPPING
    assert info.value.line == 3
    with pytest.raises(ParseError) as info:
        parse_yaml_stream("a: 1\n---\nb: 1\nb: 2\n")
    assert info.value.reason is Reason.DUPLICATE_KEY
    assert info.value.line == 4
    with pytest.raises(ParseError) as info:
        parse_yaml_stream("a: 1\n---\nb: [\n")
    assert info.value.reason is Reason.YAML_SYNTAX


# -- load_document and error details -------------------------------------------------------


def test_load_document_yaml(tmp_path: Path) -> None:
    for name in ("release.yaml", "release.yml", "release"):
        path = tmp_path / name
        path.write_text(PLAYBOOK_BUNDLE)
        doc = load_document(path)
        assert doc.data == PLAYBOOK_VALUES
        assert doc.source == str(path)
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\na: 2\n")
    with pytest.raises(ParseError) as info:
        load_document(path)
    assert info.value.reason is Reason.DUPLICATE_KEY
    assert info.value.details["source"] == str(path)


def test_errors_carry_fix_and_line_in_details() -> None:
    exc = _yaml_error("a: 1\na: 2\n", source="release.yaml")
    assert exc.fix
    assert exc.to_dict()["details"]["line"] == 2
    assert exc.to_dict()["details"]["source"] == "release.yaml"
