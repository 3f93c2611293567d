"""High bias: a row fits its own training rows clearly worse than the sweep's best configuration generalises.

The chance level is no floor: with noisy labels even a perfect model's cross-entropy is a large
share of it, so a sweep calls an execution underfit only when a configuration does clearly
better, or when its loss never moved from the chance level; alone, only its own curve can show
bias.
"""

from __future__ import annotations

import math
from typing import Any, cast

from fitsweep.analysis._baseline import LINEAR, LOGISTIC
from fitsweep.analysis._evidence_row import (
    Finding,
    Settings,
    at_chance,
    at_epoch,
    flat,
    level_se,
    mean_of,
    measured_rows,
    nan_extreme,
    number,
    train_se,
    trend_bound,
)
from fitsweep.analysis._likely_causes import underfit_causes
from fitsweep.analysis._noise import best_of_z, binomial_se, mean_se
from fitsweep.analysis._reachable import Reachable

__all__ = ["high_bias"]

# A training loss still falling faster than this share per epoch at its end has not converged
# (a few epochs of SGD fall by 10% or more; a converged net by well under 1%).
_STEEP_TREND = -0.03


def high_bias(row: dict[str, Any], reachable: Reachable | None, settings: Settings, measured: bool,
              loss_name: str) -> Finding:
    """A loss stuck at chance, a training level clearly above what the sweep reaches, or (alone) its curve."""
    train_error, val_error = number(row, "train_error"), number(row, "val_error")
    train_ce, val_ce = number(row, "train_crossentropy"), number(row, "val_crossentropy")
    if not measured:  # running averages under dropout overstate the training error
        train_error, train_ce = _better(train_error, val_error), _better(train_ce, val_ce)
    # Where nothing beats the baseline, a loss at it is what the data allow, not a bias.
    beaten = reachable is None or reachable.baseline_beaten
    stuck = _stuck(row, train_ce, settings, loss_name) if beaten else ""
    if stuck:
        size = train_ce - reachable.crossentropy if reachable else train_ce  # all of it is left to learn
        return Finding(True, size, stuck + underfit_causes(row, reachable, settings, train_ce))
    if reachable is None:
        return _alone_bias(row, train_error, train_ce, settings, loss_name)
    checks = [
        _above_reachable(row, train_error, reachable.error, reachable.error_var, reachable, settings, "error"),
        _above_reachable(row, train_ce, reachable.crossentropy, reachable.crossentropy_var, reachable, settings,
                         loss_name),
    ]
    clear = [check for check in checks if check is not None]
    if not clear and reachable.alone:  # one configuration beside the linear fit: its own curve may show more
        return _alone_bias(row, train_error, train_ce, settings, loss_name, beaten)
    if not clear:
        unconverged = _still_falling(row, train_error, train_ce, reachable, settings, loss_name)
        causes = underfit_causes(row, reachable, settings, train_ce) if unconverged else ""
        return Finding(bool(unconverged), train_ce - reachable.crossentropy, unconverged + causes)
    text = "; ".join(clear) + underfit_causes(row, reachable, settings, train_ce)
    return Finding(True, train_ce - reachable.crossentropy, text)


def _better(train: float, val: float) -> float:
    return nan_extreme(min, train, val) if math.isfinite(train) or math.isfinite(val) else math.nan


def _stuck(row: dict[str, Any], train_ce: float, settings: Settings, loss_name: str) -> str:
    """Words for a training loss at the chance level that never moved over its epochs, or ""."""
    if not (flat(row) and at_chance(train_ce, settings)):
        return ""
    chance = cast(float, settings.chance_loss)
    return (f"the training {loss_name} never moved: {number(row, 'first_loss'):.4g} after the first epoch and "
            f"{number(row, 'final_loss'):.4g} after the last{mean_of(row)}, {train_ce / chance:.0%} of the "
            f"{settings.baseline} {chance:.3g}: nothing trained")


def _above_reachable(row: dict[str, Any], level: float, reference: float, spread: float, reachable: Reachable,
                     settings: Settings, measure: str) -> str | None:
    """Words for a training level clearly above the sweep's reachable level, or None.

    For a configuration's repeats judged together, the level is their mean and the variance of
    that mean between them adds to the noise; the validation split's own noise does not shrink
    with repeats, as every repeat is measured on the same rows.
    """
    if not (math.isfinite(level) and math.isfinite(reference)):
        return None
    val_rows = number(row, "val_rows")
    if measure == "error":
        noise = level_se(row, binomial_se(level, val_rows), "val_error_scatter", 1.0) ** 2 + train_se(
            row, binomial_se(level, measured_rows(row))) ** 2
    else:
        sd = number(row, "train_crossentropy_sd")
        noise = level_se(row, mean_se(sd, val_rows), "val_scatter", level) ** 2 + train_se(
            row, mean_se(sd, measured_rows(row))) ** 2
    own_spread = number(row, f"train_{'error' if measure == 'error' else 'crossentropy'}_spread")
    noise += own_spread if math.isfinite(own_spread) else 0.0
    bound = best_of_z(settings.confidence, reachable.trials) * math.sqrt(noise + spread)
    difference = level - reference
    if difference <= max(bound, _practical(settings, measure, level)) or difference <= 0:
        return None
    trial = reachable.error_trial if measure == "error" else reachable.crossentropy_trial
    if measure == "error":
        shown = (f"training accuracy {1 - level:.3f}{mean_of(row)} against {1 - reference:.3f} reachable "
                 f"({_whose(trial, 'accuracy')})")
    else:
        shown = _against_reachable(row, level, reference, trial, settings, measure)
    return shown + _beyond(bound, reachable.trials, val_rows)


def _against_reachable(row: dict[str, Any], level: float, reference: float, trial: str, settings: Settings,
                       loss_name: str) -> str:
    """"training MSE 5842 (R² 0.03), validation ... against 2837 (R² 0.53) reachable (whose)", or a loss's words."""
    if settings.regression:
        val = number(row, "val_crossentropy")
        validation = settings.validation_variance
        return (f"training MSE {_with_r2(level, settings.chance_loss)}, validation {_with_r2(val, validation)}"
                f"{mean_of(row)}, against {_with_r2(reference, validation)} reachable ({_whose(trial)})")
    return (f"training {loss_name} {level:.3g}{mean_of(row)} against {reference:.3g} reachable "
            f"({_whose(trial, loss_name)})")


def _still_falling(row: dict[str, Any], train_error: float, train_ce: float, reachable: Reachable,
                   settings: Settings, loss_name: str) -> str:
    """Words for an execution stopped while both its curves still fell steeply, above the reachable level, or "".

    The noise bound asks whether a training level above the reachable one could be the validation
    split's luck; on a small split it is wide. A curve still falling steeply at its end says
    something the levels cannot: the execution has not reached its own level yet. A textbook reader
    calls it undertrained (underfit: train longer) when both curves still fall at the end, the
    validation loss at its lowest (not past its minimum: a rising one would be overfitting), and
    the training level still sits above what the sweep reaches by more than `margin` of it.
    A classifier that gets its training rows right but for `accuracy_margin` is not undertrained:
    its loss falling on is growing confidence.
    """
    if math.isfinite(train_error) and train_error <= settings.accuracy_margin:
        return ""
    train_trend, val_trend = number(row, "train_trend"), number(row, "val_trend")
    falling = (train_trend < min(_STEEP_TREND, -trend_bound(row, settings))
               and val_trend < min(_STEEP_TREND, -trend_bound(row, settings, "val_scatter")))
    at_lowest = number(row, "min_val_epoch") >= number(row, "last_epoch")
    reference = reachable.crossentropy
    if not (falling and at_lowest and train_ce - reference > settings.margin * train_ce):
        return ""
    shown = _against_reachable(row, train_ce, reference, reachable.crossentropy_trial, settings, loss_name)
    return (f"{shown}, both still falling at the end ({-train_trend:.1%} and {-val_trend:.1%} per epoch"
            f"{at_epoch(row, 'last_epoch', ' at epoch ')}, the validation at its lowest): training stopped before "
            "it converged, however wide the noise bound of the comparison")


def _with_r2(mse: float, variance: float | None) -> str:
    """A squared error and, when its split's target variance is known, its R² (1 - MSE / that variance)."""
    return f"{mse:.4g} (R² {1 - mse / variance:.2f})" if variance and math.isfinite(mse) else f"{mse:.4g}"


def _whose(trial: str, measure: str = "MSE") -> str:
    """Whose validation level is reachable: a trial's, or the linear yardstick's (named with its `measure`)."""
    if trial in (LINEAR, LOGISTIC):
        return f"the validation {measure} of {trial}"
    return f"trial {trial}'s validation{' accuracy' if measure == 'accuracy' else ''}"


def _practical(settings: Settings, measure: str, level: float) -> float:
    """The smallest difference that counts: absolute for error rates, relative for cross-entropies."""
    return settings.accuracy_margin if measure == "error" else settings.margin * level


def _beyond(bound: float, trials: int, val_rows: float) -> str:
    if not math.isfinite(val_rows):
        return f", beyond the noise bound {bound:.2g} (from its curve's scatter: the trials table has no row counts)"
    return f", beyond the noise bound {bound:.2g} for the best of {trials} trials"


def _alone_bias(row: dict[str, Any], train_error: float, train_ce: float, settings: Settings,
                loss_name: str, beaten: bool = True) -> Finding:
    """With one configuration, only its own curve shows bias: a loss at chance, or one still falling steeply.

    A loss at the baseline is no bias when nothing beats it (`beaten` False: a regression whose linear
    reference does no better than the mean).

    A network that classifies its training rows right but for `accuracy_margin` fits them: its
    loss falling further (0.01 to 0.002 is -80% an epoch) is confidence, not a bias to remove.
    """
    if beaten and at_chance(train_ce, settings):
        chance = cast(float, settings.chance_loss)
        text = (f"it learned nothing: training {loss_name} {train_ce:.3g}{mean_of(row)} is {train_ce / chance:.0%} "
                f"of the {settings.baseline} {chance:.3g}")
        return Finding(True, train_ce, text + underfit_causes(row, None, settings, train_ce))
    trend = number(row, "train_trend")
    if math.isfinite(train_error) and train_error <= settings.accuracy_margin:
        return Finding(False, math.nan, "")
    if math.isfinite(trend) and trend < min(_STEEP_TREND, -trend_bound(row, settings)):  # steep beyond its scatter
        # Its size: what as many epochs again would take off at the final rate, a floor of the bias left.
        size = -trend * number(row, "epochs_run") * train_ce
        return Finding(True, size, f"training {loss_name} still falls {-trend:.1%} per epoch"
                                   f"{at_epoch(row, 'last_epoch')}, so training stopped before it converged"
                                   + underfit_causes(row, None, settings, train_ce))
    return Finding(False, math.nan, "")
