"""The live report: a running sweep's report kept current at a bounded cost."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from fitsweep.report.page import write_report

__all__ = ["LiveReport"]

log = logging.getLogger(__name__)

_REFRESH_SPACING = 4  # a live report waits this many times its last duration
_FIGURES_AFTER = 30.0  # seconds into the run before a live report draws figures: a shorter run ends first


class LiveReport:
    """Keeps a running sweep's report current, at a bounded cost and never at the run's expense.

    `refresh()` after each trial rewrites the report unless the last one finished less than four
    times its own duration ago, so the report takes at most about a fifth of the run's time: a
    sweep whose trials take longer than four reports (about 10 s for 30 trials) gets a fresh report
    after every trial, a sweep of quick trials after every few. Its figures are drawn from 30 s
    into the run on; a shorter run would only wait for them. `refresh(force=True)`, at the end of
    the run, always rewrites the report, and draws no figure: those the last refresh drew from the
    same results stay, `fitsweep report` draws the others. A failure logs one warning line and the
    run goes on.

    Example:
        >>> live = LiveReport("results/moons", splits)  # doctest: +SKIP
        >>> live.refresh()  # doctest: +SKIP
    """

    def __init__(self, run_dir: str | Path, splits: Any = None) -> None:
        self.run_dir, self.splits = Path(run_dir), splits
        self._ready_at = 0.0  # monotonic time before which a refresh is skipped
        self._figures_at = time.monotonic() + _FIGURES_AFTER  # monotonic time from which figures are drawn

    def refresh(self, force: bool = False) -> None:
        """Rewrite the report (unless throttled); log a warning instead of raising."""
        started = time.monotonic()
        if not force and started < self._ready_at:
            return
        try:
            write_report(self.run_dir, splits=self.splits, draw_figures=not force and started >= self._figures_at)
        except Exception as error:  # noqa: BLE001 - the report must never fail the run
            log.warning("fitsweep: report not refreshed (%s: %s)", type(error).__name__, error)
        finished = time.monotonic()
        self._ready_at = finished + _REFRESH_SPACING * (finished - started)
