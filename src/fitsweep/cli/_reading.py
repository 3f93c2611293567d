"""Commands that read results: a finished run's (`show`, `report`, `diagnose`, `compare`) or a
search plain KerasTuner ran (`import`, which writes it as a run of its own).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fitsweep.cli._console import import_tensorflow, print_summary, stderr, stdout
from fitsweep.cli._errors import one_line
from fitsweep.cli._options import (
    UsablePath,
    csv_option,
    data_dir_option,
    overwrite_option,
    results_dir_option,
    run_dir_argument,
)
from fitsweep.errors import FitsweepError

if TYPE_CHECKING:
    import pandas as pd

# The columns of `compare`'s table that are printed, {m} the metric compared by, {others} the means of the task's
# other test metrics (a regression's R² and MAE beside its MSE); the CSV has them all.
_COMPARE_SHOWN = ("group", "n_executions", "test_{m}_mean", "test_{m}_ci_low", "test_{m}_ci_high", "{others}",
                  "{m}_gap_mean", "overfit_share", "p_holm", "note")


@click.command()
@run_dir_argument
@click.option("--columns", help="The columns to show after trial_id, comma-separated: hyperparameters, runs, or "
                                "any numeric column of the trials table (default: what varies and the main metrics, "
                                "as many as the terminal's width holds).")
def show(run_dir: Path, columns: str | None) -> None:
    """Print a run's trials, best first.

    \b
    Example:
      fitsweep show results/moons
      fitsweep show results/moons --columns layers,val_loss,train_accuracy,params
    """
    from fitsweep.display import summary_columns, trials_summary
    from fitsweep.results import load

    run = load(run_dir)
    chosen = [name.strip() for name in (columns or "").split(",") if name.strip()]
    allowed = summary_columns(run)
    unknown = [name for name in chosen if name not in allowed]
    if unknown:
        raise FitsweepError(f"not a column of this run's summary; choose from {', '.join(allowed)}",
                            key="--columns", value=unknown[0])
    stdout.print(trials_summary(run, columns=chosen or None))


@click.command()
@run_dir_argument
@click.option("--retrain", is_flag=True,
              help="Retrain the most overfit and underfit trials (same seed) to draw their decision boundaries.")
@data_dir_option
def report(run_dir: Path, retrain: bool, data_dir: Path | None) -> None:
    """Write a run's report.html (one self-contained file) and report.md, and print its findings.

    \b
    Example:
      fitsweep report runs/moons
    """
    from fitsweep.display import report_summary
    from fitsweep.predictions import stored_predictions
    from fitsweep.report import build_report, save_report
    from fitsweep.results import RunPaths, load

    run = load(run_dir)
    if retrain or (RunPaths(run.path).best_model.exists() and stored_predictions(run.path) is None):
        import_tensorflow()  # quietly, before a section loads a model; stored predictions need none
    built = build_report(run, data_dir=data_dir, retrain=retrain)
    files = save_report(run, built)
    stdout.print(report_summary(run, built.diagnosis, built.headline, built.recommendation))
    stdout.print(f"Wrote {files.html} and {files.markdown}")


@click.command()
@run_dir_argument
@csv_option
@click.option("--confidence", type=click.FloatRange(min=0.5, max=1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence that a difference called clear is not noise.")
@click.option("--margin", type=click.FloatRange(min=0), default=0.05, show_default=True,
              help="Smallest cross-entropy difference that counts, relative to its level.")
@click.option("--accuracy-margin", type=click.FloatRange(min=0, max=1), default=0.02, show_default=True,
              help="Smallest accuracy difference that counts.")
def diagnose(run_dir: Path, csv_path: Path | None, confidence: float, margin: float, accuracy_margin: float) -> None:
    """Give every trial and execution a verdict (overfit, underfit, good, diverged) and its reason.

    \b
    Example:
      fitsweep diagnose results/notmnist-capacity --csv verdicts.csv
    """
    from fitsweep.display import frame_table
    from fitsweep.results import load
    from fitsweep.verdicts import verdict_measure, verdicts_of

    run = load(run_dir)
    verdicts = verdicts_of(run, confidence=confidence, margin=margin, accuracy_margin=accuracy_margin)
    counts = ", ".join(f"{n} {fit}" for fit, n in verdicts["fit"].value_counts().items())
    _write_csv(verdicts, csv_path)  # first: a file that cannot be written is the one line said
    stdout.print(f"{run.spec.name}: {counts}")
    stdout.print(frame_table(_verdict_columns(verdicts, verdict_measure(run))))
    _say_written(csv_path)


def _verdict_columns(verdicts: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The verdicts as printed: error rates, or where none was recorded (a regression) the measure judged."""
    keys = ["trial_id", "execution", "fit", "best_epoch"]
    if verdicts["train_error"].notna().any():
        return verdicts[[*keys, "train_error", "val_error", "fit_reason"]]
    name = measure.lower().replace("-", "")  # "MSE" -> train_mse, "loss" -> train_loss
    levels = {"train_crossentropy": f"train_{name}", "val_crossentropy": f"val_{name}"}
    return verdicts[[*keys, *levels, "fit_reason"]].rename(columns=levels)


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=UsablePath())
@click.option("--by", multiple=True,
              help="Group by this column instead of exact configuration: a hyperparameter (layers, dropout, l1, "
                   "depth, ...), 'regularizers' (the exact combination), 'regularizer_kind' (none, l2+dropout, "
                   "...; also accepted under its older name 'regularizer') or 'run'; repeat for several.")
@click.option("--metric", type=click.Choice(["accuracy", "mse", "r2", "mae"]),
              help="The test metric to rank and test by: accuracy for a classification (the default); mse (the "
                   "default), r2 or mae for a regression. R² is better higher, MSE and MAE lower.")
@csv_option
def compare(run_dirs: tuple[Path, ...], by: tuple[str, ...], metric: str | None, csv_path: Path | None) -> None:
    """Compare configurations by test accuracy (a regression's MSE): 95% intervals, Welch tests against the best,
    Holm-corrected.

    Each exact configuration is a group unless --by says otherwise. Several runs are compared
    together, each labelled by its folder name in a `run` column.

    \b
    Example:
      fitsweep compare results/notmnist-regularizers
      fitsweep compare results/moons --by layers --by dropout --csv by-layers.csv
      fitsweep compare runs/diabetes --metric r2
    """
    from fitsweep.analysis import compare as compare_groups
    from fitsweep.analysis import compared_metric, groupable_columns, other_metrics
    from fitsweep.display import frame_table
    from fitsweep.results.columns import canonical_column

    trials = _trials_of(run_dirs)
    allowed = groupable_columns(trials)
    unknown = [column for column in by if canonical_column(column) not in allowed]
    if unknown:
        raise FitsweepError(f"not a column of these trials; choose from {', '.join(allowed)}", key="--by",
                            value=unknown[0])
    try:
        chosen = compared_metric(trials, metric)
    except FitsweepError as error:
        raise FitsweepError(error.problem, key="--metric", value=metric) from None
    table = compare_groups(trials, by=list(by) or None, metric=chosen.name)
    _write_csv(table, csv_path)  # first: a file that cannot be written is the one line said
    better = "higher" if chosen.higher_is_better else "lower"
    title = f"Test {chosen.label} ({better} is better) by {', '.join(by) or 'configuration'} (completed executions)"
    others = [f"{other.test}_mean" for other in other_metrics(chosen, trials)]
    shown = [name for column in _COMPARE_SHOWN
             for name in (others if column == "{others}" else [column.format(m=chosen.name)])]
    stdout.print(frame_table(table[[c for c in shown if c in table.columns]], title=title))
    _say_written(csv_path)


def _trials_of(run_dirs: tuple[Path, ...]) -> Any:
    """The runs' trials tables as one; of several runs, each row says its run (the folder's name)."""
    import pandas as pd

    from fitsweep.results import load

    runs = [load(path) for path in run_dirs]
    if len(runs) == 1:
        return runs[0].trials
    return pd.concat([run.trials.assign(run=path.name) for run, path in zip(runs, run_dirs, strict=True)],
                     ignore_index=True)


@click.command("import")
@click.argument("project_dir", type=UsablePath())
@click.option("--tensorboard", "log_dir", type=UsablePath(),
              help="The log_dir of the keras.callbacks.TensorBoard passed to tuner.search: per-epoch curves of "
                   "every trial. Without it each trial has only its best epoch.")
@results_dir_option("Parent folder of the run; results go to DIR/<name>.")
@click.option("--name", help="The run's name (default: the project folder's name).")
@overwrite_option
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
    import_tensorflow()
    from fitsweep.importing import import_project

    run = import_project(project_dir, results_dir=results_dir, name=name, tensorboard=log_dir, overwrite=overwrite,
                         skip_damaged_logs=skip_damaged_logs)
    for skipped in run.info["imported"]["skipped_event_files"]:
        stderr.print(f"fitsweep: warning: skipped {one_line(skipped)}", markup=False)
    print_summary(run)
    stdout.print(f"Imported into {run.path}; report in {run.path / 'report.html'}")


def _write_csv(frame: Any, path: Path | None) -> None:
    """Write a table as CSV, whole or not at all."""
    from fitsweep.results import write_atomic

    if path is None:
        return
    try:
        write_atomic(path, lambda temporary: frame.to_csv(temporary, index=False))
    except OSError as error:
        raise FitsweepError(f"cannot write the CSV file ({error.strerror or error})", key="--csv",
                            value=str(path)) from None


def _say_written(path: Path | None) -> None:
    if path is not None:
        stdout.print(f"Wrote {path}")


COMMANDS = (show, report, diagnose, compare, import_command)
