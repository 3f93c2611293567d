"""`fitsweep import`: searches written by plain KerasTuner code, imported, analysed and reported.

Each project here is written by KerasTuner itself (RandomSearch and Hyperband with a TensorBoard
callback, GridSearch and BayesianOptimization without one), on 120 rows of a two-feature task,
2-3 epochs. The grid search alone is cheap; the tests of the others are marked slow. What the
import must get right is checked against what KerasTuner recorded independently of the logs:
its trial.json scores and hyperparameters.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fitsweep import load
from fitsweep.results.columns import table_hyperparameters
from helpers import invoke

keras = pytest.importorskip("keras")
kt = pytest.importorskip("keras_tuner")


class Scale(keras.layers.Layer):
    """A layer fitsweep does not know: one trainable factor on every input."""

    def build(self, input_shape: Any) -> None:
        self.factor = self.add_weight(shape=(), initializer="ones", name="factor")

    def call(self, inputs: Any) -> Any:
        return inputs * self.factor


def build(hp: Any) -> Any:
    model = keras.Sequential([
        keras.Input((2,)),
        Scale(),
        keras.layers.Dense(hp.Int("units", 4, 12, step=4), activation="relu"),
        keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-2, 1e-3])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_grid(hp: Any) -> Any:
    if hp.Choice("units", [6, 2]) == 2:
        raise ValueError("two units are too few")  # a trial KerasTuner records as failed
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(hp.get("units"), activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2)).astype("float32")
    keras.utils.set_random_seed(0)
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")


@pytest.fixture(scope="module")
def searches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """KerasTuner's `directory`: one project folder per search below."""
    return tmp_path_factory.mktemp("kerastuner")


@pytest.fixture(scope="module")
def projects(searches: Path) -> dict[str, Path]:
    """Random search and Hyperband with TensorBoard logs, Bayesian optimisation without, as KerasTuner writes them."""
    x, y = _data()
    common = {"directory": str(searches / "searches"), "overwrite": True}
    random = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, executions_per_trial=2, seed=1,
                             project_name="random", **common)
    random.search(x, y, epochs=3, validation_split=0.25, verbose=0,
                  callbacks=[keras.callbacks.TensorBoard(str(searches / "logs" / "random"))])
    hyperband = kt.Hyperband(build, objective="val_loss", max_epochs=3, factor=3, seed=1, project_name="hyperband",
                             **common)
    hyperband.search(x, y, validation_split=0.25, verbose=0,
                     callbacks=[keras.callbacks.TensorBoard(str(searches / "logs" / "hyperband"))])
    bayesian = kt.BayesianOptimization(build, objective="val_accuracy", max_trials=2, num_initial_points=1,
                                       seed=1, project_name="bayesian", **common)
    bayesian.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    return {"random": searches / "searches" / "random", "hyperband": searches / "searches" / "hyperband",
            "bayesian": searches / "searches" / "bayesian", "random_logs": searches / "logs" / "random",
            "hyperband_logs": searches / "logs" / "hyperband"}


@pytest.fixture(scope="module")
def grid_project(searches: Path) -> Path:
    """A grid search without a TensorBoard callback, one of its two trials failing: the cheap project."""
    x, y = _data()
    grid = kt.GridSearch(build_grid, objective="val_loss", directory=str(searches / "grid_searches"),
                         project_name="grid", overwrite=True)
    grid.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    return searches / "grid_searches" / "grid"


def trial_records(project: Path) -> dict[str, dict[str, Any]]:
    """Each trial.json as KerasTuner wrote it, by trial id."""
    records = (json.loads(path.read_text()) for path in project.glob("trial_*/trial.json"))
    return {record["trial_id"]: record for record in records}


def tree_digest(*folders: Path) -> str:
    """A hash of every file's path and bytes under the folders."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            digest.update(str(path.relative_to(folder)).encode())
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_random_search_with_tensorboard_gives_each_execution_its_curve(projects: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    source, logs = projects["random"], projects["random_logs"]
    before = tree_digest(source, logs)
    result = invoke("import", str(source), "--tensorboard", str(logs), "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert tree_digest(source, logs) == before  # the project and its logs are only read

    run = load(tmp_path / "random")
    records = trial_records(source)
    assert sorted(run.trials["trial_id"].unique()) == sorted(records)
    assert len(run.trials) == 2 * 2 and set(run.trials["execution"]) == {0, 1}
    epochs = run.epochs.groupby(["trial_id", "execution"])["epoch"].apply(list)
    assert all(numbers == [1, 2, 3] for numbers in epochs)
    for trial_id, record in records.items():
        rows = run.trials[run.trials["trial_id"] == trial_id]
        for name, value in record["hyperparameters"]["values"].items():
            assert (rows[name] == value).all()
        curves = run.epochs[run.epochs["trial_id"] == trial_id]
        # KerasTuner scores a trial by the mean of its executions' best val_accuracy, which the logs must give.
        best_per_execution = curves.groupby("execution")["val_accuracy"].max()
        assert best_per_execution.mean() == pytest.approx(record["score"], abs=1e-6)
        at_best = curves.merge(rows[["execution", "best_epoch"]], left_on=["execution", "epoch"],
                               right_on=["execution", "best_epoch"])
        assert at_best["val_accuracy"].tolist() == pytest.approx(best_per_execution.tolist())
    assert run.trials["test_accuracy"].isna().all() and "running_loss" not in run.epochs
    assert run.spec.tuner.objective == "val_accuracy" and run.spec.tuner.executions_per_trial == 2
    imported = run.info["imported"]
    assert imported["objective"] == "val_accuracy" and imported["algorithm"] == "random or grid"
    assert imported["project"] == str(source.resolve()) and imported["trials_with_curves"] == 2
    report = (tmp_path / "random" / "report.md").read_text()
    assert "no test split" in report and "units: Int from 4 to 12, step 4" in report


@pytest.mark.slow
def test_imported_run_is_diagnosed_with_running_averages_said(projects: dict[str, Path], tmp_path: Path) -> None:
    invoke("import", str(projects["random"]), "--tensorboard", str(projects["random_logs"]),
           "--results-dir", str(tmp_path), "--name", "kt")
    diagnosed = invoke("diagnose", str(tmp_path / "kt"), "--csv", str(tmp_path / "verdicts.csv"))
    assert diagnosed.exit_code == 0, diagnosed.output
    verdicts = pd.read_csv(tmp_path / "verdicts.csv")
    assert len(verdicts) == 4 and verdicts["fit"].isin(["good", "overfit", "underfit"]).all()
    assert verdicts["fit_reason"].str.contains("running averages").all()
    shown = invoke("show", str(tmp_path / "kt"))
    assert shown.exit_code == 0 and "objective val_accuracy" in shown.output and "units" in shown.output
    compared = invoke("compare", str(tmp_path / "kt"))
    assert compared.exit_code == 2 and "no test accuracy" in compared.output


@pytest.mark.slow
def test_hyperband_with_tensorboard_continues_trials_at_their_initial_epoch(projects: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    result = invoke("import", str(projects["hyperband"]), "--tensorboard", str(projects["hyperband_logs"]),
                    "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    run = load(tmp_path / "hyperband")
    records = trial_records(projects["hyperband"])
    assert run.info["imported"]["algorithm"] == "hyperband" and run.spec.tuner.algorithm == "hyperband"
    continuing = run.trials[run.trials["continues_trial"].notna()]
    assert len(continuing)  # three epochs at factor 3 promote at least one trial
    for row in continuing.itertuples():
        values = records[row.trial_id]["hyperparameters"]["values"]
        assert row.continues_trial == values["tuner/trial_id"] and row.hyperband_epochs == values["tuner/epochs"]
        epochs = run.epochs.loc[run.epochs["trial_id"] == row.trial_id, "epoch"]
        assert epochs.min() == values["tuner/initial_epoch"] + 1 and epochs.max() == values["tuner/epochs"]
    for trial_id, record in records.items():
        curve = run.epochs[run.epochs["trial_id"] == trial_id]
        assert curve["val_loss"].min() == pytest.approx(record["score"], rel=1e-6)
    # Hyperband's bookkeeping follows the metrics; the model's hyperparameters are the table's own.
    assert table_hyperparameters(run.trials.columns) == ["dropout", "learning_rate", "units"]


@pytest.mark.slow
def test_hyperband_without_logs_keeps_each_trials_best_epoch(projects: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("import", str(projects["hyperband"]), "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    run = load(tmp_path / "hyperband")
    records = trial_records(projects["hyperband"])
    assert len(run.trials) == len(records) and (run.trials["execution"] == 0).all()
    for row in run.epochs.itertuples():
        record = records[row.trial_id]
        assert row.epoch == record["best_step"] + 1
        assert row.val_loss == pytest.approx(record["metrics"]["metrics"]["val_loss"]["observations"][0]["value"][0])
    assert any("no per-epoch curves" in line for line in run.info["imported"]["not_recorded"])
    report = (tmp_path / "hyperband" / "report.md").read_text()
    assert "recorded no per-epoch curves" in report and "figures/learning_curves.png" not in report


def test_grid_search_without_a_tensorboard_callback(grid_project: Path, tmp_path: Path) -> None:
    result = invoke("import", str(grid_project), "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    run = load(tmp_path / "grid")
    by_units = run.trials.set_index("units")
    assert sorted(by_units.index) == [2, 6] and by_units.loc[6, "status"] == "completed"
    assert by_units.loc[6, "val_loss"] == pytest.approx(by_units.loc[6, "score"])
    assert by_units.loc[2, "status"] == "failed" and "two units are too few" in by_units.loc[2, "error"]
    assert run.epochs["trial_id"].tolist() == [by_units.loc[6, "trial_id"]]  # a failed trial has no epoch


@pytest.mark.slow
def test_bayesian_optimisation_is_named_and_ranked_by_its_objective(projects: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    result = invoke("import", str(projects["bayesian"]), "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    run = load(tmp_path / "bayesian")
    assert run.info["imported"]["algorithm"] == "bayesian" and run.spec.tuner.algorithm == "bayesian"
    assert run.info["imported"]["settings"]["num_initial_points"] == 1
    assert run.spec.tuner.objective == "val_accuracy" and run.info["imported"]["objective_direction"] == "max"
    assert run.trials["val_accuracy"].tolist() == pytest.approx(run.trials["score"].tolist())


def test_an_imported_run_cannot_be_resumed_retrained_or_followed_by_a_suggested_sweep(grid_project: Path,
                                                                                     tmp_path: Path) -> None:
    invoke("import", str(grid_project), "--results-dir", str(tmp_path))
    before = sorted(path.name for path in (tmp_path / "grid").iterdir())
    for command in ("resume", "suggest", "learning-curve"):
        refused = invoke(command, str(tmp_path / "grid"))
        assert refused.exit_code == 2 and "imported from KerasTuner" in refused.output, command
    assert sorted(path.name for path in (tmp_path / "grid").iterdir()) == before


def _copy(project: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy" / project.name
    shutil.copytree(project, copy)
    return copy


def _edit_trials(project: Path, change: Any) -> None:
    """Rewrite every trial.json after `change(record)`, as a hand or another program might."""
    for path in project.glob("trial_*/trial.json"):
        record = json.loads(path.read_text())
        change(record)
        path.write_text(json.dumps(record))


def _first_observation(record: dict[str, Any]) -> dict[str, Any]:
    """A trial's first metric observation ({} for a failed trial, which has none)."""
    metrics = record["metrics"]["metrics"].values()
    return next((metric["observations"][0] for metric in metrics if metric["observations"]), {})


@pytest.mark.parametrize("damage, named, said", [
    (lambda p: _edit_trials(p, lambda r: r.update(score="high")), "trial.json", 'score is "high"'),
    (lambda p: _edit_trials(p, lambda r: _first_observation(r).update(value=["low"])), "trial.json",
     '.observations[0].value is "low", where KerasTuner writes a number'),
    (lambda p: _edit_trials(p, lambda r: _first_observation(r).update(step="one")), "trial.json",
     '.observations[0].step is "one"'),
    (lambda p: _edit_trials(p, lambda r: r.update(best_step=[1])), "trial.json", "best_step is [1]"),
    (lambda p: _edit_trials(p, lambda r: _first_observation(r).update(value=[])), "trial.json",
     ".observations[0].value is []"),
    (lambda p: (p / "oracle.json").write_text(json.dumps({**json.loads((p / "oracle.json").read_text()),
                                                          "hyperparameters": {"space": [{"config": "x"}]}})),
     "oracle.json", "config that is not a mapping"),
    (lambda p: (p / "oracle.json").write_text(json.dumps({**json.loads((p / "oracle.json").read_text()),
                                                          "start_order": "0"})), "oracle.json", "start_order"),
    (lambda p: (p / "oracle.json").unlink(), "oracle.json", "not a KerasTuner project"),
    (lambda p: next(p.glob("trial_*/trial.json")).write_text('{"trial_id": "0", "hyper'), "trial.json",
     "truncated or corrupt"),
    (lambda p: (p / "oracle.json").write_text(json.dumps({"hyperparameters": {}, "seed": 1})), "oracle.json",
     "KerasTuner 1.4"),
    (lambda p: next(p.glob("trial_*/trial.json")).write_text('{"trial_id": "0", "metrics": {}}'), "trial.json",
     "KerasTuner 1.4"),
    (lambda p: [shutil.rmtree(trial) for trial in p.glob("trial_*")], "trial.json", "nothing to import"),
])
def test_a_damaged_project_is_refused_naming_the_file(grid_project: Path, tmp_path: Path, damage: Any,
                                                       named: str, said: str) -> None:
    project = _copy(grid_project, tmp_path)
    damage(project)
    result = invoke("import", str(project), "--results-dir", str(tmp_path / "results"))
    assert result.exit_code == 2 and said in result.output and named in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "results").exists()


def test_kerastuners_directory_is_refused_with_the_projects_inside(grid_project: Path, tmp_path: Path) -> None:
    result = invoke("import", str(grid_project.parent), "--results-dir", str(tmp_path))
    assert result.exit_code == 2 and "projects inside it" in result.output and str(grid_project) in result.output
    assert not any(tmp_path.iterdir())


def _write_logs(log_dir: Path, trial_ids: list[str]) -> None:
    """Each trial's two epochs as Keras' TensorBoard callback logs them under KerasTuner: train/ and validation/."""
    import tensorflow as tf

    for trial_id in trial_ids:
        for run in ("train", "validation"):
            with tf.summary.create_file_writer(str(log_dir / trial_id / "execution0" / run)).as_default():
                for epoch in range(2):
                    tf.summary.scalar("epoch_loss", 0.7 - 0.1 * epoch, step=epoch)
                    tf.summary.scalar("epoch_accuracy", 0.5 + 0.1 * epoch, step=epoch)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size - 7])


DAMAGES = {
    "cut short": _truncate,
    "emptied": lambda path: path.write_bytes(b""),
    "overwritten": lambda path: path.write_bytes(bytes(range(256)) * 4),
    "replaced by a folder": lambda path: (path.unlink(), path.mkdir()),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_event_file_is_named_and_skipped_only_when_asked(grid_project: Path, tmp_path: Path,
                                                                   damage: Any) -> None:
    project, logs = _copy(grid_project, tmp_path), tmp_path / "logs"
    trial_ids = sorted(trial_records(project))
    _write_logs(logs, trial_ids)
    damaged = next((logs / trial_ids[0] / "execution0" / "train").glob("events.out.tfevents.*"))
    damage(damaged)
    before = tree_digest(project, logs)
    refused = invoke("import", str(project), "--tensorboard", str(logs), "--results-dir", str(tmp_path / "results"))
    lines = refused.output.strip().splitlines()
    assert refused.exit_code == 2 and len(lines) == 1 and "Traceback" not in refused.output, refused.output
    assert str(damaged) in lines[0] and "--skip-damaged-logs" in lines[0]
    assert not (tmp_path / "results").exists() and tree_digest(project, logs) == before

    imported = invoke("import", str(project), "--tensorboard", str(logs), "--results-dir", str(tmp_path / "results"),
                      "--skip-damaged-logs")
    assert imported.exit_code == 0, imported.output
    assert f"fitsweep: warning: skipped {damaged}: " in imported.output
    run = load(tmp_path / "results" / "grid")
    assert run.info["imported"]["skipped_event_files"][0].startswith(f"{damaged}: ")
    curve = run.epochs[run.epochs["trial_id"] == trial_ids[0]]
    assert list(curve["epoch"]) == [1, 2] and curve["val_loss"].notna().all()  # its validation file was read
    assert "loss" not in curve or curve["loss"].isna().all()
    assert tree_digest(project, logs) == before


@pytest.mark.parametrize("arguments, said", [
    (["--tensorboard", "{project}/oracle.json"], "is a file, not a folder"),
    (["--tensorboard", "{project}"], "holds no logs of this project's trials"),
    (["--tensorboard", "{project}/missing"], "no such folder"),
    (["--name", "bad name"], "--name"),
    (["--results-dir", "{project}"], "overlaps the KerasTuner project"),
])
def test_bad_arguments_are_refused_and_nothing_is_written(grid_project: Path, tmp_path: Path,
                                                          arguments: list[str], said: str) -> None:
    source = _copy(grid_project, tmp_path)
    before = tree_digest(source)
    filled = [a.format(project=source) for a in arguments]
    results = ["--results-dir", str(tmp_path / "results")] if "--results-dir" not in filled else []
    result = invoke("import", str(source), *results, *filled)
    assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "results").exists() and tree_digest(source) == before


def test_a_sweep_file_cannot_name_the_kerastuner_source(tmp_path: Path) -> None:
    from conftest import tiny_sweep, write_sweep

    raw = {**tiny_sweep(), "data": {"source": "kerastuner", "project": "searches/random"}}
    sweep = write_sweep(tmp_path, raw)
    result = invoke("validate", str(sweep))
    assert result.exit_code == 2 and "fitsweep import" in result.output


def test_the_layout_read_is_the_one_kerastuner_writes(tmp_path: Path) -> None:
    """Contract with keras-tuner 1.4.8: the state keys and log folders `fitsweep.kerastuner` reads."""
    from fitsweep.kerastuner import _project

    trial = kt.engine.trial.Trial(kt.HyperParameters(), trial_id="7")
    assert set(_project._TRIAL_KEYS) <= set(trial.get_state())
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=1)
    assert set(_project._ORACLE_KEYS) <= set(oracle.get_state())
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=1, directory=str(tmp_path), project_name="p")
    assert Path(tuner._get_tensorboard_dir("logs", "7", 1)) == Path("logs") / "7" / "execution1"


def _scored_trial(trial_id: str, score: float, **metrics: float) -> Any:
    trial = kt.engine.trial.Trial(kt.HyperParameters(), trial_id=trial_id, status="COMPLETED")
    for name, value in metrics.items():
        trial.metrics.register(name, direction="max" if "accuracy" in name else "min")
        trial.metrics.update(name, value, step=0)
    trial.score = score
    return trial


def test_the_objective_is_the_metric_every_score_equals() -> None:
    from fitsweep.importing import kerastuner_objective

    # Trial 0's training accuracy ties with its score; only val_accuracy equals both trials' scores.
    trials = [_scored_trial("0", 0.8, accuracy=0.8, val_accuracy=0.8, val_loss=0.4),
              _scored_trial("1", 0.7, accuracy=0.9, val_accuracy=0.7, val_loss=0.5)]
    assert kerastuner_objective(trials) == ("val_accuracy", "max")
    # A multi-objective score (KerasTuner's sum of the minimised) matches no single metric.
    assert kerastuner_objective([_scored_trial("0", 0.9, val_loss=0.4, loss=0.3)]) == (None, "min")


def test_verdict_reasons_say_when_training_metrics_are_running_averages() -> None:
    from fitsweep.analysis import diagnose

    epochs = pd.DataFrame({
        "trial_id": ["0"] * 3 + ["1"] * 3, "execution": 0, "epoch": [1, 2, 3] * 2,
        "loss": [0.9, 0.7, 0.6, 0.8, 0.5, 0.3], "val_loss": [0.9, 0.8, 0.7, 0.8, 0.6, 0.5],
        "accuracy": [0.6, 0.7, 0.75, 0.6, 0.8, 0.9], "val_accuracy": [0.6, 0.65, 0.7, 0.6, 0.75, 0.8],
    })
    running = diagnose(epochs)
    assert running["fit_reason"].str.contains("running averages").all()
    # An empty running_loss column is no measurement either; a filled one is.
    assert diagnose(epochs.assign(running_loss=np.nan))["fit_reason"].str.contains("running averages").all()
    measured = diagnose(epochs.assign(running_loss=epochs["loss"] * 1.1))
    assert not measured["fit_reason"].str.contains("running averages").any()


def test_table_hyperparameters_are_fitsweeps_own_then_the_searchs() -> None:
    columns = ["trial_id", "execution", "status", "units", "dropout", "activation", "epochs_run", "val_loss", "fit"]
    assert table_hyperparameters(columns) == ["activation", "dropout", "units"]
    assert table_hyperparameters(["trial_id", "dropout", "units"]) == ["dropout"]  # no table frame: known names only
