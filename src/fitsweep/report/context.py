"""The run a report is about, with what its sections share, each computed once and only when asked."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from fitsweep.errors import FitsweepError
from fitsweep.results import SweepRun

__all__ = ["Context", "diagnose_run"]


class Context:
    """The run, its data splits, its diagnosis and its best model, for every section to read."""

    def __init__(self, run: SweepRun, data_dir: str | Path | None, splits: Any, retrain: bool) -> None:
        self.run, self._splits, self.retrain = run, splits, retrain
        self.data_dir = data_dir if data_dir is not None else run.info.get("data_dir", ".")

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
    def model(self) -> Any:
        model = self.run.best_model
        if model is None:
            raise FitsweepError("No model was kept: the run has no best trial (best_model.keras is missing).")
        return model


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
