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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.analysis._common import AnalysisError, as_float, require_columns, trial_keys
from fitsweep.analysis._fit_evidence import EVIDENCE, evidence_table
from fitsweep.analysis._noise import best_of_z, binomial_se, finite_population, mean_se, one_sided_z, student_t
from fitsweep.vocabulary import TrialStatus, Verdict

__all__ = ["diagnose", "chance_level_loss", "unscaled_inputs"]

_EPOCH_COLUMNS = ("trial_id", "execution", "epoch", "loss", "val_loss")
# Row counts the trials table carries per execution; without them the noise of a split is unknown.
_ROW_COUNTS = ("train_rows", "train_measured_rows", "val_rows")


@dataclass(frozen=True)
class _Settings:
    confidence: float
    margin: float
    accuracy_margin: float
    underfit_chance_share: float
    chance_loss: float | None
    trend_epochs: int
    unscaled: str  # words for inputs the run left unscaled by request, or ""


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
    settings = _Settings(confidence, margin, accuracy_margin, underfit_chance_share, chance_loss, trend_epochs,
                         unscaled_inputs(data))
    # Training metrics measured in inference mode sit beside Keras' running averages (running_*).
    measured = "running_loss" in epochs.columns and bool(epochs["running_loss"].notna().any())
    epochs, renamed = _without_penalty(epochs) if penalty_free else (epochs, False)
    keys = [*trial_keys(epochs), "execution"]
    table = _normalise_keys(evidence_table(_normalise_keys(epochs), keys, _selected_epochs(trials, keys), trend_epochs))
    if trials is not None:
        table = _with_trial_columns(_apply_trial_status(table, trials, keys), trials, keys)
    if table.empty:
        raise AnalysisError("diagnose found no epochs: the sweep has not finished an epoch yet (or the table is empty)")
    return _judge(table, keys, settings, measured, "crossentropy" if renamed else "loss")


_PENALTY_FREE = {"loss": "crossentropy", "val_loss": "val_crossentropy"}
_CAUSE_COLUMNS = ("params", "l1", "l2", "dropout", "learning_rate", *_ROW_COUNTS)


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


# --- the sweep's reachable level -----------------------------------------------------------


@dataclass(frozen=True)
class _Reachable:
    """The lowest mean validation error and cross-entropy any trial of a run reaches, and their spread."""

    error: float
    error_var: float  # variance of that mean between the best trial's repeats
    error_trial: str
    crossentropy: float
    crossentropy_var: float
    crossentropy_trial: str
    trials: int
    params: float


def _reachable(table: pd.DataFrame, keys: list[str]) -> dict[Any, _Reachable]:
    """Per run (key None: the only run), the sweep's reachable levels; absent with fewer than two trials."""
    if "final_loss" not in table:
        return {}
    finite = table[table["diverged_at"].isna() & table["final_loss"].notna()]
    runs = finite.groupby("run", dropna=False) if "run" in keys else [(None, finite)]
    reachable = {}
    for run, rows in runs:
        per_trial = rows.groupby("trial_id")
        if per_trial.ngroups < 2:
            continue
        error_trial, error, error_var = _best_mean(per_trial["val_error"])
        ce_trial, crossentropy, ce_var = _best_mean(per_trial["val_crossentropy"])
        params = as_float(rows.loc[rows["trial_id"] == ce_trial, "params"]).max() if "params" in rows else math.nan
        reachable[run] = _Reachable(error, error_var, error_trial, crossentropy, ce_var, ce_trial,
                                    per_trial.ngroups, float(params))
    return reachable


def _best_mean(values: Any) -> tuple[str, float, float]:
    means = values.mean()
    if means.isna().all():
        return "", math.nan, 0.0
    best = str(means.idxmin())
    repeats = as_float(values.get_group(best))
    spread = float(np.var(repeats, ddof=1) / len(repeats)) if len(repeats) > 1 else 0.0
    return best, float(means[best]), spread


# --- verdicts ------------------------------------------------------------------------------


def _judge(table: pd.DataFrame, keys: list[str], settings: _Settings, measured: bool, loss_name: str) -> pd.DataFrame:
    reachable = _reachable(table, keys)

    def reference(row: dict[str, Any]) -> _Reachable | None:
        return reachable.get(row["run"] if "run" in keys else None)

    records = cast(list[dict[str, Any]], table.to_dict("records"))
    alone = [_verdict(row, reference(row), settings, measured, loss_name) for row in records]
    outliers = _outliers(records, alone, keys, settings)
    kept = np.array([index not in outliers for index in range(len(records))], dtype=bool)
    pooled = cast(list[dict[str, Any]], _pooled(table[kept], keys[:-1]).to_dict("records"))
    together = {_configuration(row, keys): _verdict(row, reference(row), settings, measured, loss_name)
                for row in pooled}
    judged = _with_repeats(records, alone, together, outliers, keys)
    unscaled = f"; {settings.unscaled}" if settings.unscaled else ""
    notes = [_near_chance_note(reference(row), settings, loss_name) + unscaled for row in records]
    table = table.assign(
        fit=[j.fit.value for j in judged],
        fit_reason=[_reason(j, note, measured) for j, note in zip(judged, notes, strict=True)],
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


def _reason(judgement: _Judgement, note: str, measured: bool) -> str:
    if judgement.fit is Verdict.DIVERGED:
        return judgement.reason
    return judgement.reason + note + ("" if measured else _RUNNING_AVERAGES)


_RUNNING_AVERAGES = ("; the training metrics are Keras' running averages over the epoch's batches (dropout on), so "
                     "the better of training and validation stands for the training fit")


# --- repeats judged together ---------------------------------------------------------------

# The moments of a configuration's repeats whose spread enters the noise of their mean.
_SPREAD = ("train_error", "train_crossentropy")
_EPOCHS = ("best_epoch", "min_val_epoch", "last_epoch")


def _configuration(row: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    return tuple(row[key] for key in keys[:-1])


def _pooled(table: pd.DataFrame, trial: list[str]) -> pd.DataFrame:
    """One row per configuration with two or more finite executions: the mean of their evidence.

    `repeats` counts them; `<measure>_spread` is the variance of the mean of `_SPREAD`'s measures
    between them (the seed's noise, which the repeats measure and their mean divides by their
    number). Epochs are the median's, for the rules; the reasons of a pooled row name none.
    """
    finite = table[table["diverged_at"].isna() & table["final_loss"].notna()]
    grouped = finite.groupby(trial, sort=False, dropna=False)
    size = grouped["final_loss"].transform("size")
    finite = finite[size.to_numpy() >= 2]
    if finite.empty:
        return finite
    grouped = finite.groupby(trial, sort=False, dropna=False)
    numeric = [c for c in finite.columns
               if c not in (*trial, "execution", *_EPOCHS) and pd.api.types.is_numeric_dtype(finite[c])]
    pooled = grouped[numeric].mean()
    repeats = grouped.size()
    pooled["repeats"] = repeats
    for measure in _SPREAD:
        pooled[f"{measure}_spread"] = grouped[measure].var(ddof=1) / repeats
    for name in _EPOCHS:
        pooled[name] = grouped[name].median().round()
    return pooled.reset_index().assign(diverged_at=None)


def _with_repeats(records: list[dict[str, Any]], alone: list[_Judgement], together: dict[tuple[Any, ...], _Judgement],
                  outliers: dict[int, str], keys: list[str]) -> list[_Judgement]:
    """Each execution takes its configuration's verdict, unless it diverged or stands out from its repeats.

    The configuration's reason, read from its repeats' mean, says how many they were.
    """
    judged = []
    for index, row in enumerate(records):
        own, shared = alone[index], together.get(_configuration(row, keys))
        if own.fit is Verdict.DIVERGED or shared is None or shared.fit is own.fit:
            judged.append(own)
        elif index in outliers:
            judged.append(replace(own, reason=f"execution {row['execution']} is an outlier among its "
                                              f"{outliers[index]}: {own.reason}"))
        else:
            judged.append(replace(shared, reason=f"its repeats judged together: {shared.reason}; alone, this "
                                                 f"execution reads {own.fit.value} ({_first_clause(own.reason)})",
                                  bias=own.bias, variance=own.variance))
    return judged


def _first_clause(reason: str) -> str:
    return reason.split(". ")[0].split("; ")[0]


def _outliers(records: list[dict[str, Any]], alone: list[_Judgement], keys: list[str],
              settings: _Settings) -> dict[int, str]:
    """The executions clearly apart from their repeats, with words saying how; they are left out of the pool.

    Apart means, on the training cross-entropy (bias) or the variance, beyond what the other
    repeats' spread predicts for one more of them (Student's t on n - 2 degrees of freedom, at
    `confidence` corrected for testing each of the n repeats), and by more than `margin` of its
    level. Two repeats cannot tell which one stands out, so an outlier needs three or more.
    """
    siblings: dict[tuple[Any, ...], list[int]] = {}
    for index, row in enumerate(records):
        if alone[index].fit is not Verdict.DIVERGED:
            siblings.setdefault(_configuration(row, keys), []).append(index)
    measures = {"training cross-entropy": [_number(row, "train_crossentropy") for row in records],
                "variance": [judgement.variance for judgement in alone]}
    found = {}
    for members in siblings.values():
        if len(members) < 3:
            continue
        for index in members:
            others = [i for i in members if i != index]
            for name, values in measures.items():
                words = _apart(values[index], [values[i] for i in others], name, settings)
                if words:
                    found[index] = f"{len(members)} repeats ({words})"
                    break
    return found


def _apart(value: float, others: list[float], name: str, settings: _Settings) -> str:
    sample = np.asarray([v for v in others if math.isfinite(v)])
    if len(sample) < 2 or not math.isfinite(value):
        return ""
    center, sd = float(sample.mean()), float(sample.std(ddof=1))
    n = len(sample) + 1
    bound = student_t(1 - (1 - settings.confidence) / n, n - 2) * sd * math.sqrt(1 + 1 / len(sample))
    if abs(value - center) <= max(bound, settings.margin * max(abs(center), abs(value))):
        return ""
    return f"its {name} {value:.3g} against {center:.3g} for the others, beyond their spread {bound:.2g}"


def _near_chance_note(reachable: _Reachable | None, settings: _Settings, loss_name: str) -> str:
    """A sweep whose best configuration is itself near chance: say so, since no verdict can."""
    chance = settings.chance_loss
    if reachable is None or chance is None or not math.isfinite(reachable.crossentropy):
        return ""
    if reachable.crossentropy < settings.underfit_chance_share * chance:
        return ""
    below = 1 - reachable.crossentropy / chance
    return (f"; the best configuration (trial {reachable.crossentropy_trial}, validation {loss_name} "
            f"{reachable.crossentropy:.3g}) reaches only {max(below, 0):.0%} below the chance level {chance:.3g}: the "
            "inputs carry little signal for this label, or the task is hard, or no configuration trained enough")


@dataclass(frozen=True)
class _Judgement:
    fit: Verdict
    reason: str
    high_bias: bool | None = None
    high_variance: bool | None = None
    bias: float = math.nan
    variance: float = math.nan
    reachable_error: float = math.nan
    reachable_crossentropy: float = math.nan


@dataclass(frozen=True)
class _Finding:
    """One side of the verdict: whether it is clear, how large (cross-entropy), and why."""

    clear: bool
    size: float
    text: str


def _verdict(row: dict[str, Any], reachable: _Reachable | None, settings: _Settings, measured: bool,
             loss_name: str) -> _Judgement:
    if isinstance(row["diverged_at"], str):
        return _Judgement(Verdict.DIVERGED, row["diverged_at"])
    if _missing(row.get("final_loss")):
        return _Judgement(Verdict.DIVERGED, "the trial diverged and this execution recorded no epoch")
    bias = _bias(row, reachable, settings, measured, loss_name)
    variance = _variance(row, reachable, settings, loss_name)
    levels = {"reachable_error": reachable.error if reachable else math.nan,
              "reachable_crossentropy": reachable.crossentropy if reachable else math.nan}
    numbers = {"bias": bias.size, "variance": variance.size, **levels}
    if bias.clear and variance.clear:
        fit = Verdict.UNDERFIT if bias.size >= variance.size else Verdict.OVERFIT
        first, second = (bias, variance) if fit is Verdict.UNDERFIT else (variance, bias)
        other = "overfits" if fit is Verdict.UNDERFIT else "underfits"
        reason = f"{first.text}. It also {other}, the smaller problem: {second.text}"
        return _Judgement(fit, reason, True, True, **numbers)
    if bias.clear:
        return _Judgement(Verdict.UNDERFIT, bias.text, True, False, **numbers)
    if variance.clear:
        return _Judgement(Verdict.OVERFIT, variance.text, False, True, **numbers)
    return _Judgement(Verdict.GOOD, _good_reason(row, reachable, bias, settings, loss_name), False, False, **numbers)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number(row: dict[str, Any], name: str) -> float:
    value = row.get(name)
    if value is None or value is pd.NA:
        return math.nan
    return float(value)  # NaN stays NaN


def _repeats(row: dict[str, Any]) -> int:
    repeats = _number(row, "repeats")
    return int(repeats) if math.isfinite(repeats) else 1


def _mean_of(row: dict[str, Any]) -> str:
    """" (mean of N repeats)" after a pooled configuration's number, "" after one execution's."""
    return f" (mean of {_repeats(row)} repeats)" if _repeats(row) > 1 else ""


def _at_epoch(row: dict[str, Any], name: str, words: str = " at epoch ") -> str:
    """Where one execution's number was read; a pooled configuration's repeats have each their own epochs."""
    return f"{words}{int(row[name])}" if _repeats(row) == 1 and math.isfinite(_number(row, name)) else ""


# --- bias ----------------------------------------------------------------------------------

# A training loss still falling faster than this share per epoch at its end has not converged
# (a few epochs of SGD fall by 10% or more; a converged net by well under 1%).
_STEEP_TREND = -0.03
# A training loss that moved less than this share of its level over the whole run never moved: it
# reads the same to the three digits a loss is read at.
_FLAT_RANGE = 1e-3


def _bias(row: dict[str, Any], reachable: _Reachable | None, settings: _Settings, measured: bool,
          loss_name: str) -> _Finding:
    """High bias: a loss stuck at chance, a training level clearly above what the sweep reaches, or (alone) its curve.

    The chance level is no floor: with noisy labels even a perfect model's cross-entropy is a large
    share of it, so a sweep calls an execution underfit only when a configuration does clearly
    better; alone, only its own curve can show bias.
    """
    train_error, val_error = _number(row, "train_error"), _number(row, "val_error")
    train_ce, val_ce = _number(row, "train_crossentropy"), _number(row, "val_crossentropy")
    if not measured:  # running averages under dropout overstate the training error
        train_error, train_ce = _better(train_error, val_error), _better(train_ce, val_ce)
    stuck = _stuck(row, train_ce, settings, loss_name)
    if stuck:
        size = train_ce - reachable.crossentropy if reachable else train_ce  # all of it is left to learn
        return _Finding(True, size, stuck + _underfit_causes(row, reachable, settings, train_ce))
    if reachable is None:
        return _alone_bias(row, train_error, train_ce, settings, loss_name)
    checks = [
        _above_reachable(row, train_error, reachable.error, reachable.error_var, reachable, settings, "error"),
        _above_reachable(row, train_ce, reachable.crossentropy, reachable.crossentropy_var, reachable, settings,
                         loss_name),
    ]
    clear = [check for check in checks if check is not None]
    if not clear:
        return _Finding(False, train_ce - reachable.crossentropy, "")
    text = "; ".join(clear) + _underfit_causes(row, reachable, settings, train_ce)
    return _Finding(True, train_ce - reachable.crossentropy, text)


def _better(train: float, val: float) -> float:
    return _nan_extreme(min, train, val) if math.isfinite(train) or math.isfinite(val) else math.nan


def _nan_extreme(pick: Any, first: float, second: float) -> float:
    """`pick` (min or max) of two numbers, NaN ignored, as np.nanmin/np.nanmax give it without their cost."""
    values = [value for value in (first, second) if not math.isnan(value)]
    return float(pick(values)) if values else math.nan


def _at_chance(train_ce: float, settings: _Settings) -> bool:
    """Within `margin` of the chance level (or above it): as good as predicting the class priors."""
    chance = settings.chance_loss
    return chance is not None and math.isfinite(train_ce) and train_ce >= (1 - settings.margin) * chance


def _flat(row: dict[str, Any]) -> bool:
    return _number(row, "train_range") < _FLAT_RANGE and _number(row, "epochs_run") >= 2


def _stuck(row: dict[str, Any], train_ce: float, settings: _Settings, loss_name: str) -> str:
    """Words for a training loss at the chance level that never moved over its epochs, or ""."""
    if not (_flat(row) and _at_chance(train_ce, settings)):
        return ""
    chance = cast(float, settings.chance_loss)
    return (f"the training {loss_name} never moved: {_number(row, 'first_loss'):.4g} after the first epoch and "
            f"{_number(row, 'final_loss'):.4g} after the last{_mean_of(row)}, {train_ce / chance:.0%} of the chance "
            f"level {chance:.3g}: nothing trained")


def _above_reachable(row: dict[str, Any], level: float, reference: float, spread: float, reachable: _Reachable,
                     settings: _Settings, measure: str) -> str | None:
    """Words for a training level clearly above the sweep's reachable level, or None.

    For a configuration's repeats judged together, the level is their mean and the variance of
    that mean between them adds to the noise; the validation split's own noise does not shrink
    with repeats, as every repeat is measured on the same rows.
    """
    if not (math.isfinite(level) and math.isfinite(reference)):
        return None
    val_rows = _number(row, "val_rows")
    if measure == "error":
        noise = _level_se(row, binomial_se(level, val_rows), "val_error_scatter", 1.0) ** 2 + _train_se(
            row, binomial_se(level, _measured_rows(row))) ** 2
    else:
        sd = _number(row, "train_crossentropy_sd")
        noise = _level_se(row, mean_se(sd, val_rows), "val_scatter", level) ** 2 + _train_se(
            row, mean_se(sd, _measured_rows(row))) ** 2
    own_spread = _number(row, f"train_{'error' if measure == 'error' else 'crossentropy'}_spread")
    noise += own_spread if math.isfinite(own_spread) else 0.0
    bound = best_of_z(settings.confidence, reachable.trials) * math.sqrt(noise + spread)
    difference = level - reference
    if difference <= max(bound, _practical(settings, measure, level)) or difference <= 0:
        return None
    trial = reachable.error_trial if measure == "error" else reachable.crossentropy_trial
    if measure == "error":
        shown = (f"training accuracy {1 - level:.3f}{_mean_of(row)} against {1 - reference:.3f} reachable "
                 f"(trial {trial}'s validation accuracy)")
    else:
        shown = (f"training {measure} {level:.3g}{_mean_of(row)} against {reference:.3g} reachable "
                 f"(trial {trial}'s validation)")
    return shown + _beyond(bound, reachable.trials, val_rows)


def _level_se(row: dict[str, Any], counted: float, scatter: str, level: float) -> float:
    """A validation level's standard error: from its row count, else from its curve's epoch-to-epoch scatter."""
    if math.isfinite(_number(row, "val_rows")):
        return counted
    relative = _number(row, scatter)
    return relative * abs(level) if math.isfinite(relative) else 0.0


def _practical(settings: _Settings, measure: str, level: float) -> float:
    """The smallest difference that counts: absolute for error rates, relative for cross-entropies."""
    return settings.accuracy_margin if measure == "error" else settings.margin * level


def _beyond(bound: float, trials: int, val_rows: float) -> str:
    if not math.isfinite(val_rows):
        return f", beyond the noise bound {bound:.2g} (from its curve's scatter: the trials table has no row counts)"
    return f", beyond the noise bound {bound:.2g} for the best of {trials} trials"


def _measured_rows(row: dict[str, Any]) -> float:
    return _number(row, "train_measured_rows")


def _train_se(row: dict[str, Any], sample_se: float) -> float:
    """A training estimate's standard error: 0 when every training row was measured."""
    return sample_se * finite_population(_measured_rows(row), _number(row, "train_rows"))


def _alone_bias(row: dict[str, Any], train_error: float, train_ce: float, settings: _Settings,
                loss_name: str) -> _Finding:
    """With one configuration, only its own curve shows bias: a loss at chance, or one still falling steeply.

    A network that classifies its training rows right but for `accuracy_margin` fits them: its
    loss falling further (0.01 to 0.002 is -80% an epoch) is confidence, not a bias to remove.
    """
    if _at_chance(train_ce, settings):
        chance = cast(float, settings.chance_loss)
        text = (f"it learned nothing: training {loss_name} {train_ce:.3g}{_mean_of(row)} is {train_ce / chance:.0%} "
                f"of the chance level {chance:.3g}")
        return _Finding(True, train_ce, text + _underfit_causes(row, None, settings, train_ce))
    trend = _number(row, "train_trend")
    if math.isfinite(train_error) and train_error <= settings.accuracy_margin:
        return _Finding(False, math.nan, "")
    if math.isfinite(trend) and trend < min(_STEEP_TREND, -_trend_bound(row, settings)):  # steep beyond its scatter
        # Its size: what as many epochs again would take off at the final rate, a floor of the bias left.
        size = -trend * _number(row, "epochs_run") * train_ce
        return _Finding(True, size, f"training {loss_name} still falls {-trend:.1%} per epoch"
                                        f"{_at_epoch(row, 'last_epoch')}, so training stopped before it converged"
                                        + _underfit_causes(row, None, settings, train_ce))
    return _Finding(False, math.nan, "")


def _improving(row: dict[str, Any], settings: _Settings) -> str:
    """Words for a training loss still falling clearly when training stopped, or "".

    Clearly: as many epochs again at its final rate would take more than `margin` off it (a
    straight line overstates what a slowing curve gains, so less is a clear no).
    """
    trend, epochs = _number(row, "train_trend"), _number(row, "epochs_run")
    if _number(row, "best_epoch") < _number(row, "last_epoch") - 1 or not (math.isfinite(trend) and trend < 0):
        return ""
    if -trend * epochs <= settings.margin or -trend <= _trend_bound(row, settings):
        return ""
    return (f"still improving{_at_epoch(row, 'last_epoch', ' at its last epoch ')} (training loss falling "
            f"{_percent(-trend)} per epoch, steadily): raise the learning rate{_learning_rate(row)}, or train longer")


def _percent(share: float) -> str:
    """A share in percent to two significant digits: a fall of 0.04% an epoch is not "0.0%"."""
    return f"{100 * share:.2g}%"


def _trend_bound(row: dict[str, Any], settings: _Settings) -> float:
    """How steep a relative trend the training loss's own scatter gives over the final epochs by chance.

    A least-squares slope over k epochs has standard error s / sqrt(k (k^2 - 1) / 12) for
    independent noise s; unknown scatter gives 0.
    """
    scatter = _number(row, "train_scatter")
    k = min(settings.trend_epochs, _number(row, "epochs_run"))
    if not (math.isfinite(scatter) and k >= 2):
        return 0.0
    return one_sided_z(settings.confidence) * scatter / math.sqrt(k * (k * k - 1) / 12)


def _learning_rate(row: dict[str, Any]) -> str:
    rate = _number(row, "learning_rate")
    return f" ({rate:g})" if math.isfinite(rate) else ""


def _too_fast(row: dict[str, Any], settings: _Settings) -> str:
    """Words for a training loss that rises at its end or jumps between epochs: a learning rate too high."""
    trend, epochs, scatter = _number(row, "train_trend"), _number(row, "epochs_run"), _number(row, "train_scatter")
    if math.isfinite(trend) and trend > max(settings.margin / epochs, _trend_bound(row, settings)):
        shown = f"the training loss rises {trend:.1%} per epoch at its end"
    elif math.isfinite(scatter) and scatter > settings.margin:
        shown = f"the training loss jumps about {scatter:.0%} between epochs"
    else:
        return ""
    return f"{shown}: the learning rate{_learning_rate(row)} is likely too high: lower it"


def _never_moved_causes(row: dict[str, Any], settings: _Settings) -> str:
    return (f"the training loss never moved (it changed {_number(row, 'train_range'):.2%} over "
            f"{_number(row, 'epochs_run'):.0f} epochs): a learning rate{_learning_rate(row)} too small to move the "
            "weights (raise it), dead relu units or saturated outputs (a loss that reads the same at every epoch has "
            "no gradient)")


def unscaled_inputs(data: Mapping[str, Any] | None) -> str:
    """Words for inputs left unscaled that `data.scaling: auto` would have scaled ("" otherwise).

    The run's data section records, for a `scaling: none` asked for, what auto would have done
    and on what numbers (`scaling_reason`); unscaled inputs that far from the unit range hold
    back every configuration alike, so no comparison within the sweep can show it.
    """
    if not data or data.get("scaling") != "none":
        return ""
    reason = str(data.get("scaling_reason") or "")
    marker = "auto would "
    if marker not in reason:
        return ""
    return (f"the inputs were left unscaled (data.scaling: none) though {reason[reason.index(marker):]}; "
            "every configuration may be held back by it: set data.scaling: auto")


def _majority(row: dict[str, Any], train_ce: float, settings: _Settings) -> str:
    """Words for a model at chance that predicts the majority class for every row, or ""."""
    chance = settings.chance_loss
    train, val = _number(row, "train_error"), _number(row, "val_error")
    if not (_at_chance(train_ce, settings) and math.isfinite(train) and math.isfinite(val)):
        return ""
    if abs(train - val) > settings.accuracy_margin:
        return ""
    share = _binary_majority(cast(float, chance))
    baseline = (f", the majority class's share {share:.3f}" if math.isfinite(share) and abs(1 - train - share)
                <= settings.accuracy_margin else "")
    return (f"it predicts the class priors for every row, as a model of no inputs would: training accuracy "
            f"{1 - train:.3f} and validation {1 - val:.3f}{baseline} (the majority-class baseline)")


def _binary_majority(chance: float) -> float:
    """The majority share of a binary task whose chance-level loss is `chance` (NaN above ln 2: more classes)."""
    if not 0 < chance <= math.log(2) + 1e-12:
        return math.nan
    low, high = 1e-12, 0.5  # the binary entropy rises from 0 to ln 2 over (0, 0.5]: bisect it
    for _ in range(60):
        middle = (low + high) / 2
        if -(middle * math.log(middle) + (1 - middle) * math.log(1 - middle)) < chance:
            low = middle
        else:
            high = middle
    return 1 - low


def _underfit_causes(row: dict[str, Any], reachable: _Reachable | None, settings: _Settings, train_ce: float) -> str:
    """The likely causes of high bias, the optimisation first: no capacity helps a network that does not train."""
    causes = []
    if _flat(row):
        causes.append(_never_moved_causes(row, settings))
    else:
        causes += [text for text in (_too_fast(row, settings), _improving(row, settings)) if text]
    penalties = [f"{name}={_number(row, name):g}" for name in ("l1", "l2", "dropout") if _number(row, name) > 0]
    if penalties:
        causes.append(f"regularization {', '.join(penalties)}: weaken it")
    params = _number(row, "params")
    if reachable is not None and math.isfinite(params) and math.isfinite(reachable.params) and \
            params < reachable.params / 2:
        causes.append(f"a small network ({params:,.0f} parameters against {reachable.params:,.0f} in trial "
                      f"{reachable.crossentropy_trial}): add capacity")
    majority = _majority(row, train_ce, settings)
    return (f". Likely cause: {'; '.join(causes)}" if causes else "") + (f". {majority[:1].upper()}{majority[1:]}"
                                                                         if majority else "")


# --- variance ------------------------------------------------------------------------------


def _variance(row: dict[str, Any], reachable: _Reachable | None, settings: _Settings, loss_name: str) -> _Finding:
    gap = _gap(row, reachable, settings)
    rise, rise_text = _rise(row, settings, loss_name)
    found = [text for text in (gap, rise_text) if text]
    gap_size = _number(row, "val_crossentropy") - _number(row, "train_crossentropy")
    size = _nan_extreme(max, rise, gap_size) if math.isfinite(rise) or math.isfinite(gap_size) else math.nan
    if not found:
        return _Finding(False, size, "")
    return _Finding(True, size, "; ".join(found) + _overfit_causes(row, rose=bool(rise_text)))


def _gap(row: dict[str, Any], reachable: _Reachable | None, settings: _Settings) -> str:
    """Validation accuracy clearly below training at the selected epoch, and clearly below what the sweep reaches.

    Only accuracy is compared here: a healthy network's validation cross-entropy commonly exceeds
    its training cross-entropy by tens of percent (it grows more confident on rows it was trained
    on), so a cross-entropy gap alone is no sign of overfitting; its rise over the epochs is.
    """
    train, val = _number(row, "train_error"), _number(row, "val_error")
    if not (math.isfinite(train) and math.isfinite(val)):
        return ""
    val_rows = _number(row, "val_rows")
    val_se = _level_se(row, binomial_se(val, val_rows), "val_error_scatter", 1.0)
    train_se = _train_se(row, binomial_se(train, _measured_rows(row)))
    bound = one_sided_z(settings.confidence) * math.hypot(val_se, train_se)
    clear = val - train > max(bound, settings.accuracy_margin)
    if not clear or not _worse_than_reachable(val, val_se, reachable, settings):
        return ""
    return (f"validation accuracy {1 - val:.3f} against training {1 - train:.3f}{_mean_of(row)}"
            f"{_at_epoch(row, 'best_epoch')}" + _beyond_gap(bound, val_rows))


def _beyond_gap(bound: float, val_rows: float) -> str:
    return f" (noise bound {bound:.2g}{'' if math.isfinite(val_rows) else ', from the curve'})"


def _worse_than_reachable(val: float, val_se: float, reachable: _Reachable | None, settings: _Settings) -> bool:
    # The best configuration has a gap too: only a gap that costs generalisation is overfitting.
    if reachable is None:
        return True
    bound = best_of_z(settings.confidence, reachable.trials) * math.sqrt(val_se**2 + reachable.error_var)
    return bool(math.isfinite(reachable.error) and val - reachable.error > max(bound, settings.accuracy_margin))


def _rise(row: dict[str, Any], settings: _Settings, loss_name: str) -> tuple[float, str]:
    """The validation loss turned up after its minimum while the training loss kept falling."""
    z = one_sided_z(settings.confidence)
    lowest, final = _number(row, "min_val_loss"), _number(row, "final_val_loss")
    rise = final - lowest
    bound = _rise_bound(row, settings, lowest)
    fell = _number(row, "loss_at_min_val") - _number(row, "final_loss")
    train_bound = z * _train_se(row, mean_se(_number(row, "final_loss_sd"), _measured_rows(row)))
    if not (rise > max(bound, settings.margin * lowest) and fell > train_bound and fell > 0):
        return math.nan, ""
    text = (f"validation {loss_name} rose {rise / lowest:.0%}{_mean_of(row)} after its minimum {lowest:.3g}"
            f"{_at_epoch(row, 'min_val_epoch')}, to {final:.3g}{_at_epoch(row, 'last_epoch')}"
            f"{_beyond_gap(bound, _number(row, 'val_rows'))}, while training {loss_name} kept falling "
            f"({_number(row, 'loss_at_min_val'):.3g} to {_number(row, 'final_loss'):.3g})")
    return rise, text


def _rise_bound(row: dict[str, Any], settings: _Settings, lowest: float) -> float:
    """How far the final validation loss may sit above the minimum by noise alone.

    With row counts: z standard errors of the loss on that many validation rows. Without them:
    the curve's own epoch-to-epoch scatter s; the minimum is the lowest of the epochs' noisy
    values and the final one is another, so the rise of a flat curve stays below
    z_best * sqrt(2) * s, z_best corrected for taking the lowest of the epochs (Bonferroni).
    """
    if math.isfinite(_number(row, "val_rows")):
        return one_sided_z(settings.confidence) * mean_se(_number(row, "val_sd_at_min"), _number(row, "val_rows"))
    scatter, epochs = _number(row, "val_scatter"), _number(row, "epochs_run")
    if not (math.isfinite(scatter) and math.isfinite(epochs)):
        return 0.0
    return best_of_z(settings.confidence, int(epochs)) * math.sqrt(2) * scatter * abs(lowest)


def _overfit_causes(row: dict[str, Any], rose: bool) -> str:
    causes = []
    params, rows = _number(row, "params"), _number(row, "train_rows")
    if math.isfinite(params) and math.isfinite(rows) and params > rows:
        causes.append(f"a small training set for the network ({rows:,.0f} rows, {params:,.0f} parameters): "
                      "more data, or a smaller network")
    if all(not (_number(row, name) > 0) for name in ("l1", "l2", "dropout")) and "params" in row:
        causes.append("no regularization: add dropout or l2")
    kept = f". The kept weights are epoch {int(row['best_epoch'])}'s, before the rise" if (
        rose and _repeats(row) == 1 and _number(row, "best_epoch") < _number(row, "last_epoch")) else ""
    return kept + (". Likely cause: " + "; ".join(causes) if causes else "")


# --- good ----------------------------------------------------------------------------------


def _good_reason(row: dict[str, Any], reachable: _Reachable | None, bias: _Finding, settings: _Settings,
                 loss_name: str) -> str:
    train, val = _number(row, "train_error"), _number(row, "val_error")
    accuracy = (f"training accuracy {1 - train:.3f}, validation {1 - val:.3f}{_mean_of(row)}"
                f"{_at_epoch(row, 'best_epoch')}" if math.isfinite(train) and math.isfinite(val) else
                f"training {loss_name} {_number(row, 'train_crossentropy'):.3g}, validation "
                f"{_number(row, 'val_crossentropy'):.3g}{_mean_of(row)}{_at_epoch(row, 'best_epoch')}")
    if reachable is not None:
        return (f"{accuracy}: within noise of the {1 - reachable.error:.3f} validation accuracy the sweep reaches, "
                "and no clear rise of the validation loss")
    if bias.text:
        note = bias.text
    elif settings.chance_loss is None:
        note = ("underfitting judged by its curve alone: one configuration shows nothing better to reach "
                "(pass chance_loss, or sweep more than one configuration)")
    else:
        note = (f"underfitting judged by its curve alone (below the chance level {settings.chance_loss:.3g}, not "
                "still falling steeply): one configuration shows nothing better to reach; sweep more than one "
                "configuration to compare")
    return f"{accuracy}; no clear gap or rise of the validation loss; {note}"
