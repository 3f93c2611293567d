"""Commands that train: `run`, `resume`, `chief` and `worker` run a sweep's trials, `learning-curve`
retrains finished ones.

Each loads and checks its input before `import_tensorflow`, so bad input is refused at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from fitsweep.cli._console import import_tensorflow, stderr, stdout
from fitsweep.cli._errors import naming_the_sweep_file
from fitsweep.cli._options import (
    data_dir_option,
    epochs_option,
    max_trials_option,
    overwrite_option,
    quiet_option,
    results_dir_option,
    run_dir_argument,
    sweep_argument,
    with_options,
)
from fitsweep.cli._signals import progress, stopped_by_sigterm
from fitsweep.errors import FitsweepError


@click.command()
@sweep_argument
@results_dir_option("Parent folder of the run; results go to DIR/<name>.")
@max_trials_option
@epochs_option("Override train.epochs.")
@overwrite_option
@quiet_option
@click.option("--workers", type=click.IntRange(min=1),
              help="Train trials in N worker processes (KerasTuner's distributed mode on this machine), each "
                   "replaced after 200 trials so memory stays flat. Default: trials run in this process.")
@click.option("--fuse/--no-fuse", default=None,
              help="Override train.fused: train a trial's executions, and alike trials, as one model (default), "
                   "or one network at a time.")
@click.option("--fused-trials", type=click.IntRange(min=1), help="Override train.fused_trials: at most N trials "
              "in one fused model.")
@click.option("--tensorboard/--no-tensorboard", default=None,
              help="Override report.tensorboard: write TensorBoard event files under RUN_DIR/tensorboard (default).")
def run(sweep: Path, results_dir: Path, max_trials: int | None, epochs: int | None, overwrite: bool,
        quiet: bool, workers: int | None, fuse: bool | None, fused_trials: int | None,
        tensorboard: bool | None) -> None:
    """Run a sweep and write its results folder.

    \b
    Example:
      fitsweep run sweeps/moons.yaml --max-trials 3 --epochs 5
      fitsweep run sweeps/moons.yaml --workers 2
      fitsweep run sweeps/moons.yaml --no-fuse
    """
    from fitsweep.spec import load_spec

    spec = with_options(load_spec(sweep), max_trials=max_trials, epochs=epochs, fused=fuse, fused_trials=fused_trials,
                        tensorboard=tensorboard)
    import_tensorflow()
    from fitsweep.search.runner import run_dir_for, run_sweep
    from fitsweep.training.threads import one_thread_per_op

    run_dir = run_dir_for(spec, results_dir)
    with naming_the_sweep_file(sweep), progress(spec, quiet, run_dir) as observer:
        if workers:
            from fitsweep.search.parallel import run_parallel

            result = run_parallel(spec, workers=workers, results_dir=results_dir, data_dir=sweep.parent,
                                  overwrite=overwrite, observer=observer, report=True)
        else:
            one_thread_per_op()  # workers set their own threads
            result = run_sweep(spec, results_dir=results_dir, data_dir=sweep.parent, overwrite=overwrite,
                               observer=observer, report=True)
    _say_done(result, run_dir)


@click.command()
@run_dir_argument
@quiet_option
def resume(run_dir: Path, quiet: bool) -> None:
    """Continue an interrupted or killed run up to its max_trials.

    Completed trials are kept once; the trial that was cut short runs again.

    \b
    Example:
      fitsweep resume runs/moons
    """
    from fitsweep.results import RunPaths
    from fitsweep.spec import load_spec

    paths = RunPaths(run_dir)
    if run_dir.is_file():
        raise FitsweepError("is a file, not a run folder; give a run's folder (results/<name>)", source=str(run_dir))
    if not paths.spec.is_file():
        raise FitsweepError("not a fitsweep run (no sweep.yaml); nothing to resume", source=str(run_dir))
    spec = load_spec(paths.spec, recorded=True)
    import_tensorflow()
    from fitsweep.search.runner import resume_sweep
    from fitsweep.training.threads import one_thread_per_op

    one_thread_per_op()
    with progress(spec, quiet, run_dir) as observer:
        result = resume_sweep(run_dir, observer=observer, report=True)
    _say_done(result, run_dir)


@click.command()
@sweep_argument
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the oracle listens on; workers on other machines need one they can reach.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8470, show_default=True,
              help="Port the oracle listens on (0: any free one).")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes to start on this machine as well.")
@results_dir_option("Parent folder of the run, shared with the workers; results go to DIR/<name>.")
@max_trials_option
@epochs_option("Override train.epochs (give workers the same).")
@overwrite_option
@quiet_option
def chief(sweep: Path, host: str, port: int, workers: int, results_dir: Path, max_trials: int | None,
          epochs: int | None, overwrite: bool, quiet: bool) -> None:
    """Serve a sweep's trials to workers on other machines, and write its results folder.

    The chief holds KerasTuner's oracle; start `fitsweep worker` on each machine, with the same
    sweep file and a results folder shared with the chief. The oracle has no authentication:
    serve it only on a network you trust.

    \b
    Example:
      fitsweep chief sweeps/moons.yaml --host 10.0.0.5 --port 8470 --results-dir /shared/results
    """
    import warnings

    from fitsweep.spec import load_spec

    spec = with_options(load_spec(sweep), max_trials=max_trials, epochs=epochs)
    import_tensorflow()
    from fitsweep.search.parallel import ExposedOracleWarning, exposure_warning, run_parallel
    from fitsweep.search.runner import run_dir_for

    ready = _announcing_workers(sweep, results_dir, epochs, exposure_warning(host))
    run_dir = run_dir_for(spec, results_dir)
    with progress(spec, quiet, run_dir) as observer, warnings.catch_warnings():
        warnings.simplefilter("ignore", ExposedOracleWarning)  # said once listening, by `ready`
        result = run_parallel(spec, workers=workers, results_dir=results_dir, data_dir=sweep.parent,
                              overwrite=overwrite, observer=observer, report=True, host=host, port=port,
                              on_ready=ready)
    _say_done(result, run_dir)


def _announcing_workers(sweep: Path, results_dir: Path, epochs: int | None,
                        exposed: str | None) -> Callable[[str], None]:
    """What the chief says once its oracle listens: the command that starts a worker."""
    overrides = f" --epochs {epochs}" if epochs else ""

    def ready(address: str) -> None:
        if exposed:  # once listening: a host or port refused says only why
            stderr.print(f"fitsweep: warning: {exposed}", markup=False)
        stderr.print(f"fitsweep: oracle at {address}; start workers with: fitsweep worker {sweep} --chief "
                     f"{address} --results-dir {results_dir}{overrides}", markup=False)

    return ready


@click.command()
@sweep_argument
@click.option("--chief", "chief_address", required=True, help="The chief's HOST:PORT, as `fitsweep chief` prints it.")
@results_dir_option("Parent folder of the run, shared with the chief (trial models are saved there).")
@epochs_option("Override train.epochs, as the chief does.")
@click.option("--threads", type=click.IntRange(min=1), help="TensorFlow threads (default: TensorFlow's choice).")
def worker(sweep: Path, chief_address: str, results_dir: Path, epochs: int | None, threads: int | None) -> None:
    """Run trials for a chief (`fitsweep chief`) until it has none left.

    \b
    Example:
      fitsweep worker sweeps/moons.yaml --chief 10.0.0.5:8470 --results-dir /shared/results
    """
    from fitsweep.spec import load_spec

    with stopped_by_sigterm() as termination:  # a preempted job stops like Ctrl-C
        spec = with_options(load_spec(sweep), epochs=epochs)
        import_tensorflow()
        from fitsweep.search.engine import NullObserver
        from fitsweep.search.parallel import run_worker

        termination.observer = NullObserver()
        run_worker(spec, chief_address, results_dir=results_dir, data_dir=sweep.parent, threads=threads,
                   observer=termination)
    stdout.print(f"Worker done: {chief_address} has no trials left")


@click.command("learning-curve")
@run_dir_argument
@click.option("--trials", default="best", show_default=True,
              help="Trials to retrain, comma-separated: best (the run's best trial) or trial ids such as 03.")
@click.option("--sizes", default="0.1,0.25,0.5,1.0", show_default=True,
              help="Shares of the training split to train on, comma-separated, each in (0, 1].")
@click.option("--repeats", type=click.IntRange(min=1, max=100), default=3, show_default=True,
              help="Nested subsets (and seeds) per size.")
@click.option("--epochs", type=click.IntRange(min=1, max=100_000),
              help="Epochs per training (default: the sweep's).")
@click.option("--metric", type=click.Choice(["error", "crossentropy", "mse"]),
              help="What the curve is fitted to: for a classification validation error (1 - accuracy, the "
                   "default) or cross-entropy; for a regression validation MSE (the default).")
@data_dir_option
def learning_curve(run_dir: Path, trials: str, sizes: str, repeats: int, epochs: int | None, metric: str | None,
                   data_dir: Path | None) -> None:
    """Retrain trials on shares of the training split and say whether more data would help.

    Writes learning_curve.parquet into the run folder (sizes and repeats already there are kept).

    \b
    Example:
      fitsweep learning-curve runs/moons --trials best,3 --sizes 0.1,0.25,0.5,1.0 --repeats 3
    """
    from fitsweep.analysis import TASK_CURVE_METRICS
    from fitsweep.learning_curve import parse_sizes
    from fitsweep.results import load

    shares = parse_sizes(sizes)
    task = load(run_dir).spec.recorded_task
    if metric is not None and metric not in TASK_CURVE_METRICS[task]:
        raise FitsweepError(f"does not measure a {task}; allowed: {', '.join(TASK_CURVE_METRICS[task])}",
                            key="--metric", value=metric)
    import_tensorflow()
    from fitsweep.analysis import learning_curve_findings, training_size_verdicts
    from fitsweep.learning_curve import run_learning_curve

    def told(share: float, rows: int, trained: int, seconds: float) -> None:
        stdout.print(f"size {share:g} ({rows:,} training rows): {trained} trained in {seconds:.1f} s", markup=False)

    table = run_learning_curve(run_dir, trials=[t for t in trials.split(",") if t.strip()], sizes=shares,
                               repeats=repeats, epochs=epochs, data_dir=data_dir, on_size=told)
    for finding in learning_curve_findings(training_size_verdicts(table, metric=metric)):
        stdout.print(finding, markup=False)
    stdout.print(f"Wrote {run_dir / 'learning_curve.parquet'}")


def _say_done(result: object, run_dir: Path) -> None:
    """The run's findings, as its report (just written) has them, and where that report is."""
    from fitsweep.display import report_summary
    from fitsweep.report import last_report

    written = last_report(result)  # type: ignore[arg-type]
    stdout.print(report_summary(result) if written is None else
                 report_summary(result, written.diagnosis, written.headline, written.recommendation))
    stdout.print(f"Results in {run_dir}; report in {run_dir / 'report.html'} (`fitsweep report {run_dir}` draws its "
                 "figures)")


COMMANDS = (run, resume, chief, worker, learning_curve)
