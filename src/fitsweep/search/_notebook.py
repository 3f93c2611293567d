"""Live progress of a sweep in a Jupyter notebook: the terminal's bars, redrawn as HTML in one output.

A notebook has no terminal for rich's live display, and printing would add a line per redraw.
Instead `LiveProgress`'s bars are rendered to HTML (as rich renders them for Jupyter) and one
cell output is replaced in place through an IPython display handle, at most a few times a
second. It needs only IPython, which the notebook's kernel runs anyway; an output without a
kernel to update it (an exported notebook) keeps the last state drawn.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Mapping
from typing import Any

from rich.console import Console

from fitsweep.search.progress import LiveProgress

__all__ = ["NotebookProgress"]

_WIDTH = 110  # characters: both bars with a note of hyperparameters
_SECONDS_BETWEEN_DRAWS = 0.25  # more often only costs the kernel messages nobody can read
_HTML = ('<pre class="fitsweep-progress" style="white-space:pre;overflow-x:auto;line-height:normal;'
         "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>")


class NotebookProgress(LiveProgress):
    """The sweep's trials bar and its running trials' epochs bar, with the best score and time left.

    Use it as a context manager; `fitsweep.run_sweep` does, in a notebook.

    Example:
        >>> with NotebookProgress(total_trials=12, objective="val_loss") as progress:  # doctest: +SKIP
        ...     run_sweep(spec, observer=progress)
    """

    def __init__(self, total_trials: int, objective: str, direction: str = "min") -> None:
        recorder = Console(record=True, file=io.StringIO(), width=_WIDTH, force_jupyter=False, force_terminal=True,
                           color_system="truecolor")
        super().__init__(recorder, total_trials, objective, direction)
        self.summary = ""  # the data line, drawn above the bars
        self._handle: Any = None
        self._drawn = -math.inf

    def __enter__(self) -> NotebookProgress:
        from IPython.display import display

        self._handle = display(self.bundle(), raw=True, display_id=True)  # type: ignore[no-untyped-call]
        self._drawn = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self._draw(now=True)  # the last state, which the throttle may have skipped

    def data_prepared(self, summary: str) -> None:
        self.summary = summary
        self._draw(now=True)

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None:
        super().trial_started(trial_id, values, epochs, executions)
        self._draw()

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Mapping[str, float]) -> None:
        super().epoch_ended(trial_id, execution, epoch, logs)
        self._draw()

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        super().trial_ended(trial_id, status, score)
        self._draw()

    def bundle(self) -> dict[str, str]:
        """The display as it stands: HTML for the notebook, plain text for anything else."""
        recorder = self.bars.console
        if self.summary:
            recorder.print(self.summary, markup=False, highlight=False, soft_wrap=True)
        recorder.print(self.bars.get_renderable())
        text = recorder.export_text(clear=False)
        return {"text/plain": text, "text/html": recorder.export_html(inline_styles=True, code_format=_HTML)}

    def _draw(self, now: bool = False) -> None:
        moment = time.monotonic()
        if self._handle is None or (not now and moment - self._drawn < _SECONDS_BETWEEN_DRAWS):
            return
        self._drawn = moment
        self._handle.update(self.bundle(), raw=True)
