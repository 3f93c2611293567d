"""What every model family promises, checked for each family the registry holds.

As scikit-learn runs one suite of checks over every estimator, these tests are parametrized
over `fitsweep.families.FAMILIES`: a family added to the registry is checked here at once, and
fails until `EXAMPLES` gives it a small sweep to check it with.

The promises are those the rest of fitsweep relies on: the sweep file's section validates and
reads back; the declared search space names the trials table's columns and the batch size
training reads; a sampled trial builds a compiled model whose weights `parameter_count` counts
(the engine weighs fused groups with it, the trials table reports it); one execution trains
through `fitsweep.training.train_executions` (the sweep's, the learning curve's and the
figures' one door); `check_data` refuses data the models cannot take, as one line naming the
key, before a run writes anything; a one-trial sweep writes the declared columns and a best
model that loads back and scores as the table says; a trial read back from the table retrains
as the sweep trained it.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fitsweep import FitsweepError, parse_spec
from fitsweep.families import FAMILIES, ModelFamily, family_for
from fitsweep.results.tables import TRIAL_METRIC_COLUMNS
from fitsweep.spec import parse_spec_text

SAMPLES = 3  # trials sampled from each family's space
EPOCHS = 2
RECORD_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy", "crossentropy", "val_crossentropy")
TEST_SCORES = ("test_loss", "test_accuracy", "test_crossentropy")

BUILD_FILE = '''
import keras


def build(hp):
    units = hp.Choice("units", [4, 8])
    model = keras.Sequential([
        keras.Input(shape=(2,)),
        keras.layers.Dense(units, activation=hp.Choice("activation", ["relu", "tanh"])),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model
'''

MOONS = {"source": "moons", "samples": 160, "noise": 0.2, "seed": 3}
DIGITS = {"source": "digits"}


@dataclass(frozen=True)
class Example:
    """A small sweep of one family, and data its models cannot take (None: it takes any)."""

    model: Callable[[Path], dict[str, Any]]  # the model section, given a folder for any file it needs
    data: dict[str, Any]
    refused_data: dict[str, Any] | None
    refusal_names: Callable[[Any], list[str]] = lambda spec: []  # what the refusal must name


def _build_model(folder: Path) -> dict[str, Any]:
    (folder / "models.py").write_text(textwrap.dedent(BUILD_FILE), encoding="utf-8")
    return {"build": f"{folder / 'models.py'}:build"}


EXAMPLES: dict[str, Example] = {
    "dense": Example(
        model=lambda folder: {"depth": {"min": 1, "max": 2}, "width": {"values": [4, 8]},
                              "dropout": {"values": [0.0, 0.2]}, "l2": {"min": 1e-5, "max": 1e-2, "sampling": "log"}},
        data=MOONS, refused_data=None),
    "build": Example(
        model=_build_model, data=MOONS, refused_data=DIGITS,
        refusal_names=lambda spec: [spec.model.build]),
    "conv": Example(
        model=lambda folder: {"family": "conv", "blocks": {"values": [0, 1]}, "filters": 4, "head": [8],
                              "batch_norm": {"values": [False, True]}, "pooling": {"values": ["max", "average"]},
                              "dropout": {"values": [0.0, 0.1]}},
        data=DIGITS, refused_data=MOONS,
        refusal_names=lambda spec: ["model.family", "data.image_shape"]),
}


def sweep_of(family: str, folder: Path, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The family's example as a sweep file (a dict): one trial of two short epochs."""
    if family not in EXAMPLES:
        pytest.fail(f"family {family!r} is registered but has no example sweep; add one to EXAMPLES in {__file__}")
    example = EXAMPLES[family]
    return {
        "name": f"contract-{family}",
        "data": dict(data if data is not None else example.data),
        "model": example.model(folder),
        "train": {"epochs": EPOCHS, "batch_size": 32},
        "tuner": {"algorithm": "random", "max_trials": 1, "seed": 5},
    }


@dataclass(frozen=True)
class Subject:
    """A family bound to its example sweep, with the sweep's data."""

    name: str
    folder: Path
    raw: dict[str, Any]
    spec: Any
    family: ModelFamily
    splits: Any


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def subject(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Subject:
    from fitsweep.data import prepare_data

    folder = tmp_path_factory.mktemp(request.param)
    raw = sweep_of(request.param, folder)
    spec = parse_spec(raw)
    return Subject(request.param, folder, raw, spec, family_for(spec), prepare_data(spec.data))


def declared(subject: Subject) -> Any:
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    subject.family.declare(hp)
    return hp


def sampled_values(subject: Subject, sample: int) -> dict[str, Any]:
    """One trial's values from the family's declared space, as a trial hands them out.

    Sample i takes the i-th option of every choice (wrapping round), so `sample_count` samples
    see every option; ranges are drawn at random, seeded by `sample`.
    """
    from fitsweep.results.columns import trial_values

    hp = declared(subject)
    for index, parameter in enumerate(hp.space):
        if hp.is_active(parameter):
            options = _options(parameter)
            hp.values[parameter.name] = (options[sample % len(options)] if options
                                         else parameter.random_sample(sample * 1000 + index))
    return trial_values(hp.values)


def sample_count(subject: Subject) -> int:
    """Enough samples for every option of every choice, and at least `SAMPLES`."""
    return max([SAMPLES, *(len(_options(parameter) or []) for parameter in declared(subject).space)])


def _options(parameter: Any) -> list[Any] | None:
    kind = type(parameter).__name__
    if kind == "Boolean":
        return [False, True]
    if kind == "Choice":
        return list(parameter.values)
    return None


def scored_accuracy(model: Any, splits: Any) -> float:
    """The share of test rows a model classifies right, its rows shaped as the model takes them."""
    rows = splits.x_test.reshape((len(splits.x_test), *model.inputs[0].shape[1:]))
    predicted = np.asarray(model.predict(rows, verbose=0))
    labels = (predicted[:, 0] > 0.5).astype(int) if predicted.shape[1] == 1 else predicted.argmax(axis=1)
    return float(np.mean(labels == splits.y_test))


# --- the sweep file and the space ------------------------------------------------------------------


def test_every_protocol_member_is_there(subject: Subject) -> None:
    members = [name for name in vars(ModelFamily) if not name.startswith("_")]
    members += list(ModelFamily.__annotations__)
    for name in members:
        assert hasattr(subject.family, name), f"{subject.name} lacks {name}"
    assert subject.family.train_fused is None or callable(subject.family.train_fused)


def test_the_section_validates_and_reads_back_from_its_resolved_form_and_yaml(subject: Subject) -> None:
    spec = subject.spec
    assert spec.model.family == subject.name
    assert parse_spec(spec.resolved()) == spec
    assert parse_spec_text(spec.to_yaml()) == spec
    assert type(family_for(parse_spec(spec.resolved()))) is type(subject.family)


def test_the_declared_space_is_the_searched_parameters_and_names_the_columns(subject: Subject) -> None:
    hp = declared(subject)
    searched = subject.family.searched_parameters()
    names = subject.family.hyperparameter_names()
    assert [parameter.name for parameter in hp.space] == list(searched)
    assert "batch_size" in searched  # training reads each member's batch size from its values
    assert len(names) == len(set(names)) and set(searched) <= set(names)
    assert not set(names) & {"trial_id", "execution", "status", *TRIAL_METRIC_COLUMNS}


# --- building and training -------------------------------------------------------------------------


def test_sampled_trials_build_compiled_models_whose_weights_parameter_count_counts(subject: Subject) -> None:
    from fitsweep.training import check_model

    for sample in range(sample_count(subject)):
        values = sampled_values(subject, sample)
        model = subject.family.build(values, subject.splits)
        assert model.compiled, values
        check_model(model, subject.splits)  # its input takes the data's rows, its output their classes
        assert subject.family.parameter_count(values, subject.splits) == model.count_params(), values


def test_one_execution_trains_through_the_one_door_to_finite_records(subject: Subject) -> None:
    from fitsweep.training import Member, train_executions

    values = sampled_values(subject, 1)  # the second option of each choice: a conv net with a block
    member = Member("0", 0, values, seed=11)
    records: list[dict[str, float]] = []

    def keep(_member: Member, _epoch: int, record: dict[str, float], _seconds: float) -> None:
        records.append(record)

    [outcome] = train_executions([member], subject.splits, subject.family, epochs=EPOCHS, on_epoch=keep)
    assert outcome.member == member and outcome.diverged_at is None and outcome.weights is not None
    assert len(records) == EPOCHS
    for record in records:
        assert all(math.isfinite(record[key]) for key in RECORD_KEYS), record
    assert 0 <= outcome.best_epoch < EPOCHS
    assert all(math.isfinite(outcome.summary[score]) for score in TEST_SCORES), outcome.summary
    assert 0.0 <= outcome.summary["test_accuracy"] <= 1.0
    assert outcome.summary["params"] == subject.family.parameter_count(values, subject.splits)
    network = outcome.network()  # the model a trial saves: its best epoch's weights
    assert network.count_params() == outcome.summary["params"]
    assert scored_accuracy(network, subject.splits) == pytest.approx(outcome.summary["test_accuracy"], abs=1e-6)


# --- data it cannot take ---------------------------------------------------------------------------


def test_check_data_takes_the_examples_data(subject: Subject) -> None:
    subject.family.check_data(subject.splits)


def test_check_data_refuses_what_the_models_cannot_take_before_a_run_writes_anything(
        subject: Subject, tmp_path: Path) -> None:
    from fitsweep import run_sweep
    from fitsweep.data import prepare_data

    example = EXAMPLES[subject.name]
    if example.refused_data is None:  # it takes any data: every other family's too
        for other in EXAMPLES.values():
            subject.family.check_data(prepare_data(parse_spec({"name": "s", "data": other.data}).data))
        return
    spec = parse_spec(sweep_of(subject.name, subject.folder, example.refused_data))
    with pytest.raises(FitsweepError) as refused:
        family_for(spec).check_data(prepare_data(spec.data))
    message = str(refused.value)
    assert "\n" not in message
    for name in example.refusal_names(spec):
        assert name in message, message
    with pytest.raises(FitsweepError, match=re.escape(message)):
        run_sweep(spec, results_dir=tmp_path / "results")
    assert not (tmp_path / "results").exists()


# --- a sweep of one trial --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_trial_run(subject: Subject) -> Any:
    from fitsweep import run_sweep

    return run_sweep(subject.spec, results_dir=subject.folder / "results")


def test_a_one_trial_sweep_writes_the_declared_columns(subject: Subject, one_trial_run: Any) -> None:
    trials = one_trial_run.trials
    assert list(trials["status"]) == ["completed"]
    names = subject.family.hyperparameter_names()
    assert {"trial_id", "execution", "status", *names, *TRIAL_METRIC_COLUMNS} <= set(trials.columns)
    row = trials.iloc[0]
    assert all(not _missing(row[name]) for name in names), row[names].to_dict()
    values = {name: row[name] for name in names}
    assert int(row["params"]) == subject.family.parameter_count(values, subject.splits)


def test_the_best_model_loads_back_and_scores_as_the_table_says(subject: Subject, one_trial_run: Any) -> None:
    model = one_trial_run.best_model
    assert model is not None
    row = one_trial_run.trials.iloc[0]
    assert model.count_params() == int(row["params"])
    assert scored_accuracy(model, subject.splits) == pytest.approx(float(row["test_accuracy"]), abs=1e-6)


def test_a_trial_read_back_from_the_table_retrains_as_the_sweep_trained_it(subject: Subject,
                                                                           one_trial_run: Any) -> None:
    from fitsweep.figures import load_splits, retrain_execution

    trial_id = str(one_trial_run.trials["trial_id"].iloc[0])
    _model, val_loss = retrain_execution(one_trial_run, load_splits(one_trial_run), trial_id, 0)
    epochs = one_trial_run.epochs.sort_values("epoch")
    assert val_loss == pytest.approx(float(epochs["val_loss"].iloc[-1]), rel=1e-4)


def _missing(value: Any) -> bool:
    try:
        return bool(value is None or np.isnan(value))
    except TypeError:  # a string
        return False
