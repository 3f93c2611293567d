"""The engine: a KerasTuner `Tuner` that trains one trial's Dense networks and reports every epoch.

KerasTuner does the searching (its oracles: random, grid, Bayesian, Hyperband), the trial
bookkeeping and the distribution over processes. `SweepTuner.run_trial` adds what fitsweep
needs: a seeded model per execution, per-epoch records sent through the oracle, the best
epoch's weights restored, and the test split evaluated once after training.
"""

from __future__ import annotations

import gc
import math
import time
import warnings
import zlib
from collections.abc import Mapping
from typing import Any, Protocol

import keras
import keras_tuner

from fitsweep import inputs, records
from fitsweep._keras_tuner import ORACLE_CLASSES, oracle_snapshot, recover_interrupted_trials
from fitsweep.analysis import weight_stats
from fitsweep.data import Splits
from fitsweep.measurement import measure, penalty
from fitsweep.model import build_model
from fitsweep.space import declare_space, trial_values
from fitsweep.spec import SweepSpec

__all__ = [
    "MODEL_FILE", "NullObserver", "SweepObserver", "SweepTuner", "build_oracle", "execution_seed", "oracle_snapshot",
    "recover_interrupted_trials",
]

MODEL_FILE = "model.keras"
# How long a worker waits before asking again an oracle that had no trial for it.
IDLE_WAIT_SECONDS = 0.1

# fitsweep reports the objective itself, every epoch, which KerasTuner accepts but flags.
warnings.filterwarnings("ignore", message="The use case of calling", category=DeprecationWarning)


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
    """The KerasTuner oracle of the sweep's algorithm, over its declared search space.

    Its reports cost the same at every epoch, and from its creation on KerasTuner writes its
    JSON state atomically in this process (`fitsweep._keras_tuner`).

    Example:
        >>> oracle = build_oracle(load_spec("sweeps/moons.yaml"))  # doctest: +SKIP
    """
    tuner = spec.tuner
    common = dict(
        objective=keras_tuner.Objective(tuner.objective, direction=tuner.direction),
        hyperparameters=declare_space(spec),
        seed=tuner.seed,
        max_consecutive_failed_trials=tuner.max_consecutive_failures,
    )
    oracle_class = ORACLE_CLASSES[tuner.algorithm]
    if tuner.algorithm == "hyperband":
        oracle = oracle_class(max_epochs=spec.train.epochs, factor=tuner.factor, **common)
        oracle.max_trials = tuner.max_trials  # caps the brackets' trials, like the other algorithms
        return oracle
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
        logs = self.tuner.epoch_logs(self.model, logs or {})
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
        self._asked_in_vain = False

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """KerasTuner's search, with the objects of TensorFlow's and Keras' imports frozen (`gc.freeze`).

        Keras' `clear_session`, before every model, runs a full garbage collection, which walks the
        400,000-odd objects TensorFlow and Keras create at import: a quarter of a second per
        model. Frozen, they are skipped, and the collection walks only the search's own objects.
        They are unfrozen when the search ends (unless the caller had frozen objects already).
        """
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.collect()
            gc.freeze()
        try:
            super().search(*fit_args, **fit_kwargs)
        finally:
            if freeze:
                gc.unfreeze()

    def pre_create_trial(self) -> None:
        """Wait a moment before asking the oracle again when it had no trial to give (IDLE).

        A worker's oracle answers IDLE while it waits for other workers' results (Hyperband
        between rounds); KerasTuner's search loop would ask again at once, keeping a core and the
        chief busy.
        """
        if self._asked_in_vain:
            time.sleep(IDLE_WAIT_SECONDS)
        self._asked_in_vain = True

    def on_trial_begin(self, trial: keras_tuner.engine.trial.Trial) -> None:
        self._asked_in_vain = False
        values = trial.hyperparameters.values
        epochs = int(values.get("tuner/epochs", self.spec.train.epochs))
        self.observer.trial_started(trial.trial_id, values, epochs, self.executions_per_trial)

    def on_trial_end(self, trial: keras_tuner.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        ended = self.oracle.get_trial(trial.trial_id)
        self.observer.trial_ended(trial.trial_id, str(ended.status), ended.score)

    def epoch_logs(self, model: keras.Model, running: Mapping[str, float]) -> dict[str, float]:
        """One epoch's record: training rows and validation split measured alike, Keras' averages renamed.

        Training metrics are those of `fitsweep.measurement.measure` on the split's measured training
        rows, in inference mode; Keras' own logs (running averages over the epoch, dropout active)
        are kept as `running_loss`, `running_accuracy` and `running_crossentropy`.
        """
        splits = self.splits
        model_penalty = penalty(model)
        train = measure(model, splits.x_train_measured, splits.y_train_measured, splits.n_classes, model_penalty)
        val = measure(model, splits.x_val, splits.y_val, splits.n_classes, model_penalty)
        return {
            **train,
            **{f"val_{name}": value for name, value in val.items()},
            **{f"running_{name}": float(value) for name, value in running.items()},
        }

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
        _build_metrics(model, splits)
        reporter = _EpochReporter(self, trial_id, execution)
        # No validation_data: `epoch_logs` measures validation and training rows alike, after each epoch.
        model.fit(
            inputs.training_dataset(splits.x_train, splits.y_train, splits.n_classes, batch_size, seed),
            epochs=epochs, shuffle=False, verbose=0, callbacks=[reporter],
        )
        sizes = {"train_rows": len(splits.y_train), "train_measured_rows": len(splits.y_train_measured),
                 "val_rows": len(splits.y_val), "test_rows": len(splits.y_test), "params": model.count_params()}
        if reporter.diverged_at is not None:
            reporter.flush({"diverged": 1.0, **sizes})
            raise keras_tuner.errors.FailedTrialError(
                f"Diverged: a loss became NaN or infinite at epoch {reporter.diverged_at + 1} "
                f"(execution {execution})"
            )
        model.set_weights(reporter.best_weights)
        test = measure(model, splits.x_test, splits.y_test, splits.n_classes)
        weights = weight_stats([layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")])
        reporter.flush({
            "weight_l1": weights["l1_norm"],
            "weight_l2": weights["l2_norm"],
            "near_zero_share": weights["near_zero_share"],
            "test_loss": test["loss"],
            "test_accuracy": test["accuracy"],
            "test_crossentropy": test["crossentropy"],
            "best_epoch": reporter.best_epoch,
            **sizes,
        })
        return model, reporter.best_value


def _build_metrics(model: keras.Model, splits: Splits) -> None:
    """Create the compiled metrics' variables now, on one training sample, and reset them.

    Keras creates them while tracing the first training step, which makes TensorFlow trace that
    step twice (once creating variables, once using them): about 0.1 s per model, and each of those
    extra traces stays in memory for the rest of the process.
    """
    x = splits.x_train[:1]
    model.compute_metrics(x, inputs.model_labels(splits.y_train[:1], splits.n_classes), model(x, training=False))
    model.reset_metrics()
