"""The next sweep file of a finished run, as commented YAML, and writing it.

The decisions are `next_sweep`'s; this module reads the run, writes the sweep file as YAML
with a comment above each changed key, and checks that the text validates as the sweep it
means before anyone sees it.

Example:
    >>> text = suggest_next_sweep("results/moons")  # doctest: +SKIP
    >>> write_suggestion(Path("next.yaml"), text)  # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from fitsweep.analysis import AnalysisError
from fitsweep.errors import FitsweepError, ResultsError
from fitsweep.families import family_for
from fitsweep.results import SweepRun, load, write_atomic
from fitsweep.spec import parse_spec, parse_spec_text, yaml_entry
from fitsweep.suggest._editor import Change, NextSweep
from fitsweep.suggest._rules import next_sweep
from fitsweep.verdicts import verdicts_of

__all__ = ["suggest_next_sweep", "write_suggestion"]

_COMMENT_WIDTH = 100
_WAS_LENGTH = 160  # a long earlier value (nine regularizer combinations) is cut: the run's sweep.yaml has it
_DATA_PATHS = ("path", "test_path")  # the data keys that name files, relative to the sweep file's folder


def suggest_next_sweep(run_dir: str | Path) -> str:
    """The next sweep file of a finished run, as commented YAML that `fitsweep validate` accepts.

    Args:
        run_dir: A results folder whose run completed (run.json status `completed`).

    Returns:
        The sweep file's text: a header saying what the run showed, then every key, each changed
        one under a comment with its evidence.

    Raises:
        ResultsError: Not a results folder, a run that has not completed, or one without a
            completed trial.

    Example:
        >>> print(suggest_next_sweep("results/notmnist-regularizers"))  # doctest: +SKIP
    """
    run = load(run_dir)
    if run.info.get("imported"):
        raise ResultsError(f"{run.path}: was imported from KerasTuner, whose model and data fitsweep does not "
                           "have, so it cannot write the next sweep file; narrow the KerasTuner search by hand")
    if family_for(run.spec).train_fused is None:  # the rules edit a Dense network's keys (depth, width, layers)
        raise ResultsError(f"{run.path}: suggest writes next sweeps for family: dense only; this run's "
                           f"model.family is {run.spec.model.family}, so narrow its sweep file by hand")
    _require_finished(run)
    try:
        # Settled for its task as a run records it now (a regression older than that recorded stratify: true).
        spec = run.spec.for_task(run.spec.recorded_task)
        suggestion = next_sweep(spec, run.trials, run.epochs, chance_loss=run.info.get("chance_loss"),
                                data=run.info.get("data"), diagnosis=verdicts_of(run))
    except AnalysisError as error:
        raise ResultsError(f"{run.path}: {error}") from None
    sweep, moved = _absolute_data_paths(suggestion.sweep, run.info.get("data_dir"))
    text = _render(run, suggestion, sweep, moved)
    if parse_spec_text(text, "the suggested sweep") != parse_spec(sweep, "the suggested sweep"):
        raise FitsweepError("the suggested sweep does not read back as written; please report this as a bug")
    return text


def write_suggestion(path: Path, text: str) -> None:
    """Write a suggested sweep file atomically: the whole file or, on error, nothing."""
    if path.is_dir():
        raise FitsweepError(f"--output {path}: is a folder; give a file name such as next.yaml")
    if not path.parent.is_dir():
        raise FitsweepError(f"--output {path}: its folder {path.parent} does not exist")
    try:
        write_atomic(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    except OSError as error:
        raise FitsweepError(f"--output {path}: cannot be written ({error.strerror})") from None


def _require_finished(run: SweepRun) -> None:
    status = run.info.get("status")
    if status != "completed":
        raise ResultsError(
            f"{run.path}: the run is {status or 'of unknown status (no run.json)'}, not completed; suggest reads "
            f"a finished run: finish it with `fitsweep resume {run.path}` first")
    statuses = run.trials["status"].astype("string") if "status" in run.trials.columns else None
    if statuses is None or not statuses.eq("completed").any():
        raise ResultsError(f"{run.path}: the run has no completed trial, so there is nothing to base a next sweep on")


def _absolute_data_paths(sweep: dict[str, Any], data_dir: str | None) -> tuple[dict[str, Any], list[str]]:
    """Data files named relative to the run's sweep file, made absolute so the next file works from anywhere."""
    if not data_dir:
        return sweep, []
    data = dict(sweep["data"])
    moved = []
    for key in _DATA_PATHS:
        value = data.get(key)
        if isinstance(value, str) and not Path(value).is_absolute():
            data[key] = str(Path(data_dir) / value)
            moved.append(key)
    return {**sweep, "data": data}, moved


def _render(run: SweepRun, suggestion: NextSweep, sweep: dict[str, Any], moved: list[str]) -> str:
    lines = _header(run, suggestion)
    by_key: dict[str, list[Change]] = {}
    for change in suggestion.changes:
        by_key.setdefault(change.key, []).append(change)
    lines.append(yaml_entry("name", sweep["name"]))
    for section in ("data", "model", "train", "tuner", "report"):
        if section not in sweep:
            continue
        lines.append(f"{section}:")
        for key, value in sweep[section].items():
            changes = by_key.get(f"{section}.{key}", [])
            for change in changes:
                lines += _comment(f"{change.rule}: {change.evidence}", indent="  ")
            if changes:
                lines += _comment(f"was: {_was(changes[0].before)}", indent="  ")
            if section == "data" and key in moved:
                lines += _comment("the run's data file, named from its sweep file's folder", indent="  ")
            lines.append("  " + yaml_entry(key, value))
    return "\n".join(lines) + "\n"


def _header(run: SweepRun, suggestion: NextSweep) -> list[str]:
    lines = _comment(f"The next sweep after {run.path} (fitsweep suggest): {suggestion.summary}.")
    if not suggestion.changes:
        lines += _comment("No rule found a change to make: this is the same sweep under a new name.")
    else:
        lines += _comment(f"{len(suggestion.changes)} change(s), each commented above its key.")
    for note in suggestion.notes:
        lines += _comment(f"{note[:1].upper()}{note[1:]}.")
    return lines


def _comment(text: str, indent: str = "") -> list[str]:
    prefix = f"{indent}# "
    return textwrap.wrap(text, width=_COMMENT_WIDTH, initial_indent=prefix, subsequent_indent=prefix,
                         break_on_hyphens=False, break_long_words=False)


def _was(value: Any) -> str:
    text = "not set" if value is None else yaml_entry("x", value)[3:]
    return text if len(text) <= _WAS_LENGTH else text[: _WAS_LENGTH - 3] + "..."
