"""Importance: which hyperparameters move the objective (or the gap), by their marginal means."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fitsweep.analysis._common import AnalysisError, FloatArray, as_float, completed
from fitsweep.analysis._significance import t_interval
from fitsweep.results.columns import HYPERPARAMETERS, REGULARIZERS, table_hyperparameters

__all__ = ["importance", "importance_findings", "IMPORTANCE_COLUMNS", "MIN_CONFIGURATIONS"]

# Below 20 configurations noise alone explains too much: see `importance`'s docstring.
MIN_CONFIGURATIONS = 20
IMPORTANCE_COLUMNS = (
    "hyperparameter", "level", "n_configurations", "n_executions", "mean", "ci_low", "ci_high",
    "variance_share", "noise_share", "effect", "effect_ci_low", "effect_ci_high",
)
_DERIVED_TARGETS = {
    "accuracy_gap": ("train_accuracy", "val_accuracy"),  # train - val: positive when overfitting
    "loss_gap": ("val_loss", "train_loss"),  # val - train
    "mse_gap": ("val_mse", "train_mse"),  # a regression's: val - train, positive when overfitting
}
# What a trials table can be read by, for the message that names them: a regression's have squared errors.
_CLASSIFICATION_TARGETS = ("val_loss", "val_crossentropy", "val_accuracy", "test_accuracy", "accuracy_gap", "loss_gap")
_REGRESSION_TARGETS = ("val_loss", "val_mse", "val_mae", "val_r2", "test_mse", "test_r2", "mse_gap", "loss_gap")


def importance(
    trials: pd.DataFrame,
    target: str = "val_loss",
    *,
    confidence: float = 0.95,
    min_configurations: int = MIN_CONFIGURATIONS,
    max_levels: int = 5,
) -> pd.DataFrame:
    """How much each varied hyperparameter moves `target`: its marginal means and their share of the variance.

    Each distinct configuration (combination of the varied hyperparameters) is one observation,
    the mean `target` over its completed executions. For each hyperparameter, the marginal mean
    of a value is the mean over the configurations that use it, with its t-interval; the
    hyperparameter's `variance_share` is the share of the variance across configurations that
    its marginal means explain (the first-order term of a functional ANOVA on the observed grid:
    between-value over total sum of squares). It describes this sweep's ranges only.

    Noise alone gives a hyperparameter with L values a share of about (L - 1) / (N - 1) among
    N configurations, reported as `noise_share`. At 9 configurations that is 25% for a
    three-valued hyperparameter, so nothing below about half could be told from noise; at the
    default minimum of 20 it is 10% (21% for five values), and each of five values still has
    four configurations on average, enough for a t-interval. Below `min_configurations` the
    table is empty and `table.attrs["reason"]` says why in one sentence, for a report to print.
    Numeric hyperparameters with more than `max_levels` distinct values (a random search over
    a range) are cut into `max_levels` quantile bins, so each value has several configurations.

    Args:
        trials: The trials table; only completed rows with a finite target count.
        target: A numeric column ("val_loss", "val_crossentropy", "test_accuracy", a regression's
            "val_mse", "test_r2", ...), or "accuracy_gap" (train_accuracy - val_accuracy),
            "loss_gap" (val_loss - train_loss) or a regression's "mse_gap" (val_mse - train_mse).
        confidence: Level of the intervals.
        min_configurations: Fewest distinct configurations for which importance is shown.
        max_levels: Most values a numeric hyperparameter keeps before it is binned.

    Returns:
        One row per varied hyperparameter and value, the hyperparameter that explains most
        first, its values in order: `hyperparameter`, `level` (the value, or a bin "a to b"),
        `n_configurations`, `n_executions`, `mean` (the marginal mean of `target`), `ci_low`,
        `ci_high`; then, repeated on each row of a hyperparameter, `variance_share`,
        `noise_share`, `effect` (highest minus lowest marginal mean) and `effect_ci_low`,
        `effect_ci_high` (Welch's interval of that difference; choosing the extremes makes it
        lean large, so read it beside `noise_share`). Intervals need two configurations per
        value and are NaN otherwise. `table.attrs["reason"]` is None when shown.

    Raises:
        AnalysisError: An unknown or non-numeric target, or a `confidence` outside (0, 1).

    Example:
        >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
        >>> table = importance(run.trials, "val_crossentropy")  # doctest: +SKIP
        >>> table.attrs["reason"] or table.drop_duplicates("hyperparameter")  # doctest: +SKIP
    """
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    rows = completed(trials)
    y = _target(rows, target)
    rows = rows[np.isfinite(y)].assign(_target=y[np.isfinite(y)])
    varied = _varied(rows)
    configurations = _configurations(rows, varied) if varied else rows.iloc[:0]
    reason = _reason_not_shown(len(configurations), len(rows), varied, target, min_configurations)
    if reason:
        return _table([], reason)
    levels = {name: _levels(configurations[name], max_levels) for name in varied}
    parts = [_marginals(configurations, name, levels[name], confidence) for name in varied]
    parts.sort(key=lambda part: -np.nan_to_num(part["variance_share"].iloc[0], nan=-1.0))
    return _table(parts, None)


def importance_findings(table: pd.DataFrame, target: str) -> list[str]:
    """One or two sentences on an `importance` table: what `target` depends on, or why it is not shown.

    A hyperparameter is named only where its share beats what noise alone gives it and the
    interval of its effect excludes zero.

    Example:
        >>> importance_findings(importance(run.trials, "val_crossentropy"), "val_crossentropy")  # doctest: +SKIP
        ['val_crossentropy depends most on layers: its values explain 79% of the variance ...']
    """
    if table.attrs.get("reason"):
        return [str(table.attrs["reason"])]
    ranked = table.drop_duplicates("hyperparameter")
    clear = ranked[(ranked["variance_share"] > ranked["noise_share"]) & (ranked["effect_ci_low"] > 0)]
    if clear.empty:
        return [f"No hyperparameter moves {target} clearly beyond noise in this sweep (marginal means)."]
    findings = [f"{target} depends most on {_explained(table, clear.iloc[0])}."]
    if len(clear) > 1:
        findings.append(f"Next comes {_explained(table, clear.iloc[1])}.")
    return findings


def _explained(table: pd.DataFrame, row: pd.Series) -> str:
    levels = table[table["hyperparameter"] == row["hyperparameter"]]
    low, high = levels.loc[levels["mean"].idxmin()], levels.loc[levels["mean"].idxmax()]
    return (f"{row['hyperparameter']}: its values explain {row['variance_share']:.0%} of the variance across "
            f"configurations (noise alone about {row['noise_share']:.0%}), marginal means from {low['mean']:.3g} "
            f"({low['level']}) to {high['mean']:.3g} ({high['level']})")


def _table(parts: list[pd.DataFrame], reason: str | None) -> pd.DataFrame:
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(IMPORTANCE_COLUMNS))
    table.attrs["reason"] = reason
    return table


def _target(rows: pd.DataFrame, target: str) -> FloatArray:
    if target in _DERIVED_TARGETS:
        left, right = _DERIVED_TARGETS[target]
        _require(rows, [left, right], target)
        difference: FloatArray = as_float(rows[left]) - as_float(rows[right])
        return difference
    _require(rows, [target], target)
    if not (pd.api.types.is_numeric_dtype(rows[target]) or rows[target].isna().all()):
        raise AnalysisError(f"target {target!r} is not numeric; choose a loss, a metric or a gap")
    return as_float(rows[target])


def _require(rows: pd.DataFrame, columns: list[str], target: str) -> None:
    missing = [column for column in columns if column not in rows.columns]
    if missing:
        regression = "val_mse" in rows.columns and "val_accuracy" not in rows.columns
        task = "regression" if regression else "classification"
        choices = _REGRESSION_TARGETS if regression else _CLASSIFICATION_TARGETS
        raise AnalysisError(f"target {target!r} needs column(s) {', '.join(missing)}, which a {task}'s trials do not "
                            f"have; try one of {', '.join(choices)}")


def _varied(rows: pd.DataFrame) -> list[str]:
    present = table_hyperparameters(rows.columns, HYPERPARAMETERS)  # a build function's own names too
    return [name for name in present if _settings(rows[name]).astype("string").nunique(dropna=False) > 1]


def _settings(values: pd.Series) -> pd.Series:
    return values.fillna(0.0) if values.name in REGULARIZERS else values  # missing: the regularizer unused


def _configurations(rows: pd.DataFrame, varied: list[str]) -> pd.DataFrame:
    """One row per distinct configuration: its settings, executions and mean target."""
    settings = rows.assign(**{name: _settings(rows[name]) for name in varied})
    grouped = settings.groupby(varied, dropna=False, sort=False)["_target"]
    table: pd.DataFrame = pd.concat([grouped.mean(), grouped.size().rename("_executions")], axis=1).reset_index()
    return table


def _reason_not_shown(n_configurations: int, n_rows: int, varied: list[str], target: str,
                      minimum: int) -> str | None:
    if n_rows == 0:
        return f"Importance is not shown: no completed execution has a finite {target}."
    if not varied:
        return "Importance is not shown: no hyperparameter varies across the completed trials."
    if n_configurations >= minimum:
        return None
    found = "1 configuration is" if n_configurations == 1 else f"{n_configurations} configurations are"
    effects = "1 hyperparameter's effect" if len(varied) == 1 else f"{len(varied)} hyperparameters' effects"
    return f"Importance is not shown: {found} too few to separate {effects} from noise (at least {minimum} needed)."


def _levels(values: pd.Series, max_levels: int) -> pd.Series:
    """Each configuration's value as a level label; many numeric values become quantile bins."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > max_levels:
        return _quantile_bins(as_float(values), max_levels, values.index)
    if numeric:
        order = [f"{value:g}" for value in sorted(values.dropna().unique())]
        text = values.map(lambda value: f"{value:g}" if pd.notna(value) else "n/a")
        levels: pd.Series = pd.Series(pd.Categorical(text, categories=[*order, "n/a"]), index=values.index)
        return levels
    text = values.astype("string").fillna("n/a")
    in_sweep_order: pd.Series = pd.Series(pd.Categorical(text, categories=list(text.unique())), index=values.index)
    return in_sweep_order


def _quantile_bins(values: FloatArray, bins: int, index: pd.Index) -> pd.Series:
    codes = np.asarray(pd.qcut(values, bins, labels=False, duplicates="drop"))
    # Label a bin by the values it holds: qcut's own edges reach past the smallest value.
    labels = [f"{values[codes == code].min():.3g} to {values[codes == code].max():.3g}"
              for code in sorted(set(codes.tolist()))]
    binned: pd.Series = pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(labels)), index=index)
    return binned


def _marginals(configurations: pd.DataFrame, name: str, levels: pd.Series, confidence: float) -> pd.DataFrame:
    y = as_float(configurations["_target"])
    by_level = {level: (y[(levels == level).to_numpy()], configurations["_executions"][(levels == level).to_numpy()])
                for level in levels.cat.categories if (levels == level).any()}
    rows = [{"hyperparameter": name, "level": str(level), "n_configurations": len(values),
             "n_executions": int(executions.sum()), "mean": float(values.mean()),
             **dict(zip(("ci_low", "ci_high"), t_interval(values, confidence), strict=True))}
            for level, (values, executions) in by_level.items()]
    table = pd.DataFrame(rows)
    low, high = _effect_interval([values for values, _ in by_level.values()], confidence)
    marginals: pd.DataFrame = table.assign(
        variance_share=_variance_share(y, [values for values, _ in by_level.values()]),
        noise_share=(len(by_level) - 1) / (len(y) - 1),
        effect=float(table["mean"].max() - table["mean"].min()), effect_ci_low=low, effect_ci_high=high,
    )
    return marginals


def _variance_share(y: FloatArray, groups: list[FloatArray]) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0:
        return math.nan  # the target never moved: no share to split
    between = sum(len(values) * (float(values.mean()) - float(y.mean())) ** 2 for values in groups)
    return between / total


def _effect_interval(groups: list[FloatArray], confidence: float) -> tuple[float, float]:
    """Welch's interval of the difference between the highest and the lowest marginal mean."""
    from scipy import stats  # a second to import: loaded where a statistic needs it

    high = max(groups, key=lambda values: float(values.mean()))
    low = min(groups, key=lambda values: float(values.mean()))
    if len(high) < 2 or len(low) < 2:
        return math.nan, math.nan
    share_high, share_low = high.var(ddof=1) / len(high), low.var(ddof=1) / len(low)
    difference, spread = float(high.mean() - low.mean()), math.sqrt(share_high + share_low)
    if spread == 0:
        return difference, difference
    df = (share_high + share_low) ** 2 / (share_high**2 / (len(high) - 1) + share_low**2 / (len(low) - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, df)) * spread
    return difference - half, difference + half
