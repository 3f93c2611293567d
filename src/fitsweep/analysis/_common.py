"""What the analysis modules share: their error, column checks and derived columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.errors import FitsweepError

__all__ = [
    "AnalysisError",
    "FloatArray",
    "HYPERPARAMETERS",
    "as_float",
    "completed",
    "group_columns",
    "regularizer_labels",
    "require_columns",
    "require_rows",
    "trial_keys",
    "with_derived_columns",
]

# The hyperparameter columns a trials table can hold, in table order (see fitsweep.space).
HYPERPARAMETERS = (
    "depth", "width", "layers", "activation", "dropout", "l1", "l2", "optimizer", "learning_rate", "batch_size",
)
_NO_HIDDEN_LAYERS = "none"

FloatArray = npt.NDArray[np.float64]


class AnalysisError(FitsweepError):
    """Tables that cannot be analysed: empty, too small, or missing a column the analysis needs."""


def require_columns(frame: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    """Raise `AnalysisError` naming every column `frame` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise AnalysisError(
            f"the {table} table lacks column(s) {', '.join(missing)}; "
            f"pass the `{table}` table of a sweep (fitsweep.load(path).{table})"
        )


def require_rows(frame: pd.DataFrame, minimum: int, what: str) -> None:
    """Raise `AnalysisError` when `frame` has fewer than `minimum` rows."""
    if len(frame) < minimum:
        found = "none" if len(frame) == 0 else f"only {len(frame)}"
        raise AnalysisError(f"{what} needs at least {minimum} row(s), found {found}")


def completed(trials: pd.DataFrame) -> pd.DataFrame:
    """The rows of finished trials; a table without a status column counts as all finished."""
    if "status" not in trials.columns:
        return trials
    return trials[trials["status"].astype("string").str.lower().eq("completed").fillna(False).to_numpy()]


def as_float(values: pd.Series) -> FloatArray:
    """A column as a float array, pandas' missing values as NaN (tables use nullable dtypes)."""
    return np.asarray(pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(), dtype=np.float64)


def trial_keys(frame: pd.DataFrame) -> list[str]:
    """The columns naming one trial: `run` first when several runs were concatenated."""
    return ["run", "trial_id"] if "run" in frame.columns else ["trial_id"]


def with_derived_columns(trials: pd.DataFrame) -> pd.DataFrame:
    """A copy with `regularizer`, and `depth`/`width` read from `layers` where the sweep used it."""
    frame = trials.copy()
    frame["regularizer"] = regularizer_labels(frame)
    if "layers" in frame.columns:
        widths = [_widths(value) for value in frame["layers"]]
        depth = pd.Series([np.nan if w is None else len(w) for w in widths], index=frame.index)
        width = pd.Series([np.nan if w is None else max(w, default=0) for w in widths], index=frame.index)
        # A table may mix both forms (concatenated runs): keep depth/width where a row has them.
        frame["depth"] = as_float(frame["depth"]) if "depth" in frame.columns else np.nan
        frame["width"] = as_float(frame["width"]) if "width" in frame.columns else np.nan
        frame["depth"] = frame["depth"].fillna(depth).round().astype("Int64")
        frame["width"] = frame["width"].fillna(width).round().astype("Int64")
    return frame


def _widths(value: object) -> list[int] | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return [] if text == _NO_HIDDEN_LAYERS else [int(part) for part in text.split("-")]


def regularizer_labels(trials: pd.DataFrame) -> pd.Series:
    """Each row's regularization: "none", "l1", "l2", "dropout" or a combination such as "l2+dropout"."""
    active = {name: _positive(trials, name) for name in ("l1", "l2", "dropout")}
    labels = ["+".join(name for name in active if active[name][row]) or "none" for row in range(len(trials))]
    return pd.Series(labels, index=trials.index, dtype="string")


def _positive(trials: pd.DataFrame, column: str) -> npt.NDArray[np.bool_]:
    # A missing column or value means the regularizer was not used (its default is 0).
    if column not in trials.columns:
        return np.zeros(len(trials), dtype=bool)
    return np.asarray(np.nan_to_num(as_float(trials[column]), nan=0.0) > 0, dtype=bool)


def group_columns(frame: pd.DataFrame, by: str | Sequence[str]) -> list[str]:
    """`by` as a list of columns of `frame`, checked."""
    columns = [by] if isinstance(by, str) else list(by)
    if not columns:
        raise AnalysisError("`by` names no column; pass a column such as 'regularizer' or ['depth', 'width']")
    unknown = [column for column in columns if column not in frame.columns]
    if unknown:
        choices = ", ".join(c for c in ("regularizer", "run", *HYPERPARAMETERS) if c in frame.columns)
        raise AnalysisError(f"cannot group by {', '.join(unknown)}: not a column of the trials table (try {choices})")
    return columns
