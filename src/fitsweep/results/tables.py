"""The two tidy tables of a sweep, built from KerasTuner's trial records.

`trials`: one row per trial and execution. `epochs`: one row per trial, execution and epoch.
`fitsweep.results.columns` says what every column holds, in the order `TRIAL_METRIC_COLUMNS` and
`EPOCH_COLUMNS` take from it; the documentation's column reference is generated from it.

A table holds the metrics of its run's task only: a classification's accuracy and cross-entropy,
or a regression's `mse`, `mae`, `r2` and `mse_sd` (`epoch_columns`, `trial_metric_columns`); the
other task's columns are absent rather than empty, so no reader mistakes a missing measure for a
bad score.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.results.columns import (
    EPOCH_MEANINGS,
    REGRESSION_EPOCH_MEANINGS,
    REGRESSION_TRIAL_METRIC_MEANINGS,
    TRIAL_METRIC_MEANINGS,
    trial_values,
)
from fitsweep.results.records import diverged, execution_epochs, execution_summaries
from fitsweep.vocabulary import STOP_CODES

__all__ = [
    "trials_table", "epochs_table", "EPOCH_COLUMNS", "REGRESSION_EPOCH_COLUMNS", "TRIAL_METRIC_COLUMNS",
    "REGRESSION_TRIAL_METRIC_COLUMNS", "epoch_columns", "trial_metric_columns", "trial_status",
    "trial_rows", "epoch_rows", "trials_frame", "epochs_frame",
]

# The columns' order is their registry's (`fitsweep.results.columns`), which says what each holds.
EPOCH_COLUMNS = list(EPOCH_MEANINGS)
TRIAL_METRIC_COLUMNS = list(TRIAL_METRIC_MEANINGS)
REGRESSION_EPOCH_COLUMNS = list(REGRESSION_EPOCH_MEANINGS)
REGRESSION_TRIAL_METRIC_COLUMNS = list(REGRESSION_TRIAL_METRIC_MEANINGS)
# The measures read at an execution's best epoch and on its test split, either task's.
_MEASURED = ("loss", "accuracy", "crossentropy", "mse", "mae", "r2")


def epoch_columns(task: str = "classification") -> list[str]:
    """The epochs table's columns for a task ("classification" or "regression").

    Example:
        >>> epoch_columns("regression")[3:7]
        ['loss', 'val_loss', 'mse', 'val_mse']
    """
    return REGRESSION_EPOCH_COLUMNS if task == "regression" else EPOCH_COLUMNS


def trial_metric_columns(task: str = "classification") -> list[str]:
    """The trials table's columns after the hyperparameters, for a task.

    Example:
        >>> "test_r2" in trial_metric_columns("regression")
        True
    """
    return REGRESSION_TRIAL_METRIC_COLUMNS if task == "regression" else TRIAL_METRIC_COLUMNS
# execution -> epoch (0-based) -> metric -> value, as `fitsweep.results.records.execution_epochs` reads them.
Epochs = dict[int, dict[int, dict[str, float]]]
_STOP_REASONS = {code: verdict.value for verdict, code in STOP_CODES.items()}
_ROW_COUNTS = ("train_rows", "train_measured_rows", "val_rows", "test_rows")
_AT_BEST_EPOCH = {
    **{name: f"train_{name}" for name in _MEASURED}, **{f"val_{name}": f"val_{name}" for name in _MEASURED},
}


def trial_status(trial: Any) -> str:
    """A trial's status in lower case; a failed trial one of whose executions diverged is "diverged"."""
    status = str(trial.status).lower()
    if status in ("failed", "invalid") and _diverged(trial):
        return "diverged"
    return "failed" if status == "invalid" else status


def _diverged(trial: Any) -> bool:
    if diverged(trial.metrics.metrics):
        return True
    # Runs recorded before executions reported `diverged_at` say so only in the trial's message.
    return "Diverged:" in (trial.message or "")


def trial_error(trial: Any) -> str | None:
    """The last line of a failed trial's traceback: the exception and its message."""
    lines = [line for line in (trial.message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def epochs_table(trials: Iterable[Any], task: str = "classification") -> pd.DataFrame:
    """One row per trial, execution and epoch (epochs count from 1).

    Example:
        >>> epochs_table([]).columns.tolist()[:3]
        ['trial_id', 'execution', 'epoch']
    """
    return epochs_frame([row for trial in trials for row in epoch_rows(trial)], task)


def epoch_rows(trial: Any, epochs: Epochs | None = None) -> list[dict[str, Any]]:
    """One trial's rows of the epochs table, as dicts: built once per trial, framed by `epochs_frame`.

    `epochs`: the trial's `execution_epochs`, when the caller has read them already (they are
    the costly part: one mean per metric and epoch).
    """
    if epochs is None:
        epochs = execution_epochs(trial.metrics.metrics)
    return [
        {"trial_id": trial.trial_id, "execution": execution, "epoch": step + 1, **values}
        for execution, by_epoch in epochs.items()
        for step, values in by_epoch.items()
    ]


def epochs_frame(rows: Sequence[dict[str, Any]], task: str = "classification") -> pd.DataFrame:
    """The epochs table of rows from `epoch_rows`, in their order, with the task's columns (`epoch_columns`).

    Example:
        >>> epochs_frame([]).columns.tolist()[:3]
        ['trial_id', 'execution', 'epoch']
    """
    columns = epoch_columns(task)
    frame = pd.DataFrame(rows, columns=columns) if not rows else pd.DataFrame(rows)
    for column in columns:
        if column not in frame:
            frame[column] = np.nan
    other = set(epoch_columns("classification" if task == "regression" else "regression")) - set(columns)
    extra = [c for c in frame.columns if c not in columns and c not in other]
    return frame[columns + extra].astype({"trial_id": "string", "execution": "int64", "epoch": "int64"})


def trials_table(trials: Iterable[Any], hyperparameters: Sequence[str], task: str = "classification"
                 ) -> pd.DataFrame:
    """One row per trial and execution, hyperparameters named as in the sweep file.

    Metrics are those of each execution's best epoch (by the objective), whose weights were
    also the ones evaluated on the test split. A trial that failed before reporting has one row
    with execution 0 and its error.

    Example:
        >>> trials_table([], ["depth"]).columns.tolist()[:4]
        ['trial_id', 'execution', 'status', 'depth']
    """
    return trials_frame([row for trial in trials for row in trial_rows(trial, hyperparameters)], hyperparameters,
                        task)


def trial_rows(trial: Any, hyperparameters: Sequence[str], worker: str | None = None,
               epochs: Epochs | None = None) -> list[dict[str, Any]]:
    """One trial's rows of the trials table, as dicts: built once per trial, framed by `trials_frame`.

    `worker` is the KerasTuner tuner id of the process that trained it (None when not known);
    `epochs`: the trial's `execution_epochs`, as for `epoch_rows`.
    """
    return _trial_rows(trial, hyperparameters, worker, epochs)


def trials_frame(rows: Sequence[dict[str, Any]], hyperparameters: Sequence[str], task: str = "classification"
                 ) -> pd.DataFrame:
    """The trials table of rows from `trial_rows`, in their order, with the task's columns (`trial_metric_columns`).

    Example:
        >>> trials_frame([], ["depth"]).columns.tolist()[:4]
        ['trial_id', 'execution', 'status', 'depth']
    """
    columns = ["trial_id", "execution", "status", *hyperparameters, *trial_metric_columns(task)]
    frame = pd.DataFrame(list(rows), columns=columns)
    for column in ("started", "ended"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame.astype({"trial_id": "string", "execution": "int64", "status": "string", "epochs_run": "Int64",
                         "best_epoch": "Int64", "params": "Int64", "worker": "string", "error": "string",
                         "stopped_at": "Int64", "stop_reason": "string",
                         **dict.fromkeys(_ROW_COUNTS, "Int64")})


def _trial_rows(trial: Any, hyperparameters: Sequence[str], worker: str | None = None,
                epochs: Epochs | None = None) -> list[dict[str, Any]]:
    values = trial_values(trial.hyperparameters.values)
    base = {
        "worker": worker,
        "trial_id": trial.trial_id,
        "status": trial_status(trial),
        **{name: values.get(name) for name in hyperparameters},
        "score": trial.score,
        "error": trial_error(trial) if trial_status(trial) != "completed" else None,
    }
    if epochs is None:
        epochs = execution_epochs(trial.metrics.metrics)
    summaries = execution_summaries(trial.metrics.metrics)
    if not epochs:
        return [{**base, "execution": 0}]
    return [{**base, "execution": execution, **_execution_metrics(by_epoch, summaries.get(execution, {}))}
            for execution, by_epoch in epochs.items()]


def _execution_metrics(by_epoch: dict[int, dict[str, float]], summary: dict[str, float]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "epochs_run": len(by_epoch),
        "fit_seconds": float(sum(values.get("seconds", 0.0) for values in by_epoch.values())),
        "params": int(summary["params"]) if "params" in summary else None,
        **{f"test_{name}": summary.get(f"test_{name}") for name in _MEASURED},
        **{key: summary.get(key) for key in ("weight_l1", "weight_l2", "near_zero_share")},
        **{key: int(summary[key]) if key in summary else None for key in _ROW_COUNTS},
        "started": summary.get("started_at"),
        "ended": summary.get("ended_at"),
        "stopped_at": int(summary["stopped_at"]) + 1 if "stopped_at" in summary else None,
        "stop_reason": _STOP_REASONS.get(summary.get("stopped_for", math.nan)),
    }
    if "best_epoch" in summary:
        best = int(summary["best_epoch"])
        row["best_epoch"] = best + 1
        row.update({column: by_epoch.get(best, {}).get(name) for name, column in _AT_BEST_EPOCH.items()})
    return row
