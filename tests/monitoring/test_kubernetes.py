"""Argo Rollouts and Flagger manifests from a traffic plan (issue 12; SPEC T3/T4).

* Every generated document validates against the controller's published CRD schema, closed
  the way ``kubectl --validate=strict`` closes it (an unknown field fails).
* The Rollout's steps are the plan's steps: ``setWeight`` per live step, ``pause`` per minimum
  duration, an ``analysis`` step asking airel for that step's verdict; a background analysis
  aborts the Rollout on a stop at any time.
* The web metric's conditions, evaluated as Argo evaluates them on airel's response body,
  succeed only on ADVANCE, fail on STOP and are inconclusive (pause) otherwise.
* Flagger's step weights are the plan's shares; a hook passes only on the verdicts it allows.
* Bad workloads and plans that Argo's basic canary would run differently are refused by code.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from airel.adapters.documents.manifests import render_yaml
from airel.domain.monitoring import kubernetes as k8s
from airel.domain.monitoring.kubernetes import (
    FlaggerHook,
    argo_documents,
    argo_rollout,
    flagger_canary,
    flagger_status,
    flagger_weights,
    web_metric_response,
)
from airel.domain.promotion.traffic_plan import (
    StepVerdict,
    TrafficPlan,
    analyse_step,
    parse_traffic_plan,
)
from airel.errors import AirelError, Reason

SCHEMAS = Path(__file__).parent / "schemas"
BASE_URL = "https://airel.ops.internal:8443"
IMAGE = "registry.example.com:5000/fraud/fraud-score:2.0.0"
ISTIO = {
    "istio": {
        "virtualService": {"name": "fraud-score", "routes": ["primary"]},
        "destinationRule": {
            "name": "fraud-score",
            "canarySubsetName": "canary",
            "stableSubsetName": "stable",
        },
    }
}
STOP = [{"metric": "canary_critical_failures", "op": ">", "value": 0}]


FRAUD_PLAN = """\
plan_id: FRAUD-SCORING-ROLLOUT-2
use_case_id: FRAUD-SCORING-001
segments: {vulnerable-customers: {}, hardship: {}, complaint: {}}
steps:
  - name: shadow
    environment: shadow
    traffic_percent: 0
    min_requests: 10000
    success: [{metric: shadow_side_effects, op: "==", value: 0}]
    stop: [{metric: shadow_side_effects, op: ">", value: 0}]
  - name: canary-1
    environment: canary
    traffic_percent: 2
    exclude_segments: [vulnerable-customers, hardship, complaint]
    min_duration_hours: 24
    min_requests: 5000
    success:
      - {metric: canary_critical_failures, op: "==", value: 0}
      - {metric: canary_latency_p95_ms, op: "<=", value: 300.0}
    stop:
      - {metric: canary_critical_failures, op: ">", value: 0}
      - {metric: canary_error_rate, op: ">", value: 0.01}
  - name: canary-2
    environment: canary
    traffic_percent: 10
    min_duration_hours: 48
    success: [{metric: canary_critical_failures, op: "==", value: 0}]
    stop: [{metric: canary_critical_failures, op: ">", value: 0}]
"""


def fraud_plan() -> TrafficPlan:
    """The demo's plan (examples/fraud-scoring/rollout_story.py PLAN)."""
    return parse_traffic_plan(yaml.safe_load(FRAUD_PLAN))


def live_plan(*shares: float, plan_id: str = "LIVE-1") -> TrafficPlan:
    """Live steps only (canary, then ramp, then full), one per share, 1.5 h each."""
    envs = ["canary", "canary", "limited_production", "scaled_production"]
    steps = [
        {
            "name": f"step-{i}",
            "environment": envs[min(i, len(envs) - 1)],
            "traffic_percent": share,
            "min_duration_hours": 1.5,
            "stop": STOP,
        }
        for i, share in enumerate(shares)
    ]
    return parse_traffic_plan({"plan_id": plan_id, "steps": steps})


def workload(**kw: Any) -> k8s.Workload:
    args: dict[str, Any] = {
        "name": "fraud-score",
        "namespace": "fraud",
        "image": IMAGE,
        "base_url": BASE_URL,
        "route": "fraud-score-prod",
    }
    return k8s.Workload(**{**args, **kw})


# -- schemas ---------------------------------------------------------------------------------


def closed(node: Any) -> Any:
    """The schema with every object that lists ``properties`` (and does not preserve unknown
    fields) closed by ``additionalProperties: false``, as ``kubectl --validate=strict`` does."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: closed(sub) for name, sub in value.items()}
        elif key in {"items", "additionalProperties", "not"} and isinstance(value, dict):
            out[key] = closed(value)
        elif key in {"anyOf", "oneOf", "allOf"}:
            out[key] = [closed(sub) for sub in value]
        else:
            out[key] = value
    opened = node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node
    if "properties" in node and not opened:
        out["additionalProperties"] = False
    return out


@cache
def validator(name: str) -> Draft7Validator:
    schema = yaml.safe_load((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(closed(schema))


KIND_SCHEMA = {
    "Rollout": "rollout",
    "AnalysisTemplate": "analysis-template",
    "Canary": "flagger-canary",
}


def problems(doc: dict[str, Any]) -> list[str]:
    errors = validator(f"{KIND_SCHEMA[doc['kind']]}.schema.yaml").iter_errors(doc)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_closed_schema_refuses_unknown_fields() -> None:
    """The check bites: an unknown field fails; open objects (metadata, plugin config) do not."""
    rollout = argo_rollout(fraud_plan(), workload(), traffic_routing=ISTIO)
    assert problems(rollout) == []
    rollout["spec"]["strategy"]["canary"]["steps"][0]["setCanaryScal"] = {"replicas": 1}
    rollout["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    assert len(problems(rollout)) == 2
    rollout = argo_rollout(fraud_plan(), workload(), traffic_routing=ISTIO)
    rollout["metadata"]["anything"] = "goes"  # metadata is {type: object} in a CRD schema
    assert problems(rollout) == []


def test_every_document_validates_against_its_crd() -> None:
    plan, wl = fraud_plan(), workload()
    docs = [
        *argo_documents(plan, wl, traffic_routing=ISTIO, shadow_replicas=2),
        *argo_documents(live_plan(2, 10, 50, 100), workload(replicas=50)),
        flagger_canary(plan, wl),
        flagger_canary(live_plan(5, 5, 25, 100), wl, interval="1m", threshold=3),
    ]
    assert [d["kind"] for d in docs[:3]] == ["AnalysisTemplate", "AnalysisTemplate", "Rollout"]
    for doc in docs:
        assert problems(doc) == [], doc["kind"]
        assert doc["metadata"]["namespace"] == "fraud"


# -- Argo Rollouts ---------------------------------------------------------------------------


def canary(rollout: dict[str, Any]) -> dict[str, Any]:
    strategy: dict[str, Any] = rollout["spec"]["strategy"]["canary"]
    return strategy


def analysis(step: str) -> dict[str, Any]:
    return {
        "analysis": {
            "templates": [{"templateName": "fraud-score-airel-analysis"}],
            "args": [{"name": "step", "value": step}],
        }
    }


def test_rollout_steps_follow_the_plan() -> None:
    """Shadow scales a candidate pod up (no traffic); each live step sets its weight, waits its
    minimum duration, then asks airel for its verdict."""
    rollout = argo_rollout(fraud_plan(), workload(), traffic_routing=ISTIO, shadow_replicas=2)
    assert canary(rollout)["steps"] == [
        {"setCanaryScale": {"replicas": 2}},
        analysis("shadow"),
        {"setCanaryScale": {"matchTrafficWeight": True}},
        {"setWeight": 2},
        {"pause": {"duration": "24h"}},
        analysis("canary-1"),
        {"setWeight": 10},
        {"pause": {"duration": "48h"}},
        analysis("canary-2"),
    ]
    assert canary(rollout)["trafficRouting"] == ISTIO
    assert canary(rollout)["canaryService"] == "fraud-score-canary"
    assert canary(rollout)["stableService"] == "fraud-score-stable"
    spec = rollout["spec"]
    assert spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    assert spec["template"]["spec"]["containers"][0]["image"] == IMAGE


def test_basic_canary_weights_are_whole_pods() -> None:
    """Without a router the share is the pod share: 2 % is exact with 50 pods, not with 10."""
    plan = live_plan(2, 10, 50, 100)
    steps = canary(argo_rollout(plan, workload(replicas=50)))["steps"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [2, 10, 50, 100]
    assert [s["pause"]["duration"] for s in steps if "pause" in s] == ["90m"] * 4
    analysed = [s["analysis"]["args"][0]["value"] for s in steps if "analysis" in s]
    assert analysed == [s.name for s in plan.steps]
    assert not any("setCanaryScale" in s for s in steps)  # only allowed with a router
    assert "trafficRouting" not in canary(argo_rollout(plan, workload(replicas=50)))
    with pytest.raises(AirelError) as info:
        argo_rollout(plan, workload(replicas=10))  # Argo would give 1 of 10 pods: 10 %
    assert info.value.reason is Reason.PLAN_TRAFFIC_INVALID
    assert "50" in str(info.value.fix)


def test_argo_refuses_what_it_would_run_differently() -> None:
    """Basic canary runs no candidate pod at 0 %: a shadow step would have nothing to copy to;
    and neither controller takes a fraction of a percent."""
    with pytest.raises(AirelError) as info:
        argo_rollout(fraud_plan(), workload(replicas=50))
    assert info.value.reason is Reason.PLAN_TRAFFIC_INVALID
    with pytest.raises(AirelError) as info:
        argo_rollout(fraud_plan(), workload(), traffic_routing=ISTIO, shadow_replicas=0)
    assert info.value.reason is Reason.INVALID_VALUE
    with pytest.raises(AirelError) as info:
        argo_rollout(fraud_plan(), workload(), traffic_routing={"istio": {"x": float("nan")}})
    assert info.value.reason is Reason.WRONG_TYPE
    with pytest.raises(AirelError) as info:
        argo_rollout(live_plan(2.5, 10), workload(), traffic_routing=ISTIO)  # not whole percent
    assert info.value.reason is Reason.PLAN_TRAFFIC_INVALID
    with pytest.raises(AirelError) as info:
        flagger_canary(live_plan(2.5, 10), workload())
    assert info.value.reason is Reason.PLAN_TRAFFIC_INVALID


@pytest.mark.parametrize(
    ("hours", "duration"),
    [(120, "120h"), (1.5, "90m"), (0.1, "6m"), (0.5 / 3600, "1s"), (1 / 7200 + 1, "3601s")],
)
def test_pause_duration_rounds_up_to_the_second(hours: float, duration: str) -> None:
    assert k8s.pause_duration(hours) == duration


def args_of(template: dict[str, Any], given: list[dict[str, str]]) -> dict[str, str]:
    """The template's arguments as Argo resolves them: defaults, overridden by the step's."""
    declared = {a["name"]: a.get("value") for a in template["spec"]["args"]}
    for arg in given:
        assert arg["name"] in declared, f"argument {arg['name']} is not declared"
        declared[arg["name"]] = arg["value"]
    assert None not in declared.values(), f"unresolved arguments: {declared}"
    return {k: v for k, v in declared.items() if v is not None}


def resolve(text: str, args: dict[str, str]) -> str:
    def arg(match: re.Match[str]) -> str:
        assert match[1] in args, f"{{{{args.{match[1]}}}}} is not an argument"
        return args[match[1]]

    return re.sub(r"\{\{args\.([A-Za-z0-9_-]+)\}\}", arg, text)


def test_analysis_steps_ask_airel_for_their_step() -> None:
    """Each analysis step resolves the template's URL to airel's analysis endpoint for it."""
    plan, wl = fraud_plan(), workload()
    template = k8s.argo_analysis_template(plan, wl)
    assert template["metadata"]["name"] == k8s.analysis_template_name(wl)
    web = template["spec"]["metrics"][0]["provider"]["web"]
    assert web["method"] == "GET"
    assert web["jsonPath"] == "{$.verdict}"
    steps = canary(argo_rollout(plan, wl, traffic_routing=ISTIO))["steps"]
    urls = [
        resolve(web["url"], args_of(template, s["analysis"]["args"]))
        for s in steps
        if "analysis" in s
    ]
    assert urls == [
        f"{BASE_URL}{k8s.ANALYSIS_PATH}/fraud-score-prod/{step}"
        for step in ("shadow", "canary-1", "canary-2")
    ]


def argo_phase(template: dict[str, Any], body: dict[str, Any]) -> str:
    """One measurement of the template's web metric on ``body``, judged as Argo judges it
    (argo-rollouts utils/evaluate EvaluateResult): a condition alone implies the other."""
    metric = template["spec"]["metrics"][0]
    path = re.fullmatch(r"\{\$((?:\.[A-Za-z_]+)+)\}", metric["provider"]["web"]["jsonPath"])
    assert path is not None
    result: Any = json.loads(json.dumps(body, allow_nan=False))  # as it crosses the wire
    for key in path[1].split(".")[1:]:
        result = result[key]

    def holds(name: str) -> bool | None:
        if name not in metric:
            return None
        condition = re.fullmatch(r'result (==|!=) ("[^"\\]*")', metric[name])
        assert condition is not None, f"{metric[name]!r}: a condition this test cannot read"
        equal = result == json.loads(condition[2])
        return equal if condition[1] == "==" else not equal

    success, failure = holds("successCondition"), holds("failureCondition")
    if success is None and failure is None:
        return "Successful"
    if failure is None:
        failure = not success
    if success is None:
        success = not failure
    return "Failed" if failure else "Successful" if success else "Inconclusive"


def test_verdict_metric_passes_only_on_advance() -> None:
    """ADVANCE succeeds; STOP fails (the Rollout aborts); HOLD and INCONCLUSIVE are
    inconclusive, which with inconclusiveLimit 0 pauses the Rollout: neither ever advances."""
    template = k8s.argo_analysis_template(fraud_plan(), workload())
    metric = template["spec"]["metrics"][0]
    assert (metric["count"], metric["failureLimit"], metric["inconclusiveLimit"]) == (1, 0, 0)
    phase = {v: argo_phase(template, web_metric_response(v, {})) for v in StepVerdict}
    assert phase == {
        StepVerdict.ADVANCE: "Successful",
        StepVerdict.STOP: "Failed",
        StepVerdict.HOLD: "Inconclusive",
        StepVerdict.INCONCLUSIVE: "Inconclusive",
    }


def test_verdict_metric_on_real_analyses() -> None:
    """The body built from analyse_step's verdicts, metrics and reasons is judged the same."""
    step = fraud_plan().step("canary-1")
    good: dict[str, object] = {
        "canary_critical_failures": 0,
        "canary_latency_p95_ms": 141.0,
        "canary_error_rate": 0.0,
    }
    cases: list[tuple[dict[str, object], float, str]] = [
        ({**good}, 30.0, "Successful"),
        ({**good, "canary_critical_failures": 3}, 30.0, "Failed"),
        ({**good}, 2.0, "Inconclusive"),  # the 24 h are not over: hold
        ({"canary_critical_failures": 0}, 30.0, "Inconclusive"),  # latency unread
    ]
    template = k8s.argo_analysis_template(fraud_plan(), workload())
    for observed, hours, expected in cases:
        result = analyse_step(step, observed, elapsed_hours=hours, requests=6000)
        body = web_metric_response(result.verdict, observed, reasons=result.reasons)
        assert argo_phase(template, body) == expected, result
        assert body["step_verdict"] == result.verdict.value
        assert body["reasons"] == list(result.reasons)


def test_background_analysis_aborts_on_a_stop_at_any_time() -> None:
    """A pause only waits: the stop template runs beside every step and fails only on STOP."""
    plan, wl = fraud_plan(), workload()
    rollout = argo_rollout(plan, wl, traffic_routing=ISTIO)
    assert canary(rollout)["analysis"] == {
        "templates": [{"templateName": k8s.stop_template_name(wl)}]
    }
    template = k8s.argo_stop_template(plan, wl, interval="2m")
    metric = template["spec"]["metrics"][0]
    assert metric["interval"] == "2m"
    assert "count" not in metric  # runs until the Rollout completes or aborts
    assert metric["failureLimit"] == 0
    url = resolve(metric["provider"]["web"]["url"], args_of(template, []))
    assert url == f"{BASE_URL}{k8s.ANALYSIS_PATH}/fraud-score-prod"  # the route's current step
    phase = {v: argo_phase(template, web_metric_response(v, {})) for v in StepVerdict}
    assert phase[StepVerdict.STOP] == "Failed"
    assert {phase[v] for v in StepVerdict if v is not StepVerdict.STOP} == {"Successful"}
    for interval in ("5h", "0m", "", "5 m"):
        with pytest.raises(AirelError) as info:
            k8s.argo_stop_template(plan, wl, interval=interval)
        assert info.value.reason is Reason.INVALID_VALUE


def test_documents_are_deterministic_and_cite_the_plan() -> None:
    plan = fraud_plan()
    first = argo_documents(plan, workload(), traffic_routing=ISTIO)
    assert first == argo_documents(fraud_plan(), workload(), traffic_routing=ISTIO)
    for doc in [*first, flagger_canary(plan, workload())]:
        assert doc["metadata"]["annotations"] == {
            "airel/plan-id": plan.plan_id,
            "airel/plan-digest": plan.digest,
            "airel/route": "fraud-score-prod",
        }
        assert doc["metadata"]["labels"]["app.kubernetes.io/name"] == "fraud-score"


# -- Flagger ---------------------------------------------------------------------------------


def test_flagger_weights_are_the_live_shares() -> None:
    """Shadow is not a weight; equal neighbours collapse (Flagger cannot step by 0)."""
    assert flagger_weights(fraud_plan()) == [2, 10]
    assert flagger_weights(live_plan(5, 5, 25, 100)) == [5, 25, 100]
    for plan in (fraud_plan(), live_plan(5, 5, 25, 100)):
        analysis_ = flagger_canary(plan, workload())["spec"]["analysis"]
        assert analysis_["stepWeights"] == flagger_weights(plan)
        assert analysis_["maxWeight"] == flagger_weights(plan)[-1]
    shadow = {"name": "shadow", "environment": "shadow", "traffic_percent": 0}
    shadow_only = parse_traffic_plan({"plan_id": "SHADOW-ONLY", "steps": [shadow]})
    with pytest.raises(AirelError) as info:
        flagger_canary(shadow_only, workload())  # nothing for Flagger to shift
    assert info.value.reason is Reason.PLAN_TRAFFIC_INVALID


def test_flagger_webhooks_ask_airel() -> None:
    plan = fraud_plan()
    spec = flagger_canary(plan, workload(), interval="1m", webhook_timeout="15s")["spec"]
    assert spec["targetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "fraud-score",
    }
    assert spec["analysis"]["interval"] == "1m"
    hooks = spec["analysis"]["webhooks"]
    assert [h["type"] for h in hooks] == [h.value for h in FlaggerHook]
    for hook in hooks:
        assert hook["url"] == f"{BASE_URL}{k8s.ANALYSIS_PATH}/fraud-score-prod"
        assert hook["timeout"] == "15s"
        assert hook["metadata"] == {
            "hook": hook["type"],
            "plan_id": plan.plan_id,
            "plan_digest": plan.digest,
            "route": "fraud-score-prod",
        }


def test_flagger_status_passes_only_allowed_verdicts() -> None:
    """Health hooks pass on ADVANCE and HOLD; confirmation hooks on ADVANCE alone; STOP and
    INCONCLUSIVE get the refusal code from every hook."""
    passes = {h: {v for v in StepVerdict if flagger_status(v, h) == 200} for h in FlaggerHook}
    health, earned = {StepVerdict.ADVANCE, StepVerdict.HOLD}, {StepVerdict.ADVANCE}
    assert passes == {
        FlaggerHook.PRE_ROLLOUT: health,
        FlaggerHook.ROLLOUT: health,
        FlaggerHook.CONFIRM_TRAFFIC_INCREASE: earned,
        FlaggerHook.CONFIRM_PROMOTION: earned,
    }
    refused = {flagger_status(v, h) for h in FlaggerHook for v in StepVerdict} - {200}
    assert refused == {k8s.FLAGGER_REFUSED}
    assert not 200 <= k8s.FLAGGER_REFUSED < 300  # Flagger treats any 2xx as a pass
    assert (
        flagger_status(StepVerdict.HOLD, "confirm-promotion") == k8s.FLAGGER_REFUSED
    )  # payload type
    with pytest.raises(AirelError) as info:
        flagger_status(StepVerdict.ADVANCE, "post-rollout")
    assert info.value.reason is Reason.INVALID_VALUE


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"interval": "5h"}, Reason.INVALID_VALUE),
        ({"interval": "0s"}, Reason.INVALID_VALUE),
        ({"webhook_timeout": "30"}, Reason.INVALID_VALUE),
        ({"threshold": 0}, Reason.INVALID_VALUE),
        ({"threshold": True}, Reason.WRONG_TYPE),
    ],
)
def test_flagger_refuses_bad_settings(kw: dict[str, Any], reason: Reason) -> None:
    with pytest.raises(AirelError) as info:
        flagger_canary(fraud_plan(), workload(), **kw)
    assert info.value.reason is reason


# -- the workload and the endpoint's body ----------------------------------------------------

DIGEST = "sha256:" + "ab" * 32
BAD_URLS = [
    "airel.internal",
    "https://airel.internal/",
    "ftp://airel.internal",
    "https://airel.internal:0",
    "https://airel.internal:70000",
    "https://airel.internal/a/../b",
    "https://airel.internal//b",
    "https://airel.internal?x=1",
    "https://-airel.internal",
    "https://user@airel.internal",
]
LATEST = ["fraud-score", "fraud-score:latest", "registry:5000/fraud-score"]  # no tag: latest
BAD_IMAGES = ["fraud-score:", "Fraud-Score:1.0", "fraud-score@sha256:beef", "fraud\tscore:1"]


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"name": "Fraud-Score"}, Reason.INVALID_VALUE),
        ({"name": "1fraud"}, Reason.INVALID_VALUE),  # a Service name starts with a letter
        ({"name": "fraud_score"}, Reason.INVALID_VALUE),
        ({"name": "fraud-"}, Reason.INVALID_VALUE),
        ({"name": "f" * 56}, Reason.INVALID_VALUE),  # f…f-primary would pass 63
        ({"name": 7}, Reason.WRONG_TYPE),
        ({"namespace": "Fraud"}, Reason.INVALID_VALUE),
        ({"namespace": "n" * 64}, Reason.INVALID_VALUE),
        *[({"base_url": url}, Reason.INVALID_VALUE) for url in BAD_URLS],
        ({"route": "fraud score"}, Reason.INVALID_NAME),
        ({"port": 0}, Reason.INVALID_VALUE),
        ({"port": True}, Reason.WRONG_TYPE),
        ({"replicas": 0}, Reason.INVALID_VALUE),
        *[({"image": image}, Reason.ROUTE_TO_LATEST) for image in LATEST],
        *[({"image": image}, Reason.INVALID_VALUE) for image in [*BAD_IMAGES, ""]],
    ],
)
def test_bad_workloads_are_refused(kw: dict[str, Any], reason: Reason) -> None:
    with pytest.raises(AirelError) as info:
        workload(**kw)
    assert info.value.reason is reason


@pytest.mark.parametrize(
    "kw",
    [
        {"image": "fraud-score:2.0.0"},
        {"image": f"ghcr.io/bank/fraud-score@{DIGEST}"},
        {"image": f"fraud-score:latest@{DIGEST}"},  # the digest pins it
        {"image": "localhost:5000/fraud/fraud-score:2.0.0-rc.1"},
        {"base_url": "http://airel"},
        {"base_url": "http://10.0.0.7:8080/airel/v2"},
        {"name": "f" * 55, "route": None},
    ],
)
def test_good_workloads_are_accepted(kw: dict[str, Any]) -> None:
    wl = workload(**kw)
    assert wl.route_name == (kw.get("route", "fraud-score-prod") or wl.name)
    assert problems(flagger_canary(fraud_plan(), wl)) == []


def test_response_body_is_strict_json() -> None:
    body = web_metric_response(
        StepVerdict.HOLD, {"canary_requests": 12, "canary_error_rate": 0.002, "x": None}
    )
    assert json.loads(json.dumps(body, allow_nan=False)) == body
    assert list(body["metrics"]) == ["canary_error_rate", "canary_requests", "x"]
    with pytest.raises(AirelError) as info:
        web_metric_response(StepVerdict.ADVANCE, {"canary_error_rate": float("nan")})
    assert info.value.reason is Reason.WRONG_TYPE


# -- YAML ------------------------------------------------------------------------------------


def test_yaml_round_trips_and_quotes_what_go_would_misread() -> None:
    """``render_yaml`` writes one ``---`` document per manifest that reads back unchanged, and
    quotes strings a Go YAML reader (kubectl) would take for a number or a boolean."""
    plan = parse_traffic_plan(
        {
            "plan_id": "1E5",
            "steps": [
                {"name": "y", "environment": "shadow", "traffic_percent": 0},
                {"name": "1e3", "environment": "canary", "traffic_percent": 10, "stop": STOP},
                {"name": "0777", "environment": "canary", "traffic_percent": 20, "stop": STOP},
            ],
        }
    )
    docs = [
        *argo_documents(plan, workload(route="on"), traffic_routing=ISTIO),
        flagger_canary(plan, workload(route="on")),
    ]
    text = render_yaml(docs)
    assert text.startswith("---\n")
    assert text.count("\n---\n") == len(docs) - 1
    assert list(yaml.safe_load_all(text)) == docs
    for line in ('airel/plan-id: "1E5"', 'value: "y"', 'value: "1e3"', 'value: "0777"'):
        assert line in text
    assert "airel/route: 'on'" in text  # PyYAML's own quoting
    assert list(yaml.safe_load_all(render_yaml(docs[:1]))) == docs[:1]
