"""The learning curve over training-set size: subsets, retraining, the power-law verdict and bad input."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import invoke_cli as _invoke
from conftest import tiny_sweep, write_sweep
from fitsweep import load, load_learning_curve, parse_spec, run_learning_curve, run_sweep
from fitsweep.analysis import AnalysisError, DataVerdict, power_law, training_size_verdicts
from fitsweep.data import prepare_data
from fitsweep.families import family_for
from fitsweep.learning_curve import LearningCurveError, check_sizes, stratified_order, subset_rows
from fitsweep.training import Member, train_executions

# --- the fit and its verdict, on curves whose answer is known ---------------------------------------


def _curve_table(trial: str, a: float, b: float, c: float, rows: list[int], repeats: int = 3,
                 noise: float = 0.004, seed: int = 0, gap: float = 0.02) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    n_max = max(rows)
    records = []
    for count in rows:
        for repeat in range(repeats):
            val = float(power_law(count, a, b, c, n_max)) + generator.normal(0, noise)
            records.append({"trial_id": trial, "size": count / n_max, "repeat": repeat, "train_rows": count,
                            "train_error": val - gap, "val_error": val, "train_crossentropy": 0.1,
                            "val_crossentropy": 0.2})
    return pd.DataFrame(records)


ROWS = [100, 250, 500, 1000]


def test_a_curve_still_falling_is_data_hungry_and_its_extrapolation_holds() -> None:
    a, b, c = 0.08, 0.6, 0.05  # at 1,000 rows: 0.13; each doubling there takes 0.08 * (1 - 2**-0.6) = 0.027 off
    [row] = training_size_verdicts(_curve_table("7", a, b, c, ROWS), resamples=60).to_dict("records")
    assert row["verdict"] == DataVerdict.DATA_HUNGRY and row["reliable"]
    true_drop = float(power_law(1000, a, b, c, 1000) - power_law(2000, a, b, c, 1000))
    assert row["drop_per_doubling_low"] - 0.01 <= true_drop <= row["drop_per_doubling_high"] + 0.01
    assert row["predicted_2x"] == pytest.approx(float(power_law(2000, a, b, c, 1000)), abs=0.015)
    assert abs(row["holdout_error"]) < 0.015
    assert "Data-hungry" in row["reason"] and "1,000 training rows" in row["reason"]


def test_a_flat_curve_is_flattened_and_names_capacity_or_regularization() -> None:
    flat = training_size_verdicts(_curve_table("1", 0.0, 0.5, 0.14, ROWS, gap=0.0), resamples=60)
    overfit = training_size_verdicts(_curve_table("2", 0.0, 0.5, 0.14, ROWS, gap=0.10), resamples=60)
    assert flat["verdict"].tolist() == [DataVerdict.FLATTENED] == overfit["verdict"].tolist()
    assert "capacity" in flat["reason"].iloc[0] and "regularization" in overfit["reason"].iloc[0]
    assert "noise in the targets" in flat["reason"].iloc[0]  # a small gap may be all the data allows
    assert flat["predicted_4x"].iloc[0] == pytest.approx(0.14, abs=0.01)


def test_too_few_sizes_or_repeats_are_said_to_be_unreliable() -> None:
    [two_sizes] = training_size_verdicts(_curve_table("0", 0.1, 0.5, 0.05, [500, 1000])).to_dict("records")
    assert two_sizes["verdict"] == DataVerdict.UNCERTAIN and not two_sizes["reliable"]
    assert "2 training-set size(s)" in two_sizes["reason"]
    [three] = training_size_verdicts(_curve_table("0", 0.1, 0.5, 0.05, ROWS[1:], repeats=2),
                                     resamples=40).to_dict("records")
    assert not three["reliable"]
    assert "2 repeat(s)" in three["reason"] and "none to test the extrapolation" in three["reason"]


def test_a_verdict_the_last_measured_step_contradicts_is_withheld() -> None:
    # A steep start and a late drop: the power law puts its floor near the last point and calls it flat.
    records = [{"trial_id": "0", "size": rows / 1000, "repeat": repeat, "train_rows": rows, "train_error": 0.03,
                "val_error": error + 0.002 * (repeat - 1), "train_crossentropy": 0.1, "val_crossentropy": 0.3}
               for rows, error in ((100, 0.219), (250, 0.162), (500, 0.154), (1000, 0.140)) for repeat in range(3)]
    [row] = training_size_verdicts(pd.DataFrame(records), resamples=40).to_dict("records")
    assert row["drop_per_doubling_high"] < 0.01 < row["last_step_drop"]  # the fit alone would say flattened
    assert row["verdict"] == DataVerdict.UNCERTAIN and not row["reliable"]
    assert "the last step measured (500 to 1,000 rows) lowered the error by 0.014 per doubling" in row["reason"]


def test_diverged_rows_are_left_out_and_each_trial_is_fitted_on_its_own() -> None:
    table = pd.concat([_curve_table("1", 0.0, 0.5, 0.14, ROWS), _curve_table("2", 0.08, 0.6, 0.05, ROWS)])
    table.loc[table.index[0], "val_error"] = np.nan
    verdicts = training_size_verdicts(table, resamples=40).set_index("trial_id")
    assert verdicts.loc["1", "verdict"] == DataVerdict.FLATTENED
    assert verdicts.loc["2", "verdict"] == DataVerdict.DATA_HUNGRY


def test_an_unknown_metric_is_refused() -> None:
    with pytest.raises(AnalysisError, match="metric 'loss'"):
        training_size_verdicts(_curve_table("0", 0.1, 0.5, 0.05, ROWS), metric="loss")


# --- subsets ---------------------------------------------------------------------------------------


def test_every_prefix_of_the_order_holds_the_classes_in_their_shares() -> None:
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    order = stratified_order(y, 3, seed=4)
    assert sorted(order.tolist()) == list(range(100))
    for count in range(1, 101):
        counts = np.bincount(y[order[:count]], minlength=3)
        assert np.all(np.abs(counts - count * np.array([0.7, 0.2, 0.1])) <= 1), count
    assert not np.array_equal(order, stratified_order(y, 3, seed=5))  # repeats draw other subsets


def test_sizes_are_checked() -> None:
    assert check_sizes([1.0, 0.25, 0.25]) == [0.25, 1.0]
    for bad in ([0.0], [1.5], [-0.1], [float("nan")], []):
        with pytest.raises(LearningCurveError, match="--sizes"):
            check_sizes(bad)
    y = np.array([0] * 95 + [1] * 5)
    assert subset_rows(y, 2, [0.5, 1.0]) == [50, 100]
    with pytest.raises(LearningCurveError, match=r"--sizes 0.05: 5 training row\(s\) cannot hold all 2 classes"):
        subset_rows(y, 2, [0.05])


# --- training a member on rows of its own ----------------------------------------------------------

NET = {"layers": "8-8", "activation": "relu", "dropout": 0.2, "l1": 0.0, "l2": 1e-3,
       "optimizer": "adam", "learning_rate": 0.01, "batch_size": 16}


def test_a_member_on_its_own_rows_trains_as_alone_on_a_split_of_those_rows() -> None:
    splits = prepare_data(parse_spec(tiny_sweep()).data, ".")
    rows = np.sort(np.random.default_rng(0).permutation(len(splits.y_train))[:48])
    subset = replace(splits, x_train=splits.x_train[rows], y_train=splits.y_train[rows],
                     x_train_measured=splits.x_train[rows], y_train_measured=splits.y_train[rows])
    alone_records: list[dict[str, float]] = []
    fused_records: list[dict[str, float]] = []
    dense = family_for(parse_spec(tiny_sweep()))
    [alone] = train_executions([Member("0", 0, NET, seed=5)], subset, dense, epochs=3,
                               on_epoch=lambda member, epoch, record, seconds: alone_records.append(record))
    other_rows = tuple(int(row) for row in np.arange(48) + 10)
    fused = train_executions([Member("0", 0, NET, seed=5, rows=tuple(int(row) for row in rows)),
                              Member("1", 0, NET, seed=6, rows=other_rows)], splits, dense, epochs=3,
                             on_epoch=lambda member, epoch, record, seconds: fused_records.append(record)
                             if member.trial_id == "0" else None)
    for mine, theirs in zip(alone_records, fused_records, strict=True):
        for name in mine:
            assert theirs[name] == pytest.approx(mine[name], rel=1e-5, abs=1e-6), name
    for mine, theirs in zip(alone.weights or [], fused[0].weights or [], strict=True):
        np.testing.assert_allclose(theirs, mine, rtol=1e-5, atol=1e-6)
    assert fused[0].summary["train_rows"] == 48


def test_members_with_rows_of_different_counts_cannot_be_fused() -> None:
    spec = parse_spec(tiny_sweep())
    splits = prepare_data(spec.data, ".")
    with pytest.raises(ValueError, match="own rows"):
        train_executions([Member("0", 0, NET, 1, rows=(0, 1, 2, 3)), Member("1", 0, NET, 2, rows=(0, 1, 2))], splits,
                         family_for(spec), epochs=1)


# --- on a finished run -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny sweep: 2 trials of 2 executions, 3 epochs."""
    spec = parse_spec(tiny_sweep(name="lc", tuner={"max_trials": 2, "executions_per_trial": 2}))
    return Path(run_sweep(spec, results_dir=tmp_path_factory.mktemp("results")).path)


def test_the_table_resumes_and_size_one_retrains_the_sweeps_execution(finished: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "lc"
    shutil.copytree(finished, run_dir)
    trained: list[tuple[float, int, int]] = []

    def told(share: float, rows: int, count: int, seconds: float) -> None:
        trained.append((share, rows, count))

    first = run_learning_curve(run_dir, sizes=[0.5, 1.0], repeats=2, on_size=told)
    best = str(load(run_dir).info["best_trial"])
    assert len(first) == 4 and set(first["trial_id"]) == {best}
    assert [(share, count) for share, _, count in trained] == [(0.5, 2), (1.0, 2)]
    again = run_learning_curve(run_dir, sizes=[0.25, 0.5, 1.0], repeats=2, on_size=told)
    assert [(share, count) for share, _, count in trained[2:]] == [(0.25, 2)]  # 0.5 and 1.0 were kept
    pd.testing.assert_frame_equal(again[again["size"] >= 0.5].reset_index(drop=True), first)
    assert again.equals(load_learning_curve(run_dir))
    # At size 1.0 a repeat trains as the sweep's execution of that seed did: same rows, order and seed.
    trials = load(run_dir).trials.astype({"trial_id": str})
    for repeat in range(2):
        sweep_row = trials[(trials["trial_id"] == best) & (trials["execution"] == repeat)].iloc[0]
        mine = again[(again["size"] == 1.0) & (again["repeat"] == repeat)].iloc[0]
        assert mine["val_error"] == pytest.approx(1 - sweep_row["val_accuracy"], abs=1e-9)
        assert mine["best_epoch"] == sweep_row["best_epoch"]
    # Nested: every size's rows are the first rows of one order per repeat.
    assert again.groupby("repeat")["train_rows"].apply(list).tolist() == [[32, 64, 128]] * 2


def test_another_epoch_count_is_refused_on_an_existing_table(finished: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "lc"
    shutil.copytree(finished, run_dir)
    run_learning_curve(run_dir, sizes=[1.0], repeats=1)
    before = (run_dir / "learning_curve.parquet").read_bytes()
    with pytest.raises(LearningCurveError, match=r"--epochs 2: .* was trained with 3 epochs"):
        run_learning_curve(run_dir, sizes=[1.0], repeats=1, epochs=2)
    assert (run_dir / "learning_curve.parquet").read_bytes() == before


# --- bad input on the command line: exit 2, one line, nothing written ------------------------------




def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def _unfinished(run_dir: Path) -> None:
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "status": "interrupted"}))


def _no_completed_trial(run_dir: Path) -> None:
    trials = pd.read_parquet(run_dir / "trials.parquet")
    trials.assign(status="failed").to_parquet(run_dir / "trials.parquet", index=False)


@pytest.mark.parametrize("args, prepare, expect", [
    (["--sizes", "0,0.5"], None, ["--sizes 0.0", "(0, 1]"]),
    (["--sizes", "0.5,1.5"], None, ["--sizes 1.5", "(0, 1]"]),
    (["--sizes", "half"], None, ["--sizes half", "0.1,0.25,0.5,1.0"]),
    (["--sizes", "0.005,1"], None, ["--sizes 0.005", "cannot hold all 2 classes", "allowed: sizes from"]),
    (["--trials", "best,99"], None, ["--trials 99", "no such trial", "allowed: best, 0, 1"]),
    (["--trials", "nope"], None, ["--trials nope", "allowed: best"]),
    (["--repeats", "0"], None, ["--repeats", "0"]),
    ([], _unfinished, ["interrupted, not completed", "fitsweep resume"]),
    ([], _no_completed_trial, ["no completed trial"]),
], ids=["size-zero", "size-above-one", "size-not-a-number", "size-too-small-for-classes", "missing-trial",
        "unknown-selector", "no-repeats", "unfinished-run", "no-completed-trial"])
def test_bad_input_is_one_line_and_writes_nothing(args: list[str], prepare: Any, expect: list[str], finished: Path,
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "lc"
    shutil.copytree(finished, run_dir)
    if prepare is not None:
        prepare(run_dir)
    before = _files(run_dir)
    code, output = _invoke(["learning-curve", str(run_dir), *args], monkeypatch, capsys)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("fitsweep: error: "), output
    assert "Traceback" not in output
    for fragment in expect:
        assert fragment in lines[0], output
    assert _files(run_dir) == before


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _invoke(["learning-curve", str(tmp_path / "nothing")], monkeypatch, capsys)
    assert code == 2 and "no such results folder" in output
    assert not (tmp_path / "nothing").exists()


# --- end to end: the two kinds of configuration, on real short runs --------------------------------


def _learning_curve_of(sweep: dict[str, Any], folder: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], str]:
    path = write_sweep(folder, sweep)
    spec = parse_spec(sweep)
    run_dir = Path(run_sweep(spec, results_dir=folder / "results", data_dir=path.parent).path)
    code, output = _invoke(["learning-curve", str(run_dir), "--sizes", "0.1,0.25,0.5,1.0", "--repeats", "3"],
                           monkeypatch, capsys)
    assert code == 0, output
    return training_size_verdicts(load_learning_curve(run_dir)).to_dict("records"), output


@pytest.mark.slow
def test_a_large_net_on_little_data_is_data_hungry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # 179 of scikit-learn's 8x8 digits for 2 x 256 units: validation error 0.06 there, far from what more allow.
    sweep = {"name": "hungry", "data": {"source": "digits", "scaling": "standardize", "test_size": 0.5,
                                        "validation_size": 0.8},
             "model": {"layers": [256, 256], "activation": "relu"},
             "train": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 16, "epochs": 40,
                       "early_stopping": 8},
             "tuner": {"algorithm": "random", "max_trials": 1, "seed": 0}}
    [verdict], output = _learning_curve_of(sweep, tmp_path, monkeypatch, capsys)
    assert verdict["verdict"] == DataVerdict.DATA_HUNGRY, verdict["reason"]
    assert verdict["predicted_2x"] < verdict["val_at_max"]
    assert "Data-hungry" in output and "Extrapolated" in output and "Check:" in output


@pytest.mark.slow
def test_a_linear_model_has_flattened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    # Logistic regression on two moons: a straight boundary, learnt from a few dozen points.
    sweep = {"name": "linear", "data": {"source": "moons", "samples": 2000, "noise": 0.3, "seed": 1,
                                        "validation_size": 0.5},
             "model": {"layers": [], "activation": "relu"},
             "train": {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 32, "epochs": 40,
                       "early_stopping": 8},
             "tuner": {"algorithm": "random", "max_trials": 1, "seed": 0}}
    [verdict], output = _learning_curve_of(sweep, tmp_path, monkeypatch, capsys)
    assert verdict["verdict"] == DataVerdict.FLATTENED, verdict["reason"]
    assert "Not data: what is left is bias (capacity" in output


def test_the_report_shows_the_section_only_once_the_table_exists(finished: Path, tmp_path: Path) -> None:
    from fitsweep.report import write_report

    run_dir = tmp_path / "lc"
    shutil.copytree(finished, run_dir)
    files = write_report(run_dir)
    assert 'id="training_size"' not in files.html.read_text(encoding="utf-8")
    run_learning_curve(run_dir, sizes=[0.5, 1.0], repeats=1)
    files = write_report(run_dir)
    html, markdown = files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")
    assert 'id="training_size"' in html and "## Would more data help?" in markdown
    assert "2 training-set size(s) measured; a curve needs 3" in markdown  # said, not drawn as a fit
    assert (run_dir / "figures" / "training_size.png").stat().st_size > 0
