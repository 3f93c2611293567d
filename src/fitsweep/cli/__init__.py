"""The `fitsweep` command line: thin commands over the library.

Exit codes: 0 success, 1 a run that completed no trial (or a worker whose chief stopped
answering), 2 bad input (one line on stderr naming
the file, key or argument, no traceback, nothing written), 130 interrupted (Ctrl-C), 143 stopped
by SIGTERM (which `run`, `resume`, `chief` and `worker` handle as Ctrl-C).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from fitsweep import interruption
from fitsweep.errors import FitsweepError, RunFailedError

if TYPE_CHECKING:
    from fitsweep.spec import SweepSpec

# No emoji codes: a path or address a user typed may hold one (":b:" would print as a symbol).
stdout = Console(highlight=False, emoji=False)
if not stdout.is_terminal:
    stdout = Console(highlight=False, emoji=False, width=160)  # logs and pipes have room for the whole table
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fitsweep")
def app() -> None:
    """Hyperparameter sweeps for Keras that say whether each trial over- or underfits."""


_Command = TypeVar("_Command", bound=Callable[..., Any])


# What a file system holds when it cannot say (Linux's limits: bytes in one name, in a whole path).
_NAME_MAX, _PATH_MAX = 255, 4096


class _UsablePath(click.Path):
    """click's Path that refuses a name too long for the file system, and a file to write with no folder.

    Checked here, at the edge, so that no command gets as far as the operating system's
    "File name too long" (or writes half its files first).
    """

    def __init__(self, *, to_write: bool = False, **kwargs: Any) -> None:
        super().__init__(path_type=Path, **kwargs)
        self.to_write = to_write

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        too_long = _too_long(os.fsdecode(value))
        if too_long:
            self.fail(f"{os.fsdecode(value)!r}: {too_long}", param, ctx)
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        if self.to_write and path.is_dir():
            self.fail(f"'{path}' is a folder; give a file name", param, ctx)
        if self.to_write and not path.parent.is_dir():
            self.fail(f"'{path}': its folder {path.parent} does not exist; create it first", param, ctx)
        return path


def _too_long(path: str) -> str | None:
    """Why `path` is longer than its file system allows, or None when it fits."""
    name_max, path_max = _file_system_limits(Path(path))
    longest = max((len(os.fsencode(part)) for part in Path(path).parts), default=0)
    if longest > name_max:
        return f"a name of {longest} bytes is longer than the file system allows (at most {name_max} bytes a name)"
    if len(os.fsencode(path)) >= path_max:
        return f"a path of {len(os.fsencode(path))} bytes is longer than the file system allows (under {path_max})"
    return None


def _file_system_limits(path: Path) -> tuple[int, int]:
    """NAME_MAX and PATH_MAX of the file system that holds `path` (its nearest existing folder)."""
    folder = Path(os.path.abspath(path)).parent
    try:
        while not os.path.isdir(folder) and folder != folder.parent:
            folder = folder.parent
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError):  # a platform or file system that does not say
        return _NAME_MAX, _PATH_MAX


def _sweep_argument(function: _Command) -> _Command:
    return click.argument("sweep", type=_UsablePath())(function)


def _run_dir_argument(function: _Command) -> _Command:
    return click.argument("run_dir", type=_UsablePath())(function)


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
@click.option("--results-dir", type=_UsablePath(), default=Path("results"), show_default=True,
              help="Parent folder of the run; results go to DIR/<name>.")
@click.option("--max-trials", type=click.IntRange(min=1), help="Override tuner.max_trials.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override train.epochs.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run of the same name.")
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
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

    spec = _with_options(load_spec(sweep), max_trials=max_trials, epochs=epochs, fuse=fuse, fused_trials=fused_trials,
                         tensorboard=tensorboard)
    _import_tensorflow()
    from fitsweep.runner import run_dir_for, run_sweep

    run_dir = run_dir_for(spec, results_dir)
    with _naming_the_sweep_file(sweep), _progress(spec, quiet, run_dir) as progress:
        if workers:
            from fitsweep.parallel import run_parallel

            result = run_parallel(spec, workers=workers, results_dir=results_dir, data_dir=sweep.parent,
                                  overwrite=overwrite, observer=progress, report=True)
        else:
            result = run_sweep(spec, results_dir=results_dir, data_dir=sweep.parent, overwrite=overwrite,
                               observer=progress, report=True)
    _print_summary(result)
    stdout.print(f"Results in {run_dir}; report in {run_dir / 'report.html'}")


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
    if run_dir.is_file():
        raise FitsweepError(f"{run_dir}: is a file, not a run folder; give a run's folder (results/<name>)")
    if not paths.spec.is_file():
        raise FitsweepError(f"{run_dir}: not a fitsweep run (no sweep.yaml); nothing to resume")
    spec = load_spec(paths.spec, recorded=True)
    _import_tensorflow()
    from fitsweep.runner import resume_sweep

    with _progress(spec, quiet, run_dir) as progress:
        result = resume_sweep(run_dir, observer=progress, report=True)
    _print_summary(result)
    stdout.print(f"Results in {run_dir}; report in {run_dir / 'report.html'}")


@app.command()
@_sweep_argument
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the oracle listens on; workers on other machines need one they can reach.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8470, show_default=True,
              help="Port the oracle listens on (0: any free one).")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Worker processes to start on this machine as well.")
@click.option("--results-dir", type=_UsablePath(), default=Path("results"), show_default=True,
              help="Parent folder of the run, shared with the workers; results go to DIR/<name>.")
@click.option("--max-trials", type=click.IntRange(min=1), help="Override tuner.max_trials.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override train.epochs (give workers the same).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run of the same name.")
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
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

    spec = _with_options(load_spec(sweep), max_trials=max_trials, epochs=epochs)
    _import_tensorflow()
    from fitsweep.parallel import ExposedOracleWarning, exposure_warning, run_parallel
    from fitsweep.runner import run_dir_for

    exposed = exposure_warning(host)
    overrides = f" --epochs {epochs}" if epochs else ""

    def ready(address: str) -> None:
        if exposed:  # once listening: a host or port refused says only why
            stderr.print(f"fitsweep: warning: {exposed}", markup=False)
        stderr.print(f"fitsweep: oracle at {address}; start workers with: fitsweep worker {sweep} --chief "
                     f"{address} --results-dir {results_dir}{overrides}", markup=False)

    run_dir = run_dir_for(spec, results_dir)
    with _progress(spec, quiet, run_dir) as progress, warnings.catch_warnings():
        warnings.simplefilter("ignore", ExposedOracleWarning)
        result = run_parallel(spec, workers=workers, results_dir=results_dir, data_dir=sweep.parent,
                              overwrite=overwrite, observer=progress, report=True, host=host, port=port,
                              on_ready=ready)
    _print_summary(result)
    stdout.print(f"Results in {run_dir}; report in {run_dir / 'report.html'}")


@app.command()
@_sweep_argument
@click.option("--chief", "chief_address", required=True, help="The chief's HOST:PORT, as `fitsweep chief` prints it.")
@click.option("--results-dir", type=_UsablePath(), default=Path("results"), show_default=True,
              help="Parent folder of the run, shared with the chief (trial models are saved there).")
@click.option("--epochs", type=click.IntRange(min=1), help="Override train.epochs, as the chief does.")
@click.option("--threads", type=click.IntRange(min=1), help="TensorFlow threads (default: TensorFlow's choice).")
def worker(sweep: Path, chief_address: str, results_dir: Path, epochs: int | None, threads: int | None) -> None:
    """Run trials for a chief (`fitsweep chief`) until it has none left.

    \b
    Example:
      fitsweep worker sweeps/moons.yaml --chief 10.0.0.5:8470 --results-dir /shared/results
    """
    from fitsweep.spec import load_spec

    termination = _Termination(None)  # a preempted job stops like Ctrl-C: one line, exit 143
    signal.signal(signal.SIGTERM, termination.handle)  # first, so that SIGTERM during the imports counts too
    try:
        spec = _with_options(load_spec(sweep), epochs=epochs)
        _import_tensorflow()
        from fitsweep.engine import NullObserver
        from fitsweep.parallel import run_worker

        termination.observer = NullObserver()
        run_worker(spec, chief_address, results_dir=results_dir, data_dir=sweep.parent, threads=threads,
                   observer=termination)
    except _Terminated:
        stderr.print("fitsweep: interrupted (SIGTERM)", markup=False)
        raise SystemExit(143) from None
    stdout.print(f"Worker done: {chief_address} has no trials left")


class _Terminated(KeyboardInterrupt):
    """SIGTERM (Slurm, Kubernetes, systemd), raised where Ctrl-C would be, so a run stops the same way."""


class _Termination:
    """Turns Ctrl-C and SIGTERM into their exceptions, raised again at the next progress event if swallowed.

    Python drops an exception raised while a finaliser runs (TensorFlow has many), so a signal
    landing there would be lost and the run would go on; the run's next trial or epoch event
    raises it again (`fitsweep.interruption` remembers it). A second signal is ignored: the run
    is already writing its last files.
    """

    def __init__(self, observer: Any) -> None:
        self.observer = observer
        interruption.clear()

    def handle(self, signal_number: int, frame: Any) -> None:
        requested = _Terminated if signal_number == signal.SIGTERM else KeyboardInterrupt
        if interruption.request(requested):
            raise requested

    def _check(self) -> None:
        interruption.raise_if_requested()

    def data_prepared(self, summary: str) -> None:
        self.observer.data_prepared(summary)

    def trial_started(self, *args: Any) -> None:
        self._check()
        self.observer.trial_started(*args)

    def epoch_ended(self, *args: Any) -> None:
        self._check()
        self.observer.epoch_ended(*args)

    def trial_ended(self, *args: Any) -> None:
        self.observer.trial_ended(*args)
        self._check()


@contextmanager
def _naming_the_sweep_file(sweep: Path) -> Iterator[None]:
    """A sweep-file key found wrong only once the data are loaded (`model.family: conv` on flat rows) names the file."""
    from fitsweep.errors import SpecError
    from fitsweep.spec import names_a_key

    try:
        yield
    except SpecError as error:
        if names_a_key(str(error)):
            raise SpecError(f"{sweep}: {error}") from None
        raise


def _with_options(spec: SweepSpec, *, tensorboard: bool | None = None, fuse: bool | None = None,
                  fused_trials: int | None = None, max_trials: int | None = None,
                  epochs: int | None = None) -> SweepSpec:
    """The sweep file with a command's override options; an error names them as typed (`command line (--epochs 0)`)."""
    given = []
    if tensorboard is not None:
        given.append("--tensorboard" if tensorboard else "--no-tensorboard")
    if fuse is not None:
        given.append("--fuse" if fuse else "--no-fuse")
    valued = (("--fused-trials", fused_trials), ("--max-trials", max_trials), ("--epochs", epochs))
    given += [f"{flag} {value}" for flag, value in valued if value is not None]
    source = f"command line ({', '.join(given)})" if given else "command line"
    return spec.with_overrides(max_trials=max_trials, epochs=epochs, fused=fuse, fused_trials=fused_trials,
                               tensorboard=tensorboard, source=source)


@contextmanager
def _progress(spec: SweepSpec, quiet: bool, run_dir: Path) -> Iterator[Any]:
    """The progress display for a run; on Ctrl-C or SIGTERM, say how to resume.

    SIGTERM is handled as Ctrl-C: the current trial is left to run again on resume, run.json
    says `interrupted`, workers are stopped; the exit code is 143 (128 + SIGTERM) instead of 130.
    """
    from fitsweep.progress import make_progress

    tuner = spec.tuner
    try:
        with make_progress(stdout, tuner.max_trials, tuner.objective, tuner.direction, quiet) as progress:
            termination = _Termination(progress)
            previous = {number: signal.signal(number, termination.handle) for number in (signal.SIGTERM, signal.SIGINT)}
            try:
                yield termination
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, _Terminated)
        how = "interrupted (SIGTERM)" if terminated else "interrupted"
        stderr.print(f"fitsweep: {how}; continue with: fitsweep resume {run_dir}", markup=False)
        raise SystemExit(143 if terminated else 130) from None


def _import_tensorflow() -> None:
    with _quiet_native_logs():
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")


@app.command()
@_sweep_argument
def validate(sweep: Path) -> None:
    """Check a sweep file, print it with every default filled in, and say what its data hold.

    The data are loaded and split as `run` would: the last lines give their sizes and the
    scaling `data.scaling` applies (for `auto`, what it decided and why).

    \b
    Example:
      fitsweep validate sweeps/moons.yaml
    """
    from fitsweep.spec import load_spec

    spec = load_spec(sweep)
    stdout.print(spec.to_yaml(), end="", markup=False)
    from fitsweep.data import prepare_data  # the data, loaded to say what data.scaling does with them

    stdout.print(prepare_data(spec.data, sweep.parent).summary, highlight=False, soft_wrap=True, markup=False)
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


@app.command("report")
@_run_dir_argument
@click.option("--retrain", is_flag=True,
              help="Retrain the most overfit and underfit trials (same seed) to draw their decision boundaries.")
@click.option("--data-dir", type=_UsablePath(file_okay=False),
              help="Folder the sweep's relative data paths start at (default: the one the run recorded).")
def report_command(run_dir: Path, retrain: bool, data_dir: Path | None) -> None:
    """Write a run's report.html (one self-contained file) and report.md, and print its findings.

    \b
    Example:
      fitsweep report results/moons
    """
    from fitsweep.display import report_summary
    from fitsweep.report import build_report, save_report
    from fitsweep.results import RunPaths, load

    run = load(run_dir)
    if retrain or RunPaths(run.path).best_model.exists():
        _import_tensorflow()  # quietly, before a section loads a model; a report of tables alone needs none
    report = build_report(run, data_dir=data_dir, retrain=retrain)
    files = save_report(run, report)
    stdout.print(report_summary(run, report.diagnosis, report.headline))
    stdout.print(f"Wrote {files.html} and {files.markdown}")


@app.command("learning-curve")
@_run_dir_argument
@click.option("--trials", default="best", show_default=True,
              help="Trials to retrain, comma-separated: best (the run's best trial) or trial ids such as 03.")
@click.option("--sizes", default="0.1,0.25,0.5,1.0", show_default=True,
              help="Shares of the training split to train on, comma-separated, each in (0, 1].")
@click.option("--repeats", type=click.IntRange(min=1, max=100), default=3, show_default=True,
              help="Nested subsets (and seeds) per size.")
@click.option("--epochs", type=click.IntRange(min=1, max=100_000),
              help="Epochs per training (default: the sweep's).")
@click.option("--metric", type=click.Choice(["error", "crossentropy"]), default="error", show_default=True,
              help="What the curve is fitted to: validation error (1 - accuracy) or cross-entropy.")
@click.option("--data-dir", type=_UsablePath(file_okay=False),
              help="Folder the sweep's relative data paths start at (default: the one the run recorded).")
def learning_curve_command(run_dir: Path, trials: str, sizes: str, repeats: int, epochs: int | None, metric: str,
                           data_dir: Path | None) -> None:
    """Retrain trials on shares of the training split and say whether more data would help.

    Writes learning_curve.parquet into the run folder (sizes and repeats already there are kept).

    \b
    Example:
      fitsweep learning-curve results/moons --trials best,3 --sizes 0.1,0.25,0.5,1.0 --repeats 3
    """
    from fitsweep.learning_curve import parse_sizes

    shares = parse_sizes(sizes)
    _import_tensorflow()
    from fitsweep.analysis import learning_curve_findings, training_size_verdicts
    from fitsweep.learning_curve import run_learning_curve

    def told(share: float, rows: int, trained: int, seconds: float) -> None:
        stdout.print(f"size {share:g} ({rows:,} training rows): {trained} trained in {seconds:.1f} s", markup=False)

    table = run_learning_curve(run_dir, trials=[t for t in trials.split(",") if t.strip()], sizes=shares,
                               repeats=repeats, epochs=epochs, data_dir=data_dir, on_size=told)
    for finding in learning_curve_findings(training_size_verdicts(table, metric=metric)):
        stdout.print(finding, markup=False)
    stdout.print(f"Wrote {run_dir / 'learning_curve.parquet'}")


@app.command("diagnose")
@_run_dir_argument
@click.option("--csv", "csv_path", type=_UsablePath(to_write=True),
              help="Also write the table as CSV.")
@click.option("--confidence", type=click.FloatRange(min=0.5, max=1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence that a difference called clear is not noise.")
@click.option("--margin", type=click.FloatRange(min=0), default=0.05, show_default=True,
              help="Smallest cross-entropy difference that counts, relative to its level.")
@click.option("--accuracy-margin", type=click.FloatRange(min=0, max=1), default=0.02, show_default=True,
              help="Smallest accuracy difference that counts.")
def diagnose_command(run_dir: Path, csv_path: Path | None, confidence: float, margin: float,
                     accuracy_margin: float) -> None:
    """Give every trial and execution a verdict (overfit, underfit, good, diverged) and its reason.

    \b
    Example:
      fitsweep diagnose results/notmnist-capacity --csv verdicts.csv
    """
    from fitsweep.display import frame_table
    from fitsweep.results import load
    from fitsweep.verdicts import verdicts_of

    run = load(run_dir)
    verdicts = verdicts_of(run, confidence=confidence, margin=margin, accuracy_margin=accuracy_margin)
    counts = ", ".join(f"{n} {fit}" for fit, n in verdicts["fit"].value_counts().items())
    _write_csv(verdicts, csv_path)  # first: a file that cannot be written is the one line said
    stdout.print(f"{run.spec.name}: {counts}")
    shown = verdicts[["trial_id", "execution", "fit", "best_epoch", "train_error", "val_error", "fit_reason"]]
    stdout.print(frame_table(shown))
    _say_written(csv_path)


@app.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=_UsablePath())
@click.option("--by", multiple=True,
              help="Group by this column instead of exact configuration: a hyperparameter (layers, dropout, l1, "
                   "depth, ...), 'regularizers' (the exact combination), 'regularizer_kind' (none, l2+dropout, "
                   "...; also accepted under its older name 'regularizer') or 'run'; repeat for several.")
@click.option("--csv", "csv_path", type=_UsablePath(to_write=True),
              help="Also write the table as CSV.")
def compare_command(run_dirs: tuple[Path, ...], by: tuple[str, ...], csv_path: Path | None) -> None:
    """Compare configurations by test accuracy: 95% intervals, Welch tests against the best, Holm-corrected.

    Each exact configuration is a group unless --by says otherwise. Several runs are compared
    together, each labelled by its folder name in a `run` column.

    \b
    Example:
      fitsweep compare results/notmnist-regularizers
      fitsweep compare results/moons --by layers --by dropout --csv by-layers.csv
    """
    import pandas as pd

    from fitsweep.analysis import compare, groupable_columns
    from fitsweep.columns import canonical_column
    from fitsweep.display import frame_table
    from fitsweep.results import load

    runs = [load(path) for path in run_dirs]
    trials = runs[0].trials if len(runs) == 1 else pd.concat(
        [run.trials.assign(run=path.name) for run, path in zip(runs, run_dirs, strict=True)], ignore_index=True)
    allowed = groupable_columns(trials)
    unknown = [column for column in by if canonical_column(column) not in allowed]
    if unknown:
        raise FitsweepError(f"--by {unknown[0]}: not a column of these trials; choose from {', '.join(allowed)}")
    table = compare(trials, by=list(by) or None)
    _write_csv(table, csv_path)  # first: a file that cannot be written is the one line said
    title = f"Test accuracy by {', '.join(by) or 'configuration'} (completed executions)"
    stdout.print(frame_table(table[[c for c in _COMPARE_SHOWN if c in table.columns]], title=title))
    _say_written(csv_path)


@app.command("suggest")
@_run_dir_argument
@click.option("--output", "-o", type=_UsablePath(to_write=True),
              help="Write the sweep file here (atomically) instead of printing it.")
def suggest_command(run_dir: Path, output: Path | None) -> None:
    """Print the next sweep file of a finished run, each change commented with its evidence.

    Ranges widen where the best trials sit at an edge and narrow where the top trials fit well;
    regularization grows where they overfit; epochs, learning rate or capacity where they
    underfit; repeats where the best two are within noise.

    \b
    Example:
      fitsweep suggest results/moons > next.yaml
      fitsweep suggest results/moons --output next.yaml && fitsweep run next.yaml
    """
    from fitsweep.suggest import suggest_next_sweep, write_suggestion

    text = suggest_next_sweep(run_dir)
    if output is None:
        click.echo(text, nl=False)
        return
    write_suggestion(output, text)
    stderr.print(f"Wrote {output}", markup=False)


@app.command("import")
@click.argument("project_dir", type=_UsablePath())
@click.option("--tensorboard", "log_dir", type=_UsablePath(),
              help="The log_dir of the keras.callbacks.TensorBoard passed to tuner.search: per-epoch curves of "
                   "every trial. Without it each trial has only its best epoch.")
@click.option("--results-dir", type=_UsablePath(), default=Path("results"), show_default=True,
              help="Parent folder of the run; results go to DIR/<name>.")
@click.option("--name", help="The run's name (default: the project folder's name).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run of the same name.")
@click.option("--skip-damaged-logs", is_flag=True,
              help="Import a trial whose TensorBoard logs hold a damaged event file (cut short, corrupt) from its "
                   "other files, naming each skipped file; without it such a file is refused.")
def import_command(project_dir: Path, log_dir: Path | None, results_dir: Path, name: str | None,
                   overwrite: bool, skip_damaged_logs: bool) -> None:
    """Import a search plain KerasTuner ran: its trials table, curves, verdicts and report.

    PROJECT_DIR is KerasTuner's directory/project_name, the folder holding oracle.json; it
    and the TensorBoard logs are only read.

    \b
    Example:
      fitsweep import my_dir/my_project --tensorboard logs/
    """
    _import_tensorflow()
    from fitsweep.importing import import_project

    run = import_project(project_dir, results_dir=results_dir, name=name, tensorboard=log_dir, overwrite=overwrite,
                         skip_damaged_logs=skip_damaged_logs)
    for skipped in run.info["imported"]["skipped_event_files"]:
        stderr.print(f"fitsweep: warning: skipped {_one_line(skipped)}", markup=False)
    _print_summary(run)
    stdout.print(f"Imported into {run.path}; report in {run.path / 'report.html'}")


_COMPARE_SHOWN = ("group", "n_executions", "test_accuracy_mean", "test_accuracy_ci_low", "test_accuracy_ci_high",
                  "accuracy_gap_mean", "overfit_share", "p_holm", "note")


def _write_csv(frame: Any, path: Path | None) -> None:
    """Write a table as CSV, whole or not at all."""
    from fitsweep.results import write_atomic

    if path is None:
        return
    try:
        write_atomic(path, lambda temporary: frame.to_csv(temporary, index=False))
    except OSError as error:
        raise FitsweepError(f"--csv {path}: cannot write the CSV file ({error.strerror or error})") from None


def _say_written(path: Path | None) -> None:
    if path is not None:
        stdout.print(f"Wrote {path}")


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
    except _Terminated:
        stderr.print("fitsweep: interrupted (SIGTERM)", markup=False)
        code = 143
    except KeyboardInterrupt:
        stderr.print("fitsweep: interrupted", markup=False)
        code = 130
    except RunFailedError as error:
        stderr.print(f"fitsweep: run failed: {error}", markup=False)
        code = 1
    except FitsweepError as error:
        stderr.print(f"fitsweep: error: {_one_line(str(error))}", markup=False)
        code = 2
    except OSError as error:
        if error.errno not in _UNUSABLE_PATH or error.filename is None:
            raise
        # A path the user gave, made unusable further on (a name it was joined to): the same one line.
        stderr.print(f"fitsweep: error: {_one_line(str(error.filename))}: not a usable path ({error.strerror})",
                     markup=False)
        code = 2
    sys.exit(code if isinstance(code, int) else 0)


# OSError numbers that say a path cannot name anything, whatever is on disk.
_UNUSABLE_PATH = frozenset({errno.ENAMETOOLONG, errno.ELOOP})


def _one_line(message: str) -> str:
    """The message with control characters escaped: a path a user typed may hold a newline."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def _click_message(error: click.ClickException) -> str:
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if context is not None:
        message = f"{message} (see '{context.command_path} --help')"
    return " ".join(message.split())
