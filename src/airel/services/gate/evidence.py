"""Use case: collect what the gate engine reads for one release (G1, G4, G5).

Everything comes from the store, read at one point in time: the frozen bundle (re-verified
like ``airel bundle verify``), its pinned components, its rollback target (another frozen
release of the same use case that verifies), the latest linked validation run and eval record
(an eval record named in the bundle's ``eval.eval_run_ids`` counts as linked), the latest
attestation of each kind, and every approval and waiver recorded for the release.

``add_attestation`` records typed evidence (CI, reviews, shadow, canary …) and
``link_evidence`` ties a stored validation run or eval record to a release; both are audited.

Evidence never passes by default: absent evidence is *missing*, evidence older than the tier's
``max_evidence_age_days`` is *stale*, an attestation that says it errored or was inconclusive
makes its metrics so, and an eval run that evaluated nothing is *errored*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from airel.domain.data.evidence import ValidationRun
from airel.domain.eval.record import EvalRecord
from airel.domain.gate import facts as gf
from airel.domain.gate.approvals import Approval, Waiver
from airel.domain.gate.decision import Fact, GateInputs
from airel.domain.gate.evidence_age import is_stale, parse_stamp
from airel.domain.gate.metrics import (
    ATTESTATION_KINDS,
    METRICS,
    EvidenceKind,
    FactStatus,
    check_value,
)
from airel.domain.gate.policy import Policy
from airel.domain.gate.records import Attestation, AttestationStatus, EvidenceLink, LinkKind
from airel.domain.gate.stack import GateId
from airel.domain.release.bundle import FrozenBundle, release_node
from airel.domain.release.components import ComponentKey
from airel.domain.release.records import RecordRef, RecordTable
from airel.errors import AirelError, NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.services.release import bundles
from airel.services.release.record_integrity import require_intact
from airel.store.contract import ReadTx, WriteTx


@dataclass(frozen=True)
class Collected:
    """The engine's inputs and the bundle facts a decision record also shows."""

    inputs: GateInputs
    bundle: FrozenBundle
    components: list[dict[str, Any]]  # {path, ref, digest} of every pinned component


parse_time = parse_stamp


def _evidence(kind: str, ref: str, digest: str, created_at: str) -> dict[str, Any]:
    return {"kind": kind, "ref": ref, "digest": digest, "created_at": created_at}


def _fresh(
    facts: dict[str, Fact], created_at: str, now: datetime, max_age: timedelta
) -> dict[str, Fact]:
    if is_stale(created_at, now, max_age):
        return gf.restamp(facts, FactStatus.STALE)
    return facts


def _rollback_target(tx: ReadTx, bundle: FrozenBundle) -> FrozenBundle | None:
    target_id = bundle.bundle_spec().deployment.rollback_target
    if not target_id or target_id == bundle.release_id:
        return None
    return tx.get_bundle(target_id)


def _executable(ctx: Context, bundle: FrozenBundle, target: FrozenBundle | None) -> bool:
    """The target is another frozen release of the same use case whose bundle verifies."""
    if target is None or target.use_case_id != bundle.use_case_id:
        return False
    return bundles.verify_bundle(ctx, target.release_id).ok


def _latest_validation(tx: ReadTx, links: list[EvidenceLink]) -> ValidationRun | None:
    for link in reversed([x for x in links if x.kind is LinkKind.VALIDATION]):
        run = tx.get_validation_run(link.record_id)
        if run is not None:
            return run
    return None


def _latest_eval(tx: ReadTx, bundle: FrozenBundle, links: list[EvidenceLink]) -> EvalRecord | None:
    links = [x for x in links if x.kind is LinkKind.EVAL]
    named = [str(r) for r in (bundle.spec.get("eval") or {}).get("eval_run_ids") or []]
    for record_id in [*reversed([x.record_id for x in links]), *reversed(named)]:
        record = tx.get_eval_record(record_id)
        if record is not None:
            return record
    return None


def _critical(tx: ReadTx, run: ValidationRun) -> list[str] | None:
    if run.feature_view is None:
        return None
    view = tx.get_component(ComponentKey.from_node(run.feature_view))
    spec = view.fields.get("validation") if view else None
    return gf.critical_columns(spec if isinstance(spec, Mapping) else None)


def _latest_attestations(stored: list[Attestation]) -> dict[EvidenceKind, Attestation]:
    latest: dict[EvidenceKind, Attestation] = {}
    for a in stored:  # in write order: the last one wins
        latest[EvidenceKind(a.kind)] = a
    return latest


def _read_refs(
    bundle: FrozenBundle,
    target: FrozenBundle | None,
    links: list[EvidenceLink],
    run: ValidationRun | None,
    record: EvalRecord | None,
    attestations: list[Attestation],
    approvals: tuple[Approval, ...],
    waivers: tuple[Waiver, ...],
) -> list[RecordRef]:
    """Every stored record the gate engine is about to count (issue 18: each is checked
    against the audit chain first)."""
    refs = [RecordRef(RecordTable.BUNDLES, (bundle.release_id,))]
    if target is not None:
        refs.append(RecordRef(RecordTable.BUNDLES, (target.release_id,)))
    for r in bundle.resolutions:
        key = ComponentKey.from_node(r.node)
        refs.append(RecordRef(RecordTable.COMPONENTS, (key.kind.value, key.name, key.version)))
    refs += [
        RecordRef(RecordTable.EVIDENCE_LINKS, (x.release_id, x.kind.value, x.record_id))
        for x in links
    ]
    if run is not None:
        refs.append(RecordRef(RecordTable.VALIDATION_RUNS, (run.run_id,)))
    if record is not None:
        refs.append(RecordRef(RecordTable.EVAL_RECORDS, (record.record_id,)))
    refs += [RecordRef(RecordTable.ATTESTATIONS, (a.attestation_id,)) for a in attestations]
    refs += [RecordRef(RecordTable.APPROVALS, (a.approval_id,)) for a in approvals]
    refs += [RecordRef(RecordTable.WAIVERS, (w.waiver_id,)) for w in waivers]
    return refs


@dataclass(frozen=True)
class _Read:
    """The stored records one gate check reads, in one transaction."""

    pinned: list[gf.Pinned]
    target: FrozenBundle | None
    run: ValidationRun | None
    critical: list[str] | None
    record: EvalRecord | None
    attestations: dict[EvidenceKind, Attestation]
    approvals: tuple[Approval, ...]
    waivers: tuple[Waiver, ...]


def _read(tx: ReadTx, bundle: FrozenBundle, release_id: str) -> _Read:
    """Read what the engine counts, and check every record against the audit chain."""
    pinned: list[gf.Pinned] = []
    for r in bundle.resolutions:
        component = tx.get_component(ComponentKey.from_node(r.node))
        pinned.append(gf.Pinned(r.path, r.node, component.fields if component else {}))
    target = _rollback_target(tx, bundle)
    links = tx.list_evidence_links(release_id)
    run = _latest_validation(tx, links)
    critical = _critical(tx, run) if run is not None else None
    record = _latest_eval(tx, bundle, links)
    stored = tx.list_attestations(release_id)
    attestations = _latest_attestations(stored)
    approvals = tuple(tx.list_approvals(release_id))
    waivers = tuple(tx.list_waivers(release_id))
    refs = _read_refs(bundle, target, links, run, record, stored, approvals, waivers)
    require_intact(tx, refs, purpose=f"gate check of {release_id}")
    return _Read(pinned, target, run, critical, record, attestations, approvals, waivers)


def collect(
    ctx: Context,
    release_id: str,
    policy: Policy,
    *,
    now: datetime,
    through: GateId | None = None,
) -> Collected:
    """Read every input of the gate engine for ``release_id`` as of ``now``."""
    bundle = bundles.get_bundle(ctx, release_id)
    spec = bundle.bundle_spec()
    max_age = timedelta(days=policy.tier(bundle.risk_tier).max_evidence_age_days)
    completeness = bundles.completeness_of(ctx, bundle)
    verified = bundles.verify_bundle(ctx, release_id).ok
    facts: dict[str, Fact] = {}
    evidence = [_evidence("bundle", bundle.release_id, bundle.digest, bundle.created_at)]
    present: set[EvidenceKind] = set()
    with ctx.store.read() as tx:
        read = _read(tx, bundle, release_id)
    pinned, target, run, critical = read.pinned, read.target, read.run, read.critical
    record, attestations, approvals, waivers = (
        read.record, read.attestations, read.approvals, read.waivers
    )  # fmt: skip
    rollback_ok = _executable(ctx, bundle, target)
    if target is not None:
        evidence.append(
            _evidence("rollback_target", target.release_id, target.digest, target.created_at)
        )
    facts |= gf.bundle_facts(
        spec,
        pinned,
        completeness,
        verified=verified,
        rollback_executable=rollback_ok,
        source=bundle.digest,
    )
    if run is None:
        facts |= gf.missing(EvidenceKind.VALIDATION)
    else:
        present.add(EvidenceKind.VALIDATION)
        found = gf.validation_facts(
            run.model_dump(mode="json"), source=run.run_id, critical=critical
        )
        facts |= _fresh(found, run.created_at, now, max_age)
        evidence.append(_evidence("validation", run.run_id, run.run_id, run.created_at))
    if record is None:
        facts |= gf.missing(EvidenceKind.EVAL)
    else:
        present.add(EvidenceKind.EVAL)
        found = gf.eval_facts(record.kind, record.body, source=record.record_id)
        facts |= _fresh(found, record.created_at, now, max_age)
        evidence.append(
            _evidence(f"eval_{record.kind}", record.record_id, record.record_id, record.created_at)
        )
    for kind in ATTESTATION_KINDS:
        attestation = attestations.get(kind)
        if attestation is None:
            facts |= gf.missing(kind)
            continue
        present.add(kind)
        found = gf.attestation_facts(
            kind, attestation.status, attestation.metrics, source=attestation.attestation_id
        )
        facts |= _fresh(found, attestation.created_at, now, max_age)
        evidence.append(
            _evidence(
                kind.value,
                attestation.attestation_id,
                attestation.attestation_id,
                attestation.created_at,
            )
        )
    facts |= gf.presence_facts(present, source=bundle.digest)
    inputs = GateInputs(
        release_id=bundle.release_id,
        bundle_digest=bundle.digest,
        tier=bundle.risk_tier,
        pipeline_type=bundle.pipeline_type,
        submitter=bundle.created_by,
        rollback_target=spec.deployment.rollback_target,
        facts=dict(sorted(facts.items())),
        evidence=tuple(evidence),
        policy=policy,
        approvals=approvals,
        waivers=waivers,
        now=now,
        through=through,
    )
    components = [{"path": r.path, "ref": r.node, "digest": r.digest} for r in bundle.resolutions]
    return Collected(inputs, bundle, components)


# -- evidence ----------------------------------------------------------------------------------


def _attestation_kind(kind: str) -> EvidenceKind:
    allowed = [k.value for k in ATTESTATION_KINDS]
    if kind not in allowed:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{kind!r} is not an attestation kind",
            fix="one of " + ", ".join(allowed) + " (validation and eval evidence is linked)",
        )
    return EvidenceKind(kind)


def _metric_problems(kind: EvidenceKind, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    for name, value in metrics.items():
        defn = METRICS.get(name)
        if defn is None or defn.source is not kind:
            owner = f" (it is {defn.source.value} evidence)" if defn else ""
            problems.append(
                {
                    "reason": Reason.POLICY_UNKNOWN_METRIC.value,
                    "field": name,
                    "message": f"{name} is not a {kind.value} metric{owner}",
                }
            )
            continue
        try:
            check_value(name, value)
        except AirelError as exc:
            problems.append({"reason": exc.reason.value, "field": name, "message": exc.message})
    return problems


def add_attestation(
    ctx: Context,
    release_id: str,
    kind: str,
    metrics: Mapping[str, Any],
    *,
    status: str = "ok",
    source: str | None = None,
) -> Attestation:
    """Record attested metrics of one evidence kind for a release (nothing on a bad input)."""
    bundle = bundles.get_bundle(ctx, release_id)
    evidence_kind = _attestation_kind(kind)
    try:
        state = AttestationStatus(status)
    except ValueError:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"attestation status {status!r} is not one of ok, errored, inconclusive",
            fix="give --status ok with its --metric NAME=VALUE, or errored / inconclusive when "
            "the check could not run or decide",
        ) from None
    problems = _metric_problems(evidence_kind, metrics)
    if problems:
        raise ValidationError(
            Reason(problems[0]["reason"]),
            f"{len(problems)} problem(s) in the {kind} metrics: {problems[0]['message']}",
            fix="list the metrics of each kind with `airel policy metrics`",
            problems=problems,
        )
    if state is AttestationStatus.OK and not metrics:
        raise ValidationError(
            Reason.MISSING_FIELD,
            f"an ok {kind} attestation needs at least one metric",
            fix="add --metric NAME=VALUE (or --status errored|inconclusive)",
        )
    content: dict[str, Any] = {
        "release_id": bundle.release_id,
        "kind": evidence_kind.value,
        "status": state.value,
        "metrics": {k: check_value(k, v) for k, v in sorted(metrics.items())},
        "source": source,
        "created_at": ctx.stamp(),
        "created_by": ctx.actor,
    }
    attestation = Attestation(attestation_id=Attestation.identify(content), **content)

    def write(tx: WriteTx) -> Attestation:
        tx.insert_attestation(attestation)
        tx.append_audit(
            actor=ctx.actor,
            action="gate.attest",
            subject=release_node(release_id),
            before=None,
            after=attestation.attestation_id,
            details={"kind": attestation.kind, "status": state.value, "source": source},
        )
        return attestation

    return ctx.store.write(write)


def _record_id(ctx: Context, kind: LinkKind, record_id: str) -> str:
    with ctx.store.read() as tx:
        if kind is LinkKind.VALIDATION:
            exact = tx.get_validation_run(record_id) is not None
            ids = [] if exact else [r.run_id for r in tx.list_validation_runs()]
        else:
            exact = tx.get_eval_record(record_id) is not None
            ids = [] if exact else [r.record_id for r in tx.list_eval_records()]
    if exact:
        return record_id
    hits = [i for i in ids if i.startswith(record_id)] if len(record_id) >= 15 else []
    if len(hits) == 1:
        return hits[0]
    raise NotFoundError(
        Reason.EVIDENCE_NOT_FOUND,
        f"no stored {kind.value} record {record_id!r}"
        + (f" ({len(hits)} records match that prefix)" if hits else ""),
        fix="list them with `airel validation list` / `airel eval list` and give the full id",
    )


def link_evidence(ctx: Context, release_id: str, kind: str, record_id: str) -> EvidenceLink:
    """Count a stored validation run or eval record as evidence for a release."""
    bundle = bundles.get_bundle(ctx, release_id)
    try:
        link_kind = LinkKind(kind)
    except ValueError:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"link kind {kind!r} is not validation or eval",
            fix="`airel evidence link RELEASE --eval ID` or `--validation ID`",
        ) from None
    full_id = _record_id(ctx, link_kind, record_id)
    link = EvidenceLink(
        release_id=bundle.release_id,
        kind=link_kind,
        record_id=full_id,
        created_at=ctx.stamp(),
        created_by=ctx.actor,
    )

    def write(tx: WriteTx) -> EvidenceLink:
        for existing in tx.list_evidence_links(release_id):
            if existing.kind is link_kind and existing.record_id == full_id:
                return existing
        tx.insert_evidence_link(link)
        tx.append_audit(
            actor=ctx.actor,
            action="gate.link",
            subject=release_node(release_id),
            before=None,
            after=full_id,
            details={"kind": link_kind.value},
        )
        return link

    return ctx.store.write(write)


@dataclass(frozen=True)
class ReleaseEvidence:
    """What is recorded for a release, oldest first: links, attestations, sign-offs."""

    release_id: str
    links: list[EvidenceLink]
    attestations: list[Attestation]
    approvals: list[Approval]
    waivers: list[Waiver]


def list_evidence(ctx: Context, release_id: str) -> ReleaseEvidence:
    """Evidence links, attestations, approvals and waivers of a release."""
    bundles.get_bundle(ctx, release_id)
    with ctx.store.read() as tx:
        return ReleaseEvidence(
            release_id,
            tx.list_evidence_links(release_id),
            tx.list_attestations(release_id),
            tx.list_approvals(release_id),
            tx.list_waivers(release_id),
        )
