"""The one path that trains fitsweep's networks: one or several executions, fused into one Keras model.

Small networks spend their time in per-step and per-model overhead, not arithmetic. `train` takes
executions ("members") that share the data, batch size, optimizer, learning rate and epochs and
trains them as one Keras model: members with the same layers form a stack whose weights carry a
leading member axis, so a batched matmul runs all of them in the ops of one network; one trace and
one optimizer step per batch serve every member. The members share nothing else. Each has its own
seeded initial weights (Keras' Glorot uniform, seeded per layer), its own dropout masks (drawn
from its own seed, the layer and the step), its own
shuffle order (`inputs.member_orders`), its own dropout rate and penalties, its own loss (the
gradient of a sum of independent losses, for each member's weights, is that member's own; the
optimizers fitsweep offers update each weight from its own gradient), its own early stopping and
best-epoch weights. So a member trains to the same weights alone as beside others, and `train`
with one member is the unfused path.

Each member's loss is Keras' own: the cross-entropy of its sigmoid or softmax output taken from
the logits (as Keras takes it for a Dense layer with that activation), so a saturated output
still has a gradient and a learning rate that sends Keras to NaN sends the member there too.

After each epoch every member is measured in inference mode on the measured training rows and
the validation split (`fitsweep.training.measurement.scores`, from the logits); Keras-style running
averages over the epoch's batches, with dropout active, are kept as `running_*`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fitsweep import inputs
from fitsweep.data import Splits
from fitsweep.model import hidden_widths, layer_seed, optimizer_for, parameter_count
from fitsweep.training._members import EpochListener, Member, Outcome
from fitsweep.training._models import FUSION_KEYS, fresh_session, fusion_key
from fitsweep.training._selection import Progress, Selection, ended
from fitsweep.training.measurement import MEASURE_BATCH, scores

__all__ = ["train"]

RUNNING = ("loss", "accuracy", "crossentropy")


def architecture(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Members with equal architectures share one stack of batched weights."""
    return (tuple(hidden_widths(values)), values["activation"])


def train(
    members: Sequence[Member],
    splits: Splits,
    *,
    epochs: int,
    objective: str | None = "val_crossentropy",
    direction: str = "min",
    patience: int | None = None,
    on_epoch: EpochListener | None = None,
) -> list[Outcome]:
    """Train `members` together, each as if alone; one `Outcome` per member, in their order.

    Args:
        members: Executions sharing `fusion_key` (batch size, optimizer, learning rate).
        splits: The data; training rows feed the steps, measured rows and validation the records.
        epochs: Epochs to train (each member stops earlier on divergence or patience).
        objective: The record a member's best epoch is chosen by; None keeps the last epoch.
        direction: "min" or "max" for the objective.
        patience: Stop a member this many epochs after its best; None trains every epoch.
        on_epoch: Told each member's record after each epoch.

    Example:
        >>> [outcome] = train([Member("0", 0, values, seed=7)], splits, epochs=5)  # doctest: +SKIP
        >>> outcome.summary["test_accuracy"]  # doctest: +SKIP
    """
    if not members or len({fusion_key(member.values, epochs) for member in members}) != 1:
        raise ValueError(f"members to train together must share {', '.join(FUSION_KEYS)} and epochs")
    fresh_session()
    keras.utils.set_random_seed(0)  # every draw is seeded per member; this fixes anything else Keras draws
    order = sorted(range(len(members)), key=_stack_order(members))
    ordered = [members[index] for index in order]
    own_rows = _own_rows(ordered)
    n_rows = len(splits.x_train) if own_rows is None else own_rows.shape[1]
    fused = _FusedNetworks(ordered, splits)
    values = members[0].values
    batch_size = int(values["batch_size"])
    fused.compile(optimizer=optimizer_for(values),
                  steps_per_execution=inputs.steps_per_execution(n_rows, batch_size))
    fused.optimizer.build(fused.trainable_variables)  # now, not inside the first traced step
    watcher = _Watcher(fused, ordered, splits, Selection(objective, direction, patience), on_epoch, own_rows)
    fused.fit(
        inputs.member_orders(n_rows, batch_size, [member.seed for member in ordered], fused.epoch, own_rows),
        epochs=epochs, shuffle=False, verbose=0, callbacks=[watcher],
    )
    by_index = dict(zip(order, watcher.outcomes(), strict=True))
    return [by_index[index] for index in range(len(members))]


def _own_rows(members: Sequence[Member]) -> np.ndarray | None:
    """Every member's own training rows as (members, rows), or None when all train on every row."""
    if all(member.rows is None for member in members):
        return None
    counts = {None if member.rows is None else len(member.rows) for member in members}
    if None in counts or len(counts) != 1 or 0 in counts:
        raise ValueError("members to train together must all have their own rows, as many each, or none")
    return np.array([member.rows for member in members], dtype="int64")


def _stack_order(members: Sequence[Member]) -> Callable[[int], tuple[Any, ...]]:
    """Members by architecture, then trial and execution: the same set makes the same model in any order."""

    def key(index: int) -> tuple[Any, ...]:
        member = members[index]
        trial = (int(member.trial_id), "") if member.trial_id.isdigit() else (-1, member.trial_id)
        return (repr(architecture(member.values)), *trial, member.execution)

    return key


class _Stack(keras.layers.Layer):
    """Members of one architecture: each layer's kernel is (members, inputs, units), its bias (members, units)."""

    def __init__(self, members: Sequence[Member], n_features: int, n_classes: int, name: str) -> None:
        super().__init__(name=name)
        values = members[0].values
        widths = [*hidden_widths(values), 1 if n_classes == 2 else n_classes]
        sizes = list(zip([n_features, *widths[:-1]], widths, strict=True))
        self.activation = keras.activations.get(values["activation"])
        self.kernels = [self._kernel(members, layer, size) for layer, size in enumerate(sizes)]
        self.biases = [self.add_weight(shape=(len(members), 1, units), initializer="zeros", name=f"bias_{layer}")
                       for layer, (_, units) in enumerate(sizes)]
        self.rates = [float(member.values["dropout"]) for member in members]
        self.seeds = [member.seed for member in members]
        l1 = np.array([float(member.values["l1"]) for member in members], "float32")
        l2 = np.array([float(member.values["l2"]) for member in members], "float32")
        self.l1 = tf.constant(l1) if l1.any() else None
        self.l2 = tf.constant(l2) if l2.any() else None

    def _kernel(self, members: Sequence[Member], layer: int, size: tuple[int, int]) -> Any:
        # Keras' default kernel initializer (Glorot uniform), seeded per member and layer.
        initial = np.stack([np.asarray(keras.initializers.GlorotUniform(seed=layer_seed(member.seed, layer))(size))
                            for member in members])
        return self.add_weight(shape=initial.shape, initializer=lambda shape, dtype=None: tf.constant(initial),
                               name=f"kernel_{layer}")

    def call(self, x: Any, training: bool = False, step: Any = None) -> Any:
        """Every member's logits: the output layer before its sigmoid or softmax.

        `x` is (members, rows, features), or (rows, features) shared by every member.
        """
        hidden = x
        last = len(self.kernels) - 1
        for layer, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            if len(hidden.shape) == 2:
                hidden = tf.einsum("bi,kio->kbo", hidden, kernel) + bias
            else:
                hidden = tf.matmul(hidden, kernel) + bias
            if layer == last:
                return hidden
            hidden = self.activation(hidden)
            if training:
                hidden = self._dropout(hidden, layer, step)
        return hidden

    def _dropout(self, hidden: Any, layer: int, step: Any) -> Any:
        if not any(self.rates):
            return hidden
        keys = tf.constant([layer_seed(seed, 1000 + layer) for seed in self.seeds], tf.uint64)
        uniform = _member_uniform(keys, step, tf.shape(hidden)[1:])
        rates = tf.constant(self.rates, hidden.dtype)[:, None, None]
        return tf.where(uniform >= tf.cast(rates, uniform.dtype), hidden / (1.0 - rates), tf.zeros_like(hidden))

    def penalty_terms(self) -> Any:
        """Each layer's L1/L2 penalty of each member: (layers, members), as Keras' L1L2 computes it."""
        terms = []
        for kernel in self.kernels:
            term = tf.zeros(kernel.shape[:1])
            if self.l1 is not None:
                term += self.l1 * tf.reduce_sum(tf.abs(kernel), axis=[1, 2])
            if self.l2 is not None:
                term += self.l2 * tf.reduce_sum(tf.square(kernel), axis=[1, 2])
            terms.append(term)
        return tf.stack(terms)

    @property
    def penalised(self) -> bool:
        return self.l1 is not None or self.l2 is not None

    def stacked_weights(self) -> list[np.ndarray]:
        """Every member's weights: kernel (members, inputs, units), bias (members, 1, units), ... per layer."""
        return [variable.numpy() for pair in zip(self.kernels, self.biases, strict=True) for variable in pair]

    @staticmethod
    def member_weights(stacked: list[np.ndarray], position: int) -> list[np.ndarray]:
        """One member's weights from `stacked_weights`, in Keras' Dense order: kernel, bias, kernel, ..."""
        return [array[position, 0] if index % 2 else array[position] for index, array in enumerate(stacked)]

    def set_member_weights(self, position: int, weights: list[np.ndarray]) -> None:
        variables = [variable for pair in zip(self.kernels, self.biases, strict=True) for variable in pair]
        for variable, array in zip(variables, weights, strict=True):
            current = variable.numpy()
            current[position] = array.reshape(current.shape[1:])
            variable.assign(current)


def _member_uniform(keys: Any, step: Any, shape: Any) -> Any:
    """Uniform [0, 1) draws of `shape` for each member: (members, *shape), float64.

    Member i's draws depend only on `keys[i]`, the step and the position, so its dropout masks
    are the same whichever members it is trained beside; all members' draws come from the same
    few vectorised ops. The bits are SplitMix64's (Steele, Lea and Flood, 2014), a counter-based
    generator: mix(mix(key + step) ^ position).
    """
    size = tf.reduce_prod(shape)
    positions = tf.reshape(tf.cast(tf.range(size, dtype=tf.int64), tf.uint64), tf.concat([[1], shape], 0))
    streams = _splitmix64(keys + tf.cast(step, tf.uint64))
    streams = tf.reshape(streams, tf.concat([[-1], tf.ones_like(shape)], 0))
    bits = _splitmix64(tf.bitwise.bitwise_xor(streams, positions))
    return tf.cast(tf.bitwise.right_shift(bits, tf.constant(11, tf.uint64)), tf.float64) * 2.0**-53


def _splitmix64(z: Any) -> Any:
    def shift_xor(value: Any, bits: int) -> Any:
        return tf.bitwise.bitwise_xor(value, tf.bitwise.right_shift(value, tf.constant(bits, tf.uint64)))

    z = z + tf.constant(0x9E3779B97F4A7C15, tf.uint64)
    z = shift_xor(z, 30) * tf.constant(0xBF58476D1CE4E5B9, tf.uint64)
    z = shift_xor(z, 27) * tf.constant(0x94D049BB133111EB, tf.uint64)
    return shift_xor(z, 31)


class _FusedNetworks(keras.Model):
    """Stacks of members trained by one optimizer step per batch on the sum of their losses."""

    def __init__(self, members: Sequence[Member], splits: Splits) -> None:
        super().__init__(name="fused_networks")
        n_features, n_classes = splits.n_features, splits.n_classes
        self.binary = n_classes == 2
        # The training rows, held once for every member (a plain tuple: not the model's weights).
        self.rows = (tf.Variable(splits.x_train, trainable=False),
                     tf.Variable(inputs.model_labels(splits.y_train, n_classes), trainable=False))
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.n_members = len(members)
        groups: dict[tuple[Any, ...], list[Member]] = {}
        for member in members:
            groups.setdefault(architecture(member.values), []).append(member)
        self.stacks = [_Stack(group, n_features, n_classes, name=f"stack_{index}")
                       for index, group in enumerate(groups.values())]
        self.step = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False, name="step")
        # Running sums over the epoch's batches, per member: the penalised loss, cross-entropy, hits, rows.
        self.running = {name: self.add_weight(shape=(len(members),), initializer="zeros", trainable=False, name=name)
                        for name in ("loss", "crossentropy", "accuracy", "rows")}

    def call(self, x: Any, training: bool = False) -> Any:
        if len(x.shape) == 2:
            return tf.concat([stack(x) for stack in self.stacks], axis=0)
        outputs, start = [], 0
        for stack in self.stacks:
            size = stack.kernels[0].shape[0]
            outputs.append(stack(x[start:start + size], training=training, step=self.step))
            start += size
        return tf.concat(outputs, axis=0)

    def penalties(self) -> Any:
        """(members,) of the current L1/L2 penalties."""
        return tf.concat([tf.reduce_sum(stack.penalty_terms(), axis=0) for stack in self.stacks], axis=0)

    def train_step(self, data: Any) -> dict[str, Any]:
        indices = tf.transpose(data)  # (members, rows)
        x, y = tf.gather(self.rows[0], indices), tf.gather(self.rows[1], indices)
        with tf.GradientTape() as tape:
            logits = self(x, training=True)
            losses = self._sample_losses(y, logits)  # (members, rows)
            penalised = tf.reduce_mean(losses, axis=1) + self.penalties()
            total = tf.reduce_sum(penalised)
        self.optimizer.apply(tape.gradient(total, self.trainable_variables), self.trainable_variables)
        self.step.assign_add(1)
        rows = tf.cast(tf.shape(losses)[1], "float32")
        self.running["loss"].assign_add(penalised * rows)
        self.running["crossentropy"].assign_add(tf.reduce_sum(losses, axis=1))
        self.running["accuracy"].assign_add(tf.reduce_sum(self._hits(y, logits), axis=1))
        self.running["rows"].assign_add(tf.fill([self.n_members], rows))
        return {"loss": total}

    def _sample_losses(self, y: Any, logits: Any) -> Any:
        # From the logits, as Keras' own loss takes them from a sigmoid or softmax Dense output.
        if self.binary:
            return keras.losses.binary_crossentropy(y, logits, from_logits=True)
        return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)

    def _hits(self, y: Any, logits: Any) -> Any:
        if self.binary:  # probability above 0.5: a positive logit
            return tf.cast(tf.equal(tf.cast(logits[..., 0] > 0, "float32"), y[..., 0]), "float32")
        return tf.cast(tf.equal(tf.argmax(logits, axis=-1), tf.cast(y, "int64")), "float32")

    def running_means(self) -> dict[str, np.ndarray]:
        """Each member's running averages since the epoch began, and a fresh start for the next."""
        rows = self.running["rows"].numpy()
        means = {name: self.running[name].numpy() / rows for name in RUNNING}
        for variable in self.running.values():
            variable.assign(tf.zeros_like(variable))
        return means

    def positions(self) -> list[tuple[_Stack, int]]:
        """Each member's stack and place in it, in member order."""
        return [(stack, position) for stack in self.stacks for position in range(stack.kernels[0].shape[0])]


class _Watcher(keras.callbacks.Callback):
    """After each epoch: measures every member still training, keeps its best weights, stops it."""

    def __init__(self, fused: _FusedNetworks, members: Sequence[Member], splits: Splits, selection: Selection,
                 on_epoch: EpochListener | None, own_rows: np.ndarray | None = None) -> None:
        super().__init__()
        self.fused, self.members, self.splits = fused, members, splits
        self.selection, self.on_epoch = selection, on_epoch
        self.infer = _inference(fused, splits.n_features)
        self.measured = _MeasuredRows(fused, splits, own_rows, self.infer)
        self.penalties = _penalties(fused)
        features, classes = splits.n_features, splits.n_classes
        self.progress = [Progress(params=parameter_count(member.values, features, classes)) for member in members]
        self.started = 0.0
        self.started_at = time.time()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.fused.epoch.assign(epoch)  # before the epoch's orders are drawn
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        splits = self.splits
        running = self.fused.running_means()
        (train, y_train), val = self.measured(), self.infer(splits.x_val)
        penalties = self.penalties()
        active = [index for index, state in enumerate(self.progress) if not state.stopped]
        seconds = (time.perf_counter() - self.started) / len(active)  # the epoch's time, shared
        improved = []
        for index in active:
            record = {
                **scores(train[index], y_train[index], splits.n_classes, penalties[index], logits=True),
                **{f"val_{name}": value for name, value in
                   scores(val[index], splits.y_val, splits.n_classes, penalties[index], logits=True).items()},
                **{f"running_{name}": float(running[name][index]) for name in RUNNING},
            }
            if self.on_epoch is not None:
                self.on_epoch(self.members[index], epoch, record, seconds)
            if self.selection.judge(self.progress[index], epoch, record):
                improved.append(index)
            self.progress[index].ended_at = time.time()
        self._keep_best(improved)
        if all(state.stopped for state in self.progress):
            self.fused.stop_training = True

    def _keep_best(self, improved: list[int]) -> None:
        positions = self.fused.positions()
        arrays: dict[int, list[np.ndarray]] = {}  # each stack's weights, read once an epoch
        for index in improved:
            stack, position = positions[index]
            stacked = arrays.setdefault(id(stack), stack.stacked_weights())
            self.progress[index].best_weights = _Stack.member_weights(stacked, position)

    def outcomes(self) -> list[Outcome]:
        """Each member's best weights restored, its test split measured, its summary; in member order."""
        splits = self.splits
        for (stack, position), state in zip(self.fused.positions(), self.progress, strict=True):
            if state.diverged_at is None and state.best_weights is not None:
                stack.set_member_weights(position, state.best_weights)
        test = self.infer(splits.x_test)
        train_rows, measured_rows = self.measured.rows
        sizes = {"train_rows": train_rows, "train_measured_rows": measured_rows,
                 "val_rows": len(splits.y_val), "test_rows": len(splits.y_test)}
        return [self._outcome(index, test[index], sizes) for index in range(len(self.members))]

    def _outcome(self, index: int, test_logits: np.ndarray, sizes: dict[str, int]) -> Outcome:
        state = self.progress[index]

        def tested() -> tuple[dict[str, float], list[np.ndarray]]:
            assert state.best_weights is not None  # `ended` asks only a member that did not diverge
            tested = scores(test_logits, self.splits.y_test, self.splits.n_classes, logits=True)
            return tested, state.best_weights[0::2]

        return ended(self.members[index], state, self.splits, {**sizes, "started_at": self.started_at}, tested)


def _inference(fused: _FusedNetworks, n_features: int) -> Callable[[np.ndarray], np.ndarray]:
    """Every member's logits on the same rows, (members, rows, outputs), from one traced function."""
    predict = tf.function(lambda x: fused(x, training=False),
                          input_signature=[tf.TensorSpec((None, n_features), tf.float32)])

    def infer(x: np.ndarray) -> np.ndarray:
        chunks = [predict(tf.constant(x[start:start + MEASURE_BATCH], tf.float32)).numpy()
                  for start in range(0, len(x), MEASURE_BATCH)]
        return np.concatenate(chunks, axis=1).astype("float64")

    return infer


class _MeasuredRows:
    """Every member's logits on its measured training rows, with their labels."""

    def __init__(self, fused: _FusedNetworks, splits: Splits, own_rows: np.ndarray | None,
                 infer: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fused, self.splits, self.infer = fused, splits, infer
        self.own = None if own_rows is None else own_rows[:, :len(splits.y_train_measured)]
        self.rows = ((len(splits.y_train), len(splits.y_train_measured)) if own_rows is None
                     else (own_rows.shape[1], self.own.shape[1] if self.own is not None else 0))
        if self.own is not None:
            # Each member's own rows, (members, rows, features): the fused model runs member i on x[i].
            self.x = tf.constant(splits.x_train[self.own], tf.float32)
            self.predict = tf.function(lambda x: fused(x, training=False))

    def __call__(self) -> tuple[np.ndarray, list[np.ndarray]]:
        splits = self.splits
        if self.own is None:
            return self.infer(splits.x_train_measured), [splits.y_train_measured] * self.fused.n_members
        logits = self.predict(self.x).numpy().astype("float64")
        return logits, list(splits.y_train[self.own])


def _penalties(fused: _FusedNetworks) -> Callable[[], list[float]]:
    """Every member's L1/L2 penalty now, from one traced function.

    Each layer's term comes back on its own and is summed in Python, as Keras' eager values are.
    """
    if not any(stack.penalised for stack in fused.stacks):
        return lambda: [0.0] * fused.n_members
    terms = tf.function(lambda: [stack.penalty_terms() for stack in fused.stacks])

    def penalties() -> list[float]:
        return [sum(float(term) for term in member_terms)
                for stack_terms in terms() for member_terms in stack_terms.numpy().T]

    return penalties
