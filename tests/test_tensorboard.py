"""TensorBoard event files, read back with TensorBoard's own reader and HParams metadata parser."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata

from conftest import tiny_sweep, write_sweep
from fitsweep import SpecError, cli, load, parse_spec, run_sweep
from fitsweep.cli import app
from fitsweep.results import RunPaths
from fitsweep.search.engine import NullObserver
from fitsweep.search.runner import resume_sweep
from fitsweep.space import hyperparameter_names
from fitsweep.tensorboard import EPOCH_SCALARS, FIT_CODES, TensorBoardLog
from helpers import EVERY_STAGE, hparam_value, read_events, run_killed_at, scalar_series, session_start

SESSION_COLUMNS = {
    "classification": ["test_accuracy", "test_crossentropy", "val_accuracy", "val_crossentropy", "train_accuracy",
                       "train_crossentropy", "best_epoch", "epochs_run", "params"],
    "regression": ["test_mse", "test_r2", "test_mae", "val_mse", "val_r2", "val_mae", "train_mse", "train_r2",
                   "train_mae", "best_epoch", "epochs_run", "params"],
}
# Each task's generalization gap in a session: (tag, minuend, subtrahend) columns.
GAPS = {"classification": ("accuracy_gap", "train_accuracy", "val_accuracy"),
        "regression": ("mse_gap", "val_mse", "train_mse")}


def _last(accumulator: EventAccumulator, tag: str) -> float:
    return scalar_series(accumulator, tag)[-1][1]


def _f32(value: Any) -> float:
    return float(np.float32(value))


def assert_tensorboard_matches_tables(run: Any) -> None:
    """Every execution's session, curves and verdict in TensorBoard equal the run's tables."""
    paths, task = RunPaths(run.path), run.spec.recorded_task
    names = hyperparameter_names(run.spec)
    experiment = hparams_metadata.parse_experiment_plugin_data(
        read_events(paths.tensorboard_dir).SummaryMetadata(hparams_metadata.EXPERIMENT_TAG).plugin_data.content)
    assert sorted(info.name for info in experiment.hparam_infos) == sorted(names)
    assert {(m.name.group, m.name.tag) for m in experiment.metric_infos} >= {("", SESSION_COLUMNS[task][0]),
                                                                             ("verdict", "fit")}
    sessions = sorted(path.relative_to(paths.tensorboard_dir).as_posix()
                      for path in paths.tensorboard_dir.glob("trial_*/execution_*"))
    keys = zip(run.trials["trial_id"], run.trials["execution"], strict=True)
    assert sessions == sorted(f"trial_{trial}/execution_{execution}" for trial, execution in keys)
    for row in run.trials.itertuples(index=False):
        session = paths.tensorboard_trial(row.trial_id) / f"execution_{row.execution}"
        accumulator = read_events(session)
        start = session_start(accumulator)
        assert start.group_name == row.trial_id  # a trial's repeats form one session group
        recorded = {name: hparam_value(value) for name, value in start.hparams.items()}
        assert recorded == {name: getattr(row, name) if isinstance(getattr(row, name), str)
                            else float(getattr(row, name)) for name in names}
        for column in SESSION_COLUMNS[task]:
            assert _last(accumulator, column) == _f32(getattr(row, column)), column
        gap, minuend, subtrahend = GAPS[task]
        assert _last(accumulator, gap) == pytest.approx(getattr(row, minuend) - getattr(row, subtrahend), rel=1e-6)
        end = hparams_metadata.parse_session_end_info_plugin_data(
            accumulator.SummaryMetadata(hparams_metadata.SESSION_END_INFO_TAG).plugin_data.content)
        assert end.status == (api_pb2.STATUS_SUCCESS if row.status == "completed" else api_pb2.STATUS_FAILURE)
        assert _last(read_events(session / "verdict"), "fit") == FIT_CODES[row.fit]
        epochs = run.epochs[(run.epochs["trial_id"] == row.trial_id) & (run.epochs["execution"] == row.execution)]
        for split, tags in EPOCH_SCALARS[task].items():
            curves = read_events(session / split)
            for tag, column in tags.items():
                expected = zip(epochs["epoch"], epochs[column], strict=True)
                assert scalar_series(curves, tag) == [(int(epoch), _f32(value)) for epoch, value in expected]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Three fused trials of two executions, with penalties (loss differs from crossentropy)."""
    spec = parse_spec(tiny_sweep(tuner={"executions_per_trial": 2}))
    return run_sweep(spec, results_dir=tmp_path_factory.mktemp("results"))


def test_every_execution_is_a_session_whose_values_are_the_tables(tiny_run: Any) -> None:
    assert set(tiny_run.trials["fit"]) <= set(FIT_CODES)
    assert_tensorboard_matches_tables(tiny_run)
    assert not RunPaths(tiny_run.path).tensorboard_staging.exists()


def test_the_experiment_declares_each_hyperparameters_domain(tiny_run: Any) -> None:
    paths = RunPaths(tiny_run.path)
    experiment = hparams_metadata.parse_experiment_plugin_data(
        read_events(paths.tensorboard_dir).SummaryMetadata(hparams_metadata.EXPERIMENT_TAG).plugin_data.content)
    infos = {info.name: info for info in experiment.hparam_infos}
    # tiny_sweep: depth {min: 1, max: 2}, width {values: [4, 8]}, l2 log range, activation constant.
    assert (infos["depth"].domain_interval.min_value, infos["depth"].domain_interval.max_value) == (1, 2)
    assert [v.number_value for v in infos["width"].domain_discrete.values] == [4, 8]
    assert infos["l2"].domain_interval.max_value == pytest.approx(1e-2)
    assert [v.string_value for v in infos["activation"].domain_discrete.values] == ["relu"]


def test_a_changed_verdict_replaces_the_old_one(tiny_run: Any, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(tiny_run.path, folder)
    paths = RunPaths(folder)
    writer = TensorBoardLog(paths, tiny_run.spec, oracle=None)
    trials = tiny_run.trials.copy()
    first = trials.iloc[0]
    flipped = "overfit" if first["fit"] != "overfit" else "good"
    trials.loc[0, "fit"] = flipped
    writer.write_verdicts(trials)
    verdict = paths.tensorboard_trial(first["trial_id"]) / f"execution_{first['execution']}" / "verdict"
    assert len(list(verdict.iterdir())) == 1
    assert scalar_series(read_events(verdict), "fit") == [(0, FIT_CODES[flipped])]


def test_switched_off_a_run_writes_no_tensorboard_folder(tmp_path: Path) -> None:
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1}, report={"tensorboard": False}))
    run = run_sweep(spec, results_dir=tmp_path)
    assert not RunPaths(run.path).tensorboard_dir.exists()
    assert len(run.trials) == 1


def test_no_tensorboard_flag_overrides_the_sweep_file(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1}))
    result = CliRunner().invoke(app, ["run", str(sweep), "--results-dir", str(tmp_path / "r"), "--quiet",
                                      "--no-tensorboard"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "r" / "tiny" / "tensorboard").exists()
    assert (tmp_path / "r" / "tiny" / "trials.parquet").exists()


@pytest.mark.parametrize(("report", "message"), [
    ({"tensorboard": "yes"}, "report.tensorboard: Input should be a valid boolean"),
    ({"tensorbord": False}, "report.tensorbord: unknown key; did you mean 'tensorboard'?"),
])
def test_a_bad_switch_is_one_line_naming_the_key(report: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("?", r"\?")):
        parse_spec(tiny_sweep(report=report))


def test_a_bad_switch_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(report={"tensorboard": "no"}))
    monkeypatch.setattr(sys, "argv", ["fitsweep", "run", str(sweep), "--results-dir", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exited.value.code == 2
    assert len(lines) == 1 and "report.tensorboard" in lines[0] and "boolean" in lines[0], lines
    assert not (tmp_path / "r").exists()


class _StopAt(NullObserver):
    """Interrupts the run (as Ctrl-C) at one epoch of one trial."""

    def __init__(self, trial_id: str, epoch: int) -> None:
        self.trial_id, self.epoch = trial_id, epoch

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Any) -> None:
        if (trial_id, epoch) == (self.trial_id, self.epoch):
            raise KeyboardInterrupt


def test_a_resumed_run_writes_every_step_once(tmp_path: Path) -> None:
    sweep = tiny_sweep(tuner={"max_trials": 3, "executions_per_trial": 2}, train={"epochs": 3, "fused_trials": 1})
    with pytest.raises(KeyboardInterrupt):
        run_sweep(parse_spec(sweep), results_dir=tmp_path, observer=_StopAt("1", 2))
    paths = RunPaths(tmp_path / "tiny")
    assert paths.tensorboard_trial("0").is_dir() and not paths.tensorboard_trial("1").exists()
    # As if killed just after trial 0 ended (its record saved, its folder not yet written), and
    # while a write for the trial that will run again had begun.
    shutil.rmtree(paths.tensorboard_trial("0"))
    (paths.tensorboard_trial("1") / "execution_0" / "train").mkdir(parents=True)
    resumed = resume_sweep(paths.root)
    assert resumed.info["status"] == "completed" and len(resumed.trials) == 3 * 2
    assert_tensorboard_matches_tables(resumed)
    for split in ("train", "validation"):
        for folder in paths.tensorboard_dir.glob(f"trial_*/execution_*/{split}"):
            assert len(list(folder.iterdir())) == 1, folder
    assert len(list(paths.tensorboard_dir.glob("events.out.tfevents.*"))) == 1  # the experiment, once


@pytest.mark.slow
def test_with_workers_the_chief_writes_every_session(tmp_path: Path) -> None:
    from fitsweep.search.parallel import run_parallel

    spec = parse_spec(tiny_sweep(tuner={"max_trials": 2, "executions_per_trial": 2}, train={"epochs": 2}))
    run = run_parallel(spec, workers=1, results_dir=tmp_path)
    assert_tensorboard_matches_tables(run)


@pytest.mark.slow
def test_a_regression_through_two_workers_writes_its_mse_mae_and_r2(tmp_path: Path) -> None:
    from fitsweep.search.parallel import run_parallel

    sweep = {"name": "diabetes", "data": {"source": "diabetes", "standardize_target": True},
             "model": {"layers": {"values": [[], [16]]}}, "train": {"epochs": 3, "batch_size": 32},
             "tuner": {"algorithm": "grid", "executions_per_trial": 2}}
    run = run_parallel(parse_spec(sweep), workers=2, results_dir=tmp_path)
    assert run.spec.recorded_task == "regression" and set(run.trials["fit"]) <= {"good", "underfit", "overfit"}
    assert_tensorboard_matches_tables(run)
    experiment = hparams_metadata.parse_experiment_plugin_data(read_events(RunPaths(run.path).tensorboard_dir)
                                                               .SummaryMetadata(hparams_metadata.EXPERIMENT_TAG)
                                                               .plugin_data.content)
    assert not {m.name.tag for m in experiment.metric_infos} & {"test_accuracy", "val_crossentropy", "accuracy_gap"}


def test_verdicts_are_written_only_when_they_change(tiny_run: Any, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(tiny_run.path, folder)
    paths = RunPaths(folder)
    writer = TensorBoardLog(paths, tiny_run.spec, oracle=None)
    writer.write_verdicts(tiny_run.trials)
    before = {path: path.stat().st_mtime_ns for path in paths.tensorboard_dir.glob("trial_*/execution_*/verdict/*")}
    writer.write_verdicts(tiny_run.trials)
    after = {path: path.stat().st_mtime_ns for path in paths.tensorboard_dir.glob("trial_*/execution_*/verdict/*")}
    assert before == after and len(before) == len(tiny_run.trials)


def test_layer_lists_and_regularizer_combinations_are_discrete_domains() -> None:
    from fitsweep.tensorboard import experiment_summary

    sweep = {**tiny_sweep(), "model": {"layers": {"values": [[8], [16, 8], []]},
                                       "regularizers": {"values": [{}, {"l2": 1.0e-3}, {"dropout": 0.2}]}}}
    spec = parse_spec(sweep)
    summary = experiment_summary(spec)
    experiment = hparams_metadata.parse_experiment_plugin_data(summary.value[0].metadata.plugin_data.content)
    infos = {info.name: [hparam_value(value) for value in info.domain_discrete.values]
             for info in experiment.hparam_infos}
    assert infos["layers"] == sorted(["8", "16-8", "none"])
    assert infos["regularizers"] == sorted(["none", "l2=0.001", "dropout=0.2"])
    assert (infos["dropout"], infos["l1"], infos["l2"]) == ([0.0, 0.2], [0.0], [0.0, 0.001])
    assert sorted(infos) == sorted(hyperparameter_names(spec))


def test_a_run_recorded_without_tensorboard_files_stays_without_on_resume(tmp_path: Path) -> None:
    run = run_sweep(parse_spec(tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1})), results_dir=tmp_path)
    paths = RunPaths(run.path)
    shutil.rmtree(paths.tensorboard_dir)  # as a run recorded before fitsweep wrote TensorBoard files
    resume_sweep(paths.root)
    assert not paths.tensorboard_dir.exists()


@pytest.mark.slow
def test_after_kills_at_each_stage_every_step_is_written_once(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 6, "executions_per_trial": 2},
                                             train={"epochs": 4, "fused_trials": 2}))
    results, run_dir = tmp_path / "results", tmp_path / "results" / "tiny"
    # Mid-epochs, as a group's sessions are written, and as the next group starts.
    run_killed_at([EVERY_STAGE[1], EVERY_STAGE[2], EVERY_STAGE[6], EVERY_STAGE[8]], sweep, results)
    run = load(run_dir)
    assert run.info["status"] == "completed" and len(run.trials) == 6 * 2
    assert_tensorboard_matches_tables(run)
    for folder in run_dir.glob("tensorboard/trial_*/execution_*"):
        for part in (folder, folder / "train", folder / "validation", folder / "verdict"):
            assert len(list(part.glob("events.out.tfevents.*"))) == 1, part
