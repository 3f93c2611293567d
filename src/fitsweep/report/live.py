"""The live report: a running sweep's report kept current at a bounded cost."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from fitsweep.report.content import Report
from fitsweep.report.page import build_report, save_report
from fitsweep.results import SweepRun, load

__all__ = ["LiveReport", "last_report"]

log = logging.getLogger(__name__)

_REFRESH_SPACING = 4  # a live report waits this many times its last duration
_FIRST_AFTER = 10.0  # seconds into the run before a live report is first rewritten: a shorter run ends first
_FIGURES_AFTER = 30.0  # seconds into the run before a live report draws figures: a shorter run ends first
_LAST: dict[Path, Report] = {}  # the report each run's live report last wrote, in this process


def last_report(run: SweepRun) -> Report | None:
    """The report a live report of this process last wrote for `run`, if written from the same tables (else None).

    The end of a run prints its findings from it rather than computing them again.
    """
    from fitsweep.report.figure_inputs import figure_inputs

    report = _LAST.get(run.path.resolve())
    if report is None or report.figure_inputs != figure_inputs(run, run.info.get("data_dir", "."), retrain=False):
        return None
    return report


class LiveReport:
    """Keeps a running sweep's report current, at a bounded cost and never at the run's expense.

    `refresh()` after each trial rewrites the report unless the last one finished less than four
    times its own duration ago, so the report takes at most about a fifth of the run's time: a
    sweep whose trials take longer than four reports (about 10 s for 30 trials) gets a fresh report
    after every trial, a sweep of quick trials after every few. The first rewrite waits until 10 s
    into the run, and figures are drawn from 30 s into the run on; a shorter run would only wait
    for them. `refresh(force=True)`, at the end of
    the run, always rewrites the report, and draws no figure: those the last refresh drew from the
    same results stay, `fitsweep report` draws the others. A failure logs one warning line and the
    run goes on.

    Example:
        >>> live = LiveReport("results/moons", splits)  # doctest: +SKIP
        >>> live.refresh()  # doctest: +SKIP
    """

    def __init__(self, run_dir: str | Path, splits: Any = None) -> None:
        self.run_dir, self.splits = Path(run_dir), splits
        self._ready_at = time.monotonic() + _FIRST_AFTER  # monotonic time before which a refresh is skipped
        self._figures_at = time.monotonic() + _FIGURES_AFTER  # monotonic time from which figures are drawn

    def refresh(self, force: bool = False) -> None:
        """Rewrite the report (unless throttled); log a warning instead of raising."""
        started = time.monotonic()
        if not force and started < self._ready_at:
            return
        try:
            _write(self.run_dir, splits=self.splits, draw_figures=not force and started >= self._figures_at)
        except Exception as error:  # noqa: BLE001 - the report must never fail the run
            log.warning("fitsweep: report not refreshed (%s: %s)", type(error).__name__, error)
        finished = time.monotonic()
        self._ready_at = finished + _REFRESH_SPACING * (finished - started)


def _write(run_dir: Path, splits: Any, draw_figures: bool) -> None:
    run = load(run_dir)
    report = build_report(run, splits=splits, draw_figures=draw_figures)
    save_report(run, report)
    _LAST[run.path.resolve()] = report
