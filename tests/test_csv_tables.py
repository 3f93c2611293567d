"""CSV tables as people bring them: text columns, text labels, missing values and constant columns.

Every table is written in `tmp_path`. What depends on values (categories, means, medians, constant
columns) must come from the training split alone; the tests find a split's rows by an `id` column.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import invoke_cli, tiny_sweep, write_sweep
from fitsweep.data import Splits, prepare_data
from fitsweep.errors import DataError
from fitsweep.spec import parse_spec

COLOURS = ["red", "green", "blue"]
ANIMAL_OF = {"red": "cat", "green": "dog", "blue": "bird"}


def data_spec(**data: Any) -> Any:
    return parse_spec({"name": "t", "data": {"source": "csv", "path": "d.csv", "scaling": "none", **data}}).data


def prepare(folder: Path, **data: Any) -> Splits:
    return prepare_data(data_spec(**data), folder)


def error_of(folder: Path, **data: Any) -> str:
    with pytest.raises(DataError) as caught:
        prepare(folder, **data)
    message = str(caught.value)
    assert "\n" not in message
    return message


def animals(rows: int, seed: int = 0) -> pd.DataFrame:
    """Rows whose label (an animal's name) follows from their colour; `size` is noise."""
    rng = np.random.default_rng(seed)
    colour = [COLOURS[i % 3] for i in range(rows)]
    return pd.DataFrame({"id": np.arange(rows), "size": rng.normal(0.0, 1.0, rows).round(3), "colour": colour,
                         "target": [ANIMAL_OF[c] for c in colour]})


def write(folder: Path, frame: pd.DataFrame, name: str = "d.csv") -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def csv_sweep(data: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """A tiny sweep file over the CSV table `data` names."""
    sweep = tiny_sweep(**sections)
    sweep["data"] = {"source": "csv", **data}
    return sweep


def training_ids(splits: Splits) -> set[int]:
    return set(np.rint(splits.x_train[:, 0]).astype(int).tolist())


# --- text columns and text labels --------------------------------------------------------------------


def test_a_text_column_is_one_hot_encoded_and_an_unseen_category_is_all_zeros(tmp_path: Path) -> None:
    write(tmp_path, animals(90))
    test = animals(6, seed=1).assign(id=range(1000, 1006))
    test.loc[[1, 4], "colour"] = "purple"  # no training row is purple
    write(tmp_path, test, "test.csv")
    splits = prepare(tmp_path, test_path="test.csv")
    assert splits.table is not None and splits.table.encoded == {"colour": ["blue", "green", "red"]}
    assert splits.n_features == 2 + 3  # id and size, then one column per colour
    one_hot = splits.x_test[:, 2:]
    assert one_hot[[1, 4]].tolist() == [[0.0, 0.0, 0.0]] * 2
    for row in (0, 2, 3, 5):
        assert one_hot[row].tolist() == [float(c == test.colour[row]) for c in ("blue", "green", "red")]


def test_categories_come_from_the_training_split_only(tmp_path: Path) -> None:
    frame = animals(90)
    frame.loc[7, "colour"] = "violet"  # one row: it lands in a single split
    write(tmp_path, frame)
    # The same file split two ways: violet is a category exactly when its row is a training row.
    splits = [prepare(tmp_path, split_seed=seed) for seed in range(6)]
    where = {7 in training_ids(split) for split in splits}
    assert where == {True, False}
    for split in splits:
        assert split.table is not None
        assert ("violet" in split.table.encoded["colour"]) == (7 in training_ids(split))


def test_a_text_target_is_classes_in_sorted_order(tmp_path: Path) -> None:
    frame = write(tmp_path, animals(60))
    splits = prepare(tmp_path)
    assert splits.class_names == ("bird", "cat", "dog") and splits.n_classes == 3
    original = pd.read_csv(frame).set_index("id")
    for row, label in zip(splits.x_train, splits.y_train, strict=True):
        assert splits.class_names[label] == original.target[int(row[0])]
    assert "3 classes ('bird', 'cat', 'dog')" in splits.summary


def test_categorical_encodes_number_columns_too(tmp_path: Path) -> None:
    write(tmp_path, animals(60).assign(grade=[1, 2, 3, 5] * 15))
    plain = prepare(tmp_path)
    listed = prepare(tmp_path, categorical=["grade"])
    assert plain.n_features == 3 + 3 and listed.n_features == 2 + 3 + 4
    assert listed.table is not None and listed.table.encoded["grade"] == ["1", "2", "3", "5"]


def test_a_number_column_with_a_text_cell_is_refused_unless_categorical(tmp_path: Path) -> None:
    frame = animals(30).astype({"size": object})
    frame.loc[4, "size"] = "?"
    write(tmp_path, frame)
    assert "column 'size' holds numbers but also text ('?' on line 6)" in error_of(tmp_path)
    assert prepare(tmp_path, categorical=["size"]).table is not None


def test_a_text_column_of_identifiers_is_refused(tmp_path: Path) -> None:
    write(tmp_path, animals(90).assign(name=[f"animal {i}" for i in range(90)]))
    message = error_of(tmp_path)
    assert re.search(r"column 'name' holds (\d+) different values on \1 training rows: an identifier or free text",
                     message), message


@pytest.mark.parametrize("listed, fragment", [
    (["colr"], "data.categorical names 'colr', which is not a column; did you mean 'colour'? "
               "the feature columns are: 'id', 'size', 'colour'"),
    (["target"], "data.categorical names the target column 'target', which is what the models learn, not a feature"),
])
def test_categorical_must_name_feature_columns(tmp_path: Path, listed: list[str], fragment: str) -> None:
    write(tmp_path, animals(30))
    assert fragment in error_of(tmp_path, categorical=listed)


# --- missing values ------------------------------------------------------------------------------------


def with_gaps(rows: int, gaps: list[int], seed: int = 0, column: str = "size") -> pd.DataFrame:
    frame = animals(rows, seed)
    frame[column] = frame[column].astype(object)
    frame.loc[gaps, column] = None
    return frame


def test_missing_values_are_refused_with_their_column_and_lines(tmp_path: Path) -> None:
    write(tmp_path, with_gaps(60, [3, 17, 40, 41]))
    message = error_of(tmp_path)
    assert message == (f"{tmp_path / 'd.csv'}: column 'size' has 4 missing values (first on lines 5, 19, 42); "
                       "set data.missing: drop | mean | median")
    write(tmp_path, with_gaps(60, [3], column="colour").assign(size=[None] + [1.0] * 59))
    assert "2 columns have missing values: 'size' 1 (on line 2), 'colour' 1 (on line 5)" in error_of(tmp_path)


def test_drop_removes_the_rows_before_the_split(tmp_path: Path) -> None:
    frame = with_gaps(90, [3, 17, 40, 41], column="colour")
    frame.loc[50, "target"] = None
    write(tmp_path, frame)
    splits = prepare(tmp_path, missing="drop")
    ids = np.concatenate([split[:, 0] for split in (splits.x_train, splits.x_val, splits.x_test)])
    assert sorted(np.rint(ids).astype(int).tolist()) == sorted(set(range(90)) - {3, 17, 40, 41, 50})
    assert "  dropped 5 rows of d.csv with missing values (first on lines 5, 19, 42)" in splits.summary.splitlines()


def test_lines_stay_the_files_after_rows_are_dropped(tmp_path: Path) -> None:
    frame = with_gaps(30, [1])
    frame.loc[6, "size"] = float("inf")
    write(tmp_path, frame)
    message = error_of(tmp_path, missing="drop")
    assert "column 'size' holds an infinite value or one beyond float32 (on line 8)" in message


@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_mean_and_median_are_the_training_splits(tmp_path: Path, statistic: str) -> None:
    frame = with_gaps(120, list(range(0, 120, 7)))
    frame["size"] = frame["size"].where(frame["size"].isna(), frame.id * frame.id)  # skewed: mean and median differ
    write(tmp_path, frame)
    test = with_gaps(9, [2, 5]).assign(id=range(1000, 1009), size=lambda t: t["size"].where(t["size"].isna(), 1e6))
    write(tmp_path, test, "test.csv")
    splits = prepare(tmp_path, missing=statistic, test_path="test.csv")
    sizes = frame.set_index("id")["size"].astype(float)
    learned = getattr(np, f"nan{statistic}")(sizes[sorted(training_ids(splits))])
    pooled = getattr(np, f"nan{statistic}")(np.concatenate([sizes.to_numpy(), [1e6] * 7]))
    assert learned != pytest.approx(pooled, rel=0.01)  # a leak would show
    assert splits.x_test[[2, 5], 1].tolist() == pytest.approx([learned] * 2, rel=1e-6)
    filled_val = [row[1] for row in splits.x_val if round(row[0]) % 7 == 0]
    assert filled_val and filled_val == pytest.approx([learned] * len(filled_val), rel=1e-6)
    assert splits.table is not None and splits.table.filled == {"size": pytest.approx(learned)}
    assert f"filled missing values with the training split's {statistic}: 'size'" in splits.summary


def test_mean_leaves_text_gaps_refused_and_rows_without_a_target_dropped(tmp_path: Path) -> None:
    write(tmp_path, with_gaps(60, [8], column="colour"))
    assert ("column 'colour' has 1 missing value (on line 10), and data.missing: mean fills number columns only"
            in error_of(tmp_path, missing="mean"))
    frame = animals(60)
    frame.loc[[9, 20], "target"] = None
    write(tmp_path, frame)
    splits = prepare(tmp_path, missing="median")
    assert len(splits.y_train) + len(splits.y_val) + len(splits.y_test) == 58
    assert "dropped 2 rows of d.csv without a target value (on lines 11, 22)" in splits.summary


# --- constant columns ----------------------------------------------------------------------------------


def test_a_constant_column_is_dropped_and_said(tmp_path: Path) -> None:
    write(tmp_path, animals(60).assign(country="NL", version=2.0))
    splits = prepare(tmp_path)
    assert splits.n_features == 2 + 3
    assert splits.table is not None and splits.table.dropped == {"country": "'NL'", "version": "2"}
    assert ("  dropped 'country' (only 'NL'), 'version' (only 2): a single value on every training row"
            in splits.summary.splitlines())


def test_an_image_table_keeps_its_constant_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = pd.DataFrame(rng.random((40, 4)), columns=["p0", "p1", "p2", "p3"]).assign(p0=0.0)
    write(tmp_path, pixels.assign(target=np.arange(40) % 2))
    splits = prepare(tmp_path, image_shape=[2, 2])
    assert splits.n_features == 4 and splits.feature_shape == (2, 2)


# --- what run and validate say ----------------------------------------------------------------------


def test_validate_lists_what_was_done_to_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, with_gaps(60, [5]).assign(country="NL"))
    sweep = write_sweep(tmp_path, csv_sweep({"path": "d.csv", "missing": "drop"}))
    code, output = invoke_cli(["validate", str(sweep)], monkeypatch, capsys)
    assert code == 0, output
    assert "3 classes ('bird', 'cat', 'dog')" in output
    for said in ("dropped 1 row of d.csv with missing values (on line 7)",
                 "one-hot encoded 'colour' (3 categories): categories from the training split",
                 "dropped 'country' (only 'NL'): a single value on every training row"):
        assert f"\n  {said}\n" in output


def test_refused_missing_values_exit_2_and_write_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, with_gaps(60, [5]))
    sweep = write_sweep(tmp_path, csv_sweep({"path": "d.csv"}))
    before = sorted(tmp_path.rglob("*"))
    code, output = invoke_cli(["run", str(sweep), "--results-dir", str(tmp_path / "results")], monkeypatch, capsys)
    assert code == 2 and output.strip().splitlines() == [
        f"fitsweep: error: {tmp_path / 'd.csv'}: column 'size' has 1 missing value (on line 7); "
        "set data.missing: drop | mean | median"]
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_a_run_learns_a_text_column_and_names_its_classes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from fitsweep import load
    from fitsweep.figures import plot_confusion_matrix

    write(tmp_path, animals(240))
    sweep = write_sweep(tmp_path, csv_sweep(
        {"path": "d.csv"},
        model={"depth": 1, "width": 8, "dropout": 0.0, "l2": 0.0},
        train={"epochs": 40, "batch_size": 16, "learning_rate": 0.01}, tuner={"max_trials": 1}))
    results = tmp_path / "results"
    code, output = invoke_cli(["run", str(sweep), "--results-dir", str(results), "--quiet"], monkeypatch, capsys)
    assert code == 0, output
    run = load(results / "tiny")
    assert run.trials["test_accuracy"].max() >= 0.95  # the colour decides the class
    assert run.info["data"]["class_names"] == ["bird", "cat", "dog"]
    assert run.info["data"]["table"]["encoded"] == {"colour": ["blue", "green", "red"]}
    report = (results / "tiny" / "report.md").read_text(encoding="utf-8")
    assert "classes 0 'bird', 1 'cat', 2 'dog'; one-hot encoded 'colour' (3 categories)" in report
    figure = plot_confusion_matrix(run, data_dir=tmp_path)
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["bird", "cat", "dog"]
    code, output = invoke_cli(["resume", str(results / "tiny")], monkeypatch, capsys)
    assert code == 0, output  # the same data encode the same way
    write(tmp_path, animals(240).replace({"colour": {"blue": "navy"}}))
    recorded = json.loads((results / "tiny" / "run.json").read_text(encoding="utf-8"))
    code, output = invoke_cli(["resume", str(results / "tiny")], monkeypatch, capsys)
    assert code == 2 and "the CSV data changed since the run started" in output
    assert json.loads((results / "tiny" / "run.json").read_text(encoding="utf-8")) == recorded


def messy_regression(rows: int) -> pd.DataFrame:
    """A numeric target beside a text column, a column with gaps and a single-valued one."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=rows).round(3), "gappy": rng.normal(size=rows).round(3),
                          "colour": [COLOURS[i % 3] for i in range(rows)], "site": "NL"})
    frame["target"] = (2 * frame["x"] + frame["colour"].map({"red": 1.0, "green": 0.0, "blue": -1.0})).round(3)
    frame["gappy"] = frame["gappy"].astype(object)
    frame.loc[[4, 9], "gappy"] = None
    return frame


def test_validate_says_what_a_messy_regression_table_becomes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, messy_regression(90))
    sweep = write_sweep(tmp_path, csv_sweep({"path": "d.csv", "missing": "median"}))
    code, output = invoke_cli(["validate", str(sweep)], monkeypatch, capsys)
    assert code == 0, output
    assert "task regression (auto: the target holds fractional values)" in output and "objective: val_mse" in output
    for said in ("one-hot encoded 'colour' (3 categories): categories from the training split",
                 "filled missing values with the training split's median: 'gappy'",
                 "dropped 'site' (only 'NL'): a single value on every training row"):
        assert f"\n  {said}" in output


@pytest.mark.parametrize("data, said", [
    ({"categorical": ["target"]}, "data.categorical names the target column 'target', which is what the models learn"),
    ({"categorical": ["colr"]}, "data.categorical names 'colr', which is not a column"),
    ({"missing": "mean", "gaps_in": "colour"}, "and data.missing: mean fills number columns only"),
    ({"task": "regression", "text_target": True}, "data.task is regression, but the target column holds text"),
])
def test_bad_table_settings_exit_2_in_one_line_and_write_nothing(
        data: dict[str, Any], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    frame = messy_regression(60).assign(gappy=1.5)
    if data.pop("gaps_in", None):
        frame.loc[[3], "colour"] = None
    if data.pop("text_target", None):
        frame["target"] = frame["colour"]
    write(tmp_path, frame.drop(columns="site"))
    sweep = write_sweep(tmp_path, csv_sweep({"path": "d.csv", **data}))
    before = sorted(tmp_path.rglob("*"))
    code, output = invoke_cli(["run", str(sweep), "--results-dir", str(tmp_path / "results")], monkeypatch, capsys)
    lines = output.strip().splitlines()
    assert code == 2 and len(lines) == 1 and str(tmp_path / "d.csv") in lines[0] and said in lines[0], output
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.slow
def test_a_messy_regression_runs_and_its_report_lists_the_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from fitsweep import load

    write(tmp_path, messy_regression(120))
    sweep = write_sweep(tmp_path, csv_sweep({"path": "d.csv", "missing": "mean"}, tuner={"max_trials": 2}))
    results = tmp_path / "results"
    code, output = invoke_cli(["run", str(sweep), "--results-dir", str(results), "--quiet"], monkeypatch, capsys)
    assert code == 0, output
    run = load(results / "tiny")
    assert run.spec.data.task == "regression" and run.info["data"]["table"]["encoded"] == {
        "colour": ["blue", "green", "red"]}
    table = run.info["data"]["table"]
    assert set(table["dropped_columns"]) == {"site"} and "gappy" in table["filled"]
    assert run.trials["val_mse"].notna().all() and run.trials["fit_reason"].str.contains("MSE").all()
    report = (results / "tiny" / "report.md").read_text(encoding="utf-8")
    assert "one-hot encoded 'colour' (3 categories)" in report and "dropped 'site' (only 'NL')" in report
    assert "filled missing values with the training split's mean: 'gappy'" in report
