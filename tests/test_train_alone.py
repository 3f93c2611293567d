"""Models trained alone (`train_alone`): any compiled Keras classifier, measured as fused members are."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from conftest import tiny_sweep
from fitsweep import parse_spec
from fitsweep.data import prepare_data
from fitsweep.training import Member, ModelError, Outcome, train_alone
from fitsweep.training.heads import Head
from fitsweep.training.measurement import head_scores, members_head_scores, scores


@pytest.fixture(scope="module")
def moons() -> Any:
    return prepare_data(parse_spec(tiny_sweep(data={"samples": 300})).data, ".")


@pytest.fixture(scope="module")
def digits() -> Any:
    return prepare_data(parse_spec({**tiny_sweep(), "data": {"source": "digits"}}).data, ".")


def _net(inputs: tuple[int, ...], outputs: int = 1, *, l2: float = 0.0, logits: bool = False,
         activation: str = "sigmoid") -> keras.Model:
    """A small classifier with a layer fitsweep's own families never use (LayerNormalization)."""
    regularizer = keras.regularizers.L2(l2) if l2 else None
    x = keras.Input(shape=inputs)
    hidden = keras.layers.Flatten()(x) if len(inputs) > 1 else x
    hidden = keras.layers.Dense(32, activation="relu", kernel_regularizer=regularizer)(hidden)
    hidden = keras.layers.LayerNormalization()(hidden)
    hidden = keras.layers.Dropout(0.3)(hidden)
    out = keras.layers.Dense(outputs, activation=None if logits else activation, kernel_regularizer=regularizer)(hidden)
    model = keras.Model(x, out)
    if outputs == 1:
        loss = keras.losses.BinaryCrossentropy(from_logits=logits)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=["accuracy"])
    return model


def _train(splits: Any, build: Any, seed: int = 5, epochs: int = 6, **options: Any
           ) -> tuple[Outcome, list[dict[str, float]]]:
    records: list[dict[str, float]] = []

    def keep(member: Member, epoch: int, record: dict[str, float], seconds: float) -> None:
        assert epoch == len(records) and seconds >= 0
        records.append(record)

    member = options.pop("member", Member("0", 0, {}, seed=seed))
    outcome = train_alone(member, build, splits, epochs=epochs, batch_size=32, on_epoch=keep, **options)
    return outcome, records


def test_a_model_is_measured_in_inference_mode_with_and_without_its_penalty(moons: Any) -> None:
    outcome, records = _train(moons, lambda: _net((2,), l2=1e-2))
    assert len(records) == 6
    for record in records:
        assert record["val_loss"] > record["val_crossentropy"]  # the L2 penalty, found in model.losses
        assert record["loss"] - record["crossentropy"] == pytest.approx(record["val_loss"] - record["val_crossentropy"])
        assert "running_loss" in record and "running_accuracy" in record
    best = int(np.argmin([record["val_crossentropy"] for record in records]))
    assert outcome.best_epoch == best and outcome.diverged_at is None
    # The model comes back with its best epoch's weights: its validation scores are that epoch's.
    model = outcome.network()
    again = scores(np.asarray(model(moons.x_val, training=False)), moons.y_val, 2)
    assert again["crossentropy"] == pytest.approx(records[best]["val_crossentropy"], rel=1e-4)
    summary = outcome.summary
    assert summary["best_epoch"] == best and summary["params"] == model.count_params()
    assert 0.5 < summary["test_accuracy"] <= 1.0 and summary["weight_l2"] > 0
    assert summary["train_rows"] == len(moons.y_train) and summary["val_rows"] == len(moons.y_val)


def test_the_seed_fixes_the_run_and_another_seed_changes_it(moons: Any) -> None:
    _, first = _train(moons, lambda: _net((2,)), seed=3, epochs=3)
    _, again = _train(moons, lambda: _net((2,)), seed=3, epochs=3)
    _, other = _train(moons, lambda: _net((2,)), seed=4, epochs=3)
    assert first == again
    assert first != other


@pytest.mark.parametrize("outputs, logits", [(1, True), (2, False), (2, True)])
def test_logits_and_two_softmax_units_are_read_as_probabilities(moons: Any, outputs: int, logits: bool) -> None:
    outcome, records = _train(moons, lambda: _net((2,), outputs, logits=logits, activation="softmax"), epochs=8)
    assert records[-1]["val_accuracy"] > 0.8
    assert 0 < records[-1]["val_crossentropy"] < 0.6  # from probabilities: logits would give nonsense here
    assert 0.8 < outcome.summary["test_accuracy"] <= 1.0


def test_rows_are_reshaped_to_the_image_the_model_takes(digits: Any) -> None:
    outcome, records = _train(digits, lambda: _net((8, 8, 1), 10, activation="softmax"), epochs=4)
    assert records[-1]["val_accuracy"] > 0.8
    assert outcome.summary["test_accuracy"] > 0.8


@pytest.mark.parametrize("build, named", [
    (lambda: _net((5,)), "shape (5,)"),
    (lambda: _net((2,), 3, activation="softmax"), "3 units"),
])
def test_a_model_that_cannot_take_the_data_is_refused_by_its_shapes(moons: Any, build: Any, named: str) -> None:
    with pytest.raises(ModelError, match=named.replace("(", r"\(").replace(")", r"\)")):
        _train(moons, build, epochs=1)


def test_patience_stops_a_model_that_no_longer_improves(moons: Any) -> None:
    _, records = _train(moons, lambda: _net((2,)), epochs=40, objective="val_accuracy", direction="max", patience=1)
    assert len(records) < 40


def test_a_member_with_its_own_rows_trains_on_them_only(moons: Any) -> None:
    rows = tuple(range(0, len(moons.y_train), 2))
    outcome, _ = _train(moons, lambda: _net((2,)), epochs=2, member=Member("0", 0, {}, seed=1, rows=rows))
    assert outcome.summary["train_rows"] == len(rows)
    assert outcome.summary["train_measured_rows"] <= len(rows)


def test_objects_are_frozen_after_a_collection_only_for_a_caller_that_freezes(moons: Any) -> None:
    import gc

    def collected(thing: Any) -> bool:  # frozen objects are not among the collector's
        return any(tracked is thing for tracked in gc.get_objects())

    survivor = [["a sweep's record"]]
    assert gc.get_freeze_count() == 0
    _train(moons, lambda: _net((2,)), epochs=1)
    assert collected(survivor)  # a library caller's objects stay the collector's
    gc.freeze()  # as SweepTuner.search does: then what survives each model's collection is frozen too
    try:
        later = [["a record made after the caller froze"]]
        assert collected(later)
        _train(moons, lambda: _net((2,)), epochs=1)
        assert not collected(later)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("own_labels", [False, True])
def test_members_scored_at_once_score_exactly_as_each_alone(classes: int, own_labels: bool) -> None:
    head = Head(classes)
    rng = np.random.default_rng(classes)
    logits = rng.normal(scale=5.0, size=(6, 181, head.units))
    logits[2, 0, 0] = np.nan  # a diverged member scores NaN, the others are untouched
    labels = rng.integers(0, classes, (6, 181)) if own_labels else rng.integers(0, classes, 181)
    penalties = rng.random(6)
    together = members_head_scores(head, logits, labels, penalties)
    for member, scored in enumerate(together):
        alone = head_scores(head, logits[member], labels[member] if own_labels else labels, float(penalties[member]),
                            logits=True)
        assert scored.keys() == alone.keys()
        assert all(scored[name] == alone[name] or (np.isnan(scored[name]) and np.isnan(alone[name]))
                   for name in alone), member
    assert np.isnan(together[2]["crossentropy"]) and not np.isnan(together[1]["crossentropy"])
