"""The conv family: its sweep-file keys, image shapes from the data, and real conv sweeps end to end."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from tensorboard.plugins.hparams import metadata as hparams_metadata

from conftest import invoke_cli as invoke
from conftest import write_sweep
from fitsweep import cli, load, parse_spec
from fitsweep.analysis import diagnose
from fitsweep.data import prepare_data
from fitsweep.families import FAMILIES, ModelFamily, family_for
from fitsweep.families.conv import ConvFamily
from fitsweep.learning_curve import run_learning_curve
from fitsweep.report import write_report
from fitsweep.results import RunPaths
from fitsweep.spec import MoonsData
from helpers import hparam_value, read_events, scalar_series, session_start

PREFIX = "fitsweep: error: "
CONV_COLUMNS = ["blocks", "filters", "kernel_size", "pooling", "batch_norm", "head"]


def conv_sweep(name: str = "conv", data: dict[str, Any] | None = None, **model: Any) -> dict[str, Any]:
    """A conv sweep over scikit-learn's 8x8 digits: 2 trials of 2 epochs unless overridden."""
    return {
        "name": name,
        "data": data or {"source": "digits"},
        "model": {"family": "conv", "blocks": {"values": [1, 2]}, "filters": 8, "head": [32], **model},
        "train": {"epochs": 2, "batch_size": 64, "learning_rate": 0.01},
        "tuner": {"algorithm": "grid", "max_trials": 2, "seed": 0},
    }




def one_line_error(code: int, output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, output
    assert "Traceback" not in output, output
    assert len(lines) == 1 and lines[0].startswith(PREFIX), output
    return lines[0]


def digits_npz(path: Path, channels: bool = False) -> Path:
    """scikit-learn's digits as (rows, 8, 8) uint8 images (or (rows, 8, 8, 1)), the test set the last 300."""
    bunch = datasets.load_digits()
    images = (bunch.images * 255 / 16).astype("uint8")
    if channels:
        images = images[..., None]
    np.savez(path, x_train=images[:-300], y_train=bunch.target[:-300], x_test=images[-300:], y_test=bunch.target[-300:])
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the sweep file --------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "expect"), [
    ({"family": "cnov"}, ["model: unknown family 'cnov'", "did you mean 'conv'?", "conv)"]),
    ({"filters": 16}, ["model.filters: belongs to model.family: conv", "not family dense"]),
    ({"family": "dense", "depth": 1, "kernel_size": 3}, ["model.kernel_size: belongs to model.family: conv"]),
    ({"family": "conv", "layers": [64]}, ["model.layers: belongs to model.family: dense", "not family conv"]),
    ({"family": "conv", "filtres": 8}, ["model.filtres: unknown key; did you mean 'filters'?"]),
    ({"family": "conv", "kernel_size": 4}, ["model.kernel_size: 4 is even", "1, 3, 5 or 7"]),
    ({"family": "conv", "kernel_size": 9}, ["model.kernel_size: 9 is outside the allowed [1, 7]"]),
    ({"family": "conv", "blocks": 9}, ["model.blocks: 9 is outside the allowed [0, 8]"]),
    ({"family": "conv", "pooling": "min"}, ["model.pooling: 'min' is not one of: max, average, none"]),
    ({"family": "conv", "batch_norm": {"values": [True, 2]}}, ["model.batch_norm: 2 is not true or false"]),
])
def test_bad_model_keys_are_one_line_errors_and_write_nothing(
        model: dict[str, Any], expect: list[str], workdir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_sweep(workdir, {"name": "bad", "data": {"source": "digits"}, "model": model})
    line = one_line_error(*invoke(["run", str(sweep)], monkeypatch, capsys))
    for fragment in expect:
        assert fragment in line
    assert not (workdir / "runs").exists()


def test_conv_on_flat_data_stops_before_anything_is_written(
        workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_sweep(workdir, conv_sweep(data={"source": "moons", "samples": 100}))
    line = one_line_error(*invoke(["run", str(sweep)], monkeypatch, capsys))
    assert "model.family: conv needs images" in line and "flat rows of 2 features" in line
    assert "data.image_shape" in line and str(sweep) in line  # the file whose key it is
    assert not (workdir / "runs").exists()


def test_an_image_shape_that_does_not_fit_the_features_names_the_key(
        workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    digits_npz(workdir / "digits.npz")
    sweep = write_sweep(workdir, conv_sweep(data={"source": "npz", "path": "digits.npz", "image_shape": [8, 9]}))
    line = one_line_error(*invoke(["run", str(sweep)], monkeypatch, capsys))
    assert "data.image_shape [8, 9]" in line and "72 values" in line and "64 features" in line
    assert not (workdir / "runs").exists()


def test_image_shape_is_refused_on_sources_that_are_not_images() -> None:
    with pytest.raises(Exception, match=r"data.image_shape: unknown key"):
        parse_spec({"name": "s", "data": {"source": "moons", "image_shape": [1, 2]}})
    with pytest.raises(Exception, match=r"data.image_shape"):
        parse_spec({"name": "s", "data": {"source": "npz", "path": "x.npz", "image_shape": [64]}})


def test_the_conv_family_reads_back_and_declares_its_columns_in_table_order() -> None:
    spec = parse_spec(conv_sweep(batch_norm={"values": [True, False]}))
    assert parse_spec(spec.resolved()) == spec
    family = family_for(spec)
    assert family.train_fused is None and "conv" in FAMILIES
    assert family.hyperparameter_names() == [*CONV_COLUMNS, "activation", "dropout", "l1", "l2",
                                             "optimizer", "learning_rate", "batch_size"]


def test_the_conv_family_takes_every_argument_the_family_protocol_passes() -> None:
    for name in ("searched_parameters", "hyperparameter_names", "declare", "check_data", "build", "parameter_count"):
        wanted = inspect.signature(getattr(ModelFamily, name)).parameters
        assert inspect.signature(getattr(ConvFamily, name)).parameters.keys() == wanted.keys(), name


# --- image shapes from the data --------------------------------------------------------------------


def test_sources_keep_one_rows_image_shape_through_splitting_and_scaling(tmp_path: Path) -> None:
    digits_npz(tmp_path / "plain.npz")
    digits_npz(tmp_path / "channels.npz", channels=True)
    cases = [
        ({"source": "digits"}, (8, 8)),
        ({"source": "npz", "path": "plain.npz"}, (8, 8)),
        ({"source": "npz", "path": "channels.npz", "scaling": "standardize"}, (8, 8, 1)),
        ({"source": "npz", "path": "plain.npz", "image_shape": [4, 16]}, (4, 16)),
        ({"source": "moons", "samples": 100}, None),
    ]
    for data, shape in cases:
        splits = prepare_data(parse_spec({"name": "s", "data": data}).data, tmp_path)
        assert splits.feature_shape == shape, data
        assert splits.n_features == 64 or shape is None


def test_hdf5_tables_have_no_shape_until_image_shape_gives_one(tmp_path: Path) -> None:
    bunch = datasets.load_digits()
    table = np.column_stack([bunch.data / 16, bunch.target]).astype("float32")
    with h5py.File(tmp_path / "digits.h5", "w") as file:
        file["trainData"], file["testData"] = table[:-300], table[-300:]
    data = {"source": "hdf5", "path": "digits.h5"}
    assert prepare_data(parse_spec({"name": "s", "data": data}).data, tmp_path).feature_shape is None
    shaped = prepare_data(parse_spec({"name": "s", "data": {**data, "image_shape": [8, 8, 1]}}).data, tmp_path)
    assert shaped.feature_shape == (8, 8, 1)


def test_notmnist_rows_are_28_by_28_images() -> None:
    splits = prepare_data(parse_spec({"name": "s", "data": {"source": "notmnist", "limit": 500}}).data)
    assert splits.feature_shape == (28, 28) and splits.n_features == 784


def test_parameter_count_is_what_keras_counts() -> None:
    data = parse_spec({"name": "s", "data": {"source": "digits"}}).data
    splits = prepare_data(data)
    binary = prepare_data(MoonsData(source="moons", samples=100))
    binary_images = type(binary)(**{**binary.__dict__, "feature_shape": (2, 1)})
    base = {"blocks": 2, "filters": 4, "kernel_size": 3, "pooling": "max", "batch_norm": False, "head": "16",
            "activation": "relu", "dropout": 0.0, "l1": 0.0, "l2": 0.0}
    family = family_for(parse_spec(conv_sweep()))
    for values, data_splits in [
        (base, splits),
        ({**base, "batch_norm": True, "pooling": "none", "kernel_size": 5}, splits),
        ({**base, "blocks": 3, "pooling": "average", "head": "none"}, splits),
        ({**base, "blocks": 0, "head": "32-16"}, splits),
        ({**base, "blocks": 1, "kernel_size": 1}, binary_images),
    ]:
        counted = family.network(values, data_splits).count_params()
        assert family.parameter_count(values, data_splits) == counted, values


# --- sweeps ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A finished conv sweep on digits through the command line: 3 trials, 2 executions of 3 epochs."""
    folder = tmp_path_factory.mktemp("conv")
    sweep = conv_sweep("digits-conv", batch_norm={"values": [False, True]}, dropout=0.1)
    sweep["train"]["epochs"] = 3
    sweep["tuner"].update(max_trials=3, executions_per_trial=2)
    path = write_sweep(folder, sweep)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(sys, "argv", ["fitsweep", "run", str(path), "--results-dir", str(folder / "results"),
                                      "--quiet"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    monkeypatch.undo()
    assert exited.value.code in (0, None)
    return load(folder / "results" / "digits-conv")


def test_a_conv_sweep_writes_tables_with_its_columns_verdicts_and_a_report(digits_run: Any) -> None:
    trials, epochs = digits_run.trials, digits_run.epochs
    assert list(trials.columns[3:3 + len(CONV_COLUMNS)]) == CONV_COLUMNS
    assert len(trials) == 6 and (trials["status"] == "completed").all()
    assert set(trials["blocks"]) == {1, 2} and set(trials["batch_norm"]) == {False, True}
    assert set(trials["head"]) == {"32"}
    assert len(epochs) == 6 * 3 and epochs["val_accuracy"].between(0, 1).all()
    # Parameters as the family counts them: 2 blocks halve the image twice more than 1 block does.
    params = trials.groupby(["blocks", "batch_norm"])["params"].first()
    assert params[(1, True)] - params[(1, False)] == 4 * 8  # batch normalisation's 4 weights a filter
    assert digits_run.best_model is not None
    assert digits_run.best_model.inputs[0].shape[1:] == (8, 8, 1)
    diagnosis = diagnose(epochs, trials, chance_loss=digits_run.info["chance_loss"])
    assert len(diagnosis) == 6 and diagnosis["fit"].isin(["good", "overfit", "underfit"]).all()
    report = (digits_run.path / "report.md").read_text(encoding="utf-8")
    assert "blocks in {1, 2}" in report and "could not be drawn" not in report
    write_report(digits_run.path)  # the figures the end of the run left to `fitsweep report`
    report = (digits_run.path / "report.md").read_text(encoding="utf-8")
    assert "could not be drawn" not in report and (digits_run.path / "figures" / "confusion_matrix.png").is_file()


def test_a_conv_sweeps_tensorboard_sessions_read_back_with_its_hyperparameters(digits_run: Any) -> None:
    paths = RunPaths(digits_run.path)
    experiment = hparams_metadata.parse_experiment_plugin_data(
        read_events(paths.tensorboard_dir).SummaryMetadata(hparams_metadata.EXPERIMENT_TAG).plugin_data.content)
    domains = {info.name: info for info in experiment.hparam_infos}
    assert set(CONV_COLUMNS) <= set(domains)
    assert sorted(value.number_value for value in domains["blocks"].domain_discrete.values) == [1.0, 2.0]
    assert sorted(value.string_value for value in domains["batch_norm"].domain_discrete.values) == ["False", "True"]
    for row in digits_run.trials.itertuples(index=False):
        session = read_events(paths.tensorboard_trial(row.trial_id) / f"execution_{row.execution}")
        recorded = {name: hparam_value(value) for name, value in session_start(session).hparams.items()}
        assert recorded["blocks"] == row.blocks and recorded["head"] == row.head == "32"
        assert recorded["batch_norm"] == str(bool(row.batch_norm))  # HParams holds text or numbers
        validation = read_events(paths.tensorboard_trial(row.trial_id) / f"execution_{row.execution}" / "validation")
        curve = [value for _, value in scalar_series(validation, "epoch_accuracy")]
        mine = digits_run.epochs[(digits_run.epochs["trial_id"] == row.trial_id)
                                 & (digits_run.epochs["execution"] == row.execution)].sort_values("epoch")
        assert curve == pytest.approx(mine["val_accuracy"].tolist(), abs=1e-6)


def test_suggest_refuses_a_conv_run_in_one_line(digits_run: Any, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(*invoke(["suggest", str(digits_run.path)], monkeypatch, capsys))
    assert "family: dense only" in line and "model.family is conv" in line


def test_the_learning_curve_retrains_conv_trials_as_the_sweep_trained_them(digits_run: Any) -> None:
    best = str(digits_run.info["best_trial"])
    table = run_learning_curve(digits_run.path, trials=["best"], sizes=[0.5, 1.0], repeats=1)
    assert len(table) == 2 and (table["status"] == "completed").all()
    assert table["train_rows"].tolist()[0] < table["train_rows"].tolist()[1]
    whole = table[table["size"] == 1.0].iloc[0]
    sweep = digits_run.trials[(digits_run.trials["trial_id"] == best) & (digits_run.trials["execution"] == 0)].iloc[0]
    # At the whole training split, repeat 0 is the sweep's execution 0 again: same seed, same rows.
    assert whole["val_error"] == pytest.approx(1.0 - sweep["val_accuracy"], abs=1e-6)
    assert whole["best_epoch"] == sweep["best_epoch"]


def test_npz_images_run_through_a_conv_sweep(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    digits_npz(workdir / "digits.npz")
    sweep = conv_sweep("npz-conv", data={"source": "npz", "path": "digits.npz"}, blocks=1)
    sweep["train"]["epochs"], sweep["tuner"]["max_trials"] = 1, 1
    code, output = invoke(["run", str(write_sweep(workdir, sweep)), "--quiet", "--no-tensorboard"], monkeypatch,
                          capsys)
    assert code == 0, output
    run = load(workdir / "runs" / "npz-conv")
    assert run.best_model.inputs[0].shape[1:] == (8, 8, 1)
    assert (run.trials["status"] == "completed").all()


def test_a_conv_sweep_regresses_an_images_brightness_through_a_linear_unit(
        workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A target a conv network can learn in a few epochs: each image's mean brightness, a number, not a class.
    images = (datasets.load_digits().images * 255 / 16).astype("uint8")
    brightness = images.reshape(len(images), -1).mean(axis=1)
    np.savez(workdir / "brightness.npz", x_train=images[:-300], y_train=brightness[:-300], x_test=images[-300:],
             y_test=brightness[-300:])
    sweep = conv_sweep("brightness", data={"source": "npz", "path": "brightness.npz", "task": "regression",
                                           "standardize_target": True}, blocks=1, pooling="average")
    sweep["train"].update(epochs=6, learning_rate=0.003)
    sweep["tuner"]["max_trials"] = 1
    code, output = invoke(["run", str(write_sweep(workdir, sweep)), "--quiet", "--no-tensorboard"], monkeypatch,
                          capsys)
    assert code == 0, output
    run = load(workdir / "runs" / "brightness")
    model, trial = run.best_model, run.trials.iloc[0]
    assert model.inputs[0].shape[1:] == (8, 8, 1) and model.outputs[0].shape[1:] == (1,)
    assert model.layers[-1].get_config()["activation"] == "linear"
    assert trial["params"] == model.count_params()  # counted for one output unit, as Keras counts it
    assert trial["test_r2"] > 0.8, trial[["val_r2", "test_r2"]].to_dict()
    assert trial["fit_reason"].count("MSE") >= 1


@pytest.mark.slow
def test_a_small_cnn_learns_digits_as_well_as_a_dense_network(tmp_path: Path) -> None:
    from fitsweep import run_sweep

    train = {"epochs": 8, "batch_size": 32, "learning_rate": 0.003}
    tuner = {"algorithm": "grid", "max_trials": 1, "executions_per_trial": 2, "seed": 0}
    conv = parse_spec({"name": "cnn", "data": {"source": "digits"}, "train": train, "tuner": tuner,
                       "model": {"family": "conv", "blocks": 2, "filters": 16, "head": [64]}})
    dense = parse_spec({"name": "dense", "data": {"source": "digits"}, "train": train, "tuner": tuner,
                        "model": {"layers": [64]}})
    accuracy = {spec.name: float(pd.to_numeric(run_sweep(spec, results_dir=tmp_path).trials["val_accuracy"]).mean())
                for spec in (conv, dense)}
    assert accuracy["cnn"] > 0.9, accuracy
    assert accuracy["cnn"] >= accuracy["dense"] - 0.03, accuracy
