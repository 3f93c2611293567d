"""Repeats judged together: a configuration's executions pooled into one verdict, outliers apart.

The tests run on the repeats' mean levels, with the spread between them added to the noise;
each execution takes that verdict unless it stands out from the others (three repeats or more).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis._evidence_row import Settings, number
from fitsweep.analysis._noise import student_t
from fitsweep.analysis._verdict_rule import Judgement
from fitsweep.vocabulary import Verdict

__all__ = ["configuration", "outliers", "pooled", "with_repeats"]

# The moments of a configuration's repeats whose spread enters the noise of their mean.
_SPREAD = ("train_error", "train_crossentropy")
_EPOCHS = ("best_epoch", "min_val_epoch", "last_epoch", "blowup_epoch")
# A blow-up is said of a configuration when most of its repeats had one: a mean would let one repeat speak for all.
_MEDIANS = ("blowup_ratio", "blowup_loss")


def configuration(row: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    """The row's configuration: its keys but the execution."""
    return tuple(row[key] for key in keys[:-1])


def pooled(table: pd.DataFrame, trial: list[str]) -> pd.DataFrame:
    """One row per configuration with two or more finite executions: the mean of their evidence.

    `repeats` counts them; `<measure>_spread` is the variance of the mean of `_SPREAD`'s measures
    between them (the seed's noise, which the repeats measure and their mean divides by their
    number). Epochs are the median's, for the rules; the reasons of a pooled row name none.
    """
    finite = table[table["diverged_at"].isna() & table["final_loss"].notna()]
    grouped = finite.groupby(trial, sort=False, dropna=False)
    size = grouped["final_loss"].transform("size")
    finite = finite[size.to_numpy() >= 2]
    if finite.empty:
        return finite
    grouped = finite.groupby(trial, sort=False, dropna=False)
    numeric = [c for c in finite.columns
               if c not in (*trial, "execution", *_EPOCHS) and pd.api.types.is_numeric_dtype(finite[c])]
    means = grouped[numeric].mean()
    count = grouped.size()
    means["repeats"] = count
    for measure in _SPREAD:
        means[f"{measure}_spread"] = grouped[measure].var(ddof=1) / count
    for name in _EPOCHS:
        if name in finite:
            means[name] = grouped[name].median().round()
    for name in _MEDIANS:
        if name in finite:
            means[name] = grouped[name].median()
    return means.reset_index().assign(diverged_at=None)


def with_repeats(records: list[dict[str, Any]], alone: list[Judgement], together: dict[tuple[Any, ...], Judgement],
                 apart: dict[int, str], keys: list[str]) -> list[Judgement]:
    """Each execution takes its configuration's verdict, unless it diverged or stands out from its repeats.

    The configuration's reason, read from its repeats' mean, says how many they were.
    """
    judged = []
    for index, row in enumerate(records):
        own, shared = alone[index], together.get(configuration(row, keys))
        if own.fit is Verdict.DIVERGED or shared is None or shared.fit is own.fit:
            judged.append(own)
        elif index in apart:
            judged.append(replace(own, reason=f"execution {row['execution']} is an outlier among its "
                                              f"{apart[index]}: {own.reason}"))
        else:
            judged.append(replace(shared, reason=f"its repeats judged together: {shared.reason}; alone, this "
                                                 f"execution reads {own.fit.value} ({_first_clause(own.reason)})",
                                  bias=own.bias, variance=own.variance))
    return judged


def _first_clause(reason: str) -> str:
    return reason.split(". ")[0].split("; ")[0]


def outliers(records: list[dict[str, Any]], alone: list[Judgement], keys: list[str],
             settings: Settings) -> dict[int, str]:
    """The executions clearly apart from their repeats, with words saying how; they are left out of the pool.

    Apart means, on the training cross-entropy (bias) or the variance, beyond what the other
    repeats' spread predicts for one more of them (Student's t on n - 2 degrees of freedom, at
    `confidence` corrected for testing each of the n repeats), and by more than `margin` of its
    level. Two repeats cannot tell which one stands out, so an outlier needs three or more.
    """
    siblings: dict[tuple[Any, ...], list[int]] = {}
    for index, row in enumerate(records):
        if alone[index].fit is not Verdict.DIVERGED:
            siblings.setdefault(configuration(row, keys), []).append(index)
    measures = {"training cross-entropy": [number(row, "train_crossentropy") for row in records],
                "variance": [judgement.variance for judgement in alone]}
    found = {}
    for members in siblings.values():
        if len(members) < 3:
            continue
        for index in members:
            others = [i for i in members if i != index]
            for name, values in measures.items():
                words = _apart(values[index], [values[i] for i in others], name, settings)
                if words:
                    found[index] = f"{len(members)} repeats ({words})"
                    break
    return found


def _apart(value: float, others: list[float], name: str, settings: Settings) -> str:
    sample = np.asarray([v for v in others if math.isfinite(v)])
    if len(sample) < 2 or not math.isfinite(value):
        return ""
    center, sd = float(sample.mean()), float(sample.std(ddof=1))
    n = len(sample) + 1
    bound = student_t(1 - (1 - settings.confidence) / n, n - 2) * sd * math.sqrt(1 + 1 / len(sample))
    if abs(value - center) <= max(bound, settings.margin * max(abs(center), abs(value))):
        return ""
    return f"its {name} {value:.3g} against {center:.3g} for the others, beyond their spread {bound:.2g}"
