"""How a problem in a sweep file is worded: one line that names the key, what is wrong and what is allowed.

A user's values are quoted short (`shown`), and pydantic's first validation error becomes the key
path and what is wrong (`describe`), with a did-you-mean hint for a misspelt key or family; the
`SpecError` raised with them prints `key.path: what is wrong`.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

# Values quoted in error messages are cut short, so that a huge or self-repeating value (an alias
# bomb) still gives one short line.
_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong, _SHORT.maxlevel = 60, 60, 30, 2
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6
MAX_SHOWN = 100


def shown(value: Any) -> str:
    """A short repr of a user's value for an error message."""
    text = _SHORT.repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def shown_number(value: int | float) -> str:
    """A number for an error message: `:g` for floats, shortened digits for (huge) ints."""
    return f"{value:g}" if isinstance(value, float) else shown(value)


_KEY_PREFIX = re.compile(r"^[a-z_]+\.[a-z_]+: ")


def names_a_key(message: str) -> bool:
    """Whether an error message starts with the sweep-file key it is about (`model.family: ...`).

    For an error raised with its whole message alone; one raised with its fields says `error.key`.
    """
    return bool(_KEY_PREFIX.match(message))


class KeyedProblem(ValueError):
    """A check across sections that names the key it is about (`tuner.objective`).

    pydantic places such a check at the top of the file; it keeps the raised error, so `describe`
    reads the key from it.
    """

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def describe(error: ValidationError, schema: type[BaseModel],
             families: Sequence[type[BaseModel]]) -> tuple[str | None, str]:
    """The first validation problem: the key path it is about and what is wrong, with a did-you-mean hint.

    Args:
        error: What pydantic found validating a sweep file against `schema`.
        schema: The sweep file's model (`SweepSpec`), where error locations start.
        families: The model families' sections (`MODEL_FAMILIES`): a key of another family says which.

    Returns:
        The key path (`train.epochs`) and what is wrong. A problem of the whole file has no key:
        its text starts with `(top level): `.
    """
    first = error.errors()[0]
    keys, model = _walk(first["loc"], schema)
    raised = first.get("ctx", {}).get("error")
    if not keys and isinstance(raised, KeyedProblem):
        return raised.key, raised.problem
    key = ".".join(k if k.isprintable() and len(k) <= 60 else shown(k) for k in keys)
    problem = _problem(first, keys, model, families)
    return (key, problem) if key else (None, f"(top level): {problem}")


def _problem(first: ErrorDetails, keys: list[str], model: type[BaseModel] | None,
             families: Sequence[type[BaseModel]]) -> str:
    """What is wrong, as the error found at `keys` (in section `model`) says it."""
    if first["type"] == "extra_forbidden":
        allowed = sorted(model.model_fields) if model else []
        owners = _families_with(keys[-1], families) if model in families else []
        if owners:  # a key of another model family: say which
            owned_by = " or ".join(f"model.family: {kind}" for kind in owners)
            return (f"belongs to {owned_by}, not family {getattr(model, 'kind', '')}; set that family, "
                    f"or use this family's keys: {', '.join(allowed)}")
        hint = difflib.get_close_matches(keys[-1], allowed, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return f"unknown key{suggestion} (allowed: {', '.join(allowed)})"
    if first["type"] == "model_family":
        return _unknown_family(first["input"], families)
    if first["type"] == "missing":
        return "required key is missing"
    if first["type"] == "literal_error":  # a misspelt choice: say what was given beside what is allowed
        return f"{first['msg']}, got {shown(first['input'])}"
    return first["msg"].removeprefix("Value error, ")


def _families_with(key: str, families: Sequence[type[BaseModel]]) -> list[str]:
    """The model families whose section has `key`."""
    return [getattr(family, "kind", "") for family in families if key in family.model_fields]


def _unknown_family(section: Any, families: Sequence[type[BaseModel]]) -> str:
    """What is wrong with a `model.family` no family has, with a did-you-mean hint."""
    kinds = [getattr(family, "kind", "") for family in families]
    given = section.get("family") if isinstance(section, dict) else None
    hint = difflib.get_close_matches(given, kinds, n=1) if isinstance(given, str) else []
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"unknown family {shown(given)}{suggestion} (allowed: {', '.join(kinds)})"


def _walk(loc: tuple[Any, ...], schema: type[BaseModel]) -> tuple[list[str], type[BaseModel] | None]:
    """The user's key path for an error location, dropping union tags; and the innermost model."""
    keys: list[str] = []
    model: type[BaseModel] | None = schema
    candidates: list[type[BaseModel]] = [schema]
    for step in loc:
        if step == "constant":
            continue
        if isinstance(step, int):  # a list index: the list's items have the same model
            keys.append(str(step))
            continue
        # A tag picks among a union's members; once picked, a key of the same name is a key (model.build).
        tagged = [c for c in candidates if step and getattr(c, "kind", "") == step] if len(candidates) > 1 else []
        if tagged:
            candidates, model = tagged, tagged[0]
            continue
        keys.append(str(step))
        owner = next((c for c in candidates if str(step) in c.model_fields), None)
        if owner is None:
            model = candidates[0] if candidates else None
            candidates = []
            continue
        model = owner
        candidates = _models_in(owner.model_fields[str(step)].annotation)
    return keys, model


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The sections (models) an annotation can hold (through Union, Annotated and Optional)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_models_in(arg))
    return found
