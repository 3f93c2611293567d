"""The likely causes a verdict's reason names after its evidence: what to change, read from the row.

Underfitting is read optimisation first (a loss that blew up within an epoch, never moved, rises
or jumps, or was still falling), then regularization and capacity: no capacity helps a network
that does not train.
Overfitting is read from the network's size against its training rows and its regularization.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from fitsweep.analysis._evidence_row import Settings, at_chance, at_epoch, flat, number, repeats, trend_bound
from fitsweep.analysis._reachable import Reachable

__all__ = ["binary_majority", "overfit_causes", "underfit_causes", "unscaled_inputs"]

_PENALTIES = ("l1", "l2", "dropout")
# A running loss this many times the loss measured after its epoch, and the chance level, blew up (see _blew_up).
_BLOWUP_RATIO = 100
_BLOWUP_CHANCE = 10


def underfit_causes(row: dict[str, Any], reachable: Reachable | None, settings: Settings, train_ce: float) -> str:
    """The likely causes of high bias, the optimisation first: no capacity helps a network that does not train."""
    blown = _blew_up(row, settings)
    if blown:  # a loss that reads flat or barely moving afterwards is the wreck, not a learning rate too small
        causes = [blown]
    elif flat(row):
        causes = [_never_moved_causes(row)]
    else:
        causes = [text for text in (_too_fast(row, settings), _improving(row, settings)) if text]
        causes += [] if causes else [text for text in (_barely_moved(row, settings),) if text]
    penalties = [f"{name}={number(row, name):g}" for name in _PENALTIES if number(row, name) > 0]
    if penalties and not blown:  # a penalty that holds the weights at zero leaves outputs at the priors: first
        penalty = f"regularization {', '.join(penalties)}: weaken it"
        causes = [penalty, *causes] if flat(row) or at_chance(train_ce, settings) else [*causes, penalty]
    params = number(row, "params")
    trained = not (blown or flat(row))  # no capacity helps a network that does not train
    if trained and reachable is not None and math.isfinite(params) and math.isfinite(reachable.params) and \
            params < reachable.params / 2:
        causes.append(f"a small network ({params:,.0f} parameters against {reachable.params:,.0f} in trial "
                      f"{reachable.crossentropy_trial}): add capacity")
    majority = _majority(row, train_ce, settings)
    return (f". Likely cause: {'; '.join(causes)}" if causes else "") + (f". {majority[:1].upper()}{majority[1:]}"
                                                                         if majority else "")


def overfit_causes(row: dict[str, Any], rose: bool, gap_at_end: bool = False) -> str:
    """The kept weights when they predate the rise (or the gap of the last epoch), and the likely causes."""
    causes = []
    params, rows = number(row, "params"), number(row, "train_rows")
    if math.isfinite(params) and math.isfinite(rows) and params > rows:
        causes.append(f"a small training set for the network ({rows:,.0f} rows, {params:,.0f} parameters): "
                      "more data, or a smaller network")
    if all(not (number(row, name) > 0) for name in _PENALTIES) and "params" in row:
        causes.append("no regularization: add dropout or l2")
    before = "the rise" if rose else "the gap" if gap_at_end else ""
    kept = f". The kept weights are epoch {int(row['best_epoch'])}'s, before {before}" if (
        before and repeats(row) == 1 and number(row, "best_epoch") < number(row, "last_epoch")) else ""
    return kept + (". Likely cause: " + "; ".join(causes) if causes else "")


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


def _improving(row: dict[str, Any], settings: Settings) -> str:
    """Words for a training loss still falling clearly when training stopped, or "".

    Clearly: as many epochs again at its final rate would take more than `margin` off it (a
    straight line overstates what a slowing curve gains, so less is a clear no).
    """
    trend, epochs = number(row, "train_trend"), number(row, "epochs_run")
    if math.isfinite(number(row, "stopped_at")):  # fit-aware stopping: more epochs were judged not to help
        falling = f" (training loss falling {_percent(-trend)} per epoch)" if trend < 0 else ""
        return (f"stopped{at_epoch(row, 'stopped_at', ' after epoch ')} as settled: at its rate{falling} it could "
                f"not reach the sweep's level in the epochs left: raise the learning rate{_learning_rate(row)}")
    if number(row, "best_epoch") < number(row, "last_epoch") - 1 or not (math.isfinite(trend) and trend < 0):
        return ""
    if -trend * epochs <= settings.margin or -trend <= trend_bound(row, settings):
        return ""
    return (f"still improving{at_epoch(row, 'last_epoch', ' at its last epoch ')} (training loss falling "
            f"{_percent(-trend)} per epoch, steadily): raise the learning rate{_learning_rate(row)}, or train longer")


def _percent(share: float) -> str:
    """A share in percent to two significant digits: a fall of 0.04% an epoch is not "0.0%"."""
    return f"{100 * share:.2g}%"


def _learning_rate(row: dict[str, Any]) -> str:
    rate = number(row, "learning_rate")
    return f" ({rate:g})" if math.isfinite(rate) else ""


def _too_fast(row: dict[str, Any], settings: Settings) -> str:
    """Words for a training loss that rises at its end or jumps between epochs: a learning rate too high."""
    trend, epochs, scatter = number(row, "train_trend"), number(row, "epochs_run"), number(row, "train_scatter")
    if math.isfinite(trend) and trend > max(settings.margin / epochs, trend_bound(row, settings)):
        shown = f"the training loss rises {trend:.1%} per epoch at its end"
    elif math.isfinite(scatter) and scatter > settings.margin:
        shown = f"the training loss jumps about {scatter:.0%} between epochs"
    else:
        return ""
    return f"{shown}: the learning rate{_learning_rate(row)} is likely too high: lower it"


def _blew_up(row: dict[str, Any], settings: Settings) -> str:
    """Words for a training loss that blew up within an epoch and was back down at its end, or "".

    Keras' running loss (the mean over an epoch's batches as they trained) at least `_BLOWUP_RATIO`
    times the loss measured after the epoch, and `_BLOWUP_CHANCE` times the chance level: no
    ordinary epoch, dropout included, averages that far above its end. The updates overshot;
    a network left at the chance level afterwards has dead units or saturated outputs, and a
    measured loss that then barely moves says nothing about a learning rate too small.
    """
    ratio, level = number(row, "blowup_ratio"), number(row, "blowup_loss")
    chance = settings.chance_loss
    if not (ratio >= _BLOWUP_RATIO and (chance is None or level >= _BLOWUP_CHANCE * chance)):
        return ""
    if repeats(row) > 1:
        shown = (f"the training loss blew up during training (Keras' running loss over an epoch's batches at least "
                 f"{_BLOWUP_RATIO} times the loss measured at its end)")
    else:
        shown = (f"the training loss blew up{at_epoch(row, 'blowup_epoch', ' during epoch ')}: Keras' running loss "
                 f"over its batches reached {level:.3g}, {ratio:.3g} times the loss measured at its end")
    return (f"{shown}: the updates overshot: the learning rate{_learning_rate(row)} is likely too high (or the inputs "
            "too large): lower it")


def _barely_moved(row: dict[str, Any], settings: Settings) -> str:
    """Words for a training loss that moved less than `margin` of its level over the whole run, or "".

    A network that underfits while its loss creeps (a learning rate of 1e-5 takes a few percent off
    in 60 epochs) trains too slowly to get anywhere: more epochs at that pace would not close the gap.
    """
    moved = number(row, "train_range")
    if not (math.isfinite(moved) and moved < settings.margin):
        return ""
    return (f"the training loss barely moved ({moved:.1%} over {number(row, 'epochs_run'):.0f} epochs): a learning "
            f"rate{_learning_rate(row)} too small to move the weights: raise the learning rate")


def _never_moved_causes(row: dict[str, Any]) -> str:
    return (f"the training loss never moved (it changed {number(row, 'train_range'):.2%} over "
            f"{number(row, 'epochs_run'):.0f} epochs): a learning rate{_learning_rate(row)} too small to move the "
            "weights (raise it), dead relu units or saturated outputs (a loss that reads the same at every epoch has "
            "no gradient)")


def _majority(row: dict[str, Any], train_ce: float, settings: Settings) -> str:
    """Words for a model at chance that predicts the majority class for every row, or ""."""
    chance = settings.chance_loss
    train, val = number(row, "train_error"), number(row, "val_error")
    if not (at_chance(train_ce, settings) and math.isfinite(train) and math.isfinite(val)):
        return ""
    if abs(train - val) > settings.accuracy_margin:
        return ""
    share = binary_majority(cast(float, chance))
    accuracies = f"training accuracy {1 - train:.3f} and validation {1 - val:.3f}"
    if math.isfinite(share) and abs(1 - train - share) <= settings.accuracy_margin:
        return (f"it predicts the class priors for every row, as a model of no inputs would: {accuracies}, the "
                f"majority class's share {share:.3f} (the majority-class baseline)")
    # At the chance level by cross-entropy but not at the majority's accuracy: outputs near the priors, tilted
    # right for some rows; a claim of the majority-class baseline would be false (0.633 on balanced classes).
    return f"its outputs stay near the class priors, as a model of no inputs would give: {accuracies}"


def binary_majority(chance: float) -> float:
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
