"""Commands: ``policy show|diff|check|metrics`` and ``evidence add|link|list`` (issue 5).

A gate policy is registered like any component (``airel register policy spec.yaml`` with
``format: yaml`` and ``text_file: gates.yaml``); ``policy check`` checks a file before that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

policy_app = typer.Typer(help="Gate policies: show, diff, check, metrics.", no_args_is_help=True)
evidence_app = typer.Typer(
    help="Gate evidence of a release: add, link, list.", no_args_is_help=True
)


@command
def show(
    ref: Annotated[
        str | None, typer.Argument(help="Policy name:version (default: the shipped one).")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """A gate policy after ``extends``: tiers and rules."""
    loaded = client().gates.policy(ref)
    policy = loaded.policy
    if as_json:
        output.emit_json({"ref": loaded.ref, "digest": policy.digest, "document": loaded.merged})
        return output.EXIT_OK
    output.kv(
        f"policy {loaded.ref}", [("digest", policy.digest), ("about", policy.doc.description)]
    )
    output.table(
        "tiers",
        ["tier", "production", "gates", "rollout", "approvers", "evidence age", "decision ttl"],
        [
            (
                tier.label,
                tp.production,
                " ".join(g.value for g in tp.gates),
                " → ".join(s.value for s in tp.rollout) or "-",
                ", ".join(r.value for r in tp.approvers) or "-",
                f"{tp.max_evidence_age_days}d",
                f"{tp.decision_ttl_days}d",
            )
            for tier, tp in sorted(policy.tiers.items())
        ],
    )
    output.table(
        "rules",
        ["rule", "gate", "kind", "tiers", "pipelines", "reason", "expression"],
        [
            (
                r.id,
                r.gate.value,
                ("hard" + (", acceptable" if r.acceptable else "")) if r.hard else "soft",
                ",".join(str(t) for t in r.tiers) if r.tiers is not None else "all",
                ",".join(p.value for p in r.pipeline_types) if r.pipeline_types else "all",
                r.reason,
                escape(r.expr),  # CEL lists look like Rich markup
            )
            for r in policy.rules
        ],
    )
    return output.EXIT_OK


@command
def diff(
    old: Annotated[str, typer.Argument(help="Policy name:version.")],
    new: Annotated[str, typer.Argument(help="Policy name:version.")],
    as_json: JsonOpt = False,
) -> int:
    """Rules added, removed and changed, tiers changed, and a unified diff."""
    result = client().gates.diff_policies(old, new)
    if as_json:
        output.emit_json(result)
        return output.EXIT_OK
    output.kv(
        f"{result.old} → {result.new}",
        [
            ("added rules", ", ".join(result.added_rules) or "-"),
            ("removed rules", ", ".join(result.removed_rules) or "-"),
            ("changed rules", ", ".join(result.changed_rules) or "-"),
            ("changed tiers", ", ".join(result.changed_tiers) or "-"),
        ],
    )
    output.out.print(result.text_diff or "(no difference)", markup=False)
    return output.EXIT_OK


@command
def check(
    path: Annotated[Path, typer.Argument(help="Policy YAML (or JSON) file.")],
    as_json: JsonOpt = False,
) -> int:
    """Parse and check a policy file; exit 2 listing every problem."""
    loaded = client().gates.check_policy_file(path)
    policy = loaded.policy
    if as_json:
        output.emit_json({"ok": True, "ref": policy.ref, "digest": policy.digest})
    else:
        output.ok(f"policy {policy.ref} is valid: {len(policy.rules)} rules, {policy.digest}")
    return output.EXIT_OK


@command
def metrics(as_json: JsonOpt = False) -> int:
    """Every metric gate rules may read: type, evidence kind, meaning."""
    defs = client().gates.policy_metrics()
    if as_json:
        output.emit_json([{"name": m.name, "type": m.type, "source": m.source} for m in defs])
    else:
        output.table(
            "gate metrics",
            ["metric", "type", "evidence", "meaning"],
            [(m.name, m.type, m.source.value, m.description) for m in defs],
        )
    return output.EXIT_OK


def _typed(text: str) -> tuple[str, Any]:
    """``name=value`` typed by the metric's declared type (the service refuses the rest)."""
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    from airel.domain.gate.metrics import METRICS  # noqa: PLC0415

    defn = METRICS.get(name)
    if not sep or defn is None:
        return name, raw
    try:
        if defn.type == "int":
            return name, int(raw)
        if defn.type == "double":
            return name, float(raw)
    except ValueError:
        return name, raw
    lowered = raw.lower()
    return name, {"true": True, "false": False}.get(lowered, raw)


@command
def add(
    release_id: Annotated[str, typer.Argument(help="Release id.")],
    kind: Annotated[str, typer.Option("--kind", help="ci, security_review, shadow, canary …")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="NAME=VALUE (repeatable).")
    ] = None,
    status: Annotated[str, typer.Option("--status", help="ok, errored or inconclusive.")] = "ok",
    source: Annotated[str | None, typer.Option("--source", help="CI run URL, ticket …")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Record attested metrics for a release (nothing is written on a bad metric)."""
    values = dict(_typed(m) for m in metric or [])
    attestation = client().gates.add_evidence(
        release_id, kind, values, status=status, source=source
    )
    if as_json:
        output.emit_json(attestation)
    else:
        output.ok(f"{kind} evidence {attestation.attestation_id} recorded for {release_id}")
    return output.EXIT_OK


@command
def link(
    release_id: Annotated[str, typer.Argument(help="Release id.")],
    eval_id: Annotated[str | None, typer.Option("--eval", help="Eval record id.")] = None,
    validation_id: Annotated[
        str | None, typer.Option("--validation", help="Validation run id.")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Count a stored eval record or validation run as evidence for the release."""
    result = client().gates.link_evidence(release_id, eval=eval_id, validation=validation_id)
    if as_json:
        output.emit_json(result)
    else:
        output.ok(f"{result.kind.value} {result.record_id} linked to {release_id}")
    return output.EXIT_OK


@command
def list_(
    release_id: Annotated[str, typer.Argument(help="Release id.")],
    as_json: JsonOpt = False,
) -> int:
    """Evidence links, attestations, approvals and waivers of a release."""
    found = client().gates.evidence(release_id)
    if as_json:
        output.emit_json(found)
        return output.EXIT_OK
    output.table(
        "evidence",
        ["kind", "record", "status", "at", "by"],
        [(x.kind.value, x.record_id, "linked", x.created_at, x.created_by) for x in found.links]
        + [
            (a.kind, a.attestation_id, a.status.value, a.created_at, a.created_by)
            for a in found.attestations
        ],
    )
    output.table(
        "approvals and waivers",
        ["kind", "id", "role", "by", "rules", "expires"],
        [
            ("approval", a.approval_id, a.role.value, a.approver, "", a.expires_at.isoformat())
            for a in found.approvals
        ]
        + [
            (
                w.kind.value,
                w.waiver_id,
                w.role.value,
                w.approver,
                ", ".join(w.rules),
                w.expires_at.isoformat(),
            )
            for w in found.waivers
        ],
    )
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
policy_app.command("show")(show)
policy_app.command("diff")(diff)
policy_app.command("check")(check)
policy_app.command("metrics")(metrics)
evidence_app.command("add")(add)
evidence_app.command("link")(link)
evidence_app.command("list")(list_)
