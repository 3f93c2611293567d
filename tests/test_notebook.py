"""fitsweep in a notebook, without a kernel: the run's HTML summary and the live progress display."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pandas as pd
import pytest

from conftest import tiny_sweep
from fitsweep import parse_spec
from fitsweep.search._notebook import NotebookProgress
from fitsweep.search.progress import LineProgress, shown_progress

TUNER = parse_spec(tiny_sweep()).tuner


class _Output:
    """An IPython display handle: what `display(..., display_id=True)` returns, recording each redraw."""

    def __init__(self) -> None:
        self.bundles: list[dict[str, str]] = []

    def update(self, bundle: dict[str, str], raw: bool) -> None:
        self.bundles.append(bundle)


class _Observer:
    def __init__(self) -> None:
        self.events: list[str] = []

    def data_prepared(self, summary: str) -> None:
        self.events.append("data")

    def trial_started(self, trial_id: str, *args: Any) -> None:
        self.events.append(f"start {trial_id}")

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Any) -> None:
        self.events.append(f"epoch {trial_id}.{epoch}")

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        self.events.append(f"end {trial_id}")


@pytest.fixture
def notebook_output(monkeypatch: pytest.MonkeyPatch) -> _Output:
    """IPython's display, answering as a notebook's kernel does, and fitsweep told it runs in one."""
    output = _Output()

    def display(bundle: dict[str, str], raw: bool, display_id: bool) -> _Output:
        output.bundles.append(bundle)
        return output

    monkeypatch.setattr("IPython.display.display", display)
    monkeypatch.setattr("fitsweep.jupyter.in_notebook", lambda: True)
    return output


def _two_trials(observer: Any) -> None:
    observer.data_prepared("data: 160 training rows")
    for trial_id, score in (("0", 0.5), ("1", 0.4)):
        observer.trial_started(trial_id, {"width": 8}, 3, 1)
        for epoch in range(3):
            observer.epoch_ended(trial_id, 0, epoch, {"loss": 0.5})
        observer.trial_ended(trial_id, "COMPLETED", score)


def test_the_notebook_display_redraws_one_output_and_ends_on_the_runs_last_state(notebook_output: _Output) -> None:
    with NotebookProgress(total_trials=2, objective="val_loss") as progress:
        _two_trials(progress)
    last = notebook_output.bundles[-1]
    assert last["text/plain"].startswith("data: 160 training rows")
    assert re.search(r"2/2 +trials", last["text/plain"]) and "best val_loss=0.4000" in last["text/plain"]
    assert re.search(r"3/3 +epochs", last["text/plain"]) and "left" in last["text/plain"]
    assert last["text/html"].startswith('<pre class="fitsweep-progress"') and "2/2" in last["text/html"]


def test_a_script_gets_no_display_unless_it_asks(capsys: pytest.CaptureFixture[str]) -> None:
    observer = _Observer()
    with shown_progress(TUNER, None, None) as told:
        assert told is None
    with shown_progress(TUNER, None, observer) as told:
        assert told is observer
    with shown_progress(TUNER, True, None) as told:  # asked for: lines, as pytest's output is no terminal
        assert isinstance(told, LineProgress)
        _two_trials(told)
    objective, trials = TUNER.objective, TUNER.max_trials
    assert f"trial 1 (2/{trials}) completed: {objective}=0.4" in capsys.readouterr().out


def test_a_notebook_gets_the_display_by_default_and_not_when_it_says_no(notebook_output: _Output) -> None:
    with shown_progress(TUNER, None, None) as told:
        assert isinstance(told, NotebookProgress)
    with shown_progress(TUNER, False, None) as told:
        assert told is None
    observer = _Observer()
    with shown_progress(TUNER, None, observer) as told:  # a caller's own observer replaces the display
        assert told is observer


def test_a_display_asked_for_beside_an_observer_tells_both(notebook_output: _Output) -> None:
    observer = _Observer()
    with shown_progress(TUNER, True, observer) as told:
        _two_trials(told)
    assert observer.events[0] == "data" and observer.events.count("epoch 1.2") == 1 and observer.events[-1] == "end 1"
    assert re.search(rf"2/{TUNER.max_trials} +trials", notebook_output.bundles[-1]["text/plain"])


def test_a_run_shows_as_a_short_summary_not_as_its_tables(tiny_run: Any) -> None:
    html = tiny_run._repr_html_()
    assert html.startswith('<div class="fitsweep-run">') and f"<b>{tiny_run.spec.name}</b>: completed" in html
    for verdict, count in tiny_run.trials["fit"].dropna().astype(str).value_counts().items():
        assert f"</span> {count} {verdict}" in html
    completed = tiny_run.trials[tiny_run.trials["status"] == "completed"]
    best = completed.groupby("trial_id")[tiny_run.spec.tuner.objective].mean().idxmin()
    first_cells = re.findall(r"<tr><td>(.*?)</td>", html)
    assert first_cells[0] == best and len(first_cells) == min(completed["trial_id"].nunique(), 5)
    assert "<li>" in html and f"trial {best}" in html  # the findings, and the report's first line
    assert "\n" not in repr(tiny_run) and repr(tiny_run).startswith("SweepRun(")


def test_a_run_without_a_completed_trial_says_so_without_a_table(tiny_run: Any) -> None:
    failed = dataclasses.replace(tiny_run, trials=tiny_run.trials.assign(status="failed", fit=pd.NA))
    html = failed._repr_html_()
    assert "<table>" not in html and "No trial completed" in html and "failed" in html


def test_a_run_whose_summary_cannot_be_made_shows_its_one_line_repr(tiny_run: Any) -> None:
    broken = dataclasses.replace(tiny_run, trials=pd.DataFrame())
    assert broken._repr_html_() is None  # IPython then shows repr(), which needs no table
