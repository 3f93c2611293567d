"""What the analysis modules share: their error, column checks and derived columns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from fitsweep.errors import FitsweepError
from fitsweep.results.columns import (
    HYPERPARAMETERS,
    REGULARIZER_KIND_COLUMN,
    REGULARIZERS,
    REGULARIZERS_COLUMN,
    canonical_column,
    decode_layers,
    depth_of,
    encode_regularizers,
    regularizer_kind,
    width_of,
)
from fitsweep.vocabulary import TrialStatus

__all__ = [
    "AnalysisError",
    "FloatArray",
    "HYPERPARAMETERS",
    "as_float",
    "completed",
    "group_columns",
    "require_columns",
    "require_rows",
    "trial_keys",
    "with_derived_columns",
]

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
    return trials[trials["status"].astype("string").str.lower().eq(TrialStatus.COMPLETED).fillna(False).to_numpy()]


def as_float(values: pd.Series) -> FloatArray:
    """A column as a float array, pandas' missing values as NaN (tables use nullable dtypes)."""
    return np.asarray(pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(), dtype=np.float64)


def trial_keys(frame: pd.DataFrame) -> list[str]:
    """The columns naming one trial: `run` first when several runs were concatenated."""
    return ["run", "trial_id"] if "run" in frame.columns else ["trial_id"]


def with_derived_columns(trials: pd.DataFrame) -> pd.DataFrame:
    """A copy with the columns derived from the hyperparameters (see `fitsweep.results.columns`).

    Every row gets `regularizers` (its combination, "dropout=0.2+l2=0.001", whether the sweep
    used a `regularizers` key or separate dropout/l1/l2 keys) and `regularizer_kind` ("l2+dropout");
    `depth` and `width` are read from `layers` where the sweep used it.
    """
    frame = trials.copy()
    strengths = _regularizer_strengths(frame)
    frame[REGULARIZERS_COLUMN] = pd.Series([encode_regularizers(row) for row in strengths], index=frame.index,
                                           dtype="string")
    frame[REGULARIZER_KIND_COLUMN] = pd.Series([regularizer_kind(row) for row in strengths], index=frame.index,
                                               dtype="string")
    if "layers" in frame.columns:
        widths = [_widths(value) for value in frame["layers"]]
        depth = pd.Series([np.nan if w is None else depth_of(w) for w in widths], index=frame.index)
        width = pd.Series([np.nan if w is None else width_of(w) for w in widths], index=frame.index)
        # A table may mix both forms (concatenated runs): keep depth/width where a row has them.
        frame["depth"] = as_float(frame["depth"]) if "depth" in frame.columns else np.nan
        frame["width"] = as_float(frame["width"]) if "width" in frame.columns else np.nan
        frame["depth"] = frame["depth"].fillna(depth).round().astype("Int64")
        frame["width"] = frame["width"].fillna(width).round().astype("Int64")
    return frame


def _widths(value: object) -> list[int] | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return decode_layers(str(value))


def _regularizer_strengths(trials: pd.DataFrame) -> list[dict[str, float]]:
    # A missing column or value means the regularizer was not used (its default is 0).
    columns = {
        name: np.nan_to_num(as_float(trials[name]), nan=0.0) if name in trials.columns else np.zeros(len(trials))
        for name in REGULARIZERS
    }
    return [{name: float(values[row]) for name, values in columns.items()} for row in range(len(trials))]


def group_columns(frame: pd.DataFrame, by: str | Sequence[str]) -> list[str]:
    """`by` as a list of columns of `frame`, checked; an older name ("regularizer") as its column now."""
    columns = [canonical_column(name) for name in ([by] if isinstance(by, str) else list(by))]
    if not columns:
        raise AnalysisError("`by` names no column; pass a column such as 'regularizer_kind' or ['depth', 'width']")
    unknown = [column for column in columns if column not in frame.columns]
    if unknown:
        labels = (REGULARIZER_KIND_COLUMN, REGULARIZERS_COLUMN, "run", *HYPERPARAMETERS)
        choices = ", ".join(c for c in labels if c in frame.columns)
        raise AnalysisError(f"cannot group by {', '.join(unknown)}: not a column of the trials table (try {choices})")
    return columns
