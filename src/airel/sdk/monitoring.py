"""Request traces, feedback and the gateway (``airel traces``, ``airel serve gateway``).

A facet of :class:`airel.Client` (``client.monitoring``), loaded when first used; each method
is one service call with its arguments translated. :meth:`Monitoring.gateway` is the
composition root of the gateway edge: it hands the app the serving table, a trace writer and
the feedback use case as callables, so the gateway itself never imports the services.
"""

from __future__ import annotations

import builtins
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airel.domain.monitoring.serving import ServedRoute
from airel.domain.monitoring.trace import Feedback, Trace, TraceQuery
from airel.errors import Reason, StoreError
from airel.sdk.facet import Facet
from airel.services.monitoring import serving, traces
from airel.services.monitoring.traces import TraceProblem

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

    from airel.gateway.app import Gateway, GatewayConfig, Telemetry
    from airel.services.monitoring.analysis import CanaryRun
    from airel.services.monitoring.production import MonitorReport

SECRET_ENV = "AIREL_GATEWAY_KEY_SECRET"  # noqa: S105 - the variable's name, not a secret


class Monitoring(Facet):
    """The ``client.monitoring`` facet (see the module docstring)."""

    def query(self, query: TraceQuery | None = None, **fields: Any) -> builtins.list[Trace]:
        """Traces of a release, route or component version in a window, oldest first."""
        return traces.query(self.ctx, query or TraceQuery(**fields))

    def request(self, request_id: str) -> builtins.list[Trace]:
        """Every trace of one request (the live answer, a fallback, shadow copies)."""
        return traces.request_traces(self.ctx, request_id)

    def verify(self) -> tuple[int, int, builtins.list[TraceProblem]]:
        """Check every trace batch against its root and the audit chain: (batches, traces,
        problems)."""
        return traces.verify_traces(self.ctx)

    def feedback(
        self, request_id: str, kind: str, *, review: str | None = None, note: str | None = None
    ) -> Feedback:
        """Record an override or a complaint against a traced request."""
        return traces.record_feedback(self.ctx, request_id, kind, review=review, note=note)

    def analyse_canary(
        self,
        route: str,
        *,
        lane: str = "production",
        until: datetime | None = None,
        min_samples: int = 200,
        alpha: float = 0.05,
    ) -> CanaryRun:
        """Compare the candidate with the stable release on the traces of the current step,
        record the result as canary evidence, and let the rollout act on it (a stop
        condition rolls back at once; an inconclusive analysis never advances)."""
        from airel.domain.monitoring.canary import CanaryConfig  # noqa: PLC0415
        from airel.domain.promotion.route import Lane  # noqa: PLC0415
        from airel.services.monitoring.analysis import analyse_canary  # noqa: PLC0415

        config = CanaryConfig(alpha=alpha, min_samples=min_samples)
        return analyse_canary(self.ctx, route, lane=Lane(lane), until=until, config=config)

    def monitor(
        self,
        release_id: str,
        *,
        since: datetime,
        until: datetime,
        reference: str | None = None,
    ) -> MonitorReport:
        """Production monitoring of one release over a window (T4): drift of the traced
        feature values against the training reference, quality, latency and cost per hour;
        drift is recorded as a CT trigger (a candidate, never a promotion), a degradation as
        an incident — once per window and check."""
        from airel.services.monitoring.production import monitor  # noqa: PLC0415

        return monitor(self.ctx, release_id, since=since, until=until, reference=reference)

    def serving_table(self) -> dict[str, ServedRoute]:
        """What the gateway serves: every route@lane with its releases, from the records."""
        return serving.serving_table(self.ctx)

    def key_secret(self) -> bytes:
        """The secret keying sticky-key digests: ``AIREL_GATEWAY_KEY_SECRET``, else
        ``<home>/gateway.key`` (created once, mode 0600), so digests stay comparable."""
        value = os.environ.get(SECRET_ENV)
        if value:
            if len(value) < 16:
                raise StoreError(
                    Reason.CONFIG_INVALID,
                    f"{SECRET_ENV} is shorter than 16 characters",
                    fix="use a long random value, e.g. `openssl rand -hex 32`",
                )
            return value.encode("utf-8")
        path = Path(self.settings.home) / "gateway.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text(encoding="ascii").strip().encode("ascii")

    def gateway(
        self,
        config: GatewayConfig | None = None,
        *,
        telemetry: Telemetry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        linger_s: float = 0.002,
        clock: Callable[[], datetime] | None = None,
        ingest_subprocess: bool = False,
    ) -> Gateway:
        """A gateway over this store: routes from the records, traces through a group-commit
        writer, feedback through the audited use case (serve it with
        :func:`airel.gateway.app.create_app`). ``ingest_subprocess``: the traces are committed
        by a separate ingest process (what ``airel serve gateway`` runs), not a thread of this
        one."""
        from airel.gateway.app import Gateway, GatewayConfig  # noqa: PLC0415
        from airel.sdk.ingest import ingest_process  # noqa: PLC0415
        from airel.services.monitoring.writer import PipedTraceWriter, TraceWriter  # noqa: PLC0415

        ctx = self.ctx
        cfg = config or GatewayConfig(key_secret=self.key_secret())

        def feedback(request_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
            kind, review, note = body.get("kind"), body.get("review"), body.get("note")
            made = traces.record_feedback(
                ctx,
                request_id,
                str(kind),
                review=str(review) if review is not None else None,
                note=str(note) if note is not None else None,
            )
            return made.model_dump(mode="json")

        on_commit = getattr(telemetry, "observe_commit", None)

        def analysis(route: str, lane: str) -> tuple[Any, Any, dict[str, object], list[str]]:
            from airel.domain.promotion.route import Lane  # noqa: PLC0415
            from airel.domain.promotion.traffic_plan import StepVerdict  # noqa: PLC0415
            from airel.services.promotion import rollouts  # noqa: PLC0415

            found = rollouts.analyse(ctx, route, lane=Lane(lane))
            a = found.analysis
            if a is None:
                return found.route.step, StepVerdict.INCONCLUSIVE, {}, [found.verdict.upper()]
            observed = {r.criterion.metric: r.observed for r in a.results if r.observed is not None}
            return a.step, a.verdict, observed, list(a.reasons)

        sink = (
            PipedTraceWriter(ingest_process(self.settings), linger_s=linger_s, on_commit=on_commit)
            if ingest_subprocess
            else TraceWriter(ctx, linger_s=linger_s, on_commit=on_commit)
        )
        return Gateway(
            cfg,
            lambda: serving.serving_table(ctx),
            sink,
            telemetry=telemetry,
            feedback=feedback,
            analysis=analysis,
            transport=transport,
            clock=clock or ctx.clock.now,
        )

    def serve_gateway(self, *, host: str = "127.0.0.1", port: int = 8787, **config: Any) -> None:
        """Run the gateway under uvicorn until SIGINT/SIGTERM (then flush the traces).
        ``config``: :class:`airel.gateway.app.GatewayConfig` fields."""
        import uvicorn  # noqa: PLC0415

        from airel.adapters.telemetry.gateway import GatewayTelemetry  # noqa: PLC0415
        from airel.gateway.app import GatewayConfig, create_app  # noqa: PLC0415

        cfg = GatewayConfig(key_secret=self.key_secret(), **config)
        gw = self.gateway(
            cfg, telemetry=GatewayTelemetry.from_environment(), ingest_subprocess=True
        )
        uvicorn.run(create_app(gw), host=host, port=port, log_level="warning", access_log=False)

    def kubernetes(
        self,
        kind: str,
        plan: Path | str,
        *,
        name: str,
        namespace: str,
        image: str,
        base_url: str,
        route: str | None = None,
        port: int = 8080,
        replicas: int = 10,
        nginx_ingress: str | None = None,
    ) -> str:
        """The Argo Rollouts (``kind="argo"``: AnalysisTemplates + Rollout) or Flagger
        (``"flagger"``: Canary) manifests of a traffic plan, as multi-document YAML; the
        analysis steps call airel's web metric endpoint at ``base_url``."""
        from airel.adapters.documents.manifests import render_yaml  # noqa: PLC0415
        from airel.domain.monitoring import kubernetes as k8s  # noqa: PLC0415
        from airel.services.promotion.promotions import load_plan  # noqa: PLC0415

        parsed = load_plan(self.ctx, Path(plan))
        wl = k8s.Workload(name=name, namespace=namespace, image=image, base_url=base_url,
                          route=route, port=port, replicas=replicas)  # fmt: skip
        if kind == "argo":
            routing = {"nginx": {"stableIngress": nginx_ingress}} if nginx_ingress else None
            return render_yaml(k8s.argo_documents(parsed, wl, traffic_routing=routing))
        return render_yaml([k8s.flagger_canary(parsed, wl)])

    def alert_rules(
        self,
        plan: Path | str,
        *,
        route: str,
        release: str,
        lane: str = "production",
        window: str = "5m",
    ) -> tuple[str, builtins.list[str]]:
        """Prometheus alert rules for the plan's stop conditions on the gateway's metrics,
        and the stop conditions no gateway metric can alert on (the analysis decides them)."""
        from airel.adapters.documents.manifests import render_yaml  # noqa: PLC0415
        from airel.domain.monitoring import alert_rules  # noqa: PLC0415
        from airel.services.promotion.promotions import load_plan  # noqa: PLC0415

        parsed = load_plan(self.ctx, Path(plan))
        rules = alert_rules.alert_rules(parsed, route=route, release=release, lane=lane,
                                        window=window)  # fmt: skip
        left = [f"{step}: {c.text()}" for step, c in alert_rules.unalertable(parsed)]
        return render_yaml([rules]), left
