"""Reading a regression run: `compare` by test MSE (or R², MAE) and the learning curve over training rows.

The run regresses a wave, 3 sin(2a) + b² plus noise: a linear model cannot follow it and a 64-64
network can, so the comparison has a known answer.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import invoke_cli, write_sweep
from fitsweep import load_learning_curve, parse_spec, run_learning_curve, run_sweep
from fitsweep.analysis import (
    AnalysisError,
    DataVerdict,
    compare,
    comparison_findings,
    learning_curve_findings,
    power_law,
    training_size_verdicts,
)
from fitsweep.learning_curve import LearningCurveError, subset_rows, training_order
from fitsweep.report import write_report

PREFIX = "fitsweep: error: "


def _wave_csv(folder: Path, rows: int, noise: float) -> Path:
    generator = np.random.default_rng(0)
    x = generator.uniform(-2, 2, (rows, 2))
    y = 3 * np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + generator.normal(0, noise, rows)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "target": y}).to_csv(folder / "wave.csv", index=False)
    return folder / "wave.csv"


def _wave_sweep(csv: Path, name: str, **sections: Any) -> dict[str, Any]:
    sweep: dict[str, Any] = {"name": name, "data": {"source": "csv", "path": str(csv), "task": "regression"},
                             "train": {"epochs": 40, "batch_size": 32, "learning_rate": 0.01},
                             "tuner": {"algorithm": "grid", "seed": 0}}
    for section, values in sections.items():
        sweep[section] = {**sweep.get(section, {}), **values}
    return sweep


@pytest.fixture(scope="module")
def wave_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A linear model and a 64-64 network, each with and without dropout, 3 executions each."""
    folder = tmp_path_factory.mktemp("wave")
    sweep = _wave_sweep(_wave_csv(folder, 1000, noise=0.5), "wave",
                        model={"layers": {"values": [[], [64, 64]]}, "dropout": {"values": [0.0, 0.1]}},
                        tuner={"max_trials": 4, "executions_per_trial": 3})
    return run_sweep(parse_spec(sweep), results_dir=folder / "runs")


# --- compare -------------------------------------------------------------------------------------


def test_compare_ranks_a_regression_by_test_mse_lowest_first(wave_run: Any) -> None:
    table = compare(wave_run.trials)
    assert table.attrs["metric"] == "mse"
    assert table["test_mse_mean"].is_monotonic_increasing
    assert table["group"].iloc[0].startswith("layers=64-64") and bool(table["baseline"].iloc[0])
    linear = table[table["group"].str.startswith("layers=none")]
    assert len(linear) == 2 and linear["significant"].all() and (linear["difference"] > 0).all()
    assert linear["note"].str.startswith("clearly worse than the best").all()
    # Each figure is the groups' own: means of the executions' test MSE, intervals around them.
    by_layers = wave_run.trials.groupby(["layers", "dropout"])["test_mse"].mean().sort_values()
    assert table["test_mse_mean"].tolist() == pytest.approx(by_layers.tolist())
    assert (table["test_mse_ci_low"] <= table["test_mse_mean"]).all()
    assert (table["test_mse_mean"] <= table["test_mse_ci_high"]).all() and (table["test_mse_ci_low"] >= 0).all()
    tested = table[~table["baseline"]]
    assert (tested["p_holm"] >= tested["p_value"] - 1e-15).all()
    assert table["test_r2_mean"].iloc[0] > 0.8 > table["test_r2_mean"].iloc[-1]
    assert {"test_mae_mean", "test_r2_ci_low", "val_mse_mean"} <= set(table.columns)
    gaps = wave_run.trials["val_mse"] - wave_run.trials["train_mse"]  # how far training beats validation
    assert table["mse_gap_mean"].sum() == pytest.approx(gaps.groupby(
        [wave_run.trials["layers"], wave_run.trials["dropout"]]).mean().sum())


@pytest.mark.parametrize(("metric", "higher_is_better"), [("r2", True), ("mae", False)])
def test_r2_and_mae_rank_by_their_own_direction(wave_run: Any, metric: str, higher_is_better: bool) -> None:
    table = compare(wave_run.trials, metric=metric)
    means = table[f"test_{metric}_mean"]
    assert means.is_monotonic_decreasing if higher_is_better else means.is_monotonic_increasing
    assert table["group"].iloc[0] == compare(wave_run.trials)["group"].iloc[0]  # the same best network
    worse = table[table["significant"]]
    assert len(worse) >= 2 and ((worse["difference"] < 0) if higher_is_better else (worse["difference"] > 0)).all()
    assert worse["note"].str.startswith("clearly worse").all()


def test_findings_say_lowest_mean_test_mse(wave_run: Any) -> None:
    findings = comparison_findings(compare(wave_run.trials))
    assert findings[0].startswith("Lowest mean test MSE: layers=64-64")
    assert "Holm" in findings[1] and "layers=none" in findings[1]
    assert comparison_findings(compare(wave_run.trials, metric="r2"))[0].startswith("Highest mean test R²")


def test_a_metric_of_the_other_task_is_refused_naming_the_allowed(wave_run: Any) -> None:
    with pytest.raises(AnalysisError, match=r"metric accuracy: does not measure a regression; allowed: mse, r2, mae"):
        compare(wave_run.trials, metric="accuracy")
    classification = pd.DataFrame({"trial_id": ["0"], "execution": [0], "status": ["completed"], "test_accuracy": [0.9],
                                   "val_accuracy": [0.9], "train_accuracy": [0.95]})
    with pytest.raises(AnalysisError, match=r"does not measure a classification; allowed: accuracy"):
        compare(classification, metric="mse")


def test_the_compare_command_reads_a_regression(wave_run: Any, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    csv = wave_run.path.parent / "by-layers.csv"
    code, output = invoke_cli(["compare", str(wave_run.path), "--metric", "r2", "--by", "layers", "--csv", str(csv)],
                              monkeypatch, capsys)
    assert code == 0, output
    assert "Test R² (higher is better) by layers" in output and "clearly worse than the best" in output
    written = pd.read_csv(csv)
    assert written["layers"].astype(str).tolist() == ["64-64", "none"]
    assert written["test_r2_mean"].is_monotonic_decreasing
    assert {"test_mse_mean", "test_mae_mean", "r2_gap_mean"} <= set(written.columns)
    code, output = invoke_cli(["compare", str(wave_run.path), "--metric", "accuracy"], monkeypatch, capsys)
    assert code == 2 and output.strip() == f"{PREFIX}--metric accuracy: does not measure a regression; allowed: " \
                                           "mse, r2, mae"


def test_the_report_compares_a_regressions_configurations(wave_run: Any) -> None:
    write_report(wave_run.path)
    report = (wave_run.path / "report.md").read_text(encoding="utf-8")
    assert "Lowest mean test MSE: layers=64-64" in report and "difference in mean test MSE" in report
    section = report.split("## Regularizers compared", 1)[1].split("\n## ", 1)[0]
    assert "test MSE (lower is better)" in section and "could not be drawn" not in section
    assert (wave_run.path / "figures" / "regularizers.png").is_file()
    # The rest speaks of a regression too: no accuracy, no stratified splits.
    for title in ("Learning curves", "What the results depend on"):
        assert "accuracy" not in report.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    assert "stratify False" in report


# --- the learning curve --------------------------------------------------------------------------


def test_regression_subsets_are_plain_random_prefixes() -> None:
    y = np.linspace(0.0, 1.0, 40)
    order = training_order(y, 0, seed=3)
    assert sorted(order.tolist()) == list(range(40)) and not np.array_equal(order, training_order(y, 0, seed=4))
    assert subset_rows(y, 0, [0.05, 0.5, 1.0]) == [2, 20, 40]
    with pytest.raises(LearningCurveError, match=r"--sizes 0.01: 0 training row\(s\) cannot measure a regression"):
        subset_rows(y, 0, [0.01])


def test_a_regression_learning_curve_records_mse_and_r2_per_size(wave_run: Any) -> None:
    table = run_learning_curve(wave_run.path, sizes=[0.5, 1.0], repeats=1)
    assert len(table) == 2 and (table["status"] == "completed").all()
    assert table["train_rows"].tolist() == [320, 640]
    assert np.isfinite(table[["train_mse", "val_mse", "train_r2", "val_r2"]].to_numpy()).all()
    assert table[["train_error", "val_error", "val_crossentropy"]].isna().all().all()
    best = str(wave_run.info["best_trial"])
    sweep = wave_run.trials[(wave_run.trials["trial_id"] == best) & (wave_run.trials["execution"] == 0)].iloc[0]
    whole = table[table["size"] == 1.0].iloc[0]  # repeat 0 on every row is the sweep's execution 0 again
    assert whole["val_mse"] == pytest.approx(sweep["val_mse"], rel=1e-5)
    assert whole["val_r2"] == pytest.approx(sweep["val_r2"], rel=1e-5)


def _mse_table(a: float, c: float, variance: float, gap: float, rows: tuple[int, ...] = (100, 250, 500, 1000),
               noise: float = 0.002) -> pd.DataFrame:
    """A regression's learning curve: validation MSE a power law in units of the target's variance."""
    generator = np.random.default_rng(1)
    records = []
    for count in rows:
        for repeat in range(3):
            share = float(power_law(count, a, 0.6, c, max(rows))) + generator.normal(0, noise)  # MSE / variance
            records.append({"trial_id": "0", "size": count / max(rows), "repeat": repeat, "train_rows": count,
                            "train_mse": (share - gap) * variance, "val_mse": share * variance,
                            "train_r2": 1 - share + gap, "val_r2": 1 - share})
    return pd.DataFrame(records)


def test_the_verdict_on_more_data_is_in_points_of_r2_whatever_the_targets_units() -> None:
    # The same curve with a target in metres (variance 1) or millimetres (variance 1e6): one verdict.
    for variance in (1.0, 1e6):
        [hungry] = training_size_verdicts(_mse_table(0.3, 0.2, variance, 0.05), resamples=60).to_dict("records")
        assert hungry["metric"] == "mse" and hungry["scale"] == pytest.approx(variance, rel=1e-6)
        assert hungry["verdict"] == DataVerdict.DATA_HUNGRY, hungry["reason"]
        assert hungry["reason"].startswith("Data-hungry: validation MSE is still falling")
        [flat] = training_size_verdicts(_mse_table(0.0, 0.6, variance, 0.0), resamples=60).to_dict("records")
        assert flat["verdict"] == DataVerdict.FLATTENED, flat["reason"]
        assert re.search(r"levelled off \(training R² 0\.(399|40\d), validation 0\.(399|40\d)\)", flat["reason"])
        assert "capacity" in flat["reason"] and "accuracy" not in flat["reason"]
    with pytest.raises(AnalysisError, match=r"metric 'error' is not measured in this learning curve; allowed: mse"):
        training_size_verdicts(_mse_table(0.3, 0.2, 1.0, 0.05).assign(train_error=math.nan, val_error=math.nan),
                               metric="error")


@pytest.mark.slow
def test_few_rows_of_a_noisy_wave_leave_a_network_data_hungry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = _wave_sweep(_wave_csv(tmp_path, 160, noise=0.3), "few", model={"layers": [32, 32]},
                        train={"epochs": 60, "batch_size": 16}, tuner={"max_trials": 1})
    path = write_sweep(tmp_path, sweep)
    code, output = invoke_cli(["run", str(path), "--results-dir", str(tmp_path / "runs"), "--quiet"], monkeypatch,
                              capsys)
    assert code == 0, output
    run_dir = tmp_path / "runs" / "few"
    code, output = invoke_cli(["learning-curve", str(run_dir), "--metric", "error"], monkeypatch, capsys)
    assert code == 2 and "--metric error: does not measure a regression; allowed: mse" in output
    code, output = invoke_cli(["learning-curve", str(run_dir), "--sizes", "0.125,0.25,0.5,1.0"], monkeypatch, capsys)
    assert code == 0, output
    table = load_learning_curve(run_dir)
    means = table.groupby("train_rows")["val_mse"].mean()
    assert means.is_monotonic_decreasing and means.iloc[-1] < means.iloc[0] / 3  # rows help, a lot
    [reading] = learning_curve_findings(training_size_verdicts(table))
    assert "Data-hungry: validation MSE is still falling" in reading and "R²" in reading, reading
    assert "Data-hungry" in output
    write_report(run_dir)
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "nested, random shares of the training split" in report and "fitted to the validation MSE" in report


def test_compare_refuses_a_regression_metric_for_a_classification_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import tiny_sweep

    run = run_sweep(parse_spec(tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1})), results_dir=tmp_path)
    before = sorted(p.name for p in run.path.rglob("*"))
    code, output = invoke_cli(["compare", str(run.path), "--metric", "r2"], monkeypatch, capsys)
    assert code == 2 and output.strip() == f"{PREFIX}--metric r2: does not measure a classification; allowed: accuracy"
    assert sorted(p.name for p in run.path.rglob("*")) == before
