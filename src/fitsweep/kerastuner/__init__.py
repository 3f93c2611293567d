"""fitsweep's one door to KerasTuner's internals, written against keras-tuner 1.4.8.

Everything fitsweep needs from KerasTuner beyond its public API is here, so that a KerasTuner
release that changes one of these parts breaks one module, and `tests/test_keras_tuner_contract.py`
says which part. The private parts it touches, and why:

- `keras_tuner.src.utils.save_json`: all of KerasTuner's JSON state (oracle.json, trial.json,
  build_config.json) is written through it, in place. `install_atomic_saves` replaces it with a
  write to a temporary file and a rename, so a run killed mid-write can still be resumed.
- `Oracle._retry_queue`: the trials a reloaded oracle will run again (those oracle.json lists as
  ongoing). `recover_interrupted_trials` corrects it after a kill; there is no public handle.
- `Oracle._get_trial_dir`: the folder of a trial, removed when a trial's record must be forgotten.
- `Oracle._check_objective_found` and `Oracle._save_trial`: the two steps of `Oracle.update_trial`
  that `_QuickReports` keeps when it replaces that method with one of constant cost per report.
- `GridSearchOracle._populate_next`: the trials whose grid point the next one follows from; the
  grid oracle appends every trial it hands out, so workers need not wait for one another.
- `GridSearchOracle._ordered_ids` (a `keras_tuner.src.tuners.gridsearch.LinkedList`) and
  `GridSearchOracle._compare`: the grid's order of the points tried, which KerasTuner keeps in
  memory only; `recover_interrupted_trials` rebuilds it (with `_populate_next`) for a reloaded run.
- `keras_tuner.src.distribute.oracle_chief.OracleServicer`: the gRPC servicer of KerasTuner's
  chief. The chief serves a subclass whose `UpdateTrial` answers without the trial's history.
- `keras_tuner.src.protos`: the gRPC service and its messages, to register and answer it, and for a
  worker to ask its chief whether it still answers (`chief_answers`).
- `keras_tuner.src.engine.metrics_tracking.MetricsTracker`: a trial's metric history, emptied
  for a trial that runs again.
- `keras_tuner.src.distribute.utils`: whether this process is a worker of a chief oracle, which
  takes fewer trials at a time so that the trials spread over the workers.

`TrialStatus` is public (`keras_tuner.engine.trial`) and is re-exported here so that fitsweep
reads trial states from one place.

It also reads a project folder that plain KerasTuner wrote (`read_project`): oracle.json and
each trial_*/trial.json, through KerasTuner's own `Trial.load`, and the TensorBoard logs that
KerasTuner's `Tuner` writes under a TensorBoard callback's `log_dir` as
`<log_dir>/<trial_id>/execution<N>/{train,validation}` (`read_execution_curves`), through
TensorBoard's own `EventAccumulator`. Plain KerasTuner records in trial.json only the metrics of
each trial's best epoch (averaged over its executions); its per-epoch curves exist only in those
TensorBoard logs. `tests/test_kerastuner_import.py` checks that layout against KerasTuner's own.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import os
import shutil
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras_tuner
from keras_tuner.engine.trial import Trial, TrialStatus
from keras_tuner.src import protos
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.distribute.oracle_chief import OracleServicer
from keras_tuner.src.engine.metrics_tracking import MetricsTracker
from keras_tuner.src.tuners.gridsearch import LinkedList

from fitsweep.errors import ProjectError

__all__ = [
    "ORACLE_CLASSES", "WRITTEN_AGAINST", "ExecutionCurve", "KerasTunerProject", "MetricsTracker", "ReportServicer",
    "TrialStatus", "chief_answers", "install_atomic_saves", "oracle_snapshot", "read_execution_curves", "read_project",
    "recover_interrupted_trials", "save_json_atomically", "serve_oracle", "works_for_a_chief",
]

WRITTEN_AGAINST = "1.4.8"
# A running trial's trial.json is rewritten at most this often (creating and ending a trial always save it).
TRIAL_SAVE_SECONDS = 5.0
FINISHED = frozenset({TrialStatus.COMPLETED, TrialStatus.FAILED, TrialStatus.INVALID, TrialStatus.STOPPED})


def save_json_atomically(path: str, obj: Any) -> str:
    """KerasTuner's `save_json`, but through a temporary file and a rename.

    Args:
        path: The JSON file to write.
        obj: What to write; serialised before the file is touched.

    Returns:
        The JSON text written, as KerasTuner's own `save_json` returns it.
    """
    text = json.dumps(obj)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:  # Ctrl-C or SIGTERM mid-write included: no temporary file is left behind
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return text


def install_atomic_saves() -> None:
    """Make KerasTuner write all of its JSON state atomically, from now on, in this process.

    KerasTuner looks `utils.save_json` up at every save, so replacing it covers the oracle's,
    every trial's and the tuner's files. Installing twice changes nothing.

    Example:
        >>> install_atomic_saves()
        >>> install_atomic_saves()  # idempotent
    """
    kt_utils.save_json = save_json_atomically


def works_for_a_chief() -> bool:
    """Whether this process is a worker of a chief's oracle (KerasTuner's distributed mode)."""
    return bool(dist_utils.has_chief_oracle()) and not dist_utils.is_chief_oracle()


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
    original (`fitsweep.parallel`), and put in the order they started (a reloaded oracle has them
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


class ReportServicer(OracleServicer):
    """KerasTuner's chief servicer, answering a worker's report without the trial's whole history."""

    def UpdateTrial(self, request: Any, context: Any) -> Any:  # gRPC's method name
        # KerasTuner sends the trial back with every metric of every epoch so far: time and bytes
        # quadratic in a trial's epochs, since fitsweep reports each one. The worker only needs
        # the trial's status (the one channel an oracle has to stop a trial early).
        trial = self.oracle.update_trial(request.trial_id, request.metrics, step=request.step)
        status = Trial(trial.hyperparameters, trial_id=trial.trial_id, status=trial.status)
        return protos.get_service().UpdateTrialResponse(trial=status.to_proto())


def chief_answers(channel: Any, timeout: float, *, wait_for_ready: bool = False) -> bool:
    """Whether a chief's oracle answers a call on `channel` within `timeout` seconds.

    The call asks for the search space: cheap, and read-only. Unlike KerasTuner's own client
    calls, it does not wait for the chief to come back, so a dead chief fails it at once; with
    `wait_for_ready`, it waits up to `timeout` for a chief that is not listening yet. The call
    blocks this thread only (gRPC checks for signals while it waits), unlike a channel-ready
    future, whose polling thread fails noisily when the channel closes under it.
    """
    import grpc

    stub = protos.get_service_grpc().OracleStub(channel)
    try:
        stub.GetSpace(protos.get_service().GetSpaceRequest(), timeout=timeout, wait_for_ready=wait_for_ready)
    except grpc.RpcError:
        return False
    return True


def serve_oracle(oracle: keras_tuner.Oracle, server: Any) -> ReportServicer:
    """Register a servicer of `oracle` on a gRPC server, as KerasTuner's chief does.

    Args:
        oracle: The oracle workers will ask for trials and report to.
        server: A `grpc.Server`, not yet started.

    Returns:
        The servicer; its `stop_triggered` turns true once the oracle has told a worker to stop.
    """
    servicer = ReportServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return servicer


# --- a project folder written by plain KerasTuner ----------------------------------------------

ORACLE_FILE = "oracle.json"
TRIAL_FILE = "trial.json"
# The keys every 1.4.x oracle.json holds; an older or newer layout lacks one of them.
_ORACLE_KEYS = ("hyperparameters", "start_order", "end_order", "seed")
_TRIAL_KEYS = ("trial_id", "hyperparameters", "metrics", "score", "best_step", "status")
_MAX_JSON_BYTES = 100_000_000
# Hyperband's bookkeeping among a trial's hyperparameters, which KerasTuner writes as integers.
_HYPERBAND_NUMBERS = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round")
# The TensorBoard runs of one execution, and the prefix the metric names take in each.
_TENSORBOARD_RUNS = {"train": "", "validation": "val_"}


@dataclass(frozen=True)
class KerasTunerProject:
    """A KerasTuner project folder as read: its oracle's state and its trials in the order they started.

    Attributes:
        path: The project folder (the one holding oracle.json).
        algorithm: "hyperband" or "bayesian" when oracle.json says so, else "random or grid"
            (KerasTuner saves the same state for both).
        seed: The oracle's seed.
        trials: KerasTuner `Trial` objects, read by KerasTuner's own `Trial.load`.
        space: The search space as KerasTuner saved it (its `HyperParameters` config).
        settings: The algorithm's own settings from oracle.json (Hyperband's max_epochs and factor,
            Bayesian optimisation's num_initial_points, ...).
    """

    path: Path
    algorithm: str
    seed: int | None
    trials: list[Any]
    space: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionCurve:
    """One execution's per-epoch metrics from KerasTuner's TensorBoard logs.

    Attributes:
        epochs: Keras' epoch index (from 0; a Hyperband trial that continues another starts at its
            initial epoch) -> metric -> value, metrics named as in Keras' logs ("loss", "val_loss").
        started: Wall time (seconds since the epoch) of the execution's first logged event.
        ended: Wall time of its last logged epoch.
    """

    epochs: dict[int, dict[str, float]]
    started: float | None
    ended: float | None


def read_project(path: Path) -> KerasTunerProject:
    """Read a project folder written by KerasTuner 1.4.x; nothing in it is changed.

    Args:
        path: The folder KerasTuner calls `directory/project_name`, holding oracle.json.

    Returns:
        The oracle's state and every trial that has a trial.json.

    Raises:
        ProjectError: Not a KerasTuner project, a trial.json that is truncated or corrupt, or
            files of a layout KerasTuner 1.4 does not write; one line naming the file.

    Example:
        >>> project = read_project(Path("my_dir/my_project"))  # doctest: +SKIP
        >>> project.algorithm, len(project.trials)  # doctest: +SKIP
        ('hyperband', 30)
    """
    if not path.is_dir():
        what = "is a file, not a folder" if path.is_file() else "no such folder"
        raise ProjectError(f"{path}: {what}; give a KerasTuner project folder (directory/project_name)")
    oracle_file = path / ORACLE_FILE
    if not oracle_file.is_file():
        raise ProjectError(f"{oracle_file}: missing, so {path} is not a KerasTuner project{_nested_hint(path)}")
    state = _read_json(oracle_file)
    _require_keys(state, _ORACLE_KEYS, oracle_file)
    trials = [_read_trial(trial_file) for trial_file in sorted(path.glob(f"trial_*/{TRIAL_FILE}"))]
    _require_list_of(state["start_order"], str, oracle_file, "start_order", "trial ids")
    order = {trial_id: index for index, trial_id in enumerate(state["start_order"])}
    trials.sort(key=lambda trial: (order.get(trial.trial_id, len(order)), str(trial.trial_id)))
    space = state["hyperparameters"].get("space", []) if isinstance(state["hyperparameters"], dict) else []
    _require_list_of(space, dict, oracle_file, "hyperparameters.space", "hyperparameter configs")
    if any(not isinstance(entry.get("config", {}), dict) for entry in space):
        raise ProjectError(f"{oracle_file}: hyperparameters.space holds a config that is not a mapping, where "
                           "KerasTuner writes one mapping per hyperparameter")
    return KerasTunerProject(path=path, algorithm=_algorithm(state), seed=state.get("seed"), trials=trials,
                             space=list(space), settings=_settings(state, oracle_file))


def _nested_hint(path: Path) -> str:
    # Users often pass KerasTuner's `directory` rather than `directory/project_name`.
    found = sorted(p.parent.name for p in path.glob(f"*/{ORACLE_FILE}"))
    return f"; projects inside it: {', '.join(str(path / name) for name in found[:5])}" if found else ""


def _read_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > _MAX_JSON_BYTES:
            raise ProjectError(f"{path}: {size} bytes is too large for a KerasTuner state file")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProjectError(f"{path}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ProjectError(f"{path}: not UTF-8 text (bad byte at offset {error.start})") from None
    except ValueError as error:
        raise ProjectError(f"{path}: truncated or corrupt JSON ({error})") from None


def _require_keys(state: Any, keys: tuple[str, ...], path: Path) -> None:
    if not isinstance(state, dict):
        raise ProjectError(f"{path}: not a JSON object, so not a file KerasTuner {WRITTEN_AGAINST[:3]}.x writes")
    missing = [key for key in keys if key not in state]
    if missing:
        raise ProjectError(f"{path}: no {', '.join(repr(k) for k in missing)} key; fitsweep reads the files of "
                           f"KerasTuner {WRITTEN_AGAINST[:3]}.x")


def _read_trial(path: Path) -> Any:
    state = _read_json(path)
    _require_keys(state, _TRIAL_KEYS, path)
    _require_numbers(state, path)
    try:
        return Trial.from_state(state)
    except (LookupError, TypeError, ValueError, AttributeError) as error:
        raise ProjectError(f"{path}: not a trial KerasTuner {WRITTEN_AGAINST[:3]}.x can read "
                           f"({type(error).__name__}: {error})") from None


def _require_numbers(state: dict[str, Any], path: Path) -> None:
    """Refuse text (or anything else) where KerasTuner writes numbers: the score, steps and metric values."""
    _require_number(state["score"], path, "score", optional=True)
    _require_number(state["best_step"], path, "best_step", optional=True, integer=True)
    values = state["hyperparameters"].get("values", {}) if isinstance(state["hyperparameters"], dict) else {}
    for name in _HYPERBAND_NUMBERS:
        if isinstance(values, dict) and name in values:
            _require_number(values[name], path, f"hyperparameters.values.{name}", integer=True)
    metrics = state["metrics"].get("metrics", {}) if isinstance(state["metrics"], dict) else {}
    for name, metric in metrics.items() if isinstance(metrics, dict) else ():
        observations = metric.get("observations", []) if isinstance(metric, dict) else []
        for index, observation in enumerate(observations if isinstance(observations, list) else []):
            where = f"metrics.{name}.observations[{index}]"
            value = observation.get("value") if isinstance(observation, dict) else observation
            if value == []:
                raise ProjectError(f"{path}: {where}.value is [], where KerasTuner writes a list of numbers")
            for number in value if isinstance(value, list) else [value]:
                _require_number(number, path, f"{where}.value")
            if isinstance(observation, dict):
                _require_number(observation.get("step", 0), path, f"{where}.step", integer=True)


def _require_list_of(value: Any, kind: type, path: Path, key: str, what: str) -> None:
    if not isinstance(value, list) or not all(isinstance(item, kind) for item in value):
        raise ProjectError(f"{path}: {key} is {json.dumps(value)[:40]}, where KerasTuner writes a list of {what}")


def _require_number(value: Any, path: Path, key: str, *, optional: bool = False, integer: bool = False) -> None:
    allowed = (int,) if integer else (int, float)
    if (value is None and optional) or (isinstance(value, allowed) and not isinstance(value, bool)):
        return
    kind = "an integer" if integer else "a number"
    shown = json.dumps(value)[:40]
    raise ProjectError(f"{path}: {key} is {shown}, where KerasTuner writes {kind}{' or null' if optional else ''}")


def _algorithm(state: dict[str, Any]) -> str:
    if "brackets" in state:
        return "hyperband"
    if "num_initial_points" in state:
        return "bayesian"
    return "random or grid"


def _settings(state: dict[str, Any], path: Path) -> dict[str, Any]:
    names = ("max_epochs", "min_epochs", "factor", "hyperband_iterations", "num_initial_points", "alpha", "beta")
    for name in names:
        if name in state:
            _require_number(state[name], path, name, optional=True)
    return {name: state[name] for name in names if name in state}


def read_execution_curves(log_dir: Path, trial_id: str, skipped: list[str] | None = None) -> dict[int, ExecutionCurve]:
    """Every execution's per-epoch metrics of one trial, from KerasTuner's TensorBoard logs.

    Args:
        log_dir: The TensorBoard callback's `log_dir` given to `tuner.search`.
        trial_id: The trial, as KerasTuner names it ("0", "0007").
        skipped: None to refuse a damaged event file; a list to skip each one instead, appending
            "<file>: <what is wrong>" to it (the trial's other files are still read).

    Returns:
        execution -> its curve; empty when the trial has no logs there.

    Raises:
        ProjectError: An event file cut short or corrupt (when `skipped` is None), naming the file.
    """
    trial_dir = log_dir / str(trial_id)
    executions = sorted((_execution_number(d.name), d) for d in trial_dir.glob("execution*") if d.is_dir())
    curves = {}
    for execution, folder in executions:
        if execution is None:
            continue
        curve = _execution_curve(folder, skipped)
        if curve.epochs:
            curves[execution] = curve
    return curves


def _execution_number(name: str) -> int | None:
    digits = name.removeprefix("execution")
    return int(digits) if digits.isdecimal() else None


def _execution_curve(folder: Path, skipped: list[str] | None) -> ExecutionCurve:
    epochs: dict[int, dict[str, float]] = {}
    times: list[float] = []
    for run, prefix in _TENSORBOARD_RUNS.items():
        for event_file in _whole_event_files(folder / run, skipped):
            for tag, events in _epoch_events(event_file).items():
                for step, wall_time, value in events:
                    epochs.setdefault(step, {})[prefix + tag] = value
                    times.append(wall_time)
    ordered = dict(sorted(epochs.items()))
    return ExecutionCurve(ordered, min(times, default=None), max(times, default=None))


def _whole_event_files(folder: Path, skipped: list[str] | None) -> list[Path]:
    """A TensorBoard run's event files that read whole; a damaged one is refused, or skipped and listed.

    TensorBoard's reader stops quietly at a cut-short or corrupt record, which would import the
    trial as if it had fewer epochs, or none.
    """
    whole = []
    for event_file in sorted(folder.glob("*tfevents*")) if folder.is_dir() else []:
        damage = _event_file_damage(event_file)
        if damage is None:
            whole.append(event_file)
        elif skipped is None:
            raise ProjectError(f"{event_file}: a damaged TensorBoard event file ({damage}); pass "
                               "--skip-damaged-logs to import its trial from the other files")
        else:
            skipped.append(f"{event_file}: {damage}")
    return whole


def _event_file_damage(path: Path) -> str | None:
    """What makes an event file unreadable to its end (cut short, a corrupt record), or None if it reads whole."""
    import tensorflow as tf

    try:
        if path.is_dir():
            return "a folder where an event file belongs"
        if path.stat().st_size == 0:
            return "empty, cut short before its first record"
        for _ in tf.data.TFRecordDataset(str(path)):
            pass
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    except tf.errors.OpError as error:
        return f"{type(error).__name__}: {error.message.splitlines()[0]}"
    return None


def _epoch_events(event_file: Path) -> dict[str, list[tuple[int, float, float]]]:
    """tag (without Keras' "epoch_" prefix) -> (epoch, wall time, value) of one event file."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        str(event_file), size_guidance={event_accumulator.TENSORS: 0, event_accumulator.SCALARS: 0})
    try:
        accumulator.Reload()
    except Exception as error:  # noqa: BLE001 - TensorBoard raises its own and protobuf's errors for a damaged file
        raise ProjectError(f"{event_file}: TensorBoard cannot read this event file ({type(error).__name__})") from None
    tags = accumulator.Tags()
    events: dict[str, list[tuple[int, float, float]]] = {}
    for tag in tags.get(event_accumulator.TENSORS, []):
        if tag.startswith("epoch_") and tag != "epoch_learning_rate":
            events[tag.removeprefix("epoch_")] = [
                (int(event.step), float(event.wall_time), _scalar_value(event.tensor_proto, event_file, tag))
                for event in accumulator.Tensors(tag)]
    for tag in tags.get(event_accumulator.SCALARS, []):  # summaries written by TF1-style writers
        if tag.startswith("epoch_") and tag != "epoch_learning_rate":
            events[tag.removeprefix("epoch_")] = [
                (int(event.step), float(event.wall_time), float(event.value)) for event in accumulator.Scalars(tag)]
    return events


def _scalar_value(tensor: Any, event_file: Path, tag: str) -> float:
    """An epoch summary's value; one that is not a single number (a tensor of text, a vector) names its file."""
    from tensorboard.util import tensor_util

    try:
        return float(tensor_util.make_ndarray(tensor))
    except (TypeError, ValueError):
        raise ProjectError(f"{event_file}: tag {tag} holds a value that is not one number, where Keras writes "
                           "one number per epoch") from None
