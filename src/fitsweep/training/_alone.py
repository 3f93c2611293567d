"""Models fitsweep does not stack (a conv net, a user's build function), each trained alone.

Each is measured after every epoch as a fused member is: in inference mode, on the measured
training rows and the validation split, with and without its penalties; its best epoch is chosen,
and it stops, as a fused member does (`fitsweep.training.selection`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fitsweep.data import Splits
from fitsweep.training._members import EpochListener, Member, Outcome
from fitsweep.training._models import fresh_session
from fitsweep.training.heads import Head, head_for
from fitsweep.training.measurement import MEASURE_BATCH, head_scores, penalty
from fitsweep.training.selection import Progress, Selection, final_outcome

__all__ = ["ModelError", "check_model", "train_alone"]


class ModelError(ValueError):
    """A model `train_alone` was given cannot be trained or measured on the data (as a classifier or a regression)."""


def train_alone(
    member: Member,
    build: Callable[[], keras.Model],
    splits: Splits,
    *,
    epochs: int,
    batch_size: int,
    objective: str | None = "val_crossentropy",
    direction: str = "min",
    patience: int | None = None,
    on_epoch: EpochListener | None = None,
    head: Head | None = None,
) -> Outcome:
    """Train one execution of a model fitsweep does not stack (a conv net, a user's build function).

    `build` returns the compiled Keras model; it is called after Keras' session is cleared and its
    seeds set from the member's, so its initial weights, shuffles and dropout masks are the
    member's own. The model trains with its own loss and optimizer (`fit`, shuffled each epoch);
    after each epoch it is measured as `train` measures a fused member: in inference mode, on the
    measured training rows and the validation split, with and without its penalties
    (`model.losses`); Keras' running averages are kept as `running_*`. Its input is the data's
    rows reshaped to what the model takes (`Splits.feature_shape`); its output must be one
    probability (or logit) for two classes, or one per class, or one number for a regression
    (trained on the target as `data.standardize_target` says: `fitsweep.training.heads`).
    `head` is the output the sweep expects (its `train.loss`); by default the data's task's.

    Raises:
        ModelError: The model's input or output cannot take the data (naming both shapes).
    """
    fresh_session(member.seed)
    model = build()
    reader = _ModelReader(model, splits, head or head_for(splits))
    x_train, y_train = splits.x_train, splits.y_train
    if member.rows is not None:
        x_train, y_train = x_train[list(member.rows)], y_train[list(member.rows)]
    measured = (x_train[:len(splits.y_train_measured)], y_train[:len(splits.y_train_measured)]) \
        if member.rows is not None else (splits.x_train_measured, splits.y_train_measured)
    watcher = _AloneWatcher(member, reader, splits, measured, Selection(objective, direction, patience), on_epoch)
    model.fit(reader.inputs(x_train), reader.labels(y_train), batch_size=batch_size, epochs=epochs,
              shuffle=True, verbose=0, callbacks=[watcher])
    sizes = {"train_rows": len(y_train), "train_measured_rows": len(measured[1]),
             "val_rows": len(splits.y_val), "test_rows": len(splits.y_test)}
    return watcher.outcome(sizes)


def check_model(model: keras.Model, splits: Splits) -> None:
    """Raise `ModelError` when `train_alone` could not feed the model this data (its input or output shape)."""
    _input_shape(model, splits)
    _output_width(model, head_for(splits))


class _ModelReader:
    """A Keras classifier's scores on the data's rows, in inference mode, from one traced function.

    The scores are taken from the logits wherever Keras' own loss would take them: the model's
    compiled loss says `from_logits`, or its output is a sigmoid or softmax (Keras keeps the
    logits beside such an output and its cross-entropy reads them).
    """

    def __init__(self, model: keras.Model, splits: Splits, head: Head) -> None:
        self.model, self.n_classes, self.head = model, splits.n_classes, head
        self.shape = _input_shape(model, splits)
        self.width = _output_width(model, self.head)
        self.logits = _from_logits(model)
        self.predict = tf.function(self._outputs)

    def _outputs(self, x: Any) -> Any:
        output = self.model(x, training=False)
        kept = getattr(output, "_keras_logits", None)  # set while tracing, before any value is read
        if kept is None:
            return output
        self.logits = True
        return kept

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return x.reshape((len(x), *self.shape))

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Labels as the model's own loss takes them: float (rows, 1) for one unit, else class indices."""
        if self.head.regression:
            return self.head.labels(y)
        return y.astype("float32").reshape(-1, 1) if self.width == 1 else y

    def scores(self, x: np.ndarray, y: np.ndarray, model_penalty: float = 0.0) -> dict[str, float]:
        """`fitsweep.training.measurement.scores` of the model on the rows `x`, labelled `y`."""
        outputs = self.outputs(x)
        return head_scores(self.head, outputs, y, model_penalty, logits=self.logits)

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """(rows, 1) for two classes (the positive class's), else (rows, classes): logits or probabilities."""
        chunks = [np.asarray(self.predict(tf.constant(self.inputs(x[start:start + MEASURE_BATCH]), tf.float32)))
                  for start in range(0, len(x), MEASURE_BATCH)]
        outputs = np.concatenate(chunks).astype("float64").reshape(len(x), -1)
        if self.n_classes == 2 and self.width == 2:  # two softmax units: the positive class against the other
            positive: np.ndarray = (outputs[:, 1:] - outputs[:, :1] if self.logits
                                    else outputs[:, 1:] / outputs.sum(axis=1, keepdims=True))
            return positive
        return outputs


def _input_shape(model: keras.Model, splits: Splits) -> tuple[int, ...]:
    """The shape of one row as the model takes it: the data's features, or their shape before flattening."""
    inputs = getattr(model, "inputs", None)
    if not inputs or len(inputs) != 1:
        raise ModelError(f"the model has {len(inputs or [])} inputs; fitsweep feeds it one (the data's rows)")
    wanted = tuple(inputs[0].shape[1:])
    if None not in wanted and math.prod(wanted) == splits.n_features:
        return tuple(int(size) for size in wanted)
    raise ModelError(f"the model takes inputs of shape {wanted}; the data have {splits.n_features} features a row"
                     + (f" (shape {splits.feature_shape})" if splits.feature_shape else ""))


def _output_width(model: keras.Model, head: Head) -> int:
    outputs = getattr(model, "outputs", None) or []
    width = math.prod(outputs[0].shape[1:]) if len(outputs) == 1 and None not in outputs[0].shape[1:] else None
    n_classes = head.n_classes
    if (width == 1 and (head.regression or head.binary)) or (width == n_classes and not head.regression):
        return int(width)
    units = f"{width if width is not None else 'an unknown number of'} units"
    if head.regression:
        raise ModelError(f"the model's output has {units}; the data have a numeric target (a regression), so it needs "
                         "1 (a linear unit, such as Dense(1))")
    allowed = "1 (sigmoid) or 2 (softmax)" if n_classes == 2 else f"{n_classes} (softmax, one a class)"
    raise ModelError(f"the model's output has {units}; the data have {n_classes} classes, so it needs {allowed}")


def _from_logits(model: keras.Model) -> bool:
    """Whether the model's compiled loss takes logits, so its outputs are not yet probabilities."""
    loss: Any = getattr(model, "loss", None)
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    return bool(config.get("from_logits", False))


class _AloneWatcher(keras.callbacks.Callback):
    """After each epoch: measures the model, keeps its best weights, stops it on divergence or patience."""

    def __init__(self, member: Member, reader: _ModelReader, splits: Splits,
                 measured: tuple[np.ndarray, np.ndarray], selection: Selection,
                 on_epoch: EpochListener | None) -> None:
        super().__init__()
        self.member, self.reader, self.splits, self.measured = member, reader, splits, measured
        self.selection, self.on_epoch = selection, on_epoch
        self.state = Progress((member.trial_id, member.execution), params=int(reader.model.count_params()))
        self.started, self.started_at = 0.0, time.time()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        splits, reader, state = self.splits, self.reader, self.state
        seconds = time.perf_counter() - self.started
        extra = penalty(reader.model)
        x_measured, y_measured = self.measured
        record = {
            **reader.scores(x_measured, y_measured, extra),
            **{f"val_{name}": value for name, value in reader.scores(splits.x_val, splits.y_val, extra).items()},
        }
        running = _running(logs or {}, reader.head.scale)
        if self.on_epoch is not None:
            self.on_epoch(self.member, epoch, {**record, **running}, seconds)
        state.ended_at = time.time()
        if self.selection.judge(state, epoch, record):
            state.best_weights = reader.model.get_weights()
        if state.stopped:
            reader.model.stop_training = True

    def outcome(self, sizes: dict[str, int]) -> Outcome:
        model, splits = self.reader.model, self.splits

        def tested() -> tuple[dict[str, float], list[np.ndarray]]:
            model.set_weights(self.state.best_weights)
            kernels = [variable.numpy() for variable in model.trainable_weights if variable.path.endswith("kernel")]
            return self.reader.scores(splits.x_test, splits.y_test), kernels

        return final_outcome(self.member, self.state, splits, {**sizes, "started_at": self.started_at}, tested,
                             lambda weights: model)  # `tested` left the model at its best epoch's weights


# Keras' names of the running metrics a model may log, for fitsweep's running_* records.
_RUNNING_NAMES = {"loss": ("loss",), "accuracy": ("accuracy", "acc", "binary_accuracy", "sparse_categorical_accuracy",
                                                  "categorical_accuracy"),
                  "crossentropy": ("crossentropy",), "mse": ("mse", "mean_squared_error")}


def _running(logs: Mapping[str, Any], target_scale: float = 1.0) -> dict[str, float]:
    """Keras' running averages of the epoch's batches (dropout on, weights moving), those the model logs.

    A regression's mse is logged on the target it trained on; it is reported in the target's own units.
    """
    found = {}
    for name, candidates in _RUNNING_NAMES.items():
        value = next((logs[key] for key in candidates if key in logs), None)
        if value is not None:
            found[f"running_{name}"] = float(value) * (target_scale**2 if name == "mse" else 1.0)
    return found
