"""How noisy a measured error rate or cross-entropy is, given the rows it was measured on.

The verdicts call a difference "clear" only beyond these bounds: an error rate measured on n
rows has the binomial standard error sqrt(p (1 - p) / n); a mean cross-entropy has its
per-sample standard deviation over sqrt(n). Training metrics measured on every training row are
exact (the finite-population correction makes their error 0); on a sample of them they are not.
"""

from __future__ import annotations

import math
from functools import lru_cache

from scipy import special  # the quantile functions scipy.stats calls, without its second of import

__all__ = ["binomial_se", "mean_se", "finite_population", "one_sided_z", "best_of_z", "student_t"]


def binomial_se(rate: float, rows: float) -> float:
    """Standard error of an error rate measured on `rows` rows (0 when the rows are unknown)."""
    if not (math.isfinite(rate) and math.isfinite(rows) and rows > 0):
        return 0.0
    p = min(max(rate, 0.0), 1.0)
    return math.sqrt(p * (1 - p) / rows)


def mean_se(sd: float, rows: float) -> float:
    """Standard error of a mean over `rows` rows with per-row standard deviation `sd` (0 when unknown)."""
    if not (math.isfinite(sd) and math.isfinite(rows) and rows > 0):
        return 0.0
    return sd / math.sqrt(rows)


def finite_population(sample: float, population: float) -> float:
    """The factor that shrinks a sample's standard error when it is a share of a finite population.

    It is 0 when the sample is the whole population (the training rows all measured) and 1 when
    the population is unknown.
    """
    if not (math.isfinite(sample) and math.isfinite(population)) or population <= 1:
        return 1.0
    return math.sqrt(max(population - sample, 0.0) / (population - 1))


@lru_cache(maxsize=64)  # diagnose asks for the same few quantiles once per execution
def one_sided_z(confidence: float) -> float:
    """The normal quantile that a difference must exceed, in standard errors, at `confidence`."""
    return float(special.ndtri(confidence))


@lru_cache(maxsize=64)
def best_of_z(confidence: float, candidates: int) -> float:
    """The same quantile when the reference is the best of `candidates` noisy estimates.

    The best validation error of a sweep is biased low (it is the minimum of many noisy
    estimates); by Bonferroni's bound, a configuration whose true error equals an execution's
    training error reaches a measured error more than z standard errors below it with
    probability at most 1 - confidence, for z = Phi^-1(1 - (1 - confidence) / candidates).
    """
    return float(special.ndtri(1 - (1 - confidence) / max(candidates, 1)))


@lru_cache(maxsize=64)
def student_t(probability: float, degrees_of_freedom: int) -> float:
    """Student's t quantile: the normal quantile's counterpart for a spread estimated from few values."""
    return float(special.stdtrit(max(degrees_of_freedom, 1), probability))
