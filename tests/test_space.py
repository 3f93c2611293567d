"""Sweep-file hyperparameters as KerasTuner hyperparameters."""

from __future__ import annotations

import keras_tuner

from conftest import tiny_sweep
from fitsweep import parse_spec
from fitsweep.space import declare_space, decode_layers, encode_layers, hyperparameter_names, trial_values


def test_each_form_maps_to_its_kerastuner_type() -> None:
    spec = parse_spec(tiny_sweep(model={"depth": {"min": 1, "max": 4, "step": 1}, "width": 32,
                                        "dropout": {"values": [0.0, 0.5]},
                                        "l2": {"min": 1e-6, "max": 1e-2, "sampling": "log"}}))
    space = {hp.name: hp for hp in declare_space(spec).space}
    assert isinstance(space["depth"], keras_tuner.engine.hyperparameters.Int)
    assert (space["depth"].min_value, space["depth"].max_value) == (1, 4)
    assert isinstance(space["width"], keras_tuner.engine.hyperparameters.Fixed) and space["width"].value == 32
    assert isinstance(space["dropout"], keras_tuner.engine.hyperparameters.Choice)
    assert space["l2"].sampling == "log"
    assert list(space) == hyperparameter_names(spec)


def test_layer_lists_are_choices_of_strings() -> None:
    spec = parse_spec(tiny_sweep(model={"layers": {"values": [[], [200], [600, 400, 200]]}}))
    space = {hp.name: hp for hp in declare_space(spec).space}
    assert space["layers"].values == ["none", "200", "600-400-200"]
    assert "depth" not in space and "width" not in space
    assert [decode_layers(v) for v in space["layers"].values] == [[], [200], [600, 400, 200]]
    assert encode_layers([25, 50]) == "25-50"


def test_regularizer_combinations_are_one_choice_spelled_out_in_the_table() -> None:
    sweep = tiny_sweep()
    sweep["model"] = {"depth": 1, "regularizers": {"values": [{}, {"l1": 1e-4}, {"l2": 1e-3, "dropout": 0.2}]}}
    spec = parse_spec(sweep)
    space = {hp.name: hp for hp in declare_space(spec).space}
    assert space["regularizers"].values == ["none", "l1=0.0001", "dropout=0.2+l2=0.001"]
    assert "l1" not in space and "dropout" not in space
    assert hyperparameter_names(spec)[:6] == ["depth", "width", "activation", "regularizers", "dropout", "l1"]
    assert trial_values({"regularizers": "dropout=0.2+l2=0.001"}) == {
        "regularizers": "dropout=0.2+l2=0.001", "dropout": 0.2, "l1": 0.0, "l2": 0.001}
