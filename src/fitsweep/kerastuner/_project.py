"""A project folder written by plain KerasTuner, read for `fitsweep import`; nothing in it is changed.

`read_project` reads oracle.json and each trial_*/trial.json, through KerasTuner's own
`Trial.from_state`. `read_execution_curves` reads the TensorBoard logs that KerasTuner's `Tuner`
writes under a TensorBoard callback's `log_dir` as `<log_dir>/<trial_id>/execution<N>/{train,validation}`,
through TensorBoard's own `EventAccumulator`. Plain KerasTuner records in trial.json only the
metrics of each trial's best epoch (averaged over its executions); its per-epoch curves exist only
in those TensorBoard logs. `tests/test_kerastuner_import.py` checks that layout against KerasTuner's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keras_tuner.engine.trial import Trial

from fitsweep.errors import ProjectError
from fitsweep.kerastuner._version import WRITTEN_AGAINST

__all__ = ["ExecutionCurve", "KerasTunerProject", "read_execution_curves", "read_project"]

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
