"""Terminal views of a run: rich renderables built from its tables."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.console import Group
from rich.table import Table
from rich.text import Text

from fitsweep.results.columns import table_hyperparameters

__all__ = ["trials_summary", "frame_table", "report_summary"]

_METRICS = ["val_loss", "val_accuracy", "test_accuracy", "best_epoch"]


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


def frame_table(frame: pd.DataFrame, title: str | None = None, max_rows: int | None = _MAX_ROWS) -> Table | Group:
    """Any DataFrame as a rich table (numbers to 4 significant digits), its first `max_rows` rows.

    A longer table shows its first `max_rows` rows, in the frame's order, and a caption saying
    how many were left out below it (`fitsweep diagnose` and `compare` write every row with
    `--csv`). `max_rows=None` shows every row.

    Example:
        >>> Console().print(frame_table(run.trials, max_rows=20))  # doctest: +SKIP
    """
    left_out = 0 if max_rows is None else max(len(frame) - max_rows, 0)
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in (frame.iloc[: len(frame) - left_out]).itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    if not left_out:
        return table
    return Group(table, Text(f"{len(frame) - left_out:,} of {len(frame):,} rows shown, in table order; the other "
                             f"{left_out:,} are left out (--csv writes every row).", style="italic"))


def trials_summary(run: Any, top: int = 10) -> Group:
    """A run's status line and its best trials (mean over executions), best first."""
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
    per_trial = completed.groupby("trial_id", sort=False).agg(
        {**{c: "first" for c in varied}, **{m: "mean" for m in _metrics(spec.tuner.objective)}, "execution": "count"}
    ).rename(columns={"execution": "runs"})
    ascending = spec.tuner.direction == "min"
    best = per_trial.sort_values(spec.tuner.objective, ascending=ascending).head(top).reset_index()
    title = f"Best {len(best)} of {len(per_trial)} completed trials (mean over runs)"
    return Group(header, Text(f"Same in every trial: {fixed}" if fixed else ""), frame_table(best, title=title))


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
    for finding in findings if findings is not None else headline(run, diagnosis):
        parts.append(Text(f"- {finding.text}"))
        parts += [Text(f"    - {item}") for item in finding.items]
    if diagnosis is not None and not diagnosis.empty:
        parts.append(_verdicts_table(fit_counts(diagnosis)))
    best = best_trials(run, diagnosis)
    if not best.empty:
        parts.append(frame_table(best, title=f"Best {len(best)} trials (mean over executions)"))
    return Group(*parts)


def _verdicts_table(counts: pd.DataFrame) -> Table:
    table = Table(title="Verdicts (executions)", title_justify="left", header_style="bold")
    for column, justify in (("verdict", "left"), ("n", "right"), ("share", "right"), ("example", "left"),
                            ("what usually helps", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in counts.itertuples(index=False):
        verdict = str(row.verdict)
        table.add_row(Text(verdict, style=_VERDICT_STYLES.get(verdict, "")), str(row.executions), f"{row.share:.0%}",
                      str(row.example), str(row.remedy))
    return table
