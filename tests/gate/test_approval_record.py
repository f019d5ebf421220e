"""The §7.2 approval row of the reproducibility report, read from the gate records (R8).

Decision maker, decision date, conditions, exceptions and expiry: present only when the
current bundle has a stored decision and at least one unexpired approval; an approval of
another bundle digest does not count; an expired one leaves the row partial.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from airel.client import Client
from airel.services.gate.approval_record import approval_item
from airel.services.release.reproducibility import ItemStatus
from gate_fixtures import CI_OK, V2, as_actor, freeze_pair, now, ready_through_g4


@pytest.fixture
def release(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Client:
    freeze_pair(fraud_registry, bundle_yaml, write)
    return fraud_registry


def row(client: Client) -> Any:
    (found,) = [i for i in client.bundles.reproducibility(V2).items if i.item == "approval"]
    return found


def test_nothing_recorded_is_missing(release: Client) -> None:
    """R8: no decision and no approval → missing, naming both."""
    found = row(release)
    assert found.status is ItemStatus.MISSING
    assert found.evidence == []
    assert any("gate decision" in x for x in found.lacking)
    assert any("approval" in x for x in found.lacking)


def test_a_decision_without_an_approval_is_partial(release: Client) -> None:
    """R8: a stored decision names the date and conditions, but no one approved yet."""
    ready_through_g4(release)
    record = release.gates.check(V2, through="G4", now=now()).record
    found = row(release)
    assert found.status is ItemStatus.PARTIAL
    assert found.evidence[0].startswith(f"decision {record.decision_id[:19]} {record.decision}")
    assert found.lacking == ["an approval naming its decision maker and expiry"]


def test_decision_approval_and_exception_make_it_present(release: Client) -> None:
    """R8: the decision maker, date, conditions, exceptions and expiry are all recorded."""
    ready_through_g4(release)
    release.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 2})
    when = now()
    release.gates.check(V2, through="G4", now=when)
    mia = as_actor(release, "mia", "model_risk")
    mia.gates.approve(V2, "model_risk", now=when)
    mia.gates.add_exception(
        V2,
        ["low-cves-planned"],
        reason="patch plan agreed",
        expires="7d",
        scope={"segments": ["SME cards"]},
        now=when,
    )
    mia.close()
    release.gates.check(V2, through="G4", now=when + timedelta(minutes=1))
    found = row(release)
    assert found.status is ItemStatus.PRESENT, found.lacking
    text = "\n".join(found.evidence)
    assert "approved by mia (model_risk)" in text
    assert "exception for low-cves-planned by mia (model_risk)" in text
    assert "segments SME cards" in text


def test_only_expired_approvals_leave_it_partial(release: Client) -> None:
    """R8: every approval expired → partial, the expired approvals still listed."""
    ready_through_g4(release)
    when = now()
    mia = as_actor(release, "mia", "model_risk")
    mia.gates.approve(V2, "model_risk", expires="1h", now=when)
    mia.close()
    release.gates.check(V2, through="G4", now=when)
    found = approval_item(release.ctx, V2, now=when + timedelta(hours=2))
    assert found.status is ItemStatus.PARTIAL
    assert "approved by mia (model_risk)" in found.evidence[1]
    assert found.lacking == ["an unexpired approval (every recorded approval has expired)"]
