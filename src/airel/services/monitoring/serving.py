"""Use case: what the gateway serves — each route's applied traffic, resolved to endpoints and
lineage, from the records only (T2; the deployment registry is the gateway's configuration).

:func:`serving_table` reads, in ONE read transaction, every route's *observed* traffic (what
the reconciler applied: the embedded router is the gateway itself), the deployment manifest of
each release on it (endpoint, tools, decision), the release's bundle (the §7.3 versions, use
case, risk tier) and the traffic plan's current step (sticky key, segment filters). A route
that was never reconciled, or a release without an endpoint, is served as *unavailable* with
the reason, never guessed.
"""

from __future__ import annotations

from airel.domain.monitoring.serving import ServedRelease, ServedRoute
from airel.domain.monitoring.trace import TRACE_VERSION_FIELDS
from airel.domain.promotion.manifest import DeploymentManifest
from airel.domain.promotion.route import Route
from airel.domain.release.bundle import FrozenBundle
from airel.services.kernel.context import Context
from airel.store.contract import ReadTx

# bundle component path → the §7.3 trace field it fills
_PATHS = {
    "model": "model_version",
    "prompt_policy.system_prompt": "prompt_version",
    "prompt_policy.prompt": "prompt_version",
    "prompt_policy.policy": "policy_version",
    "prompt_policy.guardrail_policy": "policy_version",
    "prompt_policy.decision_policy": "policy_version",
    "features.feature_view": "feature_view_version",
    "data.training_snapshot": "dataset_or_index_version",
    "rag.index": "dataset_or_index_version",
    "prompt_policy.tool_schema": "tool_schema_version",
    "tools.tool_schema": "tool_schema_version",
}


def _versions(bundle: FrozenBundle) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in bundle.resolutions:
        name = _PATHS.get(r.path)
        if name is None:
            for prefix, target in _PATHS.items():
                if r.path.startswith(prefix + "."):
                    name = target
                    break
        if name in TRACE_VERSION_FIELDS and name not in out:
            out[name] = r.node.split("/", 1)[-1]
    return out


def _release(tx: ReadTx, release_id: str, digest: str | None) -> ServedRelease:
    stored = tx.get_deployment(digest) if digest else None
    manifest: DeploymentManifest | None = stored.manifest if stored else None
    bundle = tx.get_bundle(release_id)
    return ServedRelease(
        release_id=release_id,
        endpoint=manifest.endpoint if manifest else None,
        manifest_digest=digest,
        decision_id=manifest.decision_id if manifest else None,
        use_case_id=bundle.use_case_id if bundle else None,
        risk_tier=int(bundle.risk_tier) if bundle and bundle.risk_tier is not None else None,
        versions=_versions(bundle) if bundle else {},
        tools={k: v.value for k, v in manifest.tools.items()} if manifest else {},
        customer_visible=bool(manifest and manifest.customer_visible),
    )


def _served(tx: ReadTx, route: Route) -> ServedRoute:
    if route.observed is None:
        return ServedRoute(
            route=route.route, lane=route.lane.value, version=route.version,
            stable=route.stable, weights={}, mirror=[], releases={},
            unavailable="the route was never reconciled: run `airel reconcile`",
        )  # fmt: skip
    traffic = route.observed
    releases = {
        r: _release(tx, r, traffic.manifests.get(r) or route.desired.manifests.get(r))
        for r in traffic.releases
    }
    sticky = None
    exclude: list[str] = []
    include: list[str] = []
    if route.plan_digest:
        plan = tx.get_traffic_plan(route.plan_digest)
        if plan is not None:
            sticky = plan.sticky_by
            step = next((s for s in plan.steps if s.name == route.step), None)
            if step is not None:
                exclude = list(step.exclude_segments)
                include = list(step.include_segments)
    return ServedRoute(
        route=route.route, lane=route.lane.value, version=route.observed_version,
        stable=route.stable, weights=dict(traffic.weights), mirror=list(traffic.mirror),
        releases=releases, sticky_by=sticky, exclude_segments=exclude,
        include_segments=include, candidate=route.candidate, step=route.step,
    )  # fmt: skip


def serving_table(ctx: Context) -> dict[str, ServedRoute]:
    """Every route@lane the gateway can serve, resolved from the records."""
    with ctx.store.read() as tx:
        return {r.key: _served(tx, r) for r in tx.list_routes()}
