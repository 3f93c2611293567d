"""Tests of fitsweep.figures: every plot returns a Figure from real and synthetic tables, or says why not."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from fitsweep.analysis import diagnose
from fitsweep.errors import FitsweepError
from fitsweep.figures import (
    VERDICT_COLORS,
    FigureError,
    plot_confusion_matrix,
    plot_decision_boundaries,
    plot_gap_vs_capacity,
    plot_hyperparameters,
    plot_importance,
    plot_learning_curves,
    plot_regularizer_comparison,
    plot_weight_sparsity,
)
from synthetic_curves import CHANCE, sweep, synthetic_trials

KINDS = ["good", "overfit", "underfit", "good_dropout", "overfit_gap", "diverged", "good", "underfit"]


def _drawn(figure: Figure) -> Figure:
    """The figure, after checking it is a real, drawable, Agg-backed matplotlib figure with content."""
    assert isinstance(figure, Figure)
    assert isinstance(figure.canvas, FigureCanvasAgg)
    assert [ax for ax in figure.axes if ax.get_visible() and ax.has_data()], "no axes with data"
    figure.canvas.draw()  # raises if anything in it cannot be drawn
    return figure


@pytest.fixture(scope="module")
def synthetic_run() -> SimpleNamespace:
    """Tables only (no spec, no folder): 8 trials of known kinds, one diverged, with weight statistics."""
    epochs = sweep(KINDS, executions=2)
    trials = synthetic_trials(n_trials=len(KINDS), executions=2)
    trials["status"] = ["diverged" if KINDS[int(t)] == "diverged" else "completed" for t in trials["trial_id"]]
    trials["l1"] = [1e-3 if int(t) % 3 == 0 else 0.0 for t in trials["trial_id"]]
    rng = np.random.default_rng(0)
    trials["weight_l1"] = rng.uniform(10, 50, len(trials)) * np.where(trials["l1"] > 0, 0.3, 1.0)
    trials["weight_l2"] = rng.uniform(2, 6, len(trials)) * np.where(trials["l2"] > 0, 0.5, 1.0)
    trials["near_zero_share"] = np.where(trials["l1"] > 0, rng.uniform(0.4, 0.7, len(trials)), 0.01)
    return SimpleNamespace(trials=trials.astype({"status": "string"}), epochs=epochs)


# --- a real tiny run -----------------------------------------------------------------------


@pytest.mark.parametrize("plot", [plot_learning_curves, plot_gap_vs_capacity, plot_hyperparameters],
                         ids=lambda f: f.__name__)
def test_table_figures_of_a_real_run(tiny_run, plot) -> None:
    _drawn(plot(tiny_run))


def test_a_run_folder_path_works_as_well_as_a_run(tiny_run) -> None:
    _drawn(plot_learning_curves(str(tiny_run.path)))


def test_importance_of_a_small_run_says_why_it_is_withheld(tiny_run) -> None:
    # 3 configurations cannot separate the hyperparameters' effects from noise: the figure says so.
    with pytest.raises(FigureError, match="3 configurations are too few"):
        plot_importance(tiny_run)


def test_regularizer_comparison_of_a_real_run_or_a_reason(tiny_run) -> None:
    try:
        _drawn(plot_regularizer_comparison(tiny_run))
    except FigureError as error:  # the three sampled trials may all share one regularization
        assert "same regularization" in str(error)


def test_model_figures_of_a_real_run(tiny_run) -> None:
    assert _drawn(plot_decision_boundaries(tiny_run)).axes[0].get_title(loc="left").startswith("kept model: trial")
    title = _drawn(plot_confusion_matrix(tiny_run)).axes[0].get_title(loc="left")
    assert "accuracy" in title and f"{tiny_run.info['data']['test']} samples" in title


def test_the_kept_models_confusion_matrix_is_its_executions_test_accuracy(tiny_run) -> None:
    best = tiny_run.trials[tiny_run.trials["trial_id"] == tiny_run.info["best_trial"]]
    kept = best.loc[best[tiny_run.spec.tuner.objective].astype(float).idxmin()]  # the objective: lower is better
    title = plot_confusion_matrix(tiny_run).axes[0].get_title(loc="left")
    assert title.startswith(f"kept model: trial {kept['trial_id']}, execution {kept['execution']}")
    shown = float(title.split("accuracy ")[1].split()[0])
    assert abs(shown - kept["test_accuracy"]) < 0.002


def test_decision_boundaries_need_two_features(tiny_run) -> None:
    with pytest.raises(FigureError, match="2 features; this data has 64"):
        plot_decision_boundaries(tiny_run, splits=SimpleNamespace(n_features=64))


def test_decision_boundaries_without_a_kept_model(tiny_run) -> None:
    run = SimpleNamespace(**{**vars(tiny_run), "best_model": None})
    with pytest.raises(FigureError, match="no model was kept"):
        plot_decision_boundaries(run)


@pytest.mark.slow
def test_retrained_boundaries_reproduce_the_sweep(tmp_path) -> None:
    from conftest import tiny_sweep
    from fitsweep import parse_spec, run_sweep

    # Trial 0 fits; the no-hidden-layer, high-penalty trial cannot learn the moons: one underfit panel.
    sweep_file = tiny_sweep(model={"layers": {"values": [[16, 16], []]}, "l2": {"values": [0.0, 0.5]}},
                            train={"epochs": 8, "learning_rate": 0.02}, tuner={"algorithm": "grid", "max_trials": 4})
    run = run_sweep(parse_spec(sweep_file), results_dir=tmp_path)
    diagnosis = diagnose(run.epochs, run.trials, chance_loss=CHANCE)
    figure = _drawn(plot_decision_boundaries(run, diagnosis=diagnosis, retrain=True))
    titles = [ax.get_title(loc="left") for ax in figure.axes if ax.get_title(loc="left")]
    assert titles[0].startswith("kept model: trial")
    for title in titles[1:]:
        assert "retrained" in title and "matches the sweep" in title, title


# --- tables only ---------------------------------------------------------------------------


@pytest.mark.parametrize("plot", [plot_learning_curves, plot_gap_vs_capacity, plot_regularizer_comparison,
                                  plot_hyperparameters, plot_weight_sparsity], ids=lambda f: f.__name__)
def test_figures_from_tables_alone(synthetic_run, plot) -> None:
    diagnosis = diagnose(synthetic_run.epochs, synthetic_run.trials, chance_loss=CHANCE)
    _drawn(plot(synthetic_run, diagnosis=diagnosis))


def test_importance_from_tables_alone() -> None:
    tables = SimpleNamespace(trials=synthetic_trials(n_trials=40), epochs=sweep(KINDS))  # 40 configurations
    figure = _drawn(plot_importance(tables))
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels[0] == "learning_rate"  # the synthetic val_loss is driven by the learning rate


def test_learning_curves_show_every_trial_coloured_by_its_verdict(synthetic_run) -> None:
    diagnosis = diagnose(synthetic_run.epochs, synthetic_run.trials, chance_loss=CHANCE)
    figure = plot_learning_curves(synthetic_run, diagnosis=diagnosis)
    titles = [ax.get_title(loc="left") for ax in figure.axes if ax.get_title(loc="left")]
    assert len(titles) == len(KINDS)
    assert titles[0].startswith("trial ") and "best" in titles[0]
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert {"validation", "training", "good", "overfit", "underfit", "diverged"} <= set(legend)


def test_learning_curves_draw_each_execution_dashed_for_training_and_solid_for_validation(synthetic_run) -> None:
    diagnosis = diagnose(synthetic_run.epochs, synthetic_run.trials, chance_loss=CHANCE)
    figure = plot_learning_curves(synthetic_run, diagnosis=diagnosis)
    loss_ax = figure.axes[0]  # the best trial's loss
    trial_id = loss_ax.get_title(loc="left").split()[1]
    fits = diagnosis.loc[diagnosis["trial_id"].astype(str) == trial_id, "fit"].astype(str)
    curves = [c for c in loss_ax.collections if (c.get_colors()[:, 3] < 1).all()]  # the grid lines are opaque
    assert len(curves) == 1
    assert len(curves[0].get_segments()) == 2 * len(fits)
    solid = [dashes is None for _, dashes in curves[0].get_linestyles()]
    assert solid.count(True) == solid.count(False) == len(fits)
    assert {to_hex(color) for color in curves[0].get_colors()} == {to_hex(VERDICT_COLORS[fit]) for fit in fits}
    _drawn(figure)


def test_learning_curves_of_a_large_sweep_show_a_spread_and_say_so(synthetic_run) -> None:
    figure = plot_learning_curves(synthetic_run, max_trials=4)
    titles = [ax.get_title(loc="left") for ax in figure.axes if ax.get_title(loc="left")]
    assert len(titles) == 4
    assert any("4 of 8 trials" in text.get_text() for text in figure.texts)


def test_weight_sparsity_of_a_real_run(tiny_run) -> None:
    _drawn(plot_weight_sparsity(tiny_run))


def test_weight_sparsity_is_skipped_without_weight_columns(tiny_run) -> None:
    trials = tiny_run.trials.drop(columns=["weight_l1", "weight_l2", "near_zero_share"], errors="ignore")
    with pytest.raises(FigureError, match="no weight statistics"):
        plot_weight_sparsity(SimpleNamespace(trials=trials, epochs=tiny_run.epochs))


def test_figures_without_a_completed_trial_say_so(synthetic_run) -> None:
    failed = SimpleNamespace(trials=synthetic_run.trials.assign(status="failed"), epochs=synthetic_run.epochs.iloc[:0])
    for plot in (plot_learning_curves, plot_gap_vs_capacity, plot_regularizer_comparison, plot_hyperparameters,
                 plot_importance):
        with pytest.raises(FitsweepError):
            plot(failed)


def test_one_regularization_is_nothing_to_compare(synthetic_run) -> None:
    trials = synthetic_run.trials.assign(l1=0.0, l2=0.0, dropout=0.0)
    with pytest.raises(FigureError, match=r"same regularization \(none\)"):
        plot_regularizer_comparison(SimpleNamespace(trials=trials, epochs=synthetic_run.epochs))


def test_figures_leave_pyplot_and_its_backend_alone(synthetic_run) -> None:
    import matplotlib

    backend = matplotlib.get_backend()
    plot_learning_curves(synthetic_run)
    assert matplotlib.get_backend() == backend
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_figure_tables_are_not_modified(synthetic_run) -> None:
    before = synthetic_run.trials.copy(), synthetic_run.epochs.copy()
    plot_hyperparameters(synthetic_run)
    plot_weight_sparsity(synthetic_run)
    pd.testing.assert_frame_equal(synthetic_run.trials, before[0])
    pd.testing.assert_frame_equal(synthetic_run.epochs, before[1])


def test_gap_against_capacity_is_not_drawn_for_a_single_network_size() -> None:
    from fitsweep.figures import FigureError

    with pytest.raises(FigureError, match="793,610 parameters"):
        plot_gap_vs_capacity("results/notmnist-regularizers")


def test_a_regressions_gap_against_capacity_draws_only_the_squared_error_gap() -> None:
    figure = plot_gap_vs_capacity("results/diabetes")  # no accuracy: no empty accuracy panel
    assert [ax.get_ylabel().split("\n")[0] for ax in figure.axes] == ["loss gap at the last epoch"]
    assert figure.axes[0].get_legend() is not None and figure.axes[0].get_title().startswith("Spearman rho = +")
