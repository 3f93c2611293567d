"""Over- and underfitting: executions per verdict with an example reason, failed trials, every verdict."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from fitsweep.errors import FitsweepError
from fitsweep.report.content import Section, Table
from fitsweep.report.context import Context
from fitsweep.report.sections.base import SectionSpec
from fitsweep.results import SweepRun

__all__ = ["SECTION", "fit_counts"]


def fit_counts(diagnosis: pd.DataFrame) -> pd.DataFrame:
    """Executions per verdict, their share, one example reason and what usually helps.

    Example:
        >>> fit_counts(diagnose(run.epochs, run.trials))  # doctest: +SKIP
    """
    from fitsweep.analysis import Fit

    rows = []
    for fit in Fit:
        matches = diagnosis[diagnosis["fit"].astype(str) == fit.value]
        if len(matches):
            first = matches.iloc[0]
            rows.append({"verdict": fit.value, "executions": len(matches), "share": len(matches) / len(diagnosis),
                         "example": f"trial {first['trial_id']}: {first['fit_reason']}", "remedy": fit.remedy})
    return pd.DataFrame(rows, columns=["verdict", "executions", "share", "example", "remedy"])


def _fit_section(context: Context) -> Section:
    section = Section("fit", "Over- and underfitting", items=_failures(context.run))
    try:
        diagnosis = context.diagnosis
    except FitsweepError as error:
        section.note = str(error)
        return section
    section.lead = ("Each execution's learning curves judged by fitsweep.analysis.diagnose: the verdict, an example "
                    "of its reason, and what usually helps.")
    counts = fit_counts(diagnosis)
    section.table = Table.of(counts.assign(share=[f"{share:.0%}" for share in counts["share"]]))
    columns = [c for c in ("trial_id", "execution", "status", "fit", "fit_reason") if c in diagnosis]
    section.details = Table.of(diagnosis[columns])
    return section


def _failures(run: SweepRun) -> list[str]:
    trials = run.trials.drop_duplicates("trial_id")
    failed = trials[~trials["status"].astype(str).isin(["completed", "running"])]
    return [f"Trial {row.trial_id} {row.status}: {_error_text(row.error)}" for row in failed.itertuples()]


def _error_text(error: Any) -> str:
    if not isinstance(error, str) or not error.strip():
        return "no error recorded"
    # "some.module.FailedTrialError: message" reads "FailedTrialError: message": the class name says enough.
    return re.sub(r"^(?:\w+\.)+(\w+): ", r"\1: ", error.strip())


SECTION = SectionSpec("fit", "Over- and underfitting", _fit_section)
