"""The command table: every top-level command of ``airel``, the module that defines it and the
one-line summary ``airel --help`` shows — so the CLI imports a command's module only when that
command runs (or its own ``--help`` is asked for).

A group entry names the module's ``typer.Typer`` (``airel bundle …``); a verb entry names a
function (``airel init``). CLI noun = SDK namespace: a top-level verb of earlier releases that
belongs to a noun (``airel register`` → ``airel component register``, ``airel approve`` →
``airel gate approve``) stays as an alias and names its ``canonical`` command. The summaries are
the groups' ``help`` and the verbs' docstring first lines; ``tests/cli/test_startup.py`` loads
every entry and fails when one drifts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COMMANDS", "Entry"]


@dataclass(frozen=True)
class Entry:
    """One top-level command: where it lives and what ``airel --help`` says of it."""

    module: str  # under airel.cli
    attr: str  # the Typer app of a group, or the function of a verb
    summary: str
    group: bool = True
    canonical: str | None = None  # a verb kept as an alias: the command path to use instead


COMMANDS: dict[str, Entry] = {
    # store and settings
    "init": Entry(
        "commands_admin",
        "init",
        "Create the store (./.airel by default): schema, artifact directory, store id.",
        False,
    ),
    "config": Entry("commands_admin", "config_app", "Show settings and where they came from."),
    "db": Entry("commands_admin", "db_app", "Database schema management."),
    "artifact": Entry("commands_admin", "artifact_app", "Content-addressed artifacts."),
    # registry
    "register": Entry(
        "commands_registry",
        "register",
        "Register a component version from its spec; artifacts are hashed into the CAS.",
        False,
        canonical="component register",
    ),
    "component": Entry("commands_registry", "component_app", "Read registered component versions."),
    "alias": Entry("commands_registry", "alias_app", "Movable aliases such as name@production."),
    "lineage": Entry(
        "commands_admin",
        "lineage",
        "What went into a release (upstream) or which releases used a component (downstream).",
        False,
    ),
    # bundles
    "bundle": Entry(
        "commands_bundle", "bundle_app", "Release bundles: draft, freeze, inspect, compare, verify."
    ),
    # data
    "profile": Entry(
        "commands_data",
        "profile",
        "Profile a dataset in one streamed pass and store the profile (reused later).",
        False,
    ),
    "validate": Entry(
        "commands_data",
        "validate",
        "Run the nine §5.5 checks; store the run and its card. Exit 1 on any hard finding.",
        False,
    ),
    "validation": Entry("commands_data", "validation_app", "Stored validation runs (evidence)."),
    # evaluation
    "eval": Entry("commands_eval", "eval_app", "Offline evaluation: baseline vs candidate."),
    # gates
    "policy": Entry("commands_policy", "policy_app", "Gate policies: show, diff, check, metrics."),
    "evidence": Entry(
        "commands_policy", "evidence_app", "Gate evidence of a release: add, link, list."
    ),
    "gate": Entry("commands_gate", "gate_app", "Release gates G0-G9: check, explain, memo."),
    "approve": Entry(
        "commands_gate",
        "approve",
        "Approve a release's bundle digest in a role you hold in the store.",
        False,
        canonical="gate approve",
    ),
    "accept-risk": Entry(
        "commands_gate",
        "accept_risk",
        "Accept a residual hard risk the policy allows: scope, expiry, controls required.",
        False,
        canonical="gate accept-risk",
    ),
    # promotion
    "ci": Entry(
        "commands_ci", "ci_app", "The §5.3 CI checklist, run here and recorded as G2 evidence."
    ),
    "promote": Entry(
        "commands_promotion",
        "promote",
        "Promote a frozen release as far as its latest gate decision allows (P1, P5, R6).",
        False,
    ),
    "promotion": Entry(
        "commands_promotion", "promotion_app", "Promotions of releases along the stage graph."
    ),
    "deployment": Entry(
        "commands_promotion",
        "deployment_app",
        "Deployment manifests: what runs where, at what share.",
    ),
    "traffic-plan": Entry(
        "commands_promotion", "plan_app", "Traffic plans: shadow, canary, ramp, full."
    ),
    "rollout": Entry(
        "commands_rollout",
        "rollout_app",
        "Routes and their rollouts: status, advance, pause, resume, abort.",
    ),
    "reconcile": Entry(
        "commands_rollout",
        "reconcile",
        "Converge every route: fire stop conditions, optionally advance, apply to the router.",
        False,
    ),
    "rollback": Entry(
        "commands_rollout",
        "rollback_app",
        "Roll a release back by component; its runbook and drills.",
    ),
    "release": Entry(
        "commands_release",
        "release_app",
        "The §5.8 promotion workflow of a release: each step with its evidence.",
    ),
    "ct": Entry(
        "commands_ct",
        "ct_app",
        "Continuous-training triggers: record, build a candidate, never promote.",
    ),
    "incident": Entry(
        "commands_ct", "incident_app", "Incidents opened by triggers, rollouts and rollbacks."
    ),
    # monitoring
    "serve": Entry(
        "commands_monitoring", "serve_app", "Run airel's servers: the gateway and the REST API."
    ),
    "canary": Entry(
        "commands_monitoring",
        "canary_app",
        "Canary analysis from request traces: candidate vs stable, same window.",
    ),
    "monitor": Entry(
        "commands_monitoring",
        "monitor",
        "Watch a release in production over a window: drift, errors, latency, cost, quality.",
        False,
    ),
    "traces": Entry(
        "commands_monitoring",
        "traces_app",
        "Request traces: who was served by which release, feedback, verification.",
    ),
    # identity
    "role": Entry(
        "commands_identity", "role_app", "Role grants in the store (admin changes them)."
    ),
    "key": Entry("commands_identity", "key_app", "Ed25519 keys that sign approvals."),
    "approval": Entry("commands_identity", "approval_app", "Sign approvals offline."),
    "token": Entry("commands_identity", "token_app", "REST API tokens (admin creates them)."),
    # audit
    "audit": Entry("commands_audit", "audit_app", "The hash-chained audit log."),
}
