"""The Dense network a trial's hyperparameters describe."""

from __future__ import annotations

import keras
import pytest

from fitsweep.families.dense.network import build_model, hidden_widths
from fitsweep.training.heads import Head

BASE = {"activation": "relu", "dropout": 0.0, "l1": 0.0, "l2": 0.0, "optimizer": "sgd", "learning_rate": 0.01}


def test_seed_network_for_two_moons() -> None:
    model = build_model({**BASE, "layers": "25-50-50-25"}, n_features=2, head=Head(2))
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [25, 50, 50, 25, 1]
    assert dense[-1].activation.__name__ == "sigmoid" and dense[0].activation.__name__ == "relu"
    assert model.count_params() == 2 * 25 + 25 + 25 * 50 + 50 + 50 * 50 + 50 + 50 * 25 + 25 + 25 + 1
    assert model.loss == "binary_crossentropy"
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_multiclass_softmax_without_hidden_layers() -> None:
    model = build_model({**BASE, "layers": "none", "optimizer": "adam"}, n_features=784, head=Head(10))
    assert model.count_params() == 784 * 10 + 10
    assert model.layers[-1].activation.__name__ == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"


def test_depth_width_dropout_and_penalties() -> None:
    values = {**BASE, "depth": 3, "width": 16, "dropout": 0.2, "l1": 1e-4, "l2": 1e-3}
    model = build_model(values, n_features=4, head=Head(3))
    assert hidden_widths(values) == [16, 16, 16]
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 3
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert all(layer.kernel_regularizer.get_config() == {"l1": pytest.approx(1e-4), "l2": pytest.approx(1e-3)}
               for layer in dense)


def test_no_regularizer_or_dropout_layer_when_zero() -> None:
    model = build_model({**BASE, "depth": 2, "width": 8}, n_features=2, head=Head(2))
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert all(layer.kernel_regularizer is None for layer in model.layers if isinstance(layer, keras.layers.Dense))
