"""The Python SDK: ``airel.Client``, and the composition root that wires settings to services.

Every CLI command is one Client call. The client opens the store lazily, checks that its
schema is current (telling the user to run ``airel db upgrade`` otherwise), and hands each
service an explicit :class:`~airel.services.kernel.context.Context`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, overload

from airel.adapters.arrow.engine import ProfileOptions
from airel.adapters.documents.parse import ParseLimits
from airel.adapters.eval.judge_auth import JudgeAuth
from airel.adapters.eval.llm_judge import Judgement
from airel.adapters.files.blobs import BlobStore
from airel.client_gates import GateClient
from airel.client_identity import IdentityClient
from airel.config import Settings, load_settings
from airel.domain.data.evidence import ProfileRecord, ValidationRun
from airel.domain.data.profile import Profile
from airel.domain.eval.record import EvalRecord
from airel.domain.eval.suite import EvalTask
from airel.domain.kernel.clock import utc_now
from airel.domain.release.alias import Alias, AliasMove
from airel.domain.release.artifact import ArtifactReport, BlobCheck, StagingReport
from airel.domain.release.audit import ChainReport
from airel.domain.release.bundle import (
    BundleDraft,
    BundleSpec,
    BundleState,
    ComponentChange,
    FrozenBundle,
)
from airel.domain.release.completeness import CompletenessReport
from airel.domain.release.components import ComponentKind, ComponentVersion
from airel.domain.release.lineage import Direction, LineageGraph
from airel.errors import Reason, StoreError, ValidationError
from airel.services.data import profiling, validation
from airel.services.data.validation import ValidationOutcome, feature_spec_fields
from airel.services.eval import evaluation
from airel.services.eval import single as eval_single
from airel.services.eval.evaluation import EvalOutcome
from airel.services.eval.llm import compare as eval_llm_compare
from airel.services.eval.llm import run as eval_llm
from airel.services.eval.llm.side import JudgeConfig
from airel.services.gate import identities
from airel.services.gate.identities import StoreIdentities
from airel.services.kernel.context import Context
from airel.services.release import (
    aliases,
    artifacts,
    audit,
    bundle_drafts,
    bundles,
    components,
    lineage,
    openlineage,
)
from airel.services.release.bundle_drafts import BundleView, Drafted
from airel.services.release.bundles import BundleCheck, Frozen
from airel.services.release.components import Registered, VersionDiff
from airel.services.release.reproducibility import ReproReport, reproducibility
from airel.store import engines, migrate
from airel.store.contract import WriteTx
from airel.store.sql import SqlStore

BASELINE_CHUNK = 2_000  # records per audit.baseline entry


class Client(GateClient, IdentityClient):
    """The airel SDK. ``Client()`` uses ./.airel (or airel.toml / AIREL_* settings)."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = settings or load_settings(overrides)
        self._store: SqlStore | None = None
        self._ctx: Context | None = None

    # -- lifecycle --
    def _open(self, *, check: bool = True) -> SqlStore:
        if self._store is None:
            if self.settings.embedded:
                path = engines.sqlite_path(self.settings.database_url)
                if check and path is not None and not path.exists():
                    raise StoreError(
                        Reason.STORE_NOT_INITIALISED,
                        f"no airel store at {path}",
                        fix="run `airel init` in your project directory (or set AIREL_HOME)",
                    )
            self._store = SqlStore(
                self.settings.database_url, busy_timeout_s=self.settings.busy_timeout_s
            )
        if check:
            try:
                migrate.check_current(
                    self._store.engine, engines.redact(self.settings.database_url)
                )
            except StoreError:
                raise
            except Exception as exc:
                translated = engines.translate(exc, self.settings.database_url)
                if translated is not None:
                    raise translated from None
                raise
        return self._store

    @property
    def ctx(self) -> Context:
        """The service context (opens the store on first use)."""
        if self._ctx is None:
            self._ctx = Context(
                store=self._open(),
                blobs=BlobStore(self.settings.artifact_root),
                actor=self.settings.actor,
                limits=ParseLimits(max_bytes=self.settings.max_document_bytes),
                identity=StoreIdentities(),
                parsers={"feature_spec": feature_spec_fields},
            )
        return self._ctx

    def close(self) -> None:
        """Release database connections."""
        if self._store is not None:
            self._store.close()
        self._store = None
        self._ctx = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def init(self) -> dict[str, Any]:
        """Create the store (directory, schema, store id) if needed; safe to repeat."""
        if self.settings.embedded:
            path = engines.sqlite_path(self.settings.database_url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
        self.settings.artifact_root.mkdir(parents=True, exist_ok=True)
        before, after = self.upgrade()
        with self._open().read() as tx:
            store_id = tx.store_id()
        return {
            "store_id": store_id,
            "database": engines.redact(self.settings.database_url),
            "artifacts": str(self.settings.artifact_root),
            "schema_before": before,
            "schema": after,
        }

    def upgrade(self) -> tuple[str | None, str]:
        """Apply pending migrations (``airel db upgrade``); give a new store its id.

        Creating the store and every schema change are audited like any other state change.
        A store without role grants gets the configuration's ``[identities]`` as its first
        grants (and the acting identity ``admin`` if they name none), bound to that entry;
        afterwards the store's grants are authoritative.
        """
        store = self._open(check=False)
        try:
            before, after = migrate.upgrade(store.engine)
        except Exception as exc:
            translated = engines.translate(exc, self.settings.database_url)
            if translated is not None:
                raise translated from None
            raise
        actor = self.settings.actor

        def stamp(tx: WriteTx) -> None:
            seeded = identities.seed_grants(tx, actor, self.settings.identities, at=utc_now())
            if not tx.store_id():
                store_id = str(uuid.uuid4())
                tx.set_store_id(store_id)
                tx.append_audit(
                    actor=actor,
                    action="store.init",
                    subject="store",
                    before=None,
                    after=None,
                    details={"store_id": store_id, "schema": after, "roles": seeded},
                )
            elif before != after:
                tx.append_audit(
                    actor=actor,
                    action="store.migrate",
                    subject="store",
                    before=None,
                    after=None,
                    details={"from": before, "to": after, "roles": seeded},
                )
                # Records written before the chain bound them: vouch for them as they are now
                # (an edit made before this upgrade cannot be detected any more; say so).
                rows = tx.unaudited_rows()
                for i in range(0, len(rows), BASELINE_CHUNK):
                    tx.queue_records(rows[i : i + BASELINE_CHUNK])
                    tx.append_audit(
                        actor=actor,
                        action="audit.baseline",
                        subject="store",
                        before=None,
                        after=None,
                        details={
                            "count": len(rows[i : i + BASELINE_CHUNK]),
                            "note": "records stored before they were bound to the audit "
                            "chain, vouched for as found at this upgrade",
                        },
                    )
            elif seeded:
                tx.append_audit(
                    actor=actor,
                    action="role.seed",
                    subject="store",
                    before=None,
                    after=None,
                    details={"roles": seeded},
                )

        with store.read() as tx:
            needs_write = (
                not tx.store_id()
                or before != after
                or not tx.list_role_grants(include_revoked=True)
            )
        if needs_write:
            store.write(stamp)
        return before, after

    # -- registry --
    def register(
        self,
        path: Path | str,
        *,
        kind: ComponentKind | str | None = None,
        base_dir: Path | str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> Registered:
        """Register a component version from its spec file (``on_progress(bytes_hashed)``)."""
        return components.register_component(
            self.ctx,
            Path(path),
            kind=ComponentKind(kind) if isinstance(kind, str) else kind,
            base_dir=Path(base_dir) if base_dir else None,
            on_progress=on_progress,
        )

    def component(self, kind: ComponentKind | str, ref: str) -> ComponentVersion:
        """One version by name:version, name@alias, or a bare name with one version."""
        return components.get_component(self.ctx, ComponentKind(kind), ref)

    def components(self, kind: ComponentKind | str | None = None) -> list[ComponentVersion]:
        """Registered versions, optionally of one kind."""
        return components.list_components(self.ctx, ComponentKind(kind) if kind else None)

    def diff_versions(
        self, kind: ComponentKind | str, name: str, old: str, new: str
    ) -> VersionDiff:
        """Field changes and a readable text diff between two versions."""
        return components.diff_versions(self.ctx, ComponentKind(kind), name, old, new)

    # -- aliases --
    def set_alias(
        self,
        kind: ComponentKind | str,
        name: str,
        alias: str,
        version: str,
        *,
        expected_row_version: int | None = None,
        reason: str | None = None,
    ) -> tuple[Alias, bool]:
        """Move ``name@alias`` to ``version`` (compare-and-set when expected is given)."""
        return aliases.set_alias(
            self.ctx,
            ComponentKind(kind),
            name,
            alias,
            version,
            expected_row_version=expected_row_version,
            reason=reason,
        )

    def alias_history(self, kind: ComponentKind | str, name: str, alias: str) -> list[AliasMove]:
        """Every move of an alias, oldest first."""
        return aliases.alias_history(self.ctx, ComponentKind(kind), name, alias)

    # -- bundles --
    @overload
    def create_bundle(
        self,
        path: Path | str,
        *,
        freeze: Literal[False] = False,
        expected_version: int | None = None,
        dry_run: bool = False,
    ) -> Drafted: ...

    @overload
    def create_bundle(
        self,
        path: Path | str,
        *,
        freeze: Literal[True],
        allow_incomplete: str | None = None,
        dry_run: bool = False,
    ) -> Frozen: ...

    def create_bundle(
        self,
        path: Path | str,
        *,
        freeze: bool = False,
        allow_incomplete: str | None = None,
        expected_version: int | None = None,
        dry_run: bool = False,
    ) -> Drafted | Frozen:
        """``bundle create``: store (or edit, compare-and-set on ``expected_version``) the
        release's draft from YAML; with ``freeze=True`` validate and freeze it directly,
        refused while completeness fails unless ``allow_incomplete`` says why."""
        if freeze:
            return bundles.create_bundle(
                self.ctx, Path(path), allow_incomplete=allow_incomplete, dry_run=dry_run
            )
        return bundle_drafts.save_draft(
            self.ctx, Path(path), expected_version=expected_version, dry_run=dry_run
        )

    def freeze_bundle(
        self,
        release_id: str,
        *,
        allow_incomplete: str | None = None,
        expected_version: int | None = None,
        dry_run: bool = False,
    ) -> Frozen:
        """``bundle freeze``: resolve and freeze the release's stored draft (same completeness
        rule as ``create_bundle(freeze=True)``); an already frozen release is a no-op."""
        return bundle_drafts.freeze_draft(
            self.ctx,
            release_id,
            allow_incomplete=allow_incomplete,
            expected_version=expected_version,
            dry_run=dry_run,
        )

    def bundle_view(self, release_id: str) -> BundleView:
        """A release in either state (draft or frozen) with its completeness now."""
        return bundle_drafts.view(self.ctx, release_id)

    def bundle_listing(
        self, *, use_case_id: str | None = None, state: BundleState | str | None = None
    ) -> list[FrozenBundle | BundleDraft]:
        """Frozen bundles and drafts, optionally of one state, oldest first."""
        return bundle_drafts.listing(
            self.ctx, use_case_id=use_case_id, state=BundleState(state) if state else None
        )

    def check_bundle(self, path: Path | str) -> tuple[BundleSpec, CompletenessReport]:
        """Parse a bundle file and report completeness without opening the store."""
        limits = ParseLimits(max_bytes=self.settings.max_document_bytes)
        return bundles.check_bundle_file(Path(path), limits)

    def bundle(self, release_id: str) -> FrozenBundle:
        """A frozen bundle."""
        return bundles.get_bundle(self.ctx, release_id)

    def bundles(self, *, use_case_id: str | None = None) -> list[FrozenBundle]:
        """Frozen bundles, oldest first."""
        return bundles.list_bundles(self.ctx, use_case_id=use_case_id)

    def completeness(self, release_id: str) -> CompletenessReport:
        """B3 completeness of a frozen bundle."""
        return bundles.completeness_of(self.ctx, self.bundle(release_id))

    def diff_bundles(self, old: str, new: str) -> list[ComponentChange]:
        """B4 component-by-component diff."""
        return bundles.diff(self.ctx, old, new)

    def verify_bundle(self, release_id: str) -> BundleCheck:
        """Recompute a bundle's digest and re-hash its artifacts."""
        return bundles.verify_bundle(self.ctx, release_id)

    # -- lineage --
    def lineage(
        self,
        node: str,
        *,
        direction: Direction | str = Direction.UPSTREAM,
        max_depth: int | None = None,
    ) -> LineageGraph:
        """Walk lineage from a release or component, upstream or downstream."""
        return lineage.walk(self.ctx, node, Direction(direction), max_depth=max_depth)

    def openlineage(
        self, node: str, *, direction: Direction | str = Direction.UPSTREAM
    ) -> list[dict[str, Any]]:
        """Lineage from ``node`` as OpenLineage 2-0-2 RunEvents."""
        return openlineage.export_events(self.ctx, node, Direction(direction))

    def reproducibility(self, release_id: str) -> ReproReport:
        """The §7.2 reproducibility report of a release."""
        return reproducibility(self.ctx, release_id)

    # -- data validation (issue 3) --
    def profile(
        self,
        source: str | Path,
        *,
        label: str | None = None,
        reference_time: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[Profile, ProfileRecord, bool]:
        """Profile a registered dataset or a local file once; (profile, record, computed)."""
        src = profiling.resolve_source(self.ctx, str(source))
        options = ProfileOptions(label=label, reference_time=reference_time)
        return profiling.get_or_compute(self.ctx, src, options, on_progress=on_progress)

    def validate(
        self,
        current: str | Path,
        *,
        spec: str | Path,
        reference: str | Path | None = None,
        serving: str | Path | None = None,
        use_case: str | None = None,
        as_of: datetime | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
    ) -> ValidationOutcome:
        """Run the nine §5.5 checks and store the run and its §8.3 card as evidence."""
        return validation.validate(
            self.ctx,
            current=str(current),
            spec=str(spec),
            reference=str(reference) if reference is not None else None,
            serving=str(serving) if serving is not None else None,
            use_case=use_case,
            as_of=as_of,
            on_progress=on_progress,
        )

    def validation_run(self, run_id: str) -> ValidationRun:
        """A stored validation run."""
        return validation.get_run(self.ctx, run_id)

    def validation_runs(self, *, current: str | None = None) -> list[ValidationRun]:
        """Stored validation runs, oldest first."""
        return validation.list_runs(self.ctx, current=current)

    # -- offline evaluation (issue 4) --
    def eval_compare(
        self,
        suite: str | Path,
        *,
        baseline: str | Path,
        candidate: str | Path,
        baseline_label: str = "baseline",
        candidate_label: str = "candidate",
        baseline_model: str | None = None,
        candidate_model: str | None = None,
        judge_endpoint: str | None = None,
        timeout_s: float = 30.0,
        judge_concurrency: int | None = None,
    ) -> EvalOutcome:
        """Compare candidate with baseline on a suite; store the §8.4 report.

        A classifier suite compares two prediction files. A ``task: llm`` suite runs two
        targets (as :meth:`eval_run` takes them) on the same cases; ``baseline_model`` and
        ``candidate_model`` name the models of chat endpoints, and ``judge_endpoint`` (else
        ``AIREL_JUDGE_ENDPOINT``) serves the suite's judge evaluators, ``judge_concurrency``
        (else ``AIREL_JUDGE_CONCURRENCY``) calls at a time.
        """
        if eval_llm_compare.suite_task(self.ctx, Path(suite)) is EvalTask.LLM:
            return eval_llm_compare.compare_llm(
                self.ctx,
                suite_path=Path(suite),
                baseline=str(baseline),
                candidate=str(candidate),
                baseline_label=baseline_label,
                candidate_label=candidate_label,
                baseline_model=baseline_model,
                candidate_model=candidate_model,
                judge=self._judge_config(judge_endpoint, judge_concurrency),
                timeout_s=timeout_s,
            )
        return evaluation.compare_predictions(
            self.ctx,
            suite_path=Path(suite),
            baseline=Path(baseline),
            candidate=Path(candidate),
            baseline_label=baseline_label,
            candidate_label=candidate_label,
        )

    def eval_run(
        self,
        suite: str | Path,
        *,
        target: str,
        label: str,
        model: str | None = None,
        timeout_s: float = 30.0,
        judge_endpoint: str | None = None,
        judge_concurrency: int | None = None,
    ) -> EvalOutcome:
        """Run a suite against one system: a classifier suite on a predictions file (metrics
        with bootstrap CIs, absolute thresholds, must-pass sets), an LLM/RAG/agent suite on a
        target (outputs file, ``py:module:function``, ``http(s)://…``, ``openai:…``).

        ``judge_endpoint`` (else ``AIREL_JUDGE_ENDPOINT``) serves the suite's judge evaluators,
        ``judge_concurrency`` (else ``AIREL_JUDGE_CONCURRENCY``) calls at a time; the judge's
        headers come from ``AIREL_JUDGE_HEADERS`` / ``AIREL_JUDGE_API_KEY`` /
        ``AIREL_JUDGE_SECRETS_FILE`` only.
        """
        if eval_llm_compare.suite_task(self.ctx, Path(suite)) is EvalTask.CLASSIFIER:
            if target.startswith(("py:", "http://", "https://", "openai:")):
                raise ValidationError(
                    Reason.INVALID_VALUE,
                    f"a classifier suite is run on a predictions file, not {target!r}",
                    fix="score the eval datasets and pass the predictions file as --target",
                )
            return eval_single.run_classifier_suite(
                self.ctx, suite_path=Path(suite), predictions=Path(target), label=label
            )
        return eval_llm.run_llm_suite(
            self.ctx,
            suite_path=Path(suite),
            target=target,
            label=label,
            model=model,
            timeout_s=timeout_s,
            judge=self._judge_config(judge_endpoint, judge_concurrency),
        )

    def _judge_config(self, endpoint: str | None, concurrency: int | None) -> JudgeConfig:
        s = self.settings
        return JudgeConfig(
            endpoint=endpoint or s.judge_endpoint,
            auth=JudgeAuth(s.judge_headers, s.judge_api_key, s.judge_secrets_file),
            concurrency=concurrency if concurrency is not None else s.judge_concurrency,
        )

    def eval_rejudge(self, record_id: str) -> dict[str, list[Judgement]]:
        """Re-parse a stored run's or comparison's raw judge responses, by evaluator
        (comparisons: ``baseline/REF`` and ``candidate/REF``); no endpoint is called."""
        return eval_llm.rejudge_record(self.ctx, record_id)

    def eval_record(self, record_id: str) -> EvalRecord:
        """A stored eval record."""
        return evaluation.get_record(self.ctx, record_id)

    def eval_records(self) -> list[EvalRecord]:
        """Stored eval records."""
        return evaluation.list_records(self.ctx)

    # -- audit and artifacts --
    def verify_audit(
        self,
        *,
        checkpoint: Path | str | None = None,
        public_key: Path | str | None = None,
        records: bool = True,
    ) -> ChainReport:
        """Verify the audit chain (and a signed checkpoint, if given) and, unless
        ``records=False``, re-hash every live record against the chain."""
        return audit.verify_chain(
            self.ctx,
            checkpoint=Path(checkpoint) if checkpoint else None,
            public_key=Path(public_key) if public_key else None,
            records=records,
        )

    def checkpoint(self, private_key: Path | str, out: Path | str) -> dict[str, Any]:
        """Sign the current chain head into a checkpoint file kept outside the database."""
        return audit.create_checkpoint(self.ctx, Path(private_key), Path(out))

    @staticmethod
    def generate_key(private_path: Path | str, public_path: Path | str) -> str:
        """Create an Ed25519 key pair for checkpoints."""
        return audit.generate_key(Path(private_path), Path(public_path))

    def verify_artifacts(self, digest: str | None = None) -> list[BlobCheck]:
        """Re-hash recorded artifacts and report mismatches."""
        return artifacts.verify_artifacts(self.ctx, digest)

    def artifact_report(self, digest: str | None = None) -> ArtifactReport:
        """Re-hash recorded artifacts and count stale staging of interrupted ingests."""
        return artifacts.artifact_report(self.ctx, digest)

    def collect_staging(self) -> StagingReport:
        """Remove stale staging of interrupted ingests (never a live writer's)."""
        return artifacts.collect_staging(self.ctx)

    def artifacts(self) -> list[Any]:
        """Recorded artifacts."""
        with self.ctx.store.read() as tx:
            return list(tx.list_artifacts())
