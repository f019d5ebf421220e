"""Promotion-context routes: promotions, routes and their history, rollbacks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from airel.api.auth import Ctx, Routes
from airel.domain.kernel.permissions import Permission
from airel.domain.promotion.manifest import ToolMode
from airel.domain.promotion.rollback import RollbackComponent
from airel.domain.promotion.route import Lane
from airel.errors import InputError, Reason
from airel.services.promotion import promotions, rollbacks, rollouts

routes = Routes("promotion")


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    to: Annotated[str, Field(max_length=64)]
    expires_in_days: Annotated[int, Field(ge=1, le=90)] = 14


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    component: RollbackComponent
    confirm: Annotated[str, Field(max_length=128)]  # the release id, typed: consent to act
    reason: Annotated[str, Field(min_length=1, max_length=4000)]
    route: Annotated[str, Field(max_length=128)] | None = None
    lane: Lane = Lane.PRODUCTION
    to: Annotated[str, Field(max_length=128)] | None = None
    tool_mode: ToolMode = ToolMode.READ
    batch_run: Annotated[str, Field(max_length=128)] | None = None
    incident: Annotated[str, Field(max_length=128)] | None = None
    expected_version: int | None = None  # compare-and-set on the route's version


@routes.get("/promotions", Permission.READ)
def list_promotions(ctx: Ctx, release_id: str | None = None) -> Any:
    """Stored promotions, oldest first."""
    return {"items": jsonable_encoder(promotions.list_promotions(ctx, release_id))}


@routes.post("/releases/{release_id}/promotions", Permission.PROMOTE, status_code=201)
def promote(ctx: Ctx, release_id: str, body: PromoteBody) -> Any:
    """Promote a frozen release as far as its latest gate decision allows (no plan or
    deployment file: the server opens no path a caller names)."""
    result = promotions.promote(ctx, release_id, target=body.to,
                                expires_in_days=body.expires_in_days)  # fmt: skip
    return jsonable_encoder(result)


@routes.get("/routes", Permission.READ)
def list_routes(ctx: Ctx) -> Any:
    """Every route: desired and observed traffic."""
    return {"items": jsonable_encoder(rollouts.list_routes(ctx))}


@routes.get("/routes/{route}/history", Permission.READ)
def route_history(ctx: Ctx, route: str, lane: Lane = Lane.PRODUCTION) -> Any:
    """What moved a route, oldest first, with each step's analysis."""
    return {"items": jsonable_encoder(rollouts.route_history(ctx, route, lane=lane))}


@routes.get("/rollbacks", Permission.READ)
def list_rollbacks(ctx: Ctx, release_id: str | None = None) -> Any:
    """Stored rollbacks, oldest first."""
    return {"items": jsonable_encoder(rollbacks.list_rollbacks(ctx, release_id))}


@routes.post("/releases/{release_id}/rollbacks", Permission.ROLLBACK, status_code=201)
def rollback(ctx: Ctx, release_id: str, body: RollbackBody) -> Any:
    """Roll a release back by component; ``confirm`` must repeat the release id."""
    if body.confirm != release_id:
        raise InputError(Reason.CONFIRMATION_REQUIRED,
                         f"a rollback of {release_id} needs its id typed as confirmation",
                         fix=f'send "confirm": "{release_id}"')  # fmt: skip
    result = rollbacks.rollback(
        ctx, release_id, body.component, route=body.route, lane=body.lane, to=body.to,
        reason=body.reason, tool_mode=body.tool_mode, batch_run=body.batch_run,
        incident=body.incident, expected_version=body.expected_version,
    )  # fmt: skip
    return jsonable_encoder(result)
