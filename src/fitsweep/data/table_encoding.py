"""A CSV table's columns made into features, fitted on the training split only.

Reading the file (`fitsweep.data.csv_tables`) settles which columns hold categories and what
`data.missing` asks for; what depends on the values is learned here from the training rows, once
the data are split, so no category, mean or median of a validation or test row reaches training:

- a column with a single value on every training row carries no information and is dropped
  (image tables keep theirs: a constant border pixel still holds its place in the image);
- categorical columns are one-hot encoded by scikit-learn's `OneHotEncoder`, whose categories are
  the training split's: a category only a validation or test row has encodes as all zeros;
- with `data.missing: mean | median`, number columns are filled with the training split's mean or
  median (`SimpleImputer`), in every split.

Number columns come first, in the file's order, then each categorical column's one-hot block.
The encoding is a pure function of the training rows, so whatever prepares the data again (a
resumed run, a report's retrain, a learning curve) gets the same one.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder

from fitsweep.data._wording import listing, number
from fitsweep.errors import DataError

__all__ = ["MissingPolicy", "TableEncoding", "TableLayout", "fit_table_encoding"]

MissingPolicy = Literal["refuse", "drop", "mean", "median"]
# A categorical column with more distinct training values than this share of the training rows
# (and more than MIN_IDENTIFIER_VALUES) names rows rather than groups them: an identifier or free
# text, whose one-hot block would be about as wide as the table is long and teach nothing general.
IDENTIFIER_SHARE = 0.5
MIN_IDENTIFIER_VALUES = 20


@dataclass(frozen=True)
class TableLayout:
    """What reading a table found: its feature columns, which hold categories, and what was done to rows.

    Rows of the table's `x` hold the columns in `columns` order: numbers as floats (NaN where a
    value is missing and `missing` fills it), categories as text.

    Example:
        >>> TableLayout(columns=("age", "colour"), categorical=("colour",), missing="median").categorical
        ('colour',)
    """

    columns: tuple[str, ...]
    categorical: tuple[str, ...] = ()
    missing: MissingPolicy = "refuse"
    # Image tables keep constant pixels, which hold their place in the image.
    keep_constant: bool = False
    # A text target's values in sorted order, class i being the i-th; None: the labels were numbers.
    class_names: tuple[str, ...] | None = None
    # Missing cells per number column that `missing` fills, over every file read.
    missing_cells: Mapping[str, int] = field(default_factory=dict)
    # What reading did to rows (dropped for missing values), one phrase each.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class TableEncoding:
    """The encoding learned from the training rows, applied to every split by `transform`."""

    layout: TableLayout
    numbers: tuple[int, ...]  # the number columns kept, as positions in `layout.columns`
    categories: tuple[int, ...]  # the categorical columns kept, likewise
    dropped: Mapping[str, str]  # constant columns and their single value
    imputer: SimpleImputer | None
    encoder: OneHotEncoder | None

    @property
    def n_features(self) -> int:
        """How many features `transform` makes of a row."""
        encoded = sum(len(values) for values in self.encoder.categories_) if self.encoder is not None else 0
        return len(self.numbers) + encoded

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Rows of the table (any split) as float32 features: filled, one-hot encoded, constants left out."""
        parts = []
        if self.numbers:
            whole = len(self.numbers) == x.shape[1]  # a wide number table is not copied column by column
            numbers = np.asarray(x if whole else x[:, list(self.numbers)], dtype="float32")
            parts.append(numbers if self.imputer is None else self.imputer.transform(numbers).astype("float32"))
        if self.encoder is not None:
            parts.append(self.encoder.transform(x[:, list(self.categories)]).astype("float32"))
        return parts[0] if len(parts) == 1 else np.hstack(parts)

    @property
    def filled(self) -> dict[str, float]:
        """Each number column the imputer fills, with its training-split value."""
        if self.imputer is None:
            return {}
        names = [self.layout.columns[index] for index in self.numbers]
        return {name: float(value) for name, value in zip(names, self.imputer.statistics_, strict=True)
                if self.layout.missing_cells.get(name)}

    @property
    def encoded(self) -> dict[str, list[str]]:
        """Each one-hot encoded column with its categories, as the training split has them."""
        if self.encoder is None:
            return {}
        return {self.layout.columns[index]: [str(value) for value in values]
                for index, values in zip(self.categories, self.encoder.categories_, strict=True)}

    @property
    def notes(self) -> list[str]:
        """What was done to the table, one phrase each, as `run` and `validate` print it."""
        notes = list(self.layout.notes)
        if self.encoded:
            columns = [f"'{name}' ({len(values)} categories)" for name, values in self.encoded.items()]
            notes.append(f"one-hot encoded {_joined(columns)}: categories from the training split")
        if self.filled:
            columns = [f"'{name}' {number(value)} ({self.layout.missing_cells[name]:,} cells)"
                       for name, value in self.filled.items()]
            notes.append(f"filled missing values with the training split's {self.layout.missing}: {_joined(columns)}")
        if self.dropped:
            columns = [f"'{name}' (only {value})" for name, value in self.dropped.items()]
            notes.append(f"dropped {_joined(columns)}: a single value on every training row")
        return notes

    def record(self) -> dict[str, Any]:
        """The encoding as plain JSON for run.json: what a reader needs to interpret the features."""
        return {"encoded": self.encoded, "filled": self.filled, "dropped_columns": dict(self.dropped),
                "notes": self.notes}


def fit_table_encoding(layout: TableLayout, x_train: np.ndarray, where: str) -> TableEncoding:
    """Learn a table's encoding from its training rows.

    Args:
        layout: What reading the table found (`fitsweep.data.csv_tables`).
        x_train: The training split's rows of the table, columns in `layout.columns` order.
        where: The table's file, for the error message.

    Raises:
        DataError: Every column holds a single value on the training rows, or a categorical column
            has a value for nearly every row (an identifier or free text).

    Example:
        >>> x = np.array([[1.0, "red"], [2.0, "blue"], [3.0, "red"]], dtype=object)
        >>> encoding = fit_table_encoding(TableLayout(columns=("size", "colour"), categorical=("colour",)), x, "t.csv")
        >>> encoding.transform(np.array([[4.0, "green"]], dtype=object)).tolist()
        [[4.0, 0.0, 0.0]]
    """
    categorical = set(layout.categorical)
    numbers = [index for index, name in enumerate(layout.columns) if name not in categorical]
    categories = [index for index, name in enumerate(layout.columns) if name in categorical]
    dropped: dict[str, str] = {}
    if not layout.keep_constant:
        dropped = _constant_columns(layout, x_train, numbers, categories)
        numbers = [index for index in numbers if layout.columns[index] not in dropped]
        categories = [index for index in categories if layout.columns[index] not in dropped]
    if not numbers and not categories:
        raise DataError(f"{where}: every feature column holds a single value on the training rows "
                        f"({listing(list(dropped))}); nothing is left to learn from")
    imputer = None
    if numbers and layout.missing in ("mean", "median"):
        imputer = SimpleImputer(strategy=layout.missing, keep_empty_features=True)
        imputer.fit(np.asarray(x_train[:, numbers], dtype="float64"))
    encoder = None
    if categories:
        _refuse_identifiers(layout, x_train, categories, where)
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
        encoder.fit(x_train[:, categories])
    return TableEncoding(layout, tuple(numbers), tuple(categories), dropped, imputer, encoder)


def _constant_columns(layout: TableLayout, x_train: np.ndarray, numbers: list[int],
                      categories: list[int]) -> dict[str, str]:
    """The columns that hold a single value (or none) on every training row, with that value."""
    constant: dict[int, str] = {}
    if numbers:
        values = np.asarray(x_train[:, numbers], dtype="float64")
        with warnings.catch_warnings():  # a column missing on every row has no minimum: it is constant
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        for position in np.flatnonzero(~(high > low)):
            constant[numbers[position]] = "missing values" if np.isnan(low[position]) else number(low[position])
    for index in categories:
        seen = set(x_train[:, index].tolist())
        if len(seen) <= 1:
            constant[index] = repr(next(iter(seen), ""))
    return {layout.columns[index]: constant[index] for index in sorted(constant)}


def _refuse_identifiers(layout: TableLayout, x_train: np.ndarray, categories: list[int], where: str) -> None:
    rows = len(x_train)
    for index in categories:
        distinct = len(set(x_train[:, index].tolist()))
        if distinct > max(MIN_IDENTIFIER_VALUES, IDENTIFIER_SHARE * rows):
            raise DataError(f"{where}: column '{layout.columns[index]}' holds {distinct:,} different values on "
                            f"{rows:,} training rows: an identifier or free text, not categories; remove the "
                            "column from the file")


def _joined(phrases: list[str], limit: int = 8) -> str:
    """Phrases joined by commas, cut after `limit`."""
    shown = ", ".join(phrases[:limit])
    return shown + (f" and {len(phrases) - limit} more" if len(phrases) > limit else "")
