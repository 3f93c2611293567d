"""Terminal views of a run: rich renderables built from its tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

from fitsweep.results.columns import table_hyperparameters
from fitsweep.terminal_table import FittedTable, TableColumn

__all__ = ["trials_summary", "summary_columns", "frame_table", "report_summary"]

_METRICS = ["val_loss", "val_accuracy", "test_accuracy", "test_r2", "best_epoch"]


# Which of the summary's metric columns a narrow terminal keeps, after the objective and the hyperparameters.
_SUMMARY_PRIORITY = ["test_accuracy", "test_r2", "val_accuracy", "best_epoch", "val_loss", "runs"]
_REPORT_PRIORITY = ["val_accuracy", "val_r2", "best_epoch", "val_loss", "test_loss", "test_mse"]


def _metrics(objective: str) -> list[str]:
    """The summary's metric columns, the objective first."""
    return [objective, *(m for m in _METRICS if m != objective)]


_VERDICT_STYLES = {"good": "green", "overfit": "dark_orange", "underfit": "blue", "diverged": "grey50"}


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_MAX_ROWS = 200  # a terminal table beyond this is scrolled past, not read; and rich lays it out slowly


def frame_table(frame: pd.DataFrame, title: str | None = None, max_rows: int | None = _MAX_ROWS,
                priority: Sequence[str] | None = None, hint: str = "a wider terminal or --csv shows them"
                ) -> FittedTable:
    """Any DataFrame as a table that fits the terminal (numbers to 4 significant digits), its first `max_rows` rows.

    Columns are kept in `priority` order (the frame's by default) while they fit the console's
    width; a line below names those left out and `hint` says where to see them. A longer table
    shows its first `max_rows` rows, in the frame's order, and a line saying how many were left
    out (`fitsweep diagnose` and `compare` write every row with `--csv`). `max_rows=None` shows
    every row.

    Example:
        >>> Console(width=80).print(frame_table(run.trials, max_rows=20))  # doctest: +SKIP
    """
    left_out = 0 if max_rows is None else max(len(frame) - max_rows, 0)
    shown = frame.iloc[: len(frame) - left_out]
    columns = [TableColumn(str(name), [_cell(value) for value in shown[name]],
                           bool(pd.api.types.is_numeric_dtype(frame[name]))) for name in frame.columns]
    notes = [f"{len(shown):,} of {len(frame):,} rows shown, in table order; the other {left_out:,} are left out "
             "(--csv writes every row)."] if left_out else []
    return FittedTable(columns, title=title, priority=priority, hint=hint, notes=notes)


def trials_summary(run: Any, top: int = 10, columns: Sequence[str] | None = None) -> Group:
    """A run's status line and its best trials (mean over executions), best first.

    Args:
        run: A `SweepRun`.
        top: How many trials to show.
        columns: The columns after `trial_id`, in order: any of `summary_columns(run)`. By default
            the hyperparameters that vary and the main metrics, as many as the terminal's width holds.

    Example:
        >>> Console(width=80).print(trials_summary(fitsweep.load("results/moons")))  # doctest: +SKIP
    """
    trials, info, spec = run.trials, run.info, run.spec
    statuses = trials.drop_duplicates("trial_id")["status"].value_counts()
    counts = ", ".join(f"{n} {state}" for state, n in statuses.items())
    header = Text(f"{spec.name}: {info.get('status', 'unknown')} - {counts or 'no trials'}; "
                  f"objective {spec.tuner.objective} ({spec.tuner.algorithm} search)")
    completed = trials[trials["status"] == "completed"]
    if completed.empty:
        return Group(header, Text("No completed trial."))
    hyperparameters = table_hyperparameters(trials.columns)
    varied = [c for c in hyperparameters if completed[c].nunique(dropna=False) > 1]
    fixed = ", ".join(f"{c}={_cell(completed[c].iloc[0])}" for c in hyperparameters if c not in varied)
    objective = spec.tuner.objective
    # A table holds its task's metrics only (a regression has no accuracy), and an import no test metrics.
    measured = [m for m in _metrics(objective) if m in completed and completed[m].notna().any()]
    shown = list(columns) if columns else [*varied, *measured, "runs"]
    aggregated = {c: "first" if c in hyperparameters else "mean" for c in dict.fromkeys([objective, *shown])}
    per_trial = (completed.assign(runs=1).groupby("trial_id", sort=False)
                 .agg({**aggregated, "runs": "sum"}))
    best = per_trial.sort_values(objective, ascending=spec.tuner.direction == "min").head(top)
    title = f"Best {len(best)} of {len(per_trial)} completed trials (mean over runs)"
    priority = None if columns else ["trial_id", objective, *varied, *_SUMMARY_PRIORITY]
    table = frame_table(best[shown].reset_index(), title=title, priority=priority,
                        hint=f"a wider terminal shows them, or: fitsweep show {run.path} --columns {{columns}}")
    return Group(header, Text(f"Same in every trial: {fixed}" if fixed else ""), table)


def summary_columns(run: Any) -> list[str]:
    """The columns `trials_summary` can show: the hyperparameters, `runs`, and every numeric column of the trials."""
    trials = run.trials
    numeric = [c for c in trials.columns if pd.api.types.is_numeric_dtype(trials[c]) and c != "execution"]
    return list(dict.fromkeys([*table_hyperparameters(trials.columns), *numeric, "runs"]))


def report_summary(run: Any, diagnosis: pd.DataFrame | None = None, findings: list[Any] | None = None,
                   recommendation: str | None = None) -> Group:
    """The report's findings in the terminal: what to use and change, key findings, verdicts, best trials.

    Args:
        run: A `SweepRun`.
        diagnosis: `verdicts_of(run)`; computed with the run's chance level if omitted.
        findings: The key findings (`headline(run, diagnosis)`) if already computed, as in a built report.
        recommendation: The report's first line (`recommend(run, diagnosis)`) if already computed.

    Example:
        >>> Console().print(report_summary(fitsweep.load("results/moons")))  # doctest: +SKIP
    """
    from fitsweep.report import best_trials, diagnose_run, fit_counts, headline, recommend

    diagnosis = diagnosis if diagnosis is not None else diagnose_run(run)
    recommendation = recommendation if recommendation is not None else recommend(run, diagnosis)
    parts: list[Any] = [Text(recommendation, style="bold"), Text(f"{run.spec.name}: key findings", style="bold")]
    parts.append(_bullets(findings if findings is not None else headline(run, diagnosis)))
    if diagnosis is not None and not diagnosis.empty:
        parts.append(_verdicts_table(fit_counts(diagnosis)))
    best = best_trials(run, diagnosis)
    if not best.empty:
        objective = run.spec.tuner.objective
        varied = [c for c in best.columns if c in table_hyperparameters(best.columns)]
        priority = ["trial", objective, "verdict", *varied, "test_accuracy", *_REPORT_PRIORITY]
        parts.append(frame_table(best, title=f"Best {len(best)} trials (mean over executions)", priority=priority,
                                 hint=f"a wider terminal or {run.path / 'report.md'} shows them"))
    return Group(*parts)


def _bullets(findings: list[Any]) -> Table:
    """Findings as a list whose wrapped lines stay indented under their first, their items one level in."""
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for finding in findings:
        grid.add_row("-", finding.text)
        for item in finding.items:
            grid.add_row("", f"- {item}")
    return grid


def _verdicts_table(counts: pd.DataFrame) -> FittedTable:
    verdicts = [str(verdict) for verdict in counts["verdict"]]
    columns = [
        TableColumn("verdict", [Text(verdict, style=_VERDICT_STYLES.get(verdict, "")) for verdict in verdicts]),
        TableColumn("n", [str(n) for n in counts["executions"]], numeric=True),
        TableColumn("share", [f"{share:.0%}" for share in counts["share"]], numeric=True),
        TableColumn("example", [str(example) for example in counts["example"]]),
        TableColumn("what usually helps", [str(remedy) for remedy in counts["remedy"]]),
    ]
    return FittedTable(columns, title="Verdicts (executions)",
                       priority=["verdict", "n", "share", "what usually helps", "example"],
                       hint="a wider terminal or the report shows them")
