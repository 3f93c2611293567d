"""Tests of fitsweep.analysis.importance: marginal means, variance shares, and when it is withheld."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fitsweep
from fitsweep.analysis import AnalysisError, importance, importance_findings
from synthetic_curves import synthetic_trials

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _grid(seed: int = 0, executions: int = 2) -> pd.DataFrame:
    """A 3 x 3 x 3 grid (27 configurations) where only dropout moves val_loss, by 0.1 per step."""
    rng = np.random.default_rng(seed)
    rows = [
        {"trial_id": f"{index}", "execution": execution, "status": "completed", "dropout": dropout,
         "l2": l2, "batch_size": batch_size, "val_loss": 0.3 + dropout / 2 + 0.01 * rng.standard_normal()}
        for index, (dropout, l2, batch_size) in enumerate(itertools.product([0.0, 0.2, 0.4], [0.0, 1e-4, 1e-3],
                                                                            [32, 64, 128]))
        for execution in range(executions)
    ]
    return pd.DataFrame(rows)


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop_duplicates("hyperparameter").set_index("hyperparameter")


def test_a_strong_effect_ranks_first_with_an_interval_excluding_zero() -> None:
    table = importance(_grid())
    assert table.attrs["reason"] is None
    ranked = _ranked(table)
    assert ranked.index[0] == "dropout"
    dropout = ranked.loc["dropout"]
    assert dropout.effect_ci_low > 0 and dropout.effect == pytest.approx(0.2, abs=0.02)
    assert dropout.variance_share > 0.9 > dropout.noise_share
    assert ranked.loc["batch_size", "effect_ci_low"] < 0 < ranked.loc["batch_size", "effect_ci_high"]  # no effect
    means = table[table["hyperparameter"] == "dropout"].set_index("level")["mean"]
    assert list(means.index) == ["0", "0.2", "0.4"] and means.is_monotonic_increasing
    assert (table["n_configurations"][table["hyperparameter"] == "dropout"] == 9).all()


def test_marginal_intervals_and_shares_by_hand() -> None:
    table = importance(_grid())
    dropout = table[table["hyperparameter"] == "dropout"]
    assert (dropout["ci_low"] < dropout["mean"]).all() and (dropout["mean"] < dropout["ci_high"]).all()
    assert (dropout["n_executions"] == 18).all()
    # noise_share = (levels - 1) / (configurations - 1): 2 / 26 for three values among 27 configurations.
    assert _ranked(table)["noise_share"].tolist() == pytest.approx([2 / 26] * 3)
    # First-order shares of a full grid cannot add up to more than the whole variance.
    assert _ranked(table)["variance_share"].sum() <= 1 + 1e-9


def test_nine_configurations_are_too_few() -> None:
    trials = fitsweep.load(RESULTS / "notmnist-regularizers").trials
    table = importance(trials, "val_crossentropy")
    assert table.empty and list(table.columns)[:2] == ["hyperparameter", "level"]
    reason = table.attrs["reason"]
    assert reason.startswith("Importance is not shown: 9 configurations are too few")
    assert "(at least 20 needed)" in reason
    assert importance_findings(table, "val_crossentropy") == [reason]


def test_the_minimum_is_a_setting() -> None:
    trials = _grid()
    assert importance(trials, min_configurations=28).attrs["reason"].startswith(
        "Importance is not shown: 27 configurations are too few to separate 3 hyperparameters' effects")
    assert importance(trials, min_configurations=27).attrs["reason"] is None


def test_a_random_search_is_binned_and_finds_the_learning_rate() -> None:
    trials = synthetic_trials()  # val_loss is driven by log10(learning_rate), sampled over a range
    table = importance(trials)
    assert table["hyperparameter"].iloc[0] == "learning_rate"
    bins = table[table["hyperparameter"] == "learning_rate"]
    assert len(bins) == 5 and all(" to " in level for level in bins["level"])
    assert "optimizer" not in set(table["hyperparameter"])  # never varied
    assert _ranked(importance(trials, target="accuracy_gap")).index[0] == "dropout"


def test_findings_name_only_clear_effects() -> None:
    findings = importance_findings(importance(_grid()), "val_loss")
    assert len(findings) == 1 and findings[0].startswith("val_loss depends most on dropout")
    flat = _grid().assign(val_loss=lambda frame: 0.3 + 0.01 * np.random.default_rng(1).standard_normal(len(frame)))
    assert importance_findings(importance(flat), "val_loss")[0].startswith("No hyperparameter moves val_loss")


def test_unusable_tables() -> None:
    with pytest.raises(AnalysisError, match="target 'momentum'"):
        importance(synthetic_trials(), target="momentum")
    constant = _grid().assign(dropout=0.0, l2=np.nan, batch_size=32)  # a missing l2 is no l2
    assert importance(constant).attrs["reason"] == (
        "Importance is not shown: no hyperparameter varies across the completed trials.")
    failed = _grid().assign(status="failed")
    assert "no completed execution" in importance(failed).attrs["reason"]


def _regression_grid() -> pd.DataFrame:
    """The grid as a regression's trials: squared errors, no accuracy; dropout closes the MSE gap."""
    grid = _grid()
    return grid.assign(val_mse=grid["val_loss"] * 10, train_mse=grid["val_loss"] * 10 - (0.5 - grid["dropout"]))


def test_a_regressions_gap_is_its_mse_gap_and_its_notice_names_its_own_columns() -> None:
    trials = _regression_grid()
    gap = _ranked(importance(trials, target="mse_gap"))
    assert gap.index[0] == "dropout" and gap.loc["dropout", "effect"] == pytest.approx(0.4, abs=0.01)
    with pytest.raises(AnalysisError) as refused:
        importance(trials, target="accuracy_gap")
    message = str(refused.value)
    assert "needs column(s) train_accuracy, val_accuracy, which a regression's trials do not have" in message
    assert "try one of val_loss, val_mse, val_mae, val_r2, test_mse, test_r2, mse_gap, loss_gap" in message
    assert "crossentropy" not in message


def test_a_regressions_importance_figure_draws_the_mse_gap() -> None:
    from types import SimpleNamespace

    from fitsweep.figures import plot_importance

    figure = plot_importance(SimpleNamespace(trials=_regression_grid(), epochs=pd.DataFrame()))
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    assert titles == ["importance for val_loss (lower is better)", "importance for MSE gap (validation - training)"]
