"""Turning untrusted mappings into frozen domain records, collecting every problem.

Pydantic does the type checking in strict mode (a YAML number is never turned into a string,
``NO`` is never turned into ``False``); this module maps its errors onto airel's stable reason
codes, adds the source line of each offending value and a fix the user can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pydantic

from airel.errors import AirelError, Reason, ValidationError

T = TypeVar("T", bound=pydantic.BaseModel)
R = TypeVar("R")

Lines = Mapping[tuple[str | int, ...], int]

_TYPE_REASONS = {
    "extra_forbidden": Reason.UNKNOWN_FIELD,
    "missing": Reason.MISSING_FIELD,
}


class FieldProblem(ValueError):
    """Carries an AirelError through pydantic so its reason code and fix survive collection."""

    def __init__(self, error: AirelError) -> None:
        super().__init__(error.message)
        self.error = error


def as_field_problem(check: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run a domain check inside a pydantic validator, re-raising its error collectably."""
    try:
        return check(*args, **kwargs)
    except AirelError as exc:
        raise FieldProblem(exc) from None


def _reason_for(error_type: str) -> Reason:
    if error_type in _TYPE_REASONS:
        return _TYPE_REASONS[error_type]
    if error_type.endswith("_type") or error_type in {"model_attributes_type", "is_instance_of"}:
        return Reason.WRONG_TYPE
    return Reason.INVALID_VALUE


def _line_for(lines: Lines | None, loc: Sequence[str | int]) -> int | None:
    if not lines:
        return None
    path = tuple(loc)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _dotted(error: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in error.get("loc", ())) or "(document)"


def _fix_for(reason: Reason, error: Mapping[str, Any], allowed: Sequence[str]) -> str:
    value = error.get("input")
    if reason is Reason.UNKNOWN_FIELD:
        hint = f"; allowed here: {', '.join(sorted(allowed))}" if allowed else ""
        return f"remove the field or correct its spelling{hint}"
    if reason is Reason.MISSING_FIELD:
        return f"add `{_dotted(error)}:` with a value (docs/specs.md lists every field)"
    if (
        reason is Reason.WRONG_TYPE
        and error["type"] == "string_type"
        and isinstance(value, (int, float, bool))
    ):
        return (
            f"YAML read {value!r} as a {type(value).__name__}; quote it to keep the exact text, "
            'e.g. "1.10"'
        )
    return f"correct `{_dotted(error)}`; docs/specs.md gives the format of every field"


def _allowed_fields(model: type[pydantic.BaseModel], loc: Sequence[str | int]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, pydantic.BaseModel)
        ):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [a for a in (ann, *args) if isinstance(a, type)]
        current = next((a for a in candidates if issubclass(a, pydantic.BaseModel)), None)
    if isinstance(current, type) and issubclass(current, pydantic.BaseModel):
        return list(current.model_fields)
    return []


def parse_record(
    model: type[T],
    data: Mapping[str, Any],
    *,
    source: str = "<input>",
    lines: Lines | None = None,
    context: Mapping[str, Any] | None = None,
) -> T:
    """Validate ``data`` into ``model``; raise one ValidationError listing every problem."""
    try:
        return model.model_validate(data, context=dict(context or {}))
    except pydantic.ValidationError as exc:
        problems: list[dict[str, Any]] = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            # Errors raised by our own validators carry an AirelError as ``ctx.error``.
            ctx_error = (err.get("ctx") or {}).get("error")
            if isinstance(ctx_error, FieldProblem):
                reason = ctx_error.error.reason
                fix = ctx_error.error.fix or ""
                message = ctx_error.error.message
            else:
                reason = _reason_for(err["type"])
                fix = _fix_for(reason, err, _allowed_fields(model, loc))
                message = err["msg"]
            field = ".".join(str(p) for p in loc) or "(document)"
            line = _line_for(lines, loc)
            problems.append(
                {
                    "field": field,
                    "reason": reason.value,
                    "message": message,
                    "fix": fix,
                    **({"line": line} if line is not None else {}),
                }
            )
        first = problems[0]
        where = f"{source} line {first['line']}" if "line" in first else source
        summary = f"{where}: {first['field']}: {first['message']}"
        if len(problems) > 1:
            summary += f" (and {len(problems) - 1} more problem(s))"
        raise ValidationError(
            Reason(first["reason"]),
            summary,
            fix=first["fix"],
            problems=problems,
            details={"source": source},
        ) from None
