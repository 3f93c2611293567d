"""The values of sweep-file keys: the three forms of a hyperparameter and the checks on its values.

Every searchable hyperparameter is a constant, a `Choice` of values or a `Range`; `Param[T]`
accepts the three, and the annotated types below (`Depth`, `Rate`, `Activation`, ...) add the
values each key allows. `Section` is the base of every section of the sweep file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from fitsweep.spec._messages import shown, shown_number

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "leaky_relu", "linear")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "nadam", "adagrad")
POOLINGS = ("max", "average", "none")

MAX_LAYERS = 64


def _is_integral(value: Any) -> bool:
    """Whether a number is a whole number, without converting huge ints to float."""
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


class Section(BaseModel):
    """A strict, closed mapping: unknown keys and wrong types are errors."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    kind: ClassVar[str] = ""


# --- hyperparameter forms ------------------------------------------------------------------


class Choice(Section):
    """A hyperparameter searched over a list of values."""

    kind: ClassVar[str] = "choice"
    values: list[Any] = Field(min_length=1)


class Range(Section):
    """A numeric hyperparameter searched between `min` and `max` (inclusive)."""

    kind: ClassVar[str] = "range"
    min: int | float
    max: int | float
    step: int | float | None = None
    sampling: Literal["linear", "log"] = "linear"

    @model_validator(mode="after")
    def _check_bounds(self) -> Range:
        if self.min > self.max:
            raise ValueError(f"min ({shown_number(self.min)}) must not exceed max ({shown_number(self.max)})")
        if self.sampling == "log" and self.min <= 0:
            raise ValueError(f"a log range must stay above 0, got min {shown_number(self.min)}")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be positive, got {shown_number(self.step)}")
        return self


def _form(value: Any) -> str:
    if isinstance(value, Section):
        return value.kind
    if isinstance(value, dict):
        return "choice" if "values" in value else "range"
    return "constant"


_Scalar = TypeVar("_Scalar")
# The three accepted forms of one hyperparameter whose constant form is a `_Scalar`.
Param = Annotated[
    Annotated[_Scalar, Tag("constant")] | Annotated[Choice, Tag("choice")] | Annotated[Range, Tag("range")],
    Discriminator(_form),
]


def _values_of(param: Any) -> list[Any]:
    """Every value a parameter can take that can be checked: constant, choices, range ends."""
    if isinstance(param, Choice):
        return list(param.values)
    if isinstance(param, Range):
        return [param.min, param.max]
    return [param]


@dataclass(frozen=True)
class Bounds:
    """The numbers a numeric key allows: whole numbers or not, from `low` to `high`.

    The validator of a numeric hyperparameter is one of these; `bounds_of` reads it back, so
    code that proposes values (`fitsweep.suggest`) keeps within what the spec accepts.
    """

    integer: bool
    low: float
    high: float = math.inf
    high_open: bool = False  # `high` itself excluded

    def check(self, param: Any) -> Any:
        """Every value of a constant, choice or range is a number within bounds."""
        upper = ")" if self.high_open else "]"
        interval = f"[{self.low:g}, {self.high:g}{upper}"
        allowed = f"{'an integer' if self.integer else 'a number'} in {interval}"
        bounds = (param.min, param.max, param.step or 1) if isinstance(param, Range) else ()
        if self.integer and not all(_is_integral(v) for v in bounds):
            raise ValueError(f"range bounds and step must be integers, allowed: {allowed}")
        for value in _values_of(param):
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not is_number or (self.integer and not _is_integral(value)):
                raise ValueError(f"{shown(value)} is not {allowed}")
            too_high = value >= self.high if self.high_open else value > self.high
            if value < self.low or too_high or (isinstance(value, float) and not math.isfinite(value)):
                raise ValueError(f"{shown(value)} is outside the allowed {interval}")
        return param


def _numbers(*, integer: bool, low: float, high: float = math.inf, high_open: bool = False) -> AfterValidator:
    """A validator that every value of a numeric parameter is a number within bounds."""
    return AfterValidator(Bounds(integer=integer, low=low, high=high, high_open=high_open).check)


def bounds_of(section: type[BaseModel], key: str) -> Bounds:
    """The numbers a section's numeric key allows, as its validation checks them.

    A hyperparameter's come from its type (`Depth`, `Rate`, ...); a plain number's from its
    `Field(ge=..., le=...)`, whole if annotated `int`.

    Example:
        >>> from fitsweep.spec import ModelSpec
        >>> bounds_of(ModelSpec, "depth")
        Bounds(integer=True, low=0, high=64, high_open=False)
    """
    field = section.model_fields[key]
    for item in field.metadata:
        owner = getattr(item.func, "__self__", None) if isinstance(item, AfterValidator) else None
        if isinstance(owner, Bounds):  # `_numbers` validates with a `Bounds`' own check
            return owner
    low, high, high_open = -math.inf, math.inf, False
    for item in field.metadata:
        low = getattr(item, "ge", getattr(item, "gt", low))
        if hasattr(item, "le") or hasattr(item, "lt"):
            high, high_open = getattr(item, "le", getattr(item, "lt", high)), hasattr(item, "lt")
    if math.isinf(low) and math.isinf(high):
        raise KeyError(f"{section.__name__}.{key} is not a bounded number")
    return Bounds(integer=field.annotation is int, low=low, high=high, high_open=high_open)


@dataclass(frozen=True)
class Names:
    """The words a string key allows, as a value or a choice (never a range); `names_of` reads them back."""

    allowed: tuple[str, ...]

    def check(self, param: Any) -> Any:
        """A constant or choice whose every value is one of `allowed`."""
        if isinstance(param, Range):
            raise ValueError(f"takes a value or a choice, not a range; allowed: {', '.join(self.allowed)}")
        for value in _values_of(param):
            if value not in self.allowed:
                raise ValueError(f"{shown(value)} is not one of: {', '.join(self.allowed)}")
        return param


def _names(allowed: tuple[str, ...]) -> AfterValidator:
    """A validator that a string parameter (constant or choice) is one of `allowed`."""
    return AfterValidator(Names(allowed).check)


def names_of(section: type[BaseModel], key: str) -> tuple[str, ...]:
    """The words a section's string hyperparameter allows, as its validation checks them.

    Example:
        >>> from fitsweep.spec import TrainSpec
        >>> names_of(TrainSpec, "optimizer")[:2]
        ('sgd', 'adam')
    """
    for item in section.model_fields[key].metadata:
        owner = getattr(item.func, "__self__", None) if isinstance(item, AfterValidator) else None
        if isinstance(owner, Names):
            return owner.allowed
    raise KeyError(f"{section.__name__}.{key} is not a choice of words")


def _odd(param: Any) -> Any:
    """`model.kernel_size`: odd sizes only, so a "same"-padded kernel is centred on its pixel."""
    if isinstance(param, Range):
        raise ValueError("takes a value or a choice of odd sizes (1, 3, 5, 7), not a range")
    for value in _values_of(param):
        if int(value) % 2 == 0:
            raise ValueError(f"{shown(value)} is even; allowed: an odd size 1, 3, 5 or 7")
    return param


def _switch(param: Any) -> Any:
    """A true/false parameter (constant or choice)."""
    if isinstance(param, Range):
        raise ValueError("takes true, false or {values: [true, false]}, not a range")
    for value in _values_of(param):
        if not isinstance(value, bool):
            raise ValueError(f"{shown(value)} is not true or false")
    return param


def _layer_lists(param: Any) -> Any:
    """`model.layers`: one list of widths, or a choice of such lists."""
    if isinstance(param, Range):
        raise ValueError("takes a list of widths or {values: [[...], ...]}, not a range")
    options = param.values if isinstance(param, Choice) else [param]
    for option in options:
        if isinstance(option, list) and len(option) > MAX_LAYERS:
            raise ValueError(f"{len(option)} layers; at most {MAX_LAYERS} hidden layers are allowed")
        if not isinstance(option, list) or not all(
            isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 1_000_000 for w in option
        ):
            raise ValueError(
                f"{shown(option)} is not a list of integer widths in [1, 1000000] such as [600, 400, 200]"
            )
    return param


Depth = Annotated[Param[int], _numbers(integer=True, low=0, high=64)]
Width = Annotated[Param[int], _numbers(integer=True, low=1, high=1_000_000)]
Rate = Annotated[Param[float], _numbers(integer=False, low=0.0, high=1.0, high_open=True)]
Penalty = Annotated[Param[float], _numbers(integer=False, low=0.0, high=1e3)]
LearningRate = Annotated[Param[float], _numbers(integer=False, low=1e-12, high=10.0)]
BatchSize = Annotated[Param[int], _numbers(integer=True, low=1, high=1_000_000)]
Activation = Annotated[Param[str], _names(ACTIVATIONS)]
Blocks = Annotated[Param[int], _numbers(integer=True, low=0, high=8)]
Filters = Annotated[Param[int], _numbers(integer=True, low=1, high=1024)]
KernelSize = Annotated[Param[int], _numbers(integer=True, low=1, high=7), AfterValidator(_odd)]
Pooling = Annotated[Param[str], _names(POOLINGS)]
Switch = Annotated[Param[bool], AfterValidator(_switch)]
Optimizer = Annotated[Param[str], _names(OPTIMIZERS)]
Layers = Annotated[
    Annotated[list[Any], Tag("constant")] | Annotated[Choice, Tag("choice")] | Annotated[Range, Tag("range")],
    Discriminator(_form),
    AfterValidator(_layer_lists),
]


def largest(form: Any) -> float:
    """The largest value a constant, choice or range can take."""
    if isinstance(form, Choice):
        return float(max(form.values))
    if isinstance(form, Range):
        return float(form.max)
    return float(form)
