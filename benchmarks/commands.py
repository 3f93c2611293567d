"""Whole commands as a user waits for them: `fitsweep report` and a 1-trial `fitsweep run`, against the import.

Targets: `fitsweep report` of a 100-execution run (results/moons, 96 executions) in at most 3 s,
and a 1-trial, 1-epoch `fitsweep run` in at most the import of TensorFlow and KerasTuner plus 2 s.
Each round times, as separate processes in alternating order:

- import: `python -c "import tensorflow, keras_tuner"`, the floor of any command that trains;
- run: `fitsweep run sweeps/moons.yaml --max-trials 1 --epochs 1`;
- report: `fitsweep report` on a copy of results/moons whose figures must all be drawn (the first
  report of a finished run: its predictions stored, no figure drawn yet);
- report again: the same report once more, nothing changed (every figure reused);
- report, old run: a copy without stored predictions, as an older fitsweep left it (its figures
  drawn, the model loaded with TensorFlow and its predictions stored).

Wall time and CPU time (user + system, children included) of each, then the ratios and
differences the targets speak of.

    .venv/bin/python benchmarks/commands.py --repeats 3
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _harness import REPO, child_environment, footer, header, spread

_STUDY = REPO / "results" / "moons"
_SIDES = ("import", "run", "report", "report again", "report, old run")
# Alternated as groups: "report again" follows the first report of the same round.
_GROUPS = (("import",), ("run",), ("report", "report again"), ("report, old run",))


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one command in a fresh process (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=child_environment(), timeout=900)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _fitsweep(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "fitsweep", *arguments]


def _commands(work: Path) -> dict[str, tuple[Callable[[], None], list[str]]]:
    """Each side: what to prepare before it (untimed) and the command timed."""
    drawn, old = work / "drawn" / "moons", work / "old" / "moons"
    shutil.copytree(_STUDY, drawn)
    _timed(_fitsweep("report", str(drawn)))  # stores the predictions, as the end of a run does

    def first_report() -> None:
        (drawn / "figures" / "inputs.sha256").unlink(missing_ok=True)  # no figure known: all drawn

    def old_run() -> None:
        shutil.rmtree(old, ignore_errors=True)
        shutil.copytree(_STUDY, old)
        (old / "best_predictions.npz").unlink(missing_ok=True)
        (old / "figures" / "inputs.sha256").unlink(missing_ok=True)

    def nothing() -> None:
        pass

    return {
        "import": (nothing, [sys.executable, "-c", "import tensorflow, keras_tuner"]),
        "run": (nothing, _fitsweep("run", str(REPO / "sweeps" / "moons.yaml"), "--max-trials", "1", "--epochs", "1",
                                   "--results-dir", str(work / "runs"), "--overwrite", "--quiet")),
        "report": (first_report, _fitsweep("report", str(drawn))),
        "report again": (nothing, _fitsweep("report", str(drawn))),
        "report, old run": (old_run, _fitsweep("report", str(old))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    header("whole commands: fitsweep report and a 1-trial fitsweep run, against importing TensorFlow")
    walls: dict[str, list[float]] = {side: [] for side in _SIDES}
    cpus: dict[str, list[float]] = {side: [] for side in _SIDES}
    with tempfile.TemporaryDirectory() as folder:
        commands = _commands(Path(folder))
        for round_number in range(arguments.repeats):
            groups = _GROUPS if round_number % 2 == 0 else tuple(reversed(_GROUPS))
            for side in (side for group in groups for side in group):
                _measure(side, commands, walls, cpus, round_number, arguments.repeats)
    _summary(walls, cpus)
    footer()


def _measure(side: str, commands: dict[str, tuple[Callable[[], None], list[str]]], walls: dict[str, list[float]],
             cpus: dict[str, list[float]], round_number: int, repeats: int) -> None:
    prepare, command = commands[side]
    prepare()
    wall, cpu = _timed(command)
    walls[side].append(wall)
    cpus[side].append(cpu)
    print(f"  round {round_number + 1}/{repeats} {side:>15}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr,
          flush=True)


def _summary(walls: dict[str, list[float]], cpus: dict[str, list[float]]) -> None:
    for side in _SIDES:
        print(f"   {side:>15}: wall {spread(walls[side])} s; CPU {spread(cpus[side])} s")
    for label, values in (("wall", walls), ("CPU", cpus)):
        extra = [run - imported for run, imported in zip(values["run"], values["import"], strict=True)]
        ratio = [report / imported for report, imported in zip(values["report"], values["import"], strict=True)]
        medians = {side: statistics.median(values[side]) for side in _SIDES}
        print(f"   {label}: run - import {spread(extra)} s (target <= 2); report {medians['report']:.2f} s "
              f"(target <= 3), {spread(ratio)} x the import; report again {medians['report again']:.2f} s; "
              f"old run's report {medians['report, old run']:.2f} s")


if __name__ == "__main__":
    main()
