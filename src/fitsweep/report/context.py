"""The run a report is about, with what its sections share, each computed once and only when asked."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fitsweep.errors import FitsweepError
from fitsweep.results import RunPaths, SweepRun

if TYPE_CHECKING:
    from fitsweep.predictions import Predictions

__all__ = ["Context", "diagnose_run"]


class Context:
    """The run, its data splits, its diagnosis and its best model's predictions, for every section to read."""

    def __init__(self, run: SweepRun, data_dir: str | Path | None, splits: Any, retrain: bool,
                 draw_figures: bool = True) -> None:
        self.run, self._splits, self.retrain, self.draw_figures = run, splits, retrain, draw_figures
        self.data_dir = data_dir if data_dir is not None else run.info.get("data_dir", ".")

    @cached_property
    def figure_inputs(self) -> str:
        """The digest of what the figures are drawn from (`fitsweep.report.figure_inputs`), taken before any is."""
        from fitsweep.report.figure_inputs import figure_inputs

        return figure_inputs(self.run, self.data_dir, self.retrain)

    @cached_property
    def figures_reusable(self) -> bool:
        """The figures under figures/ were drawn from the same inputs: each is read back, not drawn again."""
        from fitsweep.report.figure_inputs import read_figure_inputs

        return read_figure_inputs(RunPaths(self.run.path)) == self.figure_inputs

    def reused_png(self, key: str) -> bytes | None:
        """The figure the last report drew for section `key`, if drawn from the same inputs (else None)."""
        if not self.figures_reusable:
            return None
        try:
            return (RunPaths(self.run.path).figures_dir / f"{key}.png").read_bytes()
        except OSError:
            return None

    @cached_property
    def splits(self) -> Any:
        if self._splits is not None:
            return self._splits
        from fitsweep.figures import load_splits

        return load_splits(self.run, self.data_dir)

    @cached_property
    def diagnosis(self) -> pd.DataFrame:
        """Verdicts with their evidence, judged against the task's chance level."""
        diagnosis = diagnose_run(self.run, lambda: self.splits)
        if diagnosis is None:
            raise FitsweepError("No epoch was recorded yet: nothing to judge or draw.")
        return diagnosis

    @cached_property
    def predictions(self) -> Predictions:
        """The best model's outputs: as the run stored them, else predicted with the model (and stored)."""
        from fitsweep.predictions import store_predictions, stored_predictions

        predictions = stored_predictions(self.run.path) or store_predictions(self.run.path, self.run.spec, self.splits)
        if predictions is None:
            raise FitsweepError("No model was kept: the run has no best trial (best_model.keras is missing).")
        return predictions


def diagnose_run(run: SweepRun, splits: Callable[[], Any] | None = None) -> pd.DataFrame | None:
    """The run's verdicts (`fitsweep.verdicts.verdicts_of`), or None before its first epoch.

    Example:
        >>> diagnose_run(fitsweep.load("results/moons"))  # doctest: +SKIP
    """
    from fitsweep.analysis import AnalysisError
    from fitsweep.verdicts import verdicts_of

    try:
        return verdicts_of(run, splits)
    except AnalysisError:
        return None
