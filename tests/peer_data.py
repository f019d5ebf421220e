"""The peer benchmark's data, generated in the test: reference and current tables, 40 columns.

The same layout and injected problems as the peer harness's ``gen_data.py`` (kept outside this
repository, see ``docs/performance.md``), so the drift and data-check tests run anywhere:

* ``num_00`` … ``num_29``: float64 from 30 different distributions (symmetric, skewed,
  heavy-tailed, bounded, discrete, bimodal, tiny-scale);
* ``cat_0`` … ``cat_9``: strings with 5 … 500 Zipf-distributed categories;
* injected into the current table only (``current=True``), listed in :data:`GROUND_TRUTH`:
  drift in ``num_03`` (+0.5 sd), ``num_11`` (scale ×1.35), ``num_22`` (+0.54 sd), ``cat_2``
  (mix reversed) and ``cat_7`` (mass moved to the tail); 3 % missing values in ``num_05``,
  ``num_15``, ``num_25``, ``cat_1``, ``cat_8``; values outside the declared range in
  ``num_07`` (150 > 100) and ``num_17`` (negative); an unseen category in ``cat_4``.

Deterministic: the same ``(n, seed, current)`` gives the same table. Reference and current use
independent seeds, as fresh samples of the same population would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

GROUND_TRUTH: dict[str, list[str]] = {
    "drift": ["num_03", "num_11", "num_22", "cat_2", "cat_7"],
    "missing": ["num_05", "num_15", "num_25", "cat_1", "cat_8"],
    "out_of_range": ["num_07", "num_17"],
    "unseen_category": ["cat_4"],
}
MISSING_RATE = 0.03
OUT_OF_RANGE_ROWS = 100
UNSEEN_ROWS = 200
CATEGORIES = (5, 8, 12, 20, 35, 50, 100, 200, 300, 500)  # cat_0 … cat_9

Gen = np.random.Generator
Draw = Callable[[Gen, int, bool], Any]


def _bimodal(rng: Gen, n: int) -> Any:
    return np.where(rng.random(n) < 0.4, rng.normal(-2, 0.5, n), rng.normal(3, 1, n))


# One draw per numeric column: (rng, n, current) -> values. Drift only where GROUND_TRUTH says.
NUMERIC: tuple[Draw, ...] = (
    lambda r, n, c: r.normal(0, 1, n),
    lambda r, n, c: r.normal(100, 15, n),
    lambda r, n, c: r.lognormal(0, 1, n),
    lambda r, n, c: r.normal(50 + (5.0 if c else 0.0), 10, n),  # num_03: +0.5 sd
    lambda r, n, c: r.exponential(2, n),
    lambda r, n, c: r.gamma(2, 2, n),
    lambda r, n, c: r.beta(2, 5, n),
    lambda r, n, c: r.uniform(0, 100, n),  # num_07: declared range [0, 100]
    lambda r, n, c: r.standard_t(5, n),
    lambda r, n, c: r.poisson(3, n).astype(np.float64),
    lambda r, n, c: _bimodal(r, n),
    lambda r, n, c: r.lognormal(3, 0.5, n) * (1.35 if c else 1.0),  # num_11: scale
    lambda r, n, c: r.weibull(1.5, n) * 10,
    lambda r, n, c: r.laplace(0, 2, n),
    lambda r, n, c: r.logistic(0, 1, n),
    lambda r, n, c: r.normal(-20, 5, n),
    lambda r, n, c: r.binomial(20, 0.3, n).astype(np.float64),
    lambda r, n, c: r.chisquare(4, n),  # num_17: declared min 0
    lambda r, n, c: r.geometric(0.2, n).astype(np.float64),
    lambda r, n, c: r.pareto(3, n) + 1,
    lambda r, n, c: r.uniform(-1, 1, n),
    lambda r, n, c: r.rayleigh(3, n),
    lambda r, n, c: r.gamma(5, 1, n) + (1.2 if c else 0.0),  # num_22: +0.54 sd
    lambda r, n, c: r.normal(0, 1, n) ** 2,
    lambda r, n, c: r.triangular(0, 2, 10, n),
    lambda r, n, c: r.wald(1, 2, n),
    lambda r, n, c: r.normal(0, 0.01, n),
    lambda r, n, c: r.gumbel(0, 1, n),
    lambda r, n, c: r.negative_binomial(5, 0.5, n).astype(np.float64),
    lambda r, n, c: r.vonmises(0, 4, n),
)


def _categories(rng: Gen, n: int, j: int, k: int, current: bool) -> Any:
    p = 1.0 / np.arange(1, k + 1) ** 1.1
    p /= p.sum()
    if current and j == 2:
        p = p[::-1].copy()  # mix reversed
    if current and j == 7:
        p[100:] *= 8.0  # mass moved to the tail
        p /= p.sum()
    codes = rng.choice(k, size=n, p=p)
    values: Any = np.array([f"cat_{j}_v{v:03d}" for v in range(k)], dtype=object)[codes]
    if current and j == 4:
        values[:UNSEEN_ROWS] = "cat_4_UNSEEN"
    return values


def make_table(n: int, seed: int, current: bool) -> pa.Table:
    """``n`` rows × 40 columns; ``current=True`` adds the problems of :data:`GROUND_TRUTH`."""
    rng = np.random.default_rng(seed)
    missing = set(GROUND_TRUTH["missing"]) if current else set()
    columns: dict[str, pa.Array] = {}
    for i, draw in enumerate(NUMERIC):
        name = f"num_{i:02d}"
        values = np.asarray(draw(rng, n, current), dtype=np.float64)
        if current and name == "num_07":
            values[:OUT_OF_RANGE_ROWS] = 150.0
        if current and name == "num_17":
            values[:OUT_OF_RANGE_ROWS] = -5.0
        mask = rng.random(n) < MISSING_RATE if name in missing else None
        columns[name] = pa.array(values, pa.float64(), mask=mask)
    for j, k in enumerate(CATEGORIES):
        name = f"cat_{j}"
        values = _categories(rng, n, j, k, current)
        mask = rng.random(n) < MISSING_RATE if name in missing else None
        columns[name] = pa.array(values, pa.string(), mask=mask)
    return pa.table(columns)
