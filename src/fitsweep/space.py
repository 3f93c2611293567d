"""The search space: a sweep file's hyperparameters declared as KerasTuner hyperparameters.

Constants become `Fixed` so every trial records every value; choices become `Choice`; ranges
become `Int` or `Float`. A `layers` list is searched as a string such as "600-400-200" because
KerasTuner choices hold scalars only; `fitsweep.results.columns` knows the encodings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fitsweep.families import family_for
from fitsweep.results.columns import (
    INTEGER_HYPERPARAMETERS,
    LAYER_LISTS,
    decode_layers,
    encode_layers,
    encode_regularizers,
    trial_values,
)
from fitsweep.spec import Choice, Range, SweepSpec

if TYPE_CHECKING:  # KerasTuner (and TensorFlow with it) is imported only to declare a space, not to read one
    import keras_tuner

# decode_layers, encode_layers and trial_values are fitsweep.results.columns', importable from here as before.
__all__ = ["declare_form", "declare_space", "decode_layers", "encode_layers", "hyperparameter_names",
           "searched_parameters", "trial_values"]



def searched_parameters(spec: SweepSpec) -> dict[str, Any]:
    """Hyperparameter name -> its sweep-file form, in table column order (the sweep's model family's)."""
    return family_for(spec).searched_parameters()


def hyperparameter_names(spec: SweepSpec) -> list[str]:
    """The hyperparameter columns of the trials table, named as in the sweep file."""
    return family_for(spec).hyperparameter_names()


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
    family_for(spec).declare(hp)
    return hp


def declare_form(hp: keras_tuner.HyperParameters, name: str, form: Any, integer: bool = False) -> None:
    """Declare one sweep-file hyperparameter (a constant, a `Choice` or a `Range`) on `hp`.

    `integer` declares whole numbers (as the `INTEGER_HYPERPARAMETERS` always are).
    """
    integer = integer or name in INTEGER_HYPERPARAMETERS
    if name in (*LAYER_LISTS, "regularizers"):
        options = form.values if name == "regularizers" or isinstance(form, Choice) else [form]
        encode = encode_layers if name in LAYER_LISTS else lambda option: encode_regularizers(option.model_dump())
        encoded = [encode(option) for option in options]
        if len(encoded) == 1:
            hp.Fixed(name, encoded[0])
        else:
            hp.Choice(name, encoded, ordered=False)
    elif isinstance(form, Choice):
        values = [int(v) for v in form.values] if integer else list(form.values)
        if len(values) == 1:
            hp.Fixed(name, values[0])
        else:
            hp.Choice(name, values)
    elif isinstance(form, Range):
        _declare_range(hp, name, form, integer)
    else:
        hp.Fixed(name, form)


def _declare_range(hp: keras_tuner.HyperParameters, name: str, form: Range, integer: bool) -> None:
    if integer:
        step = int(form.step) if form.step is not None else None
        hp.Int(name, int(form.min), int(form.max), step=step, sampling=form.sampling)
    else:
        hp.Float(name, float(form.min), float(form.max), step=form.step, sampling=form.sampling)
