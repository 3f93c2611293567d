"""What a trial reports to the KerasTuner oracle, and how it is read back.

Each execution of a trial reports every epoch through `oracle.update_trial(..., step=epoch)`, so
the records reach the chief oracle when trials run in other processes or on other machines.
Metric names carry the execution: `execution_0/val_loss`. Each report also carries the
objective under its own name, as the oracle requires; KerasTuner keeps one value per execution
at each step and scores a trial by the best epoch of their mean. The last epoch's report of an
execution also carries its summary: test metrics (evaluated once, after training, with the
weights of the best epoch), the best epoch and the parameter count; or, for an execution whose
loss became NaN or infinite, `diverged_at`: the epoch (from 0) it diverged at. An execution that
fit-aware stopping stopped adds `stopped_at` (the epoch, from 0) and `stopped_for` (the verdict it
was stopped for, as `fitsweep.training.stopping.STOP_CODES` numbers it).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

__all__ = ["diverged", "epoch_metrics", "execution_epochs", "execution_summaries", "SUMMARY_KEYS"]

_NAME = re.compile(r"^execution_(\d+)/(.+)$")
SUMMARY_KEYS = (
    "test_loss", "test_accuracy", "test_crossentropy", "test_mse", "test_mae", "test_r2", "best_epoch", "params",
    "diverged_at",
    "weight_l1", "weight_l2", "near_zero_share", "train_rows", "train_measured_rows", "val_rows", "test_rows",
    "started_at", "ended_at", "stopped_at", "stopped_for",
    "diverged",  # 1.0 for a diverged execution, in runs recorded before `diverged_at`
)


def epoch_metrics(execution: int, logs: Mapping[str, float], seconds: float, objective: str) -> dict[str, float]:
    """One epoch's report: Keras' logs and wall time under the execution's names."""
    report = {f"execution_{execution}/{key}": float(value) for key, value in logs.items()}
    report[f"execution_{execution}/seconds"] = float(seconds)
    report[objective] = float(logs.get(objective, math.nan))
    return report


def summary_metrics(execution: int, summary: Mapping[str, float]) -> dict[str, float]:
    """An execution's summary, sent with its last epoch's report."""
    return {f"execution_{execution}/{key}": float(value) for key, value in summary.items()}


def diverged(metrics: Mapping[str, Any]) -> bool:
    """Whether an execution of a trial recorded the epoch it diverged at, from its `MetricsTracker.metrics`."""
    return any(_NAME.match(name) and name.endswith("/diverged_at") for name in metrics)


def _by_execution(metrics: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    grouped: dict[int, dict[str, Any]] = defaultdict(dict)
    for name, history in metrics.items():
        match = _NAME.match(name)
        if match:
            grouped[int(match.group(1))][match.group(2)] = history
    return grouped


def execution_epochs(metrics: Mapping[str, Any]) -> dict[int, dict[int, dict[str, float]]]:
    """execution -> epoch -> {metric: value} from a trial's `MetricsTracker.metrics`."""
    result: dict[int, dict[int, dict[str, float]]] = {}
    for execution, named in sorted(_by_execution(metrics).items()):
        epochs: dict[int, dict[str, float]] = defaultdict(dict)
        for name, history in named.items():
            if name in SUMMARY_KEYS:
                continue
            for observation in history.get_history():
                epochs[int(observation.step)][name] = float(observation.mean())
        result[execution] = dict(sorted(epochs.items()))
    return result


def execution_summaries(metrics: Mapping[str, Any]) -> dict[int, dict[str, float]]:
    """execution -> its summary values (test metrics, best epoch, params)."""
    return {
        execution: {
            name: float(history.get_history()[-1].mean())
            for name, history in named.items()
            if name in SUMMARY_KEYS and history.get_history()
        }
        for execution, named in sorted(_by_execution(metrics).items())
    }
