"""The linear yardstick: what a linear model reaches, and (a regression) whether anything beats predicting the mean.

A classification's yardstick is a logistic regression fitted on the training split: where it
predicts validation rows better than the sweep's best configuration, its levels are the
reachable ones, so a sweep of networks that all train badly (a learning rate too high for every
one of them) is judged against what the data allow rather than against itself; a sweep of one
configuration is judged against it instead of its curve alone.


A regression's baseline is the training mean (R² 0). Two readings rest on what the data allow
beyond it. When the sweep reaches little, a linear regression fitted on the training split says
whether the features do predict the target: a network whose training and validation R² stay
near 0 while the linear fit reaches 0.5 underfits, whatever the rest of the sweep did. When
nothing beats the mean beyond noise (neither the sweep's best configuration nor the linear fit),
a model at the baseline is as good as the data allow: its loss at the baseline is no bias, and
the reasons say that the features hardly predict the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

import pandas as pd

from fitsweep.analysis._common import as_float
from fitsweep.analysis._evidence_row import Settings
from fitsweep.analysis._noise import best_of_z, mean_se, one_sided_z
from fitsweep.analysis._reachable import Reachable

__all__ = [
    "LINEAR", "LOGISTIC", "NOTHING_BEATS_THE_MEAN", "LinearReference", "LogisticReference", "baseline_findings",
    "baseline_note", "linear_reference_of", "logistic_reference_of", "near_baseline", "with_logistic",
]

# Where a reason names the linear fit as the reachable level.
LINEAR = "a linear regression fitted on the training split"
# Where a reason names the logistic regression as the reachable level.
LOGISTIC = "a logistic regression fitted on the training split"
# The words of a reason, and of the report's finding, where the data allow nothing better than the mean.
NOTHING_BEATS_THE_MEAN = "no configuration beats predicting the training mean beyond noise"


@dataclass(frozen=True)
class LinearReference:
    """A linear regression's validation MSE and its rows' spread; its paired gain over the mean and its noise."""

    val_mse: float
    val_mse_sd: float
    gain: float
    gain_se: float


def linear_reference_of(recorded: Mapping[str, Any] | None) -> LinearReference | None:
    """The linear reference run.json records (`linear_reference`), None when absent or incomplete."""
    if not recorded:
        return None
    try:
        values = [float(recorded[name]) for name in ("val_mse", "val_mse_sd", "gain", "gain_se")]
    except (KeyError, TypeError, ValueError):
        return None
    return LinearReference(*values) if all(math.isfinite(value) for value in values) else None


@dataclass(frozen=True)
class LogisticReference:
    """A logistic regression's validation cross-entropy and error rate: a classification's linear yardstick."""

    val_crossentropy: float
    val_error: float


def logistic_reference_of(recorded: Mapping[str, Any] | None) -> LogisticReference | None:
    """The logistic reference run.json records (`linear_reference` of a classification), None when absent."""
    if not recorded:
        return None
    try:
        crossentropy, accuracy = float(recorded["val_crossentropy"]), float(recorded["val_accuracy"])
    except (KeyError, TypeError, ValueError):
        return None
    return LogisticReference(crossentropy, 1 - accuracy) if math.isfinite(crossentropy + accuracy) else None


def with_logistic(reachable: dict[Any, Reachable], table: pd.DataFrame, keys: list[str],
                  logistic: LogisticReference | None) -> dict[Any, Reachable]:
    """The reachable levels with the logistic regression's where they are lower; one configuration's only reference.

    The reference belongs to one run's split: several runs judged together keep their own levels.
    Where it is lower it counts as one more candidate for the lowest level (the best-of-trials
    correction); where the sweep's best is lower nothing changes. A lone configuration is set
    beside it only where it predicts validation rows better than that configuration does.
    """
    if logistic is None or "run" in keys:
        return reachable
    level = reachable.get(None)
    if level is None:
        return _lone_beside(table, logistic)
    lower_error, lower_crossentropy = logistic.val_error < level.error, logistic.val_crossentropy < level.crossentropy
    if not (lower_error or lower_crossentropy):
        return reachable
    level = replace(level, trials=level.trials + 1, sweep_levels=level, yardstick=True)
    if lower_error:
        level = replace(level, error=logistic.val_error, error_var=0.0, error_trial=LOGISTIC)
    if lower_crossentropy:
        level = replace(level, crossentropy=logistic.val_crossentropy, crossentropy_var=0.0,
                        crossentropy_trial=LOGISTIC, params=math.nan)
    return {**reachable, None: level}


def _lone_beside(table: pd.DataFrame, logistic: LogisticReference) -> dict[Any, Reachable]:
    """One configuration's reference: the logistic regression, where it is lower than the configuration's own levels."""
    finite = table[table["diverged_at"].isna()] if "diverged_at" in table else table
    error, crossentropy = (float(pd.to_numeric(finite[name], errors="coerce").mean()) if name in finite else math.nan
                           for name in ("val_error", "val_crossentropy"))  # NaN, quietly, for no finite execution
    if not (logistic.val_error < error or logistic.val_crossentropy < crossentropy):
        return {}  # the network does better: only its own curve can show a bias
    return {None: Reachable(logistic.val_error, 0.0, LOGISTIC, logistic.val_crossentropy, 0.0, LOGISTIC, 2, math.nan,
                            alone=True, yardstick=True)}


def near_baseline(reachable: dict[Any, Reachable], table: pd.DataFrame, keys: list[str],
                  linear: LinearReference | None, settings: Settings) -> dict[Any, Reachable]:
    """Each run's reachable level with the linear fit where it is lower, and whether anything beats the baseline.

    The linear reference belongs to one run's split: several runs judged together keep their own
    levels. A run of one configuration gets the linear fit as its only reference (`alone`).
    """
    if not settings.regression or settings.chance_loss is None:
        return reachable
    levels = dict(reachable)
    for run in [None] if "run" not in keys else list(reachable):
        level = reachable.get(run)
        rows = table if run is None else table[table["run"] == run]
        here = linear if "run" not in keys else None
        beaten = _beaten(level, rows, here, settings)
        if here is not None:
            level = _with_linear(level, here)
        if level is not None:
            levels[run] = replace(level, baseline_beaten=beaten)
    return levels


def _with_linear(level: Reachable | None, linear: LinearReference) -> Reachable:
    if level is None:  # one configuration: the linear fit is the only thing to compare with
        return Reachable(math.nan, 0.0, "", linear.val_mse, 0.0, LINEAR, 2, math.nan, alone=True,
                         linear_val_mse=linear.val_mse)
    trials = level.trials + 1  # the linear fit is one more candidate for the lowest level
    if linear.val_mse >= level.crossentropy:
        return replace(level, trials=trials, linear_val_mse=linear.val_mse)
    return replace(level, crossentropy=linear.val_mse, crossentropy_var=0.0, crossentropy_trial=LINEAR,
                   trials=trials, params=math.nan, linear_val_mse=linear.val_mse)


def _beaten(level: Reachable | None, table: pd.DataFrame, linear: LinearReference | None, settings: Settings) -> bool:
    """Whether the linear fit (a paired test on its rows) or the sweep's best (an unpaired one) beats the mean.

    The sweep's best is tested against the baseline on the spread of its own rows' squared errors,
    which overstates the noise of a difference measured on the same rows: a sweep alone shows a
    gain only when it is large, and the linear fit, paired, shows the smaller ones.
    """
    chance = float(settings.chance_loss or math.nan)
    if linear is not None and linear.gain > max(one_sided_z(settings.confidence) * linear.gain_se,
                                                settings.margin * chance):
        return True
    if level is None:  # one configuration: only the linear fit could have shown a gain
        return linear is None
    best = table[table["trial_id"].astype("string") == level.crossentropy_trial]
    sd = as_float(best["val_crossentropy_sd"]).mean() if "val_crossentropy_sd" in best else math.nan
    rows = as_float(best["val_rows"]).mean() if "val_rows" in best else math.nan
    if not (math.isfinite(sd) and math.isfinite(rows)):
        return True  # no row counts: the noise is unknown, and the verdicts stay as the sweep reads them
    bound = best_of_z(settings.confidence, level.trials) * mean_se(sd, rows)
    return chance - level.crossentropy > max(bound, settings.margin * chance)


def baseline_note(reachable: Reachable | None, settings: Settings) -> str:
    """A regression's note on what the data allow: nothing beats the mean, or the best explains little ("" if not)."""
    chance = settings.chance_loss
    if reachable is None or chance is None or not math.isfinite(reachable.crossentropy):
        return ""
    variance = cast(float, settings.validation_variance)  # the validation R² is against that split's own variance
    best = 1 - reachable.crossentropy / variance
    linear = 1 - reachable.linear_val_mse / variance
    whose = (LINEAR.replace("a linear regression", "a linear regression's") if reachable.crossentropy_trial == LINEAR
             else f"trial {reachable.crossentropy_trial}'s")
    if not reachable.baseline_beaten:
        also = f"; {LINEAR}: {linear:.2f}" if math.isfinite(linear) and reachable.crossentropy_trial != LINEAR else ""
        return (f"; {NOTHING_BEATS_THE_MEAN} (the best validation R² is "
                f"{best:.2f}, {whose}{also}): the features hardly predict this target, so a model near the baseline "
                "is as good as the data allow")
    if reachable.crossentropy < settings.underfit_chance_share * chance:
        return ""
    if reachable.crossentropy_trial == LINEAR:
        return (f"; no configuration reaches {LINEAR} (validation MSE {reachable.crossentropy:.4g}, R² {best:.2f}), "
                f"which itself explains only {max(best, 0):.0%} of the validation target's variance {variance:.4g}: "
                "the inputs carry little signal for this target beyond a linear one, or no configuration trained "
                "enough")
    linear_words = f"; {LINEAR} reaches R² {linear:.2f}" if math.isfinite(linear) else ""
    return (f"; the best configuration (trial {reachable.crossentropy_trial}, validation MSE "
            f"{reachable.crossentropy:.4g}) explains only {max(best, 0):.0%} of the target's variance "
            f"{variance:.4g} (R² {best:.2f}){linear_words}: the inputs carry little signal for this target, or no "
            "configuration trained enough")


def baseline_findings(trials: pd.DataFrame, diagnosis: pd.DataFrame | None, chance_loss: float | None,
                      linear_reference: Mapping[str, Any] | None) -> list[str]:
    """Sentences on what the data allow: the linear fit (a classification's logistic regression) beside the best.

    The best configuration is the one with the lowest mean validation MSE over its executions; its
    test score stands beside the linear fit's on the same test rows, since the validation score of
    a configuration chosen on those rows is optimistic. R² is against each split's own variance,
    as in the tables.

    Example:
        >>> baseline_findings(run.trials, verdicts_of(run), run.info["chance_loss"],
        ...                   run.info["linear_reference"])  # doctest: +SKIP
        ['A linear regression fitted on the training split: validation MSE 2837 (R² 0.58), test MSE 3355 ...']
    """
    logistic = logistic_reference_of(linear_reference)
    if logistic is not None:
        return _logistic_findings(trials, dict(linear_reference or {}))
    linear = linear_reference_of(linear_reference)
    columns = ["val_mse", "val_r2", "test_mse", "test_r2"]
    if linear is None or not chance_loss or not set(columns) <= set(trials.columns):
        return []
    means = trials.groupby(trials["trial_id"].astype("string"))[columns].mean()
    if means["val_mse"].isna().all():
        return []
    best = str(means["val_mse"].idxmin())
    recorded = dict(linear_reference or {})
    best_scores = {str(key): value for key, value in means.loc[best].items()}
    lines = [f"A linear regression fitted on the training split: {_scores(recorded)}; the best configuration by "
             f"validation MSE (trial {best}, means over its executions): {_scores(best_scores)}."]
    if diagnosis is not None and diagnosis["fit_reason"].astype(str).str.contains(NOTHING_BEATS_THE_MEAN).any():
        lines.append(f"{NOTHING_BEATS_THE_MEAN[0].upper()}{NOTHING_BEATS_THE_MEAN[1:]}: the features hardly predict "
                     "this target, so models near R² 0 are as good as the data allow, not underfit.")
    return lines


def _logistic_findings(trials: pd.DataFrame, recorded: Mapping[str, Any]) -> list[str]:
    """A classification's logistic regression beside its best configuration, on the same validation and test rows."""
    columns = ["val_crossentropy", "val_accuracy", "test_accuracy"]
    if not set(columns) <= set(trials.columns):
        return []
    means = trials.groupby(trials["trial_id"].astype("string"))[columns].mean()
    if means["val_crossentropy"].isna().all():
        return []
    best = str(means["val_crossentropy"].idxmin())
    best_scores = {str(key): value for key, value in means.loc[best].items()}
    return [f"{LOGISTIC[0].upper()}{LOGISTIC[1:]}: {_accuracies(recorded)}; the best configuration by validation "
            f"cross-entropy (trial {best}, means over its executions): {_accuracies(best_scores)}."]


def _accuracies(values: Mapping[str, Any]) -> str:
    """"validation accuracy 0.962 (cross-entropy 0.175), test accuracy 0.964", as far as the values are known."""
    parts = []
    for split, name in (("val", "validation"), ("test", "test")):
        accuracy, crossentropy = (float(values.get(f"{split}_{measure}", math.nan))
                                  for measure in ("accuracy", "crossentropy"))
        if math.isfinite(accuracy):
            parts.append(f"{name} accuracy {accuracy:.3f}" + (f" (cross-entropy {crossentropy:.3g})"
                                                               if split == "val" and math.isfinite(crossentropy)
                                                               else ""))
    return ", ".join(parts)


def _scores(values: Mapping[str, Any]) -> str:
    """"validation MSE 2837 (R² 0.58), test MSE 3355 (R² 0.35)", as far as the values are known."""
    parts = []
    for split, name in (("val", "validation"), ("test", "test")):
        mse, r2 = (float(values.get(f"{split}_{measure}", math.nan)) for measure in ("mse", "r2"))
        if math.isfinite(mse):
            parts.append(f"{name} MSE {mse:.4g}" + (f" (R² {r2:.2f})" if math.isfinite(r2) else ""))
    return ", ".join(parts)
