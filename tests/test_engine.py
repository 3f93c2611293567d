"""End-to-end tiny sweeps: every algorithm, the tables' schema, reproducibility and failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_sweep
from fitsweep import RunFailedError, load, parse_spec, run_sweep
from fitsweep.results.tables import EPOCH_COLUMNS, TRIAL_METRIC_COLUMNS

TIMINGS = ["fit_seconds", "started", "ended"]


@pytest.mark.parametrize("algorithm", ["random", "grid", "bayesian", "hyperband"])
def test_each_algorithm_completes_trials(tmp_path: Path, algorithm: str) -> None:
    sweep = tiny_sweep(tuner={"algorithm": algorithm, "max_trials": 3})
    if algorithm == "grid":
        sweep["model"] = {"depth": {"values": [1, 2]}, "width": {"values": [4, 8]}}
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    assert run.info["status"] == "completed"
    assert (run.trials["status"] == "completed").all()
    assert len(run.trials) == 3
    epochs_per_trial = run.epochs.groupby("trial_id").size()
    assert (epochs_per_trial.reindex(run.trials["trial_id"]).to_numpy() == run.trials["epochs_run"].to_numpy()).all()


def test_trials_table_schema(tiny_run) -> None:
    trials = tiny_run.trials
    hyperparameters = ["depth", "width", "activation", "dropout", "l1", "l2", "optimizer", "learning_rate",
                       "batch_size"]
    assert list(trials.columns) == ["trial_id", "execution", "status", *hyperparameters, *TRIAL_METRIC_COLUMNS,
                                    "fit", "fit_reason"]
    assert len(trials) == 3 * 2  # 3 trials x 2 executions
    assert sorted(trials["execution"].unique()) == [0, 1]
    completed = trials[trials["status"] == "completed"]
    metrics = ("loss", "accuracy", "crossentropy")
    for column in [f"{split}_{metric}" for split in ("train", "val", "test") for metric in metrics]:
        assert completed[column].notna().all(), column
        assert np.isfinite(completed[column].astype(float)).all(), column
    assert (completed["params"] > 0).all() and (completed["fit_seconds"] > 0).all()
    assert (completed["started"] < completed["ended"]).all() and str(completed["started"].dt.tz) == "UTC"
    assert (trials["worker"] == "tuner0").all()  # this process trained them all
    assert completed["best_epoch"].between(1, 3).all()
    assert completed["fit"].isin(["overfit", "underfit", "good"]).all()
    assert completed["fit_reason"].str.len().gt(10).all()
    assert completed["weight_l2"].gt(0).all() and completed["near_zero_share"].between(0, 1).all()


def test_epochs_table_schema_and_values(tiny_run) -> None:
    epochs = tiny_run.epochs
    assert list(epochs.columns) == EPOCH_COLUMNS
    assert len(epochs) == 3 * 2 * 3  # trials x executions x epochs
    assert sorted(epochs["epoch"].unique()) == [1, 2, 3]
    assert epochs[["loss", "val_loss", "accuracy", "val_accuracy"]].notna().all().all()
    # The trials table reports each execution's best epoch as found in the epochs table.
    for row in tiny_run.trials.itertuples():
        curve = epochs[(epochs.trial_id == row.trial_id) & (epochs.execution == row.execution)]
        best = curve.loc[curve["val_crossentropy"].idxmin()]  # the default objective: no penalty
        assert row.best_epoch == best["epoch"] and row.val_loss == pytest.approx(best["val_loss"])


def test_executions_differ_and_score_averages_them(tiny_run) -> None:
    trials, epochs = tiny_run.trials, tiny_run.epochs
    first = trials["trial_id"].iloc[0]
    curves = epochs[epochs.trial_id == first].pivot(index="epoch", columns="execution", values="val_crossentropy")
    assert not np.allclose(curves[0], curves[1])  # different seeds per execution
    # KerasTuner scores a trial by the best epoch of the executions' mean curve.
    assert trials.loc[trials.trial_id == first, "score"].iloc[0] == pytest.approx(curves.mean(axis=1).min(), rel=1e-6)


def test_results_folder_layout(tiny_run) -> None:
    root = tiny_run.path
    for name in ["sweep.yaml", "run.json", "trials.parquet", "trials.csv", "epochs.parquet", "best_model.keras"]:
        assert (root / name).is_file(), name
    assert (root / "tuner" / "oracle.json").is_file()
    assert len(list((root / "tuner").glob("trial_*/model.keras"))) == 1  # only the best trial's model is kept
    info = json.loads((root / "run.json").read_text())
    assert info["status"] == "completed" and info["seed"] == 1 and info["versions"]["keras-tuner"]
    assert info["best_trial"] == tiny_run.trials.sort_values("score")["trial_id"].iloc[0]
    pd.testing.assert_frame_equal(load(root).trials, tiny_run.trials)


def test_best_model_predicts_like_its_test_metrics(tiny_run) -> None:
    from fitsweep.data import prepare_data

    model = tiny_run.best_model
    splits = prepare_data(tiny_run.spec.data)
    metrics = model.evaluate(splits.x_test, splits.y_test.reshape(-1, 1).astype("float32"), verbose=0, return_dict=True)
    best = tiny_run.trials[tiny_run.trials.trial_id == tiny_run.info["best_trial"]]
    assert any(metrics["accuracy"] == pytest.approx(a, abs=1e-6) for a in best["test_accuracy"])


def test_same_seed_gives_the_same_tables(tmp_path: Path) -> None:
    spec = parse_spec(tiny_sweep())
    first = run_sweep(spec, results_dir=tmp_path / "a")
    second = run_sweep(spec, results_dir=tmp_path / "b")
    pd.testing.assert_frame_equal(first.trials.drop(columns=TIMINGS), second.trials.drop(columns=TIMINGS))
    pd.testing.assert_frame_equal(first.epochs.drop(columns=["seconds"]), second.epochs.drop(columns=["seconds"]))
    other = run_sweep(parse_spec(tiny_sweep(tuner={"seed": 2})), results_dir=tmp_path / "c")
    assert not first.trials["val_loss"].equals(other.trials["val_loss"])


def test_the_default_seed_searches_the_same_way_in_every_process() -> None:
    import random

    from fitsweep.search.engine import build_oracle

    spec = parse_spec(tiny_sweep(tuner={"seed": 0}))
    random.seed(1)  # what another process's random state would be
    first = build_oracle(spec)
    random.seed(2)
    second = build_oracle(spec)
    assert first.seed == second.seed
    assert build_oracle(parse_spec(tiny_sweep(tuner={"seed": 1}))).seed == 1


def test_crossentropy_is_the_loss_without_penalties(tmp_path: Path) -> None:
    penalised = tiny_sweep(model={"depth": 1, "width": 8, "l2": 0.01}, tuner={"max_trials": 1})
    plain = tiny_sweep(model={"depth": 1, "width": 8, "l2": 0.0}, tuner={"max_trials": 1})
    with_penalty = run_sweep(parse_spec(penalised), results_dir=tmp_path / "l2").epochs
    without = run_sweep(parse_spec(plain), results_dir=tmp_path / "none").epochs
    assert (with_penalty["loss"] > with_penalty["crossentropy"]).all()
    assert np.allclose(without["val_loss"], without["val_crossentropy"], rtol=1e-5)


def test_early_stopping_stops_on_patience(tmp_path: Path) -> None:
    sweep = tiny_sweep(train={"epochs": 40, "early_stopping": 1, "learning_rate": 0.5, "optimizer": "sgd"},
                       tuner={"max_trials": 2})
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    assert (run.trials["epochs_run"] < 40).any()
    assert (run.trials["epochs_run"] <= run.trials["best_epoch"] + 1).all()


def test_a_run_where_every_trial_fails_raises_with_the_first_error(tmp_path: Path, monkeypatch) -> None:
    import fitsweep.search.engine

    def broken(*args, **kwargs):
        raise ImportError("tensorboard is not installed")

    monkeypatch.setattr(fitsweep.search.engine, "train_executions", broken)
    with pytest.raises(RunFailedError, match="ImportError: tensorboard is not installed"):
        run_sweep(parse_spec(tiny_sweep()), results_dir=tmp_path)
    info = json.loads((tmp_path / "tiny" / "run.json").read_text())
    assert info["status"] == "failed"
    trials = pd.read_parquet(tmp_path / "tiny" / "trials.parquet")
    assert (trials["status"] == "failed").all() and trials["error"].str.contains("tensorboard").all()


def test_diverging_trial_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    # An L2 penalty of 1000 at learning rate 0.5 multiplies every weight by -999 a step: certain to overflow.
    sweep = tiny_sweep(model={"depth": 3, "width": 64, "dropout": 0.0, "l2": {"values": [1000.0, 0.0]}},
                       train={"optimizer": "sgd", "learning_rate": 0.5, "epochs": 5},
                       tuner={"algorithm": "grid", "max_trials": 2})
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    by_penalty = run.trials.set_index("l2")["status"]
    assert by_penalty[1000.0] == "diverged" and by_penalty[0.0] == "completed"
    assert "Diverged" in run.trials.set_index("l2").loc[1000.0, "error"]
    records = [json.loads(path.read_text()) for path in (run.path / "tuner").glob("trial_*/trial.json")]
    [failed] = [record for record in records if record["status"] == "FAILED"]
    [observation] = failed["metrics"]["metrics"]["execution_0/diverged_at"]["observations"]
    assert observation["value"] == [0.0]  # the epoch (from 0) its loss overflowed


def _failed_trial(message: str, metrics: dict[str, float]) -> Any:
    import keras_tuner

    trial = keras_tuner.engine.trial.Trial(keras_tuner.HyperParameters(), "0", status="FAILED", message=message)
    for name, value in metrics.items():
        trial.metrics.update(name, value)
    return trial


def test_a_trial_is_diverged_by_the_epoch_an_execution_recorded_or_by_an_older_runs_message() -> None:
    from fitsweep.results.tables import trial_status

    assert trial_status(_failed_trial("loss went to NaN", {"execution_1/diverged_at": 3.0})) == "diverged"
    message = "Diverged: a loss became NaN or infinite at epoch 2 (execution 0)"
    assert trial_status(_failed_trial(message, {"execution_0/diverged": 1.0})) == "diverged"  # recorded before
    assert trial_status(_failed_trial("ValueError: no", {"execution_0/loss": 0.5})) == "failed"


def test_result_files_are_readable_by_others(tiny_run) -> None:
    import stat

    for name in ["trials.parquet", "epochs.parquet", "run.json", "sweep.yaml"]:
        assert (tiny_run.path / name).stat().st_mode & stat.S_IROTH, name


def test_training_metrics_are_measured_in_inference_mode_beside_kerass_running_averages(tiny_run) -> None:
    epochs = tiny_run.epochs
    penalised = epochs["loss"] - epochs["crossentropy"]
    assert (penalised > 0).all()  # every tiny trial has an l2 penalty: loss has it, crossentropy does not
    assert np.allclose(penalised, epochs["val_loss"] - epochs["val_crossentropy"])  # the same weights' penalty
    # Measured after the epoch, not averaged over its batches: the two differ.
    assert not np.allclose(epochs["accuracy"], epochs["running_accuracy"])
    assert (epochs[["crossentropy_sd", "val_crossentropy_sd"]] > 0).all().all()
    rows = tiny_run.trials.iloc[0]
    assert rows.train_measured_rows == rows.train_rows and rows.val_rows + rows.train_rows + rows.test_rows == 200


def test_only_a_trial_that_may_be_the_best_builds_and_saves_its_model(tmp_path: Path, monkeypatch) -> None:
    """A trial worse than the best so far is never kept, so its model is not built; the best one always is."""
    from fitsweep import training

    built: list[str] = []
    network = training.Outcome.network
    monkeypatch.setattr(training.Outcome, "network", lambda self: built.append(self.member.trial_id) or network(self))
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 8, "executions_per_trial": 2}, train={"fused_trials": 1}))
    run = run_sweep(spec, results_dir=tmp_path)
    trials = run.trials[run.trials["status"] == "completed"]
    per_trial = trials.groupby("trial_id").agg(ended=("ended", "max"), score=("score", "first"),
                                               best_execution=("val_loss", "min")).sort_values("ended")
    expected, best = [], np.inf
    for trial_id, row in per_trial.iterrows():
        if row.best_execution <= best:
            expected.append(trial_id)
        best = min(best, row.score)
    assert built == expected and len(built) < len(per_trial)
    assert run.info["best_trial"] in built and (run.path / "best_model.keras").is_file()


def test_oracle_json_is_written_once_per_fused_group_not_once_per_trial(tmp_path: Path, monkeypatch) -> None:
    """KerasTuner rewrites oracle.json, which lists every trial, after each trial it creates or ends."""
    import keras_tuner

    saves: list[int] = []
    save = keras_tuner.Oracle.save
    monkeypatch.setattr(keras_tuner.Oracle, "save", lambda self: saves.append(len(self.trials)) or save(self))
    run = run_sweep(parse_spec(tiny_sweep(tuner={"max_trials": 8}, train={"epochs": 2})), results_dir=tmp_path)
    assert (run.trials["status"] == "completed").sum() == 8  # one fused group of 8 trials
    assert len(saves) <= 4, saves  # its creation, its end, and the search's start and end
    state = json.loads((run.path / "tuner" / "oracle.json").read_text())
    assert len(state["end_order"]) == 8 and not state["ongoing_trials"]


@pytest.mark.parametrize("interrupted", [True, False])
def test_an_error_in_the_wake_of_an_interruption_is_the_interruption_not_a_failed_trial(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupted: bool) -> None:
    from fitsweep.search import engine, interruption
    from helpers import trial_records

    def broken_after_a_signal(*args: object, **kwargs: object) -> None:
        if interrupted:
            interruption.request(KeyboardInterrupt)  # as a Ctrl-C whose exception TensorFlow swallowed
        raise ValueError("a graph left half-built")

    monkeypatch.setattr(engine, "train_executions", broken_after_a_signal)
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 2}))
    try:
        if interrupted:
            with pytest.raises(KeyboardInterrupt):
                run_sweep(spec, results_dir=tmp_path)
        else:
            with pytest.raises(RunFailedError, match="a graph left half-built"):
                run_sweep(spec, results_dir=tmp_path)
    finally:
        interruption.clear()
    [record] = trial_records(tmp_path / "tiny")
    assert record["status"] == ("RUNNING" if interrupted else "FAILED")  # RUNNING: rerun on resume


def test_a_run_shows_itself_in_one_line_not_its_tables(tmp_path: Path) -> None:
    import fitsweep

    run = run_sweep(parse_spec(tiny_sweep(tuner={"max_trials": 2}, train={"epochs": 2})), results_dir=tmp_path)
    shown = repr(load(run.path))
    assert "\n" not in shown and len(shown) < 200, shown
    assert f"'{run.path}': 2 trials, 2 executions, 4 epoch rows, completed, best trial" in shown
    assert fitsweep.__version__ and fitsweep.__version__[0].isdigit()
