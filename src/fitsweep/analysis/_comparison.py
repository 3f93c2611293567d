"""Comparison: which configuration (or any grouping of trials) generalises best, and by how much?"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.analysis._common import (
    AnalysisError,
    FloatArray,
    as_float,
    completed,
    group_columns,
    require_columns,
    trial_keys,
    with_derived_columns,
)
from fitsweep.analysis._compared_metric import ComparedMetric, compared_metric, other_metrics
from fitsweep.analysis._comparison_findings import group_note
from fitsweep.analysis._significance import repeats_needed, t_intervals, welch_p_values
from fitsweep.results.columns import (
    HYPERPARAMETERS,
    NO_REGULARIZATION,
    REGULARIZER_KIND_COLUMN,
    REGULARIZERS,
    REGULARIZERS_COLUMN,
    encode_regularizers,
    table_hyperparameters,
)
from fitsweep.vocabulary import Verdict

__all__ = ["compare", "configuration_columns", "groupable_columns"]

_LABEL_COLUMNS = ("run", REGULARIZER_KIND_COLUMN, REGULARIZERS_COLUMN)  # groupable besides hyperparameters
_NO_REGULARIZATION = "no regularization"  # a configuration's label reads better than "none"
_ONE_CONFIGURATION = "one configuration"
IntArray = npt.NDArray[np.int64]
_PAIRWISE = 8  # numpy sums 8 values or more pairwise, fewer one after the other


def compare(
    trials: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    power: float = 0.8,
    max_repeats: int = 100,
    baseline: Any = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """Compare groups of executions by a test metric, with Holm-corrected tests against the best.

    By default each exact configuration is a group: every hyperparameter that varies in the
    table takes part, so l1 = 1e-5 and l1 = 1e-3 are different groups (and so are two runs,
    which may train on different data). Each completed execution is one observation; failed,
    diverged and running rows are left out. Every group's test metric (accuracy; a regression's
    MSE) is tested against the reference group's by Welch's t-test (unequal variances), and the p-values are adjusted by
    Holm's step-down method across those tests, so that "clearly worse" holds for the whole
    table at the 1 - confidence level, not for each group by chance.

    Where a difference is within noise, a power analysis (two-sample t-test, effect size the
    difference over the pooled standard deviation of the two groups) says how many executions
    per group would detect a difference of that size with probability `power`, at the level
    (1 - confidence) / number of tests, the strictest step of Holm's method (so the estimate
    is on the safe side).

    Args:
        trials: The trials table. To compare several runs, concatenate their trials tables with
            a `run` column naming each (`pd.concat([a.assign(run="a"), b.assign(run="b")])`).
            For `overfit_share`, first merge `diagnose`'s verdicts:
            `trials.merge(diagnose(epochs)[["trial_id", "execution", "fit"]], on=["trial_id", "execution"])`.
        by: None (the default) groups by exact configuration (`configuration_columns`). A column
            name or a list of them groups by those values instead: any hyperparameter column
            (`depth` and `width` are read from `layers` where used), `run`, "regularizers" (the
            combination, strengths included) or "regularizer_kind" ("none", "l1", "l2+dropout";
            "regularizer" is accepted for it).
        confidence: Level of the t-intervals; a Holm-adjusted p-value below 1 - confidence is
            `significant` (0.05 at the default 0.95, the usual level).
        power: The chance of detecting a difference that the repeats estimate aims for; 0.8 is
            the conventional target in experiment planning (Cohen).
        max_repeats: Above this many executions per group a difference is called hopeless to
            resolve by repeating (`repeats_needed` is inf); 100 repeats of one configuration is
            more than any sweep budget spends on one question.
        baseline: The group every other is tested against: its `group` label ("l1=1e-05"), or its
            value (a tuple for several `by` columns). By default the best mean of the metric.
        metric: The test metric groups are ranked and tested by: "accuracy" for a classification;
            "mse" (the default), "r2" or "mae" for a regression. Accuracy and R² are better
            higher, MSE and MAE lower; the best group, the order and "better" follow that.

    Returns:
        One row per group, best mean first (`attrs["metric"]` names the metric, say M): the grouping
        columns, `group` (a readable label such as "layers=600-400-200, dropout=0.2"), `n_trials`,
        `n_executions`; for `test_M`, `val_M` and `M_gap` (how far training beats validation at the
        best epoch: train - val for accuracy and R², val - train for MSE and MAE) the `_mean`,
        `_std`, `_ci_low` and `_ci_high`, and the same for the task's other test metrics (a
        regression's `test_r2` and `test_mae` beside `test_mse`); `overfit_share`
        (share of executions diagnosed overfit, only with a `fit` column); `baseline`;
        `difference` (mean test M minus the baseline's); `p_value` (Welch, two-sided)
        and `p_holm` (Holm-adjusted), NaN for the baseline; `significant` (p_holm below
        1 - confidence); `repeats_needed` (executions per group to resolve `difference` at
        `power`; inf beyond `max_repeats`, NaN where it cannot be estimated); and `note`, the
        verdict in plain words. Intervals are t-intervals of the mean clipped to the possible
        range (accuracies to [0, 1], the gap to [-1, 1], MSE and MAE to positive values, R² to
        at most 1): with few executions near 1 the raw interval would claim accuracies above 1.
        Spreads, intervals and tests need two executions per group and are NaN otherwise.

    Raises:
        AnalysisError: No completed trial, none with a test value, a `by` column the table lacks, a `confidence` or
            `power` outside (0, 1), a metric of the other task, or an unknown `baseline`.

    Example:
        >>> run = fitsweep.load("results/notmnist-regularizers")  # doctest: +SKIP
        >>> compare(run.trials)[["group", "test_accuracy_mean", "p_holm", "note"]]  # doctest: +SKIP
    """
    for name, value in (("confidence", confidence), ("power", power)):
        if not 0 < value < 1:
            raise AnalysisError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    chosen = compared_metric(trials, metric)
    require_columns(trials, ["trial_id", *(f"{split}_{chosen.name}" for split in ("val", "test", "train"))], "trials")
    rows = completed(trials)
    if rows.empty:
        raise AnalysisError("compare found no completed trial; wait for the sweep to finish a trial")
    if np.isnan(as_float(rows[chosen.test])).all():
        raise AnalysisError(f"compare found no test {chosen.label}: no completed execution was evaluated on a test "
                            "split (a search imported from KerasTuner has none)")
    columns = configuration_columns(rows) if by is None else group_columns(with_derived_columns(rows), by)
    groups = _groups(with_derived_columns(rows), columns, exact=by is None)
    table = _summaries(groups, confidence, chosen, other_metrics(chosen, rows))
    keys = groups.keys
    for position, column in enumerate(columns):
        table.insert(position, column, [key[position] for key in keys])
    table.insert(len(columns), "group", [_readable(key, columns, exact=by is None) for key in keys])
    reference = _reference(table, keys, baseline, columns, chosen)
    test_values = groups.moments(as_float(groups.rows[chosen.test]))
    table = _test_against(table, test_values, reference, confidence, chosen)
    table = _with_repeats(table, test_values, reference, confidence, power, max_repeats)
    reference_executions = int(table["n_executions"].iloc[reference])
    table["note"] = [group_note(row, reference_executions, baseline is None, power, max_repeats, chosen)
                     for row in table.to_dict("records")]
    ranked: pd.DataFrame = table.sort_values(f"{chosen.test}_mean", ascending=not chosen.higher_is_better,
                                             na_position="last", kind="stable").reset_index(drop=True)
    # For comparison_findings, the figure and the report.
    ranked.attrs.update(confidence=confidence, power=power, max_repeats=max_repeats, metric=chosen.name)
    return ranked


def configuration_columns(trials: pd.DataFrame) -> list[str]:
    """The columns that tell configurations apart: every hyperparameter that varies, and `run`.

    `run` takes part when several runs were concatenated, since two runs may train the same
    hyperparameters on different data.

    Example:
        >>> configuration_columns(fitsweep.load("results/notmnist-regularizers").trials)  # doctest: +SKIP
        ['dropout', 'l1', 'l2']
    """
    candidates = ["run", *table_hyperparameters(trials.columns, HYPERPARAMETERS)]  # a search's own names too
    return [name for name in candidates if name in trials.columns and _varies(_settings(trials[name]))]


def _settings(values: pd.Series) -> pd.Series:
    # A missing regularizer is one not used: l1 = NaN and l1 = 0 are the same configuration.
    return values.fillna(0.0) if values.name in REGULARIZERS else values


def groupable_columns(trials: pd.DataFrame) -> list[str]:
    """The columns `compare(trials, by=...)` can group by: hyperparameters, regularization labels, `run`.

    Example:
        >>> groupable_columns(fitsweep.load("results/notmnist-capacity").trials)  # doctest: +SKIP
        ['regularizer_kind', 'regularizers', 'depth', 'width', 'layers', 'activation', 'dropout', ...]
    """
    frame = with_derived_columns(trials.iloc[:0])
    names = (*_LABEL_COLUMNS, *table_hyperparameters(frame.columns, HYPERPARAMETERS))
    return [name for name in dict.fromkeys(names) if name in frame.columns]


def _varies(values: pd.Series) -> bool:
    return values.astype("string").nunique(dropna=False) > 1


class _Groups:
    """The executions of each group as arrays: every statistic of `compare` is one pass over them.

    A table of 10,000 configurations has 10,000 groups; one DataFrame per group, and one call of
    scipy per group and statistic, took minutes where these array reductions take milliseconds.
    """

    def __init__(self, rows: pd.DataFrame, ids: IntArray, keys: list[tuple[Any, ...]]) -> None:
        self.rows, self.ids, self.keys = rows, ids, keys

    def __len__(self) -> int:
        return len(self.keys)

    def count(self, mask: npt.NDArray[np.bool_]) -> FloatArray:
        return np.bincount(self.ids[mask], minlength=len(self)).astype(np.float64)

    def moments(self, values: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per group: the number of finite values, their mean and sample variance (NaN below 1 and 2 values)."""
        finite = np.isfinite(values)
        ids, kept = self.ids[finite], values[finite]
        n = self.count(finite)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(ids, kept, len(self)) / n
            variance = np.bincount(ids, (kept - mean[ids]) ** 2, len(self)) / (n - 1)
        # bincount adds in row order, as numpy's own sum does below 8 values; above, numpy sums pairwise, and
        # those groups (few: a group of 8 executions or more) are summed as numpy does, so every figure is the
        # one a per-group computation gives, to the last bit.
        large = np.flatnonzero(n >= _PAIRWISE)
        if large.size:
            order = np.argsort(ids, kind="stable")
            starts = np.searchsorted(ids[order], large)
            for group, start in zip(large, starts, strict=True):
                values = kept[order[start:start + int(n[group])]]
                mean[group], variance[group] = values.mean(), values.var(ddof=1)
        return n, np.where(n >= 1, mean, np.nan), np.where(n >= 2, variance, np.nan)


def _groups(rows: pd.DataFrame, columns: list[str], *, exact: bool) -> _Groups:
    if not columns:  # nothing varies: the whole table is one configuration
        return _Groups(rows, np.zeros(len(rows), dtype=np.int64), [()])
    if exact:
        rows = rows.assign(**{name: _settings(rows[name]) for name in columns})
    grouped = rows.groupby(columns, dropna=False, sort=True)
    keys = [key if isinstance(key, tuple) else (key,) for key in grouped.size().index]
    return _Groups(rows, np.asarray(grouped.ngroup().to_numpy(), dtype=np.int64), keys)


def _readable(key: tuple[Any, ...], columns: list[str], *, exact: bool) -> str:
    """"l1=1e-05" or "layers=600-400-200, dropout=0.2"; a configuration's regularizers as one combination."""
    if not columns:
        return _ONE_CONFIGURATION
    settings = dict(zip(columns, key, strict=True))
    if not exact:
        return ", ".join(f"{name}={_value_text(value)}" for name, value in settings.items())
    parts = [f"{name}={_value_text(value)}" for name, value in settings.items() if name not in REGULARIZERS]
    strengths = {name: float(settings[name]) for name in REGULARIZERS if name in settings}
    if strengths:
        combination = encode_regularizers(strengths)
        parts.append(_NO_REGULARIZATION if combination == NO_REGULARIZATION else combination)
    return ", ".join(parts)


def _value_text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def _summaries(groups: _Groups, confidence: float, metric: ComparedMetric, others: list[ComparedMetric]
               ) -> pd.DataFrame:
    rows = groups.rows
    train, val = as_float(rows[f"train_{metric.name}"]), as_float(rows[f"val_{metric.name}"])
    trials = pd.DataFrame({"group": groups.ids, **{key: rows[key].to_numpy() for key in trial_keys(rows)}})
    summary: dict[str, Any] = {
        "n_trials": np.bincount(trials.drop_duplicates()["group"].to_numpy(), minlength=len(groups)),
        "n_executions": np.bincount(groups.ids, minlength=len(groups)),
        **_described(metric.test, groups, as_float(rows[metric.test]), confidence, metric.bounds),
        **_described(f"val_{metric.name}", groups, val, confidence, metric.bounds),
        **_described(metric.gap, groups, metric.gap_values(train, val), confidence, metric.gap_bounds),
    }
    for other in others:
        if other.test in rows.columns:
            summary.update(_described(other.test, groups, as_float(rows[other.test]), confidence, other.bounds))
    if "fit" in rows.columns:
        known = rows["fit"].notna().to_numpy()
        overfit = known & rows["fit"].astype(str).eq(Verdict.OVERFIT).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            summary["overfit_share"] = groups.count(overfit) / groups.count(known)
    return pd.DataFrame(summary)


def _described(name: str, groups: _Groups, values: FloatArray, confidence: float,
               bounds: tuple[float, float]) -> dict[str, FloatArray]:
    n, mean, variance = groups.moments(values)
    std = np.sqrt(variance)  # sample std: one value has none
    low, high = t_intervals(n, mean, std, confidence)
    return {f"{name}_mean": mean, f"{name}_std": std,
            f"{name}_ci_low": np.clip(low, *bounds), f"{name}_ci_high": np.clip(high, *bounds)}


def _reference(table: pd.DataFrame, keys: list[tuple[Any, ...]], baseline: Any, columns: list[str],
               metric: ComparedMetric) -> int:
    """The position of the baseline group in `keys`."""
    if baseline is None:
        return metric.best_position(as_float(table[f"{metric.test}_mean"]))
    wanted = tuple(map(str, baseline if isinstance(baseline, tuple) else (baseline,)))
    # Compare as text: a value read from parquet may be 0.5 where the caller wrote "0.5", or the reverse.
    for position, (key, label) in enumerate(zip(keys, table["group"], strict=True)):
        if tuple(map(str, key)) == wanted or (label,) == wanted:
            return position
    known = ", ".join(repr(label) for label in table["group"])
    grouping = ", ".join(columns) or "configuration"
    raise AnalysisError(f"baseline {baseline!r} is not a group of {grouping}; the groups are {known}")


_Moments = tuple[FloatArray, FloatArray, FloatArray]  # per group: count, mean, variance of the test metric


def _test_against(table: pd.DataFrame, test_values: _Moments, reference: int, confidence: float,
                  metric: ComparedMetric) -> pd.DataFrame:
    from statsmodels.stats.multitest import multipletests  # statsmodels takes a while to import

    n, mean, variance = test_values
    raw = welch_p_values((n, mean, variance), (n[reference], mean[reference], variance[reference]))
    raw[reference] = math.nan
    adjusted = np.full(len(table), math.nan)
    tested = np.isfinite(raw)
    if tested.any():
        adjusted[tested] = _holm(multipletests, raw[tested], 1 - confidence)
    means = as_float(table[f"{metric.test}_mean"])
    table["baseline"] = [position == reference for position in range(len(table))]
    table["difference"] = means - means[reference]
    table["p_value"] = raw
    table["p_holm"] = adjusted
    table["significant"] = np.nan_to_num(adjusted, nan=1.0) < 1 - confidence
    return table


def _holm(multipletests: Any, p_values: np.ndarray, alpha: float) -> np.ndarray:
    """Holm-adjusted p-values. statsmodels ends its Holm step with a full garbage collection, which
    walks every object alive (a report's figures and tables: most of a second); frozen, they are skipped."""
    gc.freeze()
    try:
        adjusted: np.ndarray = multipletests(p_values, alpha=alpha, method="holm")[1]
    finally:
        gc.unfreeze()
    return adjusted


def _with_repeats(table: pd.DataFrame, test_values: _Moments, reference: int, confidence: float, power: float,
                  max_repeats: int) -> pd.DataFrame:
    level = (1 - confidence) / max(int(np.isfinite(as_float(table["p_value"])).sum()), 1)
    n, mean, variance = test_values
    needed = repeats_needed((n, mean, variance), (n[reference], mean[reference], variance[reference]),
                            alpha=level, power=power, max_repeats=max_repeats)
    needed[reference] = math.nan
    table["repeats_needed"] = needed
    return table
