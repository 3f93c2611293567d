"""Ctrl-C and SIGTERM during a run: stop it the same way, say how to resume, exit 130 or 143.

SIGTERM (Slurm, Kubernetes, systemd) is handled as Ctrl-C by `run`, `resume`, `chief` and
`worker`: the current trial is left to run again on resume, run.json says `interrupted`, workers
are stopped; the exit code is 143 (128 + SIGTERM) instead of 130.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fitsweep.cli._console import stderr, stdout
from fitsweep.search import interruption

if TYPE_CHECKING:
    from fitsweep.spec import SweepSpec


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so a run stops the same way."""


class Termination:
    """Turns Ctrl-C and SIGTERM into their exceptions, raised again at the next progress event if swallowed.

    Python drops an exception raised while a finaliser runs (TensorFlow has many), so a signal
    landing there would be lost and the run would go on; the run's next trial or epoch event
    raises it again (`fitsweep.search.interruption` remembers it). A second signal is ignored: the run
    is already writing its last files.
    """

    def __init__(self, observer: Any) -> None:
        self.observer = observer
        interruption.clear()

    def handle(self, signal_number: int, frame: Any) -> None:
        requested = Terminated if signal_number == signal.SIGTERM else KeyboardInterrupt
        if interruption.request(requested):
            raise requested

    def _check(self) -> None:
        interruption.raise_if_requested()

    def data_prepared(self, summary: str) -> None:
        self.observer.data_prepared(summary)

    def objective_settled(self, objective: str, direction: str) -> None:
        self.observer.objective_settled(objective, direction)

    def trial_started(self, *args: Any) -> None:
        self._check()
        self.observer.trial_started(*args)

    def epoch_ended(self, *args: Any) -> None:
        self._check()
        self.observer.epoch_ended(*args)

    def trial_ended(self, *args: Any) -> None:
        self.observer.trial_ended(*args)
        self._check()


@contextmanager
def progress(spec: SweepSpec, quiet: bool, run_dir: Path) -> Iterator[Any]:
    """The progress display for a run, Ctrl-C and SIGTERM handled; on either, say how to resume."""
    from fitsweep.search.progress import make_progress

    tuner = spec.tuner
    try:
        with make_progress(stdout, tuner.max_trials, tuner.objective, tuner.direction, quiet) as display:
            termination = Termination(display)
            previous = {number: signal.signal(number, termination.handle) for number in (signal.SIGTERM, signal.SIGINT)}
            try:
                yield termination
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        how = "interrupted (SIGTERM)" if terminated else "interrupted"
        stderr.print(f"fitsweep: {how}; continue with: fitsweep resume {run_dir}", markup=False)
        raise SystemExit(143 if terminated else 130) from None


@contextmanager
def stopped_by_sigterm() -> Iterator[Termination]:
    """SIGTERM handled as Ctrl-C for a worker, which has no progress display: one line, exit 143.

    The handler is installed first, so that a SIGTERM during the imports that follow counts too;
    the command sets the `Termination`'s observer once it has one.
    """
    termination = Termination(None)
    signal.signal(signal.SIGTERM, termination.handle)
    try:
        yield termination
    except Terminated:
        stderr.print("fitsweep: interrupted (SIGTERM)", markup=False)
        raise SystemExit(143) from None
