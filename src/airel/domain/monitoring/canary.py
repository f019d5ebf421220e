"""Canary analysis: the candidate against the stable release on the same live traffic (T3,
playbook §5.6, gates G7–G8).

Both arms (:class:`Sample`) are the requests each release answered on one route over the SAME
window. Each metric is compared with a confidence interval; the family shares one error budget.

* **Rates** (error, critical failure, quality failure, override, complaint, and the error rate
  of each segment both arms served ``min_samples`` times): canary − baseline with Newcombe's
  hybrid score interval (1998, method 10: both arms' Wilson intervals, square-and-add). *Worse*
  when the lower bound is above ``rate_margin`` (default 0: any significant increase); *not
  worse* only when the upper bound is below ``rate_equivalence`` (default 0.01). An
  equivalence margin of 0 would make *not worse* unreachable: even for identical arms the
  upper bound of the difference is above 0.
* **Latency p50/p95/p99**: a distribution-free interval per arm from the order statistics (the
  count below the true quantile is Binomial(n, q)). *Worse* when the canary's lower bound
  exceeds the baseline's upper bound × (1 + ``latency_tolerance``); *not worse* when the
  canary's upper bound is at most the baseline's lower bound × (1 + ``latency_equivalence``).
  Too few requests and the order statistic does not exist (a p99 interval at 1 − 0.005 needs
  597): the metric is *undefined*, never a pass.
* **Mean cost**: the same rule on each arm's Student-t interval (a mean has no distribution-free
  interval; the CLT is trusted only with ``min_samples`` costs per arm).

**Bonferroni**: ``m`` metrics compared (fixed from the sample sizes, before any comparison);
each rate interval at 1 − α/m, each per-arm interval at 1 − α/(2m). **Critical failures are
zero tolerance**: one in the canary makes that comparison *worse*, whatever the interval. FAIL
when any comparison is worse; PASS only when both arms have ``min_samples`` requests and every
comparison is established not worse; otherwise INCONCLUSIVE, which never passes.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from airel.domain.monitoring.serving import normal_segment
from airel.errors import Reason, ValidationError

FloatArray = npt.NDArray[np.float64]
_NORMAL = NormalDist()
METHOD = "newcombe-hybrid-score + order-statistic quantile CIs + Student-t means, Bonferroni"
QUANTILES = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95, "latency_p99_ms": 0.99}
RATES = ("error_rate", "critical_failure_rate", "quality_failure_rate", "override_rate",
         "complaint_rate")  # fmt: skip
COLUMNS = ("request_id", "status", "latency_ms", "critical", "error", "cost",
           "quality_failure", "override", "segments")  # fmt: skip


class Verdict(StrEnum):
    """What the analysis concludes about the canary."""

    PASS = "pass"  # noqa: S105 - all compared metrics not worse, enough requests, no critical
    FAIL = "fail"  # some metric is significantly worse, or the canary had a critical failure
    INCONCLUSIVE = "inconclusive"  # neither (too few requests, an open interval): never passes


class Finding(StrEnum):
    """What one comparison shows."""

    WORSE = "worse"  # the interval lies beyond the tolerated margin (or a critical failure)
    NOT_WORSE = "not_worse"  # the interval lies within the equivalence margin
    INCONCLUSIVE = "inconclusive"  # the interval straddles the margins
    UNDEFINED = "undefined"  # no interval at this sample size (or no data in an arm)


def _invalid(message: str, **details: Any) -> ValidationError:
    return ValidationError(
        Reason.CANARY_SAMPLE_INVALID,
        message,
        fix="analyse a window in which both releases served requests, from stored traces",
        details=details,
    )


@dataclass(frozen=True)
class CanaryConfig:
    """The analysis's parameters (margins are absolute for rates, relative elsewhere)."""

    alpha: float = 0.05  # family-wise error rate
    min_samples: int = 200  # requests per arm before a PASS (and per segment compared)
    # "worse" needs a practical margin as well as significance: on 30,000 requests a 2 %
    # slower p50 is significant, and no reason to roll back (critical failures: zero tolerance)
    rate_margin: float = 0.001  # worse: the difference's lower bound above this (0.1 point)
    rate_equivalence: float = 0.01  # not worse: the difference's upper bound below this
    latency_tolerance: float = 0.10  # worse: canary low > baseline high × (1 + this)
    latency_equivalence: float = 0.20  # not worse: canary high ≤ baseline low × (1 + this)
    cost_tolerance: float = 0.05  # worse: canary low > baseline high × (1 + this)
    cost_equivalence: float = 0.10

    def __post_init__(self) -> None:
        margins = {k: v for k, v in asdict(self).items() if k not in ("alpha", "min_samples")}
        if not 0 < self.alpha < 1 or self.min_samples < 1 or min(margins.values()) < 0:
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"canary analysis parameters out of range: {asdict(self)}",
                fix="alpha in (0, 1), min_samples ≥ 1, margins ≥ 0",
            )


@dataclass(frozen=True, eq=False)
class Sample:
    """One arm's requests over the window: counts, latencies, costs, per-segment errors.

    An error is an ``error`` code, a status ≥ 500 or 0 (no answer), or a fallback to the
    baseline; a quality failure is a trace with quality flags; an override is a trace marked
    overridden or one a reviewer modified or rejected; a complaint is a request with complaint
    feedback."""

    n: int
    errors: int
    fallbacks: int
    critical: int
    quality: int
    overrides: int
    complaints: int
    latencies: FloatArray
    costs: FloatArray  # of the requests that reported one
    segments: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # (requests, errors)

    def __post_init__(self) -> None:
        counts = (self.errors, self.fallbacks, self.critical, self.quality, self.overrides,
                  self.complaints, *(r for r, _ in self.segments.values()))  # fmt: skip
        bad_segment = any(not 0 <= e <= r for r, e in self.segments.values())
        if bad_segment or any(not 0 <= x <= self.n for x in counts):
            raise _invalid("a count of the sample is negative or exceeds its requests")
        for name in ("latencies", "costs"):
            values = np.array(getattr(self, name), dtype=np.float64)
            if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
                raise _invalid(f"the sample's {name} must be finite and non-negative")
            values = np.sort(values)
            values.flags.writeable = False
            object.__setattr__(self, name, values)
        if len(self.latencies) != self.n or len(self.costs) > self.n:
            raise _invalid("the sample needs one latency per request and at most one cost")

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Sequence[Any]],
        *,
        complained: Collection[str] = frozenset(),
        overridden: Collection[str] = frozenset(),
        include: Collection[str] = (),
        exclude: Collection[str] = (),
    ) -> Sample:
        """An arm from trace columns (``trace_columns``; a ``fallback`` column is counted when
        present). Only requests the step makes eligible are kept: none in ``exclude``, and one
        of ``include`` when it is not empty."""
        missing = [c for c in COLUMNS if c not in columns]
        lengths = {len(columns[c]) for c in columns if c in (*COLUMNS, "fallback")}
        if missing or len(lengths) > 1:
            raise _invalid(f"malformed trace columns (missing {missing}, lengths {lengths})")
        fallback = (
            columns["fallback"] if "fallback" in columns else [False] * len(columns["status"])
        )
        excluded = {normal_segment(x) for x in exclude}
        included = {normal_segment(x) for x in include}
        n = errors = fallbacks = critical = quality = overrides = complaints = 0
        latencies: list[float] = []
        costs: list[float] = []
        segments: dict[str, list[int]] = {}
        try:
            for i, request in enumerate(columns["request_id"]):
                raw = str(columns["segments"][i] or "").split(",")
                tags = {normal_segment(x) for x in raw if x.strip()}
                if tags & excluded or (included and not tags & included):
                    continue
                status, fell = int(columns["status"][i]), _flag(fallback[i])
                failed = bool(columns["error"][i]) or status >= 500 or status == 0 or fell
                n, errors, fallbacks = n + 1, errors + failed, fallbacks + fell
                critical += _flag(columns["critical"][i])
                quality += _flag(columns["quality_failure"][i])
                overrides += _flag(columns["override"][i]) or request in overridden
                complaints += request in complained
                latencies.append(float(columns["latency_ms"][i]))
                if columns["cost"][i] is not None:
                    costs.append(float(columns["cost"][i]))
                for tag in tags:
                    seg = segments.setdefault(tag, [0, 0])
                    seg[0], seg[1] = seg[0] + 1, seg[1] + failed
        except (TypeError, ValueError) as exc:
            raise _invalid(f"a trace column holds a value of the wrong type: {exc}") from None
        return cls(n, errors, fallbacks, critical, quality, overrides, complaints,
                   np.array(latencies), np.array(costs),
                   {k: (v[0], v[1]) for k, v in segments.items()})  # fmt: skip

    def count(self, rate: str) -> int:
        """The numerator of one of :data:`RATES`."""
        return {"error_rate": self.errors, "critical_failure_rate": self.critical,
                "quality_failure_rate": self.quality, "override_rate": self.overrides,
                "complaint_rate": self.complaints}[rate]  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """JSON form (counts only)."""
        return {"requests": self.n, "errors": self.errors, "fallbacks": self.fallbacks,
                "critical_failures": self.critical, "quality_failures": self.quality,
                "overrides": self.overrides, "complaints": self.complaints,
                "costs": len(self.costs),
                "segments": {k: list(v) for k, v in sorted(self.segments.items())}}  # fmt: skip


def _flag(value: object) -> bool:
    if isinstance(value, bool) or value in (0, 1):
        return bool(value)
    raise ValueError(f"{value!r} is not a flag")


def wilson_interval(x: int, n: int, alpha: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion ``x/n`` at level 1 − ``alpha``."""
    z = _NORMAL.inv_cdf(1 - alpha / 2)
    p, z2 = x / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(x1: int, n1: int, x0: int, n0: int, alpha: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for ``x1/n1 − x0/n0`` at 1 − ``alpha``."""
    p1, p0 = x1 / n1, x0 / n0
    (l1, u1), (l0, u0) = wilson_interval(x1, n1, alpha), wilson_interval(x0, n0, alpha)
    d = p1 - p0
    return d - math.hypot(p1 - l1, u0 - p0), d + math.hypot(u1 - p1, p0 - l0)


def quantile_interval(values: FloatArray, q: float, alpha: float) -> tuple[float, float] | None:
    """The order statistics ``(x_(l), x_(u))`` covering the ``q`` quantile with probability at
    least 1 − ``alpha`` for any continuous distribution (None: ``values`` is too small)."""
    x = np.sort(values)
    n = len(x)
    cdf = stats.binom.cdf(np.arange(n + 1), n, q)
    low = int(np.searchsorted(cdf, alpha / 2, side="right")) - 1  # P(B ≤ low) ≤ α/2
    high = int(np.searchsorted(cdf, 1 - alpha / 2, side="left"))  # P(B ≤ high) ≥ 1 − α/2
    if low < 0 or high >= n:
        return None
    return float(x[low]), float(x[high])  # ranks low+1 and high+1


def quantile_min_n(q: float, alpha: float) -> int:
    """The fewest values for which :func:`quantile_interval` exists."""
    return math.ceil(math.log(alpha / 2) / math.log(max(q, 1 - q)))


def mean_interval(values: FloatArray, alpha: float) -> tuple[float, float]:
    """Student-t interval of the mean at level 1 − ``alpha`` (n ≥ 2)."""
    n = len(values)
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * float(np.std(values, ddof=1)) / math.sqrt(n)
    mean = float(np.mean(values))
    return mean - half, mean + half


@dataclass(frozen=True)
class Comparison:
    """One metric of the canary against the baseline."""

    metric: str  # error_rate, segment.retail.error_rate, latency_p99_ms, cost_mean …
    kind: Literal["rate", "quantile", "mean"]
    baseline: float | None  # the arms' estimates
    canary: float | None
    interval: tuple[float, float] | None  # rates: canary − baseline; else the canary's interval
    baseline_interval: tuple[float, float] | None  # quantile, mean: the baseline's interval
    finding: Finding
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out = asdict(self)
        out["finding"] = self.finding.value
        for k in ("interval", "baseline_interval"):
            out[k] = list(out[k]) if out[k] is not None else None
        return out


def _rate(name: str, x1: int, n1: int, x0: int, n0: int, a: float, c: CanaryConfig) -> Comparison:
    low, high = newcombe_interval(x1, n1, x0, n0, a)
    span = f"difference {x1 / n1 - x0 / n0:+.4f} in [{low:+.4f}, {high:+.4f}]"
    if low > c.rate_margin:
        finding, reason = Finding.WORSE, f"{span}: above the margin {c.rate_margin:g}"
    elif high < c.rate_equivalence:
        finding, reason = Finding.NOT_WORSE, f"{span}: within {c.rate_equivalence:g}"
    else:
        finding, reason = Finding.INCONCLUSIVE, f"{span}: straddles the margins"
    return Comparison(name, "rate", x0 / n0, x1 / n1, (low, high), None, finding, reason)


def _spread(
    name: str,
    kind: Literal["quantile", "mean"],
    estimates: tuple[float | None, float | None],
    intervals: tuple[tuple[float, float] | None, tuple[float, float] | None],
    tolerance: float,
    equivalence: float,
    undefined: str,
) -> Comparison:
    (base, can), (b_ci, c_ci) = estimates, intervals
    if b_ci is None or c_ci is None:
        return Comparison(name, kind, base, can, c_ci, b_ci, Finding.UNDEFINED, undefined)
    span = f"canary [{c_ci[0]:.4g}, {c_ci[1]:.4g}] vs baseline [{b_ci[0]:.4g}, {b_ci[1]:.4g}]"
    if c_ci[0] > b_ci[1] * (1 + tolerance):
        finding, reason = Finding.WORSE, f"{span}: above by more than {tolerance:.0%}"
    elif c_ci[1] <= b_ci[0] * (1 + equivalence):
        finding, reason = Finding.NOT_WORSE, f"{span}: within {equivalence:.0%}"
    else:
        finding, reason = Finding.INCONCLUSIVE, f"{span}: overlapping"
    return Comparison(name, kind, base, can, c_ci, b_ci, finding, reason)


@dataclass(frozen=True)
class CanaryAnalysis:
    """The verdict, every comparison, and what was left out of the family (and why)."""

    verdict: Verdict
    reasons: tuple[str, ...]  # WORSE:<metric>, CRITICAL:<n>, SAMPLE:<arm>, OPEN:<metric> …
    comparisons: tuple[Comparison, ...]
    skipped: tuple[str, ...]  # segments not compared, with why
    baseline: Sample
    canary: Sample
    config: CanaryConfig

    @property
    def family_size(self) -> int:
        """The number of metrics compared (the Bonferroni ``m``)."""
        return len(self.comparisons)

    @property
    def alpha_each(self) -> float:
        """Each comparison's error rate: α / m."""
        return self.config.alpha / self.family_size

    def metrics(self) -> dict[str, int | float]:
        """The EvidenceKind.CANARY metrics (an undefined one is left out, never invented)."""
        c = self.canary
        by = {x.metric: x for x in self.comparisons}
        out: dict[str, int | float] = {
            "canary_requests": c.n,
            "canary_critical_failures": c.critical,
            "canary_worse_than_baseline": sum(x.finding is Finding.WORSE for x in self.comparisons),
            "canary_error_rate": c.errors / c.n,
            "canary_quality_failure_rate": c.quality / c.n,
            "canary_override_rate": c.overrides / c.n,
            "canary_complaint_rate": c.complaints / c.n,
        }
        for metric in ("latency_p95_ms", "latency_p99_ms", "cost_mean"):
            found = by.get(metric)
            if found is not None and found.finding is not Finding.UNDEFINED:
                assert found.canary is not None
                name = "canary_cost_per_request" if metric == "cost_mean" else f"canary_{metric}"
                out[name] = float(found.canary)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the method, the family, both arms and every comparison."""
        return {
            "method": METHOD,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "alpha": self.config.alpha,
            "family_size": self.family_size,
            "alpha_each": self.alpha_each,
            "config": asdict(self.config),
            "baseline": self.baseline.summary(),
            "canary": self.canary.summary(),
            "comparisons": [x.to_dict() for x in self.comparisons],
            "skipped": list(self.skipped),
            "metrics": self.metrics(),
        }


def _segments(baseline: Sample, canary: Sample, c: CanaryConfig) -> tuple[list[str], list[str]]:
    """The segments both arms served ``min_samples`` times, and why the others are left out."""
    kept, skipped = [], []
    for seg in sorted(set(baseline.segments) | set(canary.segments)):
        nb, nc = baseline.segments.get(seg, (0, 0))[0], canary.segments.get(seg, (0, 0))[0]
        if min(nb, nc) >= c.min_samples:
            kept.append(seg)
        else:
            skipped.append(f"segment {seg}: {nb} baseline / {nc} canary requests < {c.min_samples}")
    return kept, skipped


def _latency(name: str, q: float, b: Sample, k: Sample, a: float, c: CanaryConfig) -> Comparison:
    points = (float(np.quantile(b.latencies, q)), float(np.quantile(k.latencies, q)))
    cis = (quantile_interval(b.latencies, q, a / 2), quantile_interval(k.latencies, q, a / 2))
    need = (f"a {q:g} quantile interval at α={a / 2:.2g} needs {quantile_min_n(q, a / 2)} "
            f"requests per arm ({b.n} baseline, {k.n} canary)")  # fmt: skip
    return _spread(name, "quantile", points, cis, c.latency_tolerance, c.latency_equivalence, need)


def _cost(b: FloatArray, k: FloatArray, a: float, c: CanaryConfig) -> Comparison:
    enough = min(len(b), len(k)) >= max(2, c.min_samples)
    points = (float(np.mean(b)) if len(b) else None, float(np.mean(k)) if len(k) else None)
    cis = (mean_interval(b, a / 2), mean_interval(k, a / 2)) if enough else (None, None)
    need = f"{len(b)} baseline / {len(k)} canary costs < {c.min_samples}"
    return _spread("cost_mean", "mean", points, cis, c.cost_tolerance, c.cost_equivalence, need)


def _verdict(
    found: Sequence[Comparison], baseline: Sample, canary: Sample, c: CanaryConfig
) -> tuple[Verdict, tuple[str, ...]]:
    worse = [f"WORSE:{x.metric}" for x in found if x.finding is Finding.WORSE]
    if worse:
        critical = [f"CRITICAL:{canary.critical}"] if canary.critical else []
        return Verdict.FAIL, (*critical, *worse)
    arms = (("baseline", baseline), ("canary", canary))
    open_ = [f"SAMPLE:{arm}:{s.n}<{c.min_samples}" for arm, s in arms if s.n < c.min_samples]
    open_ += [f"OPEN:{x.metric}" for x in found if x.finding is Finding.INCONCLUSIVE]
    open_ += [f"UNDEFINED:{x.metric}" for x in found if x.finding is Finding.UNDEFINED]
    return (Verdict.INCONCLUSIVE if open_ else Verdict.PASS), tuple(open_)


def compare(baseline: Sample, canary: Sample, config: CanaryConfig | None = None) -> CanaryAnalysis:
    """Compare the canary with the baseline over one window (see the module docstring)."""
    c = config or CanaryConfig()
    if baseline.n == 0 or canary.n == 0:
        raise _invalid(f"an empty arm: {baseline.n} baseline and {canary.n} canary requests",
                       baseline=baseline.n, canary=canary.n)  # fmt: skip
    segments, skipped = _segments(baseline, canary, c)
    has_cost = len(baseline.costs) + len(canary.costs) > 0
    a = c.alpha / (len(RATES) + len(segments) + len(QUANTILES) + has_cost)  # Bonferroni α/m
    found = [
        _rate(r, canary.count(r), canary.n, baseline.count(r), baseline.n, a, c) for r in RATES
    ]
    if canary.critical:  # zero tolerance, whatever the interval says
        zero = f"zero tolerance: {canary.critical} critical failure(s) in the canary"
        i = RATES.index("critical_failure_rate")
        found[i] = replace(found[i], finding=Finding.WORSE, reason=zero)
    for seg in segments:
        (nb, eb), (nk, ek) = baseline.segments[seg], canary.segments[seg]
        found.append(_rate(f"segment.{seg}.error_rate", ek, nk, eb, nb, a, c))
    found += [_latency(name, q, baseline, canary, a, c) for name, q in QUANTILES.items()]
    if has_cost:
        found.append(_cost(baseline.costs, canary.costs, a, c))
    verdict, reasons = _verdict(found, baseline, canary, c)
    return CanaryAnalysis(verdict, reasons, tuple(found), tuple(skipped), baseline, canary, c)
