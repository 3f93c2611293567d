"""How the report writes values: table cells, sentences, a run's hyperparameter columns."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from fitsweep.errors import FitsweepError
from fitsweep.results import SweepRun
from fitsweep.results.columns import table_hyperparameters

__all__ = ["cell", "hyperparameters", "optional", "sentence"]


def cell(value: Any) -> str:
    """A value as a table cell: "-" for missing, floats to 4 significant digits."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def sentence(text: str) -> str:
    """`text` with a capital first letter and a final full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def optional(get: Callable[[], Any]) -> Any:
    """`get()`, or None when it raises a `FitsweepError` (something the run cannot provide yet)."""
    try:
        return get()
    except FitsweepError:
        return None


def hyperparameters(run: SweepRun) -> list[str]:
    """The run's hyperparameter columns, in table order."""
    return table_hyperparameters(run.trials.columns)
