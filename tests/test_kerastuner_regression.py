"""`fitsweep import` of KerasTuner regressions: the task read from the metric names, the measures named as they are.

Each project is written by KerasTuner itself: a random search of two trials, 2 epochs each, of a
Dense(1) network on 90 rows of a noisy linear target, compiled as a user would (a Huber loss with
an MSE metric, an MAE loss with an MAE metric, an MSE loss with no metric at all).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fitsweep import load
from fitsweep.analysis import fit_findings
from fitsweep.imported_measures import fitsweep_metric, imported_measures
from fitsweep.verdicts import verdict_measure, verdicts_of
from helpers import invoke

keras = pytest.importorskip("keras")
kt = pytest.importorskip("keras_tuner")

# project -> (loss, metrics, KerasTuner objective)
COMPILED = {
    "huber_mse": ("huber", ["mean_squared_error"], "val_mean_squared_error"),
    "mae": ("mae", ["mae"], "val_mae"),
    "loss_alone": ("mse", [], "val_loss"),
}


def _regression_data() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    return x, (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=90)).astype("float32")


def _builder(loss: str, metrics: list[str]) -> Any:
    def build(hp: Any) -> Any:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss, metrics=metrics)
        return model
    return build


@pytest.fixture(scope="module")
def regressions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """KerasTuner's `directory` with one project per way of compiling, and `logs/<project>` for the first."""
    folder = tmp_path_factory.mktemp("kerastuner_regressions")
    x, y = _regression_data()
    for name, (loss, metrics, objective) in COMPILED.items():
        tuner = kt.RandomSearch(_builder(loss, metrics), objective=kt.Objective(objective, "min"), max_trials=2,
                                seed=1, directory=str(folder / "searches"), project_name=name, overwrite=True)
        logs = [keras.callbacks.TensorBoard(str(folder / "logs" / name))] if name == "huber_mse" else []
        tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=logs)
    return folder


def _imported(regressions: Path, name: str, tmp_path: Path) -> Any:
    logs = ["--tensorboard", str(regressions / "logs" / name)] if (regressions / "logs" / name).is_dir() else []
    result = invoke("import", str(regressions / "searches" / name), *logs, "--results-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    return load(tmp_path / name)


@pytest.mark.slow
def test_an_mse_metric_makes_a_regression_judged_by_its_squared_error(regressions: Path, tmp_path: Path) -> None:
    run = _imported(regressions, "huber_mse", tmp_path)
    assert run.info["data"] == {"task": "regression"} and run.spec.data.task == "regression"
    assert run.info["imported"]["task_from"] == "mean_squared_error" and run.info["imported"]["loss"] == "loss"
    assert {"loss", "val_loss", "mse", "val_mse"} <= set(run.epochs.columns)  # Keras' long name, fitsweep's spelling
    assert "mean_squared_error" not in run.epochs.columns and "accuracy" not in run.epochs.columns
    assert {"train_mse", "val_mse"} <= set(run.trials.columns) and "val_accuracy" not in run.trials.columns
    assert run.spec.tuner.objective == "val_mse"
    assert run.trials["val_mse"].notna().all()
    reasons = verdicts_of(run)["fit_reason"].astype(str)
    assert reasons.str.contains("MSE").all() and not reasons.str.contains("accuracy|nan").any()
    assert verdict_measure(run) == "MSE"
    report = (tmp_path / "huber_mse" / "report.md").read_text(encoding="utf-8")
    assert "**Task**: regression (from the metrics mean_squared_error)" in report
    assert "accuracy n/a" not in report and "val_accuracy" not in report


@pytest.mark.slow
def test_an_mae_loss_is_named_mae_and_never_mse_or_accuracy(regressions: Path, tmp_path: Path) -> None:
    run = _imported(regressions, "mae", tmp_path)
    assert run.spec.data.task == "regression" and run.info["imported"]["loss"] == "MAE"
    assert {"mae", "val_mae"} <= set(run.epochs.columns) and "mse" not in run.epochs.columns
    assert verdict_measure(run) == "MAE"
    diagnosis = verdicts_of(run)
    reasons = diagnosis["fit_reason"].astype(str)
    assert len(reasons) == 2 and not reasons.str.contains("MSE|accuracy|nan").any()
    assert reasons.str.contains("loss").all()  # the loss the networks were judged by, which is the MAE
    report = (tmp_path / "mae" / "report.md").read_text(encoding="utf-8")
    assert "the loss equals the recorded MAE" in report and "accuracy n/a" not in report
    printed = invoke("diagnose", str(tmp_path / "mae"))
    assert printed.exit_code == 0 and "train_mae" in printed.output and "val_mae" in printed.output
    assert "train_error" not in printed.output


@pytest.mark.slow
def test_a_loss_logged_alone_leaves_the_task_unknown_and_the_measure_loss(regressions: Path, tmp_path: Path) -> None:
    run = _imported(regressions, "loss_alone", tmp_path)
    assert run.spec.data.task == "unknown" and "data" not in run.info and run.info["imported"]["task"] is None
    assert verdict_measure(run) == "loss"
    reasons = verdicts_of(run)["fit_reason"].astype(str)
    assert not reasons.str.contains("MSE|accuracy|nan").any() and reasons.str.contains("loss").all()
    for line in fit_findings(verdicts_of(run), run.trials, verdict_measure(run))[1:]:
        assert "MSE" not in line and "accuracy" not in line


# --- the names alone ---------------------------------------------------------------------------------


def test_keras_metric_names_read_in_fitsweeps_spelling() -> None:
    assert [fitsweep_metric(n) for n in ("val_mean_squared_error", "mean_absolute_error", "r2_score",
                                          "val_sparse_categorical_accuracy", "val_loss")] == [
        "val_mse", "mae", "r2", "val_accuracy", "val_loss"]


@pytest.mark.parametrize("names, objective, task", [
    (["loss", "val_loss", "mse", "val_mse"], "val_mse", "regression"),
    (["loss", "val_loss"], "val_mean_absolute_error", "regression"),  # the objective names the measure
    (["loss", "val_loss", "root_mean_squared_error"], "val_loss", "regression"),
    (["loss", "val_loss", "accuracy", "val_accuracy"], "val_accuracy", "classification"),
    (["loss", "binary_crossentropy"], None, "classification"),
    (["loss", "val_loss"], "val_loss", None),
    (["loss", "accuracy", "mae"], None, None),  # both kinds: nothing to go by
])
def test_the_task_is_read_from_the_metric_names(names: list[str], objective: str | None, task: str | None) -> None:
    assert imported_measures(names, objective, pd.DataFrame()).task == task


def test_the_loss_is_the_measure_it_equals_at_every_epoch() -> None:
    epochs = pd.DataFrame({"loss": [2.0, 1.5], "val_loss": [2.2, 1.7], "mae": [2.0, 1.5], "val_mae": [2.2, 1.7],
                           "mse": [4.1, 2.4], "val_mse": [4.9, 3.0]})
    assert imported_measures(epochs.columns, None, epochs).loss == "MAE"
    assert imported_measures(epochs.columns, None, epochs.assign(loss=[2.0, 1.4])).loss == "loss"


def test_a_metric_that_is_the_loss_is_the_objective_rather_than_val_loss() -> None:
    from fitsweep.importing import kerastuner_objective

    trial = kt.engine.trial.Trial(kt.HyperParameters(), trial_id="0", status="COMPLETED")
    for name, value in {"val_loss": 0.4, "val_mse": 0.4, "val_mae": 0.5}.items():
        trial.metrics.register(name, direction="min")
        trial.metrics.update(name, value, step=0)
    trial.score = 0.4
    assert kerastuner_objective([trial]) == ("val_mse", "min")


@pytest.mark.slow
def test_the_report_of_an_import_reads_its_curves_as_keras_logged_them(regressions: Path, tmp_path: Path) -> None:
    _imported(regressions, "huber_mse", tmp_path)
    report = (tmp_path / "huber_mse" / "report.md").read_text(encoding="utf-8")
    assert "Each trial's loss as Keras logged it, with any L1/L2 penalty: validation solid" in report
    assert "train.loss" not in report and "standardize_target" not in report
