"""Tests of fitsweep.analysis.compare: exact configurations, Holm's correction, repeats, findings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import fitsweep
from fitsweep.analysis import AnalysisError, compare, comparison_findings, configuration_columns
from synthetic_curves import synthetic_trials, trials_of

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def regularizers() -> pd.DataFrame:
    return fitsweep.load(RESULTS / "notmnist-regularizers").trials


def _by_group(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("group")


# --- the committed notMNIST regularizer study ----------------------------------------------


def test_each_strength_is_its_own_group(regularizers: pd.DataFrame) -> None:
    table = _by_group(compare(regularizers))
    assert {"dropout=0.2", "dropout=0.5", "l1=1e-05", "l1=0.001", "no regularization"} <= set(table.index)
    assert len(table) == regularizers["trial_id"].nunique()  # one configuration per trial in this study
    assert table.loc["dropout=0.2", "n_executions"] == 3 and table.loc["dropout=0.5", "n_executions"] == 3


def test_strong_l1_is_clearly_worse_than_the_best_after_holm(regularizers: pd.DataFrame) -> None:
    table = _by_group(compare(regularizers))
    strong = table.loc["l1=0.001"]
    assert bool(strong.significant) and strong.p_holm < 0.05 and strong.difference < 0
    assert strong.note.startswith("clearly worse than the best")
    assert table["baseline"].sum() == 1 and table.loc[table["baseline"], "difference"].tolist() == [0.0]


def test_holm_adjusted_p_values_are_never_below_the_raw_ones(regularizers: pd.DataFrame) -> None:
    table = compare(regularizers)
    tested = table[~table["baseline"]]
    assert (tested["p_holm"] >= tested["p_value"] - 1e-12).all()
    assert tested["p_holm"].max() <= 1.0
    # Holm multiplies the smallest p-value by the number of tests.
    smallest = tested["p_value"].min()
    assert tested["p_holm"].min() == pytest.approx(min(1.0, smallest * len(tested)))


def test_within_noise_groups_say_how_many_repeats_would_resolve_them(regularizers: pd.DataFrame) -> None:
    table = compare(regularizers)
    undecided = table[~table["baseline"] & ~table["significant"]]
    assert len(undecided) > 0
    for row in undecided.itertuples():
        assert row.note.startswith("within noise of the best")
        if math.isinf(row.repeats_needed):
            assert "more than 100 repeats" in row.note
        else:
            assert row.repeats_needed >= 2 and f"about {int(row.repeats_needed)} repeats" in row.note


def test_findings_name_the_best_and_the_clearly_worse(regularizers: pd.DataFrame) -> None:
    table = compare(regularizers)
    findings = comparison_findings(table)
    assert 2 <= len(findings) <= 3
    assert findings[0].startswith(f"Highest mean test accuracy: {table['group'].iloc[0]} ")
    assert any("Holm" in line and "l1=0.001" in line for line in findings)


def test_grouping_by_a_column_pools_its_values(regularizers: pd.DataFrame) -> None:
    by_dropout = compare(regularizers, by="dropout")
    assert sorted(by_dropout["dropout"]) == [0.0, 0.2, 0.5]
    assert by_dropout.set_index("dropout").loc[0.0, "n_executions"] == 21  # every non-dropout configuration
    assert set(compare(regularizers, by="regularizer_kind")["group"]) == {
        "regularizer_kind=none", "regularizer_kind=l1", "regularizer_kind=l2", "regularizer_kind=dropout"}
    assert len(compare(regularizers, by="regularizer")) == 4  # the older name of regularizer_kind


# --- statistics by hand --------------------------------------------------------------------


def test_interval_and_welch_p_value_match_hand_formulas() -> None:
    trials = pd.DataFrame({
        "trial_id": ["a", "a", "a", "b", "b"], "execution": [0, 1, 2, 0, 1], "status": "completed",
        "l2": [1e-3, 1e-3, 1e-3, 0, 0], "test_accuracy": [0.6, 0.7, 0.8, 0.4, 0.5],
        "val_accuracy": [0.6, 0.7, 0.8, 0.4, 0.5], "train_accuracy": [0.7, 0.8, 0.8, 0.5, 0.7],
    })
    table = _by_group(compare(trials))
    l2, none = table.loc["l2=0.001"], table.loc["no regularization"]
    # 95% t interval: mean +- t(0.975, 2) * s / sqrt(3), with t(0.975, 2) = 4.302653 from tables.
    half = 4.302653 * 0.1 / math.sqrt(3)
    assert (l2.test_accuracy_ci_low, l2.test_accuracy_ci_high) == pytest.approx((0.7 - half, 0.7 + half), abs=1e-6)
    assert l2.accuracy_gap_mean == pytest.approx(0.2 / 3)
    se2 = 0.01 / 3 + 0.005 / 2
    t, df = 0.25 / math.sqrt(se2), se2**2 / ((0.01 / 3) ** 2 / 2 + (0.005 / 2) ** 2 / 1)
    assert none.p_value == pytest.approx(2 * stats.t.sf(t, df))
    assert none.p_holm == pytest.approx(none.p_value)  # one test: nothing to correct
    assert bool(l2.baseline) and math.isnan(l2.p_value) and math.isnan(l2.p_holm)


def test_intervals_never_leave_the_possible_range() -> None:
    trials = trials_of([1.0, 0.98, 0.99, 0.2, 0.0, 0.05], dropout=[0.5] * 3 + [0.0] * 3)
    trials["train_accuracy"] = [0.0, 0.02, 0.01, 1.0, 1.0, 1.0]
    table = compare(trials)
    for name in ("test_accuracy", "val_accuracy"):
        assert (table[f"{name}_ci_high"] <= 1.0).all() and (table[f"{name}_ci_low"] >= 0.0).all()
    assert (table["accuracy_gap_ci_low"] >= -1.0).all() and (table["accuracy_gap_ci_high"] <= 1.0).all()
    assert table["test_accuracy_ci_high"].iloc[0] == 1.0  # the raw interval reaches above 1


def test_a_group_of_one_execution_needs_repeats(regularizers: pd.DataFrame) -> None:
    weak_l2 = regularizers["l2"] == 1e-5
    lone = regularizers[~weak_l2 | (regularizers["execution"] == 0)]
    row = _by_group(compare(lone)).loc["l2=1e-05"]
    assert row.n_executions == 1 and math.isnan(row.p_holm) and not row.significant
    assert "repeats are needed to judge it" in row.note


def test_a_sweep_of_single_executions_is_not_judged() -> None:
    table = compare(trials_of([0.9, 0.8, 0.7], l2=[0.0, 1e-4, 1e-3]))
    assert table["p_holm"].isna().all() and not table["significant"].any()
    findings = comparison_findings(table)
    assert len(findings) == 2 and "2 groups could not be judged" in findings[1]


def test_repeats_needed_grow_as_the_difference_shrinks() -> None:
    noise = np.array([0.0, 0.02, -0.02, 0.01, -0.01])  # the same spread in every group
    accuracies = [*(0.90 + noise), *(0.89 + noise), *(0.85 + noise)]
    trials = trials_of(accuracies, l2=[0.0] * 5 + [1e-4] * 5 + [1e-2] * 5)
    table = _by_group(compare(trials))
    assert table.loc["l2=0.01", "repeats_needed"] < table.loc["l2=0.0001", "repeats_needed"]
    hopeless = _by_group(compare(trials, max_repeats=3))
    assert math.isinf(hopeless.loc["l2=0.0001", "repeats_needed"])
    assert "more than 3 repeats" in hopeless.loc["l2=0.0001", "note"]


def test_exact_configurations_combine_every_varied_column() -> None:
    trials = trials_of([0.9, 0.91, 0.8, 0.81], layers=["64-64", "64-64", "8", "8"], dropout=[0.2, 0.0, 0.2, 0.0],
                     l1=[0.0, np.nan, 0.0, 0.0], optimizer="adam")
    assert configuration_columns(trials) == ["layers", "dropout"]  # l1 is 0 or missing: never used
    assert set(compare(trials)["group"]) == {
        "layers=64-64, dropout=0.2", "layers=64-64, no regularization",
        "layers=8, dropout=0.2", "layers=8, no regularization"}
    combined = trials_of([0.9, 0.8], layers=["8", "8"], dropout=[0.3, 0.0], l2=[1e-3, 0.0])
    assert set(compare(combined)["group"]) == {"dropout=0.3+l2=0.001", "no regularization"}
    one = compare(trials_of([0.9, 0.8], l2=[0.0, 0.0]))
    assert one["group"].tolist() == ["one configuration"] and comparison_findings(one) == []


def test_runs_are_separate_configurations() -> None:
    first = trials_of([0.9, 0.8], l2=[1e-3, 0]).assign(run="a")
    second = trials_of([0.85, 0.75], l2=[1e-3, 0]).assign(run="b")  # same trial ids, other run
    both = pd.concat([first, second], ignore_index=True)
    assert len(compare(both)) == 4 and "run=a, l2=0.001" in set(compare(both)["group"])
    assert compare(both, by="l2").set_index("l2")["n_trials"].to_dict() == {0.001: 2, 0.0: 2}


def test_baseline_bad_grouping_and_bad_settings() -> None:
    trials = trials_of([0.9, 0.92, 0.8, 0.82], dropout=[0.0, 0.0, 0.5, 0.5], optimizer=["adam", "sgd", "adam", "sgd"],
                     fit=["good", "overfit", "overfit", "overfit"])
    by_dropout = compare(trials, by="dropout")
    assert by_dropout["overfit_share"].tolist() == [0.5, 1.0]
    chosen = compare(trials, baseline="optimizer=sgd, dropout=0.5")
    assert chosen.loc[chosen["baseline"], "group"].tolist() == ["optimizer=sgd, dropout=0.5"]
    assert comparison_findings(chosen)[0].startswith("Compared against the baseline optimizer=sgd, dropout=0.5")
    assert compare(trials, by="dropout", baseline=0.5)["baseline"].tolist() == [False, True]
    with pytest.raises(AnalysisError, match="baseline"):
        compare(trials, by="dropout", baseline=0.3)
    with pytest.raises(AnalysisError, match="momentum"):
        compare(trials, by="momentum")
    with pytest.raises(AnalysisError, match="power"):
        compare(trials, power=1.0)


def test_only_completed_rows_count() -> None:
    trials = trials_of([0.9, 0.1, 0.5]).assign(status=["completed", "failed", "diverged"])
    assert compare(trials)["n_executions"].tolist() == [1]
    with pytest.raises(AnalysisError, match="no completed trial"):
        compare(trials.iloc[1:])


def test_compare_on_a_synthetic_sweep_by_regularizer() -> None:
    table = compare(synthetic_trials(), by="regularizer_kind").set_index("regularizer_kind")
    # By construction l2 and dropout each close the gap.
    assert table.loc["none", "accuracy_gap_mean"] > table.loc["l2", "accuracy_gap_mean"]
    assert table.loc["l2", "accuracy_gap_mean"] > table.loc["l2+dropout", "accuracy_gap_mean"]
