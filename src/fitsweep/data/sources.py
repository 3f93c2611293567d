"""Data sources: each turns its validated spec into arrays, and nothing more.

A source returns a `SourceData`: features and labels (class indices, or a numeric target for a
regression: `fitsweep.data.task` decides which), plus a test set (and, rarely, a
validation set) when the source comes with its own split (files usually do). Splitting and scaling
are `splits`' job, so every source gets the same no-leakage rules. A CSV table's rows stay raw
(`fitsweep.data.csv_tables`) until an encoding fitted on the training split makes them features.
To add a source, add its spec class in `fitsweep.spec` and a loader here, registered under the
same name.

File sources check what they read and raise `DataError` with one line that names the file and
what is wrong, so a bad file fails before any model is built.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

from fitsweep.data._wording import first_line, listing
from fitsweep.data.csv_tables import read_csv_tables
from fitsweep.data.table_encoding import TableLayout
from fitsweep.data.task import CLASSIFICATION, Task, choose_task
from fitsweep.errors import DataError

__all__ = ["SourceData", "load_source", "LOADERS", "NOTMNIST_FILE"]

# The bundled notMNIST_small copy, inside the installed package (see datasets/README.md).
NOTMNIST_FILE = "notmnist_small.h5"
NOTMNIST_SHAPE = (28, 28)


@dataclass(frozen=True)
class SourceData:
    """Arrays a source provides: `x` and `y`, and its own test or validation split if it has one.

    `origin` names where the arrays came from (a file) for error messages; empty means the
    source's name.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    origin: str = ""
    # One row's shape before it was flattened, such as (28, 28); None: flat features, no image.
    feature_shape: tuple[int, ...] | None = None
    # A CSV table's columns: its rows are raw (categories as text, maybe missing numbers) until
    # `fitsweep.data.table_encoding`, fitted on the training split, makes them features.
    table: TableLayout | None = None
    # Classification (int64 class indices) or regression (a float64 target), as `load_source` decided.
    task: Task = CLASSIFICATION

    def parts(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Each provided part as (name, features, labels): training, then test and validation."""
        yield "training data", self.x, self.y
        if self.x_test is not None and self.y_test is not None:
            yield "test set", self.x_test, self.y_test
        if self.x_val is not None and self.y_val is not None:
            yield "validation set", self.x_val, self.y_val


Loader = Callable[[Any, Path], SourceData]
LOADERS: dict[str, Loader] = {}


def _loader(name: str) -> Callable[[Loader], Loader]:
    def register(function: Loader) -> Loader:
        LOADERS[name] = function
        return function

    return register


# --- generated and scikit-learn sources --------------------------------------------------------


@_loader("moons")
def _moons(spec: Any, base_dir: Path) -> SourceData:
    x, y = datasets.make_moons(n_samples=spec.samples, noise=spec.noise, random_state=spec.seed)
    return SourceData(x=x.astype("float32"), y=y.astype("int64"))


@_loader("circles")
def _circles(spec: Any, base_dir: Path) -> SourceData:
    x, y = datasets.make_circles(
        n_samples=spec.samples, noise=spec.noise, factor=spec.factor, random_state=spec.seed
    )
    return SourceData(x=x.astype("float32"), y=y.astype("int64"))


@_loader("digits")
def _digits(spec: Any, base_dir: Path) -> SourceData:
    bunch = datasets.load_digits()
    return SourceData(x=(bunch.data / 16.0).astype("float32"), y=bunch.target.astype("int64"), feature_shape=(8, 8))


@_loader("diabetes")
def _diabetes(spec: Any, base_dir: Path) -> SourceData:
    # The raw measurements: scikit-learn's default copy is centred and scaled over all 442 rows, test rows
    # included, which `splits` would not allow.
    x, y = datasets.load_diabetes(return_X_y=True, scaled=False)
    return SourceData(x=x.astype("float32"), y=y.astype("float64"))


# --- file sources ------------------------------------------------------------------------------


@_loader("hdf5")
def _hdf5(spec: Any, base_dir: Path) -> SourceData:
    path = _resolve(spec.path, base_dir, "data.path")
    return _read_hdf5(
        path, spec.train_dataset, spec.test_dataset, spec.validation_dataset, spec.label_column
    )


@_loader("notmnist")
def _notmnist(spec: Any, base_dir: Path) -> SourceData:
    # as_file gives a real path even when the package is installed zipped.
    with resources.as_file(resources.files("fitsweep") / "datasets" / NOTMNIST_FILE) as path:
        if not path.is_file():
            raise DataError(f"{path}: the bundled notMNIST file is missing; reinstall fitsweep")
        data = replace(_read_hdf5(path, "trainData", "testData", None, -1), feature_shape=NOTMNIST_SHAPE)
    if spec.limit is None or spec.limit >= len(data.y):
        return data
    # Stratified so that a small limit keeps every letter in its original share.
    x, _, y, _ = train_test_split(
        data.x, data.y, train_size=spec.limit, random_state=spec.split_seed, stratify=data.y
    )
    return replace(data, x=x, y=y)


@_loader("csv")
def _csv(spec: Any, base_dir: Path) -> SourceData:
    path = _resolve(spec.path, base_dir, "data.path")
    test_path = None if spec.test_path is None else _resolve(spec.test_path, base_dir, "data.test_path")
    tables = read_csv_tables(spec, path, test_path)
    return SourceData(x=tables.x, y=tables.y, x_test=tables.x_test, y_test=tables.y_test, origin=str(path),
                      table=tables.layout)


@_loader("npz")
def _npz(spec: Any, base_dir: Path) -> SourceData:
    path = _resolve(spec.path, base_dir, "data.path")
    arrays = _read_npz(path)
    has_test = [name in arrays for name in ("x_test", "y_test")]
    if has_test[0] != has_test[1]:
        given, missing = ("x_test", "y_test") if has_test[0] else ("y_test", "x_test")
        raise DataError(f"{path}: has {given} but no {missing}; give both or neither")
    x, y = _npz_pair(arrays, "x_train", "y_train", path)
    # Images, (rows, height, width) or (rows, height, width, channels), keep their shape.
    shape = tuple(int(size) for size in arrays["x_train"].shape[1:])
    feature_shape = shape if len(shape) in (2, 3) else None
    if not has_test[0]:
        return SourceData(x=x, y=y, origin=str(path), feature_shape=feature_shape)
    x_test, y_test = _npz_pair(arrays, "x_test", "y_test", path)
    return SourceData(x=x, y=y, x_test=x_test, y_test=y_test, origin=str(path), feature_shape=feature_shape)


@_loader("kerastuner")
def _kerastuner(spec: Any, base_dir: Path) -> SourceData:
    raise DataError(f"kerastuner: {spec.project} was imported from KerasTuner, which keeps no copy of its data; "
                    "what needs the data (a retrain, resuming) is not available for an imported run")


def _resolve(raw: str, base_dir: Path, key: str) -> Path:
    """The file a sweep file names: relative paths start at the sweep file's folder."""
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not str(path).isprintable():
        raise DataError(f"{str(path)!r}: not a usable file name; {key} holds a control character")
    try:
        exists = path.exists()
    except OSError as error:  # a name too long for the file system
        raise DataError(f"{path}: not a usable file name ({key}: {first_line(error)})") from None
    if not exists:
        raise DataError(f"{path}: no such file ({key}; a relative path starts at the sweep file's folder)")
    if not path.is_file():
        raise DataError(f"{path}: is a folder, not a file; {key} must name a file")
    return path


def _read_hdf5(
    path: Path, train: str, test: str | None, validation: str | None, label_column: int
) -> SourceData:
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise DataError(f"{path}: not a readable HDF5 file ({first_line(error)})") from None
    with file:
        x, y = _hdf5_table(file, train, path, label_column)
        x_test = y_test = x_val = y_val = None
        if test is not None:
            x_test, y_test = _hdf5_table(file, test, path, label_column, hint=(
                "; set data.test_dataset: null to split the test set off the training data"
            ))
        if validation is not None:
            x_val, y_val = _hdf5_table(file, validation, path, label_column)
    return SourceData(x=x, y=y, x_test=x_test, y_test=y_test, x_val=x_val, y_val=y_val, origin=str(path))


def _hdf5_table(
    file: h5py.File, name: str, path: Path, label_column: int, hint: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of one (rows, features + 1) dataset of an HDF5 file."""
    where = f"{path}: dataset '{name}'"
    found = file.get(name)
    if not isinstance(found, h5py.Dataset):
        names = []
        file.visititems(lambda key, item: names.append(key) if isinstance(item, h5py.Dataset) else None)
        raise DataError(f"{path}: no dataset '{name}'; the file has: {listing(names)}{hint}")
    if found.ndim != 2 or found.shape[1] < 2:
        raise DataError(f"{where} has shape {found.shape}; expected 2-D (rows, features + label)")
    if found.dtype.kind not in "biuf":
        raise DataError(f"{where} holds {found.dtype} values; expected numbers")
    columns = found.shape[1]
    if not -columns <= label_column < columns:
        raise DataError(f"{where} has {columns} columns; data.label_column {label_column} is outside it")
    try:
        table = found[()]
    except OSError as error:
        raise DataError(f"{where} cannot be read ({first_line(error)})") from None
    return _features_labels(np.delete(table, label_column, axis=1), table[:, label_column], where)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as file:
            signature = file.read(6)
        # Anything else np.load would try to unpickle, and its error would suggest doing so.
        if not signature.startswith((b"PK", b"\x93NUMPY")):
            raise DataError(f"{path}: not a readable .npz archive (no zip signature; numpy.savez writes one)")
        # No pickle: an object array in a downloaded file could run code when loaded.
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: holds a single array, not an .npz archive of x_train, y_train, ...")
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npz archive of numeric arrays ({first_line(error)})") from None


def _npz_pair(arrays: dict[str, np.ndarray], x_name: str, y_name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    missing = [name for name in (x_name, y_name) if name not in arrays]
    if missing:
        raise DataError(f"{path}: no array {' or '.join(missing)}; the file has: {listing(list(arrays))}")
    x, y = arrays[x_name], arrays[y_name]
    where = f"{path}: {x_name}"
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise DataError(f"{path}: {x_name} and {y_name} must hold numbers, got {x.dtype} and {y.dtype}")
    if x.ndim < 2:
        raise DataError(f"{where} has shape {x.shape}; expected (rows, features) or (rows, height, width)")
    if y.ndim > 1 and y.shape[1:] != (1,) * (y.ndim - 1):
        raise DataError(f"{path}: {y_name} has shape {y.shape}; expected 1-D class indices, not one-hot rows")
    if len(x) != len(y):
        raise DataError(f"{path}: {x_name} has {len(x)} rows but {y_name} has {len(y)}")
    if len(x) == 0:
        raise DataError(f"{where} has no rows")
    # Images and other multi-axis samples go into a Dense network as flat rows.
    return _features_labels(x.reshape(len(x), -1), y.reshape(-1), f"{path}: {x_name}/{y_name}")


def _features_labels(x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 features (uint8 ones divided by 255) and float64 labels, after checking both."""
    if len(x) == 0:
        raise DataError(f"{where} has no rows")
    features = x.astype("float32") / np.float32(255.0) if x.dtype == np.uint8 else x.astype("float32")
    _check_arrays(features, y, where)
    return features, np.asarray(y).astype("float64")


# --- entry point -------------------------------------------------------------------------------


def load_source(spec: Any, base_dir: Path | str = ".") -> SourceData:
    """Load the arrays of the data source a sweep file names.

    Args:
        spec: The validated `data` section of a sweep file.
        base_dir: The sweep file's folder; relative file paths resolve against it.

    Returns:
        The source's arrays, checked for finite features and labels and matching feature counts
        across its parts, with the task `data.task` names or `auto` reads from the labels
        (`fitsweep.data.task`): for classification, labels that are integer class indices of at
        least two classes (int64); for regression, a target of at least two values (float64).

    Raises:
        DataError: One line naming the file (or source) and what is wrong with it.

    Example:
        >>> from fitsweep.spec import MoonsData
        >>> load_source(MoonsData(source="moons", samples=100)).x.shape
        (100, 2)
    """
    data = LOADERS[spec.source](spec, Path(base_dir))
    origin = data.origin or spec.source
    for part, x, y in data.parts():
        # A table's raw rows may hold text and gaps: its reader checked them, its encoding makes them numbers.
        _check_arrays(x, y, f"{origin} ({part})", features=data.table is None)
        if x.shape[1:] != data.x.shape[1:]:
            raise DataError(
                f"{origin}: the {part} has {x.shape[1]} features, the training data "
                f"{data.x.shape[1]}; they must match"
            )
    data = _labelled(data, _task_of(spec, data, origin), origin)
    return _with_image_shape(data, getattr(spec, "image_shape", None), origin)


def _task_of(spec: Any, data: SourceData, origin: str) -> Task:
    """`data.task`, or what `auto` reads from the labels; a CSV target of text names classes whatever their count."""
    setting = getattr(spec, "task", "auto")
    if data.table is None or data.table.class_names is None:
        return choose_task(setting, [y for _, _, y in data.parts()])
    if setting == "regression":
        raise DataError(f"{origin}: data.task is regression, but the target column holds text (class names); "
                        "a regression needs a numeric target, or set data.task: classification")
    return Task("classification", "the target holds text: class names", automatic=setting == "auto")


def _labelled(data: SourceData, task: Task, origin: str) -> SourceData:
    """The data with labels typed for the task: int64 class indices, or a float64 target."""
    if task.regression:
        if len(np.unique(data.y)) < 2:
            raise DataError(f"{origin}: every training row has target {data.y[0]:g}; a regression needs a target "
                            "that varies")
        cast = "float64"
    else:
        for part, _, y in data.parts():
            _check_class_indices(y, f"{origin} ({part})")
        classes = np.unique(data.y)
        if len(classes) < 2:
            raise DataError(
                f"{origin}: the training data hold only class {classes[0]:g}; at least two classes are needed"
            )
        cast = "int64"

    def typed(y: np.ndarray | None) -> np.ndarray | None:
        return None if y is None else np.asarray(y).astype(cast)

    return replace(data, y=np.asarray(data.y).astype(cast), y_test=typed(data.y_test), y_val=typed(data.y_val),
                   task=task)


def _with_image_shape(data: SourceData, image_shape: list[int] | None, origin: str) -> SourceData:
    """The data with `data.image_shape` as their row shape, once it is known to fit the features."""
    if image_shape is None:
        return data
    features = int(data.x.shape[1])
    if math.prod(image_shape) != features:
        shape = "x".join(str(size) for size in image_shape)
        raise DataError(
            f"{origin}: data.image_shape {list(image_shape)} holds {math.prod(image_shape)} values ({shape}), but "
            f"each row has {features} features; allowed: [height, width] or [height, width, channels] whose "
            f"product is {features}"
        )
    return replace(data, feature_shape=tuple(image_shape))


def _check_arrays(x: np.ndarray, y: np.ndarray, where: str, features: bool = True) -> None:
    if x.ndim != 2 or len(x) == 0 or x.shape[1] == 0:
        raise DataError(f"{where}: features must be a non-empty 2-D table, got shape {x.shape}")
    if len(y) != len(x):
        raise DataError(f"{where}: {len(x)} feature rows but {len(y)} labels")
    if features:
        bad = ~np.isfinite(x)
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise DataError(
                f"{where}: features contain NaN or infinite values (first at row {row}, column {column})"
            )
    labels = np.asarray(y)
    if labels.dtype.kind not in "biuf":
        raise DataError(f"{where}: labels hold {labels.dtype} values; expected numbers (class indices or a target)")
    wrong = ~np.isfinite(labels)
    if wrong.any():
        row = int(np.argmax(wrong))
        raise DataError(f"{where}: labels must be finite numbers, got {labels[row].item()!r} at row {row}")


def _check_class_indices(y: np.ndarray, where: str) -> None:
    labels = np.asarray(y)
    wrong = (labels != np.round(labels)) | (labels < 0)
    if wrong.any():
        row = int(np.argmax(wrong))
        value = labels[row].item()
        raise DataError(
            f"{where}: labels must be non-negative integers (class indices), got {value:g} at row {row}; "
            "for a numeric target to predict, set data.task: regression"
        )
