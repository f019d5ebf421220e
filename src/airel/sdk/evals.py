"""Offline evaluation: runs, comparisons, re-judging and stored records (``airel eval``).

A facet of :class:`airel.Client` (``client.evals``), loaded when first used; each method is one
service call with its arguments translated.
"""

from __future__ import annotations

from pathlib import Path

from airel.adapters.eval.judge_auth import JudgeAuth
from airel.adapters.eval.llm_judge import Judgement
from airel.domain.eval.record import EvalRecord
from airel.domain.eval.suite import EvalTask
from airel.errors import Reason, ValidationError
from airel.sdk.facet import Facet
from airel.services.eval import evaluation
from airel.services.eval import single as eval_single
from airel.services.eval.evaluation import EvalOutcome
from airel.services.eval.llm import compare as eval_llm_compare
from airel.services.eval.llm import run as eval_llm
from airel.services.eval.llm.side import JudgeConfig


class Evals(Facet):
    """The ``client.evals`` facet (see the module docstring)."""

    def compare(
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

    def run(
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

    def rejudge(self, record_id: str) -> dict[str, list[Judgement]]:
        """Re-parse a stored run's or comparison's raw judge responses, by evaluator
        (comparisons: ``baseline/REF`` and ``candidate/REF``); no endpoint is called."""
        return eval_llm.rejudge_record(self.ctx, record_id)

    def record(self, record_id: str) -> EvalRecord:
        """A stored eval record."""
        return evaluation.get_record(self.ctx, record_id)

    def records(self) -> list[EvalRecord]:
        """Stored eval records."""
        return evaluation.list_records(self.ctx)
