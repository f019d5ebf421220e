"""Mutable accumulators of the Arrow engine: what one worker learns from its batches.

The domain :class:`~airel.domain.data.profile.Profile` is the mergeable value that is stored and
compared; these accumulators are its fast, mutable working form inside one engine run. Each
worker thread owns one set and folds every batch it profiles into it, then the workers' sets are
merged and converted to a Profile once. Keeping the working form here, rather than building a
Profile per batch, keeps sketch buckets in dense numpy arrays (merged by one vector addition,
not a dict update per bucket) and lets category columns carry a HyperLogLog sketch, whose union
is what makes a distinct-count estimate mergeable across workers.

Sketch buckets are exactly :func:`~airel.domain.data.profile.bucket_index` of each value: the
vectorised ``ceil(log|v| / LOG_GAMMA)`` is recomputed with the scalar formula for the rare values
whose ratio lies within ``EDGE_EPS`` of an integer, where a last-ulp difference between numpy's
SIMD ``log`` and the C library's could otherwise move a value across a bucket edge.

Categories are exact until a column has seen more than ``SPILL_CATEGORIES`` distinct values.
Only then is an HLL sketch (``datasketches.hll_sketch``, lg_k ``HLL_LG_K``: relative standard
error ~0.4 %) started — seeded with every value counted so far, which are all distinct values
seen until then — and the counts cut to the ``MAX_CATEGORIES`` most frequent. Columns with up to
``SPILL_CATEGORIES`` distinct values therefore get exactly the profile a single global
``GROUP BY`` would give (``CategorySummary.truncate`` of the exact counts, with an exact
distinct count), whatever the batching; beyond that the top values are approximate, as in any
bounded-memory top-k.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from datasketches import hll_sketch, hll_union, tgt_hll_type

from airel.domain.data.profile import (
    LOG_GAMMA,
    MAX_CATEGORIES,
    MIN_MAGNITUDE,
    CategorySummary,
    LabelStats,
    NumericSummary,
    bucket_index,
)

# Sketch bucket ``k`` is stored at code ``k - KLO``: every finite |v| >= MIN_MAGNITUDE
# has 0 <= code < SPAN. Negative values use codes SPAN..2*SPAN-1, |v| < MIN_MAGNITUDE code 2*SPAN.
KLO = math.floor(math.log(MIN_MAGNITUDE) / LOG_GAMMA) - 1
SPAN = math.ceil(math.log(sys.float_info.max) / LOG_GAMMA) - KLO + 2
ZERO_CODE = 2 * SPAN
SPILL_CATEGORIES = 10 * MAX_CATEGORIES  # exact category counts up to this many distinct values
HLL_LG_K = 16  # 2**16 registers: relative standard error 1.04 / 256 ~ 0.4 %
EDGE_EPS = 1e-9  # |r - round(r)| below this: recompute the bucket with the scalar formula


class Window:
    """Dense counts over a growing window of sketch codes."""

    __slots__ = ("arr", "base")

    def __init__(self) -> None:
        self.base = 0
        self.arr: np.ndarray | None = None

    def add(self, counts: np.ndarray, offset: int) -> None:
        """Add ``counts[i]`` to code ``offset + i`` (only the non-zero span is kept)."""
        nz = np.flatnonzero(counts)
        if not len(nz):
            return
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        self._add_span(counts[lo:hi], offset + lo)

    def _add_span(self, span: np.ndarray, start: int) -> None:
        end = start + len(span)
        if self.arr is None:
            self.arr = span.astype(np.int64, copy=True)
            self.base = start
            return
        cur_end = self.base + len(self.arr)
        if start < self.base or end > cur_end:
            new_base = min(start, self.base)
            grown = np.zeros(max(end, cur_end) - new_base, dtype=np.int64)
            grown[self.base - new_base : cur_end - new_base] = self.arr
            self.arr, self.base = grown, new_base
        self.arr[start - self.base : end - self.base] += span

    def merge(self, other: Window) -> None:
        """Add another window's counts."""
        if other.arr is not None:
            self._add_span(other.arr, other.base)

    def buckets(self, code_offset: int) -> dict[int, int]:
        """{bucket index: count} of the non-empty codes (bucket = code + code_offset)."""
        if self.arr is None:
            return {}
        nz = np.flatnonzero(self.arr)
        keys = (nz + (self.base + code_offset)).tolist()
        return dict(zip(keys, self.arr[nz].tolist(), strict=True))


class Scratch:
    """One worker's reusable buffers: kernels write into these instead of allocating per batch.

    Fresh multi-megabyte temporaries per column per batch cost a page fault per 4 KiB page
    (the allocator hands large blocks back to the OS on free), which measured as much system
    time as the arithmetic itself.
    """

    __slots__ = ("_b1", "_b2", "_b3", "_cap", "_f", "_g", "_i")

    def __init__(self) -> None:
        self._cap = 0
        self._grow(0)

    def _grow(self, n: int) -> None:
        self._cap = n
        self._f = np.empty(n, dtype=np.float64)
        self._g = np.empty(n, dtype=np.float64)
        self._i = np.empty(n, dtype=np.int64)
        self._b1 = np.empty(n, dtype=np.bool_)
        self._b2 = np.empty(n, dtype=np.bool_)
        self._b3 = np.empty(n, dtype=np.bool_)

    def numeric(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Two float64, one int64 and two bool buffers of length ``n`` (sketch work)."""
        if n > self._cap:
            self._grow(n)
        return self._f[:n], self._g[:n], self._i[:n], self._b1[:n], self._b2[:n]

    def mask(self, n: int) -> np.ndarray:
        """A bool buffer of length ``n`` distinct from the ``numeric`` ones."""
        if n > self._cap:
            self._grow(n)
        return self._b3[:n]


class NumAcc:
    """Exact count/min/max/mean/M2 (Chan merge) plus log-bucket sketch of finite values."""

    __slots__ = ("m2", "max", "mean", "min", "n", "neg", "pos", "zero")

    def __init__(self) -> None:
        self.n = 0
        self.min = math.inf
        self.max = -math.inf
        self.mean = 0.0
        self.m2 = 0.0
        self.zero = 0
        self.pos = Window()
        self.neg = Window()

    def add(self, x: np.ndarray, scratch: Scratch) -> None:
        """Fold finite float64 values in (vectorised into reused buffers; ``x`` is read only).

        No BLAS (``@``/``np.dot``): OpenBLAS would start its own spinning threads per call.
        """
        n = len(x)
        if n == 0:
            return
        f, g, codes, small, flags = scratch.numeric(n)
        mean = float(x.mean())
        mn, mx = float(x.min()), float(x.max())
        np.subtract(x, mean, out=f)
        np.square(f, out=f)
        self._merge_moments(n, mn, mx, mean, float(f.sum()))
        np.abs(x, out=f)
        n_small = 0
        if mn < MIN_MAGNITUDE and mx > -MIN_MAGNITUDE:  # else no |v| < MIN_MAGNITUDE
            np.less(f, MIN_MAGNITUDE, out=small)
            n_small = int(np.count_nonzero(small))
            if n_small:
                np.copyto(f, 1.0, where=small)
        np.log(f, out=f)
        np.divide(f, LOG_GAMMA, out=f)  # r = log|v| / log(gamma); the bucket is ceil(r)
        np.ceil(f, out=g)
        np.subtract(g, f, out=f)  # ceil(r) - r in [0, 1): near 0 or 1 = near a bucket edge
        np.subtract(f, 0.5, out=f)
        np.abs(f, out=f)
        np.greater(f, 0.5 - EDGE_EPS, out=flags)
        if n_small:
            np.logical_and(flags, ~small, out=flags)
        np.subtract(g, KLO, out=g)
        np.copyto(codes, g, casting="unsafe")
        edge = np.flatnonzero(flags)
        if len(edge):  # numpy's SIMD log may differ from libm in the last ulp: use the scalar
            edge = edge[np.abs(x[edge]) != 1.0]  # formula (|v| = 1 is exactly bucket 0 anyway)
            codes[edge] = [bucket_index(v) - KLO for v in x[edge].tolist()]
        if mn < 0:
            np.less(x, 0, out=flags)
            np.add(codes, SPAN, out=codes, where=flags)
        if n_small:
            np.copyto(codes, ZERO_CODE, where=small)
        counts = np.bincount(codes)
        self.pos.add(counts[:SPAN], 0)
        if len(counts) > SPAN:
            self.neg.add(counts[SPAN:ZERO_CODE], 0)
        if len(counts) > ZERO_CODE:
            self.zero += int(counts[ZERO_CODE])

    def _merge_moments(self, n: int, mn: float, mx: float, mean: float, m2: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.min = min(self.min, mn)
        self.max = max(self.max, mx)

    def merge(self, o: NumAcc) -> None:
        """Fold another accumulator in."""
        if o.n == 0:
            return
        self._merge_moments(o.n, o.min, o.max, o.mean, o.m2)
        self.zero += o.zero
        self.pos.merge(o.pos)
        self.neg.merge(o.neg)

    def summary(self) -> NumericSummary:
        """The domain summary."""
        if self.n == 0:
            return NumericSummary()
        return NumericSummary(
            n=self.n,
            min=self.min,
            max=self.max,
            mean=self.mean,
            m2=self.m2,
            zero=self.zero,
            pos=self.pos.buckets(KLO),
            neg=self.neg.buckets(KLO),
        )


def _new_hll() -> hll_sketch:
    return hll_sketch(HLL_LG_K, tgt_hll_type.HLL_8)


class CatAcc:
    """Category counts, optional label counts per category, and an HLL once counts spill."""

    __slots__ = ("counts", "hll", "lbc", "other")

    def __init__(self, with_label: bool) -> None:
        self.counts: dict[str, int] = {}
        self.other = 0
        self.hll: hll_sketch | None = None
        self.lbc: dict[str, list[int]] | None = {} if with_label else None

    def add(self, keys: list[str], counts: list[int]) -> None:
        """Add counts of distinct keys (one call per batch: per distinct value, not per row)."""
        d = self.counts
        for k, c in zip(keys, counts, strict=True):
            d[k] = d.get(k, 0) + c
        if self.hll is not None:
            for k in keys:
                self.hll.update(k)
        if len(d) > SPILL_CATEGORIES:
            self._spill()

    def add_label(self, keys: list[str], rows: list[int], positives: list[int]) -> None:
        """Add [rows, positives] per category (rows with a non-null label)."""
        if self.lbc is None:
            return
        lbc = self.lbc
        for k, r, p in zip(keys, rows, positives, strict=True):
            acc = lbc.get(k)
            if acc is None:
                lbc[k] = [r, p]
            else:
                acc[0] += r
                acc[1] += p

    def _spill(self) -> None:
        """Start the HLL (seeded with every key seen so far) and keep the top MAX_CATEGORIES."""
        if self.hll is None:
            self.hll = _new_hll()
            for k in self.counts:
                self.hll.update(k)
        ordered = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        self.counts = dict(ordered[:MAX_CATEGORIES])
        self.other += sum(v for _, v in ordered[MAX_CATEGORIES:])
        if self.lbc is not None:
            self.lbc = {k: v for k, v in self.lbc.items() if k in self.counts}

    def merge(self, o: CatAcc) -> None:
        """Fold another accumulator in (HLL sketches are united, exact sides seeded)."""
        if self.hll is not None or o.hll is not None:
            union = hll_union(HLL_LG_K)
            for side in (self, o):
                if side.hll is None:
                    sketch = _new_hll()
                    for k in side.counts:
                        sketch.update(k)
                    union.update(sketch)
                else:
                    union.update(side.hll)
            self.hll = union.get_result(tgt_hll_type.HLL_8)
        for k, v in o.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        self.other += o.other
        if o.lbc is not None:
            self.add_label(
                list(o.lbc), [v[0] for v in o.lbc.values()], [v[1] for v in o.lbc.values()]
            )
        if len(self.counts) > SPILL_CATEGORIES:
            self._spill()

    def summary(self) -> tuple[CategorySummary, dict[str, list[int]] | None]:
        """The domain summary (truncated past MAX_CATEGORIES) and label counts of kept keys."""
        spilled = self.hll is not None
        if spilled or len(self.counts) > MAX_CATEGORIES:
            estimate = round(self.hll.get_estimate()) if self.hll is not None else len(self.counts)
            summary = CategorySummary(dict(self.counts), self.other, True, estimate)
            if len(self.counts) > MAX_CATEGORIES:
                summary = summary.truncate()
        else:
            summary = CategorySummary(dict(self.counts))
        lbc = None
        if self.lbc is not None:
            kept = summary.counts
            lbc = {k: list(v) for k, v in self.lbc.items() if k in kept}
        return summary, lbc


class LabelAcc:
    """Co-moment sums of a numeric feature with the 0/1 label."""

    __slots__ = ("sums",)

    def __init__(self) -> None:
        self.sums = [0, 0.0, 0.0, 0.0, 0.0, 0.0]  # n, sx, sy, sxx, syy, sxy

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        """Add rows where the feature is finite and the label non-null."""
        s = self.sums
        s[0] += len(x)
        s[1] += float(x.sum())
        s[2] += float(y.sum())
        s[3] += float(np.square(x).sum())
        s[4] += float(np.square(y).sum())
        s[5] += float(np.multiply(x, y).sum())

    def merge(self, o: LabelAcc) -> None:
        """Sums add."""
        self.sums = [a + b for a, b in zip(self.sums, o.sums, strict=True)]

    def summary(self) -> LabelStats:
        """The domain stats."""
        s = self.sums
        return LabelStats(int(s[0]), s[1], s[2], s[3], s[4], s[5])
