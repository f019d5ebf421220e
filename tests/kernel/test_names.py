"""Naming rules (airel.domain.kernel.names): every class of bad name is refused with a stable
reason.

Names reach file systems, URLs and log lines, so they are plain ASCII (B1 release ids, R1–R4
component names, versions and aliases). Assertions use reason codes and structured details,
never message text.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

from airel.domain.kernel.names import NAME_RULES, NameClass, check_name, check_relative_path
from airel.domain.kernel.validation import parse_record
from airel.domain.release.bundle import BundleSpec
from airel.domain.release.components import ModelSpec, parse_ref
from airel.errors import Reason, ValidationError

# The four name classes a user writes most (component, version, alias, release id) plus the
# two others; every bad-name case below is checked against each of them.
CLASSES = [NameClass.COMPONENT, NameClass.VERSION, NameClass.ALIAS, NameClass.RELEASE]
ALL_CLASSES = list(NameClass)

TRAVERSAL = {
    "dot-dot-slash": "../",
    "nested-dot-dot": "a/../../b",
    "bare-dot-dot": "..",
    "percent-encoded-dots": "%2e%2e",
    "percent-encoded-slash": "..%2f",
    "backslash": "a\\b",
    "backslash-dot-dot": "..\\x",
    "absolute": "/etc",
    "windows-drive": "C:\\x",
    "windows-drive-no-slash": "C:x",
    "slash": "a/b",
}

# (value, code point the details must name)
BAD_CHARACTERS = {
    "nul": ("a\x00b", "U+0000"),
    "bell": ("a\x07b", "U+0007"),
    "escape": ("a\x1bb", "U+001B"),
    "newline": ("a\nb", "U+000A"),
    "delete": ("a\x7fb", "U+007F"),
    "cyrillic-a": ("fr\u0430ud", "U+0430"),  # 'frаud' looks like 'fraud'
    "fullwidth-f": ("\uff46raud", "U+FF46"),  # 'ｆraud'
    "zero-width-space": ("fr\u200baud", "U+200B"),
    "space": ("a b", "U+0020"),
    "non-breaking-space": ("a\u00a0b", "U+00A0"),
}

WRONG_TYPES = {
    "int": 1,
    "float": 1.1,
    "bool": True,
    "none": None,
    "bytes": b"fraud",
    "list": ["fraud"],
}

GOOD = {
    NameClass.COMPONENT: ["a", "fraud-score", "FRAUD-TRAIN-2026H1", "aml_ranker.v2", "1"],
    NameClass.VERSION: ["1", "1.8.0", "1.10", "2.0.0-rc.1+build.5", "v2.3", "2026_06"],
    NameClass.ALIAS: ["production", "canary_2", "p", "shadow-eu"],
    NameClass.RELEASE: ["AIREL-AML-COPILOT-2026-007", "FRAUD-2026-001", "r.1"],
    NameClass.USE_CASE: ["AML-COPILOT-001"],
    NameClass.ACTOR: ["alice", "svc-ci@bank.example", "bob+review"],
}


def _refused(value: Any, kind: NameClass) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        check_name(value, kind, field="the-field")
    return info.value


@pytest.mark.parametrize("kind", ALL_CLASSES)
@pytest.mark.parametrize("value", list(TRAVERSAL.values()), ids=list(TRAVERSAL))
def test_path_like_names_are_path_traversal(kind: NameClass, value: str) -> None:
    """B1/R1: a name can never be a path: '..', '/', '\\', '%', drive letters."""
    exc = _refused(value, kind)
    assert exc.reason is Reason.PATH_TRAVERSAL
    assert exc.details["field"] == "the-field"
    assert exc.details["value"] == value


@pytest.mark.parametrize("kind", ALL_CLASSES)
@pytest.mark.parametrize(
    ("value", "codepoint"), list(BAD_CHARACTERS.values()), ids=list(BAD_CHARACTERS)
)
def test_control_and_look_alike_characters_are_invalid_names(
    kind: NameClass, value: str, codepoint: str
) -> None:
    """B1/R1: NUL, control characters and Unicode look-alikes are named by code point."""
    exc = _refused(value, kind)
    assert exc.reason is Reason.INVALID_NAME
    assert exc.details["codepoint"] == codepoint
    assert exc.details["field"] == "the-field"


@pytest.mark.parametrize("kind", ALL_CLASSES)
@pytest.mark.parametrize("value", list(WRONG_TYPES.values()), ids=list(WRONG_TYPES))
def test_non_strings_are_wrong_type(kind: NameClass, value: Any) -> None:
    """R1: a YAML number or boolean is never silently turned into a name."""
    exc = _refused(value, kind)
    assert exc.reason is Reason.WRONG_TYPE
    assert exc.details["field"] == "the-field"


@pytest.mark.parametrize("kind", ALL_CLASSES)
def test_empty_name_is_invalid(kind: NameClass) -> None:
    """R1: an empty name is refused and the field is named."""
    exc = _refused("", kind)
    assert exc.reason is Reason.INVALID_NAME
    assert exc.details["field"] == "the-field"


@pytest.mark.parametrize("kind", ALL_CLASSES)
def test_length_limit_is_exact(kind: NameClass) -> None:
    """R1: a name of exactly the limit passes; one character more is INVALID_NAME."""
    limit = NAME_RULES[kind].max_length
    assert check_name("a" * limit, kind) == "a" * limit
    exc = _refused("a" * (limit + 1), kind)
    assert exc.reason is Reason.INVALID_NAME
    assert "codepoint" not in exc.details


@pytest.mark.parametrize("kind", ALL_CLASSES)
@pytest.mark.parametrize("value", ["-a", "a-", ".a", "a.", "_a", "a_"])
def test_names_start_and_end_with_letter_or_digit(kind: NameClass, value: str) -> None:
    """R1: punctuation at either end is refused (no hidden files, no option look-alikes)."""
    exc = _refused(value, kind)
    assert exc.reason is Reason.INVALID_NAME
    assert exc.details["value"] == value


@pytest.mark.parametrize("value", ["Production", "1.10", "PROD", "a.b"])
def test_alias_is_lower_case_letters_first(value: str) -> None:
    """R1: aliases are lower-case identifiers, stricter than component names."""
    assert _refused(value, NameClass.ALIAS).reason is Reason.INVALID_NAME
    assert check_name(value, NameClass.COMPONENT) == value


def test_plus_is_allowed_in_versions_only() -> None:
    """R1: '+' (semver build metadata) is a version character, not a component character."""
    assert check_name("1.0.0+build.5", NameClass.VERSION) == "1.0.0+build.5"
    assert _refused("a+b", NameClass.COMPONENT).reason is Reason.INVALID_NAME
    assert _refused("a+b", NameClass.RELEASE).reason is Reason.INVALID_NAME


@pytest.mark.parametrize(("kind", "value"), [(k, v) for k, values in GOOD.items() for v in values])
def test_good_names_pass_unchanged(kind: NameClass, value: str) -> None:
    """R1: valid names are returned exactly as given."""
    assert check_name(value, kind) == value


# -- names through the records that carry them -----------------------------------------------


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("../x:1", Reason.PATH_TRAVERSAL),
        ("fraud-score:../1", Reason.PATH_TRAVERSAL),
        ("fraud-score@../prod", Reason.PATH_TRAVERSAL),
        ("fraud-score:%2e%2e", Reason.PATH_TRAVERSAL),
        ("fr\u0430ud-score:1", Reason.INVALID_NAME),
        ("fraud-score:1\x00", Reason.INVALID_NAME),
        ("fraud-score@Production", Reason.INVALID_NAME),
        ("fraud-score@prod\u200b", Reason.INVALID_NAME),
        ("a:b:c", Reason.INVALID_NAME),
        ("a@b:c", Reason.INVALID_NAME),
    ],
)
def test_references_check_each_part(ref: str, reason: Reason) -> None:
    """R7: name, version and alias inside a reference obey their own naming rules."""
    with pytest.raises(ValidationError) as info:
        parse_ref(ref, field="training_dataset")
    assert info.value.reason is reason


def test_good_references_parse() -> None:
    """R7: the three reference forms parse into their parts."""
    assert parse_ref("FRAUD-TRAIN", field="f").version is None
    plain = parse_ref("FRAUD-TRAIN:1", field="f")
    assert (plain.name, plain.version, plain.alias) == ("FRAUD-TRAIN", "1", None)
    aliased = parse_ref("fraud-score@production", field="f")
    assert (aliased.name, aliased.version, aliased.alias) == ("fraud-score", None, "production")


MODEL = {
    "name": "fraud-score",
    "version": "1.0.0",
    "owner": "Fraud Analytics Lead",
    "risk_tier": 1,
    "signature": {"inputs": [{"name": "amount"}], "outputs": [{"name": "score"}]},
}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "../../etc/passwd", Reason.PATH_TRAVERSAL),
        ("name", "fr\u0430ud-score", Reason.INVALID_NAME),
        ("version", "1.0.0/../..", Reason.PATH_TRAVERSAL),
        ("version", 1.1, Reason.WRONG_TYPE),
        ("version", 1, Reason.WRONG_TYPE),
        ("version", True, Reason.WRONG_TYPE),
        ("version", "", Reason.INVALID_NAME),
    ],
)
def test_component_spec_names_are_checked(field: str, value: Any, reason: Reason) -> None:
    """R1: a component spec's name and version are checked with the stable reason and field."""
    with pytest.raises(ValidationError) as info:
        parse_record(ModelSpec, {**MODEL, field: value})
    assert info.value.reason is reason
    assert [p["field"] for p in info.value.problems] == [field]


BUNDLE = {"release_id": "FRAUD-2026-001", "use_case_id": "FRAUD-SCORING", "risk_tier": 1}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("release_id", "../FRAUD-2026-001", Reason.PATH_TRAVERSAL),
        ("release_id", "C:\\releases\\x", Reason.PATH_TRAVERSAL),
        ("release_id", "FRAUD\x1b[31m", Reason.INVALID_NAME),
        ("release_id", "FRAUD\uff0d2026", Reason.INVALID_NAME),  # fullwidth hyphen
        ("release_id", 2026, Reason.WRONG_TYPE),
        ("release_id", "R" * 129, Reason.INVALID_NAME),
        ("use_case_id", "%2e%2e", Reason.PATH_TRAVERSAL),
        ("use_case_id", 1.5, Reason.WRONG_TYPE),
    ],
)
def test_bundle_ids_are_checked(field: str, value: Any, reason: Reason) -> None:
    """B1: release ids and use case ids follow the release naming rules."""
    with pytest.raises(ValidationError) as info:
        parse_record(BundleSpec, {**BUNDLE, field: value})
    assert info.value.reason is reason
    assert info.value.problems[0]["field"] == field


def test_rollback_target_is_a_release_name() -> None:
    """B1: deployment.rollback_target is a release id, so traversal is refused."""
    data = {**BUNDLE, "deployment": {"rollback_target": "../FRAUD-2026-000"}}
    with pytest.raises(ValidationError) as info:
        parse_record(BundleSpec, data)
    assert info.value.reason is Reason.PATH_TRAVERSAL
    assert info.value.problems[0]["field"] == "deployment.rollback_target"


# -- relative artifact paths -----------------------------------------------------------------

BAD_PATHS = {
    "parent": "../x",
    "inner-parent": "a/../b",
    "trailing-parent": "a/..",
    "absolute": "/etc/passwd",
    "backslash": "a\\b",
    "backslash-parent": "..\\x",
    "percent": "%2e%2e/x",
    "percent-slash": "a%2fb",
    "drive": "C:/x",
    "drive-relative": "c:x",
    "home": "~/x",
    "home-user": "~root/x",
    "empty-segment": "a//b",
    "empty": "",
    "leading-space": " a",
    "trailing-space": "a ",
    "nul": "a\x00",
    "bell": "a\x07b",
    "newline": "a\nb",
    "escape": "a\x1b/b",
}


@pytest.mark.parametrize("value", list(BAD_PATHS.values()), ids=list(BAD_PATHS))
def test_bad_relative_paths_are_path_traversal(value: str) -> None:
    """B2: an artifact path must stay inside its root; every escape form is PATH_TRAVERSAL."""
    with pytest.raises(ValidationError) as info:
        check_relative_path(value, field="artifact")
    assert info.value.reason is Reason.PATH_TRAVERSAL
    assert info.value.details["field"] == "artifact"


@pytest.mark.parametrize("value", [1, 1.5, None, True, b"a/b"])
def test_non_string_paths_are_wrong_type(value: Any) -> None:
    """B2: a path must be a string."""
    with pytest.raises(ValidationError) as info:
        check_relative_path(value, field="artifact")
    assert info.value.reason is Reason.WRONG_TYPE
    assert info.value.details["field"] == "artifact"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("models/v1", "models/v1"),
        ("data/train.csv", "data/train.csv"),
        ("a/b/c.d.txt", "a/b/c.d.txt"),
        ("./a", "a"),
        ("a..b/c", "a..b/c"),  # '..' inside a segment is a file name, not a parent
        ("dat\u00e9/x", "dat\u00e9/x"),  # file names may be Unicode; names may not
    ],
)
def test_good_relative_paths(value: str, expected: str) -> None:
    """B2: ordinary relative paths pass as POSIX paths."""
    assert check_relative_path(value) == PurePosixPath(expected)
