"""The search space: a sweep file's hyperparameters declared as KerasTuner hyperparameters.

Constants become `Fixed` so every trial records every value; choices become `Choice`; ranges
become `Int` or `Float`. A `layers` list is searched as a string such as "600-400-200" because
KerasTuner choices hold scalars only; `fitsweep.columns` knows the encodings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fitsweep.columns import (
    HYPERPARAMETER_COLUMNS,
    REGULARIZERS,
    REGULARIZERS_COLUMN,
    decode_layers,
    encode_layers,
    encode_regularizers,
    trial_values,
)
from fitsweep.spec import Choice, Range, SweepSpec

if TYPE_CHECKING:  # KerasTuner (and TensorFlow with it) is imported only to declare a space, not to read one
    import keras_tuner

# decode_layers, encode_layers and trial_values are fitsweep.columns', importable from here as before.
__all__ = ["declare_space", "decode_layers", "encode_layers", "hyperparameter_names", "searched_parameters",
           "trial_values"]

_INTEGER = {"depth", "width", "batch_size"}


def searched_parameters(spec: SweepSpec) -> dict[str, Any]:
    """Hyperparameter name -> its sweep-file form, in table column order (`fitsweep.columns`)."""
    model = spec.model
    shape = {"layers": model.layers} if model.layers is not None else {"depth": model.depth, "width": model.width}
    regularization: dict[str, Any]
    if model.regularizers is not None:
        regularization = {"regularizers": model.regularizers}
    else:
        regularization = {"dropout": model.dropout, "l1": model.l1, "l2": model.l2}
    return {
        **shape,
        "activation": model.activation,
        **regularization,
        "optimizer": spec.train.optimizer,
        "learning_rate": spec.train.learning_rate,
        "batch_size": spec.train.batch_size,
    }


def hyperparameter_names(spec: SweepSpec) -> list[str]:
    """The hyperparameter columns of the trials table, named as in the sweep file."""
    searched = searched_parameters(spec)
    # A `regularizers` combination is recorded both as itself and spelled out as its parts.
    spelled_out = set(REGULARIZERS) if REGULARIZERS_COLUMN in searched else set()
    return [name for name in HYPERPARAMETER_COLUMNS if name in searched or name in spelled_out]


def declare_space(spec: SweepSpec) -> keras_tuner.HyperParameters:
    """Declare a sweep's search space for a KerasTuner oracle.

    Example:
        >>> from fitsweep.spec import parse_spec
        >>> spec = parse_spec({"name": "s", "data": {"source": "moons"},
        ...                    "model": {"dropout": {"values": [0.0, 0.5]}}})
        >>> declare_space(spec).get("dropout")
        0.0
    """
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for name, form in searched_parameters(spec).items():
        _declare(hp, name, form)
    return hp


def _declare(hp: keras_tuner.HyperParameters, name: str, form: Any) -> None:
    if name in ("layers", "regularizers"):
        options = form.values if name == "regularizers" or isinstance(form, Choice) else [form]
        encode = encode_layers if name == "layers" else lambda option: encode_regularizers(option.model_dump())
        encoded = [encode(option) for option in options]
        if len(encoded) == 1:
            hp.Fixed(name, encoded[0])
        else:
            hp.Choice(name, encoded, ordered=False)
    elif isinstance(form, Choice):
        values = [int(v) for v in form.values] if name in _INTEGER else list(form.values)
        if len(values) == 1:
            hp.Fixed(name, values[0])
        else:
            hp.Choice(name, values)
    elif isinstance(form, Range):
        _declare_range(hp, name, form)
    else:
        hp.Fixed(name, form)


def _declare_range(hp: keras_tuner.HyperParameters, name: str, form: Range) -> None:
    if name in _INTEGER:
        step = int(form.step) if form.step is not None else None
        hp.Int(name, int(form.min), int(form.max), step=step, sampling=form.sampling)
    else:
        hp.Float(name, float(form.min), float(form.max), step=form.step, sampling=form.sampling)
