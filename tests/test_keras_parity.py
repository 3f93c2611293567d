"""A network fitsweep trains trains as the same network does under plain Keras `model.fit`.

Each case builds the network in plain Keras (Dense layers, sigmoid or softmax output, Keras' own
cross-entropy loss and optimizer), gives it the initial weights fitsweep gives the execution and
feeds it the rows in the order fitsweep's execution steps through them, one `fit` epoch at a time.
Its curves (Keras' `evaluate` on the training and validation rows) and its final weights must
equal fitsweep's records and weights within float32 tolerance: fitsweep's stacked matmuls sum in
another order than Keras' Dense layers, so the last bits differ and grow over the epochs.
Where Keras goes NaN, fitsweep's execution must diverge at the same epoch. With dropout the masks
differ (fitsweep draws each member's from its own seed), so there the distribution over seeds is
compared instead.

The cases include what plain Keras trains but a loss of clipped probabilities would freeze: raw
breast-cancer features (values up to about 4,000) saturate the output at the first step.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from sklearn.datasets import load_breast_cancer, load_wine, make_moons
from sklearn.preprocessing import StandardScaler

from fitsweep import parse_spec
from fitsweep.data import Splits
from fitsweep.families import family_for
from fitsweep.families.dense.network import layer_seed
from fitsweep.training import Member, train_alone, train_executions

EPOCHS = 5
# Relative float32 tolerance of a curve after EPOCHS epochs (differences start near 1e-7 a step).
RTOL = 2e-3
DENSE = family_for(parse_spec({"name": "parity", "data": {"source": "moons"}}))  # the family that fuses


def _splits(x: np.ndarray, y: np.ndarray, seed: int = 0) -> Splits:
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order].astype("float32"), y[order].astype("int64")
    n_val = n_test = len(y) // 5
    train_x, train_y = x[n_val + n_test:], y[n_val + n_test:]
    return Splits(train_x, train_y, x[:n_val], y[:n_val], x[n_val:n_val + n_test], y[n_val:n_val + n_test],
                  int(y.max()) + 1, train_x, train_y)


def _standardized(x: np.ndarray) -> np.ndarray:
    return np.asarray(StandardScaler().fit_transform(x))


DATA = {
    "cancer_raw": lambda: _splits(*load_breast_cancer(return_X_y=True)),
    "wine_raw": lambda: _splits(*load_wine(return_X_y=True)),
    "wine": lambda: _splits(_standardized(load_wine(return_X_y=True)[0]), load_wine(return_X_y=True)[1]),
    "moons": lambda: _splits(*make_moons(400, noise=0.25, random_state=0)),
}
_CACHE: dict[str, Splits] = {}


def _data(name: str) -> Splits:
    if name not in _CACHE:
        _CACHE[name] = DATA[name]()
    return _CACHE[name]


def _values(**overrides: Any) -> dict[str, Any]:
    return {"layers": "16", "activation": "relu", "dropout": 0.0, "l1": 0.0, "l2": 0.0,
            "optimizer": "sgd", "learning_rate": 0.01, "batch_size": 32, **overrides}


def _keras_network(values: dict[str, Any], splits: Splits, seed: int) -> keras.Model:
    """The network in plain Keras, with the initial weights fitsweep draws for an execution seeded `seed`."""
    widths = [int(width) for width in str(values["layers"]).split("-") if width not in ("", "none")]
    penalty = keras.regularizers.L1L2(l1=values["l1"], l2=values["l2"]) if values["l1"] or values["l2"] else None
    layers: list[keras.layers.Layer] = [keras.Input((splits.n_features,))]
    for width in widths:
        layers.append(keras.layers.Dense(width, activation=values["activation"], kernel_regularizer=penalty))
        if values["dropout"]:
            layers.append(keras.layers.Dropout(values["dropout"]))
    binary = splits.n_classes == 2
    layers.append(keras.layers.Dense(1 if binary else splits.n_classes, activation="sigmoid" if binary else "softmax",
                                     kernel_regularizer=penalty))
    model = keras.Sequential(layers)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for index, layer in enumerate(dense):  # Glorot uniform seeded per execution and layer, zero biases
        kernel = keras.initializers.GlorotUniform(seed=layer_seed(seed, index))(layer.kernel.shape)
        layer.set_weights([np.asarray(kernel), np.zeros(layer.bias.shape)])
    optimizer = keras.optimizers.get({"class_name": values["optimizer"],
                                      "config": {"learning_rate": values["learning_rate"]}})
    model.compile(optimizer=optimizer, loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.BinaryCrossentropy(name="crossentropy") if binary
                           else keras.metrics.SparseCategoricalCrossentropy(name="crossentropy")])
    return model


def _keras_curves(values: dict[str, Any], splits: Splits, seed: int, epochs: int = EPOCHS
                  ) -> tuple[list[dict[str, float]], keras.Model]:
    """Plain `model.fit`, one epoch at a time over the rows in fitsweep's order for this seed."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = _keras_network(values, splits, seed)
    def labels(y: np.ndarray) -> np.ndarray:
        return y.astype("float32").reshape(-1, 1) if splits.n_classes == 2 else y

    records = []
    for epoch in range(epochs):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(len(splits.y_train), dtype=tf.int64), seed=tf.constant([seed, epoch], tf.int64)).numpy()
        model.fit(splits.x_train[order], labels(splits.y_train)[order], batch_size=values["batch_size"], epochs=1,
                  shuffle=False, verbose=0)
        train_scores = model.evaluate(splits.x_train, labels(splits.y_train), verbose=0, return_dict=True)
        val_scores = model.evaluate(splits.x_val, labels(splits.y_val), verbose=0, return_dict=True)
        records.append({**{name: float(value) for name, value in train_scores.items()},
                        **{f"val_{name}": float(value) for name, value in val_scores.items()}})
    return records, model


def _fitsweep_curves(values: dict[str, Any], splits: Splits, seed: int, epochs: int = EPOCHS
                     ) -> tuple[list[dict[str, float]], Any]:
    records: list[dict[str, float]] = []
    [outcome] = train_executions([Member("0", 0, values, seed)], splits, DENSE, epochs=epochs, objective=None,
                                 on_epoch=lambda member, epoch, record, seconds: records.append(record))
    return records, outcome


CASES = {
    # Raw features up to ~4,000: the sigmoid saturates at the first step; Keras still trains it.
    "raw cancer, slow sgd": ("cancer_raw", _values(learning_rate=1e-5)),
    "raw cancer, adam": ("cancer_raw", _values(layers="32-32", optimizer="adam", learning_rate=0.003)),
    "raw wine, softmax, rmsprop, l2": ("wine_raw", _values(activation="tanh", optimizer="rmsprop",
                                                           learning_rate=0.01, l2=1e-3)),
    "wine, logistic, adam, l1+l2": ("wine", _values(layers="none", optimizer="adam", learning_rate=0.01,
                                                    l1=1e-3, l2=1e-3)),
    "moons, deep sgd, l1": ("moons", _values(layers="25-50-50-25", learning_rate=0.1, l1=1e-4, batch_size=16)),
    # A loss in the billions, finite: fitsweep's records follow Keras' there too.
    "raw cancer, elu, sgd at 10": ("cancer_raw", _values(layers="16-16", activation="elu", learning_rate=10.0)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_curves_and_weights_equal_plain_keras(case: str) -> None:
    data, values = CASES[case]
    splits, seed = _data(data), 7
    expected, model = _keras_curves(values, splits, seed)
    records, outcome = _fitsweep_curves(values, splits, seed)
    assert len(records) == len(expected)
    for epoch, (mine, keras_record) in enumerate(zip(records, expected, strict=True)):
        for name in ("loss", "crossentropy", "accuracy", "val_loss", "val_crossentropy", "val_accuracy"):
            assert mine[name] == pytest.approx(keras_record[name], rel=RTOL, abs=1e-5), (case, epoch, name)
    assert outcome.diverged_at is None
    for mine, theirs in zip(outcome.weights, model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=1e-4 * max(1.0, float(np.abs(theirs).max())))


def test_raw_features_train_in_fitsweep_as_in_keras_instead_of_freezing() -> None:
    # The clipped-probability loss left every epoch's record identical here.
    records, _ = _fitsweep_curves(_values(learning_rate=1e-5), _data("cancer_raw"), seed=7, epochs=8)
    assert len({round(record["loss"], 6) for record in records}) > 1
    assert max(record["val_accuracy"] for record in records) > 0.8


@pytest.mark.parametrize("data, values", [
    ("moons", _values(layers="25-50-50-25", learning_rate=5.0)),
    ("moons", _values(learning_rate=1.0, l2=50.0)),
])
def test_a_learning_rate_that_sends_keras_to_nan_diverges_at_the_same_epoch(data: str, values: dict) -> None:
    splits = _data(data)
    expected, _ = _keras_curves(values, splits, seed=7)
    keras_nan = next(epoch for epoch, record in enumerate(expected) if not math.isfinite(record["loss"]))
    records, outcome = _fitsweep_curves(values, splits, seed=7)
    assert outcome.diverged_at == keras_nan and outcome.weights is None
    assert all(math.isfinite(record["loss"]) for record in records[:keras_nan])
    assert not math.isfinite(records[keras_nan]["loss"])


def test_a_member_that_goes_nan_leaves_the_members_beside_it_as_they_train_alone() -> None:
    splits = _data("moons")
    healthy = Member("0", 0, _values(learning_rate=1.0), seed=3)
    exploding = Member("1", 0, _values(learning_rate=1.0, l2=50.0), seed=4)
    alone = _fitsweep_curves(healthy.values, splits, healthy.seed)[0]
    beside: list[dict[str, float]] = []
    outcomes = train_executions([exploding, healthy], splits, DENSE, epochs=EPOCHS, objective=None,
                                on_epoch=lambda member, epoch, record, _: beside.append(record)
                                if member is healthy else None)
    assert outcomes[0].diverged_at is not None and outcomes[1].diverged_at is None
    for mine, theirs in zip(alone, beside, strict=True):
        assert theirs == pytest.approx(mine, rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_with_dropout_the_final_curves_are_distributed_as_in_keras() -> None:
    splits, values = _data("moons"), _values(layers="64-64", dropout=0.3, optimizer="adam", learning_rate=0.01)
    seeds = range(6)
    keras_final = [_keras_curves(values, splits, seed, epochs=15)[0][-1]["val_crossentropy"] for seed in seeds]
    fitsweep_final = [_fitsweep_curves(values, splits, seed, epochs=15)[0][-1]["val_crossentropy"] for seed in seeds]
    assert stats.ttest_ind(keras_final, fitsweep_final, equal_var=False).pvalue > 0.01
    assert abs(np.mean(keras_final) - np.mean(fitsweep_final)) < 0.05


def test_a_model_trained_alone_records_what_keras_fit_gives() -> None:
    # train_alone runs the user's own compiled model through model.fit; its records are Keras' evaluate.
    splits, values, seed = _data("cancer_raw"), _values(layers="32-32", optimizer="adam", learning_rate=0.003), 5

    def build() -> keras.Model:
        return _keras_network(values, splits, seed)

    records: list[dict[str, float]] = []
    outcome = train_alone(Member("0", 0, values, seed), build, splits, epochs=EPOCHS, batch_size=32, objective=None,
                          on_epoch=lambda member, epoch, record, _: records.append(record))
    model = outcome.network()
    final = model.evaluate(splits.x_val, splits.y_val.astype("float32").reshape(-1, 1), verbose=0, return_dict=True)
    assert records[-1]["val_crossentropy"] == pytest.approx(final["crossentropy"], rel=1e-4)
    assert records[-1]["val_accuracy"] == pytest.approx(final["accuracy"])
