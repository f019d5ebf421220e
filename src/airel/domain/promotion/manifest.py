"""Deployment manifests: what runs where, at what share, and who let it in (R6, P1).

A manifest is immutable and content-addressed, one per (release, environment) deployment: the
route, its traffic split and shadow mirrors, feature flags, the digest of the environment
variables, the tools and their modes, whether output reaches customers, the monitoring and the
automatic-rollback rule, the gate decision that admitted it, the change approval, the canary
result and incident links. :func:`check_manifest` refuses what its environment forbids (§5.1)
before anything is stored, naming the field and the fix:

- a route, traffic target or component pinned to ``latest`` (anywhere);
- write tools or customer-visible output in shadow, write tools or customer effects in staging;
- a canary or later without monitoring or without an automatic-rollback rule;
- in scaled production, a changed vendor model or policy under the previous manifest's decision;
- a traffic split that does not add up to 100 %, or a share outside 0–100 %.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.validation import Lines, parse_record
from airel.domain.promotion.environments import Action, Environment
from airel.errors import Reason, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=512)]
MANIFEST_FORMAT = "airel-deployment/1"
LATEST = "latest"


class ToolMode(StrEnum):
    """What a tool may do in a deployment (§5.7 tool rollback switches write → read-only)."""

    READ = "read"  # reads only (a lookup, a search)
    DRAFT = "draft"  # prepares a change a human must confirm; nothing is written
    WRITE = "write"  # changes state outside the system (a case, a payment, a message)
    DISABLED = "disabled"  # switched off


_URL = re.compile(r"^https?://(?P<authority>[^/?#\s]+)(?P<path>/[^?#\s]*)?$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def _endpoint(value: str) -> str:
    """An http(s) URL without credentials, query or fragment (the gateway's upstream)."""
    match = _URL.match(value)
    if match is None:
        raise ValueError("an endpoint is an http:// or https:// URL without query or fragment")
    if "@" in match["authority"]:
        raise ValueError("an endpoint may not carry credentials (use the environment)")
    if not _HOST.match(match["authority"]):
        raise ValueError("an endpoint's host is a name, an IPv4 or a bracketed IPv6 address")
    return value


Endpoint = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_endpoint)]


class Monitoring(BaseModel):
    """Where the release is watched and what rolls it back without a human."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    dashboard: Text | None = None
    alerts: list[Text] = Field(default_factory=list)
    auto_rollback: list[Text] = Field(default_factory=list)  # rules, e.g. "any PII leak"

    @property
    def watched(self) -> bool:
        """A dashboard or at least one alert."""
        return self.dashboard is not None or bool(self.alerts)


class DeploymentManifest(BaseModel):
    """One deployment of a frozen release to an environment (immutable once stored)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    release_id: Text
    environment: Annotated[Environment, Strict(False)]
    route: Text  # the gateway route, e.g. "fraud-scoring"
    traffic: dict[
        Text, Annotated[float, Strict(False)]
    ]  # release id → percent of live traffic; adds up to 100
    mirror: list[Text] = Field(default_factory=list)  # releases that get shadow copies
    components: dict[Text, Text] = Field(default_factory=dict)  # role → "name:version"
    feature_flags: dict[Text, bool] = Field(default_factory=dict)
    env_digest: Text | None = None  # sha256 of the deployment's environment variables
    tools: dict[Text, Annotated[ToolMode, Strict(False)]] = Field(default_factory=dict)
    customer_visible: bool = False
    monitoring: Monitoring = Field(default_factory=Monitoring)
    decision_id: Text | None = None  # the gate decision that admitted the release here
    change_approval: Text | None = None  # e.g. the change ticket
    canary_result: Text | None = None  # the stored analysis of the last rollout step
    incidents: list[Text] = Field(default_factory=list)
    # a component rollback's composition: component path → the approved release it came from
    composed_from: dict[Text, Text] = Field(default_factory=dict)
    endpoint: Endpoint | None = None  # where the gateway sends this release's requests (T2)

    @property
    def digest(self) -> str:
        """The manifest's content address (RFC 8785 JSON, sha256). ``endpoint`` is hashed
        only when set, so manifests stored before it existed keep their address."""
        body = self.model_dump(mode="json")
        if body.get("endpoint") is None:
            body.pop("endpoint", None)
        return digest_of({"format": MANIFEST_FORMAT, **body})

    def diff(self, other: DeploymentManifest) -> dict[str, tuple[Any, Any]]:
        """Field → (this, other) for every field that differs."""
        mine, theirs = self.model_dump(mode="json"), other.model_dump(mode="json")
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}


class DeploymentSpec(BaseModel):
    """What an operator writes for a deployment (``airel promote --deployment FILE``); the
    release, environment, traffic, components and decision come from the records.

    ::

        route: fraud-scoring            # default: the bundle's deployment.route
        tools: {case-lookup: read, sar-filing: draft}
        customer_visible: false
        monitoring:
          dashboard: grafana/fraud-canary
          alerts: [p95 latency above 800 ms]
          auto_rollback: [any critical failure, error rate above 2%]
        feature_flags: {new_reason_codes: true}
        env_digest: sha256:…            # of the deployment's environment variables
        change_approval: CHG-2026-1182
        endpoint: http://fraud-score-v2.internal:8080/score   # the upstream the gateway calls
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    route: Text | None = None
    tools: dict[Text, Annotated[ToolMode, Strict(False)]] = Field(default_factory=dict)
    customer_visible: bool = False
    monitoring: Monitoring = Field(default_factory=Monitoring)
    feature_flags: dict[Text, bool] = Field(default_factory=dict)
    env_digest: Text | None = None
    change_approval: Text | None = None
    incidents: list[Text] = Field(default_factory=list)
    endpoint: Endpoint | None = None  # the release's upstream, e.g. http://fraud-v2:8080/score


def parse_deployment_spec(
    data: Mapping[str, Any], *, source: str = "<deployment>", lines: Lines | None = None
) -> DeploymentSpec:
    """Validate a parsed document into a :class:`DeploymentSpec` (every problem listed)."""
    return parse_record(DeploymentSpec, data, source=source, lines=lines)


@dataclass(frozen=True)
class StoredDeployment:
    """A manifest as stored: when and by whom it was recorded."""

    manifest: DeploymentManifest
    created_at: str
    created_by: str

    @property
    def digest(self) -> str:
        """The manifest's content address."""
        return self.manifest.digest


# Component roles (or kinds, in ``kind/name:version`` refs) whose change in scaled production
# needs a new gate decision (§5.1).
GATED_ROLES = ("model", "policy")


def _refuse(action: Action, field: str, message: str, fix: str) -> ValidationError:
    reason = Reason.ROUTE_TO_LATEST if action is Action.ROUTE_TO_LATEST else Reason.FORBIDDEN_ACTION
    return ValidationError(
        reason, f"{field}: {message}", fix=fix, details={"field": field, "action": action.value}
    )


def _is_latest(ref: str) -> bool:
    tail = ref.rsplit("@", 1)[-1].rsplit(":", 1)[-1] if ("@" in ref or ":" in ref) else ref
    return tail.strip().lower() == LATEST


def _check_traffic(m: DeploymentManifest) -> None:
    for release, share in m.traffic.items():
        if not math.isfinite(share) or not 0 <= share <= 100:
            raise ValidationError(
                Reason.PLAN_TRAFFIC_INVALID,
                f"traffic.{release}: {share!r}% is not a share between 0 and 100",
                fix="give each release a percentage between 0 and 100",
                details={"field": f"traffic.{release}"},
            )
    total = sum(m.traffic.values())
    if not m.traffic or abs(total - 100.0) > 1e-6:
        raise ValidationError(
            Reason.PLAN_TRAFFIC_INVALID,
            f"traffic: shares add up to {total:g}%, not 100%",
            fix="split the route's traffic so the shares add up to exactly 100",
            details={"field": "traffic", "total": total},
        )


def _check_latest(m: DeploymentManifest) -> None:
    refs = [("route", m.route), ("release_id", m.release_id)]
    refs += [(f"traffic.{r}", r) for r in m.traffic] + [(f"mirror.{r}", r) for r in m.mirror]
    refs += [(f"components.{role}", ref) for role, ref in m.components.items()]
    for field, ref in refs:
        if _is_latest(ref):
            raise _refuse(
                Action.ROUTE_TO_LATEST,
                field,
                f"{ref!r} points at latest, which can change without a gate",
                "pin a frozen release id or an exact component version",
            )


def check_manifest(
    m: DeploymentManifest, *, previous: DeploymentManifest | None = None
) -> DeploymentManifest:
    """``m`` when its environment allows everything it does; else the first refusal.

    ``previous`` is the manifest the route runs under now (for the scaled-production rule).
    """
    _check_latest(m)
    _check_traffic(m)
    forbids = m.environment.definition.forbids
    writers = sorted(name for name, mode in m.tools.items() if mode is ToolMode.WRITE)
    if writers and Action.WRITE_TOOLS in forbids:
        raise _refuse(
            Action.WRITE_TOOLS,
            f"tools.{writers[0]}",
            f"a write tool is enabled in {m.environment.value}",
            "set the tool to read, draft or disabled here; writes start at canary",
        )
    if m.customer_visible and (
        Action.CUSTOMER_VISIBLE_OUTPUT in forbids or Action.CUSTOMER_SIDE_EFFECT in forbids
    ):
        raise _refuse(
            Action.CUSTOMER_VISIBLE_OUTPUT,
            "customer_visible",
            f"output reaches customers in {m.environment.value}",
            "set customer_visible: false (shadow and staging never answer a customer)",
        )
    if m.environment is Environment.SHADOW and any(m.traffic.get(r) for r in m.mirror):
        raise _refuse(
            Action.CUSTOMER_VISIBLE_OUTPUT,
            "traffic",
            "a shadow release also receives live traffic",
            "keep the shadow release in mirror: only, at 0% of the traffic",
        )
    if Action.UNMONITORED_EXPANSION in forbids:
        if not m.monitoring.watched:
            raise _refuse(
                Action.UNMONITORED_EXPANSION,
                "monitoring",
                f"no dashboard or alert watches the release in {m.environment.value}",
                "name monitoring.dashboard or monitoring.alerts",
            )
        if not m.monitoring.auto_rollback:
            raise _refuse(
                Action.UNMONITORED_EXPANSION,
                "monitoring.auto_rollback",
                f"no automatic-rollback rule in {m.environment.value}",
                "add at least one monitoring.auto_rollback rule (§8.5)",
            )
    if Action.UNGATED_CHANGE in forbids and previous is not None:
        _check_gated_change(m, previous)
    return m


def _gated(role: str, *refs: str | None) -> bool:
    """A model or policy component: by its role, or by the kind of a ``kind/name:version`` ref."""
    kinds = {r.split("/", 1)[0] for r in refs if r and "/" in r}
    return role in GATED_ROLES or bool(kinds & set(GATED_ROLES))


def _check_gated_change(m: DeploymentManifest, previous: DeploymentManifest) -> None:
    roles = sorted(set(m.components) | set(previous.components))
    changed = [
        role
        for role in roles
        if m.components.get(role) != previous.components.get(role)
        and _gated(role, m.components.get(role), previous.components.get(role))
    ]
    if changed and (m.decision_id is None or m.decision_id == previous.decision_id):
        role = changed[0]
        raise _refuse(
            Action.UNGATED_CHANGE,
            f"components.{role}",
            f"the {role} changed ({previous.components.get(role)} → {m.components.get(role)}) "
            "without a new gate decision",
            "run `airel gate check` for the release and deploy under the new decision",
        )


def split_of(traffic: Mapping[str, float]) -> str:
    """``A 98% / B 2%``, largest share first."""
    return " / ".join(
        f"{r} {s:g}%" for r, s in sorted(traffic.items(), key=lambda kv: (-kv[1], kv[0]))
    )
