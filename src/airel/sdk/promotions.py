"""Promotions, deployment manifests and traffic plans (``airel promote``, ``airel deployment``,
``airel traffic-plan``).

A facet of :class:`airel.Client` (``client.promotions``), loaded when first used; each method is
one service call with its arguments translated.
"""

from __future__ import annotations

import builtins
from pathlib import Path

from airel.domain.promotion.canary_plan import render_canary_plan
from airel.domain.promotion.environments import Environment
from airel.domain.promotion.manifest import StoredDeployment
from airel.domain.promotion.promotion import DEFAULT_PROMOTION_DAYS, Promotion
from airel.domain.promotion.traffic_plan import TrafficPlan
from airel.sdk.facet import Facet
from airel.services.promotion import promotions
from airel.services.promotion.promotions import PromotionResult


class Promotions(Facet):
    """The ``client.promotions`` facet (see the module docstring)."""

    def promote(
        self,
        release_id: str,
        to: str | Environment,
        *,
        plan: Path | str | None = None,
        deployment: Path | str | None = None,
        expires_in_days: int = DEFAULT_PROMOTION_DAYS,
    ) -> PromotionResult:
        """Promote a frozen release as far as its latest gate decision allows."""
        return promotions.promote(
            self.ctx,
            release_id,
            target=to,
            plan=Path(plan) if plan is not None else None,
            deployment=Path(deployment) if deployment is not None else None,
            expires_in_days=expires_in_days,
        )

    def list(self, release_id: str | None = None) -> list[Promotion]:
        """Stored promotions, oldest first."""
        return promotions.list_promotions(self.ctx, release_id)

    def card(self, promotion_id: str) -> str:
        """The §8.2 promotion card of a stored promotion (Markdown)."""
        return promotions.promotion_card(self.ctx, promotion_id)

    def deployments(
        self, *, release_id: str | None = None, route: str | None = None
    ) -> builtins.list[StoredDeployment]:
        """Stored deployment manifests, oldest first."""
        return promotions.list_deployments(self.ctx, release_id=release_id, route=route)

    def deployment(self, digest: str) -> StoredDeployment:
        """One deployment manifest by digest (or a unique prefix of 12+ characters)."""
        return promotions.get_deployment(self.ctx, digest)

    def check_plan(self, path: Path | str) -> TrafficPlan:
        """Parse a traffic plan strictly; every problem is reported, nothing is stored."""
        return promotions.load_plan(self.ctx, Path(path))

    def canary_plan(self, path: Path | str, step: str) -> str:
        """The §8.5 canary plan of one step of a traffic plan (Markdown)."""
        plan = self.check_plan(path)
        return render_canary_plan(plan, step)
