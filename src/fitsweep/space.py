"""The search space: a sweep file's hyperparameters declared as KerasTuner hyperparameters.

Constants become `Fixed` so every trial records every value; choices become `Choice`; ranges
become `Int` or `Float`. A `layers` list is searched as a string such as "600-400-200" because
KerasTuner choices hold scalars only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras_tuner

from fitsweep.spec import Choice, Range, SweepSpec

__all__ = [
    "declare_space", "hyperparameter_names", "trial_values",
    "encode_layers", "decode_layers", "encode_regularization", "decode_regularization", "NO_HIDDEN_LAYERS",
]

NO_HIDDEN_LAYERS = "none"
NO_REGULARIZATION = "none"
REGULARIZERS = ("dropout", "l1", "l2")
_INTEGER = {"depth", "width", "batch_size"}


def encode_layers(widths: list[int]) -> str:
    """`[600, 400, 200]` as the choice value "600-400-200" (no hidden layer: "none")."""
    return "-".join(str(w) for w in widths) or NO_HIDDEN_LAYERS


def decode_layers(value: str) -> list[int]:
    """The inverse of `encode_layers`."""
    return [] if value == NO_HIDDEN_LAYERS else [int(w) for w in value.split("-")]


def encode_regularization(regularization: Mapping[str, float]) -> str:
    """`{l2: 0.001, dropout: 0.2}` as the choice value "dropout=0.2+l2=0.001" (nothing: "none")."""
    parts = [f"{name}={float(regularization.get(name, 0.0)):g}" for name in REGULARIZERS if regularization.get(name)]
    return "+".join(parts) or NO_REGULARIZATION


def decode_regularization(value: str) -> dict[str, float]:
    """The inverse of `encode_regularization`, with every regularizer present (0 when off)."""
    decoded = dict.fromkeys(REGULARIZERS, 0.0)
    if value != NO_REGULARIZATION:
        decoded.update({name: float(number) for name, number in (part.split("=") for part in value.split("+"))})
    return decoded


def trial_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's hyperparameter values with a `regularizers` choice spelled out as dropout, l1, l2."""
    expanded = dict(values)
    if "regularizers" in expanded:
        expanded.update(decode_regularization(expanded["regularizers"]))
    return expanded


def searched_parameters(spec: SweepSpec) -> dict[str, Any]:
    """Hyperparameter name -> its sweep-file form, in table column order."""
    model = spec.model
    shape = {"layers": model.layers} if model.layers is not None else {"depth": model.depth, "width": model.width}
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
    names = list(searched_parameters(spec))
    if "regularizers" in names:
        at = names.index("regularizers") + 1
        names[at:at] = list(REGULARIZERS)
    return names


def declare_space(spec: SweepSpec) -> keras_tuner.HyperParameters:
    """Declare a sweep's search space for a KerasTuner oracle.

    Example:
        >>> from fitsweep.spec import parse_spec
        >>> spec = parse_spec({"name": "s", "data": {"source": "moons"},
        ...                    "model": {"dropout": {"values": [0.0, 0.5]}}})
        >>> declare_space(spec).get("dropout")
        0.0
    """
    hp = keras_tuner.HyperParameters()
    for name, form in searched_parameters(spec).items():
        _declare(hp, name, form)
    return hp


def _declare(hp: keras_tuner.HyperParameters, name: str, form: Any) -> None:
    if name in ("layers", "regularizers"):
        options = form.values if name == "regularizers" or isinstance(form, Choice) else [form]
        encode = encode_layers if name == "layers" else lambda option: encode_regularization(option.model_dump())
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
