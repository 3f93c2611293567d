"""The best trials: a table of the best completed trials by the objective, with their verdicts."""

from __future__ import annotations

import pandas as pd

from fitsweep.report.content import Section, Table
from fitsweep.report.context import Context
from fitsweep.report.sections.base import SectionSpec
from fitsweep.report.text import hyperparameters, optional
from fitsweep.results import SweepRun
from fitsweep.vocabulary import TrialStatus

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
    shown = (objective, "val_loss", "val_accuracy", "test_loss", "test_accuracy", "best_epoch")
    metrics = [c for c in dict.fromkeys(shown) if c in done]
    table = done.groupby("trial_id", sort=False).agg({**{c: "first" for c in varied}, **{m: "mean" for m in metrics}})
    table = table.sort_values(objective, ascending=direction == "min", kind="stable").head(top)
    if diagnosis is not None:  # only the trials shown: a sweep of 10,000 trials shows 5
        shown_ids = set(table.index.astype(str))
        rows = diagnosis[diagnosis["trial_id"].astype(str).isin(shown_ids).to_numpy()]
        fits = rows.assign(trial_id=rows["trial_id"].astype(str)).groupby("trial_id")["fit"]
        table["verdict"] = [_verdicts_text(fits.get_group(t)) if t in fits.groups else "-"
                            for t in table.index.astype(str)]
    return table.reset_index().rename(columns={"trial_id": "trial"})


def _verdicts_text(fits: pd.Series) -> str:
    counts = fits.astype(str).value_counts()
    return ", ".join(str(fit) if n == 1 else f"{fit} x{n}" for fit, n in counts.items())


def _best_section(context: Context) -> Section:
    section = Section("best", "Best trials")
    table = best_trials(context.run, optional(lambda: context.diagnosis))
    if table.empty:
        section.note = "No trial completed yet."
        return section
    section.lead = (f"Mean over each trial's executions, best {context.run.spec.tuner.objective} first; metrics at "
                    "each execution's best epoch, test metrics on the held-out split.")
    section.table = Table.of(table)
    return section


SECTION = SectionSpec("best", "Best trials", _best_section)
