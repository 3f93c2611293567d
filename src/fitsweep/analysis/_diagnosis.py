"""Diagnosis: does each execution overfit, underfit, fit well, or diverge?

The rules follow the usual reading of learning curves: both losses high means underfitting;
training loss low while validation loss is high or rising means overfitting; both low and close
means a good fit. `diagnose` makes "high", "rising" and "close" precise with thresholds that are
keyword arguments, and explains every verdict with its numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.analysis._common import AnalysisError, FloatArray, as_float, require_columns, trial_keys

__all__ = ["Fit", "diagnose", "chance_level_loss"]

_EPOCH_COLUMNS = ("trial_id", "execution", "epoch", "loss", "val_loss")
_EVIDENCE = [
    "epochs_run", "best_epoch", "min_val_loss", "final_loss", "final_val_loss",
    "loss_gap", "accuracy_gap", "val_rise", "train_trend",
]


class Fit(str, Enum):
    """The verdict on one execution's learning curves.

    A string enum: its members equal their values, so a `fit` column of plain strings can be
    compared with them.

    Example:
        >>> Fit("overfit") == "overfit", Fit.UNDERFIT.remedy.split(",")[0]
        (True, 'add capacity')
    """

    OVERFIT = "overfit"
    UNDERFIT = "underfit"
    GOOD = "good"
    DIVERGED = "diverged"

    def __str__(self) -> str:
        return self.value

    @property
    def remedy(self) -> str:
        """What usually helps, in one line."""
        return {
            Fit.OVERFIT: "regularize (l2, dropout), shrink the network, or stop earlier",
            Fit.UNDERFIT: "add capacity, train longer, raise the learning rate, or weaken regularization",
            Fit.GOOD: "nothing to fix; compare its test accuracy with the other trials",
            Fit.DIVERGED: "lower the learning rate or check the inputs for extreme values",
        }[self]


@dataclass(frozen=True)
class _Thresholds:
    overfit_val_rise: float
    overfit_accuracy_gap: float
    underfit_chance_share: float
    underfit_best_ratio: float


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
    overfit_val_rise: float = 0.10,
    overfit_accuracy_gap: float = 0.10,
    underfit_chance_share: float = 0.5,
    underfit_best_ratio: float = 2.0,
    trend_epochs: int = 5,
) -> pd.DataFrame:
    """Give each execution of each trial a verdict: overfit, underfit, good or diverged.

    The rules, applied in this order to each execution's curves:

    1. **diverged**: a loss or val_loss became NaN or infinite (the remaining evidence is read
       from the epochs before that).
    2. **overfit**: val_loss ended more than `overfit_val_rise` above its minimum while the
       training loss kept falling after that minimum, or the final accuracy gap (train minus
       validation accuracy) exceeds `overfit_accuracy_gap`. The shape of the curves is the
       stronger evidence, so it is checked before the levels.
    3. **underfit**: both losses are high, near chance and far above the sweep's best: the
       final loss and the lowest val_loss are at or above `underfit_chance_share` x
       `chance_loss` (the loss of predicting the class priors), and at or above
       `underfit_best_ratio` x the sweep's lowest final training loss and lowest val_loss
       respectively (some trial shows the task can be learned further). Without `chance_loss`
       only the sweep comparison applies; with a single trial, or when even the sweep's best
       sits near chance, only the chance comparison applies; with neither, underfitting is not
       judged (the reason says so).
    4. **good**: none of the above.

    Defaults and why: a 10% rise of val_loss is well above the epoch-to-epoch noise of a
    validation split of a few thousand examples; a 0.10 accuracy gap is ten points, more than
    dropout's effect on training accuracy; half the chance loss means training has removed less
    than half of what predicting the priors costs; twice the sweep's best loss separates a
    configuration that cannot learn from ordinary spread between seeds.

    Note that Keras' training loss includes the l1/l2 penalty and is measured with dropout
    active (and averaged over the epoch), so a regularized trial can show a training loss above
    its validation loss.

    Args:
        epochs: The epochs table (trial_id, execution, epoch, loss, val_loss, and accuracy,
            val_accuracy when recorded). A `run` column, from concatenating several runs,
            keeps the runs apart: each is compared with its own best trial.
        trials: The trials table, optional. When given, the output gains its `status`; every
            execution of a trial whose status is "diverged" is diverged unless another of its
            executions shows the non-finite loss itself; its executions without epochs get a
            row too. Failed trials without epochs are skipped.
        chance_loss: The task's chance-level loss (see `chance_level_loss`).
        penalty_free: Judge the cross-entropy without the L1/L2 penalty (`crossentropy`,
            `val_crossentropy`) where the epochs table has it, and say so in the reasons; Keras'
            `loss` includes the penalty, which is no measure of fit. False: always `loss`.
        overfit_val_rise: Relative rise of final val_loss over its minimum that means overfit.
        overfit_accuracy_gap: Final train minus validation accuracy that means overfit.
        underfit_chance_share: Share of `chance_loss` at or above which a loss is high.
        underfit_best_ratio: Multiple of the sweep's best training loss that is far above it.
        trend_epochs: How many final epochs `train_trend` is fitted over.

    Returns:
        One row per (trial_id, execution), `run` first when present: `status` (with `trials`),
        `fit` (a `Fit` value), `fit_reason`, and the evidence: `epochs_run`, `best_epoch`
        (1-based epoch of the lowest val_loss), `min_val_loss`, `final_loss`,
        `final_val_loss`, `loss_gap` (final val_loss - final loss), `accuracy_gap` (final
        accuracy - final val_accuracy), `val_rise` (final val_loss / min_val_loss - 1) and
        `train_trend` (slope of the training loss per epoch over the last `trend_epochs`
        epochs, relative to their mean loss: -0.05 is falling 5% per epoch).

    Raises:
        AnalysisError: No epochs to diagnose, or a table without the columns named above.

    Example:
        >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
        >>> table = diagnose(run.epochs, run.trials, chance_loss=chance_level_loss([0.5, 0.5]))  # doctest: +SKIP
        >>> table[table.fit == Fit.OVERFIT][["trial_id", "fit_reason"]]  # doctest: +SKIP
    """
    require_columns(epochs, _EPOCH_COLUMNS, "epochs")
    epochs, renamed = _without_penalty(epochs) if penalty_free else (epochs, False)
    thresholds = _Thresholds(overfit_val_rise, overfit_accuracy_gap, underfit_chance_share, underfit_best_ratio)
    _check_settings(chance_loss, list(vars(thresholds).values()), trend_epochs)
    keys = [*trial_keys(epochs), "execution"]
    rows = [
        {**dict(zip(keys, _key_tuple(key))), **_evidence(curve, trend_epochs)}
        for key, curve in epochs.groupby(keys, sort=True, dropna=False)
    ]
    table = pd.DataFrame(rows, columns=[*keys, *_EVIDENCE, "diverged_at", "loss_at_best"])
    table = _normalise_keys(table)
    if trials is not None:
        table = _apply_trial_status(table, trials, keys)
    if table.empty:
        raise AnalysisError("diagnose found no epochs: the sweep has not finished an epoch yet (or the table is empty)")
    verdicts = _judge(table, keys, chance_loss, thresholds)
    if renamed:
        verdicts["fit_reason"] = verdicts["fit_reason"].str.replace(_LOSS_WORD, _crossentropy_word, regex=True)
    return verdicts


_PENALTY_FREE = {"loss": "crossentropy", "val_loss": "val_crossentropy"}
_LOSS_WORD = r"\b(val_)?loss\b"


def _crossentropy_word(match: re.Match[str]) -> str:
    return f"{match.group(1) or ''}crossentropy"


def _without_penalty(epochs: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Read loss and val_loss from the penalty-free cross-entropy columns, where recorded.

    Keras adds the L1/L2 penalty to `loss` and `val_loss`, which can dwarf the data term (an L1
    penalty on a large network adds more than the chance-level loss), so a well-fitting penalised
    network would read as underfit. fitsweep's epochs table records the same losses without the
    penalty as `crossentropy` and `val_crossentropy`.
    """
    if not set(_PENALTY_FREE.values()) <= set(epochs.columns):
        return epochs, False
    replaced = epochs.copy()
    for penalised, plain in _PENALTY_FREE.items():
        replaced[penalised] = epochs[plain].where(epochs[plain].notna(), epochs[penalised])
    return replaced, True


def _check_settings(chance_loss: float | None, thresholds: Sequence[float], trend_epochs: int) -> None:
    if chance_loss is not None and not (math.isfinite(chance_loss) and chance_loss > 0):
        raise AnalysisError(f"chance_loss must be a positive number, got {chance_loss!r}; see chance_level_loss")
    if any(not (math.isfinite(value) and value >= 0) for value in thresholds):
        raise AnalysisError(f"diagnose thresholds must be non-negative numbers, got {list(thresholds)}")
    if trend_epochs < 2:
        raise AnalysisError(f"trend_epochs must be at least 2 (a slope needs two points), got {trend_epochs}")


def _key_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _normalise_keys(table: pd.DataFrame) -> pd.DataFrame:
    # Parquet, CSV and hand-made tables type the keys differently; merges need one typing.
    return table.astype({"trial_id": "string", "execution": "int64"})


# --- evidence ------------------------------------------------------------------------------


def _evidence(curve: pd.DataFrame, trend_epochs: int) -> dict[str, Any]:
    """The numbers a verdict rests on, read from one execution's epochs."""
    curve = curve.sort_values("epoch")
    epoch = curve["epoch"].to_numpy(dtype="int64")
    loss, val = as_float(curve["loss"]), as_float(curve["val_loss"])
    accuracy = as_float(curve["accuracy"]) if "accuracy" in curve else np.full(len(curve), np.nan)
    val_accuracy = as_float(curve["val_accuracy"]) if "val_accuracy" in curve else np.full(len(curve), np.nan)
    broken = np.flatnonzero(~(np.isfinite(loss) & np.isfinite(val)))
    diverged_at = _divergence(epoch, loss, val, broken[0]) if broken.size else None
    end = broken[0] if broken.size else len(curve)  # evidence from the epochs before a blow-up
    evidence = _curve_evidence(epoch[:end], loss[:end], val[:end], accuracy[:end], val_accuracy[:end], trend_epochs)
    return {**evidence, "epochs_run": len(curve), "diverged_at": diverged_at}


def _divergence(epoch: npt.NDArray[np.int64], loss: FloatArray, val: FloatArray, index: int) -> str:
    name, value = ("loss", loss[index]) if not np.isfinite(loss[index]) else ("val_loss", val[index])
    return f"{name} became {value} at epoch {epoch[index]}"


def _curve_evidence(
    epoch: npt.NDArray[np.int64], loss: FloatArray, val: FloatArray, accuracy: FloatArray, val_accuracy: FloatArray,
    trend_epochs: int,
) -> dict[str, Any]:
    if len(epoch) == 0:
        return {name: np.nan for name in [*_EVIDENCE, "loss_at_best"] if name != "epochs_run"}
    best = int(np.argmin(val))
    return {
        "best_epoch": int(epoch[best]),
        "min_val_loss": float(val[best]),
        "final_loss": float(loss[-1]),
        "final_val_loss": float(val[-1]),
        "loss_gap": float(val[-1] - loss[-1]),
        "accuracy_gap": float(accuracy[-1] - val_accuracy[-1]),
        "val_rise": _relative_rise(val[-1], val[best]),
        "train_trend": _relative_slope(epoch[-trend_epochs:], loss[-trend_epochs:]),
        "loss_at_best": float(loss[best]),
    }


def _relative_rise(final: float, minimum: float) -> float:
    # Cross-entropy is positive; the floor only guards a loss of exactly 0.
    return float((final - minimum) / max(abs(minimum), 1e-12))


def _relative_slope(epoch: npt.NDArray[np.int64], loss: FloatArray) -> float:
    if len(epoch) < 2:
        return math.nan
    slope = np.polyfit(epoch.astype(float), loss, 1)[0]
    return float(slope / max(abs(float(np.mean(loss))), 1e-12))


# --- trial status --------------------------------------------------------------------------


def _apply_trial_status(table: pd.DataFrame, trials: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add `status`; mark diverged trials; give diverged executions without epochs a row."""
    require_columns(trials, [*keys, "status"], "trials")
    status = _normalise_keys(trials.drop_duplicates(keys))
    status = status.assign(status=status["status"].astype("string").str.lower(),
                           error=status["error"] if "error" in status else None)[[*keys, "status", "error"]]
    merged = table.merge(status, on=keys, how="outer", indicator=True)
    diverged = merged["status"].eq("diverged").fillna(False).to_numpy()
    # Failed (or running) trials that never finished an epoch have no curves to judge.
    merged = merged[merged["_merge"].ne("right_only").to_numpy() | diverged]
    trial = keys[:-1]
    shown = merged.groupby(trial, dropna=False)["diverged_at"].transform(lambda s: s.notna().any()).astype(bool)
    # When the blow-up itself was not recorded, the trial's status is the only evidence left.
    hidden = merged["status"].eq("diverged").fillna(False) & ~shown
    merged.loc[hidden, "diverged_at"] = [_status_reason(error) for error in merged.loc[hidden, "error"]]
    return merged.drop(columns=["_merge", "error"]).reset_index(drop=True)


def _status_reason(error: object) -> str:
    text = "" if error is None or error is pd.NA else str(error).strip()
    return f"the trial's status is diverged ({text})" if text else "the trial's status is diverged"


# --- verdicts ------------------------------------------------------------------------------


def _judge(table: pd.DataFrame, keys: list[str], chance_loss: float | None, t: _Thresholds) -> pd.DataFrame:
    best = _sweep_best(table, keys, chance_loss, t)
    verdicts = [
        _verdict(row, best.get(row["run"]) if "run" in keys else best.get(None), chance_loss, t)
        for row in table.to_dict("records")
    ]
    table = table.assign(fit=[fit.value for fit, _ in verdicts], fit_reason=[reason for _, reason in verdicts])
    table = table.astype({"fit": "string", "fit_reason": "string", "epochs_run": "Int64", "best_epoch": "Int64"})
    front = [*keys, *(["status"] if "status" in table else []), "fit", "fit_reason"]
    return table[[*front, *_EVIDENCE]].sort_values(keys, ignore_index=True)


@dataclass(frozen=True)
class _Best:
    """The sweep's lowest final training loss and lowest validation loss."""

    loss: float
    val_loss: float


def _sweep_best(table: pd.DataFrame, keys: list[str], chance_loss: float | None, t: _Thresholds) -> dict[Any, _Best]:
    """Per run (key None: the only run), the sweep's best losses, where they are an informative reference."""
    peers = table[table["diverged_at"].isna() & table["final_loss"].notna()]
    runs = peers.groupby("run", dropna=False) if "run" in keys else [(None, peers)]
    best = {}
    for run, rows in runs:
        lowest = _Best(float(rows["final_loss"].min()), float(rows["min_val_loss"].min()))
        # A trial cannot be far above a sweep made of itself; and when every trial sits near
        # chance, the sweep shows nothing better to reach.
        if rows["trial_id"].nunique() >= 2 and not (
            chance_loss is not None and lowest.loss >= t.underfit_chance_share * chance_loss
        ):
            best[run] = lowest
    return best


def _verdict(row: dict[str, Any], best: _Best | None, chance_loss: float | None, t: _Thresholds) -> tuple[Fit, str]:
    if isinstance(row["diverged_at"], str):
        return Fit.DIVERGED, row["diverged_at"]
    if pd.isna(row["final_loss"]):
        return Fit.DIVERGED, "the trial diverged and this execution recorded no epoch"
    overfit = _overfit_reason(row, t)
    if overfit:
        return Fit.OVERFIT, overfit
    underfit = _underfit_reason(row, best, chance_loss, t)
    if underfit:
        return Fit.UNDERFIT, underfit
    return Fit.GOOD, _good_reason(row, t, judged=best is not None or chance_loss is not None)


def _underfit_reason(row: dict[str, Any], best: _Best | None, chance_loss: float | None, t: _Thresholds) -> str | None:
    # The lowest val_loss: even at its best epoch the trial generalises poorly.
    loss, val = row["final_loss"], row["min_val_loss"]
    if best is None and chance_loss is None:
        return None
    evidence = []
    if chance_loss is not None:
        if min(loss, val) < t.underfit_chance_share * chance_loss:
            return None
        evidence.append(f"loss {loss:.3g} and best val_loss {val:.3g} stay at {loss / chance_loss:.0%} and "
                        f"{val / chance_loss:.0%} of the chance level {chance_loss:.3g}")
    if best is not None:
        # Both errors must be far above the sweep's: a low training loss elsewhere alone may be overfitting.
        if loss < t.underfit_best_ratio * best.loss or val < t.underfit_best_ratio * best.val_loss:
            return None
        evidence.append(f"{loss / max(best.loss, 1e-12):.1f}x the sweep's best training loss {best.loss:.3g} "
                        f"and {val / max(best.val_loss, 1e-12):.1f}x its best val_loss {best.val_loss:.3g}")
    return "; ".join(evidence)


def _overfit_reason(row: dict[str, Any], t: _Thresholds) -> str | None:
    rose = row["val_rise"] > t.overfit_val_rise and row["final_loss"] < row["loss_at_best"]
    gap = row["accuracy_gap"]
    wide = bool(np.isfinite(gap) and gap > t.overfit_accuracy_gap)
    if not (rose or wide):
        return None
    parts = []
    if rose:
        parts.append(f"val_loss rose {row['val_rise']:.0%} above its minimum {row['min_val_loss']:.3g} at epoch "
                     f"{int(row['best_epoch'])} while loss kept falling ({row['loss_at_best']:.3g} to {row['final_loss']:.3g})")
    if np.isfinite(gap):
        parts.append(f"final accuracy gap {gap:.2f}" + (f" (above {t.overfit_accuracy_gap:.2f})" if wide else ""))
    return "; ".join(parts)


def _good_reason(row: dict[str, Any], t: _Thresholds, judged: bool) -> str:
    side = "above" if row["loss_gap"] >= 0 else "below"
    reason = (f"val_loss {row['final_val_loss']:.3g} ends {row['val_rise']:.0%} above its minimum (epoch "
              f"{int(row['best_epoch'])}) and {abs(row['loss_gap']):.3g} {side} training loss {row['final_loss']:.3g}")
    if np.isfinite(row["accuracy_gap"]):
        reason += f"; final accuracy gap {row['accuracy_gap']:.2f}"
    if row["val_rise"] > t.overfit_val_rise and row["final_loss"] >= row["loss_at_best"]:
        reason += "; training loss rose too, which points to unstable training rather than overfitting"
    if not judged:
        reason += "; underfitting not judged (pass chance_loss, or diagnose more than one trial)"
    return reason
