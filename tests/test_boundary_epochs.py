"""The decision boundary by epoch: one execution retrained to a few of its epochs, a panel each."""

from __future__ import annotations

from typing import Any

import pytest

from fitsweep.figures import FigureError, load_splits, plot_decision_boundary_epochs
from fitsweep.figures._boundary_epochs import spread_epochs


def test_each_panel_is_the_execution_at_an_epoch_asked_for(tiny_run: Any) -> None:
    trial_id = str(tiny_run.trials["trial_id"].iloc[0])
    figure = plot_decision_boundary_epochs(tiny_run, trial_id=trial_id, epochs=[1, 99], splits=load_splits(tiny_run))
    titles = [ax.get_title(loc="left") for ax in figure.axes if ax.get_title(loc="left")]
    last = int(tiny_run.trials.loc[tiny_run.trials["trial_id"] == trial_id, "epochs_run"].iloc[0])
    assert [title.split("\n")[0] for title in titles] == [f"trial {trial_id}, run 0: epoch 1",
                                                          f"trial {trial_id}, run 0: epoch {last}"]  # 99 capped


def test_the_last_epochs_panel_reproduces_the_sweeps_validation_loss(tiny_run: Any) -> None:
    best = str(tiny_run.info["best_trial"])
    figure = plot_decision_boundary_epochs(tiny_run, epochs=[99], splits=load_splits(tiny_run))  # the best trial
    title = next(ax.get_title(loc="left") for ax in figure.axes if ax.get_title(loc="left"))
    epochs = tiny_run.epochs[(tiny_run.epochs["trial_id"] == best) & (tiny_run.epochs["execution"] == 0)]
    recorded = float(epochs.sort_values("epoch")["val_loss"].iloc[-1])
    assert title.startswith(f"trial {best}, run 0") and float(title.split("val_loss ")[1]) == pytest.approx(
        recorded, rel=1e-3)


def test_an_unknown_trial_is_refused_with_its_name(tiny_run: Any) -> None:
    with pytest.raises(FigureError, match="trial 99 has no execution 0"):
        plot_decision_boundary_epochs(tiny_run, trial_id="99", splits=load_splits(tiny_run))


def test_default_epochs_spread_from_the_first_to_the_last_on_a_log_scale() -> None:
    assert spread_epochs(200) == [1, 6, 34, 200]
    assert spread_epochs(3) == [1, 2, 3]
