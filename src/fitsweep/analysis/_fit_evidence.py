"""The numbers a fit verdict rests on, read from one execution's learning curves.

Losses here are what `diagnose` judges: the cross-entropy without the L1/L2 penalty where the
epochs table records it (`loss` and `val_loss` are then read from `crossentropy` and
`val_crossentropy`). Errors are 1 - accuracy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.analysis._common import FloatArray, as_float

__all__ = ["EVIDENCE", "execution_evidence"]

# The evidence columns of `diagnose`'s output, in order.
EVIDENCE = [
    "epochs_run", "best_epoch",
    "train_error", "val_error", "reachable_error",
    "train_crossentropy", "val_crossentropy", "reachable_crossentropy",
    "bias", "variance",
    "min_val_loss", "final_loss", "final_val_loss", "loss_gap", "accuracy_gap", "val_rise", "train_trend",
]


def execution_evidence(curve: pd.DataFrame, selected_epoch: float, trend_epochs: int) -> dict[str, Any]:
    """Evidence of one execution: at its selected epoch, at its validation minimum and at its end.

    Args:
        curve: The execution's rows of the epochs table (penalty-free losses in loss/val_loss).
        selected_epoch: The epoch whose weights were kept (1-based), NaN to take the lowest val_loss.
        trend_epochs: How many final epochs the training trend is fitted over.
    """
    curve = curve.sort_values("epoch")
    epoch = curve["epoch"].to_numpy(dtype="int64")
    loss, val = as_float(curve["loss"]), as_float(curve["val_loss"])
    broken = np.flatnonzero(~(np.isfinite(loss) & np.isfinite(val)))
    diverged_at = _divergence(epoch, loss, val, int(broken[0])) if broken.size else None
    end = int(broken[0]) if broken.size else len(curve)  # evidence from the epochs before a blow-up
    evidence = _curve_evidence(curve.iloc[:end], selected_epoch, trend_epochs) if end else {}
    return {**evidence, "epochs_run": len(curve), "diverged_at": diverged_at}


def _column(curve: pd.DataFrame, name: str) -> FloatArray:
    return as_float(curve[name]) if name in curve else np.full(len(curve), np.nan)


def _curve_evidence(curve: pd.DataFrame, selected_epoch: float, trend_epochs: int) -> dict[str, Any]:
    epoch = curve["epoch"].to_numpy(dtype="int64")
    loss, val = as_float(curve["loss"]), as_float(curve["val_loss"])
    accuracy, val_accuracy = _column(curve, "accuracy"), _column(curve, "val_accuracy")
    loss_sd, val_sd = _column(curve, "crossentropy_sd"), _column(curve, "val_crossentropy_sd")
    lowest = int(np.argmin(val))
    at = _selected_index(epoch, selected_epoch, lowest)
    return {
        "best_epoch": int(epoch[at]),
        "train_error": 1 - float(accuracy[at]),
        "val_error": 1 - float(val_accuracy[at]),
        "train_crossentropy": float(loss[at]),
        "val_crossentropy": float(val[at]),
        "train_crossentropy_sd": float(loss_sd[at]),
        "val_crossentropy_sd": float(val_sd[at]),
        "min_val_loss": float(val[lowest]),
        "min_val_epoch": int(epoch[lowest]),
        "loss_at_min_val": float(loss[lowest]),
        "val_sd_at_min": float(val_sd[lowest]),
        "final_loss": float(loss[-1]),
        "final_loss_sd": float(loss_sd[-1]),
        "final_val_loss": float(val[-1]),
        "loss_gap": float(val[-1] - loss[-1]),
        "accuracy_gap": float(accuracy[-1] - val_accuracy[-1]),
        "val_rise": float((val[-1] - val[lowest]) / max(abs(float(val[lowest])), 1e-12)),
        "train_trend": _relative_slope(epoch[-trend_epochs:], loss[-trend_epochs:]),
        "last_epoch": int(epoch[-1]),
    }


def _selected_index(epoch: npt.NDArray[np.int64], selected_epoch: float, fallback: int) -> int:
    if not math.isfinite(selected_epoch):
        return fallback
    matches = np.flatnonzero(epoch == int(selected_epoch))
    return int(matches[0]) if matches.size else fallback


def _divergence(epoch: npt.NDArray[np.int64], loss: FloatArray, val: FloatArray, index: int) -> str:
    name, value = ("loss", loss[index]) if not np.isfinite(loss[index]) else ("val_loss", val[index])
    return f"{name} became {value} at epoch {epoch[index]}"


def _relative_slope(epoch: npt.NDArray[np.int64], loss: FloatArray) -> float:
    """Slope of the loss per epoch, relative to its mean: -0.05 is falling 5% per epoch."""
    if len(epoch) < 2:
        return math.nan
    slope = np.polyfit(epoch.astype(float), loss, 1)[0]
    return float(slope / max(abs(float(np.mean(loss))), 1e-12))
