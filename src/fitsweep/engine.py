"""The engine: a KerasTuner `Tuner` that trains one trial's Dense networks and reports every epoch.

KerasTuner does the searching (its oracles: random, grid, Bayesian, Hyperband), the trial
bookkeeping and the distribution over processes. `SweepTuner.run_trial` adds what fitsweep
needs: a seeded model per execution, per-epoch records sent through the oracle, the best
epoch's weights restored, and the test split evaluated once after training.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import warnings
import zlib
from collections.abc import Mapping
from typing import Any, Protocol

import keras
import keras_tuner
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.engine.metrics_tracking import MetricsTracker
from keras_tuner.src.engine.trial import TrialStatus

from fitsweep import inputs, records
from fitsweep.analysis import weight_stats
from fitsweep.data import Splits
from fitsweep.model import build_model
from fitsweep.space import declare_space, trial_values
from fitsweep.spec import SweepSpec

__all__ = ["SweepTuner", "SweepObserver", "NullObserver", "build_oracle", "execution_seed", "MODEL_FILE"]

MODEL_FILE = "model.keras"

# fitsweep reports the objective itself, every epoch, which KerasTuner accepts but flags.
warnings.filterwarnings("ignore", message="The use case of calling", category=DeprecationWarning)


def _save_json_atomically(path: str, obj: Any) -> str:
    """KerasTuner's `save_json`, but through a temporary file and a rename."""
    text = json.dumps(obj)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return text


# KerasTuner writes oracle.json and trial.json in place; a run killed mid-write would leave a
# state that cannot be resumed. All of its state goes through `utils.save_json`.
kt_utils.save_json = _save_json_atomically


def recover_interrupted_trials(oracle: keras_tuner.Oracle) -> None:
    """Make a reloaded oracle rerun exactly the trials a killed run left unfinished.

    KerasTuner queues the trials oracle.json lists as ongoing for a retry. Three gaps remain
    after a kill, each closed here: a queued trial that had finished (its trial.json was saved,
    oracle.json not yet) is dropped from the queue; a queued trial's partial epochs are
    forgotten so its rerun starts clean; and a trial whose trial.json was written but that
    oracle.json never recorded is removed, so the oracle creates it again from the same state.
    """
    queue = oracle._retry_queue  # noqa: SLF001 - KerasTuner keeps no public handle on it
    for trial_id, trial in list(oracle.trials.items()):
        if trial.status != TrialStatus.RUNNING:
            if trial_id in queue:
                queue.remove(trial_id)
        elif trial_id in queue:
            trial.metrics = MetricsTracker()
        else:
            del oracle.trials[trial_id]
            shutil.rmtree(oracle._get_trial_dir(trial_id), ignore_errors=True)  # noqa: SLF001


class SweepObserver(Protocol):
    """What the engine tells about progress (a progress bar, a log, or nothing)."""

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None: ...

    def epoch_ended(self, execution: int, epoch: int, logs: Mapping[str, float]) -> None: ...

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None: ...


def execution_seed(seed: int, trial_id: str, execution: int) -> int:
    """The seed of one execution: fixed by the sweep seed, the trial and the execution."""
    key = f"{seed}:{int(trial_id) if trial_id.isdigit() else trial_id}:{execution}"
    return zlib.crc32(key.encode()) & 0x7FFFFFFF


def build_oracle(spec: SweepSpec) -> keras_tuner.Oracle:
    """The KerasTuner oracle of the sweep's algorithm, over its declared search space."""
    tuner = spec.tuner
    common = dict(
        objective=keras_tuner.Objective(tuner.objective, direction=tuner.direction),
        hyperparameters=declare_space(spec),
        seed=tuner.seed,
        max_consecutive_failed_trials=tuner.max_consecutive_failures,
    )
    if tuner.algorithm == "hyperband":
        oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=spec.train.epochs, factor=tuner.factor, **common)
        oracle.max_trials = tuner.max_trials  # caps the brackets' trials, like the other algorithms
        return oracle
    oracle_class = {
        "random": keras_tuner.oracles.RandomSearchOracle,
        "grid": keras_tuner.oracles.GridSearchOracle,
        "bayesian": keras_tuner.oracles.BayesianOptimizationOracle,
    }[tuner.algorithm]
    return oracle_class(max_trials=tuner.max_trials, **common)


class _EpochReporter(keras.callbacks.Callback):
    """Sends each epoch to the oracle, keeps the best epoch's weights, stops on NaN or patience."""

    def __init__(self, tuner: SweepTuner, trial_id: str, execution: int) -> None:
        super().__init__()
        self.tuner, self.trial_id, self.execution = tuner, trial_id, execution
        self.objective = tuner.spec.tuner.objective
        self.sign = 1.0 if tuner.spec.tuner.direction == "min" else -1.0
        self.patience = tuner.spec.train.early_stopping
        self.best_value, self.best_epoch, self.best_weights = math.inf, -1, None
        self.pending: dict[str, float] | None = None
        self.diverged_at: int | None = None
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logs = dict(logs or {})
        self.flush()
        self.pending = records.epoch_metrics(self.execution, logs, time.perf_counter() - self._started, self.objective)
        self.pending["step"] = epoch
        self.tuner.observer.epoch_ended(self.execution, epoch, logs)
        if not all(math.isfinite(v) for v in logs.values()):
            self.diverged_at = epoch
            self.model.stop_training = True
            return
        value = self.sign * logs[self.objective]
        if value < self.best_value:
            self.best_value, self.best_epoch = value, epoch
            self.best_weights = self.model.get_weights()
        elif self.patience is not None and epoch - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def flush(self, summary: Mapping[str, float] | None = None) -> None:
        """Report the held-back epoch, with the execution's summary if given."""
        if self.pending is None:
            return
        report = dict(self.pending)
        step = int(report.pop("step"))
        if summary:
            report.update(records.summary_metrics(self.execution, summary))
        self.tuner.oracle.update_trial(self.trial_id, report, step=step)
        self.pending = None


class NullObserver:
    """An observer that is told everything and shows nothing."""

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None:
        pass

    def epoch_ended(self, execution: int, epoch: int, logs: Mapping[str, float]) -> None:
        pass

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        pass


class SweepTuner(keras_tuner.Tuner):
    """Runs fitsweep trials under any KerasTuner oracle.

    Args:
        spec: The validated sweep.
        splits: The sweep's train, validation and test data.
        oracle: From `build_oracle(spec)`.
        observer: Told about trials and epochs; silent by default.
        **kwargs: Passed to `keras_tuner.Tuner` (directory, project_name, overwrite, ...).
    """

    def __init__(
        self,
        spec: SweepSpec,
        splits: Splits,
        oracle: keras_tuner.Oracle,
        observer: SweepObserver | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(oracle=oracle, executions_per_trial=spec.tuner.executions_per_trial, **kwargs)
        self.spec, self.splits = spec, splits
        self.observer: SweepObserver = observer or NullObserver()
        self.oracle.verbose = 0

    def on_trial_begin(self, trial: keras_tuner.engine.trial.Trial) -> None:
        values = trial.hyperparameters.values
        epochs = int(values.get("tuner/epochs", self.spec.train.epochs))
        self.observer.trial_started(trial.trial_id, values, epochs, self.executions_per_trial)

    def on_trial_end(self, trial: keras_tuner.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        ended = self.oracle.get_trial(trial.trial_id)
        self.observer.trial_ended(trial.trial_id, str(ended.status), ended.score)

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> None:
        """Train every execution of one trial; metrics go to the oracle as they come."""
        values = trial_values(trial.hyperparameters.values)
        epochs = int(values.get("tuner/epochs", self.spec.train.epochs))
        best_model, best_value = None, math.inf
        for execution in range(self.executions_per_trial):
            model, value = self._run_execution(trial.trial_id, values, execution, epochs)
            if value < best_value:
                best_model, best_value = model, value
        if best_model is not None:
            best_model.save(f"{self.get_trial_dir(trial.trial_id)}/{MODEL_FILE}")
        return None

    def _run_execution(
        self, trial_id: str, values: Mapping[str, Any], execution: int, epochs: int
    ) -> tuple[keras.Model, float]:
        splits = self.splits
        seed = execution_seed(self.spec.tuner.seed, trial_id, execution)
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        batch_size = int(values["batch_size"])
        model = build_model(
            values, splits.n_features, splits.n_classes,
            steps_per_execution=inputs.steps_per_execution(len(splits.x_train), batch_size),
        )
        reporter = _EpochReporter(self, trial_id, execution)
        model.fit(
            inputs.training_dataset(splits.x_train, splits.y_train, splits.n_classes, batch_size, seed),
            validation_data=inputs.evaluation_dataset(splits.x_val, splits.y_val, splits.n_classes),
            epochs=epochs, shuffle=False, verbose=0, callbacks=[reporter],
        )
        if reporter.diverged_at is not None:
            reporter.flush({"diverged": 1.0, "params": model.count_params()})
            raise keras_tuner.errors.FailedTrialError(
                f"Diverged: a loss became NaN or infinite at epoch {reporter.diverged_at + 1} "
                f"(execution {execution})"
            )
        model.set_weights(reporter.best_weights)
        test = model.evaluate(
            inputs.evaluation_dataset(splits.x_test, splits.y_test, splits.n_classes), verbose=0, return_dict=True
        )
        weights = weight_stats([layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")])
        reporter.flush({
            "weight_l1": weights["l1_norm"],
            "weight_l2": weights["l2_norm"],
            "near_zero_share": weights["near_zero_share"],
            "test_loss": test["loss"],
            "test_accuracy": test["accuracy"],
            "test_crossentropy": test["crossentropy"],
            "best_epoch": reporter.best_epoch,
            "params": model.count_params(),
        })
        return model, reporter.best_value

