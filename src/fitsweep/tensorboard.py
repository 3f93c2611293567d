"""TensorBoard event files of a run: every execution's curves and the HParams dashboard's sessions.

`tensorboard --logdir RUN_DIR/tensorboard` shows the sweep as KerasTuner's TensorBoard callback
would (a folder per trial and execution), with fitsweep's own measurements:

    tensorboard/
        events.out.tfevents.*       the experiment: each swept hyperparameter's domain, the metrics
        trial_<id>/execution_<k>/   one HParams session per execution, grouped by trial
            events.out.tfevents.*   its hyperparameters, its status and its metrics at the best epoch
            train/                  epoch_loss, epoch_accuracy, epoch_crossentropy at every epoch (step 1, 2, ...);
                                    a regression's epoch_loss, epoch_mse, epoch_mae, epoch_r2
            validation/             the same on the validation split
            verdict/                fit: -1 underfit, 0 good, 1 overfit, 2 diverged

The values are the tables' own: a trial's folder is built from its KerasTuner record (the rows
of `fitsweep.results.tables`) as the trial ends, so with workers the chief writes it, and it is written
whole (in a staging folder, then moved in), so a resumed run never duplicates a step. Verdicts
weigh every trial against the others, so they are written with the tables (as they are
rewritten during the run, and at its end), and only those that changed.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import tensorflow as tf
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import summary as hparams_summary
from tensorboard.plugins.hparams import summary_v2 as hparams_v2
from tensorboard.plugins.scalar import metadata as scalar_metadata

from fitsweep.kerastuner import FINISHED
from fitsweep.results import RunPaths
from fitsweep.results.columns import (
    INTEGER_HYPERPARAMETERS,
    LAYER_LISTS,
    REGULARIZERS,
    REGULARIZERS_COLUMN,
    encode_layers,
    encode_regularizers,
)
from fitsweep.results.records import execution_epochs
from fitsweep.results.tables import epoch_rows, trial_rows
from fitsweep.space import hyperparameter_names, searched_parameters
from fitsweep.spec import Choice, Range, SweepSpec

__all__ = ["EPOCH_SCALARS", "FIT_CODES", "SESSION_METRICS", "VERDICT_GROUP", "TensorBoardLog", "experiment_summary"]

log = logging.getLogger(__name__)

# Task -> sub-run -> TensorBoard tag -> epochs-table column: the names Keras' TensorBoard callback
# uses, with fitsweep's measurements (after the epoch, dropout off; crossentropy and MSE without the penalty).
EPOCH_SCALARS = {
    "classification": {
        "train": {"epoch_loss": "loss", "epoch_accuracy": "accuracy", "epoch_crossentropy": "crossentropy"},
        "validation": {"epoch_loss": "val_loss", "epoch_accuracy": "val_accuracy",
                       "epoch_crossentropy": "val_crossentropy"},
    },
    "regression": {
        "train": {"epoch_loss": "loss", "epoch_mse": "mse", "epoch_mae": "mae", "epoch_r2": "r2"},
        "validation": {"epoch_loss": "val_loss", "epoch_mse": "val_mse", "epoch_mae": "val_mae", "epoch_r2": "val_r2"},
    },
}
# Task -> a session's metrics: trials-table columns at the execution's best epoch. The gaps are
# `fitsweep.analysis.compare`'s: train_accuracy - val_accuracy, and a regression's val_mse - train_mse.
SESSION_METRICS = {
    "classification": ("val_crossentropy", "val_accuracy", "train_crossentropy", "train_accuracy",
                       "test_crossentropy", "test_accuracy", "accuracy_gap", "val_loss", "best_epoch", "epochs_run",
                       "params"),
    "regression": ("val_mse", "val_r2", "val_mae", "train_mse", "train_r2", "train_mae", "test_mse", "test_r2",
                   "test_mae", "mse_gap", "val_loss", "best_epoch", "epochs_run", "params"),
}
VERDICT_GROUP = "verdict"
VERDICT_TAG = "fit"
# The verdict as a number: the bias-variance axis, and diverged off it.
FIT_CODES = {"underfit": -1, "good": 0, "overfit": 1, "diverged": 2}


class TensorBoardLog:
    """Writes a run's TensorBoard files as it goes: a trial's sessions as it ends, verdicts with the tables.

    Args:
        paths: The run's folder.
        spec: The validated sweep.
        oracle: The run's KerasTuner oracle, whose trial records the files are built from.

    Example:
        >>> log = TensorBoardLog(RunPaths(Path("results/moons")), spec, oracle)  # doctest: +SKIP
        >>> log.start()  # doctest: +SKIP
        >>> log.trial_ended("00")  # doctest: +SKIP
    """

    def __init__(self, paths: RunPaths, spec: SweepSpec, oracle: Any) -> None:
        self.paths, self.spec, self.oracle = paths, spec, oracle
        self.hyperparameters = hyperparameter_names(spec)
        self.task = spec.recorded_task
        self._verdicts: dict[tuple[str, int], str] = {}  # the verdicts written by this process
        self._writing = True  # False for a run recorded without TensorBoard files (see start)

    def start(self) -> None:
        """Write the experiment once, and bring a resumed run's files up to its oracle's trials.

        A finished trial without a folder (the run was killed as it ended) gets one; a folder of
        a trial that is to run again is removed, so its rerun writes its steps once. A run that
        has finished trials but no TensorBoard folder was recorded without one (before fitsweep
        wrote them, or switched off): it stays without, rather than spend a trial's writing on
        each of its past trials.
        """
        shutil.rmtree(self.paths.tensorboard_staging, ignore_errors=True)  # a killed write's leftovers
        root = self.paths.tensorboard_dir
        if not root.exists() and any(trial.status in FINISHED for trial in self.oracle.trials.values()):
            self._writing = False
            return
        if not any(root.glob("events.out.tfevents.*")):
            self._guarded(lambda: self._write_experiment(root))
        for trial_id, trial in list(self.oracle.trials.items()):
            folder = self.paths.tensorboard_trial(trial_id)
            if trial.status in FINISHED and not folder.exists():
                self._guarded(lambda trial=trial: self._write_trial(trial))
            elif trial.status not in FINISHED and folder.exists():
                shutil.rmtree(folder)

    def trial_ended(self, trial_id: str) -> None:
        """Write an ended trial's sessions: hyperparameters, status, final metrics and curves."""
        trial = self.oracle.trials.get(trial_id)
        if trial is not None and self._writing:
            self._guarded(lambda: self._write_trial(trial))

    def write_verdicts(self, trials: pd.DataFrame | None) -> None:
        """Write each execution's `fit` verdict whose value changed since this process last wrote it."""
        if trials is None or "fit" not in trials or not self._writing:
            return
        for trial_id, execution, fit in trials[["trial_id", "execution", "fit"]].itertuples(index=False):
            key = (str(trial_id), int(execution))
            if pd.isna(fit) or self._verdicts.get(key) == fit:
                continue
            session = self.paths.tensorboard_trial(key[0]) / _execution_folder(key[1])
            if session.is_dir():
                self._guarded(lambda session=session, fit=fit: self._write_verdict(session, str(fit)))
                self._verdicts[key] = str(fit)

    def _write_experiment(self, root: Path) -> None:
        staged = self._staging_folder()
        _write_events(staged, [_event(experiment_summary(self.spec), step=0)])
        root.mkdir(parents=True, exist_ok=True)
        for event_file in staged.iterdir():
            os.replace(event_file, root / event_file.name)
        staged.rmdir()

    def _write_trial(self, trial: Any) -> None:
        staged = self._staging_folder()
        record = execution_epochs(trial.metrics.metrics)  # read once for both kinds of rows
        by_execution: dict[int, list[dict[str, Any]]] = {}
        for row in epoch_rows(trial, record):
            by_execution.setdefault(int(row["execution"]), []).append(row)
        for row in trial_rows(trial, self.hyperparameters, epochs=record):
            session = staged / _execution_folder(int(row["execution"]))
            _write_events(session, session_events(row, self.hyperparameters, trial.trial_id, self.task))
            epochs = by_execution.get(int(row["execution"]), [])
            for split, tags in EPOCH_SCALARS[self.task].items():
                _write_events(session / split, epoch_events(epochs, tags, _number(row.get("started"))))
        _move_into_place(staged, self.paths.tensorboard_trial(trial.trial_id), self._staging_folder(create=False))

    def _write_verdict(self, session: Path, fit: str) -> None:
        staged = self._staging_folder()
        _write_events(staged, [_event(_scalar(VERDICT_TAG, FIT_CODES.get(fit, math.nan)), step=0)])
        _move_into_place(staged, session / VERDICT_GROUP, self._staging_folder(create=False))

    def _staging_folder(self, create: bool = True) -> Path:
        """A fresh folder outside TensorBoard's, on the same file system (so a move is a rename)."""
        folder = self.paths.tensorboard_staging / uuid.uuid4().hex
        if create:
            folder.mkdir(parents=True)
        return folder

    def close(self) -> None:
        """Remove the staging folder (the run's end)."""
        shutil.rmtree(self.paths.tensorboard_staging, ignore_errors=True)

    def _guarded(self, write: Any) -> None:
        """Run a write; a failing disk costs the TensorBoard files one warning, never the run."""
        try:
            write()
        except OSError as error:
            log.warning("fitsweep: TensorBoard files not written (%s)", error)


def experiment_summary(spec: SweepSpec) -> Any:
    """The HParams experiment: every hyperparameter column with its domain in the sweep, and the metrics.

    Example:
        >>> from fitsweep.spec import parse_spec
        >>> spec = parse_spec({"name": "s", "data": {"source": "moons"}, "model": {"depth": {"values": [1, 2]}}})
        >>> experiment_summary(spec).value[0].tag
        '_hparams_/experiment'
    """
    domains = _domains(spec)
    hparams = [hp.HParam(name, domains.get(name)) for name in hyperparameter_names(spec)]
    metrics = [hp.Metric(name) for name in SESSION_METRICS[spec.recorded_task]]
    metrics.append(hp.Metric(VERDICT_TAG, group=VERDICT_GROUP,
                             description="-1 underfit, 0 good, 1 overfit, 2 diverged (fitsweep.analysis.diagnose)"))
    return hp.hparams_config_pb(hparams=hparams, metrics=metrics)


def session_events(row: Mapping[str, Any], hyperparameters: Sequence[str], trial_id: str, task: str) -> list[Any]:
    """One execution's session: its hyperparameters (grouped by trial), metrics and status, as events."""
    started = _number(row.get("started")) or time.time()
    values = {name: _hparam_value(row.get(name)) for name in hyperparameters}
    start = hparams_v2.hparams_pb({k: v for k, v in values.items() if v is not None}, trial_id=trial_id,
                                  start_time_secs=started)
    events = [_event(start, step=0, wall_time=started)]
    metrics = {**row, **_gaps(row)}
    step = int(_number(row.get("best_epoch")) or 0)
    for name in SESSION_METRICS[task]:
        value = _number(metrics.get(name))
        if value is not None:
            events.append(_event(_scalar(name, value), step=step))
    status = api_pb2.STATUS_SUCCESS if row.get("status") == "completed" else api_pb2.STATUS_FAILURE
    ended = _number(row.get("ended")) or time.time()
    end = _tensorboard_summary(hparams_summary.session_end_pb(status, end_time_secs=ended))
    events.append(_event(end, step=step, wall_time=ended))
    return events


def _gaps(row: Mapping[str, Any]) -> dict[str, float]:
    """The generalization gaps of an execution's row, where both of their terms were measured."""
    gaps = {}
    for gap, (minuend, subtrahend) in {"accuracy_gap": ("train_accuracy", "val_accuracy"),
                                       "mse_gap": ("val_mse", "train_mse")}.items():
        first, second = _number(row.get(minuend)), _number(row.get(subtrahend))
        if first is not None and second is not None:
            gaps[gap] = first - second
    return gaps


def epoch_events(epochs: Iterable[Mapping[str, Any]], tags: Mapping[str, str], started: float | None) -> list[Any]:
    """One event per epoch (step: the 1-based epoch) holding `tags` read from epochs-table rows.

    Wall times count the epochs' own seconds from the execution's start, so TensorBoard's
    relative axis is training time.
    """
    events = []
    clock = started if started is not None else time.time()
    for row in epochs:
        clock += _number(row.get("seconds")) or 0.0
        values = [(tag, _number(row.get(column))) for tag, column in tags.items()]
        summary = _scalars([(tag, value) for tag, value in values if value is not None])
        events.append(_event(summary, step=int(row["epoch"]), wall_time=clock))
    return events


def _domains(spec: SweepSpec) -> dict[str, Any]:
    """Each hyperparameter column's domain: the values of a choice, the interval of a range."""
    domains: dict[str, Any] = {}
    for name, form in searched_parameters(spec).items():
        if name in LAYER_LISTS:
            options = form.values if isinstance(form, Choice) else [form]
            domains[name] = hp.Discrete([encode_layers(option) for option in options])
        elif name == REGULARIZERS_COLUMN:
            options = [option.model_dump() for option in form.values]
            domains[name] = hp.Discrete([encode_regularizers(option) for option in options])
            for part in REGULARIZERS:  # spelled out in their own columns
                domains[part] = hp.Discrete(sorted({float(option[part]) for option in options}))
        elif isinstance(form, Range):
            low, high = form.min, form.max
            domains[name] = hp.IntInterval(int(low), int(high)) if name in INTEGER_HYPERPARAMETERS else hp.RealInterval(
                float(low), float(high))
        else:
            options = form.values if isinstance(form, Choice) else [form]
            try:
                domains[name] = hp.Discrete(list(dict.fromkeys(_hparam_value(option) for option in options)))
            except (TypeError, ValueError):  # values of mixed types (a build function's choice): no domain
                continue
    return domains


def _hparam_value(value: Any) -> str | float | None:
    """A hyperparameter as HParams stores it: text, or a number (every number is a float there)."""
    if value is None or isinstance(value, str):
        return value
    number = _number(value)
    return number if number is not None else str(value)


def _number(value: Any) -> float | None:
    """A finite or infinite float, or None for a missing value (None, NaN, NA)."""
    if value is None or isinstance(value, (str, bool)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _scalar(tag: str, value: float) -> Any:
    return _scalars([(tag, value)])


def _scalars(values: Sequence[tuple[str, float]]) -> Any:
    """A Summary of scalars in the scalars plugin's format (what `tf.summary.scalar` writes)."""
    summary_metadata, shape = _scalar_metadata()
    return summary_pb2.Summary(value=[
        summary_pb2.Summary.Value(tag=tag, metadata=summary_metadata, tensor=tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, tensor_shape=shape, float_val=[value]))
        for tag, value in values
    ])


@functools.cache
def _scalar_metadata() -> tuple[Any, Any]:
    """The scalars plugin's metadata and a scalar's shape, the same for every value (made once)."""
    summary_metadata = scalar_metadata.create_summary_metadata(display_name=None, description=None)
    return summary_metadata, tensor_shape_pb2.TensorShapeProto()


def _tensorboard_summary(summary: Any) -> Any:
    """A TensorFlow Summary (what hparams' v1 `session_end_pb` returns) as TensorBoard's own."""
    return summary_pb2.Summary.FromString(summary.SerializeToString())


def _event(summary: Any, step: int, wall_time: float | None = None) -> Any:

    return event_pb2.Event(wall_time=time.time() if wall_time is None else wall_time, step=step, summary=summary)


def _write_events(folder: Path, events: Iterable[Any]) -> None:
    """One event file in `folder`, named as TensorFlow names them, opened by its file-version event.

    TensorFlow's TFRecord writer frames the records (the event-file format) in C++: writing each
    scalar through `tf.summary` costs a TensorFlow op, several times the training of a tiny epoch.
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    with tf.io.TFRecordWriter(str(folder / name)) as writer:
        writer.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        for event in events:
            writer.write(event.SerializeToString())


def _move_into_place(staged: Path, target: Path, spare: Path) -> None:
    """Replace `target` by the folder `staged`, moving an old one to `spare` (an unused path) and deleting it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.replace(target, spare)
        shutil.rmtree(spare)
    os.replace(staged, target)


def _execution_folder(execution: int) -> str:
    return f"execution_{execution}"
