"""The key findings: the few sentences a reader wants first, in the report and the terminal."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import pandas as pd

from fitsweep.report.content import Finding
from fitsweep.results import SweepRun

__all__ = ["headline"]

log = logging.getLogger(__name__)

_LISTED = 6  # configurations listed under a finding before "and N more"


def headline(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[Finding]:
    """The findings a reader wants first: the verdicts by configuration, the comparison, what mattered.

    What to use and change comes before them, from `fitsweep.report.recommendation.recommend`.

    Example:
        >>> headline(run, verdicts_of(run))[0].text  # doctest: +SKIP
        'Trials: 32 completed. Verdicts over 96 executions: 30 good, 66 underfit.'
    """
    imported = run.info.get("imported")
    lines = []
    if imported:
        lines.append(Finding(f"Imported from KerasTuner: {'; '.join(imported.get('not_recorded') or [])}."))
    for finding in (_fit_lines, _baseline_lines, _validation_lead_lines, _comparison_lines, _capacity_lines,
                    _importance_lines):
        try:
            lines.extend(finding(run, diagnosis))
        except Exception as error:  # noqa: BLE001 - a finding that cannot be made is left out, the others stand
            log.debug("finding left out: %s", error)
    return [line for line in lines if line.text]


def _fit_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[Finding]:
    statuses = run.trials.drop_duplicates("trial_id")["status"].astype(str).value_counts()
    trials = ", ".join(f"{n} {status}" for status, n in statuses.items()) or "none"
    if diagnosis is None or diagnosis.empty:
        return [Finding(f"Trials: {trials}.")]
    from fitsweep.analysis import fit_findings
    from fitsweep.verdicts import verdict_measure

    counts, *groups = fit_findings(diagnosis, run.trials, verdict_measure(run))
    return [Finding(f"Trials: {trials}. {counts}"), *(Finding(group) for group in groups)]


def _baseline_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[Finding]:
    """The linear reference beside the best configuration, and (a regression) whether anything beats the mean."""
    from fitsweep.analysis import baseline_findings

    lines = baseline_findings(run.trials, diagnosis, run.info.get("chance_loss"), run.info.get("linear_reference"))
    return [Finding(line) for line in lines]


def _validation_lead_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[Finding]:
    """Why validation beats training in most executions, said as far as the numbers allow."""
    from fitsweep.analysis import validation_lead

    lead = validation_lead(diagnosis, run.trials) if diagnosis is not None else None
    if lead is None:
        return []
    text = (f"Validation accuracy is above training accuracy in {lead.ahead} of {lead.executions} executions, by "
            f"{lead.lead_low:.3f}-{lead.lead_high:.3f} at the last epoch (median {lead.lead_median:.3f}). ")
    if math.isfinite(lead.spread):
        times = lead.lead_median / lead.spread
        text += (f"Every execution is scored on the same {lead.val_rows:,.0f} validation rows, so this is one draw "
                 f"of the split, not {lead.executions}: at accuracy {lead.accuracy:.2f}, random samples of "
                 f"{lead.val_rows:,.0f} and {lead.train_rows:,.0f} rows differ by {lead.spread:.3f} (one standard "
                 f"deviation) by chance alone, and the median lead is {times:.1f} of those: ")
        text += ("these validation rows most likely happen to be easier than the training rows. " if times <= 3 else
                 "more than a draw of the split usually gives; check whether validation rows repeat training rows "
                 "or come from other data. ")
    else:
        text += "Every execution is scored on the same validation split, whose rows may simply be easier. "
    if run.info.get("imported"):
        text += ("KerasTuner recorded the training accuracy as Keras logs it, averaged over each epoch's batches "
                 "with dropout active, which reads lower than an accuracy measured after the epoch: part of the "
                 "lead may be that.")
    else:
        text += ("It is not dropout or the L1/L2 penalty: fitsweep measures both accuracies alike, after each epoch "
                 "in inference mode (dropout off), and an accuracy carries no penalty. Another data.split_seed "
                 "would show whether the lead follows the split.")
    return [Finding(text)]


def _comparison_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[Finding]:
    from fitsweep.analysis import compare, comparison_findings, metric_of_table

    table = compare(run.trials)
    if len(table) < 2:
        return []
    findings = [Finding(comparison_findings(table)[0])]
    metric = metric_of_table(table)

    def difference(row: pd.Series) -> str:
        return f"{row['group']}: {metric.text(float(row['difference']), signed=True)}"

    others = table[~table["baseline"]]
    different = others[others["significant"].to_numpy(dtype=bool)]
    if len(different):
        findings.append(Finding(
            f"Clearly different from it after Holm's correction ({_count(len(different), 'configuration')}; "
            f"difference in mean test {metric.label}):", _listed(different, difference, run)))
    undecided = others[~others["significant"].to_numpy(dtype=bool)]
    judged = undecided[pd.to_numeric(undecided["p_value"], errors="coerce").notna().to_numpy()]
    if len(judged):
        findings.append(Finding(f"Within noise of it ({_count(len(judged), 'configuration')}; difference in mean "
                                f"test {metric.label}){_resolve(judged, int(table.attrs.get('max_repeats', 100)))}:",
                                _listed(judged, difference, run)))
    elif len(undecided):
        findings.append(Finding(f"{_count(len(undecided), 'configuration')} could not be judged against it: a "
                                "configuration needs at least two executions (tuner.executions_per_trial) before "
                                "it can be compared at all."))
    return findings


def _resolve(judged: pd.DataFrame, max_repeats: int) -> str:
    """How many repeats would tell the closest configuration from the best, as a clause."""
    closest = judged.iloc[int(pd.to_numeric(judged["difference"]).abs().to_numpy().argmin())]
    repeats = float(closest["repeats_needed"])
    if math.isnan(repeats):
        return ""
    needed = f"more than {max_repeats}" if math.isinf(repeats) else f"about {int(repeats)}"
    return f"; telling the closest, {closest['group']}, from it would take {needed} repeats per configuration"


def _listed(rows: pd.DataFrame, describe: Callable[[pd.Series], str], run: SweepRun) -> tuple[str, ...]:
    items = [describe(row) for _, row in rows.head(_LISTED).iterrows()]
    left = len(rows) - len(items)
    if left:
        items.append(f"and {left} more (`fitsweep compare {run.path}` lists them all)")
    return tuple(items)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _capacity_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[Finding]:
    """The gaps' rank correlation with the parameter count: the two gaps the figure draws, named as it names them."""
    from fitsweep.analysis import GAP_NAMES, capacity

    if pd.to_numeric(run.trials["params"], errors="coerce").nunique() < 3:
        return []  # a correlation with fewer than three network sizes says nothing
    table = capacity(run.trials, diagnosis).set_index(["capacity", "gap"])
    parts = []
    for gap in ("accuracy_gap", "loss_gap"):
        if ("params", gap) not in table.index:
            continue
        values = table.loc[("params", gap), ["spearman_rho", "p_value"]].to_numpy(dtype=float)
        rho, p_value = float(values[0]), float(values[1])
        if math.isfinite(rho):
            strength = "significant" if p_value < 0.05 else "not significant"
            parts.append(f"{GAP_NAMES[gap]}: rho {rho:+.2f} ({strength}, p = {p_value:.2g})")
    if not parts:
        return []
    return [Finding("Gaps against parameter count (Spearman; drawn in 'Generalisation gap against capacity'; "
                    "a positive rho means the gap grows with the parameter count):", tuple(parts))]


def _importance_lines(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[Finding]:
    from fitsweep.analysis import importance, importance_findings

    objective = run.spec.tuner.objective
    return [Finding(line) for line in importance_findings(importance(run.trials, objective), objective)]
