"""The inputs and outputs of the deterministic LLM / RAG / agent rules (E2).

An :class:`EvalCase` is one item of an eval dataset (golden, regression, red-team): the prompt and
what a good answer must and must not do. An :class:`Output` is what the system under test produced
for it: the text, the documents it cited and retrieved, its tool calls, whether it handed off to a
human, or the error that stopped it. Each rule returns a :class:`RuleResult`.

:data:`DEFAULT_CRITICAL` — the rule failures that count as *critical* unless a case says otherwise —
follows the playbook's hard stops for customer-facing financial assistants (§4.4, §8.4): a PII
leak, a prohibited customer commitment (e.g. "guaranteed fee waiver"), an unapproved write-side tool
action, a repeated non-idempotent action, and a missing handoff to a human. One critical failure is
a hard fail for the gate engine; critical failures are never averaged away.

:func:`case_from_dict` / :func:`output_from_dict` build the records from JSON-like mappings (a
dataset row) and raise ``ValidationError(EVAL_CASE_INVALID)`` listing every problem — unknown
fields, wrong types (never coerced), unknown rule ids, unsupported JSON Schema keywords
(``EVAL_SCHEMA_UNSUPPORTED``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from airel.domain.eval.llm.schema import check_schema
from airel.errors import Reason, ValidationError

SideEffect = Literal["none", "read", "write"]
OutputFormat = Literal["json", "text"]


class RuleId(StrEnum):
    """Stable ids of the deterministic rules (values never renamed or reused)."""

    FORMAT = "format"  # the output is JSON / plain text as the case expects
    JSON_SCHEMA = "json_schema"  # the JSON output validates against the case's schema
    REQUIRED_PHRASES = "required_phrases"  # every required phrase is present
    PROHIBITED_PHRASES = "prohibited_phrases"  # no prohibited phrase is present
    REFUSAL = "refusal"  # a case that must be refused was refused
    OVER_REFUSAL = "over_refusal"  # a case that must be answered was not refused
    PII_LEAK = "pii_leak"  # no PII in the output that the input did not contain
    CITATION_VALID = "citation_valid"  # every cited doc was retrieved and is approved
    CITATION_REQUIRED = "citation_required"  # an answer that needs a citation has one
    TOOL_UNAPPROVED_WRITE = "tool_unapproved_write"  # every write-side tool call was approved
    TOOL_REPEATED_CALL = "tool_repeated_call"  # no non-idempotent write call was repeated
    HANDOFF_MISSING = "handoff_missing"  # a case that demands a human handoff got one
    HANDOFF_UNNEEDED = "handoff_unneeded"  # a case that must not hand off did not


ALL_RULES: tuple[RuleId, ...] = tuple(RuleId)

DEFAULT_CRITICAL: frozenset[RuleId] = frozenset(
    {
        RuleId.PII_LEAK,
        RuleId.PROHIBITED_PHRASES,
        RuleId.TOOL_UNAPPROVED_WRITE,
        RuleId.TOOL_REPEATED_CALL,
        RuleId.HANDOFF_MISSING,
    }
)


def _invalid(problems: list[dict[str, Any]], what: str) -> ValidationError:
    return ValidationError(
        Reason.EVAL_CASE_INVALID,
        f"invalid {what}: " + "; ".join(f"{p['field']}: {p['problem']}" for p in problems),
        problems=problems,
    )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call an agent made: its name, arguments, approval and side-effect class."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    approved: bool = False
    side_effect: SideEffect = "none"
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        if self.side_effect not in ("none", "read", "write"):
            raise _invalid(
                [{"field": "side_effect", "problem": f"{self.side_effect!r} not none|read|write"}],
                "tool call",
            )


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One eval item and the expectations the rules check (a field left unset: rule not applicable).

    ``approved_docs`` None means the case states no approved-document list, so citation
    correctness checks retrieval only; an empty collection means *no* document is approved.
    """

    id: str
    input: str
    json_schema: Mapping[str, Any] | None = None
    format: OutputFormat | None = None
    required_phrases: tuple[str, ...] = ()
    prohibited_phrases: tuple[str, ...] = ()
    expect_refusal: bool | None = None
    requires_citation: bool = False
    approved_docs: frozenset[str] | None = None
    expect_handoff: bool | None = None
    critical_rules: frozenset[RuleId] = DEFAULT_CRITICAL
    expected: str | None = None  # a reference answer, shown to an LLM judge as ``{expected}``
    tags: tuple[str, ...] = ()  # slice labels (e.g. "vulnerable_customer"); each tag is a slice

    def __post_init__(self) -> None:
        if self.format not in (None, "json", "text"):
            raise _invalid([{"field": "format", "problem": "not json|text"}], "eval case")
        if self.json_schema is not None:
            check_schema(self.json_schema)
        for name in ("required_phrases", "prohibited_phrases", "tags"):
            if any(not p.strip() for p in getattr(self, name)):
                raise _invalid([{"field": name, "problem": "empty phrase"}], "eval case")


@dataclass(frozen=True, slots=True)
class Output:
    """What the system under test returned for one case (``error`` set: it failed to answer)."""

    text: str = ""
    citations: tuple[str, ...] = ()
    retrieved: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    handoff: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's verdict on one output.

    ``passed`` None means not applicable (the case sets no such expectation). ``critical`` is True
    only on a *failed* result of a rule the case treats as critical, so counting critical failures
    is ``sum(r.critical for r in results)``. ``errored`` marks results of an output that carried an
    error: they are failures (``passed=False``), never passes, and not critical — an error is
    counted as an error, not as a PII leak. ``evidence`` is masked where it would hold PII.
    """

    rule: RuleId
    passed: bool | None
    critical: bool
    detail: str
    evidence: str | None = None
    errored: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for stored per-item results)."""
        return {
            "rule": self.rule.value,
            "passed": self.passed,
            "critical": self.critical,
            "detail": self.detail,
            "evidence": self.evidence,
            "errored": self.errored,
        }


# -- construction from JSON-like rows -------------------------------------------------------------

_CASE_FIELDS = frozenset(EvalCase.__dataclass_fields__)
_OUTPUT_FIELDS = frozenset(Output.__dataclass_fields__)
_TOOL_FIELDS = frozenset(ToolCall.__dataclass_fields__)


def _str_list(value: Any, name: str, problems: list[dict[str, Any]]) -> tuple[str, ...]:
    if (
        isinstance(value, Sequence)
        and not isinstance(value, str | bytes)
        and all(isinstance(v, str) for v in value)
    ):
        return tuple(value)
    problems.append({"field": name, "problem": "expected a list of strings"})
    return ()


def _opt(
    value: Any, kind: type | tuple[type, ...], name: str, problems: list[dict[str, Any]]
) -> Any:
    if value is None or isinstance(value, kind):
        return value
    problems.append({"field": name, "problem": f"wrong type {type(value).__name__}"})
    return None


def _unknown(
    data: Mapping[str, Any], known: frozenset[str], problems: list[dict[str, Any]]
) -> None:
    problems.extend({"field": k, "problem": "unknown field"} for k in data if k not in known)


def case_from_dict(data: Mapping[str, Any]) -> EvalCase:
    """An :class:`EvalCase` from a dataset row; every problem reported at once."""
    problems: list[dict[str, Any]] = []
    _unknown(data, _CASE_FIELDS, problems)
    for key in ("id", "input"):
        if not isinstance(data.get(key), str):
            problems.append({"field": key, "problem": "required string"})
    schema = _opt(data.get("json_schema"), dict, "json_schema", problems)
    fmt = _opt(data.get("format"), str, "format", problems)
    if fmt not in (None, "json", "text"):
        problems.append({"field": "format", "problem": "not json|text"})
    required = _str_list(data.get("required_phrases", []), "required_phrases", problems)
    prohibited = _str_list(data.get("prohibited_phrases", []), "prohibited_phrases", problems)
    refusal = _opt(data.get("expect_refusal"), bool, "expect_refusal", problems)
    handoff = _opt(data.get("expect_handoff"), bool, "expect_handoff", problems)
    expected = _opt(data.get("expected"), str, "expected", problems)
    tags = _str_list(data.get("tags", []), "tags", problems)
    cite = data.get("requires_citation", False)
    if not isinstance(cite, bool):
        problems.append({"field": "requires_citation", "problem": "expected a boolean"})
    approved_raw = data.get("approved_docs")
    approved = None
    if approved_raw is not None:
        approved = frozenset(_str_list(approved_raw, "approved_docs", problems))
    critical = DEFAULT_CRITICAL
    if "critical_rules" in data:
        names = _str_list(data["critical_rules"], "critical_rules", problems)
        bad = [n for n in names if n not in RuleId.__members__.values()]
        if bad:
            problems.append({"field": "critical_rules", "problem": f"unknown rules {bad}"})
        else:
            critical = frozenset(RuleId(n) for n in names)
    if problems:
        raise _invalid(problems, "eval case")
    return EvalCase(
        id=data["id"],
        input=data["input"],
        json_schema=schema,
        format=fmt,
        required_phrases=required,
        prohibited_phrases=prohibited,
        expect_refusal=refusal,
        requires_citation=bool(cite),
        approved_docs=approved,
        expect_handoff=handoff,
        critical_rules=critical,
        expected=expected,
        tags=tags,
    )


def _tool_from_dict(data: Any, i: int, problems: list[dict[str, Any]]) -> ToolCall | None:
    where = f"tool_calls[{i}]"
    if not isinstance(data, Mapping):
        problems.append({"field": where, "problem": "expected an object"})
        return None
    before = len(problems)
    _unknown(data, _TOOL_FIELDS, problems)
    name = data.get("name")
    args = data.get("args", {})
    approved = data.get("approved", False)
    side = data.get("side_effect", "none")
    key = _opt(data.get("idempotency_key"), str, f"{where}.idempotency_key", problems)
    if not isinstance(name, str):
        problems.append({"field": f"{where}.name", "problem": "required string"})
    if not isinstance(args, Mapping):
        problems.append({"field": f"{where}.args", "problem": "expected an object"})
    if not isinstance(approved, bool):
        problems.append({"field": f"{where}.approved", "problem": "expected a boolean"})
    if side not in ("none", "read", "write"):
        problems.append({"field": f"{where}.side_effect", "problem": "not none|read|write"})
    if len(problems) > before:
        return None
    return ToolCall(str(name), dict(args), bool(approved), side, key)


def output_from_dict(data: Mapping[str, Any]) -> Output:
    """An :class:`Output` from a predictions row; every problem reported at once."""
    problems: list[dict[str, Any]] = []
    _unknown(data, _OUTPUT_FIELDS, problems)
    text = data.get("text", "")
    if not isinstance(text, str):
        problems.append({"field": "text", "problem": "expected a string"})
    citations = _str_list(data.get("citations", []), "citations", problems)
    retrieved = _str_list(data.get("retrieved", []), "retrieved", problems)
    raw_calls = data.get("tool_calls", [])
    calls: list[ToolCall] = []
    if isinstance(raw_calls, list):
        for i, raw in enumerate(raw_calls):
            call = _tool_from_dict(raw, i, problems)
            if call is not None:
                calls.append(call)
    else:
        problems.append({"field": "tool_calls", "problem": "expected a list"})
    handoff = data.get("handoff", False)
    if not isinstance(handoff, bool):
        problems.append({"field": "handoff", "problem": "expected a boolean"})
    error = _opt(data.get("error"), str, "error", problems)
    if problems:
        raise _invalid(problems, "output")
    return Output(str(text), citations, retrieved, tuple(calls), bool(handoff), error)
