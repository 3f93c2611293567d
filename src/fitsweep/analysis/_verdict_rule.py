"""The verdict of one row of evidence: diverged, underfit (high bias), overfit (high variance) or good.

When both bias and variance are clearly high the larger of the two, in cross-entropy, is the
verdict, and its reason names the other as the smaller problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fitsweep.analysis._baseline import LINEAR, LOGISTIC
from fitsweep.analysis._evidence_row import Finding, Settings, at_epoch, mean_of, number
from fitsweep.analysis._high_bias import high_bias
from fitsweep.analysis._high_variance import high_variance
from fitsweep.analysis._reachable import Reachable
from fitsweep.vocabulary import Verdict

__all__ = ["Judgement", "verdict"]


@dataclass(frozen=True)
class Judgement:
    """A row's verdict, its reason, and the numbers `diagnose` reports beside it."""

    fit: Verdict
    reason: str
    high_bias: bool | None = None
    high_variance: bool | None = None
    bias: float = math.nan
    variance: float = math.nan
    reachable_error: float = math.nan
    reachable_crossentropy: float = math.nan


def verdict(row: dict[str, Any], reachable: Reachable | None, settings: Settings, measured: bool,
            loss_name: str) -> Judgement:
    """Judge one execution, or a configuration's repeats pooled, against the sweep's reachable level."""
    if isinstance(row["diverged_at"], str):
        return Judgement(Verdict.DIVERGED, row["diverged_at"])
    if _missing(row.get("final_loss")):
        return Judgement(Verdict.DIVERGED, "the trial diverged and this execution recorded no epoch")
    bias = high_bias(row, reachable, settings, measured, loss_name)
    variance = high_variance(row, reachable, settings, loss_name)
    levels = {"reachable_error": reachable.error if reachable else math.nan,
              "reachable_crossentropy": reachable.crossentropy if reachable else math.nan}
    numbers = {"bias": bias.size, "variance": variance.size, **levels}
    if bias.clear and variance.clear:
        fit = Verdict.UNDERFIT if bias.size >= variance.size else Verdict.OVERFIT
        first, second = (bias, variance) if fit is Verdict.UNDERFIT else (variance, bias)
        other = "overfits" if fit is Verdict.UNDERFIT else "underfits"
        reason = f"{first.text}. It also {other}, the smaller problem: {second.text}"
        return Judgement(fit, reason, True, True, **numbers)
    if bias.clear:
        return Judgement(Verdict.UNDERFIT, bias.text, True, False, **numbers)
    if variance.clear:
        return Judgement(Verdict.OVERFIT, variance.text, False, True, **numbers)
    return Judgement(Verdict.GOOD, _good_reason(row, reachable, bias, settings, loss_name), False, False, **numbers)


def _good_regression_reason(row: dict[str, Any], reachable: Reachable | None, bias: Finding,
                            settings: Settings) -> str:
    train, val = number(row, "train_crossentropy"), number(row, "val_crossentropy")
    shown = (f"training MSE {train:.4g}, validation {val:.4g}{_r2(val, settings)}{mean_of(row)}"
             f"{at_epoch(row, 'best_epoch')}")
    if reachable is not None and not reachable.alone:
        whose = LINEAR if reachable.crossentropy_trial == LINEAR else "the sweep"
        return (f"{shown}: within noise of the {reachable.crossentropy:.4g} validation MSE {whose} reaches, "
                "and no clear gap or rise of the validation error")
    if reachable is not None:
        return (f"{shown}: within noise of the {reachable.crossentropy:.4g} validation MSE {LINEAR} reaches, "
                "and no clear gap or rise of the validation error, nor a curve still falling steeply")
    note = bias.text or "underfitting judged by its curve alone: one configuration shows nothing better to reach"
    return f"{shown}; no clear gap or rise of the validation error; {note}"


def _r2(mse: float, settings: Settings) -> str:
    """" (R² 0.45)" against the baseline of predicting the training mean, when it is known."""
    baseline = settings.chance_loss
    return f" (R² {1 - mse / baseline:.2f})" if baseline and math.isfinite(mse) else ""


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _good_reason(row: dict[str, Any], reachable: Reachable | None, bias: Finding, settings: Settings,
                 loss_name: str) -> str:
    if settings.regression:
        return _good_regression_reason(row, reachable, bias, settings)
    train, val = number(row, "train_error"), number(row, "val_error")
    accuracy = (f"training accuracy {1 - train:.3f}, validation {1 - val:.3f}{mean_of(row)}"
                f"{at_epoch(row, 'best_epoch')}" if math.isfinite(train) and math.isfinite(val) else
                f"training {loss_name} {number(row, 'train_crossentropy'):.3g}, validation "
                f"{number(row, 'val_crossentropy'):.3g}{mean_of(row)}{at_epoch(row, 'best_epoch')}")
    if reachable is not None:
        by_accuracy = math.isfinite(reachable.error)  # a run that records no accuracy: by its loss
        level = (f"{1 - reachable.error:.3f} validation accuracy" if by_accuracy
                 else f"{reachable.crossentropy:.3g} validation {loss_name}")
        whose = reachable.error_trial if by_accuracy else reachable.crossentropy_trial
        reaches = LOGISTIC if whose == LOGISTIC else "the sweep"
        return f"{accuracy}: within noise of the {level} {reaches} reaches, and no clear rise of the validation loss"
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
