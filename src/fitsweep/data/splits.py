"""Train, validation and test splits, and a table's encoding and the scaling fitted on the training split only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from fitsweep.data._wording import listing
from fitsweep.data.scaling import UNSCALED, Scaling, choose_scaling
from fitsweep.data.sources import SourceData, load_source
from fitsweep.data.table_encoding import TableEncoding, fit_table_encoding
from fitsweep.data.task import CLASSIFICATION, Task
from fitsweep.errors import DataError

__all__ = ["Splits", "make_splits", "prepare_data", "DEFAULT_TRAIN_METRICS_ROWS"]

# Training metrics are measured on every training row up to this many (or the validation
# split's size, if larger): enough that their binomial noise stays below the validation split's.
DEFAULT_TRAIN_METRICS_ROWS = 2000


@dataclass(frozen=True)
class Splits:
    """The three splits of a sweep's data, features as float32, labels as int64 classes or a float64 target."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    # The fixed, stratified rows of the training split on which training metrics are measured.
    x_train_measured: np.ndarray
    y_train_measured: np.ndarray
    # One row's shape before it was flattened into features, such as (28, 28) for images; None: flat data.
    feature_shape: tuple[int, ...] | None = None
    # The scaling applied to every split, and why (what `data.scaling: auto` decided).
    scaling: Scaling = UNSCALED
    # A CSV table's encoding, fitted on the training split (text columns, missing values, constants); None: not a table.
    table: TableEncoding | None = None

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """The classes' names when the labels were text (class i is the i-th), else None."""
        return self.table.layout.class_names if self.table is not None else None
    # Classification or regression, and why (what `data.task: auto` decided); n_classes is 0 for regression.
    task: Task = CLASSIFICATION
    # A regression's target is trained as (y - target_center) / target_scale (`data.standardize_target`);
    # the splits keep it, and every metric, in its own units.
    target_center: float = 0.0
    target_scale: float = 1.0

    @property
    def n_features(self) -> int:
        """Number of input features per sample."""
        return int(self.x_train.shape[1])

    @property
    def summary(self) -> str:
        """The data as `run` and `validate` print it: split sizes, shape, task, scaling, then what was done to a table.

        The first line says the sizes; a table adds one indented line per thing done to it
        (columns encoded, values filled, rows or columns dropped).
        """
        names = f" ({listing(self.class_names)})" if self.class_names else ""
        labels = self._target_summary() if self.task.regression else f"{self.n_classes} classes{names}"
        line = (f"data: {len(self.y_train):,} training, {len(self.y_val):,} validation and {len(self.y_test):,} "
                f"test rows, {self.n_features:,} features, {labels}; task {self.task.summary}; "
                f"scaling {self.scaling.summary}")
        notes = self.table.notes if self.table is not None else []
        return "\n".join([line, *(f"  {note}" for note in notes)])

    def _target_summary(self) -> str:
        standardized = "; standardized for training" if self.target_scale != 1.0 or self.target_center else ""
        return (f"a numeric target (training mean {self.y_train.mean():.4g}, standard deviation "
                f"{self.y_train.std():.4g}{standardized})")

    @property
    def target_variance(self) -> float:
        """A regression's baseline: the mean squared error of predicting the training split's mean (R² = 0)."""
        return float(np.var(self.y_train))

    @property
    def class_priors(self) -> np.ndarray:
        """Share of each class in the training split (for the chance-level loss)."""
        counts = np.bincount(self.y_train, minlength=self.n_classes)
        priors: np.ndarray = counts / counts.sum()
        return priors


def prepare_data(spec: Any, base_dir: Path | str = ".") -> Splits:
    """Load a sweep's data source and split it: the one entry point the engine uses."""
    return make_splits(load_source(spec, base_dir), spec)


def make_splits(data: SourceData, spec: Any) -> Splits:
    """Split a source's arrays into train, validation and test, then scale.

    The test split is the source's own when it has one, else a seeded (stratified unless
    `stratify: false`) `test_size` fraction. Validation is likewise the source's own or a
    `validation_size` fraction of what remains. A CSV table's encoding (categories, filled
    values, constant columns; see `fitsweep.data.table_encoding`) and then the scaling
    (`data.scaling`; `auto` decides from the training split, see `fitsweep.data.scaling`) are
    fitted on the training split only, so no statistic of validation or test rows leaks into
    training.

    Raises:
        DataError: Labels that skip a class index, or a split left without some class.

    Example:
        >>> from fitsweep.spec import MoonsData
        >>> from fitsweep.data import load_source
        >>> spec = MoonsData(source="moons", samples=200)
        >>> splits = make_splits(load_source(spec), spec)
        >>> len(splits.x_train) + len(splits.x_val) + len(splits.x_test)
        200
    """
    where = data.origin or spec.source
    if data.task.regression:
        return _regression_splits(data, spec, where)
    n_classes = _count_classes([y for _, _, y in data.parts()], where)
    y_all = np.asarray(data.y).astype("int64")
    if data.x_test is None:
        x_pool, x_test, y_pool, y_test = _split(data.x, y_all, spec.test_size, spec, "test_size", where)
    else:
        x_pool, y_pool = data.x, y_all
        x_test, y_test = data.x_test, np.asarray(data.y_test).astype("int64")
    if data.x_val is None:
        x_train, x_val, y_train, y_val = _split(
            x_pool, y_pool, spec.validation_size, spec, "validation_size", where
        )
    else:
        x_train, y_train = x_pool, y_pool
        x_val, y_val = data.x_val, np.asarray(data.y_val).astype("int64")
    names = data.table.class_names if data.table is not None else None
    for split, labels in (("training", y_train), ("validation", y_val), ("test", y_test)):
        _check_classes(labels, n_classes, split, where, names)
    table, scaling, (x_train, x_val, x_test) = _encoded_and_scaled(data, spec, where, x_train, x_val, x_test)
    rows = measured_rows(len(y_train), len(y_val), spec.train_metrics_rows, where)
    x_measured, y_measured = _measured_sample(x_train, y_train, rows, spec.split_seed)
    return Splits(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
        x_test=x_test, y_test=y_test, n_classes=max(n_classes, 2),
        x_train_measured=x_measured, y_train_measured=y_measured, feature_shape=data.feature_shape,
        scaling=scaling, table=table, task=data.task,
    )


def _regression_splits(data: SourceData, spec: Any, where: str) -> Splits:
    """A regression's splits: drawn at random (a numeric target has no classes to stratify by), then scaled."""
    y_all = np.asarray(data.y, dtype="float64")
    if data.x_test is None:
        x_pool, x_test, y_pool, y_test = _random_split(data.x, y_all, spec.test_size, spec, "test_size", where)
    else:
        x_pool, y_pool, x_test, y_test = data.x, y_all, data.x_test, np.asarray(data.y_test, dtype="float64")
    if data.x_val is None:
        x_train, x_val, y_train, y_val = _random_split(x_pool, y_pool, spec.validation_size, spec,
                                                       "validation_size", where)
    else:
        x_train, y_train, x_val, y_val = x_pool, y_pool, data.x_val, np.asarray(data.y_val, dtype="float64")
    table, scaling, (x_train, x_val, x_test) = _encoded_and_scaled(data, spec, where, x_train, x_val, x_test)
    rows = measured_rows(len(y_train), len(y_val), spec.train_metrics_rows, where)
    x_measured, y_measured = x_train, y_train
    if rows < len(y_train):
        x_measured, _, y_measured, _ = train_test_split(x_train, y_train, train_size=rows, random_state=spec.split_seed)
    center, scale = (float(y_train.mean()), float(y_train.std())) if spec.standardize_target else (0.0, 1.0)
    return Splits(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test, n_classes=0,
        x_train_measured=x_measured, y_train_measured=y_measured, feature_shape=data.feature_shape,
        scaling=scaling, table=table, task=data.task, target_center=center, target_scale=scale or 1.0,
    )


def _encoded_and_scaled(data: SourceData, spec: Any, where: str, *splits: np.ndarray
                        ) -> tuple[TableEncoding | None, Scaling, tuple[np.ndarray, ...]]:
    """A table's text columns encoded and every feature scaled, both fitted on the first split (training)."""
    table = fit_table_encoding(data.table, splits[0], where) if data.table is not None else None
    if table is not None:
        splits = tuple(table.transform(x) for x in splits)
    scaling = choose_scaling(spec.scaling, splits[0], images=data.feature_shape is not None)
    return table, scaling, tuple(scaling.apply(*splits))


def _random_split(x: np.ndarray, y: np.ndarray, fraction: float, spec: Any, key: str, where: str
                  ) -> tuple[np.ndarray, ...]:
    try:
        return tuple(train_test_split(x, y, test_size=fraction, random_state=spec.split_seed))
    except ValueError as error:
        raise DataError(f"{where}: cannot split with data.{key}={fraction}: {error}") from None


def measured_rows(n_train: int, n_val: int, requested: int | None, where: str) -> int:
    """How many training rows the training metrics are measured on.

    By default every row, up to the larger of `DEFAULT_TRAIN_METRICS_ROWS` and the validation
    split's size: then the training metrics are at most as noisy as the validation metrics
    they are compared with, at a small share of an epoch's cost.

    Raises:
        DataError: `data.train_metrics_rows` above the training split's size.
    """
    if requested is None:
        return min(n_train, max(DEFAULT_TRAIN_METRICS_ROWS, n_val))
    if requested > n_train:
        raise DataError(
            f"{where}: data.train_metrics_rows is {requested}, but the training split has {n_train} rows; "
            f"allowed: 10 to {n_train}, or null for the default"
        )
    return requested


def _measured_sample(x: np.ndarray, y: np.ndarray, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if rows >= len(y):
        return x, y
    # Stratified when every class can have a row; a tiny sample of many classes cannot be.
    stratify = y if rows >= len(np.unique(y)) else None
    x_sample, _, y_sample, _ = train_test_split(x, y, train_size=rows, random_state=seed, stratify=stratify)
    return x_sample, y_sample


def _count_classes(labels: list[np.ndarray], where: str) -> int:
    """The number of classes, once labels are known to be 0..K-1 with none skipped."""
    classes = np.unique(np.concatenate([np.asarray(y).astype("int64") for y in labels]))
    if len(classes) < 2:
        raise DataError(f"{where}: every sample has label {classes[0]}; at least two classes are needed")
    # A skipped index would become a class the model must predict but never sees.
    skipped = np.flatnonzero(classes != np.arange(len(classes)))
    if len(skipped):
        raise DataError(
            f"{where}: no sample has label {skipped[0]}, but label {classes[-1]} exists; "
            "labels must be class indices 0..K-1 with every class present"
        )
    return len(classes)


def _split(
    x: np.ndarray, y: np.ndarray, fraction: float, spec: Any, key: str, where: str
) -> tuple[np.ndarray, ...]:
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise DataError(f"{where}: the data hold {len(classes)} class; at least two are needed")
    stratify = y if spec.stratify else None
    if spec.stratify and counts.min() < 2:
        raise DataError(
            f"{where}: class {classes[counts.argmin()]} has {counts.min()} sample; "
            f"data.{key} with stratify needs at least 2 per class"
        )
    try:
        return tuple(train_test_split(x, y, test_size=fraction, random_state=spec.split_seed, stratify=stratify))
    except ValueError as error:
        raise DataError(f"{where}: cannot split with data.{key}={fraction}: {error}") from None


def _check_classes(labels: np.ndarray, n_classes: int, split: str, where: str,
                   names: tuple[str, ...] | None) -> None:
    counts = np.bincount(labels, minlength=n_classes)
    if counts.min() == 0:
        absent = int(counts.argmin())
        named = f" ({names[absent]!r})" if names is not None else ""
        raise DataError(
            f"{where}: the {split} split has no sample of class {absent}{named}; "
            "use more data, keep data.stratify on, or give that split more rows"
        )

