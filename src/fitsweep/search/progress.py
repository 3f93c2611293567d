"""Progress of a running sweep: a live rich display in a terminal, plain lines otherwise, HTML in a notebook
(`_notebook`); `shown_progress` picks the one a `run_sweep` call asks for."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from fitsweep.search.engine import NullObserver, SweepObserver

if TYPE_CHECKING:
    from fitsweep.spec import TunerSpec

__all__ = ["NoProgress", "LiveProgress", "LineProgress", "make_progress", "shown_progress"]


def _format_values(values: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in values.items() if not k.startswith("tuner/")}
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())


class NoProgress(NullObserver):
    """Shows nothing; the base of the displays, which are used as context managers."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def data_prepared(self, summary: str) -> None:
        """The run's data and their scaling, once prepared (a line shown before the first trial)."""

    def objective_settled(self, objective: str, direction: str) -> None:
        """The objective the run ranks by, once the data said the task (a regression's default is val_mse)."""
        self.objective = objective
        self.sign = 1.0 if direction == "min" else -1.0


class LineProgress(NoProgress):
    """One line per finished trial, for logs and pipes."""

    def __init__(self, console: Console, total_trials: int, objective: str) -> None:
        self.console, self.total, self.objective = console, total_trials, objective
        self.done, self.started = 0, 0.0

    def data_prepared(self, summary: str) -> None:
        self.console.print(summary, highlight=False, soft_wrap=True, markup=False)

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None:
        self.started = time.perf_counter()

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        self.done += 1
        result = f"{self.objective}={score:.4g}" if score is not None else status.lower()
        seconds = time.perf_counter() - self.started
        self.console.print(f"trial {trial_id} ({self.done}/{self.total}) {status.lower()}: {result} in {seconds:.1f}s",
                           highlight=False, soft_wrap=True)


_KEPT = Column(no_wrap=True)
_KEPT_WIDTH = 60  # about what the kept columns and a short bar take: "trials 01-03  0/1800 epochs 0:00:00 left -:--:--"


class LiveProgress(NoProgress):
    """A bar for the sweep's trials and one for the running trials' epochs, each with its unit and time left.

    The trials bar moves with every epoch (a trial counts its share of its epochs), so that it
    and its time left move smoothly while a fused group of many trials trains, instead of
    jumping by the whole group when it ends. The epochs bar appears with the first trial.
    """

    def __init__(self, console: Console, total_trials: int, objective: str, direction: str = "min") -> None:
        self.objective, self.sign = objective, 1.0 if direction == "min" else -1.0
        self.bars = Progress(
            # Counts and times keep their width on a narrow terminal; the note is cut to what they leave.
            TextColumn("{task.description}", table_column=_KEPT), BarColumn(), MofNCompleteColumn(table_column=_KEPT),
            TextColumn("{task.fields[unit]}", table_column=_KEPT), TimeElapsedColumn(table_column=_KEPT),
            TextColumn("left", table_column=_KEPT), TimeRemainingColumn(table_column=_KEPT),
            TextColumn("{task.fields[note]}", table_column=Column(
                no_wrap=True, overflow="ellipsis", max_width=max(console.width - _KEPT_WIDTH, _KEPT_WIDTH // 4))),
            console=console, transient=False,
        )
        self.trials = self.bars.add_task("sweep", total=total_trials, note="", unit="trials")
        self.epochs = self.bars.add_task("epochs", total=1, note="", unit="epochs", visible=False)
        self.best: float | None = None
        self.running: list[str] = []
        self.epoch_share: dict[str, float] = {}  # a running trial's part of the trials bar per epoch
        self.counted: dict[str, float] = {}  # how much of it the trials bar holds so far

    def __enter__(self) -> LiveProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def data_prepared(self, summary: str) -> None:
        self.bars.console.print(summary, highlight=False, soft_wrap=True, markup=False)

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None:
        # Trials trained fused start together: the epochs bar counts all of theirs.
        earlier = self.bars.tasks[self.epochs].total or 0 if self.running else 0
        self.running.append(trial_id)
        self.epoch_share[trial_id], self.counted[trial_id] = 1.0 / max(epochs * executions, 1), 0.0
        alone = len(self.running) == 1
        total = earlier + epochs * executions
        description = f"trial {trial_id}" if alone else f"trials {self.running[0]}-{trial_id}"
        note = _format_values(values) if alone else f"{len(self.running)} trained fused"
        if alone:  # a new group: the bar starts again, in one step so that no empty bar is drawn
            self.bars.reset(self.epochs, total=total, description=description, visible=True, note=note, unit="epochs")
        else:
            self.bars.update(self.epochs, total=total, description=description, note=note)

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Mapping[str, float]) -> None:
        self.bars.update(self.epochs, advance=1)
        share = min(self.epoch_share.get(trial_id, 0.0), 1.0 - self.counted.get(trial_id, 1.0))
        if share > 0:
            self.counted[trial_id] += share
            self.bars.update(self.trials, advance=share)

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        if trial_id in self.running:
            self.running.remove(trial_id)
        if score is not None and (self.best is None or self.sign * score < self.sign * self.best):
            self.best = score
        best = f"best {self.objective}={self.best:.4f}" if self.best is not None else ""
        rest = 1.0 - self.counted.pop(trial_id, 0.0)  # what early stopping, or a failure, left uncounted
        self.epoch_share.pop(trial_id, None)
        # Rounded: shares of 1/3 add up to 8.999..., which the count would show as 8 of 9 trials.
        completed = round(self.bars.tasks[self.trials].completed + rest, 9)
        self.bars.update(self.trials, completed=completed, note=best)


def make_progress(console: Console, total_trials: int, objective: str, direction: str, quiet: bool) -> NoProgress:
    """The progress display that fits the output: live bars, plain lines, or none."""
    if quiet:
        return NoProgress()
    if console.is_terminal:
        return LiveProgress(console, total_trials, objective, direction)
    return LineProgress(console, total_trials, objective)


@contextmanager
def shown_progress(tuner: TunerSpec, progress: bool | None, observer: SweepObserver | None
                   ) -> Iterator[SweepObserver | None]:
    """What a run tells about its progress: the caller's observer, a display, or both.

    `progress=None` shows the display in a Jupyter notebook when no observer is given, and
    nothing in a script; True shows it anywhere (bars in a terminal, lines in a log), False never.
    """
    from fitsweep.jupyter import in_notebook
    from fitsweep.search._notebook import NotebookProgress

    notebook = in_notebook()
    if not (progress or (progress is None and observer is None and notebook)):
        yield observer
        return
    display = (NotebookProgress(tuner.max_trials, tuner.objective, tuner.direction) if notebook
               else make_progress(Console(), tuner.max_trials, tuner.objective, tuner.direction, quiet=False))
    with display:
        yield display if observer is None else _Both(display, observer)


class _Both(NoProgress):
    """A display and the caller's observer, each told every event."""

    def __init__(self, display: NoProgress, observer: SweepObserver) -> None:
        self.display, self.observer = display, observer

    def data_prepared(self, summary: str) -> None:
        self.display.data_prepared(summary)
        told = getattr(self.observer, "data_prepared", None)  # optional, as `run_sweep` treats it
        if told is not None:
            told(summary)

    def objective_settled(self, objective: str, direction: str) -> None:
        self.display.objective_settled(objective, direction)
        told = getattr(self.observer, "objective_settled", None)  # optional, as `run_sweep` treats it
        if told is not None:
            told(objective, direction)

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None:
        self.display.trial_started(trial_id, values, epochs, executions)
        self.observer.trial_started(trial_id, values, epochs, executions)

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Mapping[str, float]) -> None:
        self.display.epoch_ended(trial_id, execution, epoch, logs)
        self.observer.epoch_ended(trial_id, execution, epoch, logs)

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        self.display.trial_ended(trial_id, status, score)
        self.observer.trial_ended(trial_id, status, score)
