"""The sweep file's reference tables, read from its pydantic models (`fitsweep.spec`).

Each key's type, default and allowed values come from its annotation, default and validators;
what it does from its `Field(description=...)`. A key the models gain appears here by itself.
"""

from __future__ import annotations

import inspect
import json
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from _markdown import cell
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from fitsweep.spec import (
    BuildModelSpec,
    Choice,
    ConvModelSpec,
    ModelSpec,
    Regularization,
    ReportSpec,
    SweepSpec,
    TrainSpec,
    TunerSpec,
)
from fitsweep.spec._data import DATA_SOURCES, KerasTunerData
from fitsweep.spec._hyperparameters import Bounds, Names

SECTIONS: dict[str, type[BaseModel]] = {
    "sweep": SweepSpec,
    "model.dense": ModelSpec,
    "model.conv": ConvModelSpec,
    "model.build": BuildModelSpec,
    "regularization": Regularization,
    "train": TrainSpec,
    "tuner": TunerSpec,
    "report": ReportSpec,
}
# The sources a sweep file can name (an imported KerasTuner search records `kerastuner` itself).
RUNNABLE_SOURCES = [source for source in DATA_SOURCES if source is not KerasTunerData]
HEADER = "| key | type | default | allowed | what it does |\n| --- | --- | --- | --- | --- |"


def section_table(section: str | None) -> str:
    """The keys of one section: `data` is the keys every source shares."""
    if section == "data":
        return _table(RUNNABLE_SOURCES[0], shared_data_keys())
    if section not in SECTIONS:
        raise KeyError(f"no sweep-file section {section!r}; known: data, {', '.join(SECTIONS)}")
    model = SECTIONS[section]
    return _table(model, [name for name in model.model_fields if name != "family"])


def shared_data_keys() -> list[str]:
    """The keys every runnable data source takes (the splits and scaling), in declaration order."""
    first, *others = RUNNABLE_SOURCES
    return [name for name in first.model_fields
            if name != "source" and all(name in source.model_fields for source in others)]


def data_sources() -> str:
    """Each runnable source: a heading, what it is (its class docstring) and the keys of its own."""
    shared = set(shared_data_keys())
    parts = []
    for source in RUNNABLE_SOURCES:
        own = [name for name in source.model_fields if name not in shared | {"source", "image_shape"}]
        own += ["image_shape"] if "image_shape" in source.model_fields else []  # shared by the image sources
        kind = getattr(source, "kind")  # noqa: B009 - a ClassVar pydantic does not list as a field
        table = _table(source, own) if own else "No keys of its own."
        parts.append(f"#### `source: {kind}`\n\n{cell(_docstring(source))}\n\n{table}")
    return "\n\n".join(parts)


def _table(model: type[BaseModel], names: list[str]) -> str:
    rows = [_row(name, model.model_fields[name]) for name in names]
    return "\n".join([HEADER, *rows])


def _row(name: str, field: FieldInfo) -> str:
    cells = [f"`{name}`", type_text(field.annotation), default_text(field), allowed_text(field),
             field.description or ""]
    return "| " + " | ".join(cell(text) for text in cells) + " |"


def _docstring(model: type[BaseModel]) -> str:
    """A class docstring without its example (the reference shows YAML examples of its own)."""
    text = inspect.cleandoc(model.__doc__ or "")
    return " ".join(text.split("\n\nExample:")[0].split())


# --- what a key takes ------------------------------------------------------------------------------


def type_text(annotation: Any) -> str:
    """A key's type in a user's words: `int`, `number, searchable`, `string or null`, `mapping`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return type_text(args[0])
    if origin in (Union, types.UnionType):
        options = [get_args(arg)[0] if get_origin(arg) is Annotated else arg for arg in args]
        if Choice in options:  # a hyperparameter: a constant, a choice or a range
            return f"{type_text(options[0])}, searchable"
        if all(isinstance(option, type) and issubclass(option, BaseModel) for option in options):
            return "mapping"
        texts = [type_text(option) for option in options if option is not type(None)]
        return " or ".join(texts) + (" or null" if type(None) in options else "")
    if origin is Literal:
        return " or ".join(f"`{value}`" for value in args) if len(args) == 1 else "string"
    if origin is list:
        # Lists of widths (`layers`, `head`) are checked by a validator, so their items read Any.
        item = args[0] if args and args[0] is not Any else int
        return f"list of {type_text(item)}s"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    words = {int: "int", float: "number", bool: "true or false", str: "string"}
    return words.get(annotation, getattr(annotation, "__name__", str(annotation)))


def default_text(field: FieldInfo) -> str:
    """The default as YAML writes it, `required`, or `its defaults` for a section."""
    if field.default is PydanticUndefined:
        return "required"
    if isinstance(field.default, BaseModel):
        return "its defaults"
    return f"`{_yaml(field.default)}`"


def allowed_text(field: FieldInfo) -> str:
    """The values a key's validation accepts, as far as its annotation and validators say."""
    literals = _literals(field.annotation)
    checks = [_checker(item) for item in field.metadata]
    names = next((check.allowed for check in checks if isinstance(check, Names)), None)
    if names:
        return ", ".join(f"`{name}`" for name in names)
    bounds = next((check for check in checks if isinstance(check, Bounds)), None)
    interval = _bounds_text(bounds) if bounds else _interval(field)
    words = ", ".join(f"`{value}`" for value in literals)
    others = [arg for arg in get_args(field.annotation) if get_origin(arg) is not Literal and arg is not type(None)]
    if literals and others:  # `auto` or a number
        return f"{words}, or {interval or ' or '.join(type_text(arg) for arg in others)}"
    return words or interval


def _checker(item: Any) -> Any:
    """The object whose method a validator is (`Bounds`, `Names`), or None."""
    return getattr(item.func, "__self__", None) if isinstance(item, AfterValidator) else None


def _literals(annotation: Any) -> list[Any]:
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType):
        return [value for arg in get_args(annotation) if get_origin(arg) is Literal for value in get_args(arg)]
    return []


def _bounds_text(bounds: Bounds) -> str:
    if bounds.integer:
        return f"{_number(bounds.low)} or more" if bounds.high == float("inf") else \
            f"{_number(bounds.low)} to {_number(bounds.high)}"
    closing = ")" if bounds.high_open else "]"
    return f"[{_number(bounds.low)}, {_number(bounds.high)}{closing}"


def _interval(field: FieldInfo) -> str:
    """A plain number's `Field(ge=, gt=, le=, lt=)` as text: `1 to 100,000`, `(0, 1)`."""
    low = high = None
    low_open = high_open = False
    for item in field.metadata:
        if isinstance(item, (annotated_types.Ge, annotated_types.Gt)):
            low, low_open = getattr(item, "ge", getattr(item, "gt", None)), isinstance(item, annotated_types.Gt)
        if isinstance(item, (annotated_types.Le, annotated_types.Lt)):
            high, high_open = getattr(item, "le", getattr(item, "lt", None)), isinstance(item, annotated_types.Lt)
    if low is None and high is None:
        return ""
    if isinstance(low, int) and not isinstance(low, bool) and not (low_open or high_open):
        return f"{_number(low)} or more" if high is None else f"{_number(low)} to {_number(high)}"
    opening, closing = "(" if low_open else "[", ")" if high_open else "]"
    return f"{opening}{_number(low)}, {'inf' if high is None else _number(high)}{closing}"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return f"{int(value)}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}"


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value).replace('"', "")
    return str(value)
