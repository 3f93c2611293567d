"""A run's results: its folder (`folder`, the one module that knows the layout), the trial records
the search writes (`records`), the two tables built from them (`tables`) and their columns' encodings
(`columns`).

Example:
    >>> from fitsweep.results import load
    >>> run = load("results/moons")  # doctest: +SKIP
"""

from __future__ import annotations

from fitsweep.results.folder import (
    TUNER_PROJECT,
    RunPaths,
    SweepRun,
    check_recorded_sweep,
    keep_best_model,
    load,
    prepare_run_dir,
    read_run_info,
    run_lock,
    sweep_fingerprint,
    write_atomic,
    write_run_info,
    write_spec,
    write_tables,
)

__all__ = [
    "TUNER_PROJECT", "RunPaths", "SweepRun", "check_recorded_sweep", "keep_best_model", "load", "prepare_run_dir",
    "read_run_info", "run_lock", "sweep_fingerprint", "write_atomic", "write_run_info", "write_spec", "write_tables",
]
