"""A run as a notebook shows it: status, what to use, verdicts, the best trials and the key findings, in HTML.

`SweepRun._repr_html_` returns `run_html(run)`, so a cell ending in `run` shows this instead of
the tables. The tables stay a cell away (`run.trials`), and the report has the rest.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from fitsweep.report.content import Finding
from fitsweep.report.context import diagnose_run
from fitsweep.report.findings import headline
from fitsweep.report.recommendation import recommend
from fitsweep.report.sections.best import best_trials
from fitsweep.report.text import cell, hyperparameters
from fitsweep.results import SweepRun

__all__ = ["run_html"]

_TOP = 5  # best trials shown
_FINDINGS_SHOWN = 3  # findings shown open; the others are a click away
_MUTED = "color:#555"


def run_html(run: SweepRun) -> str:
    """The run's summary as an HTML fragment: a header, the report's first line (what to use and change),
    verdict counts, the best trials, the findings.

    Example:
        >>> from IPython.display import HTML  # doctest: +SKIP
        >>> HTML(run_html(fitsweep.load("results/moons")))  # doctest: +SKIP
    """
    diagnosis = diagnose_run(run)
    parts = [_header(run), f"<p>{escape(recommend(run, diagnosis))}</p>", _verdicts(run.trials),
             _best_table(run, best_trials(run, diagnosis, top=_TOP)), _findings(headline(run, diagnosis))]
    return '<div class="fitsweep-run">' + "".join(part for part in parts if part) + "</div>"


def _header(run: SweepRun) -> str:
    tuner = run.spec.tuner
    statuses = run.trials.drop_duplicates("trial_id")["status"].astype(str).value_counts()
    counts = ", ".join(f"{count} {status}" for status, count in statuses.items())
    trials = f"{statuses.sum()} trials ({counts})" if counts else "no trials yet"
    return (f"<div><b>{escape(run.spec.name)}</b>: {escape(str(run.info.get('status', 'status unknown')))}; "
            f"{escape(trials)}; objective <code>{escape(tuner.objective)}</code> ({escape(tuner.algorithm)} search)"
            f"</div><div style=\"{_MUTED}\">{escape(str(run.path))}</div>")


def _verdicts(trials: pd.DataFrame) -> str:
    from fitsweep.figures import VERDICT_COLORS

    fits = trials["fit"].dropna().astype(str).value_counts() if "fit" in trials else pd.Series(dtype=int)
    shown = [f'<span style="color:{color}">&#9632;</span> {int(fits[name])} {name}'
             for name, color in VERDICT_COLORS.items() if fits.get(name, 0)]
    if not shown:
        return ""
    return f"<div>Verdicts over {int(fits.sum())} executions: {', '.join(shown)}</div>"


def _best_table(run: SweepRun, best: pd.DataFrame) -> str:
    if best.empty:
        return ""
    objective = run.spec.tuner.objective
    wanted = ["trial", *hyperparameters(run), objective, "test_accuracy", "verdict"]
    table = best[[column for column in dict.fromkeys(wanted) if column in best.columns]]
    head = "".join(f"<th>{escape(str(column))}</th>" for column in table.columns)
    rows = "".join("<tr>" + "".join(f"<td>{escape(cell(value))}</td>" for value in row) + "</tr>"
                   for row in table.itertuples(index=False))
    caption = f"Best {len(table)} trials by {objective} (mean over executions)"
    return (f'<table><caption style="text-align:left;{_MUTED}">{escape(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def _findings(findings: list[Finding]) -> str:
    if not findings:
        return ""
    shown, rest = findings[:_FINDINGS_SHOWN], findings[_FINDINGS_SHOWN:]
    html = "<ul>" + "".join(_finding(finding) for finding in shown) + "</ul>"
    if rest:
        more = "".join(_finding(finding) for finding in rest)
        html += f"<details><summary>{len(rest)} more findings</summary><ul>{more}</ul></details>"
    return html


def _finding(finding: Finding) -> str:
    items = "".join(f"<li>{escape(item)}</li>" for item in finding.items)
    return f"<li>{escape(finding.text)}{f'<ul>{items}</ul>' if items else ''}</li>"
