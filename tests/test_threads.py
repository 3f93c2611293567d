"""A process that trains runs each TensorFlow op on one thread, independent ops side by side."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fitsweep
from conftest import tiny_sweep, write_sweep

_INTRA_OP = "import tensorflow as tf; print(tf.config.threading.get_intra_op_parallelism_threads())"


def _python(script: str) -> list[str]:
    environment = {**os.environ, "PYTHONPATH": str(Path(fitsweep.__file__).parents[1]), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            check=True)
    return result.stdout.split()


@pytest.mark.slow
def test_fitsweep_run_trains_with_one_thread_per_op(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1}))
    script = (f"import sys; from fitsweep import cli; sys.argv = ['fitsweep', 'run', {str(sweep)!r}, '--quiet', "
              f"'--no-tensorboard', '--results-dir', {str(tmp_path / 'runs')!r}]\n"
              f"try:\n    cli.main()\nexcept SystemExit:\n    pass\n{_INTRA_OP}")
    assert _python(script)[-1] == "1"
    assert (tmp_path / "runs" / "tiny" / "trials.parquet").is_file()


def test_threads_once_tensorflow_runs_are_left_as_they_are() -> None:
    script = ("import tensorflow as tf; from fitsweep.training.threads import one_thread_per_op; "
              "tf.constant(1.0) + 1; print(one_thread_per_op())\n" + _INTRA_OP)
    assert _python(script) == ["False", "0"]  # 0: TensorFlow's own choice, kept
