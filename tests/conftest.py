"""Shared fixtures: tiny sweeps that train in seconds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def tiny_sweep(**sections: Any) -> dict[str, Any]:
    """A sweep file (as a dict) over 200 moons samples, 3 trials of 3 epochs; sections override."""
    sweep: dict[str, Any] = {
        "name": "tiny",
        "data": {"source": "moons", "samples": 200, "noise": 0.2, "seed": 3},
        "model": {"depth": {"min": 1, "max": 2}, "width": {"values": [4, 8]}, "dropout": {"values": [0.0, 0.2]},
                  "l2": {"min": 1.0e-5, "max": 1.0e-2, "sampling": "log"}},
        "train": {"epochs": 3, "batch_size": 32},
        "tuner": {"algorithm": "random", "max_trials": 3, "seed": 1},
    }
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(sweep.get(section), dict):
            sweep[section] = {**sweep[section], **values}
        else:
            sweep[section] = values
    if "layers" in sweep["model"]:  # an explicit layer list replaces depth and width
        sweep["model"] = {k: v for k, v in sweep["model"].items() if k not in ("depth", "width")}
    return sweep


def invoke_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
               ) -> tuple[int, str]:
    """Run the console script's entry point in-process on `args`: its exit code and its output.

    Any exception other than SystemExit escapes, and fails the test with its traceback.
    """
    import sys

    from fitsweep import cli

    monkeypatch.setattr(sys, "argv", ["fitsweep", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out + captured.err


def write_sweep(folder: Path, sweep: dict[str, Any], file_name: str = "sweep.yaml") -> Path:
    path = folder / file_name
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One finished tiny sweep (2 executions per trial), shared by the table tests."""
    from fitsweep import parse_spec, run_sweep

    results = tmp_path_factory.mktemp("results")
    spec = parse_spec(tiny_sweep(tuner={"executions_per_trial": 2}))
    return run_sweep(spec, results_dir=results)
