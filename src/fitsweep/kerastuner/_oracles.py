"""fitsweep's KerasTuner oracles, and the repairs and reads a run needs of one.

- `RandomSearchOracle`, `GridSearchOracle`, `BayesianOptimizationOracle`, `HyperbandOracle`
  (`ORACLE_CLASSES`, by sweep-file `algorithm`): KerasTuner's, with reports of constant cost
  (`_QuickReports`, which keeps `Oracle._check_objective_found` and `Oracle._save_trial`), and a
  grid oracle that hands out points ahead of results (`GridSearchOracle._populate_next`).
- `one_oracle_save`: oracle.json written once for a whole fused group of trials.
- `recover_interrupted_trials`: a reloaded oracle reruns exactly what a kill left unfinished
  (`Oracle._retry_queue`, `Oracle._get_trial_dir`, `MetricsTracker`, and the grid's order in
  `GridSearchOracle._ordered_ids`, `_compare` and `_populate_next`).
- `oracle_snapshot`: a copy of the trials to read while workers report to the original.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import shutil
import time
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus
from keras_tuner.src.engine.metrics_tracking import MetricsTracker
from keras_tuner.src.tuners.gridsearch import LinkedList

from fitsweep.kerastuner._saves import install_atomic_saves

__all__ = [
    "FINISHED", "ORACLE_CLASSES", "BayesianOptimizationOracle", "GridSearchOracle", "HyperbandOracle", "MetricsTracker",
    "RandomSearchOracle", "TrialStatus", "oracle_snapshot", "one_oracle_save", "recover_interrupted_trials",
]

# A running trial's trial.json is rewritten at most this often (creating and ending a trial always save it).
TRIAL_SAVE_SECONDS = 5.0
FINISHED = frozenset({TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.INVALID, TrialStatus.STOPPED})


def recover_interrupted_trials(oracle: keras_tuner.Oracle) -> None:
    """Make a reloaded oracle rerun exactly the trials a killed run left unfinished.

    KerasTuner queues the trials oracle.json lists as ongoing for a retry. Three gaps remain
    after a kill, each closed here: a queued trial that had finished (its trial.json was saved,
    oracle.json not yet) is dropped from the queue; a queued trial's partial epochs are
    forgotten so its rerun starts clean; and a trial whose trial.json was written but that
    oracle.json never recorded is removed, so the oracle creates it again from the same state.

    Args:
        oracle: An oracle that has just reloaded a run's folder (a `keras_tuner.Tuner` built on it).
    """
    queue = oracle._retry_queue
    for trial_id, trial in list(oracle.trials.items()):
        if trial.status != TrialStatus.RUNNING:
            if trial_id in queue:
                queue.remove(trial_id)
        elif trial_id in queue:
            trial.metrics = MetricsTracker()
        else:
            del oracle.trials[trial_id]
            shutil.rmtree(oracle._get_trial_dir(trial_id), ignore_errors=True)
    if isinstance(oracle, keras_tuner.oracles.GridSearchOracle):
        _restore_grid_order(oracle)


def _restore_grid_order(oracle: keras_tuner.oracles.GridSearchOracle) -> None:
    """Give a reloaded grid oracle back the order of the grid points it had tried.

    KerasTuner's grid oracle finds the next point as the successor of a tried one that no tried
    point already follows, reading both from state it never saves: reloaded, it stops at once
    (nothing to follow from) or fails on a trial its empty order does not hold. Every trial is
    put back in the grid's order, and each as a point to follow from, as it was when handed out.
    """
    def grid_order(a: Trial, b: Trial) -> int:
        return int(oracle._compare(a.hyperparameters.values, b.hyperparameters.values))

    oracle._ordered_ids = LinkedList()
    for trial in sorted(oracle.trials.values(), key=functools.cmp_to_key(grid_order)):
        oracle._ordered_ids.insert(trial.trial_id)
    oracle._populate_next = [trial_id for trial_id in oracle.start_order if trial_id in oracle.trials]


class _QuickReports(keras_tuner.Oracle):
    """KerasTuner's `Oracle.update_trial` at a constant cost per report.

    KerasTuner's own recomputes each reported metric's best value over all earlier steps, twice,
    and rewrites trial.json on every report, so a trial's reports cost time quadratic in its
    epochs (seconds per trial at 200 epochs). fitsweep reports every epoch: here a report appends
    its values, and a running trial's trial.json is rewritten at most every TRIAL_SAVE_SECONDS.
    The oracle in memory, which the tables and the chief's workers use, is always current, and
    `create_trial` and `end_trial` save trial.json as before. Building one installs atomic saves.

    It also remembers which tuner id each trial was last handed to (`trial_tuner_ids`, kept in
    oracle.json), which KerasTuner forgets once a trial ends: the trials table says who ran it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        install_atomic_saves()
        self.trial_tuner_ids: dict[str, str] = {}
        super().__init__(*args, **kwargs)
        self._trial_saved_at: dict[str, float] = {}

    _saves_held = False  # inside `one_oracle_save`
    _save_held_back = False

    def save(self) -> None:
        if self._saves_held:
            self._save_held_back = True
        else:
            super().save()

    def create_trial(self, tuner_id: str) -> Trial:
        trial: Trial = super().create_trial(tuner_id)  # synchronized by KerasTuner
        if trial.status == TrialStatus.RUNNING:
            self.trial_tuner_ids[trial.trial_id] = tuner_id
        return trial

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()
        state["fitsweep_trial_tuner_ids"] = dict(self.trial_tuner_ids)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.trial_tuner_ids = dict(state.get("fitsweep_trial_tuner_ids", {}))

    @keras_tuner.synchronized
    def update_trial(self, trial_id: str, metrics: Mapping[str, float], step: int = 0) -> Any:
        trial = self.trials[trial_id]
        self._check_objective_found(metrics)
        objective = self.objective
        for name, value in metrics.items():
            if not trial.metrics.exists(name):
                trial.metrics.register(name, direction=objective.direction if name == objective.name else None)
            trial.metrics.metrics[name].update(float(value), step=step)
        now = time.monotonic()
        if now - self._trial_saved_at.get(trial_id, -math.inf) >= TRIAL_SAVE_SECONDS:
            self._save_trial(trial)
            self._trial_saved_at[trial_id] = now
        return trial


@contextlib.contextmanager
def one_oracle_save(oracle: keras_tuner.Oracle) -> Iterator[None]:
    """Save oracle.json once, at the end, for every trial created or ended inside the block.

    KerasTuner rewrites oracle.json (which lists every trial: 130 kB at 1,000) after each trial it
    creates or ends, so a fused group of 32 trials wrote it 64 times and each trial cost more than
    the last. Each trial.json is still saved at once; a kill inside the block leaves oracle.json
    behind them, which `recover_interrupted_trials` corrects on resume. Another process's oracle
    (a worker's client of its chief) saves nothing here.
    """
    if not isinstance(oracle, _QuickReports) or oracle._saves_held:
        yield
        return
    oracle._saves_held, oracle._save_held_back = True, False
    try:
        yield
    finally:
        oracle._saves_held = False
        if oracle._save_held_back:
            oracle.save()


class RandomSearchOracle(_QuickReports, keras_tuner.oracles.RandomSearchOracle):
    """KerasTuner's random search, with constant-cost reports."""


class GridSearchOracle(_QuickReports, keras_tuner.oracles.GridSearchOracle):
    """KerasTuner's grid search, with constant-cost reports, handing out grid points ahead of results.

    KerasTuner derives the next grid point from an ended trial (a trial may declare new
    hyperparameters while it runs), so parallel workers wait, one trial at a time, for the
    running one to end. fitsweep declares the whole space before the search: the next point
    follows from the last one handed out, in the same order as one process would take them.
    """

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        response: dict[str, Any] = super().populate_space(trial_id)
        if response["status"] == TrialStatus.RUNNING:
            self._populate_next.append(trial_id)
        return response


class BayesianOptimizationOracle(_QuickReports, keras_tuner.oracles.BayesianOptimizationOracle):
    """KerasTuner's Bayesian optimisation, with constant-cost reports."""


class HyperbandOracle(_QuickReports, keras_tuner.oracles.HyperbandOracle):
    """KerasTuner's Hyperband, with constant-cost reports."""


# The oracle of each sweep-file `algorithm`.
ORACLE_CLASSES: dict[str, type[keras_tuner.Oracle]] = {
    "random": RandomSearchOracle,
    "grid": GridSearchOracle,
    "bayesian": BayesianOptimizationOracle,
    "hyperband": HyperbandOracle,
}


def oracle_snapshot(oracle: keras_tuner.Oracle) -> keras_tuner.Oracle:
    """A copy of the oracle whose trials no one changes: read it while workers report to the original.

    The trials are copied under the oracle's lock (a finished trial only once, then reused), so
    tables can be built from the copy while the chief's server thread goes on updating the
    original (`fitsweep.search.parallel`), and put in the order they started (a reloaded oracle has them
    in the order the file system lists their folders). Only reading methods such as
    `get_best_trials` make sense on the copy.

    Args:
        oracle: The run's oracle, possibly being updated by another thread.

    Returns:
        A shallow copy of `oracle` with its own copies of the trials.

    Example:
        >>> snapshot = oracle_snapshot(oracle)  # doctest: +SKIP
        >>> trials_table(list(snapshot.trials.values()), names)  # doctest: +SKIP
    """
    snapshot = copy.copy(oracle)
    snapshot.trials = _copy_trials(oracle)
    return snapshot


@keras_tuner.synchronized
def _copy_trials(oracle: keras_tuner.Oracle) -> dict[str, Any]:
    kept = _FINISHED_COPIES.setdefault(oracle, {})
    trials = {}
    for trial_id in dict.fromkeys([*oracle.start_order, *oracle.trials]):
        trial = oracle.trials.get(trial_id)
        if trial is None:
            continue
        finished = kept.get(trial_id)
        if finished is None or finished.status != trial.status:
            finished = copy.deepcopy(trial)
            if trial.status in FINISHED:
                kept[trial_id] = finished
        trials[trial_id] = finished
    return trials


_FINISHED_COPIES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
