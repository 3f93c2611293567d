"""The report of a run: `report.html` (one self-contained file) and `report.md` (figures as PNG files).

Sections come in the order a reader asks: what was swept; the best trials; how many trials
over- or underfitted and why; then the figures (learning curves, gap against capacity,
regularizers, importance, hyperparameters, decision boundaries, confusion matrix, weights).
Every section builds itself under a guard: a run with failed trials, a single trial or no
completed trial gets a report whose sections say what they cannot show, never a traceback.

- `sections/`: one module per section (its data, text and figure) and `SECTIONS`, their order;
- `recommendation`: the first line, what to use and what to change; `findings`: the key findings
  under it, above the sections; both also printed by `fitsweep report`;
- `page`: builds every section and renders the templates; `live`: `LiveReport` for a running sweep.

Example:
    >>> from fitsweep.report import write_report
    >>> files = write_report("results/moons")  # doctest: +SKIP
    >>> files.html  # doctest: +SKIP
    PosixPath('results/moons/report.html')
"""

from __future__ import annotations

from fitsweep.report.content import Finding, Report, ReportFiles, Section
from fitsweep.report.context import diagnose_run
from fitsweep.report.findings import headline
from fitsweep.report.live import LiveReport, last_report
from fitsweep.report.page import build_report, save_report, write_report
from fitsweep.report.recommendation import recommend
from fitsweep.report.sections.best import best_trials
from fitsweep.report.sections.fit import fit_counts

__all__ = [
    "Finding", "LiveReport", "Report", "ReportFiles", "Section", "best_trials", "build_report", "diagnose_run",
    "fit_counts", "headline", "last_report", "recommend", "save_report", "write_report",
]
