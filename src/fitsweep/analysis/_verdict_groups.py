"""Verdicts read by configuration: which hyperparameter values the over- and underfit trials share.

A person reading a sweep wants "the [8] networks underfit: training accuracy 0.87 against 0.99
reachable, still improving at epoch 200" before any table. `fit_groups` finds, for each verdict,
the hyperparameter values whose executions all received it, and summarises their evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis._common import as_float, require_columns, trial_keys
from fitsweep.results.columns import table_hyperparameters
from fitsweep.vocabulary import Verdict

__all__ = ["fit_groups", "fit_findings"]

_ORDER = (Verdict.UNDERFIT, Verdict.OVERFIT, Verdict.DIVERGED)
_MAX_GROUPS = 3  # per verdict; executions left over are named one by one
_MAX_NAMED = 10  # trials named in one finding before "and N more"
_ACCURACY_GAP = 0.02  # diagnose's accuracy_margin: a smaller shortfall of accuracy is no evidence


def fit_groups(diagnosis: pd.DataFrame, trials: pd.DataFrame, measure: str | None = None) -> pd.DataFrame:
    """Groups of executions sharing a verdict and a hyperparameter value that only they have.

    Args:
        diagnosis: `diagnose`'s output.
        trials: The trials table (for the hyperparameter columns).
        measure: What the diagnosis read the fit by, as the summaries name it: "MSE" (a
            regression), "MAE", "loss" or "cross-entropy" (`fitsweep.verdicts.verdict_measure` of a
            run). None: "cross-entropy" where an error rate was recorded, else "loss".

    Returns:
        One row per group: `fit`, `column` and `value` (None for executions no single value
        explains), `executions`, `trials` (their trial ids, comma-separated) and `summary` (their
        evidence in words). Good verdicts are not grouped.

    Example:
        >>> fit_groups(diagnose(run.epochs, run.trials), run.trials)  # doctest: +SKIP
    """
    return pd.DataFrame(_group_rows(diagnosis, trials, measure),
                        columns=["fit", "column", "value", "executions", "trials", "summary"])


def _group_rows(diagnosis: pd.DataFrame, trials: pd.DataFrame, measure: str | None) -> list[dict[str, Any]]:
    keys = [*trial_keys(diagnosis), "execution"]
    require_columns(diagnosis, [*keys, "fit"], "diagnosis")
    hyperparameters = [c for c in table_hyperparameters(trials.columns) if trials[c].nunique() > 1]
    joined = diagnosis.merge(trials[[*keys, *hyperparameters]].drop_duplicates(keys), on=keys, how="left")
    rows: list[dict[str, Any]] = []
    for fit in _ORDER:
        rows.extend(_groups_of(joined, fit, hyperparameters, measure))
    return rows


def _groups_of(joined: pd.DataFrame, fit: Verdict, hyperparameters: Sequence[str],
               measure: str | None) -> list[dict[str, Any]]:
    left = joined[joined["fit"].eq(fit).fillna(False).to_numpy()]
    groups: list[dict[str, Any]] = []
    while len(left) and len(groups) < _MAX_GROUPS:
        found = _widest_value(joined, left, fit, hyperparameters)
        if found is None:
            break
        column, value = found
        members = left[left[column].astype(str) == value]
        groups.append(_group(fit, column, value, members, measure))
        left = left.drop(members.index)
    if len(left):
        groups.append(_group(fit, None, None, left, measure))
    return groups


def _widest_value(joined: pd.DataFrame, left: pd.DataFrame, fit: Verdict,
                  hyperparameters: Sequence[str]) -> tuple[str, str] | None:
    """The hyperparameter value all of whose executions got `fit`, covering most trials of `left` (at least 2).

    A value held by one trial alone (its repeats, or any value of a continuous hyperparameter)
    explains nothing about the configuration, so it never makes a group. Ties go to the first
    column, then the first value in sorted order. Each column is one grouping of the whole table:
    a continuous hyperparameter of a large sweep has thousands of values.
    """
    best: tuple[int, str, str] | None = None
    is_fit = joined["fit"].eq(fit).fillna(False)
    trials_left = left.drop_duplicates(trial_keys(left))
    for column in hyperparameters:
        everyone = is_fit.groupby(joined[column].astype(str)).all()
        members = trials_left.groupby(trials_left[column].astype(str)).size()
        candidates = members[(members >= 2) & everyone.reindex(members.index, fill_value=False).to_numpy(dtype=bool)]
        if len(candidates) and (best is None or int(candidates.max()) > best[0]):
            value = candidates.index[int(np.argmax(candidates.to_numpy()))]
            best = (int(candidates.max()), column, str(value))
    return None if best is None else (best[1], best[2])


def _group(fit: Verdict, column: str | None, value: str | None, members: pd.DataFrame,
           measure: str | None) -> dict[str, Any]:
    trial_ids = ", ".join(dict.fromkeys(members["trial_id"].astype(str)))
    return {"fit": fit.value, "column": column, "value": value, "executions": len(members), "trials": trial_ids,
            "summary": _summary(fit, members, _measure(members, measure))}


def _span(values: pd.Series | np.ndarray, digits: int = 3) -> str:
    numbers = np.asarray(values, dtype=float) if isinstance(values, np.ndarray) else as_float(values)
    numbers = numbers[np.isfinite(numbers)]
    if not numbers.size:
        return "n/a"
    low, high = float(numbers.min()), float(numbers.max())
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) else f"{low:.{digits}f}-{high:.{digits}f}"


def _measure(members: pd.DataFrame, measure: str | None) -> str:
    """The measure named, or the one the evidence shows: an error rate comes with the cross-entropy."""
    if measure is not None:
        return measure
    return "loss" if _no_error_rate(members) else "cross-entropy"


def _span_g(values: pd.Series) -> str:
    """Like `_span`, to four significant digits: squared errors come in the target's units, of any size."""
    numbers = as_float(values)
    numbers = numbers[np.isfinite(numbers)]
    if not numbers.size:
        return "n/a"
    low, high = f"{float(numbers.min()):.4g}", f"{float(numbers.max()):.4g}"
    return low if low == high else f"{low}-{high}"


def _summary(fit: Verdict, members: pd.DataFrame, measure: str) -> str:
    if fit is Verdict.DIVERGED:
        return "a loss became NaN or infinite"
    if fit is Verdict.UNDERFIT:
        return _underfit_summary(members, measure)
    rose = as_float(members["val_rise"])
    if _no_error_rate(members):  # a regression, or a loss alone: its level, in the target's units
        return (f"validation {measure} {_span_g(members['val_crossentropy'])} against training "
                f"{_span_g(members['train_crossentropy'])}; validation {measure} up {_percent_span(rose)} after its "
                "minimum")
    accuracies = _span(1 - as_float(members["val_error"])), _span(1 - as_float(members["train_error"]))
    return (f"validation accuracy {accuracies[0]} against training {accuracies[1]}; "
            f"validation loss up {_percent_span(rose)} after its minimum")


def _no_error_rate(members: pd.DataFrame) -> bool:
    errors = as_float(members["train_error"])
    return bool(errors.size and np.isnan(errors).all())


def _underfit_summary(members: pd.DataFrame, measure: str) -> str:
    """The underfit group's evidence: accuracy only where it shows a gap, so no "0.626 against 0.626"."""
    cross_entropy = (f"training {measure} {_span(members['train_crossentropy'])} against "
                     f"{_span(members['reachable_crossentropy'])} reachable")
    gap = as_float(members["reachable_error"]) - as_float(members["train_error"])
    text = cross_entropy
    if np.nanmax(np.append(-gap, -np.inf)) > _ACCURACY_GAP:
        text = (f"training accuracy {_span(1 - as_float(members['train_error']))} against "
                f"{_span(1 - as_float(members['reachable_error']))} reachable, {cross_entropy}")
    reasons = members["fit_reason"].astype(str)
    for words, pattern in (("never moved (a flat training loss)", "never moved"),
                           ("still improving at their last epoch", "still improving|still falls")):
        count = int(reasons.str.contains(pattern).sum())
        if count:
            text += f"; {count} of {len(members)} {words}"
    return text


def _percent_span(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    if not values.size:
        return "n/a"
    low, high = round(100 * float(values.min())), round(100 * float(values.max()))
    return f"{low}%" if low == high else f"{low}-{high}%"


def fit_findings(diagnosis: pd.DataFrame, trials: pd.DataFrame, measure: str | None = None) -> list[str]:
    """The verdicts in a few sentences, by configuration: counts first, then who over- or underfits and why.

    `measure` names what the diagnosis read the fit by, as for `fit_groups`.

    Example:
        >>> fit_findings(diagnose(run.epochs, run.trials), run.trials)[1]  # doctest: +SKIP
        'Underfit: layers 8 (8 executions): training accuracy 0.850-0.876 against 0.989 reachable; ...'
    """
    counts = diagnosis["fit"].astype(str).value_counts()
    ordered = [fit for fit in (Verdict.GOOD, *_ORDER) if fit in counts]
    lines = [f"Verdicts over {len(diagnosis)} executions: " + ", ".join(f"{counts[f]} {f}" for f in ordered) + "."]
    for group in _group_rows(diagnosis, trials, measure):
        named = group["column"] is not None
        trial_ids = str(group["trials"])
        who = f"{group['column']} {group['value']}" if named else f"trial{'s' if ',' in trial_ids else ''} " + (
            _first_named(trial_ids.split(", ")))
        extent = f"all {group['executions']} executions" if named else f"{group['executions']} execution(s)"
        lines.append(f"{str(group['fit']).capitalize()}: {who} ({extent}): {group['summary']}.")
    return lines


def _first_named(trial_ids: list[str]) -> str:
    """The first `_MAX_NAMED` trial ids, and how many more (a sweep of thousands has thousands left over)."""
    left = len(trial_ids) - _MAX_NAMED
    return ", ".join(trial_ids[:_MAX_NAMED]) + (f" and {left:,} more" if left > 0 else "")
