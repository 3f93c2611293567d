"""The next sweep (`fitsweep suggest`) on short real runs whose reading is known, and on the seed studies.

Each case trains a small real sweep on two-moons or circles data and checks the change its
situation calls for: the best trial at a range's edge widens it; slow SGD stopped early trains
longer and faster; a linear model that has converged below what the data allow gets capacity,
not epochs; a large network on a few noisy points gets regularization; configurations within
noise get repeats. The suggested file validates and runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, tiny_sweep, write_sweep
from fitsweep import load, load_spec, parse_spec, run_sweep
from fitsweep.analysis import NextSweep, next_sweep
from fitsweep.results import SweepRun
from fitsweep.spec import parse_spec_text
from helpers import invoke

_MOONS = {"source": "moons", "samples": 300, "noise": 0.2, "seed": 0}


def _run(folder: Path, name: str, **sections: Any) -> SweepRun:
    sweep = tiny_sweep(**sections)
    sweep["name"] = name
    return run_sweep(parse_spec(sweep), results_dir=folder)


def _suggest(run: SweepRun, spec: Any = None, **settings: Any) -> NextSweep:
    return next_sweep(spec or run.spec, run.trials, run.epochs, chance_loss=run.info.get("chance_loss"), **settings)


def _changes(suggestion: NextSweep) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for change in suggestion.changes:
        found.setdefault(change.key, []).append(change.rule)
    return found


def _section(suggestion: NextSweep, key: str) -> Any:
    section, name = key.split(".")
    return suggestion.sweep[section].get(name)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("suggest-runs")


@pytest.fixture(scope="module")
def learning_rate_run(runs_dir: Path) -> SweepRun:
    """SGD for 10 epochs at three learning rates: the largest, 0.1, is clearly best."""
    return _run(runs_dir, "rates", data=_MOONS, model={"layers": [16], "dropout": 0.0, "l2": 0.0},
                train={"optimizer": "sgd", "learning_rate": {"values": [0.001, 0.01, 0.1]}, "batch_size": 32,
                       "epochs": 10},
                tuner={"algorithm": "grid", "max_trials": 3})


@pytest.fixture(scope="module")
def overfit_run(runs_dir: Path) -> SweepRun:
    """A 128-128 network on 64 noisy training points: it overfits within a few epochs."""
    return _run(runs_dir, "overfit", data={"source": "moons", "samples": 80, "noise": 0.4, "seed": 0},
                model={"layers": [128, 128], "dropout": 0.0, "l2": 0.0},
                train={"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "epochs": 40},
                tuner={"algorithm": "grid", "max_trials": 1, "executions_per_trial": 2})


def test_the_best_trial_at_the_top_of_a_choice_widens_it(learning_rate_run: SweepRun) -> None:
    best = learning_rate_run.trials.sort_values("val_crossentropy").iloc[0]
    assert best["learning_rate"] == pytest.approx(0.1)
    suggestion = _suggest(learning_rate_run)
    assert "widen" in _changes(suggestion)["train.learning_rate"]
    values = _section(suggestion, "train.learning_rate")["values"]
    assert values[-2:] == [0.1, 1.0]  # 0.01, which no good top configuration has, may be narrowed away
    assert suggestion.sweep["tuner"]["max_trials"] == len(values)  # the grid follows it
    parse_spec(suggestion.sweep)


def test_the_best_trial_at_the_top_of_a_range_extends_it_by_half_its_span(learning_rate_run: SweepRun) -> None:
    raw = learning_rate_run.spec.resolved()
    raw["train"]["learning_rate"] = {"min": 0.001, "max": 0.1, "sampling": "log"}  # the same values, as a range
    suggestion = _suggest(learning_rate_run, spec=parse_spec(raw))
    widened = _section(suggestion, "train.learning_rate")
    assert widened["min"] == pytest.approx(0.001) and widened["max"] == pytest.approx(1.0)  # half of 2 decades up


def test_slow_sgd_stopped_while_improving_trains_longer_and_faster(runs_dir: Path) -> None:
    run = _run(runs_dir, "short", data=_MOONS, model={"layers": [64, 64], "dropout": 0.0, "l2": 0.0},
               train={"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32, "epochs": 3},
               tuner={"algorithm": "grid", "max_trials": 1})
    assert (run.trials["fit"] == "underfit").all()
    suggestion = _suggest(run)
    assert _changes(suggestion)["train.epochs"] == ["train longer"]
    assert suggestion.sweep["train"]["epochs"] == 6
    assert _section(suggestion, "train.learning_rate") == {"values": [0.05, 0.15]}
    assert "model.layers" not in _changes(suggestion)


def test_a_converged_linear_model_gets_capacity_not_epochs(runs_dir: Path) -> None:
    run = _run(runs_dir, "linear", data={"source": "circles", "samples": 300, "noise": 0.1, "seed": 0},
               model={"layers": [], "dropout": 0.0, "l2": 0.0},
               train={"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 30},
               tuner={"algorithm": "grid", "max_trials": 1, "executions_per_trial": 3})
    assert (run.trials["fit"] == "underfit").all()
    suggestion = _suggest(run)
    assert _changes(suggestion).get("model.layers") == ["capacity"]
    assert _section(suggestion, "model.layers") == {"values": [[], [64]]}
    assert "train.epochs" not in _changes(suggestion)


def test_most_top_trials_overfitting_adds_regularization(overfit_run: SweepRun) -> None:
    assert (overfit_run.trials["fit"] == "overfit").all()
    suggestion = _suggest(overfit_run)
    assert _changes(suggestion)["model.regularizers"] == ["regularize"]
    model = suggestion.sweep["model"]
    assert model["regularizers"] == {"values": [{}, {"l2": 1e-4}, {"l2": 1e-3}, {"dropout": 0.2}, {"dropout": 0.5}]}
    assert not {"dropout", "l1", "l2"} & set(model)
    assert parse_spec(suggestion.sweep).tuner.max_trials == 5


def test_one_run_each_within_the_validation_noise_gets_repeats(runs_dir: Path) -> None:
    run = _run(runs_dir, "noise1", data={"source": "moons", "samples": 200, "noise": 0.3, "seed": 0},
               model={"layers": [16], "dropout": {"values": [0.0, 0.05]}, "l2": 0.0},
               train={"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 20},
               tuner={"algorithm": "grid", "max_trials": 2})
    suggestion = _suggest(run)
    assert suggestion.sweep["tuner"]["executions_per_trial"] == 3
    (change,) = [c for c in suggestion.changes if c.key == "tuner.executions_per_trial"]
    assert "noise of their validation samples" in change.evidence
    assert "model.dropout" not in _changes(suggestion)  # within noise of the best: not narrowed away


def test_configurations_within_seed_noise_get_the_repeats_that_would_resolve_them(runs_dir: Path) -> None:
    run = _run(runs_dir, "noise3", data={"source": "moons", "samples": 200, "noise": 0.3, "seed": 0},
               model={"layers": [16], "dropout": {"values": [0.0, 0.1]}, "l2": 0.0},
               train={"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 20},
               tuner={"algorithm": "grid", "max_trials": 2, "executions_per_trial": 3})
    suggested = _suggest(run).sweep["tuner"]["executions_per_trial"]
    assert 3 < suggested <= 10
    capped = _suggest(run, max_repeats=4)
    assert capped.sweep["tuner"]["executions_per_trial"] == 4
    assert "capped at 4" in capped.changes[-1].evidence or any("capped at 4" in c.evidence for c in capped.changes)


# --- the committed seed studies, read by hand against the seeds --------------------------------


def _study(name: str) -> NextSweep:
    return _suggest(load(REPO / "results" / name))


def test_moons_drops_the_underfitting_networks_and_trains_longer() -> None:
    suggestion = _study("moons")
    # Every [8] and 64-64 network underfits; the seed's 25-50-50-25 and 256-256-256 lead, and the
    # best one's validation loss still falls at epoch 200 of SGD at 0.01.
    assert _section(suggestion, "model.layers") == {"values": [[25, 50, 50, 25], [256, 256, 256]]}
    assert suggestion.sweep["train"]["epochs"] == 400
    assert suggestion.sweep["tuner"]["max_trials"] == 16


def test_notmnist_capacity_regularizes_the_overfitting_networks() -> None:
    suggestion = _study("notmnist-capacity")
    options = suggestion.sweep["model"]["regularizers"]["values"]
    assert {"l2": 1e-3} in options and {"dropout": 0.5} in options
    assert suggestion.sweep["tuner"]["objective"] == "val_crossentropy"  # val_loss would rank by the penalty
    parse_spec(suggestion.sweep)


def test_notmnist_regularizers_keeps_strong_l2_and_dropout_and_goes_further() -> None:
    suggestion = _study("notmnist-regularizers")
    options = suggestion.sweep["model"]["regularizers"]["values"]
    assert {"l2": 1e-3} in options and {"dropout": 0.5} in options and {"l2": 1e-2} in options
    assert not any("l1" in option for option in options)  # L1 does badly or like none
    # The best two are within noise: more repeats where a feasible number would resolve them, else a note.
    repeats = suggestion.sweep["tuner"]["executions_per_trial"]
    [change] = [change for change in suggestion.changes if change.key == "tuner.executions_per_trial"] or [None]
    if change is None:
        assert repeats == 3 and any("over 100 repeats" in note for note in suggestion.notes)
    else:
        assert 3 < repeats <= 10 and "within their noise" in change.evidence and "would resolve it" in change.evidence


# --- the command line --------------------------------------------------------------------------


def test_suggest_prints_a_sweep_file_that_validates(tmp_path: Path) -> None:
    result = invoke("suggest", str(REPO / "results" / "moons"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# The next sweep after")
    assert "# train longer:" in result.output and "  epochs: 400" in result.output
    next_file = tmp_path / "next.yaml"
    next_file.write_text(result.output, encoding="utf-8")
    assert load_spec(next_file).name == "moons-next"
    assert invoke("validate", str(next_file)).exit_code == 0


@pytest.mark.slow
def test_the_suggested_sweep_runs(overfit_run: SweepRun, tmp_path: Path) -> None:
    next_file = tmp_path / "next.yaml"
    written = invoke("suggest", str(overfit_run.path), "--output", str(next_file))
    assert written.exit_code == 0, written.output
    result = invoke("run", str(next_file), "--results-dir", str(tmp_path / "results"), "--epochs", "2",
                    "--max-trials", "2", "--quiet")
    assert result.exit_code == 0, result.output
    trials = load(tmp_path / "results" / "overfit-next").trials
    assert set(trials["regularizers"]) <= {"none", "l2=0.0001", "l2=0.001", "dropout=0.2", "dropout=0.5"}


def _copy(run: SweepRun, folder: Path) -> Path:
    copy = folder / run.path.name
    shutil.copytree(run.path, copy)
    return copy


def test_suggest_refuses_an_unfinished_run_and_writes_nothing(overfit_run: SweepRun, tmp_path: Path) -> None:
    copy = _copy(overfit_run, tmp_path)
    info = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**info, "status": "interrupted"}))
    output = tmp_path / "next.yaml"
    result = invoke("suggest", str(copy), "--output", str(output))
    assert result.exit_code == 2 and "interrupted, not completed" in result.output
    assert "fitsweep resume" in result.output and len(result.output.strip().splitlines()) == 1
    assert not output.exists()


def test_suggest_refuses_a_run_without_a_completed_trial(overfit_run: SweepRun, tmp_path: Path) -> None:
    copy = _copy(overfit_run, tmp_path)
    trials = pd.read_parquet(copy / "trials.parquet").assign(status="failed")
    trials.to_parquet(copy / "trials.parquet", index=False)
    result = invoke("suggest", str(copy))
    assert result.exit_code == 2 and "no completed trial" in result.output


def test_suggest_refuses_a_folder_that_is_no_run(tmp_path: Path) -> None:
    result = invoke("suggest", str(tmp_path))
    assert result.exit_code == 2 and "not a fitsweep results folder" in result.output


def test_suggest_refuses_an_output_in_a_missing_folder(tmp_path: Path) -> None:
    output = tmp_path / "missing" / "next.yaml"
    result = invoke("suggest", str(REPO / "results" / "moons"), "--output", str(output))
    assert result.exit_code == 2 and "--output" in result.output and "does not exist" in result.output
    assert not output.parent.exists()


def test_a_relative_data_path_is_made_absolute_so_the_next_file_works_anywhere(tmp_path: Path) -> None:
    import numpy as np
    from sklearn.datasets import make_moons

    data_folder = tmp_path / "study"
    data_folder.mkdir()
    features, labels = make_moons(n_samples=120, noise=0.2, random_state=0)
    pd.DataFrame({"x0": features[:, 0], "x1": features[:, 1], "target": labels.astype(np.int64)}).to_csv(
        data_folder / "moons.csv", index=False)
    sweep = tiny_sweep(model={"layers": [8], "dropout": 0.0, "l2": 0.0}, tuner={"algorithm": "grid", "max_trials": 1})
    sweep["data"] = {"source": "csv", "path": "moons.csv"}  # relative: it starts at the sweep file's folder
    sweep["name"] = "csv"
    assert invoke("run", str(write_sweep(data_folder, sweep)), "--results-dir", str(tmp_path / "results"),
                  "--quiet").exit_code == 0
    next_file = tmp_path / "elsewhere" / "next.yaml"
    next_file.parent.mkdir()
    assert invoke("suggest", str(tmp_path / "results" / "csv"), "--output", str(next_file)).exit_code == 0
    spec = load_spec(next_file)
    assert Path(spec.data.path) == (data_folder / "moons.csv").resolve()


def test_a_string_that_looks_like_a_number_is_written_so_it_reads_back_as_a_string() -> None:
    from fitsweep.spec import parse_spec_text, yaml_entry

    text = "\n".join([yaml_entry("name", "1e5"), "data:", "  " + yaml_entry("source", "moons")])
    assert parse_spec_text(text).name == "1e5"


def test_the_next_sweep_of_the_diabetes_regression_stays_a_regression() -> None:
    result = invoke("suggest", str(REPO / "results" / "diabetes"))
    assert result.exit_code == 0, result.output
    text = result.output
    spec = parse_spec_text(text, "the suggested sweep")
    assert spec.data.task == "regression" and spec.tuner.objective == "val_mse" and spec.train.loss == "mse"
    assert spec.data.stratify is False  # a numeric target's splits are random, as its run records now
    # Its best configurations are within noise of each other (docs/explanation/diabetes-study.md): repeats.
    assert spec.tuner.executions_per_trial > 3 and "# repeats:" in text


def _collapsed_sweep(blew_up: bool) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """Two widths at SGD 0.5 whose networks sit at the chance level from epoch 1 on, repeated twice each.

    With `blew_up`, Keras' running loss of epoch 1 was a million times the loss measured after it:
    the networks overshot and died, as SGD at 0.5 does on raw breast-cancer features.
    """
    from synthetic_curves import sweep

    epochs = sweep({"0": "stuck", "1": "stuck"}, executions=2)
    epochs["running_loss"] = np.where(blew_up & (epochs["epoch"] == 1), 1.0e6, epochs["loss"])
    trials = (epochs.groupby(["trial_id", "execution"], as_index=False)
              .agg(val_crossentropy=("val_loss", "min"), epochs_run=("epoch", "max"))
              .assign(status="completed", best_epoch=1, learning_rate=0.5,
                      layers=lambda t: np.where(t.trial_id == "0", "16", "32"), params=513))
    spec = parse_spec(tiny_sweep(model={"layers": {"values": [[16], [32]]}, "dropout": 0.0, "l2": 0.0},
                                 train={"optimizer": "sgd", "learning_rate": 0.5, "epochs": 30},
                                 tuner={"algorithm": "grid", "max_trials": 2, "executions_per_trial": 2,
                                        "objective": "val_crossentropy"}))
    return spec, trials, epochs


@pytest.mark.parametrize("blew_up", [True, False])
def test_networks_that_blew_up_get_a_smaller_learning_rate_and_frozen_ones_a_larger(blew_up: bool) -> None:
    from synthetic_curves import CHANCE

    spec, trials, epochs = _collapsed_sweep(blew_up)
    suggestion = next_sweep(spec, trials, epochs, chance_loss=CHANCE)
    change = next(c for c in suggestion.changes if c.key == "train.learning_rate")
    values = change.after["values"]
    if blew_up:
        assert values == [0.167, 0.5] and "blew up" in change.evidence, change
    else:
        assert values == [0.5, 1.5] and "never moved" in change.evidence, change


def test_networks_whose_loss_barely_moved_get_a_larger_learning_rate_not_capacity() -> None:
    """SGD at 1e-4: every loss creeps from 0.60 to 0.58 in 30 epochs, where a logistic regression reaches 0.2."""
    from fitsweep.analysis import diagnose
    from synthetic_curves import CHANCE, sweep

    epochs = sweep({"0": "stuck", "1": "stuck"}, executions=2)
    creeping = 0.60 - 0.02 * (epochs["epoch"] - 1) / 29
    epochs["loss"], epochs["val_loss"] = creeping, creeping + 0.01
    epochs["accuracy"], epochs["val_accuracy"] = 0.68, 0.67
    trials = (epochs.groupby(["trial_id", "execution"], as_index=False)
              .agg(val_crossentropy=("val_loss", "min"), epochs_run=("epoch", "max"))
              .assign(status="completed", best_epoch=30, learning_rate=1e-4, params=513,
                      layers=lambda t: np.where(t.trial_id == "0", "16", "32")))
    spec = parse_spec(tiny_sweep(model={"layers": {"values": [[16], [32]]}, "dropout": 0.0, "l2": 0.0},
                                 train={"optimizer": "sgd", "learning_rate": 1e-4, "epochs": 30},
                                 tuner={"algorithm": "grid", "max_trials": 2, "executions_per_trial": 2,
                                        "objective": "val_crossentropy"}))
    diagnosis = diagnose(epochs, trials, chance_loss=CHANCE,
                         linear_reference={"val_crossentropy": 0.2, "val_accuracy": 0.95})
    assert set(diagnosis["fit"]) == {"underfit"} and diagnosis["fit_reason"].str.contains("barely moved").all()
    suggestion = next_sweep(spec, trials, epochs, diagnosis=diagnosis, chance_loss=CHANCE)
    changed = {change.key: change for change in suggestion.changes}
    assert "train.learning_rate" in changed and "barely" in changed["train.learning_rate"].evidence, list(changed)
    assert all(change.rule != "capacity" for change in suggestion.changes), changed


def test_networks_their_penalty_holds_at_chance_get_a_weaker_penalty_not_a_learning_rate_or_capacity() -> None:
    """L2 0.1 on every network, each at the chance level: the reasons name the penalty first, and so does suggest."""
    from synthetic_curves import CHANCE

    _, trials, epochs = _collapsed_sweep(blew_up=False)
    trials = trials.assign(learning_rate=1e-3, l2=0.1)
    spec = parse_spec(tiny_sweep(model={"layers": {"values": [[16], [32]]}, "dropout": 0.0, "l2": 0.1},
                                 train={"optimizer": "adam", "learning_rate": 1e-3, "epochs": 30},
                                 tuner={"algorithm": "grid", "max_trials": 2, "executions_per_trial": 2,
                                        "objective": "val_crossentropy"}))
    suggestion = next_sweep(spec, trials, epochs, chance_loss=CHANCE)
    changed = {change.key: change for change in suggestion.changes}
    assert changed["model.l2"].after["values"] == [0.01, 0.1], changed["model.l2"]
    assert "regularization first" in changed["model.l2"].evidence
    assert "train.learning_rate" not in changed and "model.layers" not in changed, list(changed)


def test_a_penalty_range_is_weakened_by_lowering_its_lower_end_never_by_raising_it() -> None:
    """l2 over 0.01-1 reaches down to 0.001; dropout over 0-0.6 already reaches its weaker values and stays."""
    from synthetic_curves import CHANCE

    _, trials, epochs = _collapsed_sweep(blew_up=False)
    trials = trials.assign(learning_rate=1e-3, l2=0.1, dropout=0.6)
    spec = parse_spec(tiny_sweep(model={"layers": {"values": [[16], [32]]}, "dropout": {"min": 0.0, "max": 0.6},
                                        "l2": {"min": 0.01, "max": 1.0, "sampling": "log"}},
                                 train={"optimizer": "adam", "learning_rate": 1e-3, "epochs": 30},
                                 tuner={"algorithm": "random", "max_trials": 2, "executions_per_trial": 2,
                                        "objective": "val_crossentropy"}))
    changed = {change.key: change for change in next_sweep(spec, trials, epochs, chance_loss=CHANCE).changes}
    after = changed["model.l2"].after
    assert (after["min"], after["max"], after["sampling"]) == (0.001, 1.0, "log"), after
    assert "model.dropout" not in changed, changed["model.dropout"]


def test_the_best_trial_at_the_bottom_of_a_choice_widens_it_downwards() -> None:
    """Learning rates 3 and 10, the smaller clearly better: the next sweep adds 0.9, spaced as the two are."""
    from synthetic_curves import CHANCE, sweep

    epochs = sweep({"0": "good", "1": "underfit"}, executions=2)
    trials = (epochs.groupby(["trial_id", "execution"], as_index=False)
              .agg(val_crossentropy=("val_loss", "min"), epochs_run=("epoch", "max"))
              .assign(status="completed", best_epoch=lambda t: t.epochs_run,
                      learning_rate=lambda t: np.where(t.trial_id == "0", 3.0, 10.0), layers="16", params=513))
    spec = parse_spec(tiny_sweep(model={"layers": [16], "dropout": 0.0, "l2": 0.0},
                                 train={"optimizer": "adam", "learning_rate": {"values": [3.0, 10.0]}, "epochs": 30},
                                 tuner={"algorithm": "grid", "max_trials": 2, "executions_per_trial": 2,
                                        "objective": "val_crossentropy"}))
    change = next(c for c in next_sweep(spec, trials, epochs, chance_loss=CHANCE).changes
                  if c.key == "train.learning_rate" and c.rule == "widen")
    assert change.after["values"] == [0.9, 3.0] and "added 0.9" in change.evidence, change
