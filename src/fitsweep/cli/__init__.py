"""The `fitsweep` command line: thin commands over the library.

Exit codes: 0 success, 1 a run that completed no trial (or a worker whose chief stopped
answering), 2 bad input (one line on stderr naming
the file, key or argument, no traceback, nothing written), 130 interrupted (Ctrl-C), 143 stopped
by SIGTERM (which `run`, `resume`, `chief` and `worker` handle as Ctrl-C).

Its modules, each one job:

- `_running`: the commands that train (`run`, `resume`, `chief`, `worker`, `learning-curve`).
- `_reading`: the commands that read results (`show`, `report`, `diagnose`, `compare`, `import`).
- `_sweep_files`: the commands on sweep files (`validate`, `suggest`).
- `_options`: parameter types, shared arguments and options, overrides given as flags.
- `_signals`: Ctrl-C and SIGTERM during a run.
- `_errors`: every error as one line and an exit code.
- `_console`: where the commands print, and TensorFlow imported quietly.

Each command imports what it needs when it runs, so `fitsweep --help` imports no TensorFlow.
"""

from __future__ import annotations

import sys

import click

from fitsweep.cli import _reading, _running, _sweep_files
from fitsweep.cli._errors import exit_code

__all__ = ["app", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fitsweep")
def app() -> None:
    """Hyperparameter sweeps for Keras that say whether each trial over- or underfits."""


for _command in (*_running.COMMANDS, *_reading.COMMANDS, *_sweep_files.COMMANDS):
    app.add_command(_command)


def main() -> None:
    """Entry point: run the app and turn every user error into one line and an exit code."""
    sys.exit(exit_code(app))
