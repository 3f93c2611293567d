"""Whether group means differ: t-intervals, Welch's t-test and the repeats a difference needs.

Each statistic comes twice: for two samples (`t_interval`, `welch_p_value`,
`repeats_to_resolve`), and for every group of a comparison at once from their moments (number
of values, mean, sample variance), which `compare` uses on tables of thousands of groups. The
two give the same numbers; the tests hold them to it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from fitsweep.analysis._common import FloatArray

__all__ = [
    "Moments", "repeats_needed", "repeats_to_resolve", "t_interval", "t_intervals", "welch_p_value", "welch_p_values",
]

Moments = tuple[Any, Any, Any]  # number of values, mean, sample variance: arrays or one group's floats


def t_interval(values: FloatArray, confidence: float = 0.95) -> tuple[float, float]:
    """The t-based confidence interval of the mean: mean +- t(confidence, n - 1) * s / sqrt(n).

    NaN for fewer than two values, where the spread is unknown. Not clipped: `compare` clips
    its intervals to the range its metrics can take.

    Example:
        >>> [round(v, 4) for v in t_interval(np.array([0.8, 0.9, 1.0]))]
        [0.6516, 1.1484]
    """
    from scipy import stats  # a second to import: loaded where a statistic needs it

    values = _finite(np.asarray(values, dtype=float))
    if len(values) < 2:
        return math.nan, math.nan
    mean, sem = float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))
    half = float(stats.t.ppf((1 + confidence) / 2, len(values) - 1)) * sem
    return mean - half, mean + half


def welch_p_value(a: FloatArray, b: FloatArray) -> float:
    """Two-sided p-value of Welch's t-test that `a` and `b` have the same mean.

    t = (mean_a - mean_b) / sqrt(va/na + vb/nb) with sample variances, and Welch-Satterthwaite
    degrees of freedom. NaN when either sample has fewer than two values or both have no spread.

    Example:
        >>> round(welch_p_value(np.array([0.8, 0.9, 1.0]), np.array([0.6, 0.7])), 4)
        0.0494
    """
    from scipy import stats  # a second to import: loaded where a statistic needs it

    a, b = _finite(np.asarray(a, dtype=float)), _finite(np.asarray(b, dtype=float))
    if len(a) < 2 or len(b) < 2:
        return math.nan
    share_a, share_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if share_a + share_b == 0:
        return math.nan  # identical repeats: the test statistic is undefined
    t = (a.mean() - b.mean()) / math.sqrt(share_a + share_b)
    df = (share_a + share_b) ** 2 / (share_a**2 / (len(a) - 1) + share_b**2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), df))


def repeats_to_resolve(a: FloatArray, b: FloatArray, *, alpha: float, power: float, max_repeats: int) -> float:
    """Executions per group that detect the difference of `a`'s and `b`'s means with `power`.

    Cohen's d = |mean_a - mean_b| / pooled standard deviation; the answer is the smallest whole
    number of executions per group at which the two-sample t-test at level `alpha` reaches
    `power` (statsmodels' `TTestIndPower`), at least 2. inf when more than `max_repeats`
    would be needed (or the means are equal); NaN with fewer than two values in either group
    or no spread in both.
    """
    def moments(values: FloatArray) -> Moments:
        return (np.array([len(values)], dtype=np.float64), np.array([values.mean() if len(values) else np.nan]),
                np.array([values.var(ddof=1) if len(values) >= 2 else np.nan]))

    return float(repeats_needed(moments(a), moments(b), alpha=alpha, power=power, max_repeats=max_repeats)[0])


def t_intervals(n: FloatArray, mean: FloatArray, std: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """`t_interval` of every group at once: NaN below two values."""
    from scipy import stats  # a second to import: loaded where a statistic needs it

    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf((1 + confidence) / 2, np.where(n >= 2, n - 1, np.nan)) * (std / np.sqrt(n))
    return mean - half, mean + half


def welch_p_values(a: Moments, b: Moments) -> FloatArray:
    """`welch_p_value` of each group's moments against one group's (NaN where it is undefined)."""
    from scipy import stats  # a second to import: loaded where a statistic needs it

    (n_a, mean_a, var_a), (n_b, mean_b, var_b) = a, b
    with np.errstate(invalid="ignore", divide="ignore"):
        share_a, share_b = var_a / n_a, var_b / n_b
        t = (mean_a - mean_b) / np.sqrt(share_a + share_b)
        df = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
        p = 2 * stats.t.sf(np.abs(t), df)
    # identical repeats leave the test statistic undefined
    defined = (n_a >= 2) & (n_b >= 2) & (share_a + share_b != 0)
    return np.asarray(np.where(defined, p, np.nan), dtype=np.float64)


def repeats_needed(a: Moments, b: Moments, *, alpha: float, power: float, max_repeats: int) -> FloatArray:
    """`repeats_to_resolve` of each group's moments against one group's, every group bisected at once."""
    (n_a, mean_a, var_a), (n_b, mean_b, var_b) = a, b
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.sqrt(((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2))
        effect = np.abs(mean_a - mean_b) / pooled
    needed = np.full(np.shape(n_a), np.nan)
    defined = (n_a >= 2) & (n_b >= 2) & (pooled != 0)
    if not defined.any():
        return needed
    reachable = defined & (effect != 0)
    reachable[reachable] = _power(effect[reachable], np.full(int(reachable.sum()), max_repeats), alpha) >= power
    needed[defined & ~reachable] = math.inf
    # Power grows with n: bisect over whole executions (statsmodels' root finder fails on large effects).
    effect = effect[reachable]
    low, high = np.full(len(effect), 2), np.full(len(effect), max_repeats)
    while (active := low < high).any():
        middle = (low + high) // 2
        enough = _power(effect, middle, alpha) >= power
        high = np.where(active & enough, middle, high)
        low = np.where(active & ~enough, middle + 1, low)
    needed[reachable] = low
    return needed


def _power(effect: FloatArray, n: npt.NDArray[np.int64], alpha: float) -> FloatArray:
    """Power of the two-sided two-sample t-test with `n` per group, for each effect size."""
    from scipy import stats  # a second to import: loaded where a statistic needs it
    from statsmodels.stats.power import TTestIndPower

    if not len(effect):
        return np.zeros(0)
    exact = np.asarray(TTestIndPower().power(effect_size=effect, nobs1=n, alpha=alpha), dtype=np.float64)
    # The noncentral t gives NaN far in its tail, where the normal approximation is exact enough.
    normal = stats.norm.cdf(effect * np.sqrt(n / 2) - stats.norm.ppf(1 - alpha / 2))
    return np.where(np.isfinite(exact), exact, normal)


def _finite(values: FloatArray) -> FloatArray:
    return np.asarray(values[np.isfinite(values)], dtype=np.float64)
