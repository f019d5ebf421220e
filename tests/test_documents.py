"""Tests for the strict, bounded YAML/JSON parser in :mod:`airel.adapters.documents.parse`.

Every rejection is asserted by its stable ``Reason`` code and its line, never by message text.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from airel.adapters.documents import parse as documents
from airel.adapters.documents.parse import (
    Document,
    ParseLimits,
    load_document,
    parse_json,
    parse_yaml,
    parse_yaml_stream,
    read_bounded,
)
from airel.errors import NotFoundError, ParseError, Reason

MiB = 1024 * 1024

# Playbook §3.3, verbatim (extracted from ../shared/seed into tests/data).
PLAYBOOK_BUNDLE = (Path(__file__).parent / "data" / "playbook_3_3.yaml").read_text(encoding="utf-8")

PLAYBOOK_VALUES: dict[str, Any] = {
    "release_id": "AIREL-AML-COPILOT-2026-007",
    "use_case_id": "AML-COPILOT-001",
    "risk_tier": "Tier 1",
    "code": {
        "repo_commit": "9f2c81a",
        "pipeline_image": "registry/aml-pipeline@sha256:4b7...",
        "serving_image": "registry/aml-serving@sha256:2c1...",
    },
    "data": {
        "training_snapshot": "AML-TRAIN-2026Q2-v3",
        "validation_snapshot": "AML-VALIDATION-2026Q2-v2",
        "label_policy": "AML-LABEL-GUIDE-v1.4",
    },
    "features": {"feature_view": "aml-alert-features-v6", "transform_hash": "72e4..."},
    "model": {
        "model_id": "aml-narrative-ranker",
        "model_version": "1.8.0",
        "artifact_hash": "c55a...",
    },
    "prompt_policy": {
        "prompt_version": "aml-summary-system-prompt-v2.3",
        "guardrail_policy": "aml-output-policy-v1.2",
        "tool_schema": "case-evidence-tool-v1.1",
    },
    "eval": {
        "dataset_versions": [
            "AML-GOLDEN-2026Q2-v2",
            "AML-REGRESSION-2026Q2-v4",
            "AML-REDTEAM-2026Q2-v1",
        ],
        "evaluator_versions": ["RULE-CITATION-v2", "JUDGE-GROUNDEDNESS-v1.3"],
    },
    "deployment": {
        "route": "aml-copilot-prod",
        "traffic_start": "shadow",
        "rollback_target": "AIREL-AML-COPILOT-2026-006",
    },
}


@pytest.fixture(params=["libyaml", "pure-python"])
def both_loaders(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's parser and again with PyYAML's pure-Python one."""
    if request.param == "pure-python":
        monkeypatch.setattr(documents, "_LOADER", yaml.SafeLoader)
        monkeypatch.setattr(documents, "_C_LOADER", False)
    elif not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("libyaml is not available")
    return str(request.param)


def _yaml_error(text: str | bytes, **kwargs: Any) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_yaml(text, **kwargs)
    return info.value


def _json_error(text: str | bytes, **kwargs: Any) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_json(text, **kwargs)
    return info.value


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
