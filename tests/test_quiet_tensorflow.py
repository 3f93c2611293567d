"""TensorFlow imported by fitsweep's training entry points: none of its start-up lines on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fitsweep

_SCRIPT = "import os, sys, fitsweep; fitsweep.run_sweep; print('tensorflow' in sys.modules, os.environ[{name!r}])"


def _python(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(PYTHONPATH=str(Path(fitsweep.__file__).parents[1]), **env)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                          check=True)


@pytest.mark.slow
def test_run_sweep_brings_tensorflow_in_without_a_line_on_stderr() -> None:
    result = _python(_SCRIPT.format(name="TF_CPP_MIN_LOG_LEVEL"))
    assert result.stderr == "" and result.stdout.split() == ["True", "3"]


@pytest.mark.slow
def test_a_users_own_log_level_is_kept() -> None:
    result = _python(_SCRIPT.format(name="TF_CPP_MIN_LOG_LEVEL"), TF_CPP_MIN_LOG_LEVEL="1")
    assert result.stdout.split() == ["True", "1"]
