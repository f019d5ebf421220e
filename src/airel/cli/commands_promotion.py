"""Commands: ``promote``, ``promotion list|card``, ``deployment list|show|diff``,
``traffic-plan check|canary``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

if TYPE_CHECKING:  # models load with the command that runs, not for --help (issue 10)
    from airel.domain.promotion.manifest import StoredDeployment

promotion_app = typer.Typer(
    help="Promotions of releases along the stage graph.", no_args_is_help=True
)
deployment_app = typer.Typer(
    help="Deployment manifests: what runs where, at what share.", no_args_is_help=True
)
plan_app = typer.Typer(help="Traffic plans: shadow, canary, ramp, full.", no_args_is_help=True)

ReleaseArg = Annotated[str, typer.Argument(help="The frozen release id.")]


@command
def promote(
    release: ReleaseArg,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Target environment: staging, shadow, canary, limited_production, "
            "scaled_production, post_release_review.",
        ),
    ],
    plan: Annotated[
        Path | None, typer.Option(help="Traffic plan YAML (needed for canary and ramp).")
    ] = None,
    deployment: Annotated[
        Path | None,
        typer.Option(help="Deployment YAML: route, tools, monitoring, flags, change approval."),
    ] = None,
    expires_in_days: Annotated[
        int, typer.Option(min=1, help="Days the promotion holds (never past its decision).")
    ] = 14,
    as_json: JsonOpt = False,
) -> int:
    """Promote a frozen release as far as its latest gate decision allows (P1, P5, R6).

    Refused, with nothing written, when the decision does not admit the release, has expired
    or caps it earlier; when the move is not forward; or when the deployment does what the
    environment forbids (write tools in shadow, a canary without monitoring, `latest`)."""
    result = client().promotions.promote(
        release, to, plan=plan, deployment=deployment, expires_in_days=expires_in_days
    )
    p, m = result.promotion, result.deployment
    if as_json:
        output.emit_json(
            {"promotion": p, "deployment": m, "deployment_digest": m.digest, "route": result.route}
        )
        return output.EXIT_OK
    source = p.source.value if p.source else "-"
    output.ok(f"{release}: {source} → {p.target.value} (promotion {p.promotion_id[:19]}…)")
    output.kv(
        "deployment",
        [
            ("route", m.route),
            ("traffic", _split(m.traffic)),
            ("mirror", ", ".join(m.mirror) or "-"),
            ("decision", m.decision_id or "-"),
            ("manifest", m.digest),
            ("expires", p.expires_at),
            *(
                [("route version", f"{result.route.key} v{result.route.version}")]
                if result.route
                else []
            ),
        ],
    )
    return output.EXIT_OK


def _split(traffic: dict[str, float]) -> str:
    from airel.domain.promotion.manifest import split_of  # noqa: PLC0415

    return split_of(traffic)


@command
def list_promotions(
    release: Annotated[str | None, typer.Option(help="Only this release.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Promotions, oldest first: release, from, to, decision, expiry."""
    found = client().promotions.list(release)
    if as_json:
        output.emit_json(found)
        return output.EXIT_OK
    output.table(
        "promotions",
        ["release", "from", "to", "decision", "expires", "by"],
        [
            (
                p.release_id,
                p.source.value if p.source else "-",
                p.target.value,
                p.decision_id[:19],
                p.expires_at,
                p.created_by,
            )
            for p in found
        ],
    )
    return output.EXIT_OK


@command
def card(
    promotion_id: Annotated[str, typer.Argument(help="Promotion id (or 12+ leading characters).")],
    out: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
) -> int:
    """The §8.2 Model Promotion Card of a promotion, rendered from its records."""
    markdown = client().promotions.card(promotion_id)
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
    output.out.print(markdown, markup=False)
    return output.EXIT_OK


@command
def list_deployments(
    release: Annotated[str | None, typer.Option(help="Only this release.")] = None,
    route: Annotated[str | None, typer.Option(help="Only this route.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Deployment manifests, oldest first."""
    found = client().promotions.deployments(release_id=release, route=route)
    if as_json:
        output.emit_json([_stored(d) for d in found])
        return output.EXIT_OK
    output.table(
        "deployments",
        ["manifest", "release", "environment", "route", "traffic", "at"],
        [
            (
                d.digest[:19],
                d.manifest.release_id,
                d.manifest.environment.value,
                d.manifest.route,
                _split(d.manifest.traffic),
                d.created_at,
            )
            for d in found
        ],
    )
    return output.EXIT_OK


def _stored(d: StoredDeployment) -> dict[str, object]:
    return {
        "digest": d.digest,
        "created_at": d.created_at,
        "created_by": d.created_by,
        "manifest": output.to_jsonable(d.manifest),
    }


@command
def show_deployment(
    digest: Annotated[str, typer.Argument(help="Manifest digest (or 12+ leading characters).")],
    as_json: JsonOpt = False,
) -> int:
    """One deployment manifest, field by field (R6)."""
    d = client().promotions.deployment(digest)
    if as_json:
        output.emit_json(_stored(d))
        return output.EXIT_OK
    m = d.manifest
    output.kv(
        f"deployment {d.digest}",
        [
            ("release", m.release_id),
            ("environment", m.environment.value),
            ("route", m.route),
            ("traffic", _split(m.traffic)),
            ("mirror", ", ".join(m.mirror) or "-"),
            ("tools", ", ".join(f"{k}={v.value}" for k, v in m.tools.items()) or "-"),
            ("customer visible", "yes" if m.customer_visible else "no"),
            ("monitoring", m.monitoring.dashboard or ", ".join(m.monitoring.alerts) or "-"),
            ("auto rollback", "; ".join(m.monitoring.auto_rollback) or "-"),
            ("decision", m.decision_id or "-"),
            ("change approval", m.change_approval or "-"),
            ("recorded", f"{d.created_at} by {d.created_by}"),
        ],
    )
    return output.EXIT_OK


@command
def diff_deployments(
    old: Annotated[str, typer.Argument(help="The earlier manifest digest (or prefix).")],
    new: Annotated[str, typer.Argument(help="The later manifest digest (or prefix).")],
    as_json: JsonOpt = False,
) -> int:
    """What changed between two deployment manifests, field by field."""
    a, b = client().promotions.deployment(old), client().promotions.deployment(new)
    changes = a.manifest.diff(b.manifest)
    if as_json:
        output.emit_json({"old": a.digest, "new": b.digest, "changes": changes})
        return output.EXIT_OK
    output.table(
        f"{a.digest[:19]} -> {b.digest[:19]}",
        ["field", "old", "new"],
        [(k, str(v[0]), str(v[1])) for k, v in sorted(changes.items())],
    )
    return output.EXIT_OK


@command
def check_plan(
    path: Annotated[Path, typer.Argument(help="Traffic plan YAML.")],
    as_json: JsonOpt = False,
) -> int:
    """Check a traffic plan strictly (every problem with its line); nothing is stored."""
    plan = client().promotions.check_plan(path)
    if as_json:
        output.emit_json({"plan": plan, "digest": plan.digest})
        return output.EXIT_OK
    output.ok(f"plan {plan.plan_id} ok: {len(plan.steps)} steps, {plan.digest}")
    output.table(
        "steps",
        ["step", "environment", "traffic", "excluded", "stop conditions"],
        [
            (
                s.name,
                s.environment.value,
                f"{s.traffic_percent:g}%",
                ", ".join(s.exclude_segments) or "-",
                "; ".join(c.text() for c in s.stop) or "-",
            )
            for s in plan.steps
        ],
    )
    return output.EXIT_OK


@command
def canary_plan(
    path: Annotated[Path, typer.Argument(help="Traffic plan YAML.")],
    step: Annotated[str, typer.Option(help="The step to describe, e.g. canary-1.")],
    out: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
) -> int:
    """The §8.5 canary plan of one step, rendered from the plan (Markdown)."""
    markdown = client().promotions.canary_plan(path, step)
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
    output.out.print(markdown, markup=False)
    return output.EXIT_OK


def _k8s(
    kind: str,
    path: Path,
    name: str,
    namespace: str,
    image: str,
    airel_url: str,
    route: str | None,
    replicas: int,
    nginx_ingress: str | None,
    out: Path | None,
) -> int:
    text = client().monitoring.kubernetes(
        kind, path, name=name, namespace=namespace, image=image, base_url=airel_url,
        route=route, replicas=replicas, nginx_ingress=nginx_ingress,
    )  # fmt: skip
    if out is not None:
        out.write_text(text, encoding="utf-8")
        output.ok(f"{kind} manifests of {path.name} written to {out}")
    else:
        output.out.print(text, markup=False, end="")
    return output.EXIT_OK


PlanArg = Annotated[Path, typer.Argument(help="Traffic plan YAML.")]
NameOpt = Annotated[str, typer.Option(help="The workload's name (DNS label, ≤ 55 characters).")]
NamespaceOpt = Annotated[str, typer.Option(help="Its Kubernetes namespace.")]
ImageOpt = Annotated[str, typer.Option(help="Its image, pinned by tag or digest (never latest).")]
AirelUrlOpt = Annotated[
    str, typer.Option(help="airel's analysis API base URL, e.g. https://airel.internal.")
]
RouteOpt = Annotated[str | None, typer.Option(help="airel's route name (default: --name).")]
OutOpt = Annotated[Path | None, typer.Option(help="Write the YAML here (default: stdout).")]


@command
def argo(
    path: PlanArg,
    name: NameOpt,
    namespace: NamespaceOpt,
    image: ImageOpt,
    airel_url: AirelUrlOpt,
    route: RouteOpt = None,
    replicas: Annotated[int, typer.Option(help="Pods (basic canary: shares are pod counts).")] = 10,
    nginx_ingress: Annotated[
        str | None, typer.Option(help="Split by this NGINX ingress instead of pod counts.")
    ] = None,
    out: OutOpt = None,
) -> int:
    """Argo Rollouts manifests of a plan: AnalysisTemplates calling airel's web metric, and a
    Rollout with the plan's weights, pauses and analysis steps (validated against the CRD).

    Exit 2 when the plan cannot be expressed (e.g. a shadow step without a traffic router)."""
    return _k8s("argo", path, name, namespace, image, airel_url, route, replicas,
                nginx_ingress, out)  # fmt: skip


@command
def flagger(
    path: PlanArg,
    name: NameOpt,
    namespace: NamespaceOpt,
    image: ImageOpt,
    airel_url: AirelUrlOpt,
    route: RouteOpt = None,
    out: OutOpt = None,
) -> int:
    """A Flagger Canary of a plan: its step weights, with airel's analysis as the webhook."""
    return _k8s("flagger", path, name, namespace, image, airel_url, route, 10, None, out)


@command
def alerts(
    path: PlanArg,
    route: Annotated[str, typer.Option(help="The route the gateway serves, e.g. fraud-scoring.")],
    release: Annotated[str, typer.Option(help="The candidate release the alerts watch.")],
    lane: Annotated[str, typer.Option(help="production (default) or staging.")] = "production",
    window: Annotated[str, typer.Option(help="PromQL range, e.g. 5m.")] = "5m",
    out: OutOpt = None,
) -> int:
    """Prometheus alert rules for the plan's stop conditions, on the gateway's /metrics; the
    stop conditions no gateway metric measures are listed (the canary analysis decides them)."""
    text, left = client().monitoring.alert_rules(path, route=route, release=release, lane=lane,
                                                 window=window)  # fmt: skip
    if out is not None:
        out.write_text(text, encoding="utf-8")
        output.ok(f"alert rules of {path.name} written to {out}")
    else:
        output.out.print(text, markup=False, end="")
    for line in left:
        output.err.print(f"no alert (decided by `airel canary analyse`): {line}", markup=False)
    return output.EXIT_OK


promotion_app.command("list")(list_promotions)
promotion_app.command("card")(card)
deployment_app.command("list")(list_deployments)
deployment_app.command("show")(show_deployment)
deployment_app.command("diff")(diff_deployments)
plan_app.command("check")(check_plan)
plan_app.command("canary")(canary_plan)
plan_app.command("argo")(argo)
plan_app.command("flagger")(flagger)
plan_app.command("alerts")(alerts)
