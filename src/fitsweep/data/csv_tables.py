"""CSV files as people bring them: text columns, text labels and missing values.

Reading settles what depends on the files alone: which feature columns hold categories (text
columns, and number columns `data.categorical` lists), the classes of a text target (its values in
sorted order, over every file), and the rows `data.missing` keeps. Missing values (empty cells, NA,
NaN) are refused with the cells they are in, unless `data.missing` says:

- `drop`: every row with a missing value is removed before the split, and said;
- `mean` or `median`: number columns are filled later, from the training split
  (`fitsweep.data.table_encoding`); a categorical column has no mean, so a missing category is
  refused; a row without a target value has no class to learn, so it is dropped, and said.

What needs the values of the training split (the categories, the filling, constant columns) is
fitted after the split, in `fitsweep.data.table_encoding`. Lines are the file's, the header being
line 1.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.data._wording import first_line, listing
from fitsweep.data.table_encoding import TableLayout
from fitsweep.data.task import choose_task
from fitsweep.errors import DataError

__all__ = ["CsvTables", "read_csv_tables", "MAX_CSV_COLUMNS", "MAX_CSV_HEADER_BYTES"]

# The widest CSV file read (a 180x180 RGB image is 97,200 values a row), and the most bytes its
# header row may take: the header is read alone first, so a file of millions of columns is refused
# in milliseconds instead of costing pandas minutes and tens of GB.
MAX_CSV_COLUMNS = 100_000
MAX_CSV_HEADER_BYTES = 64 * MAX_CSV_COLUMNS
# How many lines of missing cells a message or note names.
SHOWN_LINES = 3
_FIX = "set data.missing: drop | mean | median"


@dataclass(frozen=True)
class CsvTables:
    """The training file's rows and, with `data.test_path`, the test file's, columns as `layout` says."""

    x: np.ndarray
    y: np.ndarray
    layout: TableLayout
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def read_csv_tables(spec: Any, path: Path, test_path: Path | None) -> CsvTables:
    """Read a sweep's CSV file (and test file): raw feature rows, class indices and the table's layout.

    Args:
        spec: The validated `data` section (`CSVData`).
        path: The training file; `test_path`: the test file, or None.

    Raises:
        DataError: One line naming the file and what is wrong with it.
    """
    frame = _read_frame(path)
    features = _feature_columns(frame, spec.target, None, path)
    frames = [(path, frame)]
    if test_path is not None:
        frames.append((test_path, _read_frame(test_path)))
        _feature_columns(frames[1][1], spec.target, features, test_path)
    categorical = _categorical_columns(spec, frames, features, path)
    if categorical and spec.image_shape is not None:
        raise DataError(f"{path}: data.image_shape folds rows into images, but column '{categorical[0]}' holds "
                        "categories; leave data.image_shape out for a table, or give every column as numbers")
    kept: list[tuple[Path, pd.DataFrame]] = []
    notes: list[str] = []
    for file, table in frames:
        table, dropped = _handle_missing(file, table, spec.target, categorical, spec.missing)
        kept.append((file, table))
        notes += dropped
    # The cells left missing, that the training split's mean or median will fill, over every file.
    missing_cells = pd.concat([table.isna().sum() for _, table in kept], axis=1).sum(axis=1)
    class_names = _class_names([table[spec.target] for _, table in kept])
    task = "classification" if class_names is not None else choose_task(
        spec.task, [table[spec.target].to_numpy(dtype="float64") for _, table in kept]).kind
    arrays = [(_feature_rows(table, features, categorical, file), _labels(table[spec.target], class_names, file, task))
              for file, table in kept]
    layout = TableLayout(columns=tuple(features), categorical=tuple(categorical), missing=spec.missing,
                         keep_constant=spec.image_shape is not None, class_names=class_names,
                         missing_cells={name: int(missing_cells[name]) for name in features if missing_cells[name]},
                         notes=tuple(notes))
    (x, y), *test = arrays
    return CsvTables(x=x, y=y, layout=layout, x_test=test[0][0] if test else None, y_test=test[0][1] if test else None)


# --- the file and its columns ----------------------------------------------------------------------


def _read_frame(path: Path) -> pd.DataFrame:
    _check_csv_width(path)
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file; expected a header row and one row per sample") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (bad byte at offset {error.start})") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise DataError(f"{path}: not a readable CSV file ({first_line(error)})") from None
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _check_csv_width(path: Path) -> None:
    """Refuse a CSV file wider than MAX_CSV_COLUMNS from its header row alone, read within a bound."""
    try:
        with open(path, "rb") as file:
            header = file.readline(MAX_CSV_HEADER_BYTES + 1)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    allowed = f"a CSV file may have at most {MAX_CSV_COLUMNS:,} columns and a {MAX_CSV_HEADER_BYTES:,}-byte header row"
    if len(header) > MAX_CSV_HEADER_BYTES:
        raise DataError(f"{path}: the header row is longer than {MAX_CSV_HEADER_BYTES:,} bytes; {allowed}")
    try:
        columns = len(next(csv.reader(io.StringIO(header.decode("utf-8", errors="replace"))), []))
    except csv.Error as error:
        raise DataError(f"{path}: not a readable CSV file ({first_line(error)})") from None
    if columns > MAX_CSV_COLUMNS:
        raise DataError(f"{path}: the header row names {columns:,} columns; {allowed}")


def _feature_columns(frame: pd.DataFrame, target: str, training: list[str] | None, path: Path) -> list[str]:
    """The feature columns of a file: all but the target (a test file's must be the training file's)."""
    names = list(frame.columns)
    if target not in names:
        close = difflib.get_close_matches(target, names, n=1)
        suggestion = f"; did you mean '{close[0]}'?" if close else ""
        raise DataError(
            f"{path}: no target column '{target}' (data.target){suggestion}; the columns are: {listing(names)}"
        )
    features = [name for name in names if name != target]
    if training is not None and set(features) != set(training):
        extra = sorted(set(features) ^ set(training))
        raise DataError(f"{path}: feature columns differ from the training file's (see {listing(extra)})")
    if not features:
        raise DataError(f"{path}: has only the target column '{target}'; expected feature columns too")
    if frame.empty:
        raise DataError(f"{path}: has no rows, only a header")
    return features


def _categorical_columns(spec: Any, frames: list[tuple[Path, pd.DataFrame]], features: list[str],
                         path: Path) -> list[str]:
    """Text columns (in any file) and the columns data.categorical lists, in the file's order."""
    listed = set(spec.categorical)
    for name in spec.categorical:
        if name == spec.target:
            raise DataError(f"{path}: data.categorical names the target column '{name}', which is what the models "
                            f"learn, not a feature; allowed: feature columns {listing(features)}")
        if name not in features:
            close = difflib.get_close_matches(name, features, n=1)
            suggestion = f"did you mean '{close[0]}'? " if close else ""
            raise DataError(f"{path}: data.categorical names '{name}', which is not a column; {suggestion}"
                            f"the feature columns are: {listing(features)}")
    text = [name for name in features if any(not _is_numbers(frame[name]) for _, frame in frames)]
    for name in text:
        if name not in listed:
            for file, frame in frames:
                _refuse_numbers_with_a_typo(frame[name], name, file)
    return [name for name in features if name in listed or name in text]


def _is_numbers(column: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(column))


def _refuse_numbers_with_a_typo(column: pd.Series, name: str, path: Path) -> None:
    """Refuse a column of numbers that holds some text: a typo more likely than categories."""
    present = column.dropna()
    distinct = pd.Series(present.unique())
    numeric = pd.to_numeric(distinct, errors="coerce").notna()
    if _is_numbers(column) or numeric.sum() * 2 <= len(distinct):
        return
    word = distinct[~numeric].iloc[0]
    line = _lines(np.flatnonzero((column == word).to_numpy()))[0]
    raise DataError(f"{path}: column '{name}' holds numbers but also text ({word!r} on line {line}); fix those "
                    f"cells, leave them empty to mark them missing, or list '{name}' in data.categorical "
                    "to encode every value as a category")


def _lines(rows: np.ndarray | pd.Index) -> list[int]:
    """File lines of table rows (positions as read, before any row is dropped): the header is line 1."""
    return [int(row) + 2 for row in rows]


# --- missing values ---------------------------------------------------------------------------------


def _handle_missing(path: Path, frame: pd.DataFrame, target: str, categorical: list[str],
                    policy: str) -> tuple[pd.DataFrame, list[str]]:
    """The rows kept under `data.missing`, and a note for each group of rows dropped."""
    missing = _missing_rows(frame)
    if not missing:
        return frame, []
    if policy == "refuse":
        raise DataError(f"{path}: {_described(missing)}; {_FIX}")
    if policy in ("mean", "median"):
        text = [name for name in categorical if name in missing]
        if text:
            raise DataError(f"{path}: {_described({name: missing[name] for name in text})}, and "
                            f"data.missing: {policy} fills number columns only; set data.missing: drop, "
                            f"or fill those cells")
        unlabelled = missing.get(target)
        if unlabelled is None:
            return frame, []
        return _dropped(path, frame, unlabelled, "without a target value")
    rows = np.unique(np.concatenate(list(missing.values())))
    return _dropped(path, frame, rows, "with missing values")


def _missing_rows(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The rows where each column with a missing value has one."""
    empty = frame.isna()  # every column is a feature or the target: no copy of a wide table
    return {name: np.flatnonzero(empty[name].to_numpy()) for name in empty.columns[empty.any().to_numpy()]}


def _described(missing: dict[str, np.ndarray]) -> str:
    """`column 'age' has 12 missing values (first on lines 5, 19, 42)`, or the same for several columns."""
    if len(missing) == 1:
        [(name, rows)] = missing.items()
        return f"column '{name}' has {len(rows):,} missing value{'s' if len(rows) > 1 else ''} ({_where(rows)})"
    shown = [f"'{name}' {len(rows):,} ({_where(rows)})" for name, rows in list(missing.items())[:SHOWN_LINES]]
    more = f" and {len(missing) - SHOWN_LINES} more" if len(missing) > SHOWN_LINES else ""
    return f"{len(missing)} columns have missing values: {', '.join(shown)}{more}"


def _where(rows: np.ndarray) -> str:
    lines = ", ".join(str(line) for line in _lines(rows[:SHOWN_LINES]))
    return f"on line{'s' if len(rows) > 1 else ''} {lines}" if len(rows) <= SHOWN_LINES else f"first on lines {lines}"


def _dropped(path: Path, frame: pd.DataFrame, rows: np.ndarray, why: str) -> tuple[pd.DataFrame, list[str]]:
    kept = frame.drop(index=frame.index[rows])
    if kept.empty:
        raise DataError(f"{path}: every row has a missing value; no row is left once they are dropped "
                        "(data.missing)")
    return kept, [f"dropped {len(rows):,} row{'s' if len(rows) > 1 else ''} of {path.name} {why} ({_where(rows)})"]


# --- arrays -----------------------------------------------------------------------------------------


def _category_text(value: Any) -> str:
    """A category as text: 3.0 read from a column with gaps is the category '3'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _feature_rows(frame: pd.DataFrame, features: list[str], categorical: list[str], path: Path) -> np.ndarray:
    """The feature columns as one array: float32 when all are numbers, else objects (categories as text)."""
    if not categorical:
        return _finite(frame[features].to_numpy(dtype="float32"), features, frame.index, path)
    numbers = [name for name in features if name not in categorical]
    if numbers:
        _finite(frame[numbers].to_numpy(dtype="float32"), numbers, frame.index, path)
    table = frame[features].astype(object)
    for name in categorical:
        table[name] = frame[name].map(_category_text, na_action="ignore")
    return table.to_numpy(dtype=object)


def _finite(values: np.ndarray, columns: list[str], rows: pd.Index, path: Path) -> np.ndarray:
    """The values, once none is infinite (or too large for float32); `rows`: their rows in the file."""
    infinite = np.isinf(values)
    if infinite.any():
        row, column = np.argwhere(infinite)[0]
        raise DataError(f"{path}: column '{columns[column]}' holds an infinite value or one beyond float32 "
                        f"(on line {_lines(rows[[row]])[0]}); every number must be finite")
    return values


def _class_names(targets: list[pd.Series]) -> tuple[str, ...] | None:
    """A text target's values in sorted order (class i is the i-th); None when every label is a number."""
    if all(_is_numbers(target) for target in targets):
        return None
    return tuple(sorted({_category_text(value) for target in targets for value in target.dropna().tolist()}))


def _labels(target: pd.Series, class_names: tuple[str, ...] | None, path: Path, task: str) -> np.ndarray:
    """Class indices (a text target's by its sorted values, a number target's once checked), or a regression's target.

    `task` is what `data.task` says, or `auto` read from every file's targets (`fitsweep.data.task`).
    """
    if class_names is not None:
        index = {name: position for position, name in enumerate(class_names)}
        return np.array([index[_category_text(value)] for value in target.tolist()], dtype="int64")
    labels = target.to_numpy(dtype="float64")
    if task == "regression":
        return labels
    wrong = (labels != np.round(labels)) | (labels < 0)
    if wrong.any():
        row = int(np.argmax(wrong))
        raise DataError(f"{path}: labels must be non-negative integers (class indices) or text (class names), "
                        f"got {labels[row]:g} on line {_lines(target.index[[row]])[0]}; for a numeric target to "
                        "predict, set data.task: regression")
    return labels.astype("int64")
