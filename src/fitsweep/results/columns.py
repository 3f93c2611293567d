"""The columns of a run's two tables: what each one holds, their order, and the hyperparameters' encodings.

This module is the one place the columns are described: the `*_MEANINGS` mappings (name -> what it
holds, in table order) fix the order of the tables (`fitsweep.results.tables`) and are the column
reference of the documentation, generated from them.

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
    >>> EPOCH_MEANINGS["epoch"]
    '1-based epoch'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "TRIAL_KEY_MEANINGS",
    "HYPERPARAMETER_MEANINGS",
    "TRIAL_METRIC_MEANINGS",
    "VERDICT_MEANINGS",
    "DERIVED_MEANINGS",
    "TRIAL_MEANINGS",
    "EPOCH_MEANINGS",
    "REGRESSION_EPOCH_MEANINGS",
    "REGRESSION_TRIAL_METRIC_MEANINGS",
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

# --- what each column holds -----------------------------------------------------------------------
# The trials table: its keys, the sweep's hyperparameters, each execution's metrics, then its verdict.

TRIAL_KEY_MEANINGS: dict[str, str] = {
    "trial_id": "KerasTuner's trial id (string)",
    "execution": "0-based repeat of the trial (each with its own seed)",
    "status": "`completed`, `failed`, `diverged` (a loss became NaN or infinite), `running`",
}
# In HYPERPARAMETER_COLUMNS order; a trials table holds those its sweep searched (its family's), and a
# build function's own names (`units`) after them.
HYPERPARAMETER_MEANINGS: dict[str, str] = {
    "depth": "hidden layers (sweeps that give `depth` and `width`)",
    "width": "units per hidden layer",
    "layers": "hidden-layer widths, instead of `depth` and `width`, as a string such as `600-400-200` "
              "(`none` for no hidden layer)",
    "blocks": "`family: conv`: convolution blocks",
    "filters": "`family: conv`: the first block's filters",
    "kernel_size": "`family: conv`: the kernels' side",
    "pooling": "`family: conv`: the pooling after each block",
    "batch_norm": "`family: conv`: batch normalisation after each convolution",
    "head": "`family: conv`: the Dense head's widths, encoded as `layers` is",
    "activation": "the hidden layers' activation",
    REGULARIZERS_COLUMN: "only when the sweep file used `model.regularizers`: the trial's combination, such as "
                         "`dropout=0.2+l2=0.001` or `none`",
    "dropout": "dropout rate",
    "l1": "L1 penalty on the kernels",
    "l2": "L2 penalty on the kernels",
    "optimizer": "the optimizer",
    "learning_rate": "its learning rate",
    "batch_size": "rows per step",
}
TRIAL_METRIC_MEANINGS: dict[str, str] = {
    "epochs_run": "epochs trained (fewer than `epochs` after early stopping or divergence)",
    "best_epoch": "1-based epoch with the best objective: the selected epoch, whose weights are kept",
    "train_loss": "at the best epoch, on the training rows (`train_measured_rows` of them), measured after the "
                  "epoch in inference mode (dropout off) as the validation split is; L1/L2 penalty included",
    "val_loss": "at the best epoch, on the validation split; penalty included",
    "test_loss": "on the held-out test split, evaluated once after training with the best epoch's weights",
    "train_accuracy": "at the best epoch, on the training rows, measured as `train_loss` is",
    "val_accuracy": "at the best epoch, on the validation split",
    "test_accuracy": "on the test split, as `test_loss`",
    "train_crossentropy": "at the best epoch: `train_loss` without the L1/L2 penalty",
    "val_crossentropy": "at the best epoch: `val_loss` without the L1/L2 penalty (the default objective)",
    "test_crossentropy": "`test_loss` without the L1/L2 penalty",
    "params": "trainable and non-trainable parameters of the model",
    "weight_l1": "sum of the absolute values of the kernels (biases excluded) at the best epoch",
    "weight_l2": "Euclidean norm of the kernels at the best epoch",
    "near_zero_share": "share of kernel weights with absolute value below 1e-3 at the best epoch",
    "train_rows": "rows in the training split; the noise of every estimate follows from the row counts",
    "train_measured_rows": "training rows the training metrics were measured on (`data.train_metrics_rows`)",
    "val_rows": "rows in the validation split",
    "test_rows": "rows in the test split",
    "fit_seconds": "wall time of the execution's epochs (executions trained fused share each epoch's time)",
    "started": "when (UTC) the execution's training began; executions trained fused start together",
    "ended": "when (UTC) its last epoch ended",
    "stopped_at": "with `tuner.stopping: verdict`: the 1-based epoch after which the execution was stopped because "
                  "its verdict was settled (empty when it trained every epoch or stopped otherwise)",
    "stop_reason": "the verdict it was stopped for: `underfit` (clearly above the level the sweep had reached, "
                   "and unable to close the gap at its rate in the epochs left) or `overfit` (its validation loss "
                   "risen beyond noise); its `fit_reason` says why with the numbers",
    "worker": "the KerasTuner tuner id of the process that trained it: `tuner0` in one process; `tuner0` ... "
              "`tuner<N-1>` with `--workers N` (a replaced worker keeps its id); `tuner-<host>-<pid>` for a "
              "`fitsweep worker` on another machine",
    "score": "the trial's objective as KerasTuner scored it: the best epoch of the objective averaged over the "
             "executions (the same on every execution's row)",
    "error": "for failed or diverged trials, the error",
}
# A regression's trials table: its squared and absolute errors and R², in the target's own units, in place of
# the accuracy and cross-entropy (`loss` is then its `train.loss`, on the standardized target where
# `data.standardize_target`); the other task's columns are absent.
_REGRESSION_MEASURES: dict[str, str] = {
    "train_mse": "at the best epoch, on the training rows: the mean squared error, in the target's own units",
    "val_mse": "at the best epoch, on the validation split (a regression's default objective)",
    "test_mse": "on the test split, as `test_loss`",
    "train_mae": "at the best epoch, on the training rows: the mean absolute error",
    "val_mae": "at the best epoch, on the validation split",
    "test_mae": "on the test split",
    "train_r2": "at the best epoch, on the training rows: R², 1 - MSE / the rows' variance (0: predicting their mean)",
    "val_r2": "at the best epoch, on the validation split",
    "test_r2": "on the test split",
}
_CLASSIFICATION_ONLY = ("accuracy", "crossentropy")
REGRESSION_TRIAL_METRIC_MEANINGS: dict[str, str] = {
    **{name: meaning for name, meaning in TRIAL_METRIC_MEANINGS.items() if name in ("epochs_run", "best_epoch",
                                                                                     "train_loss", "val_loss",
                                                                                     "test_loss")},
    **_REGRESSION_MEASURES,
    **{name: meaning for name, meaning in TRIAL_METRIC_MEANINGS.items()
       if not name.endswith(("_loss", *_CLASSIFICATION_ONLY)) and name not in ("epochs_run", "best_epoch")},
}
# Added to the trials table from the run's verdicts (`fitsweep.verdicts`), as its last columns.
VERDICT_MEANINGS: dict[str, str] = {
    "fit": "the execution's verdict from its learning curves: `overfit`, `underfit`, `good` or `diverged`",
    "fit_reason": "why, with its numbers and the likely cause, such as \"training accuracy 0.874 against 0.989 "
                  "reachable (trial 00's validation accuracy), beyond the noise bound 0.073 for the best of 32 "
                  "trials; ... Likely cause: still improving at its last epoch 200 ...: train longer or raise the "
                  "learning rate\"",
}
TRIAL_MEANINGS: dict[str, str] = {
    **TRIAL_KEY_MEANINGS, **HYPERPARAMETER_MEANINGS, **TRIAL_METRIC_MEANINGS, **_REGRESSION_MEASURES,
    **VERDICT_MEANINGS,
}
# What the analyses (`compare`, `capacity`, the figures) add to every row of a trials table they read.
DERIVED_MEANINGS: dict[str, str] = {
    REGULARIZERS_COLUMN: "the combination, also for sweeps that set `dropout`, `l1` and `l2` separately",
    REGULARIZER_KIND_COLUMN: "which regularizers are on, strengths ignored: `none`, `l1`, `l2+dropout`, ...",
    "depth": "read from `layers` (the number of hidden layers)",
    "width": "read from `layers` (the widest hidden layer)",
}
# The epochs table. loss, accuracy and crossentropy (and their val_ twins) are measured in inference mode
# after the epoch (fitsweep.training.measurement); running_* are Keras' averages over the epoch's batches.
EPOCH_MEANINGS: dict[str, str] = {
    "trial_id": "as in the trials table",
    "execution": "as in the trials table",
    "epoch": "1-based epoch",
    "loss": "on the training rows, measured after the epoch in inference mode (dropout off), exactly as the "
            "validation split is; L1/L2 penalty included",
    "val_loss": "on the validation split; penalty included",
    "accuracy": "on the training rows, measured as `loss` is",
    "val_accuracy": "on the validation split",
    "crossentropy": "`loss` without the L1/L2 penalty",
    "val_crossentropy": "`val_loss` without the L1/L2 penalty",
    "crossentropy_sd": "standard deviation of the per-row training cross-entropy (divided by the square root of "
                       "the rows: its standard error)",
    "val_crossentropy_sd": "the same on the validation split",
    "running_loss": "Keras' own training log: the running average over the epoch's batches, dropout active, "
                    "penalty included",
    "running_accuracy": "Keras' running average of the accuracy, dropout active",
    "running_crossentropy": "Keras' running average of the cross-entropy, dropout active",
    "seconds": "wall time of the epoch, measurements included; executions trained fused share it equally",
}
# A regression's epochs table: its measures in place of the accuracy and cross-entropy.
REGRESSION_EPOCH_MEANINGS: dict[str, str] = {
    **{name: EPOCH_MEANINGS[name] for name in ("trial_id", "execution", "epoch")},
    "loss": "on the training rows, measured after the epoch in inference mode (dropout off): the `train.loss` "
            "(on the standardized target where `data.standardize_target`), L1/L2 penalty included",
    "val_loss": "on the validation split; penalty included",
    "mse": "on the training rows: the mean squared error, in the target's own units, without the penalty",
    "val_mse": "on the validation split",
    "mae": "on the training rows: the mean absolute error",
    "val_mae": "on the validation split",
    "r2": "on the training rows: R², 1 - MSE / the rows' variance (0: predicting their mean)",
    "val_r2": "on the validation split",
    "mse_sd": "standard deviation of the per-row squared error (divided by the square root of the rows: the "
              "standard error of `mse`)",
    "val_mse_sd": "the same on the validation split",
    "running_loss": EPOCH_MEANINGS["running_loss"],
    "running_mse": "Keras' running average of the squared error over the epoch's batches, dropout active",
    "seconds": EPOCH_MEANINGS["seconds"],
}

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
