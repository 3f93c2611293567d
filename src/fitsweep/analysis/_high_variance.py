"""High variance: a row generalises clearly worse than it fits, or its validation loss turned up.

Two signs, either enough: validation accuracy clearly below training and below what the sweep
reaches at the selected epoch; or the validation loss rising after its minimum while the
training loss kept falling.
"""

from __future__ import annotations

import math
from typing import Any

from fitsweep.analysis._evidence_row import (
    Finding,
    Settings,
    at_epoch,
    level_se,
    mean_of,
    measured_rows,
    nan_extreme,
    number,
    train_se,
)
from fitsweep.analysis._likely_causes import overfit_causes
from fitsweep.analysis._noise import best_of_z, binomial_se, mean_se, one_sided_z
from fitsweep.analysis._reachable import Reachable

__all__ = ["high_variance"]


def high_variance(row: dict[str, Any], reachable: Reachable | None, settings: Settings, loss_name: str) -> Finding:
    """High variance, sized as the larger of the cross-entropy gap and the rise after the minimum."""
    gap, gap_at_end = _gap(row, reachable, settings)
    rise, rise_text = _rise(row, settings, loss_name)
    found = [text for text in (gap, rise_text) if text]
    gap_size = number(row, "val_crossentropy") - number(row, "train_crossentropy")
    if gap_at_end:
        gap_size = nan_extreme(max, gap_size, number(row, "final_val_loss") - number(row, "final_loss"))
    size = nan_extreme(max, rise, gap_size) if math.isfinite(rise) or math.isfinite(gap_size) else math.nan
    if not found:
        return Finding(False, size, "")
    return Finding(True, size, "; ".join(found) + overfit_causes(row, rose=bool(rise_text), gap_at_end=gap_at_end))


# A fit with p effective parameters on n rows of noise s² expects a training MSE of s² (1 - p/n) and a
# validation MSE of s² (1 + p/n): at p/n = 0.2, a flexible but healthy fit, their ratio is 1.5. A
# validation MSE beyond that multiple of the training MSE is noise the network learned.
_GAP_RATIO = 1.5


def _gap(row: dict[str, Any], reachable: Reachable | None, settings: Settings) -> tuple[str, bool]:
    """Words for a clear gap of validation over training ("" if none), and whether only the last epoch shows it."""
    if not settings.regression:
        return _accuracy_gap(row, reachable, settings), False
    selected = _squared_error_gap(row, settings, "train_crossentropy", "val_crossentropy", "best_epoch")
    if selected or not number(row, "last_epoch") > number(row, "best_epoch"):
        return selected, False
    final = _squared_error_gap(row, settings, "final_loss", "final_val_loss", "last_epoch")
    return (f"trained on past its selected epoch, it fitted its training rows' noise: {final}" if final else "",
            bool(final))


def _squared_error_gap(row: dict[str, Any], settings: Settings, train_column: str, val_column: str,
                       epoch_column: str) -> str:
    """A regression's validation MSE clearly above its training MSE at an epoch: it fitted its training rows' noise.

    A squared error, unlike a cross-entropy, measures no confidence: a network that generalises
    fits its validation rows about as well as its training rows, so the gap itself is the sign,
    even for the sweep's best configuration, once it is beyond the noise of both means (their
    rows' spread of squared errors, `mse_sd`) and beyond the optimism every fit has: `_GAP_RATIO`.
    Read at the selected epoch, and at the last one when training went on past it: a network
    trained on until it reproduces its training rows' noise overfits though its kept weights
    predate that (as a rise of the validation loss after its minimum does), and on a small
    validation split the gap is clear long before the rise is.
    """
    train, val = number(row, train_column), number(row, val_column)
    if not (math.isfinite(train) and math.isfinite(val)):
        return ""
    val_rows = number(row, "val_rows")
    val_se = level_se(row, mean_se(number(row, f"{val_column}_sd"), val_rows), "val_scatter", val)
    training_se = train_se(row, mean_se(number(row, f"{train_column}_sd"), measured_rows(row)))
    bound = one_sided_z(settings.confidence) * math.hypot(val_se, training_se)
    if not val - train > max(bound, (_GAP_RATIO - 1) * train):
        return ""
    return (f"validation MSE {val:.4g} against training {train:.4g}{mean_of(row)}{at_epoch(row, epoch_column)}"
            + _beyond_gap(bound, val_rows))


def _accuracy_gap(row: dict[str, Any], reachable: Reachable | None, settings: Settings) -> str:
    """Validation accuracy clearly below training at the selected epoch, and clearly below what the sweep reaches.

    Only accuracy is compared here: a healthy network's validation cross-entropy commonly exceeds
    its training cross-entropy by tens of percent (it grows more confident on rows it was trained
    on), so a cross-entropy gap alone is no sign of overfitting; its rise over the epochs is.
    """
    train, val = number(row, "train_error"), number(row, "val_error")
    if not (math.isfinite(train) and math.isfinite(val)):
        return ""
    val_rows = number(row, "val_rows")
    val_se = level_se(row, binomial_se(val, val_rows), "val_error_scatter", 1.0)
    training_se = train_se(row, binomial_se(train, measured_rows(row)))
    bound = one_sided_z(settings.confidence) * math.hypot(val_se, training_se)
    clear = val - train > max(bound, settings.accuracy_margin)
    if not clear or not _worse_than_reachable(val, val_se, reachable, settings):
        return ""
    return (f"validation accuracy {1 - val:.3f} against training {1 - train:.3f}{mean_of(row)}"
            f"{at_epoch(row, 'best_epoch')}" + _beyond_gap(bound, val_rows))


def _beyond_gap(bound: float, val_rows: float) -> str:
    return f" (noise bound {bound:.2g}{'' if math.isfinite(val_rows) else ', from the curve'})"


def _worse_than_reachable(val: float, val_se: float, reachable: Reachable | None, settings: Settings) -> bool:
    # The best configuration has a gap too: only a gap that costs generalisation against the others is overfitting.
    reachable = reachable.of_the_sweep() if reachable is not None else None
    if reachable is None:
        return True
    bound = best_of_z(settings.confidence, reachable.trials) * math.sqrt(val_se**2 + reachable.error_var)
    return bool(math.isfinite(reachable.error) and val - reachable.error > max(bound, settings.accuracy_margin))


def _rise(row: dict[str, Any], settings: Settings, loss_name: str) -> tuple[float, str]:
    """The validation loss turned up after its minimum while the training loss kept falling."""
    z = one_sided_z(settings.confidence)
    lowest, final = number(row, "min_val_loss"), number(row, "final_val_loss")
    rise = final - lowest
    bound = _rise_bound(row, settings, lowest)
    fell = number(row, "loss_at_min_val") - number(row, "final_loss")
    train_bound = z * train_se(row, mean_se(number(row, "final_loss_sd"), measured_rows(row)))
    if not (rise > max(bound, settings.margin * lowest) and fell > train_bound and fell > 0):
        return math.nan, ""
    text = (f"validation {loss_name} rose {rise / lowest:.0%}{mean_of(row)} after its minimum {lowest:.3g}"
            f"{at_epoch(row, 'min_val_epoch')}, to {final:.3g}{at_epoch(row, 'last_epoch')}"
            f"{_beyond_gap(bound, number(row, 'val_rows'))}, while training {loss_name} kept falling "
            f"({number(row, 'loss_at_min_val'):.3g} to {number(row, 'final_loss'):.3g})")
    return rise, text


def _rise_bound(row: dict[str, Any], settings: Settings, lowest: float) -> float:
    """How far the final validation loss may sit above the minimum by noise alone.

    With row counts: z standard errors of the loss on that many validation rows. Without them:
    the curve's own epoch-to-epoch scatter s; the minimum is the lowest of the epochs' noisy
    values and the final one is another, so the rise of a flat curve stays below
    z_best * sqrt(2) * s, z_best corrected for taking the lowest of the epochs (Bonferroni).
    """
    if math.isfinite(number(row, "val_rows")):
        return one_sided_z(settings.confidence) * mean_se(number(row, "val_sd_at_min"), number(row, "val_rows"))
    scatter, epochs = number(row, "val_scatter"), number(row, "epochs_run")
    if not (math.isfinite(scatter) and math.isfinite(epochs)):
        return 0.0
    return best_of_z(settings.confidence, int(epochs)) * math.sqrt(2) * scatter * abs(lowest)
