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
from fitsweep.vocabulary import TrialStatus, Verdict

__all__ = ["SECTION", "fit_counts"]


def fit_counts(diagnosis: pd.DataFrame) -> pd.DataFrame:
    """Executions per verdict, their share, one example reason and what usually helps.

    Example:
        >>> fit_counts(verdicts_of(run))  # doctest: +SKIP
    """
    rows = []
    for fit in Verdict:
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
    listed, summary = listed_verdicts(diagnosis)
    section.details, section.details_summary = Table.of(listed[columns]), summary
    if len(listed) < len(diagnosis):
        section.items.append(f"{summary}; `fitsweep diagnose {context.run.path} --csv verdicts.csv` writes all "
                             f"{len(diagnosis):,} with their evidence.")
    return section


# A run of thousands of executions lists the clearest of each verdict, not every one: a table of
# 20,000 reasons is a page no one reads (and a report of tens of megabytes).
LISTED_EXECUTIONS = 100
_FAILURES_LISTED = 10
_CLEAREST = (  # verdict, the column that orders its executions (clearest first), ascending, in words
    (Verdict.OVERFIT, "variance", False, "most overfit (largest variance)"),
    (Verdict.UNDERFIT, "bias", False, "most underfit (largest bias)"),
    (Verdict.GOOD, "val_crossentropy", True, "good ones with the lowest validation cross-entropy"),
    (Verdict.DIVERGED, "trial_id", True, "diverged ones with the first trial ids"),
)


def listed_verdicts(diagnosis: pd.DataFrame, limit: int = LISTED_EXECUTIONS) -> tuple[pd.DataFrame, str]:
    """The executions the report lists with their reasons, and a summary of what they are.

    Up to `limit` executions, every one is listed. Beyond, a quarter of `limit` for each verdict
    (what a verdict leaves unused goes to the others): the most overfit, the most underfit, the
    best good ones and the first diverged ones.

    Example:
        >>> listed, summary = listed_verdicts(verdicts_of(run))  # doctest: +SKIP
        >>> summary  # doctest: +SKIP
        "100 of 20,000 executions: the 25 most overfit (largest variance), ..."
    """
    if len(diagnosis) <= limit:
        return diagnosis, "Every execution's verdict and reason"
    fits = diagnosis["fit"].astype(str)
    available = {fit: int((fits == fit).sum()) for fit, *_ in _CLEAREST}
    quota = _shares(available, limit)
    parts, words = [], []
    for fit, column, ascending, described in _CLEAREST:
        if not quota[fit]:
            continue
        rows = diagnosis[(fits == fit).to_numpy()]
        if column in rows:
            rows = rows.sort_values(column, ascending=ascending, kind="stable", na_position="last")
        parts.append(rows.head(quota[fit]))
        words.append(f"the {quota[fit]} {described}")
    listed = pd.concat(parts)
    return listed, f"{len(listed):,} of {len(diagnosis):,} executions: {', '.join(words)}"


def _shares(available: dict[Verdict, int], limit: int) -> dict[Verdict, int]:
    """`limit` places shared evenly among the verdicts, a verdict's unused places passed on to the others."""
    quota = dict.fromkeys(available, 0)
    left = limit
    while left > 0:
        open_ = [fit for fit in available if quota[fit] < available[fit]]
        if not open_:
            break
        each = max(left // len(open_), 1)
        for fit in open_:
            take = min(each, available[fit] - quota[fit], left)
            quota[fit] += take
            left -= take
    return quota


def _failures(run: SweepRun) -> list[str]:
    trials = run.trials.drop_duplicates("trial_id")
    failed = trials[~trials["status"].astype(str).isin([TrialStatus.COMPLETED, TrialStatus.RUNNING])]
    lines = [f"Trial {row.trial_id} {row.status}: {_error_text(row.error)}"
             for row in failed.head(_FAILURES_LISTED).itertuples()]
    if len(failed) > _FAILURES_LISTED:
        counts = ", ".join(f"{n:,} {status}" for status, n in failed["status"].astype(str).value_counts().items())
        lines.append(f"... and {len(failed) - _FAILURES_LISTED:,} more trials that did not complete "
                     f"({counts} in all; their errors are in the trials table's error column).")
    return lines


def _error_text(error: Any) -> str:
    if not isinstance(error, str) or not error.strip():
        return "no error recorded"
    # "some.module.FailedTrialError: message" reads "FailedTrialError: message": the class name says enough.
    return re.sub(r"^(?:\w+\.)+(\w+): ", r"\1: ", error.strip())


SECTION = SectionSpec("fit", "Over- and underfitting", _fit_section)
