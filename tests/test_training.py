"""Fused training: members trained in one model keep everything that makes them independent runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import tiny_sweep
from fitsweep import load, parse_spec, run_sweep
from fitsweep.data import prepare_data
from fitsweep.errors import SpecError
from fitsweep.families import family_for
from fitsweep.families.dense import _fused
from fitsweep.training import Member, Outcome, train_executions
from fitsweep.training._models import fresh_session

NET = {"layers": "8-8", "activation": "relu", "dropout": 0.0, "l1": 0.0, "l2": 0.0,
       "optimizer": "adam", "learning_rate": 0.01, "batch_size": 16}
DENSE = family_for(parse_spec(tiny_sweep()))  # the family that fuses its networks


@pytest.fixture(scope="module")
def splits() -> Any:
    spec = parse_spec(tiny_sweep())
    return prepare_data(spec.data, ".")


def _train(splits: Any, members: list[Member], epochs: int = 4, **options: Any) -> tuple[list[Outcome], dict]:
    records: dict[tuple[str, int], list[dict[str, float]]] = {}

    def keep(member: Member, epoch: int, record: dict[str, float], seconds: float) -> None:
        assert seconds >= 0
        records.setdefault((member.trial_id, member.execution), []).append(record)

    return train_executions(members, splits, DENSE, epochs=epochs, on_epoch=keep, **options), records


def test_a_member_trains_the_same_alone_as_beside_other_networks(splits: Any) -> None:
    member = Member("3", 1, {**NET, "dropout": 0.3, "l2": 1e-3}, seed=11)
    others = [Member("3", 0, {**NET, "dropout": 0.3, "l2": 1e-3}, seed=10),
              Member("4", 0, {**NET, "layers": "16", "dropout": 0.5, "l1": 1e-4}, seed=12),
              Member("5", 0, {**NET, "l2": 1e-2}, seed=13)]
    [alone], alone_records = _train(splits, [member])
    fused, fused_records = _train(splits, [others[0], member, *others[1:]])
    beside = fused[1]
    assert beside.member is member and beside.best_epoch == alone.best_epoch
    for mine, theirs in zip(alone_records[("3", 1)], fused_records[("3", 1)], strict=True):
        assert mine.keys() == theirs.keys()
        for name in mine:
            assert theirs[name] == pytest.approx(mine[name], rel=1e-5, abs=1e-6), name
    for mine, theirs in zip(alone.weights or [], beside.weights or [], strict=True):
        np.testing.assert_allclose(theirs, mine, rtol=1e-5, atol=1e-6)
    assert beside.summary["test_accuracy"] == alone.summary["test_accuracy"]


def test_members_differ_by_their_seed_and_their_dropout_masks(splits: Any) -> None:
    dropping = {**NET, "dropout": 0.5}
    _, records = _train(splits, [Member("0", 0, dropping, 1), Member("0", 1, dropping, 1),
                                        Member("0", 2, dropping, 2)], epochs=2)
    same, twin, other = (records[("0", execution)] for execution in range(3))
    assert same == twin  # one seed: one initialisation, one order, one set of masks
    assert same[-1]["running_loss"] != other[-1]["running_loss"]
    # Dropout is on while training: the running loss is not the inference-mode loss.
    assert same[-1]["running_loss"] != pytest.approx(same[-1]["loss"], rel=1e-3)


def test_a_diverging_member_is_marked_and_its_siblings_train_on(splits: Any) -> None:
    diverging = Member("0", 0, {**NET, "optimizer": "sgd", "learning_rate": 0.5, "l2": 1000.0}, seed=1)
    healthy = Member("0", 1, {**NET, "optimizer": "sgd", "learning_rate": 0.5}, seed=2)
    [bad, good], records = _train(splits, [diverging, healthy], epochs=5)
    assert bad.diverged_at is not None and bad.weights is None and bad.summary["diverged_at"] == bad.diverged_at
    assert len(records[("0", 0)]) == bad.diverged_at + 1  # no records after the divergence
    [alone], _ = _train(splits, [healthy], epochs=5)
    assert good.diverged_at is None and len(records[("0", 1)]) == 5
    assert good.summary["test_accuracy"] == alone.summary["test_accuracy"]
    assert all(np.isfinite(array).all() for array in good.weights or [])


def test_each_member_stops_on_its_own_patience_and_keeps_its_best_epoch(splits: Any) -> None:
    members = [Member("0", seed, {**NET, "learning_rate": 0.05}, seed) for seed in range(4)]
    outcomes, records = _train(splits, members, epochs=30, patience=2)
    for outcome in outcomes:
        history = records[("0", outcome.member.execution)]
        val = [record["val_crossentropy"] for record in history]
        assert outcome.best_epoch == int(np.argmin(val))
        assert len(history) == min(30, outcome.best_epoch + 3)  # stopped 2 epochs after its best, or at the end
        network = outcome.network()
        probabilities = network.predict_on_batch(splits.x_test)
        accuracy = float(((probabilities.reshape(-1) > 0.5) == (splits.y_test == 1)).mean())
        assert accuracy == pytest.approx(outcome.summary["test_accuracy"])


def test_members_that_stop_leave_the_model_and_the_others_train_on_as_before(splits: Any) -> None:
    # Adam (its slots must follow each member into the smaller model), dropout on half of them (their
    # masks must continue), one architecture: the members stop at different epochs.
    members = [Member("0", seed, {**NET, "learning_rate": 0.05, "dropout": 0.2 if seed % 2 else 0.0}, seed)
               for seed in range(4)]
    sizes: list[int] = []

    def trained(shedding: _fused.Shedding) -> tuple[list[Outcome], dict]:
        records: dict[int, list[dict[str, float]]] = {}
        fresh_session(0)
        outcomes = _fused.train(members, splits, DENSE.head(splits), epochs=30, patience=2, shedding=shedding,
                                on_epoch=lambda member, epoch, record, seconds:
                                records.setdefault(member.execution, []).append(record))
        return outcomes, records

    shed, shed_records = trained(_fused.Shedding(interval=1, always=True, on_rebuild=sizes.append))
    whole, whole_records = trained(_fused.Shedding(interval=10**9))
    assert sizes and sizes == sorted(sizes, reverse=True) and sizes[-1] < len(members)  # the model shrank
    for alone, beside in zip(whole, shed, strict=True):
        history = shed_records[beside.member.execution]
        assert len(history) == min(30, beside.best_epoch + 3)  # its records end where it stopped
        assert beside.best_epoch == alone.best_epoch
        for mine, theirs in zip(whole_records[alone.member.execution], history, strict=True):
            for name in mine:
                assert theirs[name] == pytest.approx(mine[name], rel=1e-5, abs=1e-6), name
        assert beside.summary["test_accuracy"] == alone.summary["test_accuracy"]
        for mine, theirs in zip(alone.weights or [], beside.weights or [], strict=True):
            np.testing.assert_allclose(theirs, mine, rtol=1e-5, atol=1e-6)


def test_members_that_train_differently_cannot_be_fused(splits: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        train_executions([Member("0", 0, NET, 1), Member("1", 0, {**NET, "batch_size": 32}, 2)], splits, DENSE,
                         epochs=1)


@pytest.mark.slow
def test_fused_and_unfused_runs_give_the_same_tables(tmp_path: Path) -> None:
    sweep = tiny_sweep(tuner={"max_trials": 4, "executions_per_trial": 2}, train={"epochs": 3, "batch_size": 32})
    fused = run_sweep(parse_spec(sweep), results_dir=tmp_path / "fused")
    alone = run_sweep(parse_spec({**sweep, "train": {**sweep["train"], "fused": False}}),
                      results_dir=tmp_path / "alone")
    columns = ["trial_id", "execution", "status", "best_epoch", "test_accuracy", "test_crossentropy", "fit"]
    left, right = (run.trials.sort_values(["trial_id", "execution"])[columns].reset_index(drop=True)
                   for run in (fused, alone))
    assert len(left) == 8
    for column in columns:
        if left[column].dtype.kind == "f":
            np.testing.assert_allclose(left[column], right[column], rtol=1e-4)
        else:
            assert left[column].tolist() == right[column].tolist(), column
    assert load(tmp_path / "fused" / "tiny").epochs.shape == alone.epochs.shape


@pytest.mark.parametrize("train_section, tuner, message", [
    ({"fused_trials": 0}, {}, "train.fused_trials"),
    ({"fused_trials": 4}, {"algorithm": "bayesian"}, "train.fused_trials: bayesian"),
    ({"fused": "sometimes"}, {}, "train.fused"),
])
def test_a_fusing_setting_that_cannot_apply_is_refused(train_section: dict, tuner: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(tiny_sweep(train=train_section, tuner=tuner))
