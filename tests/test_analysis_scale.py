"""Analysis and report of large sweeps: array implementations agree with per-execution formulas; reports are bounded.

`diagnose` and `compare` compute over the whole table at once; these tests hold them to the
per-execution and per-group computations they replaced (the reference below is the previous
per-curve evidence, kept verbatim), and check that the report of a large synthetic run shows a
bounded number of figures and rows and says what it left out.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fitsweep.analysis import compare, diagnose
from fitsweep.analysis._fit_evidence import evidence_table
from fitsweep.analysis._significance import repeats_to_resolve, t_interval, welch_p_value
from fitsweep.figures import plot_learning_curves
from fitsweep.report import write_report
from fitsweep.report.sections.fit import LISTED_EXECUTIONS
from synthetic_curves import BORDERLINE, CHANCE, EXPECTED, sweep, synthetic_run_tables, write_synthetic_run

# --- the previous per-execution evidence, as the reference --------------------------------


def _reference_evidence(curve: pd.DataFrame, selected_epoch: float, trend_epochs: int) -> dict[str, Any]:
    curve = curve.sort_values("epoch", kind="stable")
    epoch = curve["epoch"].to_numpy(dtype="int64")
    loss, val = curve["loss"].to_numpy(float), curve["val_loss"].to_numpy(float)
    broken = np.flatnonzero(~(np.isfinite(loss) & np.isfinite(val)))
    diverged_at = None
    if broken.size:
        index = int(broken[0])
        name, value = ("loss", loss[index]) if not np.isfinite(loss[index]) else ("val_loss", val[index])
        diverged_at = f"{name} became {value} at epoch {epoch[index]}"
    end = int(broken[0]) if broken.size else len(curve)
    evidence = _reference_curve(curve.iloc[:end], selected_epoch, trend_epochs) if end else {}
    return {**evidence, "epochs_run": len(curve), "diverged_at": diverged_at}


def _reference_curve(curve: pd.DataFrame, selected_epoch: float, trend_epochs: int) -> dict[str, Any]:
    def column(name: str) -> np.ndarray:
        return curve[name].to_numpy(float) if name in curve else np.full(len(curve), np.nan)

    epoch = curve["epoch"].to_numpy(dtype="int64")
    loss, val, accuracy, val_accuracy = column("loss"), column("val_loss"), column("accuracy"), column("val_accuracy")
    loss_sd, val_sd = column("crossentropy_sd"), column("val_crossentropy_sd")
    lowest = int(np.argmin(val))
    at = lowest
    if math.isfinite(selected_epoch):
        matches = np.flatnonzero(epoch == int(selected_epoch))
        at = int(matches[0]) if matches.size else lowest
    tail_epoch, tail_loss = epoch[-trend_epochs:], loss[-trend_epochs:]
    trend = math.nan
    if len(tail_epoch) >= 2:
        trend = float(np.polyfit(tail_epoch.astype(float), tail_loss, 1)[0] / max(abs(float(np.mean(tail_loss))),
                                                                                   1e-12))
    return {
        "best_epoch": int(epoch[at]), "train_error": 1 - accuracy[at], "val_error": 1 - val_accuracy[at],
        "train_crossentropy": loss[at], "val_crossentropy": val[at], "train_crossentropy_sd": loss_sd[at],
        "val_crossentropy_sd": val_sd[at], "min_val_loss": val[lowest], "min_val_epoch": int(epoch[lowest]),
        "loss_at_min_val": loss[lowest], "val_sd_at_min": val_sd[lowest], "final_loss": loss[-1],
        "final_loss_sd": loss_sd[-1], "final_val_loss": val[-1], "loss_gap": val[-1] - loss[-1],
        "accuracy_gap": accuracy[-1] - val_accuracy[-1],
        "val_rise": (val[-1] - val[lowest]) / max(abs(float(val[lowest])), 1e-12), "train_trend": trend,
        "last_epoch": int(epoch[-1]),
    }


def _shuffled(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The rows in a random order: the evidence must not depend on the table being sorted."""
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("selected", [False, True], ids=["lowest val_loss", "best_epoch of the trials table"])
def test_evidence_of_every_execution_equals_the_per_execution_reference(selected: bool) -> None:
    kinds = sweep({kind: kind for kind in (*EXPECTED, *BORDERLINE)}, executions=2, seed=4)
    trials, epochs = synthetic_run_tables(40, executions=3, seed=7)
    epochs = pd.concat([kinds, epochs], ignore_index=True)
    epochs.loc[epochs.sample(5, random_state=1).index, "val_loss"] = np.inf  # blow-ups mid-curve too
    keys = ["trial_id", "execution"]
    best = trials[[*keys, "best_epoch"]] if selected else None
    table = evidence_table(_shuffled(epochs), keys, best, trend_epochs=5)
    assert len(table) == epochs.groupby(keys).ngroups
    chosen = {} if best is None else {(t, e): float(b) for t, e, b in best.itertuples(index=False)}
    for row in table.to_dict("records"):
        curve = epochs[(epochs["trial_id"] == row["trial_id"]) & (epochs["execution"] == row["execution"])]
        expected = _reference_evidence(curve, chosen.get((row["trial_id"], row["execution"]), math.nan), 5)
        assert row["diverged_at"] == expected.pop("diverged_at")
        for name, value in expected.items():
            assert np.isclose(row[name], value, rtol=1e-9, atol=1e-15, equal_nan=True), (row["trial_id"], name)


def test_diagnosis_of_concatenated_runs_equals_each_run_diagnosed_alone() -> None:
    """A run's verdicts do not depend on the other runs in the table: the groups are kept apart."""
    runs = {name: synthetic_run_tables(60, executions=2, seed=seed) for name, seed in (("a", 1), ("b", 2))}
    together = diagnose(pd.concat([epochs.assign(run=name) for name, (_, epochs) in runs.items()], ignore_index=True),
                        pd.concat([trials.assign(run=name) for name, (trials, _) in runs.items()], ignore_index=True),
                        chance_loss=CHANCE)
    for name, (trials, epochs) in runs.items():
        alone = diagnose(_shuffled(epochs), trials, chance_loss=CHANCE)
        mine = together[together["run"] == name].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_dtype=False)


def test_a_large_sweep_gets_every_kind_of_verdict() -> None:
    trials, epochs = synthetic_run_tables(400, executions=2, seed=3)
    fits = diagnose(epochs, trials, chance_loss=CHANCE)["fit"].value_counts()
    assert {"good", "overfit", "underfit", "diverged"} <= set(fits.index)


def test_compare_equals_the_per_group_formulas() -> None:
    trials, _ = synthetic_run_tables(120, executions=3, seed=5)
    table = compare(trials, by=["layers", "dropout"]).set_index("group")
    best = table[table["baseline"]].index[0]
    values = {label: group["test_accuracy"].to_numpy(float)
              for label, group in trials[trials["status"] == "completed"].groupby(
                  trials["layers"].astype(str) + ", dropout=" + trials["dropout"].map("{:g}".format))}
    level = 0.05 / int(np.isfinite(table["p_value"]).sum())
    for label, row in table.iterrows():
        mine = values[str(label).replace("layers=", "")]
        assert row["n_executions"] == len(mine)
        assert row["test_accuracy_mean"] == pytest.approx(mine.mean(), rel=1e-12)
        low, high = t_interval(mine)
        assert row["test_accuracy_ci_low"] == pytest.approx(max(low, 0.0), rel=1e-12)
        assert row["test_accuracy_ci_high"] == pytest.approx(min(high, 1.0), rel=1e-12)
        if label == best:
            continue
        reference = values[str(best).replace("layers=", "")]
        assert row["p_value"] == pytest.approx(welch_p_value(mine, reference), rel=1e-9)
        expected = repeats_to_resolve(mine, reference, alpha=level, power=0.8, max_repeats=100)
        assert row["repeats_needed"] == expected or (math.isnan(expected) and math.isnan(row["repeats_needed"]))


# --- the report of a large run -------------------------------------------------------------

_TRIALS = 150  # 300 executions: beyond every limit of the report, small enough for the test suite


@pytest.fixture(scope="module")
def large_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    paths = write_synthetic_run(tmp_path_factory.mktemp("large") / "synthetic", _TRIALS, executions=2)
    files = write_report(paths.root)
    return paths.root, files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")


def test_the_report_of_a_large_run_is_bounded_and_says_what_it_left_out(large_report: tuple[Path, str, str]) -> None:
    root, html, markdown = large_report
    executions = 2 * _TRIALS
    assert len(re.findall(r"<img ", html)) <= 11  # one figure per section at most, whatever the run's size
    folded = re.search(r"<details>(.*?)</details>", html, re.DOTALL)
    assert folded is not None
    assert len(re.findall(r"<tr", folded.group(1))) <= LISTED_EXECUTIONS + 1  # the header row
    assert f"{LISTED_EXECUTIONS} of {executions} executions: the " in html and "most overfit" in html
    assert f"fitsweep diagnose {root} --csv" in markdown
    assert len(html.encode()) < 3 * 2**20


def test_learning_curves_of_a_large_run_show_the_best_the_most_overfit_and_underfit_and_every_execution(
        large_report: tuple[Path, str, str]) -> None:
    import fitsweep

    run = fitsweep.load(large_report[0])
    diagnosis = diagnose(run.epochs, run.trials, chance_loss=CHANCE)
    figure = plot_learning_curves(run, diagnosis=diagnosis, max_trials=12)
    titles = [ax.get_title(loc="left") for ax in figure.axes if ax.get_title(loc="left")]
    assert len(titles) == 12
    texts = " ".join(text.get_text() for text in figure.texts)
    assert f"12 of {_TRIALS} trials: the 4 best" in texts and "the 4 most overfit" in texts
    assert "the 4 most underfit" in texts and f"All {2 * _TRIALS - _diverged(diagnosis):,} executions" in texts
    worst = diagnosis[diagnosis["fit"] == "overfit"].groupby("trial_id")["variance"].mean().idxmax()
    assert any(f"trial {worst}" in title for title in titles)


def _diverged(diagnosis: pd.DataFrame) -> int:
    return int((diagnosis["fit"] == "diverged").sum())


def test_the_report_of_tables_alone_imports_no_tensorflow(large_report: tuple[Path, str, str]) -> None:
    """TensorFlow's import is most of a report's time; a run without a kept model needs none of it."""
    script = ("import sys; from fitsweep.cli import app\n"
              "try:\n    app(['report', sys.argv[1]])\n"
              "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
              "print('tensorflow' in sys.modules, 'keras_tuner' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, str(large_report[0])], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"
