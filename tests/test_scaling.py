"""`data.scaling`: what `auto` decides on real data, and that every command says and records it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, make_moons

import fitsweep
from conftest import REPO, invoke_cli, tiny_sweep, write_sweep
from fitsweep.data import decide_scaling, prepare_data
from fitsweep.spec import load_spec, parse_spec

# Test accuracy on breast cancer: its majority class's share (what a network that learned nothing
# scores) is 0.63; standardized inputs reach 0.95-0.98 in this sweep, raw ones 0.89-0.94.
CANCER_STANDARDIZED_ACCURACY = 0.93


def _write_csv(folder: Path, x: np.ndarray, y: np.ndarray, name: str = "data.csv") -> Path:
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame["target"] = y
    path = folder / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def cancer_csv(tmp_path: Path) -> Path:
    """scikit-learn's breast cancer as a user's CSV: 30 raw features, values up to 4,254."""
    bunch = load_breast_cancer()
    return _write_csv(tmp_path, bunch.data, bunch.target, "cancer.csv")


def _csv_data(path: Path, **keys: Any) -> Any:
    return parse_spec({"name": "t", "data": {"source": "csv", "path": path.name, **keys}}).data


def _npz_data(name: str) -> Any:
    return parse_spec({"name": "t", "data": {"source": "npz", "path": name}}).data


# --- the decision -------------------------------------------------------------------------------


def test_auto_standardizes_raw_breast_cancer_and_says_why(cancer_csv: Path) -> None:
    splits = prepare_data(_csv_data(cancer_csv), cancer_csv.parent)
    assert splits.scaling.method == "standardize" and splits.scaling.automatic
    assert "feature ranges differ" in splits.scaling.reason and "far outside the unit range" in splits.scaling.reason
    # Fitted on the training split: its features now have mean 0 and spread 1 there.
    varying = splits.x_train.std(axis=0) > 0
    assert np.allclose(splits.x_train.mean(axis=0), 0, atol=1e-4)
    assert np.allclose(splits.x_train.std(axis=0)[varying], 1, atol=1e-3)
    assert np.abs(splits.x_val).max() < 100 and np.abs(splits.x_test).max() < 100


def test_explicit_none_keeps_the_raw_values(cancer_csv: Path) -> None:
    splits = prepare_data(_csv_data(cancer_csv, scaling="none"), cancer_csv.parent)
    assert splits.scaling.method == "none" and not splits.scaling.automatic
    assert splits.x_train.max() == pytest.approx(load_breast_cancer().data.max(), rel=1e-6)


def test_auto_leaves_moons_as_they_are() -> None:
    auto = prepare_data(parse_spec({"name": "t", "data": {"source": "moons", "samples": 300}}).data)
    raw = prepare_data(parse_spec({"name": "t", "data": {"source": "moons", "samples": 300, "scaling": "none"}}).data)
    assert auto.scaling.method == "none" and "on a unit scale already" in auto.scaling.reason
    assert np.array_equal(auto.x_train, raw.x_train) and np.array_equal(auto.x_test, raw.x_test)


def test_constant_features_do_not_break_the_decision(tmp_path: Path) -> None:
    # An .npz array keeps its constant features (a CSV table drops its constant columns before scaling).
    x, y = make_moons(200, noise=0.2, random_state=0)
    np.savez(tmp_path / "data.npz", x_train=np.hstack([x, np.full((200, 1), 3.0)]), y_train=y)
    kept = prepare_data(_npz_data("data.npz"), tmp_path)
    assert kept.scaling.method == "none"  # a constant column's zero range is not compared
    np.savez(tmp_path / "wide.npz", x_train=np.hstack([x * 1000, np.full((200, 1), 7.0)]), y_train=y)
    scaled = prepare_data(_npz_data("wide.npz"), tmp_path)
    assert scaled.scaling.method == "standardize"
    assert np.isfinite(scaled.x_train).all() and np.all(scaled.x_train[:, 2] == 0)
    assert decide_scaling(np.full((5, 3), 0.5)).method == "none"  # every feature constant


def test_tiny_values_are_far_from_the_unit_scale_too() -> None:
    x, _ = make_moons(100, noise=0.2, random_state=0)
    decision = decide_scaling(x * 0.001)
    assert decision.method == "standardize" and "spans less than 0.1" in decision.reason


def test_images_compare_values_not_pixel_ranges() -> None:
    pixels = load_digits().data  # 0..16; a border pixel that is rarely lit spans 0..1
    assert decide_scaling(pixels / 16, images=True).method == "none"
    assert decide_scaling(pixels / 16).method == "standardize"  # as a table, those ranges differ 16-fold
    raw = decide_scaling(pixels * 255 / 16, images=True)
    assert raw.method == "standardize" and "pixels reach 255" in raw.reason


def test_the_digits_source_is_left_in_its_unit_range() -> None:
    splits = prepare_data(parse_spec({"name": "t", "data": {"source": "digits"}}).data)
    assert splits.scaling.method == "none" and splits.x_train.max() <= 1.0


# --- recorded runs keep what they ran with -------------------------------------------------------


def test_a_recorded_sweep_without_scaling_ran_unscaled(tmp_path: Path) -> None:
    recorded = write_sweep(tmp_path, tiny_sweep())  # no data.scaling, as runs before auto existed
    assert load_spec(recorded, recorded=True).data.scaling == "none"
    assert load_spec(recorded).data.scaling == "auto"  # a new sweep file gets the default


@pytest.mark.parametrize("study", ["moons", "notmnist-capacity", "notmnist-regularizers", "notmnist-conv"])
def test_the_committed_studies_train_on_their_inputs_as_they_are(study: str) -> None:
    # Run with `none` before auto was the default, or with auto, which leaves these inputs alone.
    folder = REPO / "results" / study
    recorded = load_spec(folder / "sweep.yaml", recorded=True).data.scaling
    applied = fitsweep.load(folder).info["data"].get("scaling", recorded)
    assert recorded in ("none", "auto") and applied == "none"


# --- the command line ----------------------------------------------------------------------------


def test_an_unknown_scaling_is_refused_naming_the_key_and_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(data={"scaling": "zscore"}))
    code, output = invoke_cli(["validate", str(sweep)], monkeypatch, capsys)
    assert code == 2 and len(output.strip().splitlines()) == 1
    assert "data.scaling" in output and all(f"'{choice}'" in output for choice in ("auto", "none", "standardize"))


def _cancer_sweep(path: Path, epochs: int, max_trials: int) -> dict[str, Any]:
    """A new user's first sweep of the raw CSV: depth 1-2, width 32-64, Adam at 0.003."""
    return {
        "name": "cancer",
        "data": {"source": "csv", "path": path.name},
        "model": {"depth": {"min": 1, "max": 2}, "width": {"values": [32, 64]}},
        "train": {"epochs": epochs, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.003},
        "tuner": {"algorithm": "random", "max_trials": max_trials, "seed": 1},
    }


def test_validate_and_run_say_what_auto_did_and_run_json_records_it(
    cancer_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = write_sweep(cancer_csv.parent, _cancer_sweep(cancer_csv, epochs=2, max_trials=1))
    said = "scaling standardize (auto: feature ranges differ"
    code, output = invoke_cli(["validate", str(sweep)], monkeypatch, capsys)
    assert code == 0 and "scaling: auto" in output and said in output
    results = tmp_path / "results"
    code, output = invoke_cli(["run", str(sweep), "--results-dir", str(results)], monkeypatch, capsys)
    assert code == 0, output
    assert output.index(said) < output.index("trial ")  # said before the first trial
    data = json.loads((results / "cancer" / "run.json").read_text())["data"]
    assert data["scaling"] == "standardize" and data["scaling_reason"].startswith("feature ranges differ")
    report = (results / "cancer" / "report.md").read_text()
    assert "Scaling" in report and "standardize (auto: feature ranges differ" in report


@pytest.mark.slow
def test_a_raw_breast_cancer_csv_learns_with_the_default(cancer_csv: Path, tmp_path: Path) -> None:
    from fitsweep import run_sweep

    spec = parse_spec(_cancer_sweep(cancer_csv, epochs=20, max_trials=2))
    run = run_sweep(spec, results_dir=tmp_path / "results", data_dir=cancer_csv.parent)
    assert run.trials["test_accuracy"].min() > CANCER_STANDARDIZED_ACCURACY
