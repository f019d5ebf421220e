"""The Python SDK: ``airel.Client``, a namespace per bounded context over one runtime.

``Client()`` uses ./.airel (or airel.toml / AIREL_* settings). Its namespaces mirror the CLI's
nouns — ``client.registry``, ``.bundles``, ``.data``, ``.evals``, ``.gates``, ``.identity``,
``.audit`` — each a small facet over its services, imported when first used. The wiring
(settings → store → context) is :class:`airel.runtime.Runtime`, which the CLI and the coming
API and gateway share.

The flat names of earlier releases (``client.register``, ``client.create_bundle``,
``client.gate_check`` …) still work: :data:`ALIASES` maps each to its namespaced method, the one
to use in new code (``client.registry.register``, ``client.bundles.create``,
``client.gates.check``).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airel.config import Settings, load_settings
from airel.runtime import BASELINE_CHUNK, Runtime

if TYPE_CHECKING:
    from airel.domain.gate.metrics import MetricDef
    from airel.sdk.audit import Audit
    from airel.sdk.bundles import Bundles
    from airel.sdk.ci import Ci
    from airel.sdk.data import Data
    from airel.sdk.evals import Evals
    from airel.sdk.gates import Gates
    from airel.sdk.identity import Identity
    from airel.sdk.monitoring import Monitoring
    from airel.sdk.promotions import Promotions
    from airel.sdk.registry import Registry
    from airel.sdk.releases import Releases
    from airel.sdk.rollouts import Rollouts
    from airel.sdk.triggers import Triggers
    from airel.services.kernel.context import Context

__all__ = ["ALIASES", "BASELINE_CHUNK", "Client"]

# The flat SDK names of earlier releases → (namespace, method): they keep working.
ALIASES: dict[str, tuple[str, str]] = {
    "accept_risk": ("gates", "accept_risk"),
    "add_evidence": ("gates", "add_evidence"),
    "add_exception": ("gates", "add_exception"),
    "alias_history": ("registry", "alias_history"),
    "approvals": ("gates", "approvals"),
    "approve": ("gates", "approve"),
    "artifact_report": ("registry", "artifact_report"),
    "artifacts": ("registry", "artifacts"),
    "bundle": ("bundles", "get"),
    "bundle_listing": ("bundles", "listing"),
    "bundle_view": ("bundles", "view"),
    "bundles": ("bundles", "list"),
    "check_bundle": ("bundles", "check_file"),
    "check_policy_file": ("gates", "check_policy_file"),
    "checkpoint": ("audit", "checkpoint"),
    "collect_staging": ("registry", "collect_staging"),
    "completeness": ("bundles", "completeness"),
    "component": ("registry", "component"),
    "components": ("registry", "components"),
    "create_bundle": ("bundles", "create"),
    "diff_bundles": ("bundles", "diff"),
    "diff_policies": ("gates", "diff_policies"),
    "diff_versions": ("registry", "diff"),
    "eval_compare": ("evals", "compare"),
    "eval_record": ("evals", "record"),
    "eval_records": ("evals", "records"),
    "eval_rejudge": ("evals", "rejudge"),
    "eval_run": ("evals", "run"),
    "evidence": ("gates", "evidence"),
    "freeze_bundle": ("bundles", "freeze"),
    "gate_check": ("gates", "check"),
    "gate_decision": ("gates", "decision"),
    "gate_decisions": ("gates", "decisions"),
    "gate_memo": ("gates", "memo"),
    "gate_preview": ("gates", "preview"),
    "gate_recheck": ("gates", "recheck"),
    "generate_key": ("audit", "generate_key"),
    "generate_signing_key": ("identity", "generate_signing_key"),
    "grant_role": ("identity", "grant_role"),
    "lineage": ("registry", "lineage"),
    "link_evidence": ("gates", "link_evidence"),
    "openlineage": ("registry", "openlineage"),
    "policy": ("gates", "policy"),
    "policy_metrics": ("gates", "policy_metrics"),
    "present_signed_approval": ("gates", "present_signed_approval"),
    "profile": ("data", "profile"),
    "register": ("registry", "register"),
    "register_key": ("identity", "register_key"),
    "reproducibility": ("bundles", "reproducibility"),
    "revoke_key": ("identity", "revoke_key"),
    "revoke_role": ("identity", "revoke_role"),
    "role_grants": ("identity", "role_grants"),
    "set_alias": ("registry", "set_alias"),
    "sign_approval": ("gates", "sign_approval"),
    "signing_keys": ("identity", "signing_keys"),
    "validate": ("data", "validate"),
    "validation_run": ("data", "run"),
    "validation_runs": ("data", "runs"),
    "verify_artifacts": ("registry", "verify_artifacts"),
    "verify_audit": ("audit", "verify"),
    "verify_bundle": ("bundles", "verify"),
    "waivers": ("gates", "waivers"),
}


class Client:
    """The airel SDK. ``Client()`` uses ./.airel (or airel.toml / AIREL_* settings)."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = settings or load_settings(overrides)
        self.runtime = Runtime(self.settings)

    # -- lifecycle --
    @property
    def ctx(self) -> Context:
        """The service context (opens the store on first use)."""
        return self.runtime.context()

    def close(self) -> None:
        """Release database connections."""
        self.runtime.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def init(self) -> dict[str, Any]:
        """Create the store (directory, schema, store id) if needed; safe to repeat."""
        return self.runtime.init()

    def upgrade(self) -> tuple[str | None, str]:
        """Apply pending migrations (``airel db upgrade``); give a new store its id."""
        return self.runtime.upgrade()

    def api_app(self, *, max_body_bytes: int = 1 << 20) -> Any:
        """The REST API (a FastAPI app) over this client's store: every request acts as the
        identity its bearer token authenticates (``airel serve api``; issue 13)."""
        from airel.api.app import create_app  # noqa: PLC0415

        return create_app(self.runtime.context, max_body_bytes=max_body_bytes)

    def serve_api(
        self, *, host: str = "127.0.0.1", port: int = 8780, max_body_bytes: int = 1 << 20
    ) -> None:
        """Serve :meth:`api_app` under uvicorn until interrupted."""
        import uvicorn  # noqa: PLC0415

        _ = self.ctx  # open (and check) the store before taking requests
        uvicorn.run(self.api_app(max_body_bytes=max_body_bytes), host=host, port=port,
                    log_level="warning", access_log=False)  # fmt: skip

    # -- namespaces (one per CLI noun; each imported when first used) --
    @cached_property
    def registry(self) -> Registry:
        """Components, artifacts, aliases and lineage."""
        from airel.sdk.registry import Registry  # noqa: PLC0415

        return Registry(self.runtime)

    @cached_property
    def bundles(self) -> Bundles:
        """Release bundles: drafts, freezing, diffs, verification, reproducibility."""
        from airel.sdk.bundles import Bundles  # noqa: PLC0415

        return Bundles(self.runtime)

    @cached_property
    def data(self) -> Data:
        """Profiles and validation runs."""
        from airel.sdk.data import Data  # noqa: PLC0415

        return Data(self.runtime)

    @cached_property
    def evals(self) -> Evals:
        """Offline evaluation runs and comparisons."""
        from airel.sdk.evals import Evals  # noqa: PLC0415

        return Evals(self.runtime)

    @cached_property
    def gates(self) -> Gates:
        """Gate decisions, approvals, waivers, evidence and policies."""
        from airel.sdk.gates import Gates  # noqa: PLC0415

        return Gates(self.runtime)

    @cached_property
    def promotions(self) -> Promotions:
        """Promotions along the stage graph, deployment manifests, traffic plans."""
        from airel.sdk.promotions import Promotions  # noqa: PLC0415

        return Promotions(self.runtime)

    @cached_property
    def releases(self) -> Releases:
        """The §5.8 promotion workflow of a release: each step with its evidence."""
        from airel.sdk.releases import Releases  # noqa: PLC0415

        return Releases(self.runtime)

    @cached_property
    def rollouts(self) -> Rollouts:
        """Routes, rollouts step by step, rollbacks by component, runbooks and drills."""
        from airel.sdk.rollouts import Rollouts  # noqa: PLC0415

        return Rollouts(self.runtime)

    @cached_property
    def triggers(self) -> Triggers:
        """Continuous-training trigger records (never a promotion) and incidents."""
        from airel.sdk.triggers import Triggers  # noqa: PLC0415

        return Triggers(self.runtime)

    @cached_property
    def monitoring(self) -> Monitoring:
        """Request traces, feedback, the serving table and the gateway."""
        from airel.sdk.monitoring import Monitoring  # noqa: PLC0415

        return Monitoring(self.runtime)

    @cached_property
    def ci(self) -> Ci:
        """The §5.3 CI checklist, run here and recorded as G2 evidence."""
        from airel.sdk.ci import Ci  # noqa: PLC0415

        return Ci(self.runtime)

    @cached_property
    def identity(self) -> Identity:
        """Role grants and signing keys."""
        from airel.sdk.identity import Identity  # noqa: PLC0415

        return Identity(self.runtime)

    @cached_property
    def audit(self) -> Audit:
        """The audit chain: verification and checkpoints."""
        from airel.sdk.audit import Audit  # noqa: PLC0415

        return Audit(self.runtime)

    def __getattr__(self, name: str) -> Any:
        """The flat names of earlier releases (:data:`ALIASES`)."""
        target = ALIASES.get(name)
        if target is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        namespace, method = target
        return getattr(getattr(self, namespace), method)

    # -- offline helpers (no store) --
    @staticmethod
    def generate_key(private_path: Path | str, public_path: Path | str) -> str:
        """Create an Ed25519 key pair for audit checkpoints."""
        from airel.sdk.audit import Audit  # noqa: PLC0415

        return Audit.generate_key(private_path, public_path)

    @staticmethod
    def generate_signing_key(private_key: Path | str) -> str:
        """Write a new Ed25519 private key for signing approvals; return its public key."""
        from airel.sdk.identity import Identity  # noqa: PLC0415

        return Identity.generate_signing_key(private_key)

    @staticmethod
    def sign_approval(private_key: Path | str, **statement: Any) -> dict[str, Any]:
        """Sign an approval statement offline (``Gates.sign_approval``)."""
        from airel.sdk.gates import Gates  # noqa: PLC0415

        return Gates.sign_approval(private_key, **statement)

    @staticmethod
    def policy_metrics() -> list[MetricDef]:
        """The facts gate rules may read."""
        from airel.sdk.gates import Gates  # noqa: PLC0415

        return Gates.policy_metrics()
