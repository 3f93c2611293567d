"""What to use and what to change: the report's first line, in plain words.

The configuration is the best by the sweep's own objective (validation only); its test accuracy
is the mean over its repeats, with their standard deviation. What to change is what
`fitsweep suggest` would change (`fitsweep.suggest.next_sweep`), each change in a few words.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.report.sections.best import best_trials
from fitsweep.report.text import cell, hyperparameters
from fitsweep.results import SweepRun
from fitsweep.results.columns import REGULARIZERS, REGULARIZERS_COLUMN, encode_layers, encode_regularizers
from fitsweep.vocabulary import TrialStatus, Verdict, verdict_tally

__all__ = ["recommend"]

log = logging.getLogger(__name__)

_VALUES_NAMED = 6  # values of one key named in a change before "..."


def recommend(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    """The report's first line: the configuration to use, how it did, and what the next sweep should change.

    Example:
        >>> recommend(fitsweep.load("results/moons"), verdicts_of(run))  # doctest: +SKIP
        'Use trial 00 (layers 25-50-50-25, no regularization): test accuracy 0.993 ± 0.012 (mean ± sd over
        3 repeats), good fit in 3 of 3 repeats. Next: search layers only over 25-50-50-25 or 256-256-256; ...'
    """
    best = best_trials(run, diagnosis, top=1)
    if best.empty:
        errors = run.trials["error"].dropna().astype(str) if "error" in run.trials else pd.Series(dtype=str)
        first = f" The first error: {errors.iloc[0]}" if len(errors) else ""
        return f"No trial completed, so there is nothing to recommend yet.{first}"
    row = best.iloc[0]
    trial_id = str(row["trial"])
    fits = _fits(diagnosis, trial_id)
    good = bool(fits) and 2 * sum(fit == Verdict.GOOD for fit in fits) > len(fits)
    settings = _settings(row, [c for c in hyperparameters(run) if c in best.columns])
    line = (f"{'Use' if good else 'Best so far:'} trial {trial_id}{f' ({settings})' if settings else ''}, the best "
            f"by {run.spec.tuner.objective}: ")
    line += _scores(run, trial_id) + (f", {verdict_tally(fits)}" if fits else "") + "."
    return f"{line} {_next_steps(run, diagnosis)}".strip()


def _fits(diagnosis: pd.DataFrame | None, trial_id: str) -> list[str]:
    if diagnosis is None or "fit" not in diagnosis:
        return []
    rows = diagnosis[diagnosis["trial_id"].astype(str).eq(trial_id).to_numpy()]
    return [str(fit) for fit in rows["fit"].dropna()]


def _settings(row: pd.Series, columns: list[str]) -> str:
    """The best configuration's varied hyperparameters; regularizers at 0 left out, or "no regularization"."""
    if REGULARIZERS_COLUMN in columns:  # a combination names its parts itself
        columns = [c for c in columns if c not in REGULARIZERS]
    regularizing = [c for c in columns if c in REGULARIZERS or c == REGULARIZERS_COLUMN]
    parts = [f"{c} {cell(row[c])}" for c in columns if c not in regularizing or _regularized(row[c])]
    if regularizing and not any(_regularized(row[c]) for c in regularizing):
        parts.append("no regularization")
    return ", ".join(parts)


def _regularized(value: Any) -> bool:
    """Whether a regularizer's strength, or a `regularizers` combination, turns any regularization on."""
    return value != "none" if isinstance(value, str) else _number(value) != 0


def _number(value: Any) -> float:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return float(number) if pd.notna(number) else math.nan


def _scores(run: SweepRun, trial_id: str) -> str:
    """Test accuracy as mean ± sd over the trial's completed repeats (the objective where there is no test)."""
    trials = run.trials
    rows = trials[trials["trial_id"].astype(str).eq(trial_id).to_numpy()
                  & trials["status"].astype(str).eq(TrialStatus.COMPLETED).to_numpy()]
    tested = next((name for name in ("test_accuracy", "test_r2") if name in rows and rows[name].notna().any()), None)
    column = tested or run.spec.tuner.objective
    values = pd.to_numeric(rows[column], errors="coerce").dropna().to_numpy(dtype=float)
    name = column.replace("_", " ")
    if len(values) == 1:
        return f"{name} {values[0]:.3f} (one execution)"
    return (f"{name} {values.mean():.3f} ± {np.std(values, ddof=1):.3f} (mean ± sd over {len(values)} repeats)")


def _next_steps(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    """What `fitsweep suggest` would change, in a few words each ("" when it cannot say)."""
    if run.info.get("status") != "completed" or run.info.get("imported"):
        return ""  # suggest reads finished runs of fitsweep's own
    from fitsweep.suggest import next_sweep

    try:
        suggestion = next_sweep(run.spec, run.trials, run.epochs, diagnosis=diagnosis,
                                chance_loss=run.info.get("chance_loss"), data=run.info.get("data"))
    except Exception as error:  # noqa: BLE001 - a sweep suggest cannot read (another family) still gets its line
        log.debug("no next sweep: %s", error)
        return ""
    narrowed = {change.key for change in suggestion.changes if change.rule == "narrow"}
    kept = [change for change in suggestion.changes
            if change.rule != "grid"  # the grid's size follows from the other changes
            and not (change.rule == "widen" and change.key in narrowed)]  # the narrowed list names the new values
    steps = list(dict.fromkeys(_step(*change) for change in _per_key(kept)))
    if not steps:
        return "Next: nothing to change by fitsweep's rules; more of the same would only add repeats."
    return f"Next: {'; '.join(steps)}. `fitsweep suggest {run.path}` writes that sweep file."


def _per_key(changes: list[Any]) -> list[tuple[str, str, Any, Any]]:
    """(key, rule, before, after), one per key: each rule's `after` builds on the one before it.

    Two rules may add values to one list (a widening, then regularizing more); the key's change
    is then from its value in the finished sweep to the last rule's, named by that rule.
    """
    merged: dict[str, tuple[str, str, Any, Any]] = {}
    for change in changes:
        before = merged[change.key][2] if change.key in merged else change.before
        merged[change.key] = (change.key, change.rule, before, change.after)
    return list(merged.values())


def _step(key: str, rule: str, before: Any, after: Any) -> str:
    name = key.rsplit(".", 1)[-1]
    if rule == "train longer":
        return f"train for {after} epochs (was {before})"
    if rule == "repeats":
        return f"run {after} repeats per configuration (was {before})"
    if rule == "scaling":
        return "scale the inputs (data.scaling: auto)"
    if rule == "objective":
        return f"select on {after}"
    if rule == "narrow":  # the search space shrinks to the values around the top configurations
        return f"search {name} only over {_values(after)}"
    if rule == "widen":
        added = _added_values(before, after)
        return f"add {added} to {name}" if added else f"widen {name} to {_values(after)}"
    verbs = {"learning rate": "try", "capacity": "add capacity:", "regularize": "regularize more:",
             "weaken": "regularize less:"}
    added = _added_values(before, after) if rule in ("regularize", "weaken") else ""
    if added:  # the values a list gained, not the whole list
        return f"{verbs[rule]} add {added} to {name}"
    return f"{verbs.get(rule, rule + ':')} {name} {_values(after)}"


def _added_values(before: Any, after: Any) -> str:
    """The listed values `after` holds and `before` does not, in words ("" unless both are lists)."""
    if not all(isinstance(form, Mapping) and "values" in form for form in (before, after)):
        return ""
    old = {_value(value) for value in before["values"]}
    return _values({"values": [value for value in after["values"] if _value(value) not in old]})


def _values(form: Any) -> str:
    """A sweep-file value in words: "a or b", "1e-4 to 0.1", or the constant."""
    if isinstance(form, Mapping) and "values" in form:
        values = [_value(value) for value in form["values"]]
        shown = values[:_VALUES_NAMED] + (["..."] if len(values) > _VALUES_NAMED else [])
        return " or ".join(shown)
    if isinstance(form, Mapping) and "min" in form:
        return f"{_value(form['min'])} to {_value(form['max'])}"
    return _value(form)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return encode_layers(value)
    if isinstance(value, Mapping):
        return encode_regularizers(value)
    return f"{value:g}" if isinstance(value, float) else str(value)
