"""Helpers several test modules share: the CLI through click's runner, TensorBoard's reader, worker processes.

Fixtures and tiny sweeps live in conftest.py; the synthetic runs of the analysis tests in
synthetic_curves.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

__all__ = ["hparam_value", "invoke", "read_events", "scalar_series", "session_start", "worker_processes"]


# --- the command line ------------------------------------------------------------------------------


def invoke(*args: str) -> Result:
    """Run the CLI the way the `fitsweep` console script does (errors become one line)."""
    return CliRunner().invoke(_Main(), list(args), catch_exceptions=False)


class _Main:
    """Adapter so CliRunner drives `fitsweep.cli.main` (which owns error handling)."""

    name = "fitsweep"

    def main(self, args: list[str] | None = None, prog_name: str | None = None, **kwargs: Any) -> None:
        import sys

        from fitsweep.cli import main

        sys.argv = ["fitsweep", *(args or [])]
        main()


# --- TensorBoard event files -----------------------------------------------------------------------


def read_events(folder: Path) -> EventAccumulator:
    """Every event of the files directly in `folder`, as TensorBoard loads a run."""
    assert folder.is_dir(), folder
    accumulator = EventAccumulator(str(folder), size_guidance={TENSORS: 0})
    accumulator.Reload()
    return accumulator


def scalar_series(accumulator: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    """(step, value) of each scalar logged under `tag`."""
    return [(event.step, float(tensor_util.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors(tag)]


def session_start(accumulator: EventAccumulator) -> Any:
    """The HParams session-start record of one session's events (its group and hyperparameter values)."""
    content = accumulator.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    return hparams_metadata.parse_session_start_info_plugin_data(content)


def hparam_value(value: Any) -> Any:
    """A hyperparameter value of a session-start record, as a string or a number."""
    return value.string_value if value.WhichOneof("kind") == "string_value" else value.number_value


# --- worker processes ------------------------------------------------------------------------------


def worker_processes(marker: Path) -> list[int]:
    """Local worker processes whose command line mentions `marker` (a test's own folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue  # gone meanwhile
        if str(marker) in command and "-m fitsweep.parallel" in command and "Z (zombie)" not in state:
            found.append(int(entry.name))
    return found
