"""Regression: a numeric target is recognised, trained with a linear output and Keras' losses, and measured.

The data are scikit-learn's diabetes set (442 patients, 10 features, a disease-progression score
from 25 to 346) written as a CSV, as a user would bring it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.datasets import load_diabetes, make_moons
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from conftest import invoke_cli, write_sweep
from fitsweep import parse_spec
from fitsweep.data import Splits, prepare_data
from fitsweep.data.task import choose_task
from fitsweep.errors import DataError, SpecError
from fitsweep.families import family_for
from fitsweep.families.dense.network import layer_seed
from fitsweep.training import Member, train_executions
from fitsweep.training.heads import Head
from fitsweep.training.measurement import regression_scores

EPOCHS = 4
RTOL = 2e-3


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("diabetes")
    load_diabetes(as_frame=True).frame.to_csv(folder / "diabetes.csv", index=False)
    return folder / "diabetes.csv"


def _sweep(csv: Path, **sections: Any) -> dict[str, Any]:
    sweep: dict[str, Any] = {"name": "diabetes", "data": {"source": "csv", "path": str(csv)},
                             "train": {"epochs": 2}, "tuner": {"max_trials": 1}}
    for section, values in sections.items():
        sweep[section] = {**sweep.get(section, {}), **values}
    return sweep


# --- the task ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("labels", "kind"), [
    ([0, 1, 2, 1, 0], "classification"),
    (list(range(20)), "classification"),
    (list(range(21)), "regression"),
    ([0.5, 1.0, 2.0], "regression"),
])
def test_auto_reads_few_whole_numbers_as_classes_and_anything_else_as_a_target(labels: list[float], kind: str) -> None:
    assert choose_task("auto", [np.array(labels)]).kind == kind


def test_an_explicit_task_overrides_what_auto_would_read() -> None:
    task = choose_task("regression", [np.array([0, 1, 2])])
    assert task.kind == "regression" and not task.automatic


def test_the_diabetes_target_is_a_regression_said_with_its_reason(diabetes_csv: Path) -> None:
    splits = prepare_data(parse_spec(_sweep(diabetes_csv)).data)
    assert splits.task.regression and splits.n_classes == 0
    assert splits.y_train.dtype == np.float64 and len(splits.y_train) + len(splits.y_val) + len(splits.y_test) == 442
    assert "task regression (auto: 214 distinct whole-number values" in splits.summary
    assert splits.target_variance == pytest.approx(np.var(splits.y_train))


def test_fractional_labels_for_a_classification_are_refused_with_the_way_out(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "target": [0.0, 1.0, 0.5, 1.0]}).to_csv(tmp_path / "d.csv", index=False)
    spec = parse_spec(_sweep(tmp_path / "d.csv", data={"task": "classification"}))
    with pytest.raises(DataError, match=r"got 0.5 on line 4; for a numeric target to predict, set data.task: regr"):
        prepare_data(spec.data)


def test_a_text_target_is_classes_and_refused_as_a_regression(tmp_path: Path) -> None:
    names = [f"kind{index:02d}" for index in range(30)]  # more than 20 classes: text still names classes
    pd.DataFrame({"a": np.arange(300.0), "target": names * 10}).to_csv(tmp_path / "d.csv", index=False)
    splits = prepare_data(parse_spec(_sweep(tmp_path / "d.csv")).data)
    assert splits.task.kind == "classification" and splits.n_classes == 30
    with pytest.raises(DataError, match=r"data\.task is regression, but the target column holds text"):
        prepare_data(parse_spec(_sweep(tmp_path / "d.csv", data={"task": "regression"})).data)


def test_a_constant_target_is_refused(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "target": [2.5, 2.5, 2.5]}).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match="a regression needs a target that varies"):
        prepare_data(parse_spec(_sweep(tmp_path / "d.csv", data={"task": "regression"})).data)


def test_standardize_target_fits_the_training_split_and_keeps_the_target_in_its_units(diabetes_csv: Path) -> None:
    splits = prepare_data(parse_spec(_sweep(diabetes_csv, data={"standardize_target": True})).data)
    assert splits.target_center == pytest.approx(splits.y_train.mean())
    assert splits.target_scale == pytest.approx(splits.y_train.std())
    assert splits.y_train.max() > 100  # the splits keep the target's own units
    assert "standardized for training" in splits.summary


# --- the sweep file ------------------------------------------------------------------------------


def test_a_regression_defaults_to_mse_and_ranks_by_val_mse(diabetes_csv: Path) -> None:
    spec = parse_spec(_sweep(diabetes_csv)).for_task("regression")
    assert (spec.data.task, spec.train.loss, spec.tuner.objective, spec.tuner.direction) == (
        "regression", "mse", "val_mse", "min")
    assert parse_spec(_sweep(diabetes_csv, tuner={"objective": "val_r2"})).tuner.direction == "max"
    assert parse_spec(spec.resolved()) == spec  # the recorded sweep reads back as what ran


def test_a_regression_records_its_random_splits_as_unstratified(diabetes_csv: Path) -> None:
    for data in ({}, {"stratify": True}):  # classes to stratify by there are none, whatever the file says
        spec = parse_spec(_sweep(diabetes_csv, data=data)).for_task("regression")
        assert spec.data.stratify is False and parse_spec(spec.resolved()).data.stratify is False
    assert parse_spec(_sweep(diabetes_csv)).for_task("classification").data.stratify is True


@pytest.mark.parametrize(("sections", "key", "fragment"), [
    ({"data": {"source": "moons", "task": "classification"}, "train": {"loss": "mse"}}, "train.loss",
     "mse is a regression loss, and the task is classification; allowed: auto, crossentropy"),
    ({"data": {"task": "regression"}, "train": {"loss": "crossentropy"}}, "train.loss",
     "allowed: auto, mse, mae, huber"),
    ({"data": {"task": "regression"}, "train": {"loss": "hinge"}}, "train.loss",
     "Input should be 'auto', 'crossentropy', 'mse', 'mae' or 'huber', got 'hinge'"),
    ({"data": {"task": "regression"}, "tuner": {"objective": "val_accuracy"}}, "tuner.objective",
     "val_accuracy measures classification, and the task is regression; allowed: val_loss, val_mse, val_mae, val_r2"),
    ({"data": {"source": "moons"}, "tuner": {"objective": "val_r2"}}, None, None),
    ({"data": {"task": "classification", "standardize_target": True}}, "data", "applies to a regression target"),
])
def test_keys_of_the_other_task_are_refused_in_one_line(diabetes_csv: Path, sections: dict[str, Any],
                                                        key: str | None, fragment: str | None) -> None:
    sweep = _sweep(diabetes_csv, **sections)
    if sweep["data"]["source"] == "moons":
        sweep["data"] = {key: value for key, value in sweep["data"].items() if key != "path"}
    if fragment is None:  # an objective of the other task is refused once the data say the task
        with pytest.raises(SpecError, match="val_r2 measures regression, and the task is classification"):
            parse_spec(sweep).for_task("classification")
        return
    with pytest.raises(SpecError) as caught:
        parse_spec(sweep)
    assert caught.value.key.startswith(str(key)) and fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_validate_says_the_task_and_why(diabetes_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, output = invoke_cli(["validate", str(write_sweep(tmp_path, _sweep(diabetes_csv)))], monkeypatch, capsys)
    assert code == 0, output
    assert "task: regression" in output and "objective: val_mse" in output and "loss: mse" in output
    assert "stratify: false" in output and "stratify: true" not in output  # its splits are drawn at random
    assert "task regression (auto: 214 distinct" in output and "valid" in output


def test_run_refuses_a_classification_objective_for_the_diabetes_target(
        diabetes_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(tmp_path, _sweep(diabetes_csv, tuner={"objective": "val_accuracy"}))
    code, output = invoke_cli(["run", str(sweep), "--results-dir", str(tmp_path / "runs")], monkeypatch, capsys)
    assert code == 2 and "tuner.objective: val_accuracy measures classification" in output
    assert "Traceback" not in output and not (tmp_path / "runs").exists()


# --- measurement ---------------------------------------------------------------------------------


def test_regression_scores_are_scikit_learns_metrics() -> None:
    rng = np.random.default_rng(0)
    y, predicted = rng.normal(50, 10, 200), rng.normal(50, 10, 200)
    scored = regression_scores(predicted, y, Head(0), model_penalty=0.5)
    assert scored["mse"] == pytest.approx(mean_squared_error(y, predicted))
    assert scored["mae"] == pytest.approx(mean_absolute_error(y, predicted))
    assert scored["r2"] == pytest.approx(r2_score(y, predicted))
    assert scored["mse_sd"] == pytest.approx(np.std((predicted - y) ** 2, ddof=1))
    assert scored["loss"] == pytest.approx(scored["mse"] + 0.5)


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_the_training_loss_is_keras_own(loss: str) -> None:
    rng = np.random.default_rng(1)
    y, predicted = rng.normal(0, 2, 50), rng.normal(0, 2, 50)
    keras_loss = Head(0, loss).keras_loss()(y.reshape(-1, 1), predicted.reshape(-1, 1))
    assert regression_scores(predicted, y, Head(0, loss))["loss"] == pytest.approx(float(keras_loss), rel=1e-5)


# --- training: fused = alone = plain Keras -------------------------------------------------------


def _splits(x: np.ndarray, y: np.ndarray, standardize: bool = False) -> Splits:
    from fitsweep.data.task import Task

    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order].astype("float32"), y[order].astype("float64")
    n = len(y) // 5
    center, scale = (float(y[2 * n:].mean()), float(y[2 * n:].std())) if standardize else (0.0, 1.0)
    return Splits(x[2 * n:], y[2 * n:], x[:n], y[:n], x[n:2 * n], y[n:2 * n], 0, x[2 * n:], y[2 * n:],
                  task=Task("regression", "set in data.task"), target_center=center, target_scale=scale)


def _family(loss: str) -> Any:
    return family_for(parse_spec({"name": "r", "data": {"source": "csv", "path": "d.csv", "task": "regression"},
                                  "train": {"loss": loss}}))


def _values(**overrides: Any) -> dict[str, Any]:
    return {"layers": "16", "activation": "relu", "dropout": 0.0, "l1": 0.0, "l2": 0.0,
            "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, **overrides}


def _keras_fit(values: dict[str, Any], splits: Splits, seed: int, loss: str) -> tuple[list[dict[str, float]], Any]:
    """The network in plain Keras (Dense layers, one linear unit, Keras' loss), fed in fitsweep's order."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    penalty = keras.regularizers.L2(values["l2"]) if values["l2"] else None
    widths = [int(width) for width in str(values["layers"]).split("-") if width != "none"]
    model = keras.Sequential([keras.Input((splits.n_features,)),
                              *[keras.layers.Dense(width, activation="relu", kernel_regularizer=penalty)
                                for width in widths],
                              keras.layers.Dense(1, kernel_regularizer=penalty)])
    for index, layer in enumerate(model.layers):
        kernel = keras.initializers.GlorotUniform(seed=layer_seed(seed, index))(layer.kernel.shape)
        layer.set_weights([np.asarray(kernel), np.zeros(layer.bias.shape)])
    model.compile(optimizer=keras.optimizers.Adam(values["learning_rate"]), loss=Head(0, loss).keras_loss())
    scaled = (splits.y_train - splits.target_center) / splits.target_scale
    records = []
    for epoch in range(EPOCHS):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(len(scaled), dtype=tf.int64), seed=tf.constant([seed, epoch], tf.int64)).numpy()
        model.fit(splits.x_train[order], scaled[order].reshape(-1, 1), batch_size=values["batch_size"], epochs=1,
                  shuffle=False, verbose=0)
        predicted = {name: model.predict(x, verbose=0).reshape(-1) * splits.target_scale + splits.target_center
                     for name, x in (("train", splits.x_train), ("val", splits.x_val))}
        records.append({
            "loss": float(model.evaluate(splits.x_train, scaled.reshape(-1, 1), verbose=0)),
            "mse": mean_squared_error(splits.y_train, predicted["train"]),
            "val_mse": mean_squared_error(splits.y_val, predicted["val"]),
            "val_r2": r2_score(splits.y_val, predicted["val"]),
        })
    return records, model


def _fitsweep_fit(values: dict[str, Any], splits: Splits, seed: int, loss: str, fused: bool = True
                  ) -> tuple[list[dict[str, float]], Any]:
    records: list[dict[str, float]] = []
    family = _family(loss)

    def record(member: Member, epoch: int, values: dict[str, float], seconds: float) -> None:
        records.append(values)

    if fused:
        [outcome] = train_executions([Member("0", 0, values, seed)], splits, family, epochs=EPOCHS, objective=None,
                                     on_epoch=record)
    else:
        from fitsweep.training import train_alone

        outcome = train_alone(Member("0", 0, values, seed), lambda: family.build(values, splits), splits,
                              epochs=EPOCHS, batch_size=values["batch_size"], objective=None, on_epoch=record,
                              head=family.head(splits))
    return records, outcome


DIABETES = load_diabetes(return_X_y=True)
CASES = {
    "diabetes, mse, raw target": (_splits(DIABETES[0] * 10, DIABETES[1]), _values(learning_rate=0.05), "mse"),
    "diabetes, huber, standardized, l2": (_splits(DIABETES[0] * 10, DIABETES[1], standardize=True),
                                          _values(layers="16-8", l2=1e-3), "huber"),
    "diabetes, mae, linear": (_splits(DIABETES[0] * 10, DIABETES[1], standardize=True),
                              _values(layers="none"), "mae"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_regression_network_trains_as_under_plain_keras_fit(case: str) -> None:
    splits, values, loss = CASES[case]
    expected, model = _keras_fit(values, splits, 7, loss)
    fused, outcome = _fitsweep_fit(values, splits, 7, loss)
    for epoch, (keras_record, mine) in enumerate(zip(expected, fused, strict=True)):
        for name, value in keras_record.items():
            assert mine[name] == pytest.approx(value, rel=RTOL, abs=1e-4), (case, epoch, name)
    assert {"mae", "r2", "mse_sd", "val_mae", "val_mse_sd", "running_mse"} <= set(fused[-1])
    for mine, theirs in zip(outcome.weights, model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=1e-4 * max(1.0, float(np.abs(theirs).max())))
    assert math.isfinite(outcome.summary["test_r2"]) and "test_accuracy" not in outcome.summary


@pytest.mark.parametrize("case", list(CASES))
def test_a_regression_model_trained_alone_records_what_its_keras_model_gives(case: str) -> None:
    # train_alone steps through Keras' own shuffle; its records are its model's, measured as fused members are.
    splits, values, loss = CASES[case]
    records, outcome = _fitsweep_fit(values, splits, 7, loss, fused=False)
    model = outcome.network()
    predicted = model.predict(splits.x_val, verbose=0).reshape(-1) * splits.target_scale + splits.target_center
    assert records[-1]["val_mse"] == pytest.approx(mean_squared_error(splits.y_val, predicted), rel=1e-4)
    assert records[-1]["val_r2"] == pytest.approx(r2_score(splits.y_val, predicted), rel=1e-4, abs=1e-5)
    scaled = ((splits.y_train - splits.target_center) / splits.target_scale).reshape(-1, 1)
    assert records[-1]["loss"] == pytest.approx(model.evaluate(splits.x_train, scaled, verbose=0)[0], rel=1e-4)


def test_a_restored_member_predicts_the_target_in_its_own_units() -> None:
    splits, values, loss = CASES["diabetes, huber, standardized, l2"]
    _, outcome = _fitsweep_fit(values, splits, 7, loss)
    predicted = outcome.network().predict(splits.x_test, verbose=0).reshape(-1) * splits.target_scale \
        + splits.target_center
    assert mean_squared_error(splits.y_test, predicted) == pytest.approx(outcome.summary["test_mse"], rel=1e-4)


def test_a_model_with_more_than_one_output_is_refused_for_a_regression() -> None:
    from fitsweep.training import ModelError, check_model

    x, y = make_moons(100, random_state=0)
    splits = _splits(x, y + np.linspace(0, 1, 100))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    with pytest.raises(ModelError, match=r"a numeric target .* so it needs 1 \(a linear unit"):
        check_model(model, splits)


# --- verdicts ------------------------------------------------------------------------------------


def _epochs(trial: str, train: list[float], val: list[float]) -> list[dict[str, Any]]:
    return [{"trial_id": trial, "execution": 0, "epoch": epoch + 1, "loss": t, "val_loss": v, "mse": t,
             "val_mse": v, "mse_sd": 1.4 * t, "val_mse_sd": 1.4 * v, "mae": t, "val_mae": v, "r2": 1 - t,
             "val_r2": 1 - v, "running_loss": t, "running_mse": t}
            for epoch, (t, v) in enumerate(zip(train, val, strict=True))]


def _trials(trials: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": trials, "execution": 0, "status": "completed", "train_rows": 2000,
                         "train_measured_rows": 2000, "val_rows": 1000, "best_epoch": 10})


def test_a_regression_is_judged_by_its_squared_error_against_the_mean_baseline() -> None:
    from fitsweep.analysis import diagnose

    falling = [1.0 / (epoch + 1) for epoch in range(10)]
    epochs = pd.DataFrame(
        _epochs("0", [0.3 + 0.01 * f for f in falling], [0.32 + 0.01 * f for f in falling])  # fits: the sweep's best
        + _epochs("1", [0.9 + 0.01 * f for f in falling], [0.92 + 0.01 * f for f in falling])  # stays far above it
        + _epochs("2", [0.05 + 0.01 * f for f in falling], [0.7 + 0.01 * f for f in falling]))  # fits noise
    table = diagnose(epochs, _trials(["0", "1", "2"]), chance_loss=1.0).set_index("trial_id")
    assert table["fit"].to_dict() == {"0": "good", "1": "underfit", "2": "overfit"}, table["fit_reason"].tolist()
    assert "training MSE 0.901 (R² 0.10), validation 0.921 (R² 0.08), against 0.321 (R² 0.68) reachable" in \
        table.loc["1", "fit_reason"]
    assert "validation MSE 0.701 against training 0.051" in table.loc["2", "fit_reason"]
    assert "(R² 0.68)" in table.loc["0", "fit_reason"]


def test_a_reasons_validation_r2_is_against_the_validation_splits_own_variance() -> None:
    """As the tables' val_r2 is: a validation split of variance 2 where the training split's is 1."""
    from fitsweep.analysis import diagnose

    falling = [1.0 / (epoch + 1) for epoch in range(10)]
    epochs = pd.DataFrame(
        _epochs("0", [0.3 + 0.01 * f for f in falling], [0.32 + 0.01 * f for f in falling])
        + _epochs("1", [0.9 + 0.01 * f for f in falling], [0.92 + 0.01 * f for f in falling]))
    trials = _trials(["0", "1"]).assign(val_mse=[0.321, 0.921])
    trials["val_r2"] = 1 - trials["val_mse"] / 2.0
    table = diagnose(epochs, trials, chance_loss=1.0).set_index("trial_id")
    assert "training MSE 0.901 (R² 0.10), validation 0.921 (R² 0.54), against 0.321 (R² 0.84) reachable" in \
        table.loc["1", "fit_reason"], table.loc["1", "fit_reason"]


def _flat_near(level: float, trial: str = "0") -> list[dict[str, Any]]:
    falling = [0.02 / (epoch + 1) for epoch in range(10)]
    return _epochs(trial, [level + f for f in falling], [level + 0.01 + f for f in falling])


def test_a_network_near_r2_0_underfits_when_a_linear_regression_reads_the_features() -> None:
    from fitsweep.analysis import diagnose

    epochs = pd.DataFrame(_flat_near(0.97) + _flat_near(0.96, "1"))  # two configurations, neither learns
    linear = {"val_mse": 0.5, "val_mse_sd": 0.7, "gain": 0.5, "gain_se": 0.03}
    without = diagnose(epochs, _trials(["0", "1"]), chance_loss=1.0)
    assert set(without["fit"]) == {"good"}, "the sweep alone shows nothing better to reach"
    table = diagnose(epochs, _trials(["0", "1"]), chance_loss=1.0, linear_reference=linear)
    assert set(table["fit"]) == {"underfit"}, table["fit_reason"].tolist()
    assert ("validation 0.982 (R² 0.02), against 0.5 (R² 0.50) reachable (the validation MSE of a linear regression "
            "fitted on the training split)") in table["fit_reason"][0]


def test_where_nothing_beats_the_mean_a_model_at_the_baseline_is_good_and_the_reason_says_why() -> None:
    from fitsweep.analysis import diagnose

    epochs = pd.DataFrame(_flat_near(0.97))  # one configuration at R² 0.03
    assert diagnose(epochs, _trials(["0"]), chance_loss=1.0)["fit"][0] == "underfit"  # alone: it learned nothing
    linear = {"val_mse": 1.02, "val_mse_sd": 1.4, "gain": -0.01, "gain_se": 0.02}  # no better than the mean
    table = diagnose(epochs, _trials(["0"]), chance_loss=1.0, linear_reference=linear)
    assert table["fit"][0] == "good", table["fit_reason"][0]
    assert "no configuration beats predicting the training mean beyond noise" in table["fit_reason"][0]
    assert "the features hardly predict this target" in table["fit_reason"][0]


def test_a_run_stopped_while_both_curves_fall_steeply_underfits_within_the_noise_of_a_small_split() -> None:
    """Both curves falling 8% an epoch at the end, 0.22 above the sweep's best: on 20 validation rows that
    difference is within noise, but the curves say training stopped early. With the validation loss
    turned up at the last epoch the same training curve is not called undertrained."""
    from fitsweep.analysis import diagnose

    falling = [1.0, 0.92, 0.85, 0.78, 0.72]
    epochs = pd.DataFrame(_epochs("0", [0.50, 0.50, 0.50, 0.50, 0.50], [0.51, 0.50, 0.50, 0.50, 0.50])
                          + _epochs("1", falling, [1.05, 0.97, 0.89, 0.82, 0.75])
                          + _epochs("2", falling, [1.05, 0.95, 0.86, 0.78, 0.80]))
    trials = _trials(["0", "1", "2"]).assign(val_rows=20)
    table = diagnose(epochs, trials, chance_loss=1.0).set_index("trial_id")
    assert table["fit"].to_dict() == {"0": "good", "1": "underfit", "2": "good"}, table["fit_reason"].tolist()
    assert "both still falling at the end (8.2% and 8.4% per epoch at epoch 5, the validation at its lowest)" in \
        table.loc["1", "fit_reason"]
    assert "train longer" in table.loc["1", "fit_reason"]


# --- a whole run ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_regression_run_writes_its_tables_verdicts_and_report(
        diabetes_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fitsweep import load

    sweep = _sweep(diabetes_csv, data={"standardize_target": True}, model={"layers": {"values": [[], [32]]}},
                   train={"epochs": 5}, tuner={"algorithm": "grid", "max_trials": 2})
    code, output = invoke_cli(["run", str(write_sweep(tmp_path, sweep)), "--results-dir", str(tmp_path / "runs")],
                              monkeypatch, capsys)
    assert code == 0, output
    assert "task regression (auto" in output and "val_mse=" in output
    run = load(tmp_path / "runs" / "diabetes")
    assert {"train_mse", "val_mse", "test_mse", "val_r2", "test_r2", "test_mae", "fit"} <= set(run.trials.columns)
    assert not {"val_accuracy", "test_accuracy", "val_crossentropy"} & set(run.trials.columns)
    assert {"mse", "val_mse", "mse_sd", "val_mse_sd", "r2", "running_mse"} <= set(run.epochs.columns)
    assert "accuracy" not in run.epochs.columns
    assert run.info["data"]["task"] == "regression" and run.info["chance_loss"] == pytest.approx(
        np.var(prepare_data(run.spec.data).y_train))
    assert run.spec.data.task == "regression" and run.spec.tuner.objective == "val_mse"
    linear = run.info["linear_reference"]  # the verdicts' yardstick near the baseline, with its noise
    assert linear["val_mse"] > 0 and linear["gain_se"] > 0 and -1 < linear["test_r2"] < 1
    assert set(run.trials["fit"]) <= {"good", "underfit", "overfit"}
    assert run.trials["fit_reason"].str.contains("MSE").all()
    report = (tmp_path / "runs" / "diabetes" / "report.md").read_text(encoding="utf-8")
    assert "## Predicted against actual" in report and "## Confusion matrix" not in report
    code, output = invoke_cli(["report", str(tmp_path / "runs" / "diabetes")], monkeypatch, capsys)  # draws figures
    assert code == 0, output
    assert (tmp_path / "runs" / "diabetes" / "figures" / "predictions.png").is_file()
