"""A run's verdicts: the one place `diagnose` is asked about a run, with everything the run knows.

`fitsweep.analysis.diagnose` is a pure function of the tables and its settings; a run adds what
its tables cannot say: the task's chance-level loss (a regression's: the squared error of
predicting the training mean), a regression's linear reference (what a linear regression fitted
on the training split reaches) and its data's description (the task, the scaling applied and
what `auto` would have done), all recorded in run.json. The trials table's `fit`
column, the report, the terminal, the figures and the next sweep all take their verdicts from
here, so a trial is coloured in a figure as the report and the table call it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis import chance_level_loss, diagnose
from fitsweep.results import SweepRun
from fitsweep.results.columns import VERDICT_MEANINGS

__all__ = ["VERDICT_COLUMNS", "run_verdicts", "verdict_measure", "verdicts_of"]

log = logging.getLogger(__name__)

# What the trials table keeps of each execution's diagnosis (its registry says what each holds).
VERDICT_COLUMNS = tuple(VERDICT_MEANINGS)


def run_verdicts(epochs: pd.DataFrame, trials: pd.DataFrame | None, info: Mapping[str, Any],
                 **settings: Any) -> pd.DataFrame:
    """`diagnose` of a run's tables against what its run.json (`info`) records.

    Args:
        epochs: The run's epochs table.
        trials: The run's trials table.
        info: run.json's contents, or as much as is known yet: `chance_loss` and `data`.
        settings: `diagnose`'s own settings (confidence, margin, accuracy_margin).

    Raises:
        AnalysisError: As `diagnose` does (no epochs yet, a table missing columns).
    """
    chance = info.get("chance_loss")
    task = _judged_task(info, epochs)
    if task == "regression":  # a KerasTuner import logs no spread of the squared errors: their noise is unknown
        epochs = epochs.assign(**{c: np.nan for c in ("mse_sd", "val_mse_sd") if c not in epochs.columns})
    return diagnose(epochs, trials, chance_loss=None if chance is None else float(chance), data=info.get("data"),
                    task=task, linear_reference=info.get("linear_reference"), **settings)


def _judged_task(info: Mapping[str, Any], epochs: pd.DataFrame) -> str | None:
    """The task `diagnose` reads the epochs as; runs recorded before regressions were classifications.

    A KerasTuner regression that logged no MSE is judged by its loss, read as a classification
    without accuracy is (the squared errors a regression is judged by are not there).
    """
    task = (info.get("data") or {}).get("task")
    return None if task == "regression" and "mse" not in epochs.columns else task


def verdict_measure(run: SweepRun | Any) -> str:
    """The measure a run's verdicts read the fit by, as a sentence names it: "MSE", "MAE", "loss" or "cross-entropy".

    A regression is judged by its squared error whatever loss trained it ("MSE"); a KerasTuner
    import that logged no MSE by its loss, named for the measure it equals where the import found
    one (run.json's `imported.loss`); a classification by its cross-entropy.

    Example:
        >>> verdict_measure(fitsweep.load("results/diabetes"))  # doctest: +SKIP
        'MSE'
    """
    info = dict(getattr(run, "info", None) or {})
    task = _judged_task(info, run.epochs)
    if task == "regression" or (task is None and "mse" in run.epochs.columns
                                and "crossentropy" not in run.epochs.columns):
        return "MSE"
    if "accuracy" in run.epochs.columns and run.epochs["accuracy"].notna().any():
        return "cross-entropy"
    return str((info.get("imported") or {}).get("loss") or "loss")


def verdicts_of(run: SweepRun | Any, splits: Callable[[], Any] | None = None, **settings: Any) -> pd.DataFrame:
    """`run_verdicts` of a loaded run; a run from before run.json kept its chance level gets it from its data.

    The chance level then comes from the class priors of the run's splits (`splits()`, or the
    data loaded again), and is left out when the data cannot be loaded.

    Example:
        >>> verdicts_of(fitsweep.load("results/moons"))["fit"].value_counts()  # doctest: +SKIP
    """
    info = dict(getattr(run, "info", None) or {})  # figures take any object with the two tables
    prepared = functools.cache(lambda: _prepared(run, splits))  # the data is loaded at most once
    if info.get("chance_loss") is None:
        info["chance_loss"] = _chance_from_data(prepared())
    if (info.get("data") or {}).get("task") == "regression" and "linear_reference" not in info:
        info["linear_reference"] = _linear_from_data(prepared())
    return run_verdicts(run.epochs, run.trials, info, **settings)


def _chance_from_data(prepared: Any) -> float | None:
    if prepared is None:
        return None
    return float(prepared.target_variance if prepared.task.regression else chance_level_loss(prepared.class_priors))


def _linear_from_data(prepared: Any) -> dict[str, float] | None:
    """A regression recorded before run.json kept its linear reference: fitted again on its splits."""
    from fitsweep.data import linear_reference  # scikit-learn: only for such a run, not for every report

    return None if prepared is None else linear_reference(prepared)


def _prepared(run: SweepRun, splits: Callable[[], Any] | None) -> Any:
    if splits is None:
        from fitsweep.figures import load_splits

        def splits() -> Any:
            return load_splits(run, run.info.get("data_dir", "."))

    try:
        return splits()
    except Exception as error:  # noqa: BLE001 - data that cannot be loaded still leaves the curves to judge
        log.debug("the run's data cannot be loaded: %s", error)
        return None
