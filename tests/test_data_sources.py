"""File data sources, the bundled notMNIST copy, and the no-leakage rules of splitting.

Every file is tiny and generated in `tmp_path`; the one check against the shared float32
notMNIST file is skipped where `../shared` is not beside the checkout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from fitsweep.data import SourceData, load_source, make_splits, prepare_data
from fitsweep.errors import DataError, SpecError
from fitsweep.spec import parse_spec

SHARED_NOTMNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "notmnist_small.h5"


# --- helpers ---------------------------------------------------------------------------------


def data_spec(**data: Any) -> Any:
    """The validated `data` section of a sweep file, exactly as the engine gets it."""
    return parse_spec({"name": "t", "data": data}).data


def table(rows: int, *, n_classes: int = 3, features: int = 3, start: int = 0, seed: int = 0) -> np.ndarray:
    """Rows of (row id, random features..., label): the seed study's layout, ids unique from `start`."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + rows, dtype="float64")[:, None]
    labels = (np.arange(rows) % n_classes).astype("float64")[:, None]
    return np.hstack([ids, rng.normal(5.0, 2.0, size=(rows, features - 1)), labels])


def write_h5(path: Path, **tables: np.ndarray) -> Path:
    with h5py.File(path, "w") as file:
        for name, values in tables.items():
            file.create_dataset(name, data=values)
    return path


def write_csv(path: Path, values: np.ndarray, target: str = "target") -> Path:
    columns = [f"f{i}" for i in range(values.shape[1] - 1)] + [target]
    frame = pd.DataFrame(values, columns=columns)
    frame[target] = frame[target].astype("int64")
    frame.to_csv(path, index=False)
    return path


def load_error(spec: Any, base_dir: Path) -> str:
    """The message of the DataError a load raises; it must be a single line."""
    with pytest.raises(DataError) as caught:
        prepare_data(spec, base_dir)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- hdf5 --------------------------------------------------------------------------------------


def test_hdf5_reads_float_tables_in_the_seed_layout(tmp_path: Path) -> None:
    write_h5(tmp_path / "data.h5", trainData=table(60).astype("float32"), testData=table(30, start=60))
    data = load_source(data_spec(source="hdf5", path="data.h5"), tmp_path)
    assert data.x.shape == (60, 3) and data.x.dtype == np.float32
    assert data.y.dtype == np.int64 and set(data.y) == {0, 1, 2}
    assert data.x_test is not None and data.x_test.shape == (30, 3)
    assert data.x_val is None


def test_hdf5_divides_uint8_features_by_255(tmp_path: Path) -> None:
    pixels = np.tile(np.arange(0, 256, 5, dtype="uint8"), (40, 1))
    labels = (np.arange(40) % 2).astype("uint8")[:, None]
    write_h5(tmp_path / "data.h5", trainData=np.hstack([pixels, labels]))
    data = load_source(data_spec(source="hdf5", path="data.h5", test_dataset=None), tmp_path)
    np.testing.assert_array_equal(data.x[0], pixels[0].astype("float32") / np.float32(255))
    assert data.x.max() == 1.0 and list(data.y[:4]) == [0, 1, 0, 1]


def test_hdf5_without_test_dataset_splits_the_test_set_off(tmp_path: Path) -> None:
    write_h5(tmp_path / "data.h5", trainData=table(100))
    splits = prepare_data(data_spec(source="hdf5", path="data.h5", test_dataset=None), tmp_path)
    assert len(splits.x_test) == 20 and len(splits.x_train) + len(splits.x_val) == 80


def test_hdf5_validation_dataset_replaces_the_validation_split(tmp_path: Path) -> None:
    write_h5(tmp_path / "d.h5", train=table(50), test=table(20, start=50), val=table(15, start=70))
    spec = data_spec(
        source="hdf5", path="d.h5", train_dataset="train", test_dataset="test", validation_dataset="val",
        scaling="none",  # the row ids are read back as stored
    )
    splits = prepare_data(spec, tmp_path)
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (50, 15, 20)
    np.testing.assert_array_equal(splits.x_val[:, 0], np.arange(70, 85))


def test_hdf5_label_column_may_be_first(tmp_path: Path) -> None:
    values = table(40)
    write_h5(tmp_path / "d.h5", trainData=np.roll(values, 1, axis=1))
    data = load_source(data_spec(source="hdf5", path="d.h5", test_dataset=None, label_column=0), tmp_path)
    np.testing.assert_array_equal(data.y, values[:, -1])
    np.testing.assert_allclose(data.x, values[:, :-1].astype("float32"))


def _bad_labels(rows: np.ndarray) -> np.ndarray:
    rows = rows.copy()
    rows[3, -1] = 1.5
    return rows


def _nan(rows: np.ndarray) -> np.ndarray:
    rows = rows.copy()
    rows[4, 1] = np.nan
    return rows


def _one_class(rows: np.ndarray) -> np.ndarray:
    rows = rows.copy()
    rows[:, -1] = 0
    return rows


@pytest.mark.parametrize(
    ("train", "extra", "fragment"),
    [
        (table(30)[:, 0], {}, "has shape (30,)"),
        (table(30)[:, :1], {}, "has shape (30, 1)"),
        (_bad_labels(table(30)), {"task": "classification"}, "got 1.5 at row 3"),
        (_nan(table(30)), {}, "NaN or infinite values (first at row 4, column 1)"),
        (np.vstack([table(30)[:, :-1].T, np.full(30, np.inf)]).T, {}, "got inf at row 0"),
        (_one_class(table(30)), {}, "only class 0"),
        (np.where(table(30) == 1, 5, table(30)), {}, "no sample has label 1"),
        (table(30), {"label_column": 7}, "label_column 7 is outside"),
    ],
    ids=["1-D", "one-column", "float-labels", "nan", "inf-labels", "one-class", "skipped-class", "label-column"],
)
def test_hdf5_rejects_bad_tables(tmp_path: Path, train: np.ndarray, extra: dict, fragment: str) -> None:
    write_h5(tmp_path / "d.h5", trainData=train)
    message = load_error(data_spec(source="hdf5", path="d.h5", test_dataset=None, **extra), tmp_path)
    assert str(tmp_path / "d.h5") in message and fragment in message


def test_hdf5_missing_dataset_lists_what_the_file_has(tmp_path: Path) -> None:
    write_h5(tmp_path / "d.h5", trainData=table(30), other=table(5))
    message = load_error(data_spec(source="hdf5", path="d.h5"), tmp_path)
    assert "no dataset 'testData'" in message and "'other', 'trainData'" in message
    assert "test_dataset: null" in message


def test_hdf5_rejects_text_and_non_hdf5_files(tmp_path: Path) -> None:
    (tmp_path / "d.h5").write_text("not hdf5")
    assert "not a readable HDF5 file" in load_error(data_spec(source="hdf5", path="d.h5"), tmp_path)
    with h5py.File(tmp_path / "s.h5", "w") as file:
        file.create_dataset("trainData", data=np.array([[b"a", b"b"]] * 5))
    message = load_error(data_spec(source="hdf5", path="s.h5", test_dataset=None), tmp_path)
    assert "expected numbers" in message


def test_hdf5_test_set_with_other_feature_count_is_refused(tmp_path: Path) -> None:
    write_h5(tmp_path / "d.h5", trainData=table(30), testData=table(10, features=5))
    assert "the test set has 5 features, the training data 3" in load_error(
        data_spec(source="hdf5", path="d.h5"), tmp_path
    )


# --- missing files and relative paths, every file source ---------------------------------------

FILE_SOURCES: list[dict[str, Any]] = [
    {"source": "hdf5"},
    {"source": "csv"},
    {"source": "npz"},
]


@pytest.mark.parametrize("source", FILE_SOURCES, ids=lambda s: s["source"])
def test_missing_file_and_folder_are_named(tmp_path: Path, source: dict[str, Any]) -> None:
    message = load_error(data_spec(**source, path="nope.dat"), tmp_path)
    assert message.startswith(str(tmp_path / "nope.dat")) and "no such file" in message
    (tmp_path / "folder").mkdir()
    message = load_error(data_spec(**source, path="folder"), tmp_path)
    assert str(tmp_path / "folder") in message and "is a folder" in message


def _write_any(kind: str, path: Path) -> None:
    values = table(40)
    if kind == "hdf5":
        write_h5(path, trainData=values)
    elif kind == "csv":
        write_csv(path, values)
    else:
        with path.open("wb") as stream:  # a path would get ".npz" appended
            np.savez(stream, x_train=values[:, :-1], y_train=values[:, -1])


@pytest.mark.parametrize("source", FILE_SOURCES, ids=lambda s: s["source"])
def test_relative_paths_start_at_the_sweep_folder(tmp_path: Path, source: dict[str, Any]) -> None:
    (tmp_path / "sweeps" / "data").mkdir(parents=True)
    target = tmp_path / "sweeps" / "data" / "file.bin"
    _write_any(source["source"], target)
    extra = {"test_dataset": None} if source["source"] == "hdf5" else {}
    relative = data_spec(**source, path="data/file.bin", **extra)
    assert len(load_source(relative, tmp_path / "sweeps").x) == 40
    with pytest.raises(DataError, match="no such file"):
        load_source(relative, tmp_path)
    absolute = data_spec(**source, path=str(target), **extra)
    assert len(load_source(absolute, tmp_path / "elsewhere").x) == 40


# --- csv ---------------------------------------------------------------------------------------


def test_csv_with_test_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", table(40), target="label")
    test = pd.DataFrame(table(12, start=40), columns=["f0", "f1", "f2", "label"])
    test[["label", "f2", "f0", "f1"]].to_csv(tmp_path / "test.csv", index=False)  # other order
    spec = data_spec(source="csv", path="train.csv", target="label", test_path="test.csv")
    data = load_source(spec, tmp_path)
    assert data.x.shape == (40, 3) and data.x_test is not None and data.x_test.shape == (12, 3)
    np.testing.assert_array_equal(data.x_test[:, 0], np.arange(40, 52))


def _csv_text(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a,b,targets\n1,2,0\n3,4,1\n", "no target column 'target' (data.target); did you mean 'targets'?"),
        ("a,b,y\n1,2,0\n3,4,1\n", "the columns are: 'a', 'b', 'y'"),
        ("a,b,target\n1,x,0\n3,4,1\n5,6,0\n", "column 'b' holds numbers but also text ('x' on line 2)"),
        ("a,b,target\n1,,0\n3,4,1\n", "column 'b' has 1 missing value (on line 2); set data.missing"),
        ("a,b,target\n1,inf,0\n3,4,1\n", "column 'b' holds an infinite value"),
        ("a,b,target\n1,2,0\n3,4,0\n", "only class 0"),
        ("target\n0\n1\n", "has only the target column"),
        ("", "empty file"),
        ("a,b,target\n", "has no rows"),
    ],
    ids=["no-target", "no-target-listed", "numbers-with-text", "nan", "inf", "one-class",
         "no-features", "empty", "header-only"],
)
def test_csv_rejects_bad_files(tmp_path: Path, text: str, fragment: str) -> None:
    _csv_text(tmp_path / "d.csv", text)
    message = load_error(data_spec(source="csv", path="d.csv"), tmp_path)
    assert str(tmp_path / "d.csv") in message and fragment in message


def test_csv_test_file_must_have_the_same_columns(tmp_path: Path) -> None:
    _csv_text(tmp_path / "train.csv", "a,b,target\n1,2,0\n3,4,1\n")
    _csv_text(tmp_path / "test.csv", "a,c,target\n1,2,0\n3,4,1\n")
    message = load_error(data_spec(source="csv", path="train.csv", test_path="test.csv"), tmp_path)
    assert str(tmp_path / "test.csv") in message and "feature columns differ" in message


# --- npz ---------------------------------------------------------------------------------------


def test_npz_flattens_uint8_images(tmp_path: Path) -> None:
    images = np.full((20, 4, 4), 255, dtype="uint8")
    labels = np.arange(20) % 2
    np.savez(tmp_path / "d.npz", x_train=images, y_train=labels, x_test=images[:6], y_test=labels[:6])
    data = load_source(data_spec(source="npz", path="d.npz"), tmp_path)
    assert data.x.shape == (20, 16) and data.x.max() == 1.0
    assert data.x_test is not None and data.x_test.shape == (6, 16)


@pytest.mark.parametrize(
    ("arrays", "fragment"),
    [
        ({"x": np.zeros((4, 2)), "y": np.arange(4) % 2}, "no array x_train or y_train; the file has: 'x', 'y'"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.arange(4) % 2, "x_test": np.zeros((2, 2))},
         "has x_test but no y_test"),
        ({"x_train": np.zeros(4), "y_train": np.arange(4) % 2}, "has shape (4,)"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.eye(4)[:, :2]}, "not one-hot rows"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.arange(3)}, "x_train has 4 rows but y_train has 3"),
    ],
    ids=["missing-arrays", "half-test", "1-D", "one-hot", "row-count"],
)
def test_npz_rejects_bad_archives(tmp_path: Path, arrays: dict[str, np.ndarray], fragment: str) -> None:
    np.savez(tmp_path / "d.npz", **arrays)
    message = load_error(data_spec(source="npz", path="d.npz"), tmp_path)
    assert str(tmp_path / "d.npz") in message and fragment in message


def test_npz_rejects_other_files(tmp_path: Path) -> None:
    np.save(tmp_path / "one.npy", np.zeros((3, 2)))
    assert "single array" in load_error(data_spec(source="npz", path="one.npy"), tmp_path)
    (tmp_path / "text.npz").write_text("hello")
    assert "not a readable .npz" in load_error(data_spec(source="npz", path="text.npz"), tmp_path)
    np.savez(tmp_path / "obj.npz", x_train=np.array([{}, {}], dtype=object), y_train=np.arange(2))
    assert "not a readable .npz" in load_error(data_spec(source="npz", path="obj.npz"), tmp_path)


# --- the sweep file section ------------------------------------------------------------------


def test_sweep_file_keys_are_checked_at_the_edge() -> None:
    spec = data_spec(source="hdf5", path="data.h5")
    assert (spec.train_dataset, spec.test_dataset, spec.label_column) == ("trainData", "testData", -1)
    with pytest.raises(SpecError, match="did you mean 'target'"):
        data_spec(source="csv", path="a.csv", taget="y")
    with pytest.raises(SpecError, match=r"data\.path: required key is missing"):
        data_spec(source="npz")
    with pytest.raises(SpecError, match=r"data\.limit"):
        data_spec(source="notmnist", limit=5)
    with pytest.raises(SpecError, match="notmnist"):
        data_spec(source="nope")


# --- bundled notMNIST ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notmnist() -> SourceData:
    return load_source(data_spec(source="notmnist"))


def test_notmnist_is_bundled_with_its_test_set(notmnist: SourceData) -> None:
    assert notmnist.x.shape == (15914, 784) and notmnist.x.dtype == np.float32
    assert notmnist.x_test is not None and notmnist.y_test is not None
    assert notmnist.x_test.shape == (2810, 784)
    assert set(np.unique(notmnist.y)) == set(range(10)) == set(np.unique(notmnist.y_test))
    assert notmnist.x.min() == 0.0 and notmnist.x.max() == 1.0
    assert notmnist.origin.endswith("notmnist_small.h5")


def test_notmnist_limit_is_a_stratified_seeded_subset(notmnist: SourceData) -> None:
    spec = data_spec(source="notmnist", limit=500, split_seed=3)
    small = load_source(spec)
    assert len(small.x) == 500 and np.bincount(small.y).tolist() == [50] * 10
    assert small.x_test is not None and len(small.x_test) == 2810
    np.testing.assert_array_equal(small.x, load_source(spec).x)
    other = load_source(data_spec(source="notmnist", limit=500, split_seed=4))
    assert not np.array_equal(small.x, other.x)
    splits = make_splits(small, spec)
    assert splits.n_classes == 10 and splits.n_features == 784


def test_notmnist_uint8_copy_equals_the_shared_float_file(notmnist: SourceData) -> None:
    if not SHARED_NOTMNIST.is_file():
        pytest.skip(f"{SHARED_NOTMNIST} is not beside the checkout")
    with h5py.File(SHARED_NOTMNIST, "r") as file:
        train, test = file["trainData"][()], file["testData"][()]
    assert notmnist.x_test is not None and notmnist.y_test is not None
    np.testing.assert_array_equal(notmnist.x, train[:, :-1])
    np.testing.assert_array_equal(notmnist.y, train[:, -1].astype("int64"))
    np.testing.assert_array_equal(notmnist.x_test, test[:, :-1])
    np.testing.assert_array_equal(notmnist.y_test, test[:, -1].astype("int64"))


# --- splits: no leakage, no empty class ------------------------------------------------------


def _ids(x: np.ndarray) -> set[int]:
    return set(np.rint(x[:, 0]).astype(int).tolist())


def _spec_for(scaling: str, **extra: Any) -> Any:
    return data_spec(source="hdf5", path="d.h5", scaling=scaling, split_seed=7, **extra)


@pytest.mark.parametrize("stratify", [True, False])
def test_test_rows_never_reach_training_or_validation(stratify: bool) -> None:
    values = table(200, n_classes=4)
    data = SourceData(x=values[:, :-1].astype("float32"), y=values[:, -1].astype("int64"))
    splits = make_splits(data, _spec_for("none", test_dataset=None, stratify=stratify))
    train, val, test = _ids(splits.x_train), _ids(splits.x_val), _ids(splits.x_test)
    assert not (train & test or val & test or train & val)
    assert train | val | test == set(range(200))


@pytest.mark.parametrize("scaling", ["standardize", "minmax"])
def test_scaler_is_fitted_on_the_training_split_only(tmp_path: Path, scaling: str) -> None:
    # The test file is shifted far from the training data: a leaking scaler would pull it in.
    test = table(40, start=1000, seed=1)
    test[:, 1:-1] += 50.0
    write_h5(tmp_path / "d.h5", trainData=table(200), testData=test)
    raw = prepare_data(_spec_for("none"), tmp_path)
    scaled = prepare_data(_spec_for(scaling), tmp_path)
    assert _ids(raw.x_test) == set(range(1000, 1040)) and not _ids(raw.x_test) & _ids(raw.x_train)
    if scaling == "standardize":
        np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0.0, atol=1e-5)
        np.testing.assert_allclose(scaled.x_train.std(axis=0), 1.0, atol=1e-4)
        mean, std = raw.x_train.mean(axis=0), raw.x_train.std(axis=0)
    else:
        assert scaled.x_train.min() == 0.0 and scaled.x_train.max() == pytest.approx(1.0)
        mean, std = raw.x_train.min(axis=0), raw.x_train.max(axis=0) - raw.x_train.min(axis=0)
    for part in ("x_val", "x_test"):
        expected = (getattr(raw, part) - mean) / std
        np.testing.assert_allclose(getattr(scaled, part), expected, rtol=1e-4, atol=1e-4)
    assert scaled.x_test[:, 1:].mean() > 3  # still far away: scaled with training statistics


def test_explicit_validation_set_missing_a_class_is_refused(tmp_path: Path) -> None:
    val = table(12, start=500)
    val[:, -1] = val[:, -1] % 2  # classes 0 and 1 only
    write_h5(tmp_path / "d.h5", trainData=table(60), testData=table(12, start=400), val=val)
    message = load_error(_spec_for("none", validation_dataset="val"), tmp_path)
    assert "the validation split has no sample of class 2" in message


def test_random_split_leaving_a_class_empty_is_refused() -> None:
    y = np.array([0] * 40 + [1] * 2, dtype="int64")
    x = np.arange(42, dtype="float32")[:, None]
    spec = data_spec(source="moons", stratify=False, test_size=0.1, split_seed=0)
    with pytest.raises(DataError, match=r"the (validation|test) split has no sample of class 1"):
        make_splits(SourceData(x=x, y=y), spec)


def test_make_splits_keeps_its_two_argument_form_for_generated_sources() -> None:
    spec = data_spec(source="moons", samples=100)
    splits = make_splits(load_source(spec), spec)
    assert splits.n_classes == 2 and len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 100


def test_diabetes_is_scikit_learns_raw_measurements_read_as_a_regression() -> None:
    from sklearn.datasets import load_diabetes

    data = load_source(data_spec(source="diabetes"))
    x, y = load_diabetes(return_X_y=True, scaled=False)
    assert data.task.regression and data.x.shape == (442, 10) and data.x_test is None
    np.testing.assert_allclose(data.x, x, rtol=1e-6)
    np.testing.assert_array_equal(data.y, y)
