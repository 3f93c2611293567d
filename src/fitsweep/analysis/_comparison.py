"""Comparison: which regularizer (or any hyperparameter value) generalises best, and is it significant?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from fitsweep.analysis._common import (
    AnalysisError, FloatArray, as_float, completed, group_columns, require_columns, trial_keys, with_derived_columns,
)

__all__ = ["compare", "t_interval", "welch_p_value"]

_METRICS = ("val_accuracy", "test_accuracy")


def compare(
    trials: pd.DataFrame,
    by: str | Sequence[str] = "regularizer",
    *,
    confidence: float = 0.95,
    baseline: Any = None,
) -> pd.DataFrame:
    """Compare groups of trials by accuracy, generalisation gap and overfitting.

    Each completed execution is one observation (repeats of a trial count separately); failed,
    diverged and running rows are left out. Every group's test accuracy is compared with the
    reference group's by Welch's t-test (unequal variances), which does not assume the groups
    spread alike.

    Args:
        trials: The trials table. To compare several runs, concatenate their trials tables with
            a `run` column naming each (`pd.concat([a.assign(run="a"), b.assign(run="b")])`);
            trials are then told apart by (run, trial_id), and `by=["run", "regularizer"]`
            keeps runs apart. For `overfit_share`, first merge `diagnose`'s verdicts:
            `trials.merge(diagnose(epochs)[["trial_id", "execution", "fit"]], on=["trial_id", "execution"])`.
        by: "regularizer" (the default) labels each row from its l1, l2 and dropout columns:
            "none", "l1", "l2", "dropout", or a combination such as "l1+l2" or "l2+dropout". Any
            hyperparameter column (`depth` and `width` are read from `layers` where used), or a
            list of columns, groups by those values instead.
        confidence: Level of the t-based confidence interval of the mean test accuracy; a
            p-value below 1 - confidence is `significant` (0.05 at the default 0.95).
        baseline: The group every other is tested against (its label, a tuple for several
            `by` columns). By default the group with the highest mean test accuracy.

    Returns:
        One row per group, best mean test accuracy first: the `by` columns, `n_trials`,
        `n_executions`, `val_accuracy_mean`/`_std`, `test_accuracy_mean`/`_std`,
        `test_accuracy_ci_low`/`_high`, `accuracy_gap_mean`/`_std` (train_accuracy -
        val_accuracy, both at the best epoch), `overfit_share` (share of executions diagnosed
        overfit, only when a `fit` column is present), `baseline` (whether this is the reference
        group), `p_value` (Welch, two-sided, NaN for the reference) and `significant`. Standard
        deviations, intervals and p-values need two executions per group and are NaN otherwise.

    Raises:
        AnalysisError: No completed trial, a `by` column the table lacks, or an unknown
            `baseline`.

    Example:
        >>> run = fitsweep.load("results/notmnist")  # doctest: +SKIP
        >>> compare(run.trials)[["regularizer", "test_accuracy_mean", "p_value"]]  # doctest: +SKIP
    """
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must lie between 0 and 1, got {confidence!r}")
    require_columns(trials, ["trial_id", *_METRICS, "train_accuracy"], "trials")
    rows = with_derived_columns(completed(trials))
    if rows.empty:
        raise AnalysisError("compare found no completed trial; wait for the sweep to finish a trial")
    columns = group_columns(rows, by)
    groups = {_label(key): group for key, group in rows.groupby(columns, dropna=False, sort=False)}
    table = pd.DataFrame([_summary(group, confidence) for group in groups.values()])
    table.insert(0, "_label", list(groups))
    for position, column in enumerate(columns):
        table.insert(position, column, [label[position] for label in groups])
    return _test_against_baseline(table, groups, baseline, columns, confidence)


def _label(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _summary(group: pd.DataFrame, confidence: float) -> dict[str, Any]:
    test = _finite(as_float(group["test_accuracy"]))
    gap = as_float(group["train_accuracy"]) - as_float(group["val_accuracy"])
    low, high = t_interval(test, confidence)
    summary: dict[str, Any] = {
        "n_trials": len(group.drop_duplicates(trial_keys(group))),
        "n_executions": len(group),
        **_mean_std("val_accuracy", as_float(group["val_accuracy"])),
        **_mean_std("test_accuracy", test),
        "test_accuracy_ci_low": low,
        "test_accuracy_ci_high": high,
        **_mean_std("accuracy_gap", gap),
    }
    if "fit" in group.columns:
        fits = group["fit"].dropna().astype(str)
        summary["overfit_share"] = float((fits == "overfit").mean()) if len(fits) else math.nan
    return summary


def _finite(values: FloatArray) -> FloatArray:
    return np.asarray(values[np.isfinite(values)], dtype=np.float64)


def _mean_std(name: str, values: FloatArray) -> dict[str, float]:
    values = _finite(values)
    mean = float(values.mean()) if len(values) else math.nan
    std = float(values.std(ddof=1)) if len(values) >= 2 else math.nan  # sample std: one value has none
    return {f"{name}_mean": mean, f"{name}_std": std}


def _test_against_baseline(
    table: pd.DataFrame, groups: dict[tuple[Any, ...], pd.DataFrame], baseline: Any, columns: list[str],
    confidence: float,
) -> pd.DataFrame:
    reference = _reference(table, baseline, columns)
    reference_values = _finite(as_float(groups[reference]["test_accuracy"]))
    table["baseline"] = [label == reference for label in table["_label"]]
    table["p_value"] = [
        math.nan if label == reference else welch_p_value(_finite(as_float(groups[label]["test_accuracy"])),
                                                          reference_values)
        for label in table["_label"]
    ]
    table["significant"] = (table["p_value"] < 1 - confidence).fillna(False).astype(bool)
    table = table.sort_values("test_accuracy_mean", ascending=False, na_position="last", kind="stable")
    return table.drop(columns="_label").reset_index(drop=True)


def _reference(table: pd.DataFrame, baseline: Any, columns: list[str]) -> tuple[Any, ...]:
    labels: list[tuple[Any, ...]] = list(table["_label"])
    if baseline is None:
        means = as_float(table["test_accuracy_mean"])
        return labels[0] if np.isnan(means).all() else labels[int(np.nanargmax(means))]
    wanted = _label(baseline)
    # Compare as text: a label read from parquet may be 0.5 where the caller wrote "0.5", or the reverse.
    matches = [label for label in labels if tuple(map(str, label)) == tuple(map(str, wanted))]
    if not matches:
        known = ", ".join(repr(label[0] if len(label) == 1 else label) for label in labels)
        raise AnalysisError(f"baseline {baseline!r} is not a group of {', '.join(columns)}; the groups are {known}")
    return matches[0]


def t_interval(values: FloatArray, confidence: float = 0.95) -> tuple[float, float]:
    """The t-based confidence interval of the mean: mean +- t(confidence, n - 1) * s / sqrt(n).

    NaN for fewer than two values, where the spread is unknown.

    Example:
        >>> [round(v, 4) for v in t_interval(np.array([0.8, 0.9, 1.0]))]
        [0.6516, 1.1484]
    """
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
    a, b = _finite(np.asarray(a, dtype=float)), _finite(np.asarray(b, dtype=float))
    if len(a) < 2 or len(b) < 2:
        return math.nan
    share_a, share_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if share_a + share_b == 0:
        return math.nan  # identical repeats: the test statistic is undefined
    t = (a.mean() - b.mean()) / math.sqrt(share_a + share_b)
    df = (share_a + share_b) ** 2 / (share_a**2 / (len(a) - 1) + share_b**2 / (len(b) - 1))
    return float(2 * stats.t.sf(abs(t), df))
