"""The numbers a fit verdict rests on, read from every execution's learning curves at once.

Losses here are what `diagnose` judges: the cross-entropy without the L1/L2 penalty where the
epochs table records it (`loss` and `val_loss` are then read from `crossentropy` and
`val_crossentropy`). Errors are 1 - accuracy.

The evidence is computed over the whole epochs table in array operations (one sort, then
per-execution reductions), not one execution at a time: a sweep of 10,000 trials has a million
epoch rows, and a Python loop over its executions took minutes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.analysis._common import FloatArray, as_float

__all__ = ["EVIDENCE", "evidence_table"]

# The evidence columns of `diagnose`'s output, in order.
EVIDENCE = [
    "epochs_run", "best_epoch",
    "train_error", "val_error", "reachable_error",
    "train_crossentropy", "val_crossentropy", "reachable_crossentropy",
    "bias", "variance",
    "min_val_loss", "final_loss", "final_val_loss", "loss_gap", "accuracy_gap", "val_rise", "train_trend",
]

IntArray = npt.NDArray[np.int64]


def evidence_table(epochs: pd.DataFrame, keys: Sequence[str], selected: pd.DataFrame | None,
                   trend_epochs: int) -> pd.DataFrame:
    """Evidence of every execution: at its selected epoch, at its validation minimum and at its end.

    An execution whose loss or val_loss became NaN or infinite is read from the epochs before
    the first such epoch, and `diverged_at` says which loss blew up and when (None otherwise).

    Args:
        epochs: The epochs table (penalty-free losses in loss/val_loss; `running_level`, Keras' running
            average of the same loss over each epoch's batches, where recorded).
        keys: The columns naming one execution ([run,] trial_id, execution).
        selected: The epoch whose weights were kept (1-based) per execution: `keys` and
            `best_epoch`; an execution absent from it, or with no such epoch, is read at its
            lowest val_loss.
        trend_epochs: How many final epochs the training trend is fitted over.

    Returns:
        One row per execution, in the order of its keys: the keys, the evidence columns,
        `epochs_run` (epochs recorded) and `diverged_at`.
    """
    groups = epochs.groupby(list(keys), sort=True, dropna=False)
    table = groups.size().index.to_frame(index=False)  # one row per execution, in ngroup's (sorted) order
    n_groups = len(table)
    if not n_groups:
        return table.assign(epochs_run=pd.Series(dtype="int64"), diverged_at=pd.Series(dtype=object))
    ids: IntArray = np.asarray(groups.ngroup().to_numpy(), dtype=np.int64)
    order = np.lexsort((epochs["epoch"].to_numpy(dtype=np.int64), ids))  # by execution, then epoch (stable)
    group: IntArray = ids[order]

    def column(name: str) -> FloatArray:
        return as_float(epochs[name])[order] if name in epochs else np.full(len(order), np.nan)

    epoch = epochs["epoch"].to_numpy(dtype=np.int64)[order]
    loss, val = column("loss"), column("val_loss")
    size = np.bincount(group, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    position = np.arange(len(group)) - start[group]  # 0-based row within its execution

    # The first epoch whose loss or val_loss is not finite ends the evidence.
    broken = ~(np.isfinite(loss) & np.isfinite(val))
    end = _first(np.where(broken, position, size[group]), group, size)
    first_broken = start + np.minimum(end, size - 1)
    diverged_at = [_divergence(int(epoch[i]), float(loss[i]), float(val[i])) if e < s else None
                   for i, e, s in zip(first_broken, end, size, strict=True)]
    table["epochs_run"] = size
    table["diverged_at"] = pd.Series(diverged_at, dtype=object)

    has = end > 0
    used = position < end[group]  # rows before any blow-up
    lowest = _first_of_min(val, used, group, n_groups, position)
    at = _selected_positions(table, keys, selected, epoch, used, group, position, n_groups)
    at = np.where(at < 0, lowest, at)
    last = np.maximum(end - 1, 0)
    rows = {"at": start + at, "lowest": start + lowest, "last": start + last}
    accuracy, val_accuracy = column("accuracy"), column("val_accuracy")
    loss_sd, val_sd = column("crossentropy_sd"), column("val_crossentropy_sd")
    lowest_val = val[rows["lowest"]]
    final_epochs = used & (position >= end[group] - trend_epochs)
    evidence: dict[str, Any] = {
        "best_epoch": epoch[rows["at"]].astype(float),
        "train_error": 1 - accuracy[rows["at"]],
        "val_error": 1 - val_accuracy[rows["at"]],
        "train_crossentropy": loss[rows["at"]],
        "val_crossentropy": val[rows["at"]],
        "train_crossentropy_sd": loss_sd[rows["at"]],
        "val_crossentropy_sd": val_sd[rows["at"]],
        "min_val_loss": lowest_val,
        "min_val_epoch": epoch[rows["lowest"]].astype(float),
        "loss_at_min_val": loss[rows["lowest"]],
        "val_sd_at_min": val_sd[rows["lowest"]],
        "final_loss": loss[rows["last"]],
        "final_loss_sd": loss_sd[rows["last"]],
        "final_val_loss": val[rows["last"]],
        "final_val_loss_sd": val_sd[rows["last"]],
        "loss_gap": val[rows["last"]] - loss[rows["last"]],
        "accuracy_gap": accuracy[rows["last"]] - val_accuracy[rows["last"]],
        "val_rise": (val[rows["last"]] - lowest_val) / np.maximum(np.abs(lowest_val), 1e-12),
        "train_trend": _relative_slopes(epoch, loss, final_epochs, group, n_groups),
        # The validation loss's own trend over the same epochs: a curve still falling at its end is not at its best.
        "val_trend": _relative_slopes(epoch, val, final_epochs, group, n_groups),
        "last_epoch": epoch[rows["last"]].astype(float),
        "first_loss": loss[start],
        # How far the training loss moved over the whole run, relative to its level: a loss that
        # never moved reads the same at every epoch.
        "train_range": _relative_range(loss, used, group, n_groups),
        # Each curve's own epoch-to-epoch scatter: the noise of its levels when the row counts are unknown.
        "train_scatter": _scatter(loss, used, group, position, n_groups, relative=True),
        "val_scatter": _scatter(val, used, group, position, n_groups, relative=True),
        "val_error_scatter": _scatter(1 - val_accuracy, used, group, position, n_groups, relative=False),
        **_blowup(column("running_level"), loss, epoch, used, group, position, n_groups, start),
    }
    for name, values in evidence.items():
        table[name] = np.where(has, values, np.nan)
    return table


def _first(values: IntArray, group: IntArray, fill: IntArray) -> IntArray:
    """Each group's smallest value (`fill` for a group without rows)."""
    smallest = np.array(fill, dtype=np.int64, copy=True)
    np.minimum.at(smallest, group, values)
    return smallest


def _first_of_min(values: FloatArray, used: npt.NDArray[np.bool_], group: IntArray, n_groups: int,
                  position: IntArray) -> IntArray:
    """Per group, the position of the first smallest value among the used rows (np.argmin's choice)."""
    smallest = np.full(n_groups, np.inf)
    np.minimum.at(smallest, group[used], values[used])
    hit = used & (values == smallest[group])
    first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, group[hit], position[hit])
    return np.where(first == np.iinfo(np.int64).max, 0, first)


def _selected_positions(table: pd.DataFrame, keys: Sequence[str], selected: pd.DataFrame | None, epoch: IntArray,
                        used: npt.NDArray[np.bool_], group: IntArray, position: IntArray, n_groups: int) -> IntArray:
    """Per group, the position of its first used row at the selected epoch, -1 where there is none."""
    none = np.full(n_groups, -1, dtype=np.int64)
    if selected is None or selected.empty:
        return none
    wanted = table[list(keys)].merge(selected, on=list(keys), how="left")["best_epoch"]
    target = as_float(wanted)
    target = np.where(np.isfinite(target), np.trunc(target), np.nan)
    hit = used & (epoch == target[group])
    first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, group[hit], position[hit])
    return np.where(first == np.iinfo(np.int64).max, none, first)


def _blowup(running: FloatArray, loss: FloatArray, epoch: IntArray, used: npt.NDArray[np.bool_], group: IntArray,
            position: IntArray, n_groups: int, start: IntArray) -> dict[str, FloatArray]:
    """Per group, the epoch whose running training loss stood furthest above the loss measured at its end.

    Keras' running loss averages the epoch's batches as they trained; the measured loss is taken
    after the epoch. A running loss orders of magnitude above it means the loss blew up during the
    epoch and was back down by its end: the updates overshot, often leaving dead units behind.
    Returns `blowup_ratio` (running / measured), `blowup_loss` (the running loss) and
    `blowup_epoch`; NaN where no running loss was recorded.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = running / np.maximum(np.abs(loss), 1e-12)
    valid = used & ~np.isnan(ratio)  # an overflowing running loss (inf) is the clearest blow-up of all
    largest = np.full(n_groups, -np.inf)
    np.maximum.at(largest, group[valid], ratio[valid])
    hit = valid & (ratio == largest[group])
    first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, group[hit], position[hit])
    found = first != np.iinfo(np.int64).max
    at = start + np.where(found, first, 0)
    return {"blowup_ratio": np.where(found, largest, np.nan), "blowup_loss": np.where(found, running[at], np.nan),
            "blowup_epoch": np.where(found, epoch[at].astype(float), np.nan)}


def _relative_range(loss: FloatArray, used: npt.NDArray[np.bool_], group: IntArray, n_groups: int) -> FloatArray:
    """Per group, (largest - smallest) training loss over the used rows, relative to the smallest."""
    low, high = np.full(n_groups, np.inf), np.full(n_groups, -np.inf)
    np.minimum.at(low, group[used], loss[used])
    np.maximum.at(high, group[used], loss[used])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(low), (high - low) / np.maximum(np.abs(low), 1e-12), np.nan)


# Fewer second differences than this give no scatter: a median of two or three says little.
_MIN_DIFFERENCES = 5
# For independent noise of standard deviation s, a second difference e[t+1] - 2 e[t] + e[t-1] has
# standard deviation sqrt(6) s, and the median of its absolute value is 0.6745 of that.
_SECOND_DIFFERENCE_MAD = math.sqrt(6) * 0.6745


def _scatter(values: FloatArray, used: npt.NDArray[np.bool_], group: IntArray, position: IntArray, n_groups: int,
             relative: bool) -> FloatArray:
    """Per group, the standard deviation of a curve's epoch-to-epoch noise, from its second differences.

    A smooth learning curve (a fall that slows, a steady rise) has second differences near 0
    except where it bends most, so their median absolute value measures the noise around it,
    robust to the few epochs of the first fall. `relative`: in shares of the curve's level.
    """
    before, after = np.roll(values, 1), np.roll(values, -1)
    inside = used & (position >= 1) & np.roll(used, -1) & (np.roll(group, -1) == group)
    inside[-1] = False  # np.roll wraps the last row onto the first
    second = before - 2 * values + after
    if relative:
        with np.errstate(invalid="ignore", divide="ignore"):
            second = second / np.abs(values)
    inside &= np.isfinite(second)
    median, count = _group_median(np.abs(second[inside]), group[inside], n_groups)
    return np.where(count >= _MIN_DIFFERENCES, median / _SECOND_DIFFERENCE_MAD, np.nan)


def _group_median(values: FloatArray, group: IntArray, n_groups: int) -> tuple[FloatArray, IntArray]:
    """Each group's median (NaN for an empty group) and count, by one sort over all groups."""
    order = np.lexsort((values, group))
    count = np.bincount(group, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    sorted_values = np.append(values[order], np.nan)  # a slot for empty groups to point at
    low = np.where(count > 0, start + (count - 1) // 2, len(values))
    high = np.where(count > 0, start + count // 2, len(values))
    return (sorted_values[low] + sorted_values[high]) / 2, count


def _divergence(epoch: int, loss: float, val: float) -> str:
    name, value = ("loss", loss) if not np.isfinite(loss) else ("val_loss", val)
    return f"{name} became {value} at epoch {epoch}"


def _relative_slopes(epoch: IntArray, loss: FloatArray, rows: npt.NDArray[np.bool_], group: IntArray,
                     n_groups: int) -> FloatArray:
    """Least-squares slope of the loss per epoch over the rows, relative to their mean: -0.05 is falling 5% per epoch.

    NaN for a group with fewer than two rows.
    """
    x, y, g = epoch[rows].astype(float), loss[rows], group[rows]
    count = np.bincount(g, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.bincount(g, x, n_groups) / count
        mean_y = np.bincount(g, y, n_groups) / count
        dx, dy = x - mean_x[g], y - mean_y[g]
        slope = np.bincount(g, dx * dy, n_groups) / np.bincount(g, dx * dx, n_groups)
        relative = slope / np.maximum(np.abs(mean_y), 1e-12)
    return np.where(count >= 2, relative, np.nan)
