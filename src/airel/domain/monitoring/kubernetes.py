"""Progressive-delivery manifests for Kubernetes, rendered from an airel traffic plan (issue 12).

A :class:`~airel.domain.promotion.traffic_plan.TrafficPlan` is airel's description of a
rollout; a cluster runs it with a progressive-delivery controller. The documents are plain,
deterministic dicts; :mod:`airel.adapters.documents.manifests` writes them as YAML.

- **Argo Rollouts** (:func:`argo_documents`): a ``Rollout`` whose canary steps are, per plan
  step, ``setWeight`` (its share), ``pause`` (its ``min_duration_hours``) and an ``analysis``
  step running the verdict template: ``GET {base_url}/api/v1/analysis/{route}/{step}``, read
  ``{$.verdict}``, succeed on ``"pass"``, fail on ``"fail"``. ``"hold"`` and ``"inconclusive"``
  meet neither condition: the run is Inconclusive (``inconclusiveLimit: 0``), which *pauses* the
  Rollout for a human. Inconclusive never advances. A pause only waits, so a background
  analysis (the stop template) asks ``GET {base_url}/api/v1/analysis/{route}`` (the route's
  current step) every ``check_interval`` and aborts to stable on ``"fail"`` — or when airel
  cannot be reached five times in a row (fail-safe).
- **Flagger** (:func:`flagger_canary`): ``stepWeights`` are the live steps' shares (equal
  neighbours collapse: Flagger cannot step by 0); four webhooks POST to
  ``{base_url}/api/v1/analysis/{route}`` (the route's current step; ``metadata.hook`` names the
  question). Flagger reads only the status code (:func:`flagger_status`):

  ================================  ===============  ===========================================
  hook                              2xx for          a non-2xx answer makes Flagger …
  ================================  ===============  ===========================================
  ``pre-rollout`` (at 0 %, shadow)  advance, hold    count a failed check (rollback at threshold)
  ``rollout`` (every interval)      advance, hold    count a failed check (rollback at threshold)
  ``confirm-traffic-increase``      advance          wait, and ask again next interval
  ``confirm-promotion``             advance          wait, and ask again next interval
  ================================  ===============  ===========================================

  Inconclusive never passes a hook; Flagger cannot pause for a human, so an analysis that stays
  inconclusive rolls back after ``threshold`` intervals — fail-safe, where Argo pauses.

:func:`web_metric_response` is the endpoint's JSON body for both; Argo needs HTTP 200 for every
verdict (a non-2xx answer is a measurement *error* there).

A **shadow step** (0 % of customers) is analysis only: airel's gateway copies requests to the
candidate through the canary service. Argo's basic canary (no ``traffic_routing``) runs no
candidate pod at 0 % and splits traffic by pod count (1 of 10 pods — 10 % — for a 2 % step), so
a shadow step, or a share that is not a whole number of pods, is refused there. With
``traffic_routing`` the router splits by weight and the shadow step scales the candidate to
``shadow_replicas`` (``setCanaryScale``) until the first live step. Segments are applied by
airel's gateway, never by the router. After the last step both controllers promote to 100 %.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from airel.domain.kernel.names import NameClass, check_name
from airel.domain.promotion.environments import Action
from airel.domain.promotion.traffic_plan import PlanStep, StepVerdict, TrafficPlan
from airel.errors import Reason, ValidationError

ANALYSIS_PATH = "/api/v1/analysis"
ANNOTATION_PREFIX = "airel/"  # a valid, unowned annotation prefix: airel/plan-id …
NAME_LABEL = "app.kubernetes.io/name"
METRIC_NAME = "airel-verdict"
STOP_METRIC_NAME = "airel-stop"
JSON_PATH = "{$.verdict}"  # what the web metrics read from web_metric_response
SUCCESS_CONDITION = 'result == "pass"'
FAILURE_CONDITION = 'result == "fail"'
# Flagger adds -primary (and Argo/airel -canary, -stable) to the name of Services, which are
# DNS-1035 labels of at most 63 characters.
MAX_NAME_LENGTH = 63 - len("-primary")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_BASE_URL = re.compile(
    rf"^https?://(?P<host>{_HOST_LABEL}(?:\.{_HOST_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?"
    r"(?P<path>(?:/[A-Za-z0-9._~-]+)*)$"
)
# An OCI image reference (github.com/distribution/reference): [domain/]path[:tag][@digest].
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*(?::[0-9]+)?"
_IMAGE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$",
    re.ASCII,
)
MAX_IMAGE_LENGTH = 255 + 72  # a 255-character name plus a tag or a sha256 digest
_DURATION = re.compile(r"^[1-9][0-9]*(s|m)$")  # Flagger's (and a plain Go) duration

# What airel's analysis endpoint puts in ``verdict``: the Argo templates' conditions read it.
WEB_RESULT: dict[StepVerdict, str] = {
    StepVerdict.ADVANCE: "pass",  # successCondition
    StepVerdict.STOP: "fail",  # failureCondition: the step run fails, the background one too
    StepVerdict.HOLD: "hold",  # neither: Inconclusive, the Rollout pauses
    StepVerdict.INCONCLUSIVE: "inconclusive",  # neither: Inconclusive, the Rollout pauses
}


class FlaggerHook(StrEnum):
    """The Flagger webhook types airel answers (``analysis.webhooks[].type``)."""

    PRE_ROLLOUT = "pre-rollout"  # before any traffic (the shadow step); failure counts
    ROLLOUT = "rollout"  # every interval while traffic flows; failure counts
    CONFIRM_TRAFFIC_INCREASE = "confirm-traffic-increase"  # before each weight; failure waits
    CONFIRM_PROMOTION = "confirm-promotion"  # before full promotion; failure waits


_HEALTHY = frozenset({StepVerdict.ADVANCE, StepVerdict.HOLD})
_EARNED = frozenset({StepVerdict.ADVANCE})
# The verdicts each hook answers with HTTP 200; every other verdict gets FLAGGER_REFUSED.
FLAGGER_PASSES: dict[FlaggerHook, frozenset[StepVerdict]] = {
    FlaggerHook.PRE_ROLLOUT: _HEALTHY,
    FlaggerHook.ROLLOUT: _HEALTHY,
    FlaggerHook.CONFIRM_TRAFFIC_INCREASE: _EARNED,
    FlaggerHook.CONFIRM_PROMOTION: _EARNED,
}
FLAGGER_REFUSED = 412  # Precondition Failed: the step's criteria do not allow this


def _invalid(field: str, message: str, fix: str, reason: Reason = Reason.INVALID_VALUE) -> NoReturn:
    raise ValidationError(reason, f"{field}: {message}", fix=fix, details={"field": field})


def _require(field: str, value: object, kind: type) -> None:
    if type(value) is not kind:  # bool is not an int here
        raise ValidationError(
            Reason.WRONG_TYPE,
            f"{field}: expected {kind.__name__}, got {type(value).__name__} {value!r}",
            fix=f"pass a {kind.__name__}",
            details={"field": field},
        )


def _duration(field: str, value: object) -> str:
    if not isinstance(value, str) or not _DURATION.match(value):
        _invalid(field, f"{value!r} is not a duration in whole seconds or minutes", "e.g. 30s, 5m")
    return value


@dataclass(frozen=True)
class Workload:
    """What the manifests deploy and where airel's analysis endpoint is; checked when built."""

    name: str  # DNS-1035 label ≤ 55: the Rollout/Deployment, its pods' label and container
    namespace: str  # DNS-1123 label
    image: str  # pinned by tag or digest; never ``latest`` (which can change without a gate)
    base_url: str  # airel's API, e.g. https://airel.internal (no trailing slash)
    route: str | None = None  # airel's route name; None: the workload's name
    port: int = 8080  # the container's (and Flagger service's) HTTP port
    replicas: int = 10  # pods of the Rollout (basic canary: shares are pod counts)

    def __post_init__(self) -> None:
        for field in ("name", "namespace", "image", "base_url"):
            _require(field, getattr(self, field), str)
        for field in ("port", "replicas"):
            _require(field, getattr(self, field), int)
        if len(self.name) > MAX_NAME_LENGTH or not _DNS_1035.match(self.name):
            _invalid(
                "name",
                f"{self.name!r} is not a DNS-1035 label of at most {MAX_NAME_LENGTH} characters",
                "start with a-z, then use a-z, 0-9 and '-' (Services are named after it)",
            )
        if not _DNS_1123.match(self.namespace):
            _invalid("namespace", f"{self.namespace!r} is not a DNS-1123 label", "use a-z, 0-9, -")
        check_name(self.route_name, NameClass.COMPONENT, field="route")
        self._check_base_url()
        if not 0 < self.port < 65536:
            _invalid("port", f"{self.port} is not a TCP port", "use 1-65535")
        if self.replicas < 1:
            _invalid("replicas", "a Rollout needs at least one pod", "use 1 or more")
        self._check_image()

    def _check_base_url(self) -> None:
        match = _BASE_URL.match(self.base_url)
        bad = (
            match is None
            or len(match["host"]) > 253
            or not 0 < int(match["port"] or 80) < 65536
            or any(seg in (".", "..") for seg in match["path"].split("/"))
        )
        if bad:
            _invalid(
                "base_url",
                f"{self.base_url!r} is not an http(s) base URL",
                "e.g. https://airel.internal or http://airel.ops:8080/airel (no trailing '/')",
            )

    def _check_image(self) -> None:
        match = _IMAGE.match(self.image) if len(self.image) <= MAX_IMAGE_LENGTH else None
        if match is None:
            _invalid("image", f"{self.image!r} is not an image reference", "e.g. repo/app:1.4.2")
        tag = match["tag"]
        if match["digest"] is None and (tag is None or tag.lower() == "latest"):
            raise ValidationError(
                Reason.ROUTE_TO_LATEST,
                f"image: {self.image!r} points at latest, which can change without a gate",
                fix="pin a version tag or a digest (repo/app@sha256:…)",
                details={"field": "image", "action": Action.ROUTE_TO_LATEST.value},
            )

    @property
    def route_name(self) -> str:
        """The airel route the analysis endpoint is asked about."""
        return self.route if self.route is not None else self.name


def _weight(step: PlanStep) -> int:
    if not float(step.traffic_percent).is_integer():
        _invalid(
            f"steps.{step.name}.traffic_percent",
            f"{step.traffic_percent:g}% is not a whole percent",
            "Argo Rollouts and Flagger take whole-percent weights: round the share in the plan",
            Reason.PLAN_TRAFFIC_INVALID,
        )
    return int(step.traffic_percent)


def pause_duration(hours: float) -> str:
    """``min_duration_hours`` as an Argo duration, rounded up to the second: 120 → ``120h``."""
    seconds = math.ceil(round(hours * 3600, 6))
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _metadata(plan: TrafficPlan, workload: Workload, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": workload.namespace,
        "labels": {NAME_LABEL: workload.name, "app.kubernetes.io/managed-by": "airel"},
        "annotations": {
            f"{ANNOTATION_PREFIX}plan-id": plan.plan_id,
            f"{ANNOTATION_PREFIX}plan-digest": plan.digest,
            f"{ANNOTATION_PREFIX}route": workload.route_name,
        },
    }


def analysis_template_name(workload: Workload) -> str:
    """The AnalysisTemplate a Rollout's analysis steps reference."""
    return f"{workload.name}-airel-analysis"


def stop_template_name(workload: Workload) -> str:
    """The AnalysisTemplate a Rollout runs in the background."""
    return f"{workload.name}-airel-stop"


def _template(plan: TrafficPlan, wl: Workload, name: str, metric: dict[str, Any]) -> dict[str, Any]:
    args = [{"name": "base-url", "value": wl.base_url}, {"name": "route", "value": wl.route_name}]
    if "{{args.step}}" in metric["provider"]["web"]["url"]:
        args.append({"name": "step"})  # given by each analysis step of the Rollout
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": _metadata(plan, wl, name),
        "spec": {"args": args, "metrics": [metric]},
    }


def _web(path: str) -> dict[str, Any]:
    url = "{{args.base-url}}" + ANALYSIS_PATH + "/{{args.route}}" + path
    return {"web": {"url": url, "method": "GET", "jsonPath": JSON_PATH, "timeoutSeconds": 10}}


def argo_analysis_template(plan: TrafficPlan, workload: Workload) -> dict[str, Any]:
    """The verdict template: one web metric asking airel for the verdict of ``args.step``."""
    metric = {
        "name": METRIC_NAME,
        "count": 1,  # one decision at the end of the step's pause
        "successCondition": SUCCESS_CONDITION,
        "failureCondition": FAILURE_CONDITION,
        "failureLimit": 0,
        "inconclusiveLimit": 0,  # a hold or inconclusive answer pauses the Rollout
        "provider": _web("/{{args.step}}"),
    }
    return _template(plan, workload, analysis_template_name(workload), metric)


def argo_stop_template(
    plan: TrafficPlan, workload: Workload, *, interval: str = "5m"
) -> dict[str, Any]:
    """The stop template: every ``interval``, fail if the route's current step is stopped."""
    metric = {
        "name": STOP_METRIC_NAME,
        "interval": _duration("interval", interval),  # no count: runs until the Rollout ends
        "failureCondition": FAILURE_CONDITION,  # no successCondition: all else succeeds
        "failureLimit": 0,
        "provider": _web(""),
    }
    return _template(plan, workload, stop_template_name(workload), metric)


def _argo_steps(
    plan: TrafficPlan, workload: Workload, *, routed: bool, shadow_replicas: int
) -> list[dict[str, Any]]:
    template = analysis_template_name(workload)
    steps: list[dict[str, Any]] = []
    scaled = False
    for step in plan.steps:
        if step.is_shadow:
            if not routed:
                _invalid(
                    f"steps.{step.name}",
                    "Argo's basic canary runs no candidate pod at 0 %, so a shadow step has "
                    "nothing to copy requests to",
                    "pass traffic_routing (the shadow step then scales the candidate up)",
                    Reason.PLAN_TRAFFIC_INVALID,
                )
            steps.append({"setCanaryScale": {"replicas": shadow_replicas}})
            scaled = True
        else:
            weight = _weight(step)
            if not routed and workload.replicas * weight % 100:
                _invalid(
                    f"steps.{step.name}.traffic_percent",
                    f"{weight}% of {workload.replicas} pods is not a whole pod; Argo's basic "
                    "canary would send a different share",
                    f"use a multiple of {100 // math.gcd(weight, 100)} replicas, or pass "
                    "traffic_routing",
                    Reason.PLAN_TRAFFIC_INVALID,
                )
            if scaled:
                steps.append({"setCanaryScale": {"matchTrafficWeight": True}})
                scaled = False
            steps.append({"setWeight": weight})
        if step.min_duration_hours > 0:
            steps.append({"pause": {"duration": pause_duration(step.min_duration_hours)}})
        args = [{"name": "step", "value": step.name}]
        steps.append({"analysis": {"templates": [{"templateName": template}], "args": args}})
    return steps


def _json_copy(field: str, value: object) -> Any:
    try:
        return json.loads(json.dumps(value, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError):
        raise ValidationError(
            Reason.WRONG_TYPE,
            f"{field}: not a JSON object of strings, numbers, booleans, lists and objects",
            fix="pass the router block as it appears in the Rollout (e.g. {'istio': {...}})",
            details={"field": field},
        ) from None


def argo_rollout(
    plan: TrafficPlan,
    workload: Workload,
    *,
    traffic_routing: Mapping[str, Any] | None = None,
    shadow_replicas: int = 1,
) -> dict[str, Any]:
    """The Rollout: the workload's pods and canary steps that follow ``plan``.

    ``traffic_routing`` (e.g. ``{"istio": {...}}``) is copied to ``canary.trafficRouting`` with
    ``{name}-canary`` / ``{name}-stable`` as the services the router splits between.
    """
    _require("shadow_replicas", shadow_replicas, int)
    if shadow_replicas < 1:
        _invalid("shadow_replicas", "a shadow step needs a candidate pod", "use 1 or more")
    labels = {NAME_LABEL: workload.name}
    canary: dict[str, Any] = {}
    if traffic_routing is not None:
        if not isinstance(traffic_routing, Mapping) or not traffic_routing:
            _invalid("traffic_routing", "no router given", "e.g. {'istio': {...}}")
        canary["canaryService"] = f"{workload.name}-canary"
        canary["stableService"] = f"{workload.name}-stable"
        canary["trafficRouting"] = _json_copy("traffic_routing", traffic_routing)
    canary["steps"] = _argo_steps(
        plan, workload, routed=traffic_routing is not None, shadow_replicas=shadow_replicas
    )
    canary["analysis"] = {"templates": [{"templateName": stop_template_name(workload)}]}
    container = {
        "name": workload.name,
        "image": workload.image,
        "ports": [{"name": "http", "containerPort": workload.port, "protocol": "TCP"}],
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": _metadata(plan, workload, workload.name),
        "spec": {
            "replicas": workload.replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [container]},
            },
            "strategy": {"canary": canary},
        },
    }


def argo_documents(
    plan: TrafficPlan,
    workload: Workload,
    *,
    traffic_routing: Mapping[str, Any] | None = None,
    shadow_replicas: int = 1,
    check_interval: str = "5m",
) -> list[dict[str, Any]]:
    """Everything ``kubectl apply`` needs for Argo: the two templates, then the Rollout."""
    return [
        argo_analysis_template(plan, workload),
        argo_stop_template(plan, workload, interval=check_interval),
        argo_rollout(
            plan, workload, traffic_routing=traffic_routing, shadow_replicas=shadow_replicas
        ),
    ]


def flagger_weights(plan: TrafficPlan) -> list[int]:
    """The live steps' shares in order, consecutive equal shares collapsed."""
    weights: list[int] = []
    for step in plan.steps:
        if not step.is_shadow and (not weights or weights[-1] != _weight(step)):
            weights.append(_weight(step))
    return weights


def flagger_canary(
    plan: TrafficPlan,
    workload: Workload,
    *,
    interval: str = "5m",
    threshold: int = 5,
    webhook_timeout: str = "30s",
) -> dict[str, Any]:
    """The Canary: the plan's weights, checked by airel at each interval (``threshold`` failed
    checks roll back). A plan with no live step has nothing for Flagger to shift: refused."""
    weights = flagger_weights(plan)
    if not weights:
        _invalid(
            "steps",
            f"plan {plan.plan_id} has no live step for Flagger to shift traffic to",
            "add a canary step, or run the shadow step through airel's gateway alone",
            Reason.PLAN_TRAFFIC_INVALID,
        )
    _duration("interval", interval)
    _duration("webhook_timeout", webhook_timeout)
    _require("threshold", threshold, int)
    if threshold < 1:
        _invalid("threshold", "Flagger needs at least one failed check to roll back", "use 1+")
    url = f"{workload.base_url}{ANALYSIS_PATH}/{workload.route_name}"
    hooks = [
        {
            "name": f"airel-{hook.value}",
            "type": hook.value,
            "url": url,
            "timeout": webhook_timeout,
            "metadata": {
                "hook": hook.value,
                "plan_id": plan.plan_id,
                "plan_digest": plan.digest,
                "route": workload.route_name,
            },
        }
        for hook in FlaggerHook
    ]
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": _metadata(plan, workload, workload.name),
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload.name},
            "service": {"port": workload.port},
            "analysis": {
                "interval": interval,
                "threshold": threshold,
                "maxWeight": weights[-1],
                "stepWeights": weights,
                "webhooks": hooks,
            },
        },
    }


def _json_value(name: str, value: object) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise ValidationError(
        Reason.WRONG_TYPE,
        f"metrics.{name}: {value!r} is not a JSON number, boolean, string or null",
        fix="report finite numbers (a metric not observed is left out or null)",
        details={"field": f"metrics.{name}"},
    )


def web_metric_response(
    verdict: StepVerdict, metrics: Mapping[str, object], *, reasons: Sequence[str] = ()
) -> dict[str, Any]:
    """The body airel's analysis endpoint returns: ``verdict`` is what Argo's jsonPath reads."""
    return {
        "verdict": WEB_RESULT[verdict],
        "step_verdict": verdict.value,
        "reasons": list(reasons),
        "metrics": {k: _json_value(k, metrics[k]) for k in sorted(metrics)},
    }


def flagger_hook(value: object) -> FlaggerHook:
    """The hook of a Flagger webhook payload's ``type`` (airel answers only its four)."""
    for hook in FlaggerHook:
        if value == hook.value:
            return hook
    raise ValidationError(
        Reason.INVALID_VALUE,
        f"type: {value!r} is not a Flagger hook airel answers",
        fix="configure airel only as a " + ", ".join(h.value for h in FlaggerHook) + " webhook",
        details={"field": "type"},
    )


def flagger_status(verdict: StepVerdict, hook: FlaggerHook | str) -> int:
    """The HTTP status answering Flagger's ``hook`` (200 passes, :data:`FLAGGER_REFUSED` not)."""
    return 200 if verdict in FLAGGER_PASSES[flagger_hook(hook)] else FLAGGER_REFUSED
