"""The store contract of the promotion context: traffic plans, deployment manifests, promotions.

All three are immutable once written. Plans and manifests are content-addressed: writing one
that is already stored changes nothing and says so (``False``); a promotion id is unique.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a contract names the models; importing it builds none (issue 10)
    from airel.domain.promotion.manifest import DeploymentManifest, StoredDeployment
    from airel.domain.promotion.promotion import Promotion
    from airel.domain.promotion.traffic_plan import TrafficPlan


class PromotionReads(Protocol):
    """Reads of the promotion context."""

    def get_traffic_plan(self, digest: str) -> TrafficPlan | None: ...

    def get_deployment(self, digest: str) -> StoredDeployment | None: ...

    def list_deployments(
        self, *, release_id: str | None = None, route: str | None = None
    ) -> list[StoredDeployment]:
        """Manifests in the order they were written, optionally of one release or route."""
        ...

    def get_promotion(self, promotion_id: str) -> Promotion | None: ...

    def list_promotions(self, *, release_id: str | None = None) -> list[Promotion]:
        """Promotions in the order they were written, optionally of one release."""
        ...


class PromotionWrites(Protocol):
    """Mutations of the promotion context (inside :meth:`Store.write`)."""

    def insert_traffic_plan(self, plan: TrafficPlan, *, created_at: str, created_by: str) -> bool:
        """Store a plan under its digest; False when that plan is already stored."""
        ...

    def insert_deployment(
        self, manifest: DeploymentManifest, *, created_at: str, created_by: str
    ) -> bool:
        """Store a manifest under its digest; False when that manifest is already stored."""
        ...

    def insert_promotion(self, promotion: Promotion) -> None:
        """Store a promotion; a second one with the same id is DUPLICATE_RECORD."""
        ...
