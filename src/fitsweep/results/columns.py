"""The hyperparameter columns of a trials table: their names, order and encodings.

A sweep's hyperparameters become columns named as in the sweep file. Two of them hold a value
KerasTuner cannot store as one scalar, so they are encoded as strings:

- `layers`: hidden-layer widths such as "600-400-200" ("none" for no hidden layer), from which
  `depth` (number of hidden layers) and `width` (the widest) are derived;
- `regularizers`: a combination such as "dropout=0.2+l2=0.001" ("none" for no regularization),
  spelled out into the `dropout`, `l1` and `l2` columns.

The kind of regularization, ignoring strengths, is the `regularizer_kind` label ("none", "l1",
"l2+dropout", ...). This module imports neither Keras nor KerasTuner, so tables can be read and
analysed without them.

Example:
    >>> encode_layers([600, 400, 200])
    '600-400-200'
    >>> regularizer_kind({"l2": 0.001, "dropout": 0.2})
    'l2+dropout'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "COLUMN_ALIASES",
    "CONV_COLUMNS",
    "INTEGER_HYPERPARAMETERS",
    "LAYER_LISTS",
    "HYPERPARAMETERS",
    "HYPERPARAMETER_COLUMNS",
    "NO_HIDDEN_LAYERS",
    "NO_REGULARIZATION",
    "REGULARIZERS",
    "REGULARIZERS_COLUMN",
    "REGULARIZER_KIND_COLUMN",
    "canonical_column",
    "decode_layers",
    "decode_regularizers",
    "depth_of",
    "encode_layers",
    "encode_regularizers",
    "present",
    "regularizer_kind",
    "table_hyperparameters",
    "trial_values",
    "width_of",
]

NO_HIDDEN_LAYERS = "none"
NO_REGULARIZATION = "none"
REGULARIZERS = ("dropout", "l1", "l2")  # the order of a `regularizers` combination's parts
REGULARIZERS_COLUMN = "regularizers"
REGULARIZER_KIND_COLUMN = "regularizer_kind"
# A kind names weight penalties before dropout ("l2+dropout"): the order users read in the reports.
_KIND_ORDER = ("l1", "l2", "dropout")

# The conv family's shape columns (`family: conv`), in table order: its blocks, then its head.
CONV_COLUMNS = ("blocks", "filters", "kernel_size", "pooling", "batch_norm", "head")
# Hyperparameters that are whole numbers, whichever family searches them (KerasTuner's Int, TensorBoard's
# IntInterval).
INTEGER_HYPERPARAMETERS = frozenset({"depth", "width", "batch_size", "blocks", "filters", "kernel_size"})
# Columns holding a list of Dense widths encoded as `encode_layers` writes them ("600-400-200").
LAYER_LISTS = ("layers", "head")
# Every hyperparameter column a trials table can hold, in table order.
HYPERPARAMETER_COLUMNS = (
    "depth", "width", "layers", *CONV_COLUMNS, "activation", REGULARIZERS_COLUMN, *REGULARIZERS,
    "optimizer", "learning_rate", "batch_size",
)
# The columns holding one hyperparameter each: a `regularizers` combination counts as its parts.
HYPERPARAMETERS = tuple(name for name in HYPERPARAMETER_COLUMNS if name != REGULARIZERS_COLUMN)

# Older names users' scripts may still pass, and the column each now means.
COLUMN_ALIASES = {"regularizer": REGULARIZER_KIND_COLUMN}


def canonical_column(name: str) -> str:
    """A column's current name: `name` itself, or the column an older name now means.

    Example:
        >>> canonical_column("regularizer")
        'regularizer_kind'
    """
    return COLUMN_ALIASES.get(name, name)


def present(columns: Iterable[str], names: Iterable[str] = HYPERPARAMETERS) -> list[str]:
    """The `names` found among `columns`, in the order of `names` (table order by default).

    Example:
        >>> present(["l2", "trial_id", "layers"])
        ['layers', 'l2']
    """
    available = set(columns)
    return [name for name in names if name in available]


def table_hyperparameters(columns: Iterable[str], names: Iterable[str] = HYPERPARAMETER_COLUMNS) -> list[str]:
    """A trials table's hyperparameter columns: fitsweep's own among `names`, then those the search declared.

    A trials table holds its hyperparameters between `status` and `epochs_run` (`fitsweep.results.tables`);
    a search fitsweep did not design, such as one imported from KerasTuner, names them as its
    build function did ("units"), and they follow fitsweep's own.

    Example:
        >>> table_hyperparameters(["trial_id", "execution", "status", "units", "dropout", "epochs_run"])
        ['dropout', 'units']
    """
    columns = list(columns)
    known = present(columns, names)
    if "status" not in columns or "epochs_run" not in columns:
        return known
    declared = columns[columns.index("status") + 1:columns.index("epochs_run")]
    return known + [name for name in declared if name not in HYPERPARAMETER_COLUMNS]


def encode_layers(widths: Iterable[int]) -> str:
    """Hidden-layer widths as a `layers` value: `[600, 400, 200]` -> "600-400-200", `[]` -> "none".

    Example:
        >>> encode_layers([])
        'none'
    """
    return "-".join(str(int(width)) for width in widths) or NO_HIDDEN_LAYERS


def decode_layers(value: str) -> list[int]:
    """The inverse of `encode_layers`: "600-400-200" -> `[600, 400, 200]`, "none" -> `[]`.

    Raises:
        ValueError: `value` is not a `layers` value.

    Example:
        >>> decode_layers("25-50")
        [25, 50]
    """
    text = str(value).strip()
    return [] if text == NO_HIDDEN_LAYERS else [int(part) for part in text.split("-")]


def depth_of(widths: list[int]) -> int:
    """The number of hidden layers."""
    return len(widths)


def width_of(widths: list[int]) -> int:
    """The widest hidden layer (0 without hidden layers)."""
    return max(widths, default=0)


def encode_regularizers(strengths: Mapping[str, float | None]) -> str:
    """Regularizer strengths as a `regularizers` value; regularizers at 0 or missing are left out.

    Example:
        >>> encode_regularizers({"l2": 0.001, "dropout": 0.2, "l1": 0.0})
        'dropout=0.2+l2=0.001'
        >>> encode_regularizers({})
        'none'
    """
    parts = [f"{name}={float(strengths[name] or 0.0):g}" for name in REGULARIZERS if _active(strengths, name)]
    return "+".join(parts) or NO_REGULARIZATION


def decode_regularizers(value: str) -> dict[str, float]:
    """The inverse of `encode_regularizers`, with every regularizer present (0 when off).

    Example:
        >>> decode_regularizers("l2=0.001")
        {'dropout': 0.0, 'l1': 0.0, 'l2': 0.001}
    """
    decoded = dict.fromkeys(REGULARIZERS, 0.0)
    if value != NO_REGULARIZATION:
        decoded.update({name: float(number) for name, number in (part.split("=") for part in value.split("+"))})
    return decoded


def trial_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's hyperparameter values with a `regularizers` combination spelled out as its parts.

    Example:
        >>> trial_values({"regularizers": "l1=1e-05", "activation": "relu"})["l1"]
        1e-05
    """
    expanded = dict(values)
    if REGULARIZERS_COLUMN in expanded:
        expanded.update(decode_regularizers(expanded[REGULARIZERS_COLUMN]))
    return expanded


def regularizer_kind(strengths: Mapping[str, float | None]) -> str:
    """Which regularizers are on, strengths ignored: "none", "l1", "l2+dropout", ...

    Example:
        >>> regularizer_kind({"dropout": 0.5, "l1": 1e-5})
        'l1+dropout'
    """
    return "+".join(name for name in _KIND_ORDER if _active(strengths, name)) or NO_REGULARIZATION


def _active(strengths: Mapping[str, float | None], name: str) -> bool:
    # A missing regularizer is one not used (its default is 0); NaN fails `> 0` as it should.
    value = strengths.get(name)
    return value is not None and float(value) > 0
