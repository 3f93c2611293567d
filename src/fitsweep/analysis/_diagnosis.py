"""Diagnosis: does each execution overfit, underfit, fit well, or diverge?

The reading is the bias-and-variance one of learning curves (as in Ng's "Machine Learning
Yearning"), measured against what the sweep itself reaches:

- **bias**: the execution fits its own training rows clearly worse than the best configuration
  of the sweep generalises (its training error or cross-entropy stays above the sweep's best
  validation error or cross-entropy): it underfits;
- **variance**: it generalises clearly worse than it fits (validation above training, and above
  what the sweep reaches), or its validation loss turns up while its training loss keeps
  falling: it overfits.

"Clearly" means beyond the noise of the estimates: the binomial standard error of an error rate
on that many validation rows, the spread of a cross-entropy's per-sample values, the spread
between repeats, and the optimism of taking the best of many configurations as the reference.
Every verdict states its numbers and the likely cause.

This module reads the tables and assembles the verdicts; the reading itself is in its parts:
`_fit_evidence` (each execution's numbers), `_reachable` (the sweep's best), `_high_bias`,
`_high_variance` and `_likely_causes` (the findings and their words), `_verdict_rule` (one row's
verdict) and `_repeats` (a configuration's executions judged together).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.analysis._baseline import (
    LOGISTIC,
    LinearReference,
    LogisticReference,
    baseline_note,
    linear_reference_of,
    logistic_reference_of,
    near_baseline,
    with_logistic,
)
from fitsweep.analysis._common import AnalysisError, as_float, require_columns, trial_keys
from fitsweep.analysis._evidence_row import Settings
from fitsweep.analysis._fit_evidence import EVIDENCE, evidence_table
from fitsweep.analysis._likely_causes import binary_majority, unscaled_inputs
from fitsweep.analysis._reachable import Reachable, reachable_levels
from fitsweep.analysis._repeats import configuration, outliers, pooled, with_repeats
from fitsweep.analysis._verdict_rule import Judgement, verdict
from fitsweep.vocabulary import TrialStatus, Verdict

__all__ = ["diagnose", "chance_level_loss"]

_EPOCH_COLUMNS = ("trial_id", "execution", "epoch", "loss", "val_loss")
# Row counts the trials table carries per execution; without them the noise of a split is unknown.
_ROW_COUNTS = ("train_rows", "train_measured_rows", "val_rows")


def chance_level_loss(class_priors: Sequence[float] | npt.ArrayLike, binary: bool = False) -> float:
    """The cross-entropy of a model that always predicts the class priors.

    This is the loss a network reaches by learning nothing about the inputs, so it is the scale
    against which `diagnose` calls a training loss high. It equals the entropy of the priors
    (in nats, as Keras computes losses): ln(K) for K balanced classes, ln(2) = 0.693 for a
    balanced binary task.

    Args:
        class_priors: Each class's share of the training labels, or its count (normalised here).
            With `binary=True` a single number is read as the positive class's share.
        binary: Whether the model is a sigmoid binary classifier (binary_crossentropy). Both
            losses give the same chance level; the flag only allows the single-share form.

    Returns:
        The chance-level loss, a float >= 0.

    Raises:
        AnalysisError: Priors that are negative, all zero, or fewer than two classes.

    Example:
        >>> round(chance_level_loss([0.5, 0.5]), 4)
        0.6931
        >>> round(chance_level_loss(0.1, binary=True), 4)
        0.3251
        >>> round(chance_level_loss(np.bincount([0, 1, 2, 2])), 4)
        1.0397
    """
    priors = np.atleast_1d(np.asarray(class_priors, dtype=float))
    if binary and priors.size == 1:
        priors = np.array([1.0 - priors[0], priors[0]])
    if priors.size < 2 or (binary and priors.size != 2):
        expected = "two priors or the positive share" if binary else "one prior per class, at least two"
        raise AnalysisError(f"chance_level_loss got {priors.size} class prior(s); expected {expected}")
    if not np.all(np.isfinite(priors)) or np.any(priors < 0) or priors.sum() <= 0:
        raise AnalysisError(f"class priors must be non-negative shares or counts, got {priors.tolist()}")
    shares = priors / priors.sum()
    shares = shares[shares > 0]  # 0 * log(0) is 0: an absent class costs nothing
    return float(-(shares * np.log(shares)).sum())


def diagnose(
    epochs: pd.DataFrame,
    trials: pd.DataFrame | None = None,
    *,
    chance_loss: float | None = None,
    penalty_free: bool = True,
    confidence: float = 0.95,
    margin: float = 0.05,
    accuracy_margin: float = 0.02,
    underfit_chance_share: float = 0.5,
    trend_epochs: int = 5,
    data: Mapping[str, Any] | None = None,
    task: str | None = None,
    linear_reference: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Give each execution of each trial a verdict: overfit, underfit, good or diverged.

    Each execution is read at its selected epoch (the one whose weights were kept, `best_epoch`
    of the trials table; the lowest val_loss without it) and against the sweep's **reachable**
    level: the lowest mean validation error, and the lowest mean validation cross-entropy, of any
    trial (configuration) of the same run.

    1. **diverged**: a loss became NaN or infinite.
    2. **high bias**: the training error (or cross-entropy) stays above the reachable level by
       more than its noise: z standard errors of an estimate on the validation rows at the
       execution's own level, z from `confidence` corrected for taking the best of the sweep's
       trials (Bonferroni), plus the spread between the best trial's repeats; or the training loss
       never moved over the epochs and sits at the chance level (nothing trained). The chance level
       is no floor otherwise: with noisy labels even a perfect model's cross-entropy is a large
       share of it, so only a configuration that does clearly better shows bias.
    3. **high variance**: validation error (or cross-entropy) above training by more than the
       noise of both, while also clearly above the reachable level; or the validation loss rose
       after its minimum by more than its standard error while the training loss kept falling.
    4. The verdict: **underfit** for high bias, **overfit** for high variance, the larger of the
       two (in cross-entropy) when both are high (both flags stay in `high_bias` and
       `high_variance`), **good** for neither. A difference must also exceed a practical size:
       `accuracy_margin` in accuracy, `margin` times the level in cross-entropy, so that very large
       splits do not turn trivial differences into verdicts.

    **Repeats** (executions of one trial) are judged together: the tests run on their mean levels,
    with the spread between them added to the noise, and each execution takes that verdict unless
    it is an outlier among them (three repeats or more; its reason says so).

    With one configuration, bias cannot be measured against the sweep: an execution is underfit
    only by its own curve (a training loss within `margin` of the chance level, or one still
    falling steeply at the last epoch while it misclassifies training rows), and the reason says
    what could not be judged. A sweep whose best configuration's validation cross-entropy is at
    least `underfit_chance_share` of the chance level says so in every reason: the inputs carry
    little signal, or the task is hard. Without row counts (`train_rows`, `train_measured_rows`,
    `val_rows` in the trials table) each curve's own epoch-to-epoch scatter stands for the noise.
    Tables whose training metrics are Keras' running averages (no `running_loss`
    column, or one without values: runs made before fitsweep measured training rows in inference
    mode, searches imported from KerasTuner) overstate the training error under dropout; there the
    better of training and validation stands for the fit, and each reason says so.

    Defaults and why: 95% confidence, the usual level; two points of accuracy and 5% of a
    cross-entropy are the smallest differences a reader would act on (the cross-entropy, which
    also measures confidence, is the more sensitive of the two); a best configuration at half the
    chance-level loss or more removed less than half of what predicting the priors costs.

    Args:
        epochs: The epochs table (trial_id, execution, epoch, loss, val_loss; accuracy,
            val_accuracy, crossentropy, val_crossentropy and their `_sd` when recorded). A `run`
            column, from concatenating several runs, keeps the runs apart.
        trials: The trials table, optional: gives `status`, the selected epoch, row counts and
            hyperparameters (for the likely causes); every execution of a trial whose status is
            "diverged" is diverged unless another of its executions shows the non-finite loss.
        chance_loss: The task's chance-level loss (see `chance_level_loss`).
        penalty_free: Judge the cross-entropy without the L1/L2 penalty where the epochs table has
            it; Keras' `loss` includes the penalty, which is no measure of fit. False: `loss`.
        confidence: Confidence that a difference called clear is not noise, in (0.5, 1).
        margin: Smallest difference of cross-entropy that counts, relative to its level, at least 0.
        accuracy_margin: Smallest difference of accuracy that counts, at least 0.
        underfit_chance_share: Share of `chance_loss` at or above which the sweep's best validation
            cross-entropy is called near chance (a note in the reasons; no verdict rests on it).
        trend_epochs: How many final epochs `train_trend` is fitted over.
        data: The run's data section (run.json's `data`), optional: where it records that the
            inputs were left unscaled by request (`scaling: none`), a loss that never moved or
            stays at chance names them among its likely causes.
        task: "classification" or "regression"; None reads it from the epochs table (a
            regression's has `mse` and no `crossentropy`). A regression is read the same way with
            the mean squared error (`mse`, `val_mse`, their `_sd`) in place of the cross-entropy,
            no error rate, a gap of validation over training MSE as a sign of variance, and
            `chance_loss` the squared error of predicting the training mean (R² 0).
        linear_reference: A regression's linear reference (run.json's `linear_reference`, from
            `fitsweep.data.linear_reference`): a linear regression's validation MSE, its rows' spread, and
            its paired gain over the training mean with that gain's standard error. Where it is below the
            sweep's best validation MSE it is the reachable level, so a network near R² 0 underfits
            features that a linear fit reads; where neither it nor the sweep beats the mean beyond noise,
            a model at the baseline is as good as the data allow and is not underfit (the reasons say so).
            A classification's (from the same function): a logistic regression's `val_crossentropy` and
            `val_accuracy`. Where lower than the sweep's best, they are the reachable levels; a sweep of
            one configuration is judged against them rather than by its curve alone.

    Returns:
        One row per (trial_id, execution), `run` first when present: `status` (with `trials`),
        `fit`, `fit_reason`, `high_bias`, `high_variance`, and the evidence: `epochs_run`,
        `best_epoch` (the selected epoch), `train_error`, `val_error` and `reachable_error`
        (1 - accuracy at the selected epoch, and the sweep's lowest mean validation error),
        `train_crossentropy`, `val_crossentropy`, `reachable_crossentropy` (likewise),
        `bias` (training minus reachable cross-entropy) and `variance` (validation minus training
        cross-entropy, or the rise after the minimum when larger), `min_val_loss`, `final_loss`,
        `final_val_loss`, `loss_gap` (final val_loss - final loss), `accuracy_gap` (final
        accuracy - final val_accuracy), `val_rise` (final val_loss / min_val_loss - 1) and
        `train_trend` (slope of the training loss per epoch over the last `trend_epochs`
        epochs, relative to their mean: -0.05 is falling 5% per epoch).

    Raises:
        AnalysisError: No epochs to diagnose, a table without the columns named above, or a
            setting out of range.

    Example:
        >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
        >>> table = diagnose(run.epochs, run.trials, chance_loss=run.info["chance_loss"])  # doctest: +SKIP
        >>> table[table.fit == Verdict.UNDERFIT][["trial_id", "fit_reason"]]  # doctest: +SKIP
    """
    require_columns(epochs, _EPOCH_COLUMNS, "epochs")
    _check_settings(chance_loss, confidence, (margin, accuracy_margin, underfit_chance_share), trend_epochs)
    regression = task == "regression" if task is not None else _regression_table(epochs)
    settings = Settings(confidence, margin, accuracy_margin, underfit_chance_share, chance_loss, trend_epochs,
                        unscaled_inputs(data), regression, _validation_variance(trials) if regression else None)
    # Training metrics measured in inference mode sit beside Keras' running averages (running_*).
    measured = "running_loss" in epochs.columns and bool(epochs["running_loss"].notna().any())
    if regression:
        epochs, renamed = _as_squared_errors(epochs), False
    else:
        epochs, renamed = _without_penalty(epochs) if penalty_free else (epochs, False)
    epochs = _with_running_level(epochs, regression, renamed)
    keys = [*trial_keys(epochs), "execution"]
    table = _normalise_keys(evidence_table(_normalise_keys(epochs), keys, _selected_epochs(trials, keys), trend_epochs))
    if trials is not None:
        table = _with_trial_columns(_apply_trial_status(table, trials, keys), trials, keys)
    if table.empty:
        raise AnalysisError("diagnose found no epochs: the sweep has not finished an epoch yet (or the table is empty)")
    reference = linear_reference_of(linear_reference) if regression else logistic_reference_of(linear_reference)
    return _judge(table, keys, settings, measured, "MSE" if regression else "crossentropy" if renamed else "loss",
                  reference)


_PENALTY_FREE = {"loss": "crossentropy", "val_loss": "val_crossentropy"}
# stopped_at: fit-aware stopping ended the execution (the causes then do not say "train longer").
_CAUSE_COLUMNS = ("params", "l1", "l2", "dropout", "learning_rate", "stopped_at", *_ROW_COUNTS)


_SQUARED_ERRORS = {"loss": "mse", "val_loss": "val_mse", "crossentropy_sd": "mse_sd",
                   "val_crossentropy_sd": "val_mse_sd"}


def _regression_table(epochs: pd.DataFrame) -> bool:
    return "mse" in epochs.columns and "crossentropy" not in epochs.columns


def _as_squared_errors(epochs: pd.DataFrame) -> pd.DataFrame:
    """A regression's epochs read as the cross-entropy's are: the mean squared error in its place, no error rate.

    The squared error has no penalty and is the same measure whichever loss (`train.loss`) trained
    the network, so networks trained on different losses are judged alike.
    """
    require_columns(epochs, list(_SQUARED_ERRORS.values()), "epochs")
    replaced = epochs.drop(columns=[c for c in ("accuracy", "val_accuracy") if c in epochs.columns])
    for name, squared in _SQUARED_ERRORS.items():
        replaced[name] = epochs[squared]
    return replaced


def _with_running_level(epochs: pd.DataFrame, regression: bool, penalty_free: bool) -> pd.DataFrame:
    """`running_level`: Keras' running average over each epoch's batches of the loss judged (NaN where not recorded)."""
    names = ["running_mse"] if regression else ["running_crossentropy", "running_loss"] if penalty_free \
        else ["running_loss"]
    level = np.full(len(epochs), np.nan)
    for name in reversed(names):  # the first name's values where it has them
        if name in epochs.columns:
            values = as_float(epochs[name])
            level = np.where(np.isnan(values), level, values)
    return epochs.assign(running_level=level)


def _without_penalty(epochs: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Read loss and val_loss from the penalty-free cross-entropy columns, where recorded.

    Keras adds the L1/L2 penalty to `loss` and `val_loss`, which can dwarf the data term (an L1
    penalty on a large network adds more than the chance-level loss), so a well-fitting penalised
    network would read as underfit.
    """
    if not set(_PENALTY_FREE.values()) <= set(epochs.columns):
        return epochs, False
    replaced = epochs.copy()
    for penalised, plain in _PENALTY_FREE.items():
        replaced[penalised] = epochs[plain].where(epochs[plain].notna(), epochs[penalised])
    return replaced, True


def _validation_variance(trials: pd.DataFrame | None) -> float | None:
    """The validation split's target variance, read back from the trials table's val_mse and val_r2 (None: unknown)."""
    if trials is None or not {"val_mse", "val_r2"} <= set(trials.columns):
        return None
    mse, r2 = (pd.to_numeric(trials[name], errors="coerce") for name in ("val_mse", "val_r2"))
    usable = mse.notna() & r2.notna() & (r2 < 1)
    variance = (mse[usable] / (1 - r2[usable])).median()
    return float(variance) if math.isfinite(variance) and variance > 0 else None


def _check_settings(
    chance_loss: float | None, confidence: float, limits: tuple[float, float, float], trend_epochs: int
) -> None:
    if chance_loss is not None and not (math.isfinite(chance_loss) and chance_loss > 0):
        raise AnalysisError(f"chance_loss must be a positive number, got {chance_loss!r}; see chance_level_loss")
    if not (math.isfinite(confidence) and 0.5 < confidence < 1):
        raise AnalysisError(f"confidence must be between 0.5 and 1 (exclusive), got {confidence!r}")
    for name, value in zip(("margin", "accuracy_margin", "underfit_chance_share"), limits, strict=True):
        if not (math.isfinite(value) and value >= 0):
            raise AnalysisError(f"{name} must be a number of at least 0, got {value!r}")
    if trend_epochs < 2:
        raise AnalysisError(f"trend_epochs must be at least 2 (a slope needs two points), got {trend_epochs}")


def _normalise_keys(table: pd.DataFrame) -> pd.DataFrame:
    # Parquet, CSV and hand-made tables type the keys differently; merges need one typing.
    return table.astype({"trial_id": "string", "execution": "int64"})


def _selected_epochs(trials: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame | None:
    """(run,) trial_id, execution and the epoch whose weights the sweep kept, from the trials table."""
    if trials is None or "best_epoch" not in trials.columns or not set(keys) <= set(trials.columns):
        return None
    return _normalise_keys(trials[[*keys, "best_epoch"]].drop_duplicates(keys))


# --- trial status and columns --------------------------------------------------------------


def _apply_trial_status(table: pd.DataFrame, trials: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add `status`; mark diverged trials; give diverged executions without epochs a row."""
    require_columns(trials, [*keys, "status"], "trials")
    status = _normalise_keys(trials.drop_duplicates(keys))
    status = status.assign(status=status["status"].astype("string").str.lower(),
                           error=status.get("error"))[[*keys, "status", "error"]]
    merged = table.merge(status, on=keys, how="outer", indicator=True)
    diverged = merged["status"].eq(TrialStatus.DIVERGED).fillna(False).to_numpy()
    # Failed (or running) trials that never finished an epoch have no curves to judge.
    merged = merged[merged["_merge"].ne("right_only").to_numpy() | diverged]
    trial = keys[:-1]
    shown = merged["diverged_at"].notna().groupby([merged[key] for key in trial], dropna=False).transform("any")
    # When the blow-up itself was not recorded, the trial's status is the only evidence left.
    hidden = merged["status"].eq(TrialStatus.DIVERGED).fillna(False) & ~shown
    merged.loc[hidden, "diverged_at"] = [_status_reason(error) for error in merged.loc[hidden, "error"]]
    return merged.drop(columns=["_merge", "error"]).reset_index(drop=True)


def _with_trial_columns(table: pd.DataFrame, trials: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add the row counts and the hyperparameters the likely causes are read from."""
    present = [column for column in _CAUSE_COLUMNS if column in trials.columns and column not in table.columns]
    if not present:
        return table
    extra = _normalise_keys(trials[[*keys, *present]].drop_duplicates(keys))
    return table.merge(extra, on=keys, how="left")


def _status_reason(error: object) -> str:
    text = "" if error is None or error is pd.NA else str(error).strip()
    return f"the trial's status is diverged ({text})" if text else "the trial's status is diverged"


# --- verdicts ------------------------------------------------------------------------------


def _judge(table: pd.DataFrame, keys: list[str], settings: Settings, measured: bool, loss_name: str,
           linear: LinearReference | LogisticReference | None) -> pd.DataFrame:
    levels = reachable_levels(table, keys)
    reachable = (with_logistic(levels, table, keys, linear) if isinstance(linear, LogisticReference)
                 else near_baseline(levels, table, keys, linear, settings))

    def reference(row: dict[str, Any]) -> Reachable | None:
        return reachable.get(row["run"] if "run" in keys else None)

    def judge(row: dict[str, Any]) -> Judgement:
        return verdict(row, reference(row), settings, measured, loss_name)

    records = cast(list[dict[str, Any]], table.to_dict("records"))
    alone = [judge(row) for row in records]
    apart = outliers(records, alone, keys, settings)
    kept = np.array([index not in apart for index in range(len(records))], dtype=bool)
    pooled_rows = cast(list[dict[str, Any]], pooled(table[kept], keys[:-1]).to_dict("records"))
    together = {configuration(row, keys): judge(row) for row in pooled_rows}
    judged = with_repeats(records, alone, together, apart, keys)
    unscaled = f"; {settings.unscaled}" if settings.unscaled else ""
    notes = [_near_chance_note(reference(row), settings, loss_name) + unscaled for row in records]
    reasons = [_reason(j, note, measured) for j, note in zip(judged, notes, strict=True)]
    return _verdict_table(table, keys, judged, reasons)


def _verdict_table(table: pd.DataFrame, keys: list[str], judged: list[Judgement], reasons: list[str]) -> pd.DataFrame:
    """The evidence with each row's verdict, reason and numbers, in `diagnose`'s column order and dtypes."""
    table = table.assign(
        fit=[j.fit.value for j in judged],
        fit_reason=reasons,
        high_bias=pd.array([j.high_bias for j in judged], dtype="boolean"),
        high_variance=pd.array([j.high_variance for j in judged], dtype="boolean"),
        reachable_error=[j.reachable_error for j in judged],
        reachable_crossentropy=[j.reachable_crossentropy for j in judged],
        bias=[j.bias for j in judged], variance=[j.variance for j in judged],
    )
    for column in EVIDENCE:
        if column not in table:
            table[column] = np.nan
    table = table.astype({"fit": "string", "fit_reason": "string", "epochs_run": "Int64", "best_epoch": "Int64",
                          "high_bias": "boolean", "high_variance": "boolean"})
    front = [*keys, *(["status"] if "status" in table else []), "fit", "fit_reason", "high_bias", "high_variance"]
    return table[[*front, *EVIDENCE]].sort_values(keys, ignore_index=True)


def _reason(judgement: Judgement, note: str, measured: bool) -> str:
    if judgement.fit is Verdict.DIVERGED:
        return judgement.reason
    return judgement.reason + note + ("" if measured else _RUNNING_AVERAGES)


_RUNNING_AVERAGES = ("; the training metrics are Keras' running averages over the epoch's batches (dropout on), so "
                     "the better of training and validation stands for the training fit")


def _near_chance_note(reachable: Reachable | None, settings: Settings, loss_name: str) -> str:
    """A sweep whose best configuration is itself near chance: say so, since no verdict can."""
    if settings.regression:
        return baseline_note(reachable, settings)
    chance = settings.chance_loss
    if reachable is None or chance is None or not math.isfinite(reachable.crossentropy):
        return ""
    if reachable.crossentropy < settings.underfit_chance_share * chance:
        return ""
    best = (f"no configuration reaches {LOGISTIC}, and it (validation {loss_name} {reachable.crossentropy:.3g})"
            if reachable.crossentropy_trial == LOGISTIC else
            f"the best configuration (trial {reachable.crossentropy_trial}, validation {loss_name} "
            f"{reachable.crossentropy:.3g})")
    below = 1 - reachable.crossentropy / chance
    level = f"reaches only {below:.0%} below" if below > 0 else "is no better than"
    accuracy, majority = 1 - reachable.error, binary_majority(chance)
    # Accurate, yet a loss no better than chance: confident mistakes. Below chance, noisy labels fit the same numbers.
    if below <= 0 and accuracy > majority + 2 * settings.accuracy_margin:
        return (f"; {best} {level} the chance level {chance:.3g} though the sweep's best validation accuracy is "
                f"{accuracy:.3f} against the majority class's share {majority:.3f}: its outputs are confidently wrong "
                f"where they err, which the {loss_name} punishes without limit (saturated outputs: a smaller "
                "learning rate or some regularization calms them)")
    return (f"; {best} {level} the chance level {chance:.3g}: the inputs carry little signal for this label, or the "
            "task is hard, or no configuration trained enough")
