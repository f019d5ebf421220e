"""Release-context routes: components, releases (bundles), diffs, status, evidence records
and the audit log — reads only (registering and freezing upload artifacts: a later step)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.encoders import jsonable_encoder

from airel.api.auth import Ctx, Routes
from airel.api.http import DEFAULT_LIMIT, MAX_LIMIT, page
from airel.domain.kernel.permissions import Permission
from airel.domain.release.kinds import ComponentKind
from airel.errors import NotFoundError, Reason
from airel.services.data import validation
from airel.services.eval import evaluation
from airel.services.promotion import workflow
from airel.services.release import audit as audit_log
from airel.services.release import bundles, components

routes = Routes("release")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0)]


@routes.get("/components", Permission.READ)
def list_components(
    ctx: Ctx, kind: ComponentKind | None = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> dict[str, Any]:
    """Registered component versions, optionally of one kind."""
    return page(components.list_components(ctx, kind, limit=offset + limit), limit, offset)


@routes.get("/components/{kind}/{ref}", Permission.READ)
def get_component(ctx: Ctx, kind: ComponentKind, ref: str) -> Any:
    """One component version by ``name:version`` or ``name@alias``."""
    return jsonable_encoder(components.get_component(ctx, kind, ref))


@routes.get("/releases", Permission.READ)
def list_releases(
    ctx: Ctx, use_case_id: str | None = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> dict[str, Any]:
    """Frozen release bundles, optionally of one use case."""
    return page(bundles.list_bundles(ctx, use_case_id=use_case_id), limit, offset)


@routes.get("/releases/{release_id}", Permission.READ)
def get_release(ctx: Ctx, release_id: str) -> Any:
    """One frozen release bundle."""
    return jsonable_encoder(bundles.get_bundle(ctx, release_id))


@routes.get("/releases/{release_id}/status", Permission.READ)
def release_status(ctx: Ctx, release_id: str) -> Any:
    """Where a release stands: decision, approvals still needed, promotions, routes."""
    return jsonable_encoder(workflow.release_status(ctx, release_id))


@routes.get("/releases/{release_id}/diff", Permission.READ)
def diff_release(ctx: Ctx, release_id: str, against: str) -> Any:
    """What changed from ``against`` (e.g. the baseline or the rollback target) to it."""
    return {"items": jsonable_encoder(bundles.diff(ctx, against, release_id))}


@routes.get("/validation-runs", Permission.READ)
def list_validation_runs(
    ctx: Ctx, current: str | None = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> dict[str, Any]:
    """Stored validation runs (optionally of one current dataset)."""
    return page(validation.list_runs(ctx, current=current), limit, offset)


@routes.get("/validation-runs/{run_id}", Permission.READ)
def get_validation_run(ctx: Ctx, run_id: str) -> Any:
    """One validation run with its findings."""
    return jsonable_encoder(validation.get_run(ctx, run_id))


@routes.get("/eval-records", Permission.READ)
def list_eval_records(ctx: Ctx, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Any:
    """Stored eval records (runs and baseline-vs-candidate comparisons)."""
    return page(evaluation.list_records(ctx), limit, offset)


@routes.get("/eval-records/{record_id}", Permission.READ)
def get_eval_record(ctx: Ctx, record_id: str) -> Any:
    """One eval record."""
    return jsonable_encoder(evaluation.get_record(ctx, record_id))


@routes.get("/audit", Permission.READ)
def list_audit(
    ctx: Ctx, after: Annotated[int, Query(ge=0)] = 0, limit: Limit = DEFAULT_LIMIT
) -> Any:
    """Audit entries after sequence number ``after``, oldest first."""
    with ctx.store.read() as tx:
        head = tx.audit_head()[0]
        entries = [tx.get_audit(seq) for seq in range(after + 1, min(head, after + limit) + 1)]
    return {"items": jsonable_encoder([e for e in entries if e is not None]), "head": head}


@routes.get("/audit/{seq}", Permission.READ)
def get_audit(ctx: Ctx, seq: int) -> Any:
    """One audit entry."""
    with ctx.store.read() as tx:
        entry = tx.get_audit(seq)
    if entry is None:
        raise NotFoundError(Reason.AUDIT_ENTRY_NOT_FOUND, f"no audit entry {seq}",
                            fix="see GET /api/v1/audit")  # fmt: skip
    return jsonable_encoder(entry)


@routes.get("/audit-verification", Permission.READ)
def verify_audit(ctx: Ctx) -> Any:
    """Verify the hash chain and every record bound to it."""
    return jsonable_encoder(audit_log.verify_chain(ctx))
