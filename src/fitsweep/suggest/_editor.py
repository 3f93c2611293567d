"""The next sweep file as plain data, each edit with its evidence, and the Dense family's keys.

The rules (`fitsweep.suggest._rules`) edit a finished sweep's resolved sweep file through an
`Editor`, which records every edit as a `Change`. What values a key allows, and whether it is
a whole number, is the spec's to say (`fitsweep.spec.bounds_of`); this module knows only where
each of the Dense family's keys lives and how its values are spaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fitsweep.analysis import AnalysisError
from fitsweep.spec import Bounds, ModelSpec, SweepSpec, TrainSpec, bounds_of

__all__ = ["Change", "Editor", "NextSweep"]

# The Dense family's numeric keys the rules reshape, and the section each lives in.
SECTION = {"depth": "model", "width": "model", "dropout": "model", "l1": "model", "l2": "model",
           "learning_rate": "train", "batch_size": "train"}
# Every key of the Dense family's search space, which a grid searches the product of.
SEARCHED = {"model": ("depth", "width", "layers", "activation", "dropout", "l1", "l2", "regularizers"),
            "train": ("optimizer", "learning_rate", "batch_size")}
# How the values of a key are spaced: ratio-spaced values grow by multiplying (1e-4, 1e-3; 32, 64),
# the others by adding (depth 1, 2; dropout 0.2, 0.4).
RATIO_SPACED = {"width", "l1", "l2", "learning_rate", "batch_size"}
# The step beyond an edge when the edge's neighbour is 0 (and so gives no ratio).
RATIO_FROM_ZERO = {"width": 2.0, "batch_size": 2.0, "l1": 10.0, "l2": 10.0, "learning_rate": 10.0}
# Dropout is proposed up to 0.8, below the spec's 1: beyond it a network keeps too few units to learn.
_MOST_DROPOUT = 0.8
_SECTIONS: dict[str, type[ModelSpec] | type[TrainSpec]] = {"model": ModelSpec, "train": TrainSpec}


@dataclass(frozen=True)
class Change:
    """One edit of the sweep file, and the evidence for it.

    Attributes:
        key: The sweep-file key, such as "model.l2" or "tuner.executions_per_trial".
        before: Its value in the finished sweep (sweep-file form: constant, {values}, {min, max}).
        after: Its value in the next sweep.
        rule: Which rule made it: "widen", "narrow", "regularize", "weaken", "capacity", "train longer",
            "learning rate", "scaling", "repeats", "objective", "grid".
        evidence: Why, with the numbers it rests on, in one sentence.
    """

    key: str
    before: Any
    after: Any
    rule: str
    evidence: str


@dataclass(frozen=True)
class NextSweep:
    """The sweep `next_sweep` suggests.

    Attributes:
        sweep: The next sweep file as plain data (every key, defaults included); it validates.
        changes: Each edit with its evidence, in sweep-file order of the rules that made them.
        notes: What was looked at and left as it was, with its numbers.
        summary: The finished sweep's reading in one sentence: configurations, top ones, verdicts.
    """

    sweep: dict[str, Any]
    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    summary: str


class Editor:
    """The next sweep as plain data, and the changes made to it."""

    def __init__(self, spec: SweepSpec) -> None:
        self.raw = spec.resolved()
        self.original = spec.resolved()
        self.changes: list[Change] = []
        self.notes: list[str] = []

    def get(self, key: str) -> Any:
        section, name = key.split(".")
        return self.raw[section][name]

    def set(self, key: str, value: Any, rule: str, evidence: str) -> None:
        section, name = key.split(".")
        before = self.original[section].get(name)
        self.raw[section][name] = value
        self.changes.append(Change(key=key, before=before, after=value, rule=rule, evidence=evidence))

    def changed(self, key: str, rule: str | None = None) -> bool:
        """Whether a rule (any, or `rule`) has already changed `key`."""
        return any(change.key == key and rule in (None, change.rule) for change in self.changes)


def dense(spec: SweepSpec) -> ModelSpec:
    """The sweep's Dense model section: the rules edit its keys (depth, width, layers, regularizers)."""
    if not isinstance(spec.model, ModelSpec):
        raise AnalysisError(f"next_sweep reads sweeps of family: dense only, not family: {spec.model.family}")
    return spec.model


def bounds(name: str) -> Bounds:
    """The values the rules may propose for a reshaped key (one of `SECTION`'s): those the spec allows."""
    allowed = bounds_of(_SECTIONS[SECTION[name]], name)
    if name == "dropout":
        return Bounds(integer=False, low=allowed.low, high=_MOST_DROPOUT)
    return allowed


def number(value: float, name: str) -> float | int:
    """A proposed value as the sweep file writes it: whole for integer keys, else 3 significant digits."""
    if bounds(name).integer:
        return round(value)
    return float(f"{value:.3g}")  # 0.00030000000000000003 reads badly in a sweep file


def plain_values(form: Any) -> list[Any]:
    """A choice's or constant's values as a list (a range gives its two ends)."""
    if isinstance(form, dict) and "values" in form:
        return list(form["values"])
    if isinstance(form, dict):
        return [form["min"], form["max"]]
    return [form]


def choice(values: Sequence[Any]) -> Any:
    """Values as a sweep-file form: a constant for one value, else a choice."""
    return values[0] if len(values) == 1 else {"values": list(values)}


def shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
