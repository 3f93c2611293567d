"""Running a sweep from start to end: data, results folder, KerasTuner search, tables, status."""

from __future__ import annotations

import logging
import platform
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from fitsweep.analysis import chance_level_loss
from fitsweep.data import Splits, linear_reference, prepare_data
from fitsweep.errors import ResultsError, RunFailedError
from fitsweep.families import family_for
from fitsweep.families.user_build import located_build
from fitsweep.kerastuner import FINISHED
from fitsweep.predictions import store_predictions
from fitsweep.results import (
    RunPaths,
    SweepRun,
    check_recorded_sweep,
    keep_best_model,
    load,
    prepare_run_dir,
    read_run_info,
    run_lock,
    sweep_fingerprint,
    write_run_info,
    write_spec,
    write_tables,
)
from fitsweep.results.records import execution_epochs
from fitsweep.results.tables import epoch_rows, epochs_frame, trial_error, trial_rows, trial_status, trials_frame
from fitsweep.search.engine import (
    MODEL_FILE,
    NullObserver,
    SweepObserver,
    SweepTuner,
    build_oracle,
    oracle_snapshot,
    recover_interrupted_trials,
    slot_owner,
)
from fitsweep.search.progress import shown_progress
from fitsweep.space import hyperparameter_names
from fitsweep.spec import SweepSpec, load_spec
from fitsweep.tensorboard import TensorBoardLog
from fitsweep.verdicts import VERDICT_COLUMNS, run_verdicts

__all__ = ["run_sweep", "resume_sweep", "run_dir_for", "with_verdicts"]

log = logging.getLogger(__name__)

_VERSIONED = ("fitsweep", "tensorflow", "keras", "keras-tuner", "numpy", "pandas", "scikit-learn")
# While trials end, the tables (with their verdicts, which weigh every trial against the others)
# and then the report are rewritten at most every REFRESH_SECONDS, and the next rewrite waits
# REFRESH_SPACING times the last one's duration (tables and report), so that together they take
# at most a tenth of the run however many trials it has. The end of a run (completed, failed or
# interrupted) and the start of a resumed one always rewrite the tables.
REFRESH_SECONDS = 5.0
REFRESH_SPACING = 9.0


def run_dir_for(spec: SweepSpec, results_dir: str | Path = "runs") -> Path:
    """The folder a sweep's results go to: `<results_dir>/<name>`."""
    return Path(results_dir) / spec.name


def run_sweep(
    spec: SweepSpec,
    *,
    results_dir: str | Path = "runs",
    data_dir: str | Path = ".",
    overwrite: bool = False,
    observer: SweepObserver | None = None,
    progress: bool | None = None,
    report: bool = False,
    search: Callable[[SweepTuner], None] | None = None,
    build: Callable[[Any], Any] | None = None,
) -> SweepRun:
    """Run a sweep with KerasTuner and write its results folder.

    Args:
        spec: The validated sweep.
        results_dir: Parent folder; the run goes to `<results_dir>/<spec.name>` (`runs/<name>` by default;
            the committed studies live in `results/`).
        data_dir: Folder that relative data paths resolve against (the sweep file's folder).
        overwrite: Replace an earlier run in the same folder.
        observer: Told as the run goes: `trial_started(trial_id, values, epochs, executions)`,
            `epoch_ended(trial_id, execution, epoch, logs)` with the epoch's metrics,
            `trial_ended(trial_id, status, score)` with KerasTuner's status and the objective's
            value, and, if it has one, `data_prepared(summary)` with a line on the data
            (`fitsweep.search.engine.SweepObserver`).
        progress: Show live progress: trials, epochs, best score so far, time left. By default
            (None) shown in a Jupyter notebook when no observer is given and not in a script; True
            shows it anywhere (rich bars in a terminal, a line per trial in a log), False never.
        report: Keep report.html and report.md current as trials end (at a bounded cost, with the tables).
        search: Runs the trials; by default `SweepTuner.search`, in this process (`fitsweep.search.parallel`
            passes one that serves them to worker processes).
        build: A KerasTuner `build(hp)` function whose compiled models the sweep trains, in place
            of the spec's model section (`fitsweep.families.user_build`). It is recorded as
            `python:NAME`: this process can resume the run, another process (`fitsweep resume`,
            workers) cannot load it and refuses with one line; for those, name it in the sweep
            file as `model: {build: FILE.py:NAME}`.

    Returns:
        The finished run as tables.

    Raises:
        FitsweepError: Bad data or an occupied results folder (nothing is written).
        RunFailedError: No trial completed; carries the first trial's error.

    Example:
        >>> from fitsweep.spec import load_spec
        >>> run = run_sweep(load_spec("sweeps/moons.yaml"), results_dir="/tmp/r")  # doctest: +SKIP
        >>> run.trials[["trial_id", "val_loss", "test_accuracy"]]  # doctest: +SKIP
        >>> def build(hp):  # a KerasTuner build function, as it is  # doctest: +SKIP
        ...     ...
        >>> run = run_sweep(parse_spec({"name": "mine", "data": {"source": "moons"}}), build=build)  # doctest: +SKIP
        >>> run.trials[["trial_id", "units", "val_crossentropy"]]  # its own names  # doctest: +SKIP
    """
    spec = located_build(spec, data_dir, build)
    splits = prepare_data(spec.data, data_dir)
    spec = spec.for_task(splits.task.kind)
    family_for(spec).check_data(splits)
    paths = prepare_run_dir(run_dir_for(spec, results_dir), overwrite)
    with run_lock(paths), shown_progress(spec.tuner, progress, observer) as observer:
        _announce_data(observer, splits, spec)  # once the folder is taken: a refusal is the only line said
        info = _run_info(spec, splits, Path(data_dir))
        write_run_info(paths, info)
        write_spec(paths, spec)  # last: a folder with sweep.yaml and run.json can be resumed
        _search(paths, spec, splits, info, observer, resuming=False, report=report, search=search)
    return load(paths.root)


def resume_sweep(run_dir: str | Path, *, observer: SweepObserver | None = None, progress: bool | None = None,
                 report: bool = False) -> SweepRun:
    """Continue an interrupted or killed run until it has `max_trials` trials.

    Every completed trial is kept once; a trial the interruption cut short is run again from
    its first epoch. Resuming a finished run rewrites its tables and changes nothing else.
    `observer`, `progress` and `report` are `run_sweep`'s.

    Example:
        >>> run = resume_sweep("results/moons")  # doctest: +SKIP
    """
    paths = RunPaths(Path(run_dir))
    info = read_run_info(paths)
    if not paths.spec.exists() or not info:
        raise ResultsError(f"{paths.root}: not a fitsweep run (no sweep.yaml and run.json); nothing to resume")
    spec = load_spec(paths.spec, recorded=True)
    check_recorded_sweep(paths, spec, info)
    splits = prepare_data(spec.data, info.get("data_dir", "."))
    _check_same_table(paths, info, splits)
    family_for(spec).check_data(splits)
    with run_lock(paths), shown_progress(spec.tuner, progress, observer) as observer:
        _announce_data(observer, splits, spec)
        info.update(status="running", resumed=_now())
        write_run_info(paths, info)
        _search(paths, spec, splits, info, observer, resuming=True, report=report)
    return load(paths.root)


def _search(
    paths: RunPaths, spec: SweepSpec, splits: Splits, info: dict[str, Any], observer: SweepObserver | None,
    resuming: bool, report: bool = False, search: Callable[[SweepTuner], None] | None = None,
) -> None:
    """The KerasTuner search itself, ending with tables, the best model and run.json's status."""
    try:
        oracle = build_oracle(spec)
        # What a model that learned nothing scores: the class priors' cross-entropy, or the squared error
        # of predicting the training mean.
        info["chance_loss"] = (splits.target_variance if splits.task.regression
                               else chance_level_loss(splits.class_priors, binary=splits.n_classes == 2))
        # What a linear model reaches: the verdicts' yardstick where the sweep itself reaches little.
        info["linear_reference"] = linear_reference(splits)
        tensorboard = TensorBoardLog(paths, spec, oracle) if spec.report.tensorboard else None
        refresher = _TableRefresher(paths, spec, oracle, info, observer,
                                    report=_live_report(paths, splits, report), tensorboard=tensorboard)
        tuner = SweepTuner(  # reloads KerasTuner's state from the folder when there is one
            spec, splits, oracle, observer=refresher,
            directory=str(paths.root), project_name=paths.tuner_dir.name, overwrite=False,
        )
        if resuming:
            recover_interrupted_trials(oracle)
        if refresher.tensorboard is not None:  # after the recovery, which decides the trials that run again
            refresher.tensorboard.start()
        if resuming:
            refresher.refresh()  # a killed run's tables end at its last rewrite: bring them up to its last trial
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before any trial ran: the tables are as they were
        info.update(status="interrupted", finished=_now())
        write_run_info(paths, info)
        raise
    status = "failed"
    try:
        (search or SweepTuner.search)(tuner)
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except RuntimeError as error:  # KerasTuner stops after too many consecutive failed trials
        info["stop_reason"] = str(error).splitlines()[0]
    finally:
        try:
            _finish(paths, refresher.tables, oracle, info, status)
        finally:
            if status != "interrupted":  # Ctrl-C should not wait for them; a report predicts them when asked
                _store_predictions(paths, spec, splits)
            if refresher.tensorboard is not None:  # the verdicts of the final tables
                refresher.tensorboard.write_verdicts(refresher.tables.trials_table)
                refresher.tensorboard.close()
            if refresher.report is not None and status != "interrupted":  # Ctrl-C should not wait for a report
                refresher.report.refresh(force=True)


class _Tables:
    """A run's two tables, rebuilt from the oracle with each finished trial's rows made once.

    A finished trial's record no longer changes, so its rows are kept from one rewrite to the
    next; only running trials are read again. The best model is copied only when the best trial
    changes, and each trial's own model file is deleted once, after the trial has ended.
    """

    def __init__(self, spec: SweepSpec) -> None:
        self.hyperparameters = hyperparameter_names(spec)
        self.task = spec.recorded_task
        self._rows: dict[str, tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]] = {}
        self._best: str | None = None
        self._cleared: set[str] = set()
        self.trials_table: pd.DataFrame | None = None  # as last written

    def save(self, paths: RunPaths, oracle: Any, info: Mapping[str, Any], final: bool = False
             ) -> tuple[list[Any], Any]:
        """Write both tables (trials with their fit verdicts) and keep only the best trial's model.

        Returns the trials (copies no one changes) and the best ones, as KerasTuner ranks them.
        """
        oracle = oracle_snapshot(oracle)  # workers may be reporting to the oracle meanwhile (fitsweep.search.parallel)
        trials = list(oracle.trials.values())
        best = oracle.get_best_trials(1)
        names = self._names(oracle)
        trial_table, epoch_table = [], []
        for trial in trials:
            kept = self._rows.get(trial.trial_id)
            if kept is None or kept[0] is not trial:  # finished trials' copies are reused by oracle_snapshot
                tuner_id = oracle.trial_tuner_ids.get(trial.trial_id)
                worker = slot_owner(tuner_id) if tuner_id is not None else None
                record = execution_epochs(trial.metrics.metrics)  # read once for both tables
                kept = (trial, trial_rows(trial, names, worker, record), epoch_rows(trial, record))
                if trial.status in FINISHED:
                    self._rows[trial.trial_id] = kept
            trial_table += kept[1]
            epoch_table += kept[2]
        epochs = epochs_frame(epoch_table, self.task)
        self.trials_table = with_verdicts(trials_frame(trial_table, names, self.task), epochs, info)
        write_tables(paths, self.trials_table, epochs)
        self._keep_best_model(paths, trials, best[0].trial_id if best else None, final)
        return trials, best

    def _names(self, oracle: Any) -> list[str]:
        """The sweep's hyperparameter columns, then those its trials declared as they were built.

        A build function that declares `units_1` only when `num_layers` is 2 adds it to the
        oracle's space once such a trial ends (as in KerasTuner); earlier trials have no value.
        """
        declared = [hp.name for hp in oracle.hyperparameters.space if not hp.name.startswith("tuner/")]
        return self.hyperparameters + [name for name in declared if name not in self.hyperparameters]

    def _keep_best_model(self, paths: RunPaths, trials: list[Any], best: str | None, final: bool) -> None:
        if final:  # every trial folder: models a killed run or a worker left behind go too
            keep_best_model(paths, best, MODEL_FILE)
        else:  # the trials that ended since the last rewrite, and the best one while it is the best
            ended = [t.trial_id for t in trials if t.trial_id not in self._cleared and t.status in FINISHED]
            copy = best != self._best or not paths.best_model.exists()
            keep_best_model(paths, best, MODEL_FILE, trial_ids=ended, copy=copy)
            self._cleared.update(trial_id for trial_id in ended if trial_id != best)
        self._best = best


def with_verdicts(trials: pd.DataFrame, epochs: pd.DataFrame, info: Mapping[str, Any]) -> pd.DataFrame:
    """The trials table with each execution's `fit` verdict and `fit_reason` as its last columns.

    `info` is the run's run.json as far as it is known: its chance level and data section.
    """
    keys = ["trial_id", "execution"]
    verdicts = pd.DataFrame(columns=[*keys, *VERDICT_COLUMNS])
    if not epochs.empty:
        verdicts = run_verdicts(epochs, trials, info)[[*keys, *VERDICT_COLUMNS]]
        verdicts = verdicts.astype({"fit": "string", "fit_reason": "string"})
    merged = trials.merge(verdicts, on=["trial_id", "execution"], how="left")
    typed: pd.DataFrame = merged.astype({"fit": "string", "fit_reason": "string"})
    return typed


def _finish(paths: RunPaths, tables: _Tables, oracle: Any, info: dict[str, Any], status: str) -> None:
    trials, best = tables.save(paths, oracle, info, final=True)
    completed = [t for t in trials if trial_status(t) == "completed"]
    if not completed and status == "completed":
        status = "failed"
    states = [trial_status(t) for t in trials]
    info.update(
        status=status,
        finished=_now(),
        trials={state: states.count(state) for state in sorted(set(states))},
        best_trial=best[0].trial_id if best else None,
        best_score=best[0].score if best else None,
    )
    write_run_info(paths, info)
    if status != "interrupted" and not completed:
        first_error = next((trial_error(t) for t in trials if trial_error(t)), info.get("stop_reason", "no trial ran"))
        raise RunFailedError(f"{paths.root}: no trial completed; the first trial failed with: {first_error}")


class _TableRefresher:
    """Passes progress on, and rewrites the tables and the report as trials end, at a bounded cost.

    A rewrite reads every trial (the verdicts weigh each against the others, the report draws
    them all), so it happens at most every REFRESH_SECONDS and takes at most a tenth of the
    time (see REFRESH_SPACING), once the last of the trials that started together (a fused
    group) has ended, or as the next trial starts. A reader of the folder sees each table
    written whole, behind the run by the spacing at most; the run's end rewrites them with
    every trial. When the last trials the oracle gives have ended, the run's end is next and
    rewrites the tables and the report at once: they are not written twice in a row.
    """

    def __init__(
        self, paths: RunPaths, spec: SweepSpec, oracle: Any, info: Mapping[str, Any], observer: SweepObserver | None,
        report: Any = None, tensorboard: TensorBoardLog | None = None,
    ) -> None:
        self.paths, self.spec, self.oracle, self.report = paths, spec, oracle, report
        self.tensorboard = tensorboard  # writes each trial's event files as it ends, verdicts with the tables
        self.inner: SweepObserver = observer or NullObserver()
        self.info = info  # run.json as the verdicts read it: its chance level and data section
        self.tables = _Tables(spec)
        self.running: dict[str, int] = {}  # running trial -> its cohort: the trials that started together
        self._cohort, self._cohort_open = 0, False
        self.pending = False  # a trial ended since the last rewrite
        self._due = 0.0  # monotonic time before which no rewrite starts

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None:
        if not self._cohort_open:
            self._cohort, self._cohort_open = self._cohort + 1, True
        self.running[trial_id] = self._cohort
        if self.pending:
            self._refresh_when_due()
        self.inner.trial_started(trial_id, values, epochs, executions)

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Mapping[str, float]) -> None:
        self.inner.epoch_ended(trial_id, execution, epoch, logs)

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        if self.tensorboard is not None:  # before a refresh, which writes its verdicts
            self.tensorboard.trial_ended(trial_id)
        cohort = self.running.pop(trial_id, None)
        self._cohort_open, self.pending = False, True
        # The last of the trials that started with it (a fused group), and not the search's last: its end writes.
        if cohort not in self.running.values() and not self._search_over():
            self._refresh_when_due()
        self.inner.trial_ended(trial_id, status, score)

    def _search_over(self) -> bool:
        """No trial runs and the oracle has given all `max_trials`: it stops, as KerasTuner's `create_trial` does."""
        max_trials = getattr(self.oracle, "max_trials", None)
        return not self.running and max_trials is not None and len(getattr(self.oracle, "trials", {})) >= max_trials

    def _refresh_when_due(self) -> None:
        if time.monotonic() >= self._due:
            self.refresh()

    def refresh(self) -> None:
        """Rewrite the tables now, then the report; the next rewrite waits as REFRESH_SPACING says."""
        started = time.monotonic()
        self.tables.save(self.paths, self.oracle, self.info)
        if self.tensorboard is not None:
            self.tensorboard.write_verdicts(self.tables.trials_table)
        self.pending = False
        if self.report is not None:
            self.report.refresh()  # never raises: a report failure is one warning line
        finished = time.monotonic()
        self._due = max(started + REFRESH_SECONDS, finished + REFRESH_SPACING * (finished - started))


def _store_predictions(paths: RunPaths, spec: SweepSpec, splits: Splits) -> None:
    """Store the best model's outputs while TensorFlow is loaded, so that a report needs none."""
    try:
        store_predictions(paths.root, spec, splits)
    except Exception as error:  # noqa: BLE001 - the run's results are written; a report predicts them itself
        log.warning("fitsweep: the best model's predictions not stored (%s: %s)", type(error).__name__, error)


def _live_report(paths: RunPaths, splits: Splits, wanted: bool) -> Any:
    if not wanted:
        return None
    from fitsweep.report import LiveReport  # matplotlib and seaborn load only when a report is wanted

    return LiveReport(paths.root, splits)


def _announce_data(observer: SweepObserver | None, splits: Splits, spec: SweepSpec) -> None:
    """Tell a display that shows it (`fitsweep.search.progress`) what data the run trains on, and what it ranks by."""
    shown = getattr(observer, "data_prepared", None)  # optional: other observers need not have it
    if shown is not None:
        shown(splits.summary)
    settled = getattr(observer, "objective_settled", None)
    if settled is not None:
        settled(spec.tuner.objective, spec.tuner.direction)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _run_info(spec: SweepSpec, splits: Splits, data_dir: Path) -> dict[str, Any]:
    return {
        "name": spec.name,
        "status": "running",
        "started": _now(),
        "finished": None,
        "seed": spec.tuner.seed,
        "algorithm": spec.tuner.algorithm,
        "objective": spec.tuner.objective,
        "sweep_sha256": sweep_fingerprint(spec.to_yaml()),  # `resume` recognises the run's own sweep.yaml by it
        "host": platform.node(),
        "data_dir": str(data_dir.resolve()),
        "python": sys.version.split()[0],
        "versions": {name: _version(name) for name in _VERSIONED},
        "data": {
            "source": spec.data.source,
            "train": len(splits.x_train),
            "validation": len(splits.x_val),
            "test": len(splits.x_test),
            "features": splits.n_features,
            "classes": splits.n_classes,
            "task": splits.task.kind,
            "task_reason": splits.task.reason,
            "scaling": splits.scaling.method,
            "scaling_reason": splits.scaling.reason,
            **_table_record(splits),
        },
    }


def _table_record(splits: Splits) -> dict[str, Any]:
    """A CSV table's class names and encoding, as run.json keeps them (nothing for other data)."""
    if splits.table is None:
        return {}
    names = {"class_names": list(splits.class_names)} if splits.class_names else {}
    return {**names, "table": splits.table.record()}


def _check_same_table(paths: RunPaths, info: dict[str, Any], splits: Splits) -> None:
    """Refuse to resume on a table whose encoding, fitted again, is not the one the run trained on."""
    recorded = (info.get("data") or {}).get("table")
    if recorded is not None and splits.table is not None and recorded != splits.table.record():
        raise ResultsError(f"{paths.run_info}: the CSV data changed since the run started (its encoding, fitted "
                           "again on the training split, differs from the recorded one); put the run's data "
                           "back, or start a new run with `fitsweep run`")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
