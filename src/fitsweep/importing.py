"""Import a search that plain KerasTuner ran into a fitsweep run folder: its tables, verdicts and report.

KerasTuner keeps less than fitsweep records, and the imported run says what is missing:

- no test split (KerasTuner has none), so no test metrics and no `compare`;
- no per-epoch curves unless a TensorBoard callback wrote them (trial.json keeps only each
  trial's best epoch, averaged over its executions);
- training metrics are Keras' running averages over each epoch's batches, with dropout on and
  any L1/L2 penalty inside `loss`: fitsweep's inference-mode and penalty-free columns stay empty;
- no row counts, data, models of the trials or class priors.

The project folder and the TensorBoard logs are only read; the run is written elsewhere, through
`fitsweep.results`, after everything has been read and checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from fitsweep.errors import ProjectError
from fitsweep.imported_measures import ImportedMeasures, fitsweep_metric, imported_measures
from fitsweep.kerastuner import ExecutionCurve, KerasTunerProject, read_execution_curves, read_project
from fitsweep.results import (
    RunPaths,
    SweepRun,
    load,
    prepare_run_dir,
    write_atomic,
    write_run_info,
    write_tables,
)
from fitsweep.results.tables import TRIAL_METRIC_COLUMNS, epochs_frame, trial_error, trial_status, trials_frame
from fitsweep.spec import SWEEP_NAME, SweepSpec, parse_spec

__all__ = ["ImportedSearch", "import_project", "imported_search", "kerastuner_objective"]

# Hyperband's bookkeeping, which KerasTuner stores as hyperparameters: columns after the metrics.
_HYPERBAND_COLUMNS = {
    "tuner/epochs": "hyperband_epochs", "tuner/initial_epoch": "hyperband_initial_epoch",
    "tuner/bracket": "hyperband_bracket", "tuner/round": "hyperband_round", "tuner/trial_id": "continues_trial",
}
# Columns of fitsweep's tables (or derived from them) that a KerasTuner hyperparameter must not overwrite.
_RESERVED = {"trial_id", "execution", "status", "layers", "regularizers", "regularizer_kind", "run", "fit",
             *TRIAL_METRIC_COLUMNS}
_AT_BEST_EPOCH = {"loss": "train_loss", "val_loss": "val_loss", "accuracy": "train_accuracy",
                  "val_accuracy": "val_accuracy",
                  **{f"{prefix}{name}": f"{prefix or 'train_'}{name}" for prefix in ("", "val_")
                     for name in ("mse", "mae", "r2")}}
# The objectives fitsweep's tables rank by, of each task; any other KerasTuner objective ranks by val_loss.
_RANKED_BY = {"classification": ("val_accuracy",), "regression": ("val_mse", "val_mae", "val_r2")}
# What KerasTuner never records, said once in run.json and the report.
NOT_RECORDED = (
    "no test split: KerasTuner searches on training and validation data only, so there are no test metrics",
    "training metrics are Keras' running averages over each epoch's batches, measured with dropout on, and "
    "loss includes any L1/L2 penalty",
    "no row counts, class priors, data or trained models: verdicts apply only the practical margins",
)
NO_CURVES = ("no per-epoch curves: KerasTuner's trial.json keeps only each trial's best epoch, averaged over its "
             "executions; pass the TensorBoard callback's log_dir with --tensorboard to read them")


@dataclass(frozen=True)
class ImportedSearch:
    """A KerasTuner search as fitsweep's tables, its recorded sweep file and run.json, nothing written yet."""

    spec: SweepSpec
    trials: pd.DataFrame
    epochs: pd.DataFrame
    info: dict[str, Any]


def import_project(
    project_dir: str | Path,
    *,
    results_dir: str | Path = "runs",
    name: str | None = None,
    tensorboard: str | Path | None = None,
    overwrite: bool = False,
    report: bool = True,
    skip_damaged_logs: bool = False,
) -> SweepRun:
    """Read a KerasTuner project folder into a fitsweep run folder, and write its report.

    Args:
        project_dir: KerasTuner's `directory/project_name` (the folder holding oracle.json).
        results_dir: Parent folder of the run; it goes to `results_dir/name` (`runs/<name>` by default).
        name: The run's name (default: the project folder's name).
        tensorboard: The `log_dir` of the `keras.callbacks.TensorBoard` passed to `tuner.search`,
            for per-epoch curves; without it each trial has only its best epoch.
        overwrite: Replace an earlier fitsweep run of the same name.
        report: Also write report.html and report.md.
        skip_damaged_logs: Import a trial whose TensorBoard logs hold a damaged event file (cut
            short, corrupt) from its other files, listing the file in run.json's
            `imported.skipped_event_files`; by default such a file is refused.

    Returns:
        The imported run, as `fitsweep.load` reads it.

    Raises:
        ProjectError: Not a KerasTuner project, a truncated or corrupt trial.json, a layout
            KerasTuner 1.4 does not write, TensorBoard logs that hold none of its trials, or
            a damaged event file (unless `skip_damaged_logs`).
        ResultsError: The run's folder is taken (see `overwrite`).

    Example:
        >>> run = import_project("my_dir/my_project", tensorboard="logs")  # doctest: +SKIP
        >>> run.trials[["trial_id", "units", "val_accuracy"]]  # doctest: +SKIP
    """
    project_path = Path(project_dir)
    log_dir = None if tensorboard is None else Path(tensorboard)
    search = imported_search(read_project(project_path), log_dir, name, skip_damaged_logs=skip_damaged_logs)
    run_root = Path(results_dir) / search.spec.name
    _check_apart(run_root, project_path, "the KerasTuner project")
    if log_dir is not None:
        _check_apart(run_root, log_dir, "the TensorBoard logs")
    paths = prepare_run_dir(run_root, overwrite)
    _write(paths, search)
    if report:
        from fitsweep.report import write_report

        write_report(paths.root)
    return load(paths.root)


def imported_search(project: KerasTunerProject, log_dir: Path | None = None, name: str | None = None, *,
                    skip_damaged_logs: bool = False) -> ImportedSearch:
    """A read KerasTuner project as fitsweep's tables, sweep file and run.json.

    Args:
        project: From `fitsweep.kerastuner.read_project`.
        log_dir: The TensorBoard callback's `log_dir`, or None.
        name: The run's name (default: the project folder's name, made a valid one).
        skip_damaged_logs: Skip a damaged event file (listed in run.json) rather than refuse it.

    Raises:
        ProjectError: The project has no trial, `log_dir` is not a folder or holds logs of none of
            the project's trials, an event file is damaged (unless `skip_damaged_logs`), or
            `name` is not a valid run name.
    """
    if not project.trials:
        raise ProjectError(f"{project.path}: holds no trial_*/trial.json (KerasTuner had not created a trial yet); "
                           "nothing to import")
    skipped: list[str] | None = [] if skip_damaged_logs else None
    curves = _curves(project, log_dir, skipped)
    objective, direction = kerastuner_objective(project.trials)
    epoch_rows = _epoch_rows(project, curves)
    measures = imported_measures(_metric_names(project, curves), objective, pd.DataFrame(epoch_rows))
    task = measures.task or "classification"  # the tables' columns; an unknown task keeps the loss alone
    epochs = _epochs_table(epoch_rows, task)
    ranked_by = _fitsweep_objective(objective, task)
    columns = _hyperparameter_columns(project)
    rows = _trial_rows(project, curves, columns, ranked_by)
    trials = _scalar_columns(trials_frame(rows, list(columns.values()), task), list(columns.values()))
    trials = _with_hyperband_columns(trials, rows)
    run_name = _run_name(project.path, name)
    spec = _spec(project, run_name, log_dir, ranked_by, trials, epochs, measures)
    info = _run_info(project, log_dir, spec, objective, direction, curves, skipped or [], measures)
    return ImportedSearch(spec, trials, epochs, info)


def kerastuner_objective(trials: Sequence[Any]) -> tuple[str | None, str]:
    """The metric KerasTuner scored the trials by, and its direction, found from trial.json alone.

    oracle.json does not record the objective; a completed trial's `score` is its objective's
    best value, so the objective is the metric whose best value equals the score in every scored
    trial (a validation metric first, when a training metric happens to tie; a named metric before
    val_loss, which equals it when it is the loss). A multi-objective or custom score matches none:
    (None, "min"), as KerasTuner minimises such a score.

    Example:
        >>> kerastuner_objective([])
        (None, 'min')
    """
    scored = [trial for trial in trials if trial.score is not None and math.isfinite(float(trial.score))]
    candidates: set[str] | None = None
    for trial in scored:
        matching = {name for name in trial.metrics.metrics
                    if _close(trial.metrics.get_best_value(name), float(trial.score))}
        candidates = matching if candidates is None else candidates & matching
    if not candidates:
        return None, "min"
    # val_loss ties with the metric the loss is (val_mse under an MSE loss): the named metric was the objective.
    name = sorted(candidates, key=lambda n: (not n.startswith("val_"), n == "val_loss", n))[0]
    return name, str(scored[0].metrics.get_direction(name))


def _close(value: Any, score: float) -> bool:
    return value is not None and math.isclose(float(value), score, rel_tol=1e-9, abs_tol=1e-12)


def _fitsweep_objective(objective: str | None, task: str) -> str:
    renamed = fitsweep_metric(objective) if objective else ""
    return renamed if renamed in _RANKED_BY[task] else "val_loss"


def _metric_names(project: KerasTunerProject, curves: dict[str, dict[int, ExecutionCurve]]) -> list[str]:
    """Every metric name the trials and their logs recorded, as Keras named them."""
    names = {name for trial in project.trials for name in trial.metrics.metrics}
    names |= {name for by_execution in curves.values() for curve in by_execution.values()
              for values in curve.epochs.values() for name in values}
    return sorted(names)


def _curves(project: KerasTunerProject, log_dir: Path | None,
            skipped: list[str] | None) -> dict[str, dict[int, ExecutionCurve]]:
    if log_dir is None:
        return {}
    if not log_dir.is_dir():
        what = "is a file, not a folder" if log_dir.is_file() else "no such folder"
        raise ProjectError(f"--tensorboard {log_dir}: {what}; give the log_dir of the TensorBoard callback "
                           "passed to tuner.search")
    curves = {trial.trial_id: read_execution_curves(log_dir, trial.trial_id, skipped) for trial in project.trials}
    if not any(curves.values()):
        raise ProjectError(f"--tensorboard {log_dir}: holds no logs of this project's trials (KerasTuner writes "
                           f"{log_dir}/<trial_id>/execution0/train, such as {log_dir}/{project.trials[0].trial_id})")
    return {trial_id: by_execution for trial_id, by_execution in curves.items() if by_execution}


def _hyperparameter_columns(project: KerasTunerProject) -> dict[str, str]:
    """KerasTuner hyperparameter name -> its column, in the order the search space declares them."""
    names = [entry.get("config", {}).get("name") for entry in project.space]
    names += [name for trial in project.trials for name in trial.hyperparameters.values]
    columns: dict[str, str] = {}
    for name in dict.fromkeys(n for n in names if isinstance(n, str) and n not in _HYPERBAND_COLUMNS):
        columns[name] = f"hp_{name}" if name in _RESERVED else name
    return columns


def _with_hyperband_columns(trials: pd.DataFrame, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Hyperband's epochs, bracket, round and the trial each one continues, after the metric columns."""
    for name, column in _HYPERBAND_COLUMNS.items():
        values = [row["hyperband"].get(name) for row in rows]
        if any(value is not None for value in values):
            trials[column] = pd.array(values, dtype="string" if column == "continues_trial" else "Int64")
    return trials


def _trial_rows(project: KerasTunerProject, curves: dict[str, dict[int, ExecutionCurve]],
                columns: dict[str, str], objective: str) -> list[dict[str, Any]]:
    rows = []
    for trial in project.trials:
        status = trial_status(trial)
        base = {
            "trial_id": str(trial.trial_id), "status": status, "score": trial.score,
            **{column: trial.hyperparameters.values.get(name) for name, column in columns.items()},
            "error": trial_error(trial) if status != "completed" else None,
            "hyperband": {name: trial.hyperparameters.values.get(name) for name in _HYPERBAND_COLUMNS},
        }
        by_execution = curves.get(trial.trial_id)
        if by_execution:
            rows += [{**base, "execution": execution, **_curve_metrics(curve, objective)}
                     for execution, curve in by_execution.items()]
        else:
            rows.append({**base, "execution": 0, **_best_epoch_metrics(trial)})
    return rows


def _curve_metrics(curve: ExecutionCurve, objective: str) -> dict[str, Any]:
    epochs = {step: _renamed(values) for step, values in curve.epochs.items()}
    scored = {step: values[objective] for step, values in epochs.items() if _finite(values.get(objective))}
    pick = max if objective.endswith(("accuracy", "r2")) else min
    best = pick(scored, key=lambda step: scored[step]) if scored else max(epochs)
    seconds = curve.ended - curve.started if curve.started is not None and curve.ended is not None else None
    return {
        "epochs_run": len(epochs), "best_epoch": best + 1, "fit_seconds": seconds,
        "started": curve.started, "ended": curve.ended,
        **{column: epochs[best].get(name) for name, column in _AT_BEST_EPOCH.items()},
    }


def _best_epoch_metrics(trial: Any) -> dict[str, Any]:
    """What trial.json keeps: each metric at the best epoch, averaged over the trial's executions."""
    values = _renamed({name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics})
    if not values:
        return {}
    hyperband = trial.hyperparameters.values
    epochs_run = (int(hyperband["tuner/epochs"]) - int(hyperband.get("tuner/initial_epoch", 0))
                  if "tuner/epochs" in hyperband else None)
    best = None if trial.best_step is None else int(trial.best_step) + 1
    return {"best_epoch": best, "epochs_run": epochs_run,
            **{column: values.get(name) for name, column in _AT_BEST_EPOCH.items()}}


def _renamed(values: dict[str, Any]) -> dict[str, float]:
    renamed: dict[str, float] = {}
    for name, value in values.items():
        if value is not None:
            renamed.setdefault(fitsweep_metric(name), float(value))
    return renamed


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _epoch_rows(project: KerasTunerProject, curves: dict[str, dict[int, ExecutionCurve]]) -> list[dict[str, Any]]:
    """Every logged epoch; a trial without logs gives its best epoch (execution 0), as trial.json keeps it."""
    rows: list[dict[str, Any]] = []
    for trial in project.trials:
        by_execution = curves.get(trial.trial_id)
        if by_execution:
            rows += [{"trial_id": str(trial.trial_id), "execution": execution, "epoch": step + 1, **_renamed(values)}
                     for execution, curve in by_execution.items() for step, values in curve.epochs.items()]
        elif trial.best_step is not None and trial.metrics.metrics:
            values = _renamed({name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics})
            rows.append({"trial_id": str(trial.trial_id), "execution": 0, "epoch": int(trial.best_step) + 1, **values})
    return rows


def _epochs_table(rows: list[dict[str, Any]], task: str) -> pd.DataFrame:
    frame = epochs_frame(rows, task)
    # Columns KerasTuner never records stay out, so no reader takes an empty column for a measurement.
    empty = [column for column in frame.columns[3:] if frame[column].isna().all()]
    return frame.drop(columns=empty)


def _scalar_columns(trials: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    # A hyperparameter whose values mix types (a Choice of 1 and "auto") is stored as text.
    for column in columns:
        kinds = {type(value) for value in trials[column].dropna()}
        if len(kinds) > 1 and not kinds <= {int, float}:
            trials[column] = trials[column].map(lambda v: None if v is None or v is pd.NA else str(v)).astype("string")
    return trials


def _run_name(project_path: Path, name: str | None) -> str:
    if name is not None:
        if not SWEEP_NAME.match(name):
            raise ProjectError(f"--name {name!r}: must be 1-64 letters, digits, '.', '_' or '-' and start with a "
                               "letter or digit")
        return name
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", project_path.resolve().name).lstrip("._-")[:64]
    return cleaned or "kerastuner"


def _check_apart(run_root: Path, source: Path, what: str) -> None:
    run, read = run_root.resolve(), source.resolve()
    if run == read or read in run.parents or run in read.parents:
        raise ProjectError(f"{run_root}: overlaps {what} ({source}), which is only read; choose another "
                           "--results-dir")


def _spec(project: KerasTunerProject, name: str, log_dir: Path | None, objective: str,
          trials: pd.DataFrame, epochs: pd.DataFrame, measures: ImportedMeasures) -> SweepSpec:
    """The recorded sweep file of the import: KerasTuner's search as fitsweep's tuner section."""
    settings = project.settings
    hyperband = project.algorithm == "hyperband"
    longest = [int(settings.get("max_epochs", 1)) if hyperband else 1, int(epochs["epoch"].max()) if len(epochs) else 1]
    executions = int(trials["execution"].max()) + 1 if len(trials) else 1
    tuner: dict[str, Any] = {
        "algorithm": "random" if project.algorithm == "random or grid" else project.algorithm,
        "max_trials": max(1, trials["trial_id"].nunique()), "objective": objective,
        "executions_per_trial": max(1, min(executions, 100)),
        "seed": project.seed if isinstance(project.seed, int) and 0 <= project.seed < 2**31 else 0,
    }
    if hyperband and isinstance(settings.get("factor"), int) and 2 <= settings["factor"] <= 100:
        tuner["factor"] = settings["factor"]
    raw = {
        "name": name,
        "data": {"source": "kerastuner", "task": measures.task or "unknown", "project": str(project.path.resolve()),
                 "tensorboard": None if log_dir is None else str(log_dir.resolve())},
        "train": {"epochs": max(longest)},
        "tuner": tuner,
        "report": {"tensorboard": False},  # the run folder holds no event files of its own
    }
    return parse_spec(raw, f"{project.path} (imported)", recorded=True)


def _run_info(project: KerasTunerProject, log_dir: Path | None, spec: SweepSpec, objective: str | None,
              direction: str, curves: dict[str, dict[int, ExecutionCurve]], skipped: list[str],
              measures: ImportedMeasures) -> dict[str, Any]:
    times = [t for by_execution in curves.values() for c in by_execution.values() for t in (c.started, c.ended)
             if t is not None]
    running = any(trial_status(trial) == "running" for trial in project.trials)
    not_recorded = [*NOT_RECORDED, *([] if len(curves) == len(project.trials) else [NO_CURVES])]
    return {
        "name": spec.name,
        "status": "interrupted" if running else "completed",
        "started": _iso(min(times)) if times else None,
        "finished": _iso(max(times)) if times else None,
        "seed": project.seed,
        "algorithm": spec.tuner.algorithm,
        "objective": spec.tuner.objective,
        "chance_loss": None,
        # The task as the metric names tell it; no data, so no linear reference to fit.
        **({"data": {"task": measures.task}} if measures.task else {}),
        **({"linear_reference": None} if measures.task == "regression" else {}),
        "versions": {name: _version(name) for name in ("fitsweep", "keras-tuner", "tensorboard")},
        "imported": {
            "from": "kerastuner",
            "project": str(project.path.resolve()),
            "tensorboard": None if log_dir is None else str(log_dir.resolve()),
            "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            # KerasTuner's files do not say which version wrote them; this one read them.
            "read_with_kerastuner": _version("keras-tuner"),
            "algorithm": project.algorithm,
            "settings": project.settings,
            "objective": objective,
            "objective_direction": direction,
            "task": measures.task,
            "task_from": measures.evidence or None,
            "loss": measures.loss,
            "space": _space_text(project.space),
            "trials_with_curves": len(curves),
            "skipped_event_files": skipped,
            "trials": len(project.trials),
            "not_recorded": not_recorded,
        },
    }


def _space_text(space: list[dict[str, Any]]) -> list[str]:
    """Each declared hyperparameter in one phrase: "units: Int from 32 to 512, step 32"."""
    phrases = []
    for entry in space:
        config, kind = entry.get("config", {}), entry.get("class_name", "?")
        if "values" in config:
            shown = f"{kind} of {', '.join(str(v) for v in config['values'])}"
        elif "min_value" in config:
            step = f", step {config['step']}" if config.get("step") else ""
            sampling = f", {config['sampling']}" if config.get("sampling") not in (None, "linear") else ""
            shown = f"{kind} from {config['min_value']} to {config.get('max_value')}{step}{sampling}"
        elif "value" in config:
            shown = f"{kind} {config['value']}"
        else:
            shown = kind
        phrases.append(f"{config.get('name', '?')}: {shown}")
    return phrases


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


_SWEEP_HEADER = ("# Imported from KerasTuner with `fitsweep import`. The model section is fitsweep's default and\n"
                 "# describes nothing KerasTuner built (it keeps no description of the model): run.json's\n"
                 "# `imported` holds the search space.\n")


def _write(paths: RunPaths, search: ImportedSearch) -> None:
    text = _SWEEP_HEADER + search.spec.to_yaml()
    write_atomic(paths.spec, lambda p: p.write_text(text, encoding="utf-8"))
    write_tables(paths, search.trials, search.epochs)
    write_run_info(paths, search.info)
