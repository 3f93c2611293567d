"""The best trials: a table of the best completed trials by the objective, with their verdicts."""

from __future__ import annotations

import pandas as pd

from fitsweep.report.content import Section, Table
from fitsweep.report.context import Context
from fitsweep.report.sections.base import SectionSpec
from fitsweep.report.text import hyperparameters, optional
from fitsweep.results import SweepRun
from fitsweep.vocabulary import TrialStatus, verdict_tally

__all__ = ["SECTION", "best_trials"]

_TOP = 5  # trials in the best-trials table


def best_trials(run: SweepRun, diagnosis: pd.DataFrame | None, top: int = _TOP) -> pd.DataFrame:
    """The best completed trials by the objective (mean over executions), with their verdicts.

    Example:
        >>> best_trials(run, verdicts_of(run))  # doctest: +SKIP
    """
    trials = run.trials
    done = trials[trials["status"].astype("string").eq(TrialStatus.COMPLETED).fillna(False).to_numpy()]
    if done.empty:
        return pd.DataFrame()
    varied = [c for c in hyperparameters(run) if done[c].astype("string").nunique(dropna=False) > 1]
    objective, direction = run.spec.tuner.objective, run.spec.tuner.direction
    # A metric nobody recorded (an import's test metrics) is left out rather than shown as a column of dashes.
    metrics = [c for c in dict.fromkeys((objective, *_metrics(done))) if c in done
               and (c == objective or done[c].notna().any())]
    table = done.groupby("trial_id", sort=False).agg({**{c: "first" for c in varied}, **{m: "mean" for m in metrics}})
    table = table.sort_values(objective, ascending=direction == "min", kind="stable").head(top)
    if diagnosis is not None:  # only the trials shown: a sweep of 10,000 trials shows 5
        shown_ids = set(table.index.astype(str))
        rows = diagnosis[diagnosis["trial_id"].astype(str).isin(shown_ids).to_numpy()]
        fits = rows.assign(trial_id=rows["trial_id"].astype(str)).groupby("trial_id")["fit"]
        table["verdict"] = [_verdicts_text(fits.get_group(t)) if t in fits.groups else "-"
                            for t in table.index.astype(str)]
    return table.reset_index().rename(columns={"trial_id": "trial"})


def _metrics(done: pd.DataFrame) -> tuple[str, ...]:
    """The metrics shown: the cross-entropy without the L1/L2 penalty where recorded, else Keras' loss.

    `val_loss` is the cross-entropy plus the penalty (what the optimizer minimised), so beside
    `val_crossentropy` it would show two numbers for one quantity that differ by the penalty.
    """
    if "val_mse" in done.columns:  # a regression: its squared error, and R² against predicting the mean
        return "val_mse", "val_r2", "test_mse", "test_r2", "best_epoch"
    if {"val_crossentropy", "test_crossentropy"} <= set(done.columns) and done["val_crossentropy"].notna().any():
        return "val_crossentropy", "val_accuracy", "test_crossentropy", "test_accuracy", "best_epoch"
    return "val_loss", "val_accuracy", "test_loss", "test_accuracy", "best_epoch"


def _verdicts_text(fits: pd.Series) -> str:
    return verdict_tally(fits.astype(str), short=True)


def _lead(objective: str, table: pd.DataFrame) -> str:
    lead = (f"Mean over each trial's executions, best {objective} first; metrics at each execution's best epoch, "
            "test metrics on the held-out split; the verdict, in how many of its repeats.")
    if "val_loss" in table and "val_crossentropy" in table:  # the objective is val_loss: both are shown
        lead += (" val_loss is the cross-entropy plus the L1/L2 penalty (what training minimised); "
                 "val_crossentropy is the cross-entropy alone.")
    elif "val_crossentropy" in table:
        lead += " Cross-entropy without the L1/L2 penalty, so trials with and without a penalty compare."
    return lead


def _best_section(context: Context) -> Section:
    section = Section("best", "Best trials")
    table = best_trials(context.run, optional(lambda: context.diagnosis))
    if table.empty:
        section.note = "No trial completed yet."
        return section
    section.lead = _lead(context.run.spec.tuner.objective, table)
    section.table = Table.of(table)
    return section


SECTION = SectionSpec("best", "Best trials", _best_section)
