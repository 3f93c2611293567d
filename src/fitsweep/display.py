"""Terminal views of a run: rich renderables built from its tables."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

__all__ = ["trials_summary", "frame_table"]

_METRICS = ["val_loss", "val_accuracy", "test_accuracy", "best_epoch"]


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def frame_table(frame: pd.DataFrame, title: str | None = None) -> Table:
    """Any DataFrame as a rich table (numbers to 4 significant digits)."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def trials_summary(run: Any, top: int = 10) -> Group:
    """A run's status line and its best trials (mean over executions), best first."""
    trials, info, spec = run.trials, run.info, run.spec
    counts = ", ".join(f"{n} {state}" for state, n in trials.drop_duplicates("trial_id")["status"].value_counts().items())
    header = Text(f"{spec.name}: {info.get('status', 'unknown')} - {counts or 'no trials'}; "
                  f"objective {spec.tuner.objective} ({spec.tuner.algorithm} search)")
    completed = trials[trials["status"] == "completed"]
    if completed.empty:
        return Group(header, Text("No completed trial."))
    hyperparameters = _hyperparameter_columns(trials)
    varied = [c for c in hyperparameters if completed[c].nunique(dropna=False) > 1]
    fixed = ", ".join(f"{c}={_cell(completed[c].iloc[0])}" for c in hyperparameters if c not in varied)
    per_trial = completed.groupby("trial_id", sort=False).agg(
        {**{c: "first" for c in varied}, **{m: "mean" for m in _METRICS}, "execution": "count"}
    ).rename(columns={"execution": "runs"})
    ascending = spec.tuner.direction == "min"
    best = per_trial.sort_values(spec.tuner.objective, ascending=ascending).head(top).reset_index()
    title = f"Best {len(best)} of {len(per_trial)} completed trials (mean over runs)"
    return Group(header, Text(f"Same in every trial: {fixed}" if fixed else ""), frame_table(best, title=title))


def _hyperparameter_columns(trials: pd.DataFrame) -> list[str]:
    start = list(trials.columns).index("status") + 1
    end = list(trials.columns).index("epochs_run")
    return list(trials.columns[start:end])
