"""The §8.2 card renders gaps as gaps (P7): no decision record, no baseline, no benefit."""

from __future__ import annotations

from airel.domain.promotion.environments import Environment
from airel.domain.promotion.manifest import DeploymentManifest, Monitoring
from airel.domain.promotion.promotion import Promotion
from airel.domain.promotion.promotion_card import NOT_RECORDED, render_promotion_card

MANIFEST = DeploymentManifest(
    release_id="AML-001",
    environment=Environment.STAGING,
    route="aml-narratives",
    traffic={"AML-001": 100.0},
    components={"prompt": "prompt/aml-narrative:3"},
    monitoring=Monitoring(),
)
PROMOTION = Promotion(
    promotion_id="sha256:" + "e" * 64,
    release_id="AML-001",
    source=None,
    target=Environment.STAGING,
    decision_id="sha256:" + "d" * 64,
    plan_digest=None,
    deployment_digest=MANIFEST.digest,
    expires_at="2026-12-17T12:00:00+00:00",
    created_at="2026-12-03T12:00:00+00:00",
    created_by="rm",
    body={"decision": "limited_go", "benefit": "drafts | 40% faster"},
)


def rows(card: str) -> dict[str, str]:
    return dict(
        line[2:-2].split(" | ", 1)
        for line in card.splitlines()
        if line.startswith("| ") and not line.startswith(("| Field", "|---"))
    )


def test_gaps_show_as_gaps_and_text_is_escaped() -> None:
    r = rows(render_promotion_card(PROMOTION, MANIFEST, None))
    assert r["From stage"] == "— (first stage)"
    assert r["Model"] == NOT_RECORDED  # a prompt-only release has no model
    assert r["Baseline"] == "none: no earlier release to run beside"
    assert r["Critical risks"] == NOT_RECORDED  # the decision record is missing
    assert r["Required controls"] == NOT_RECORDED
    assert r["Decision"] == "limited go: promote to staging at AML-001 100%"
    assert r["Candidate benefit"] == "drafts \\| 40% faster"
