"""Helpers several test modules share: the CLI through click's runner, TensorBoard's reader, worker processes,
runs killed at the stages they reach.

Fixtures and tiny sweeps live in conftest.py; the synthetic runs of the analysis tests in
synthetic_curves.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

__all__ = [
    "EVERY_STAGE", "hparam_value", "invoke", "read_events", "run_killed_at", "scalar_series", "session_start",
    "start_run", "trial_records", "with_epochs", "worker_processes",
]


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
        if str(marker) in command and "-m fitsweep.search.parallel" in command and "Z (zombie)" not in state:
            found.append(int(entry.name))
    return found


# --- runs killed at a stage they reach, and resumed -------------------------------------------------


def start_run(sweep: Path, results: Path) -> subprocess.Popen:
    """`run`, or `resume` once the killed run left a resumable folder, as a user would."""
    run_dir = results / "tiny"
    if (run_dir / "sweep.yaml").exists() and (run_dir / "run.json").exists():
        arguments = ["resume", str(run_dir)]
    else:
        arguments = ["run", str(sweep), "--results-dir", str(results), "--overwrite"]
    return subprocess.Popen(
        [sys.executable, "-m", "fitsweep", *arguments, "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def trial_records(run_dir: Path) -> list[dict[str, Any]]:
    """Every trial.json of a run as it stands (KerasTuner's files are written whole, by a rename)."""
    records = []
    for path in (run_dir / "tuner").glob("trial_*/trial.json"):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):  # removed meanwhile, by a resume forgetting an unrecorded trial
            continue
    return records


def with_epochs(records: list[dict[str, Any]]) -> int:
    """How many trials have an epoch recorded (a running trial's first epoch is saved at once)."""
    return sum(any(metric.get("observations") for metric in record["metrics"]["metrics"].values())
               for record in records)


def completed(records: list[dict[str, Any]]) -> int:
    return sum(record["status"] == "COMPLETED" for record in records)


Moment = tuple[str, Callable[[list[dict[str, Any]]], bool]]
# Moments of a sweep of 6 trials trained 2 at a time (fused groups 00-01, 02-03, 04-05).
EVERY_STAGE: list[Moment] = [
    ("the first group starts", lambda records: len(records) >= 1),
    ("the first group records an epoch", lambda records: with_epochs(records) >= 1),
    ("the first group ends", lambda records: completed(records) >= 1),
    ("the second group starts", lambda records: len(records) >= 3),
    ("the second group records an epoch", lambda records: with_epochs(records) >= 3),
    ("the second group ends", lambda records: completed(records) >= 3),
    ("the third group starts", lambda records: len(records) >= 5),
    ("the third group records an epoch", lambda records: with_epochs(records) >= 5),
    ("the last trial ends, before the run's last tables", lambda records: completed(records) >= 6),
]


def _wait_for(moment: Moment, run_dir: Path, process: subprocess.Popen) -> bool:
    """Wait until the run reaches `moment` (True), or ends first (False)."""
    name, reached = moment
    deadline = time.monotonic() + 600  # a safety net against a hung run, not a speed limit
    while not reached(trial_records(run_dir)):
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"the run never reached: {name}"
        time.sleep(0.05)
    return True


def run_killed_at(moments: list[Moment], sweep: Path, results: Path) -> None:
    """Run a sweep, SIGKILL it at each moment it has not reached yet, resume it each time, and let it finish."""
    run_dir = results / "tiny"
    process = start_run(sweep, results)
    for moment in moments:
        if moment[1](trial_records(run_dir)):  # the killed run had got past it already
            continue
        if not _wait_for(moment, run_dir, process):
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        process = start_run(sweep, results)
    process.wait(timeout=600)
    assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
