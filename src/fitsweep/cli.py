"""The `fitsweep` command line: thin commands over the library.

Exit codes: 0 success, 1 a run that completed no trial, 2 bad input (one line on stderr naming
the file, key or argument, no traceback, nothing written), 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import click
from rich.console import Console

from fitsweep.errors import FitsweepError, RunFailedError

if TYPE_CHECKING:
    from fitsweep.spec import SweepSpec

stdout = Console(highlight=False)
if not stdout.is_terminal:
    stdout = Console(highlight=False, width=160)  # logs and pipes have room for the whole table
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fitsweep")
def app() -> None:
    """Hyperparameter sweeps for Keras that say whether each trial over- or underfits."""


def _sweep_argument(function):  # type: ignore[no-untyped-def]
    return click.argument("sweep", type=click.Path(path_type=Path))(function)


def _run_dir_argument(function):  # type: ignore[no-untyped-def]
    return click.argument("run_dir", type=click.Path(path_type=Path))(function)


@contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Hide TensorFlow's C++ start-up chatter, which no environment variable silences."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@app.command()
@_sweep_argument
@click.option("--results-dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Parent folder of the run; results go to DIR/<name>.")
@click.option("--max-trials", type=click.IntRange(min=1), help="Override tuner.max_trials.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override train.epochs.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run of the same name.")
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
def run(sweep: Path, results_dir: Path, max_trials: int | None, epochs: int | None, overwrite: bool,
        quiet: bool) -> None:
    """Run a sweep and write its results folder.

    \b
    Example:
      fitsweep run sweeps/moons.yaml --max-trials 3 --epochs 5
    """
    from fitsweep.spec import load_spec

    spec = load_spec(sweep).with_overrides(max_trials=max_trials, epochs=epochs)
    _import_tensorflow()
    from fitsweep.runner import run_dir_for, run_sweep

    run_dir = run_dir_for(spec, results_dir)
    with _progress(spec, quiet, run_dir) as progress:
        result = run_sweep(spec, results_dir=results_dir, data_dir=sweep.parent, overwrite=overwrite,
                           observer=progress)
    _print_summary(result)
    stdout.print(f"Results in {run_dir}")


@app.command()
@_run_dir_argument
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
def resume(run_dir: Path, quiet: bool) -> None:
    """Continue an interrupted or killed run up to its max_trials.

    Completed trials are kept once; the trial that was cut short runs again.

    \b
    Example:
      fitsweep resume results/moons
    """
    from fitsweep.results import RunPaths
    from fitsweep.spec import load_spec

    paths = RunPaths(run_dir)
    if not paths.spec.is_file():
        raise FitsweepError(f"{run_dir}: not a fitsweep run (no sweep.yaml); nothing to resume")
    spec = load_spec(paths.spec)
    _import_tensorflow()
    from fitsweep.runner import resume_sweep

    with _progress(spec, quiet, run_dir) as progress:
        result = resume_sweep(run_dir, observer=progress)
    _print_summary(result)
    stdout.print(f"Results in {run_dir}")


@contextmanager
def _progress(spec: SweepSpec, quiet: bool, run_dir: Path) -> Iterator[Any]:
    """The progress display for a run; on Ctrl-C, say how to resume."""
    from fitsweep.progress import make_progress

    tuner = spec.tuner
    try:
        with make_progress(stdout, tuner.max_trials, tuner.objective, tuner.direction, quiet) as progress:
            yield progress
    except KeyboardInterrupt:
        stderr.print(f"fitsweep: interrupted; continue with: fitsweep resume {run_dir}", markup=False)
        raise SystemExit(130) from None


def _import_tensorflow() -> None:
    with _quiet_native_logs():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")


@app.command()
@_sweep_argument
def validate(sweep: Path) -> None:
    """Check a sweep file and print it with every default filled in.

    \b
    Example:
      fitsweep validate sweeps/moons.yaml
    """
    from fitsweep.spec import load_spec

    spec = load_spec(sweep)
    stdout.print(spec.to_yaml(), end="", markup=False)
    stdout.print(f"{sweep}: valid", style="green")


@app.command()
@_run_dir_argument
def show(run_dir: Path) -> None:
    """Print a run's trials, best first.

    \b
    Example:
      fitsweep show results/moons
    """
    from fitsweep.results import load

    _print_summary(load(run_dir))


def _print_summary(result: object) -> None:
    from fitsweep.display import trials_summary

    stdout.print(trials_summary(result))


def main() -> None:
    """Entry point: run the app and turn every user error into one line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as error:
        stdout.print(error.ctx.get_help(), markup=False)
        code = 0
    except click.ClickException as error:
        stderr.print(f"fitsweep: error: {_click_message(error)}", markup=False)
        code = 2
    except click.exceptions.Abort:
        stderr.print("fitsweep: interrupted", markup=False)
        code = 130
    except KeyboardInterrupt:
        stderr.print("fitsweep: interrupted", markup=False)
        code = 130
    except RunFailedError as error:
        stderr.print(f"fitsweep: run failed: {error}", markup=False)
        code = 1
    except FitsweepError as error:
        stderr.print(f"fitsweep: error: {_one_line(str(error))}", markup=False)
        code = 2
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(message: str) -> str:
    """The message with control characters escaped: a path a user typed may hold a newline."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def _click_message(error: click.ClickException) -> str:
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if context is not None:
        message = f"{message} (see '{context.command_path} --help')"
    return " ".join(message.split())
