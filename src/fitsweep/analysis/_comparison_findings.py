"""A comparison in words: each group's note in `compare`'s table, and a few sentences on the whole table."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis._common import as_float
from fitsweep.analysis._compared_metric import COMPARED_METRICS, ComparedMetric, metric_of_table

__all__ = ["comparison_findings", "group_note"]

_MOST_NAMED = 4  # groups named in one finding before "and N more"


def group_note(row: dict[Hashable, Any], reference_executions: int, against_best: bool, power: float,
               max_repeats: int, metric: ComparedMetric = COMPARED_METRICS["accuracy"]) -> str:
    """A group's row of `compare`'s table against the reference, in plain words (better as `metric` says)."""
    reference = "the best" if against_best else "the baseline"
    if row["baseline"]:
        return f"{reference} group"
    if row["n_executions"] < 2:
        return f"one execution: repeats are needed to judge it against {reference} at all"
    if reference_executions < 2:
        return f"{reference} has one execution: repeats are needed to judge any group against it at all"
    difference = metric.text(row["difference"], signed=True)
    if math.isnan(row["p_value"]):
        return f"no spread in either group: the test is undefined (difference {difference})"
    evidence = f"(difference {difference}, p_holm {row['p_holm']:.2g})"
    if row["significant"]:
        direction = "better" if metric.better(row["difference"]) else "worse"
        return f"clearly {direction} than {reference} {evidence}"
    return f"within noise of {reference} {evidence}; {_resolve_clause(row['repeats_needed'], power, max_repeats)}"


def _resolve_clause(repeats: float, power: float, max_repeats: int) -> str:
    if math.isinf(repeats):
        return (f"more than {max_repeats} repeats per group would be needed to resolve a difference this size "
                f"at {power:.0%} power")
    if math.isnan(repeats):
        return "no spread to estimate the repeats a difference this size needs"
    return f"about {int(repeats)} repeats per group would resolve a difference this size at {power:.0%} power"


def comparison_findings(table: pd.DataFrame) -> list[str]:
    """One to three sentences on a `compare` table: the best group, the clearly worse, the undecided.

    Args:
        table: `compare`'s table; its `attrs` carry the confidence, power, max_repeats and metric
            `compare` used (the defaults where they are missing).

    Returns:
        The sentences; an empty list when the table has fewer than two groups (nothing was compared).

    Example:
        >>> comparison_findings(compare(fitsweep.load("results/notmnist-regularizers").trials))  # doctest: +SKIP
        ['Highest mean test accuracy: dropout=0.5 (0.922, 95% interval 0.914-0.930, 3 executions).', ...]
    """
    if len(table) < 2:
        return []
    confidence = float(table.attrs.get("confidence", 0.95))
    power, max_repeats = float(table.attrs.get("power", 0.8)), int(table.attrs.get("max_repeats", 100))
    reference = table[table["baseline"]].iloc[0]
    others = table[~table["baseline"]]
    metric = metric_of_table(table)
    findings = [_reference_sentence(reference, confidence, metric, is_best=bool(table["baseline"].iloc[0]))]
    different = others[others["significant"]]
    if len(different):
        findings.append("Clearly different from it after Holm's correction: "
                        + _named(different, lambda row: f"{row['group']} ({_difference(row, metric)})") + ".")
    undecided = others[~others["significant"]]
    judged = undecided[np.isfinite(as_float(undecided["p_value"]))]
    if len(judged):
        findings.append(_noise_sentence(judged, power, max_repeats, metric))
    elif len(undecided):
        findings.append(f"{_count(len(undecided), 'group')} could not be judged against it: a group needs at least "
                        "two executions (tuner.executions_per_trial) before it can be compared at all.")
    return findings


def _reference_sentence(reference: pd.Series, confidence: float, metric: ComparedMetric, *, is_best: bool) -> str:
    low, high = reference[f"{metric.test}_ci_low"], reference[f"{metric.test}_ci_high"]
    interval = f", {confidence:.0%} interval {metric.text(low)}-{metric.text(high)}" if math.isfinite(low) else ""
    evidence = (f"{metric.text(reference[f'{metric.test}_mean'])}{interval}, "
                f"{_count(int(reference['n_executions']), 'execution')}")
    if is_best:
        return f"{metric.best_word} mean test {metric.label}: {reference['group']} ({evidence})."
    return f"Compared against the baseline {reference['group']} (mean test {metric.label} {evidence})."


def _noise_sentence(judged: pd.DataFrame, power: float, max_repeats: int, metric: ComparedMetric) -> str:
    closest = judged.iloc[int(np.argmin(np.abs(as_float(judged["difference"]))))]
    resolve = _resolve_clause(float(closest["repeats_needed"]), power, max_repeats)
    return (f"Within noise of it: {_named(judged, lambda row: str(row['group']))}; for the closest, "
            f"{closest['group']} (difference {_difference(closest, metric)}), {resolve}.")


def _difference(row: pd.Series, metric: ComparedMetric) -> str:
    return metric.text(float(row["difference"]), signed=True)


def _named(rows: pd.DataFrame, describe: Callable[[pd.Series], str]) -> str:
    names = [describe(row) for _, row in rows.head(_MOST_NAMED).iterrows()]
    left = len(rows) - len(names)
    return ", ".join(names) + (f" and {left} more" if left else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
