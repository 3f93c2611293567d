"""Overrides of a sweep file's keys, given apart from the file (`SweepSpec.with_overrides`).

Each override sets one key. They are written into the resolved sweep file, which is then validated
again, so an override is checked as the same key in a file would be. How a command spells them
(`--epochs 5`) is the command line's business: it names them in `source`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Each override and the sweep-file key it sets, in the order an error lists them.
OVERRIDE_KEYS: dict[str, tuple[str, str]] = {
    "tensorboard": ("report", "tensorboard"),
    "fused": ("train", "fused"),
    "fused_trials": ("train", "fused_trials"),
    "max_trials": ("tuner", "max_trials"),
    "epochs": ("train", "epochs"),
}


def given(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides that were given (not None), in `OVERRIDE_KEYS` order."""
    return {name: overrides[name] for name in OVERRIDE_KEYS if overrides.get(name) is not None}


def overridden(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A resolved sweep file (`SweepSpec.resolved`) with each given override written into its key."""
    for name, value in given(overrides).items():
        section, key = OVERRIDE_KEYS[name]
        raw[section][key] = value
    return raw


def overrides_source(overrides: Mapping[str, Any]) -> str:
    """What an error names as the overrides' source: the call with the given ones, `with_overrides(epochs=0)`.

    Example:
        >>> overrides_source({"epochs": 0, "max_trials": None})
        'with_overrides(epochs=0)'
    """
    return f"with_overrides({', '.join(f'{name}={value!r}' for name, value in given(overrides).items())})"
