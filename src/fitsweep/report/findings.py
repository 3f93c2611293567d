"""The key findings: the few sentences a reader wants first, in the report and the terminal."""

from __future__ import annotations

import logging
import math

import pandas as pd

from fitsweep.report.sections.best import best_trials
from fitsweep.report.text import cell, hyperparameters
from fitsweep.results import SweepRun

__all__ = ["headline"]

log = logging.getLogger(__name__)


def headline(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[str]:
    """The few sentences a reader wants first: the best trial, the verdicts by configuration, what mattered.

    Example:
        >>> headline(run, verdicts_of(run))  # doctest: +SKIP
        ['Best trial 00: test accuracy 0.990, ... verdict good.', 'Verdicts over 32 executions: ...', ...]
    """
    imported = run.info.get("imported")
    lines = [_best_line(run, diagnosis)]
    if imported:
        lines.append(f"Imported from KerasTuner: {'; '.join(imported.get('not_recorded') or [])}.")
    for finding in (_fit_lines, _comparison_lines, _capacity_lines, _importance_lines):
        try:
            lines.extend(finding(run, diagnosis))
        except Exception as error:  # noqa: BLE001 - a finding that cannot be made is left out, the others stand
            log.debug("finding left out: %s", error)
    return [line for line in lines if line]


def _best_line(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    best = best_trials(run, diagnosis, top=1)
    if best.empty:
        errors = run.trials["error"].dropna().astype(str) if "error" in run.trials else pd.Series(dtype=str)
        first = f" The first error: {errors.iloc[0]}" if len(errors) else ""
        return f"No trial completed, so there is no best trial.{first}"
    row = best.iloc[0]
    settings = ", ".join(f"{c} {cell(row[c])}" for c in hyperparameters(run) if c in best.columns)
    verdict = f"; verdict {row['verdict']}" if "verdict" in best else ""
    objective = run.spec.tuner.objective
    test = f"test accuracy {cell(row['test_accuracy'])}, " if "test_accuracy" in best else ""
    return f"Best trial {row['trial']}: {test}{objective} {cell(row[objective])}" + (
        f" ({settings})" if settings else "") + f"{verdict}."


def _fit_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[str]:
    statuses = run.trials.drop_duplicates("trial_id")["status"].astype(str).value_counts()
    trials = ", ".join(f"{n} {status}" for status, n in statuses.items()) or "none"
    if diagnosis is None or diagnosis.empty:
        return [f"Trials: {trials}."]
    from fitsweep.analysis import fit_findings

    counts, *groups = fit_findings(diagnosis, run.trials)
    return [f"Trials: {trials}. {counts}", *groups]


def _comparison_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[str]:
    from fitsweep.analysis import compare, comparison_findings

    table = compare(run.trials)
    return comparison_findings(table) if len(table) >= 2 else []


def _capacity_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[str]:
    from fitsweep.analysis import capacity

    if pd.to_numeric(run.trials["params"], errors="coerce").nunique() < 3:
        return []  # a correlation with fewer than three network sizes says nothing
    table = capacity(run.trials, diagnosis).set_index(["capacity", "gap"])
    gaps = {"val_rise": "rise of the validation loss after its minimum", "accuracy_gap": "accuracy gap"}
    parts = []
    for gap, words in gaps.items():
        if ("params", gap) not in table.index:
            continue
        values = table.loc[("params", gap), ["spearman_rho", "p_value"]].to_numpy(dtype=float)
        rho, p_value = float(values[0]), float(values[1])
        if math.isfinite(rho):
            strength = "significant" if p_value < 0.05 else "not significant"
            parts.append(f"{words} rho {rho:+.2f} ({strength}, p = {p_value:.2g})")
    return [f"Gap against parameter count (Spearman): {'; '.join(parts)}."] if parts else []


def _importance_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[str]:
    from fitsweep.analysis import importance, importance_findings

    objective = run.spec.tuner.objective
    return importance_findings(importance(run.trials, objective), objective)
