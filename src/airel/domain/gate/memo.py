"""The AI Release Gate Memo (§8.1, G7), rendered from a stored decision record.

:func:`render_markdown` turns the body of a stored gate decision into the memo's sections —
Decision, Scope, Release Bundle, Eval Results (one row per G3/G4/G5 rule: the facts it read,
its expression, its result), Conditions, Rollback, Approval — plus the evidence digests the
engine read and the status of every gate G0–G9. :func:`render_html` renders that Markdown
with markdown-it-py (CommonMark, raw HTML off) into a standalone page.

Every value taken from the record is user text: it is flattened to one line and its Markdown
punctuation is backslash-escaped, so a release description cannot open a new section, break a
table or inject markup, and in HTML it always comes out as text.

The record body (written by the gate service)::

    {decision_id, release_id, use_case_id, risk_tier, pipeline_type, bundle_digest,
     rollback_target, submitter, scope: {approved_use, prohibited_use, customer_impact,
     human_role} | None, components: [{path, ref, digest}], policy: {ref, digest},
     through, evaluated_at, evaluated_by,
     inputs: {facts, evidence: [{kind, ref, digest, created_at}], approvals, waivers, now,
     through}, inputs_digest, outcome: Decision.to_dict()}
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markdown_it import MarkdownIt

from airel.domain.gate.stack import GATES, GateId

EVAL_GATES = ("G3", "G4", "G5")  # gates whose rules make the Eval Results table
_ESCAPE = re.compile(r"([\\`*\[\]<>|&#!~])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_SPACE = re.compile(r"\s+")
NONE = "—"

_DECISION = {
    "go": "Go",
    "limited_go": "Limited go",
    "no_go": "No-go",
    "rollback": "Rollback",
    "risk_acceptance": "Risk acceptance",
}
_STAGE = {
    "staging": "staging",
    "shadow": "shadow",
    "staff_pilot": "staff pilot",
    "canary": "canary",
    "limited_ramp": "limited ramp",
    "full": "full scale",
}
_ROLE = {
    "business_owner": "Business owner",
    "model_risk": "Model Risk",
    "compliance": "Compliance",
    "security": "Security",
    "privacy": "Privacy",
    "data_owner": "Data Owner",
    "platform": "Platform",
    "product_owner": "Product owner",
    "release_manager": "Release manager",
    "risk": "Risk",
    "legal": "Legal",
    "executive": "Executive",
}
_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60rem;"
    "margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1f24}"
    "h1{font-size:1.6rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}"
    "h2{font-size:1.2rem;margin-top:2rem}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0}"
    "th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}code{font-size:.9em;background:#f6f8fa;padding:0 .2em}"
)


def text(value: Any) -> str:
    """One line of Markdown-escaped text for any record value (``—`` for nothing)."""
    if value is None or value in ("", []):
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "; ".join(text(v) for v in value) or NONE
    flat = _SPACE.sub(" ", str(value)).strip()
    return _ESCAPE.sub(lambda m: "\\" + m.group(0), flat) or NONE


def code(value: Any) -> str:
    """A code span (for expressions and digests); pipes escaped for tables."""
    flat = _SPACE.sub(" ", str(value)).strip().replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}" if flat else NONE


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _items(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"- {label}: {value}" for label, value in pairs]


def decision_text(body: Mapping[str, Any]) -> str:
    """``Limited go to staging``, ``Go to full scale``, ``Rollback to R-6``, ``No-go`` …"""
    outcome = body.get("outcome") or {}
    kind = str(outcome.get("decision", ""))
    words = _DECISION.get(kind, kind.replace("_", " ").capitalize() or "Unknown")
    stage = outcome.get("max_stage")
    if kind == "rollback":
        target = body.get("rollback_target")
        return f"{words} to {target}" if target else words
    if kind in ("go", "limited_go", "risk_acceptance") and stage:
        return f"{words} to {_STAGE.get(str(stage), str(stage))}"
    return words


def _date(value: Any) -> str:
    return text(str(value)[:10]) if value else NONE


def _decision(body: Mapping[str, Any]) -> list[str]:
    outcome = body.get("outcome") or {}
    policy = body.get("policy") or {}
    through = body.get("through")
    lines = _items(
        [
            ("decision", text(decision_text(body))),
            ("release_id", text(body.get("release_id"))),
            ("use_case_id", text(body.get("use_case_id"))),
            ("risk_tier", text(body.get("risk_tier"))),
            ("pipeline type", text(body.get("pipeline_type"))),
            ("decision date", _date(body.get("evaluated_at"))),
            ("rollback target", text(body.get("rollback_target"))),
            ("decision id", text(body.get("decision_id"))),
            ("policy", f"{text(policy.get('ref'))} ({code(policy.get('digest', NONE))})"),
            ("gates run", f"G0 … {text(through)}" if through else "the tier's full stack"),
            ("evaluated", f"{text(body.get('evaluated_at'))} by {text(body.get('evaluated_by'))}"),
            ("holds", _window(outcome)),
            ("expires", text(outcome.get("expires_at"))),
        ]
    )
    reasons = outcome.get("reasons") or []
    if reasons:
        lines.append("- reasons:")
        lines += [f"  - {code(r)}" for r in reasons]
    failures = outcome.get("failures") or []
    if failures:
        lines.append(f"- failing rules ({len(failures)}, in gate order):")
        lines += [f"  - {_failure(f)}" for f in failures]
        for f in failures:
            lines += [
                f"    - cause {code(c.get('code'))} ({text(c.get('component'))}): "
                f"{text(c.get('risk'))}"
                for c in f.get("causes") or []
            ]
    return lines


def _window(outcome: Mapping[str, Any]) -> str:
    if not outcome.get("valid_until"):
        return NONE
    return (
        f"from {text(outcome.get('decided_at'))} until {text(outcome.get('valid_until'))} "
        "(the same evidence re-checked in this window gives this decision)"
    )


def _failure(f: Mapping[str, Any]) -> str:
    kind = "hard" if f.get("hard") else "soft"
    where = "deciding" if f.get("deciding") else f"also failing behind {text(f.get('behind'))}"
    detail = f" — {text(f.get('detail'))}" if f.get("detail") else ""
    return (
        f"{text(f.get('gate'))} {code(f.get('rule'))} ({kind}, {text(f.get('status'))}) "
        f"{code(f.get('code') or f.get('reason'))}{detail} — {where}"
    )


def _conditions_scope(conditions: Mapping[str, Any]) -> str:
    parts = []
    for key, label in (("users", "users"), ("segments", "segments"), ("regions", "regions")):
        if conditions.get(key):
            parts.append(f"{label} {text(conditions[key])}")
    if conditions.get("traffic_cap_percent") is not None:
        parts.append(f"traffic cap {text(conditions['traffic_cap_percent'])}%")
    if conditions.get("features_off"):
        parts.append(f"features off {text(conditions['features_off'])}")
    if conditions.get("max_stage"):
        stage = str(conditions["max_stage"])
        parts.append(f"up to {text(_STAGE.get(stage, stage))}")
    return ", ".join(parts) or "no limits beyond the rollout stage"


def _scope(body: Mapping[str, Any]) -> list[str]:
    scope = body.get("scope")
    conditions = (body.get("outcome") or {}).get("conditions") or {}
    human = [scope.get("human_role")] if scope and scope.get("human_role") else []
    if conditions.get("human_review"):
        human.append(conditions["human_review"])
    if not scope:
        lines = ["- approved use: not recorded (G0 requires a recorded scope)"]
    else:
        lines = _items(
            [
                ("approved use", text(scope.get("approved_use"))),
                ("prohibited use", text(scope.get("prohibited_use"))),
                ("customer impact", text(scope.get("customer_impact"))),
            ]
        )
    return lines + _items(
        [("conditions scope", _conditions_scope(conditions)), ("human control", text(human))]
    )


def _bundle(body: Mapping[str, Any]) -> list[str]:
    lines = [f"- bundle digest: {code(body.get('bundle_digest', NONE))}", ""]
    rows = [
        [text(c.get("path")), text(c.get("ref")), code(c.get("digest", NONE))]
        for c in body.get("components") or []
    ]
    return lines + (_table(["Component", "Reference", "Digest"], rows) if rows else ["None."])


def _facts(facts: Mapping[str, Any]) -> str:
    return "; ".join(f"{text(k)} = {text(v)}" for k, v in facts.items()) or NONE


def _eval_rows(outcome: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for g in outcome.get("gates") or []:
        if g.get("gate") not in EVAL_GATES:
            continue
        name = f"{g['gate']} {GATES[GateId(g['gate'])].name}"
        if not g.get("rules"):
            rows.append([text(name), text(str(g.get("status", "")).replace("_", " ")), NONE, NONE])
        for r in g.get("rules") or []:
            label = f"{g['gate']} {r.get('rule')} ({'hard' if r.get('hard') else 'soft'})"
            status = str(r.get("status"))
            if g.get("behind") and status not in ("pass", "excepted", "accepted"):
                status += f" (behind {g['behind']})"
            rows.append(
                [
                    text(label),
                    _facts(r.get("facts") or {}),
                    code(r.get("expr", "")),
                    text(status),
                ]
            )
    return rows


def _conditions(body: Mapping[str, Any]) -> list[str]:
    outcome = body.get("outcome") or {}
    c = outcome.get("conditions") or {}
    pairs = [
        ("users", c.get("users")),
        ("segments", c.get("segments")),
        ("regions", c.get("regions")),
        (
            "traffic cap",
            f"{c['traffic_cap_percent']:g}%" if c.get("traffic_cap_percent") is not None else None,
        ),
        ("features off", c.get("features_off")),
        ("human review", c.get("human_review")),
        ("up to stage", _STAGE.get(str(c.get("max_stage")), c.get("max_stage"))),
    ]
    lines = _items((label, text(v)) for label, v in pairs if v)
    lines += [f"- note: {text(n)}" for n in c.get("notes") or []]
    used = set(outcome.get("waivers_used") or [])
    for w in (body.get("inputs") or {}).get("waivers") or []:
        if w.get("waiver_id") not in used:
            continue
        kind = str(w.get("kind", "")).replace("_", " ")
        lines.append(
            f"- {text(kind)} {code(w.get('waiver_id'))} for {text(w.get('rules'))}: "
            f"{text(w.get('reason'))}; approved by {text(w.get('approver'))} "
            f"({text(_ROLE.get(str(w.get('role')), w.get('role')))}), expires "
            f"{text(w.get('expires_at'))}; compensating controls: "
            f"{text(w.get('compensating_controls'))}"
        )
    return lines or ["None."]


def _fact_value(body: Mapping[str, Any], name: str) -> str:
    fact = ((body.get("inputs") or {}).get("facts") or {}).get(name)
    if not fact:
        return "no evidence"
    return text(fact.get("value")) if fact.get("status") == "ok" else text(fact.get("status"))


def _rollback(body: Mapping[str, Any]) -> list[str]:
    target = body.get("rollback_target")
    outcome = body.get("outcome") or {}
    lines = _items(
        [
            ("rollback target", text(target) if target else "none recorded"),
            ("target executable", _fact_value(body, "rollback_target_executable")),
            ("last rollback drill (minutes)", _fact_value(body, "rollback_drill_minutes")),
            ("automatic rollback trigger", "a hard failure at G7 canary or G8 ramp and scale"),
            (
                "rollback action",
                f"route returns to {text(target)}" if target else "no target: fix G2 first",
            ),
        ]
    )
    if outcome.get("decision") == "rollback":
        lines.append(f"- **roll back now**: {text(outcome.get('reasons'))}")
    return lines


def _approval(body: Mapping[str, Any]) -> list[str]:
    approvals = (body.get("outcome") or {}).get("approvals") or {}
    given = {
        (a.get("role"), a.get("approver")): a
        for a in (body.get("inputs") or {}).get("approvals") or []
    }
    valid = approvals.get("valid") or {}
    lines = []
    for role in approvals.get("required") or []:
        label = text(_ROLE.get(role, role))
        who = valid.get(role)
        if who is None:
            lines.append(f"- {label}: **missing**")
            continue
        record = given.get((role, who)) or {}
        expiry = record.get("expires_at")
        until = f" (until {text(expiry)})" if expiry else ""
        how = record.get("auth")
        signed = f", key {code(record.get('key_id'))}" if record.get("key_id") else ""
        auth = f" [{text(how)}{signed}]" if how else ""
        lines.append(f"- {label}: {text(who)}{until}{auth}")
    if not lines:
        lines.append("- no approver roles required at this tier")
    for v in approvals.get("void") or []:
        lines.append(
            f"- not counted: {code(v.get('approval_id'))} "
            f"({text(_ROLE.get(str(v.get('role')), v.get('role')))}): "
            f"{text(str(v.get('why', '')).replace('_', ' '))}"
        )
    return lines


def _evidence(body: Mapping[str, Any]) -> list[str]:
    policy = body.get("policy") or {}
    lines = _items(
        [
            ("inputs digest", code(body.get("inputs_digest", NONE))),
            ("policy digest", code(policy.get("digest", NONE))),
            ("bundle digest", code(body.get("bundle_digest", NONE))),
        ]
    )
    rows = [
        [
            text(e.get("kind")),
            text(e.get("ref")),
            code(e.get("digest", NONE)),
            text(e.get("created_at")),
        ]
        for e in (body.get("inputs") or {}).get("evidence") or []
    ]
    return [
        *lines,
        "",
        *(
            _table(["Kind", "Reference", "Digest", "Recorded"], rows)
            if rows
            else ["No evidence records read."]
        ),
    ]


def _gates(body: Mapping[str, Any]) -> list[str]:
    outcome = body.get("outcome") or {}
    by_gate = {g.get("gate"): g for g in outcome.get("gates") or []}
    rows = []
    for gid in GateId:
        g = by_gate.get(gid.value)
        status = str(g.get("status", "")).replace("_", " ") if g else "not run"
        if g and g.get("behind"):
            status += f" (behind {g['behind']})"
        why = [r for r in outcome.get("reasons") or [] if str(r).startswith(f"{gid.value}:")]
        why += [
            f"{f.get('code')}:{f.get('rule')} (behind {f.get('behind')})"
            for f in outcome.get("failures") or []
            if f.get("gate") == gid.value and not f.get("deciding")
        ]
        rows.append([gid.value, text(GATES[gid].name), text(status), text(why)])
    return _table(["Gate", "Name", "Status", "Reasons"], rows)


def render_markdown(body: Mapping[str, Any]) -> str:
    """The §8.1 memo for a stored decision record body, as Markdown."""
    outcome = body.get("outcome") or {}
    eval_rows = _eval_rows(outcome)
    sections: list[tuple[str, list[str]]] = [
        ("Decision", _decision(body)),
        ("Scope", _scope(body)),
        ("Release Bundle", _bundle(body)),
        (
            "Eval Results",
            _table(["Gate metric", "Result", "Threshold", "Decision"], eval_rows)
            if eval_rows
            else ["No G3-G5 rules were evaluated."],
        ),
        ("Conditions", _conditions(body)),
        ("Rollback", _rollback(body)),
        ("Approval", _approval(body)),
        ("Evidence", _evidence(body)),
        ("Gate results", _gates(body)),
    ]
    title = f"# AI Release Gate Memo: {text(body.get('release_id'))}"
    lines = [title]
    for heading, content in sections:
        lines += ["", f"## {heading}", "", *content]
    return "\n".join(lines) + "\n"


def render_html(body: Mapping[str, Any]) -> str:
    """The memo as a standalone HTML page (user text always escaped)."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    content = md.render(render_markdown(body))
    title = html.escape(f"AI Release Gate Memo: {body.get('release_id', '')}")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{content}</body>\n</html>\n"
    )
