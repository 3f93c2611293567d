"""The Dense family's fused trainer: executions ("members") of Dense networks trained as one Keras model.

Small networks spend their time in per-step and per-model overhead, not arithmetic. `train` takes
members that share the data, batch size, optimizer, learning rate and epochs and trains them as
one Keras model: members with the same layers form a stack (`_stack.Stack`) whose weights carry a
leading member axis, so a batched matmul runs all of them in the ops of one network; one trace and
one optimizer step per batch serve every member. The members share nothing else. Each has its own
seeded initial weights, its own dropout masks, its own shuffle order (`inputs.member_orders`), its
own dropout rate and penalties, its own loss (the gradient of a sum of independent losses, for
each member's weights, is that member's own; the optimizers fitsweep offers update each weight
from its own gradient), its own early stopping and best-epoch weights. So a member trains to the
same weights alone as beside others, and `train` with one member is the unfused path.

Each member's loss is Keras' own, as the output head (`fitsweep.training.heads`) says: the
cross-entropy of its sigmoid or softmax output taken from the logits (as Keras takes it for a Dense
layer with that activation), so a saturated output still has a gradient and a learning rate that
sends Keras to NaN sends the member there too; or a regression's loss of its linear output.

After each epoch every member is measured in inference mode on the measured training rows and
the validation split (`fitsweep.training.measurement.scores`, from the logits); Keras-style running
averages over the epoch's batches, with dropout active, are kept as `running_*`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fitsweep import inputs
from fitsweep.data import Splits
from fitsweep.families.dense._stack import Stack, architecture
from fitsweep.families.dense.network import optimizer_for, parameter_count, restored_network
from fitsweep.training import EpochListener, Member, Outcome
from fitsweep.training.heads import Head
from fitsweep.training.measurement import MEASURE_BATCH, head_scores
from fitsweep.training.selection import Progress, Selection, final_outcome

__all__ = ["train"]


def train(
    members: Sequence[Member],
    splits: Splits,
    head: Head,
    *,
    epochs: int,
    objective: str | None = "val_crossentropy",
    direction: str = "min",
    patience: int | None = None,
    on_epoch: EpochListener | None = None,
) -> list[Outcome]:
    """Train `members` together, each as if alone; one `Outcome` per member, in their order.

    A `fitsweep.training.FusedTrainer`: `train_executions` calls it (as `DenseFamily.train_fused`)
    with members that share `fusion_key`, in a fresh session.
    """
    order = sorted(range(len(members)), key=_stack_order(members))
    ordered = [members[index] for index in order]
    own_rows = _own_rows(ordered)
    n_rows = len(splits.x_train) if own_rows is None else own_rows.shape[1]
    fused = _FusedNetworks(ordered, splits, head)
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


class _FusedNetworks(keras.Model):
    """Stacks of members trained by one optimizer step per batch on the sum of their losses."""

    def __init__(self, members: Sequence[Member], splits: Splits, head: Head) -> None:
        super().__init__(name="fused_networks")
        self.head = head
        # The training rows, held once for every member (a plain tuple: not the model's weights).
        self.rows = (tf.Variable(splits.x_train, trainable=False),
                     tf.Variable(head.labels(splits.y_train), trainable=False))
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.n_members = len(members)
        groups: dict[tuple[Any, ...], list[Member]] = {}
        for member in members:
            groups.setdefault(architecture(member.values), []).append(member)
        self.stacks = [Stack(group, splits.n_features, head.units, name=f"stack_{index}")
                       for index, group in enumerate(groups.values())]
        self.step = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False, name="step")
        # Running sums over the epoch's batches, per member: the penalised loss, the data's loss, each row's
        # measure (a hit, or a squared error: `Head.row_measures`), rows.
        self.running = {name: self.add_weight(shape=(len(members),), initializer="zeros", trainable=False, name=name)
                        for name in ("loss", "data", "row", "rows")}

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
            losses = self.head.sample_losses(y, logits)  # (members, rows)
            penalised = tf.reduce_mean(losses, axis=1) + self.penalties()
            total = tf.reduce_sum(penalised)
        self.optimizer.apply(tape.gradient(total, self.trainable_variables), self.trainable_variables)
        self.step.assign_add(1)
        rows = tf.cast(tf.shape(losses)[1], "float32")
        self.running["loss"].assign_add(penalised * rows)
        self.running["data"].assign_add(tf.reduce_sum(losses, axis=1))
        self.running["row"].assign_add(tf.reduce_sum(self.head.row_measures(y, logits), axis=1))
        self.running["rows"].assign_add(tf.fill([self.n_members], rows))
        return {"loss": total}

    def running_means(self) -> dict[str, np.ndarray]:
        """Each member's running averages since the epoch began, and a fresh start for the next."""
        rows = self.running["rows"].numpy()
        means = {name: self.running[slot].numpy() / rows for name, slot in self.head.running.items()}
        for variable in self.running.values():
            variable.assign(tf.zeros_like(variable))
        return means

    def positions(self) -> list[tuple[Stack, int]]:
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
        self.head = fused.head
        self.progress = [Progress(params=parameter_count(member.values, splits.n_features, fused.head))
                         for member in members]
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
                **head_scores(self.head, train[index], y_train[index], penalties[index], logits=True),
                **{f"val_{name}": value for name, value in
                   head_scores(self.head, val[index], splits.y_val, penalties[index], logits=True).items()},
                **{f"running_{name}": float(values[index]) for name, values in running.items()},
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
            self.progress[index].best_weights = Stack.member_weights(stacked, position)

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
        state, member, splits = self.progress[index], self.members[index], self.splits

        def tested() -> tuple[dict[str, float], list[np.ndarray]]:
            assert state.best_weights is not None  # `final_outcome` asks only a member that did not diverge
            tested = head_scores(self.head, test_logits, splits.y_test, logits=True)
            return tested, state.best_weights[0::2]

        restore = functools.partial(restored_network, member.values, n_features=splits.n_features,
                                    head=self.head)
        return final_outcome(member, state, splits, {**sizes, "started_at": self.started_at}, tested, restore)


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
