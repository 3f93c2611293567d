"""fitsweep.results.columns: the hyperparameter columns, their encodings and derived labels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO
from fitsweep.analysis import compare
from fitsweep.analysis._common import AnalysisError, group_columns, with_derived_columns
from fitsweep.results import RunPaths, read_run_info
from fitsweep.results.columns import (
    DERIVED_MEANINGS,
    EPOCH_MEANINGS,
    HYPERPARAMETER_COLUMNS,
    HYPERPARAMETERS,
    REGRESSION_EPOCH_MEANINGS,
    TRIAL_MEANINGS,
    canonical_column,
    decode_layers,
    decode_regularizers,
    depth_of,
    encode_layers,
    encode_regularizers,
    present,
    regularizer_kind,
    trial_values,
    width_of,
)

STUDIES = sorted(path.parent for path in (REPO / "results").glob("*/trials.parquet"))


@pytest.mark.parametrize("study", STUDIES, ids=lambda path: path.name)
def test_every_column_of_a_committed_study_is_described_by_the_registry(study: Path) -> None:
    trials, epochs = pd.read_parquet(study / "trials.parquet"), pd.read_parquet(study / "epochs.parquet")
    assert set(trials.columns) - set(TRIAL_MEANINGS) == set()
    regression = "mse" in epochs.columns  # a regression's epochs hold its measures in place of the accuracy
    assert list(epochs.columns) == list(REGRESSION_EPOCH_MEANINGS if regression else EPOCH_MEANINGS)
    assert set(with_derived_columns(trials).columns) - set(TRIAL_MEANINGS) - set(DERIVED_MEANINGS) == set()


def test_importing_columns_loads_neither_keras_nor_keras_tuner() -> None:
    code = ("import json, sys; import fitsweep.results.columns; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('keras', 'keras_tuner', 'tensorflow'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("widths", [[], [8], [600, 400, 200], [25, 50, 50, 25]])
def test_layers_round_trip(widths: list[int]) -> None:
    assert decode_layers(encode_layers(widths)) == widths


def test_layers_encoding() -> None:
    assert encode_layers([600, 400, 200]) == "600-400-200"
    assert encode_layers([]) == "none"
    assert decode_layers("none") == []
    with pytest.raises(ValueError):
        decode_layers("relu")


@pytest.mark.parametrize(("layers", "depth", "width"), [("none", 0, 0), ("200", 1, 200), ("400-600-200", 3, 600)])
def test_depth_and_width_from_layers(layers: str, depth: int, width: int) -> None:
    widths = decode_layers(layers)
    assert (depth_of(widths), width_of(widths)) == (depth, width)


@pytest.mark.parametrize("strengths", [
    {"dropout": 0.0, "l1": 0.0, "l2": 0.0},
    {"dropout": 0.2, "l1": 0.0, "l2": 0.001},
    {"dropout": 0.5, "l1": 1e-05, "l2": 0.0001},
])
def test_regularizers_round_trip(strengths: dict[str, float]) -> None:
    assert decode_regularizers(encode_regularizers(strengths)) == strengths


def test_regularizers_encoding_leaves_out_unused_regularizers_in_a_fixed_order() -> None:
    assert encode_regularizers({"l2": 0.001, "dropout": 0.2}) == "dropout=0.2+l2=0.001"
    assert encode_regularizers({"l1": 0.0, "l2": None}) == "none"
    assert encode_regularizers({"l1": float("nan")}) == "none"


@pytest.mark.parametrize(("strengths", "kind"), [
    ({}, "none"),
    ({"dropout": 0.0, "l1": 0.0, "l2": 0.0}, "none"),
    ({"l1": 1e-5}, "l1"),
    ({"dropout": 0.2, "l2": 0.001}, "l2+dropout"),
    ({"dropout": 0.2, "l1": 1e-5, "l2": 0.001}, "l1+l2+dropout"),
])
def test_regularizer_kind(strengths: dict[str, float], kind: str) -> None:
    assert regularizer_kind(strengths) == kind


def test_trial_values_spell_out_a_regularizers_combination() -> None:
    assert trial_values({"regularizers": "dropout=0.2+l2=0.001", "activation": "relu"}) == {
        "regularizers": "dropout=0.2+l2=0.001", "activation": "relu", "dropout": 0.2, "l1": 0.0, "l2": 0.001}
    assert trial_values({"dropout": 0.5}) == {"dropout": 0.5}


def test_column_order_and_names() -> None:
    assert HYPERPARAMETER_COLUMNS.index("regularizers") == HYPERPARAMETER_COLUMNS.index("dropout") - 1
    assert "regularizers" not in HYPERPARAMETERS and set(HYPERPARAMETERS) < set(HYPERPARAMETER_COLUMNS)
    assert present(["batch_size", "trial_id", "layers", "l2"]) == ["layers", "l2", "batch_size"]
    assert canonical_column("regularizer") == "regularizer_kind" and canonical_column("l2") == "l2"


def test_derived_columns_for_separate_regularizer_keys_and_layers() -> None:
    trials = pd.DataFrame({"layers": ["none", "600-400-200", None], "dropout": [0.2, None, 0.0],
                           "l2": [0.001, 0.0, float("nan")]})
    frame = with_derived_columns(trials)
    assert frame["regularizers"].tolist() == ["dropout=0.2+l2=0.001", "none", "none"]
    assert frame["regularizer_kind"].tolist() == ["l2+dropout", "none", "none"]
    assert frame["depth"].tolist()[:2] == [0, 3] and frame["width"].tolist()[:2] == [0, 600]
    assert frame["depth"].isna().iloc[2]
    assert "regularizer_kind" not in trials.columns  # a copy: the caller's table is left as it was


def test_old_name_regularizer_groups_by_regularizer_kind() -> None:
    frame = with_derived_columns(pd.DataFrame({"l1": [0.0, 1e-5]}))
    assert group_columns(frame, "regularizer") == ["regularizer_kind"]
    assert group_columns(frame, ["regularizer", "l1"]) == ["regularizer_kind", "l1"]
    with pytest.raises(AnalysisError, match="cannot group by dropuot"):
        group_columns(frame, "dropuot")


def test_compare_by_the_old_and_the_new_name_agree() -> None:
    trials = pd.DataFrame({
        "trial_id": ["0", "1", "2", "3"], "execution": 0, "status": "completed",
        "l2": [0.0, 0.0, 0.001, 0.001], "train_accuracy": [0.9, 0.92, 0.88, 0.86],
        "val_accuracy": [0.85, 0.86, 0.87, 0.88], "test_accuracy": [0.84, 0.85, 0.88, 0.89],
    })
    new, old = compare(trials, by="regularizer_kind"), compare(trials, by="regularizer")
    assert set(new["regularizer_kind"]) == {"none", "l2"}
    pd.testing.assert_frame_equal(new, old)


def test_run_json_status_complete_reads_as_completed(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    paths.run_info.write_text(json.dumps({"status": "complete"}), encoding="utf-8")
    assert read_run_info(paths)["status"] == "completed"
    paths.run_info.write_text(json.dumps({"status": "interrupted"}), encoding="utf-8")
    assert read_run_info(paths)["status"] == "interrupted"
