"""Tests of fitsweep.analysis: verdicts on synthetic curves, statistics against hand formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fitsweep.analysis import (
    AnalysisError,
    Fit,
    capacity,
    chance_level_loss,
    diagnose,
    weight_stats,
)
from fitsweep.errors import FitsweepError
from synthetic_curves import BORDERLINE, CHANCE, EXPECTED, sweep, trials_of


def _verdicts(table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(table["trial_id"], table["fit"], strict=True))


# --- diagnose: synthetic curves ------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clear_cases_get_their_verdict(seed: int) -> None:
    epochs = sweep({kind: kind for kind in EXPECTED}, executions=2, seed=seed)
    table = diagnose(epochs, chance_loss=CHANCE)
    assert len(table) == 2 * len(EXPECTED)
    for trial_id, fit in zip(table["trial_id"], table["fit"], strict=True):
        assert fit == EXPECTED[trial_id], table.loc[table.trial_id == trial_id, "fit_reason"].tolist()


def test_clear_cases_without_chance_loss_use_the_sweeps_best() -> None:
    table = diagnose(sweep({kind: kind for kind in ("good", "overfit", "underfit", "diverged")}))
    assert _verdicts(table) == {"good": "good", "overfit": "overfit", "underfit": "underfit", "diverged": "diverged"}


def test_borderline_cases_get_some_verdict() -> None:
    kinds = {kind: kind for kind in (*BORDERLINE, "good", "overfit")}
    for chance in (CHANCE, None):
        table = diagnose(sweep(kinds), chance_loss=chance)
        assert set(table["fit"]) <= {fit.value for fit in Fit}
        assert table["fit_reason"].str.len().gt(10).all()


def test_reasons_carry_the_numbers() -> None:
    table = diagnose(sweep({kind: kind for kind in ("overfit", "underfit", "good", "diverged")}), chance_loss=CHANCE)
    reasons = dict(zip(table["trial_id"], table["fit_reason"], strict=True))
    assert "validation loss rose" in reasons["overfit"] and "% after its minimum" in reasons["overfit"]
    assert "training accuracy" in reasons["underfit"] and "reachable" in reasons["underfit"]
    assert reasons["diverged"] == "loss became nan at epoch 7"


def test_evidence_matches_a_hand_computed_curve() -> None:
    epochs = pd.DataFrame({
        "trial_id": "7", "execution": 0, "epoch": [1, 2, 3, 4],
        "loss": [1.0, 0.5, 0.25, 0.2], "val_loss": [1.0, 0.6, 0.5, 0.7],
        "accuracy": [0.5, 0.7, 0.9, 0.95], "val_accuracy": [0.5, 0.7, 0.8, 0.75],
    })
    row = diagnose(epochs, trend_epochs=2).iloc[0]
    assert (row.best_epoch, row.epochs_run) == (3, 4)
    assert row.min_val_loss == 0.5 and row.final_loss == 0.2 and row.final_val_loss == 0.7
    assert row.loss_gap == pytest.approx(0.5)
    assert row.accuracy_gap == pytest.approx(0.2)
    assert row.val_rise == pytest.approx(0.4)
    assert row.train_trend == pytest.approx(-0.05 / 0.225)  # slope -0.05 per epoch over mean 0.225
    assert (row.train_error, row.val_error) == (pytest.approx(0.1), pytest.approx(0.2))  # at the selected epoch 3
    assert row.fit == Fit.OVERFIT and row.high_variance
    assert "rose 40% after its minimum 0.5 at epoch 3" in row.fit_reason and "(0.25 to 0.2)" in row.fit_reason


def test_thresholds_are_keyword_arguments() -> None:
    epochs = sweep({"rise": "overfit_rise"})
    assert diagnose(epochs).fit.iloc[0] == Fit.OVERFIT
    assert diagnose(epochs, margin=1.0, accuracy_margin=0.5).fit.iloc[0] == Fit.GOOD
    for bad in ({"margin": -0.1}, {"accuracy_margin": float("nan")}, {"confidence": 1.0}, {"confidence": 0.3}):
        with pytest.raises(AnalysisError, match=next(iter(bad))):
            diagnose(epochs, **bad)
    with pytest.raises(AnalysisError, match="trend_epochs"):
        diagnose(epochs, trend_epochs=1)
    with pytest.raises(AnalysisError, match="chance_loss"):
        diagnose(epochs, chance_loss=-1.0)


def test_one_configuration_is_underfit_only_by_its_own_curve() -> None:
    """Alone, nothing shows what the data allow: at chance it learned nothing; 89% of chance may be all there is."""
    stuck = diagnose(sweep({"only": "stuck"}), chance_loss=CHANCE).iloc[0]
    assert stuck.fit == Fit.UNDERFIT and "never moved" in stuck.fit_reason
    high = diagnose(sweep({"only": "underfit"}), chance_loss=CHANCE).iloc[0]  # 0.62, 89% of chance: noisy labels?
    assert high.fit == Fit.GOOD and "judged by its curve alone" in high.fit_reason
    assert "pass chance_loss" not in high.fit_reason  # it was passed
    unknown = diagnose(sweep({"only": "underfit"})).iloc[0]
    assert unknown.fit == Fit.GOOD and "pass chance_loss" in unknown.fit_reason


def test_a_loss_that_blew_up_within_an_epoch_is_a_learning_rate_too_high_not_too_small() -> None:
    """Keras' running loss of epoch 1 a million times the loss measured after it: the network overshot and died.

    What reads afterwards as a loss that never moved is the wreck; raising the learning rate or the
    capacity would be the wrong advice. Dropout's running loss, a little above the measured one, is no blow-up.
    """
    epochs = sweep({"blown": "stuck", "good": "good"})
    running = epochs["loss"] * np.where(epochs["trial_id"] == "good", 1.3, 1.0)  # dropout active while training
    epochs["running_loss"] = np.where((epochs["trial_id"] == "blown") & (epochs["epoch"] == 1), 1.08e6, running)
    trials = pd.DataFrame({"trial_id": ["blown", "good"], "execution": 0, "status": "completed",
                           "learning_rate": [0.5, 1e-3], "params": [513, 6_209]})
    table = diagnose(epochs, trials, chance_loss=CHANCE).set_index("trial_id")
    blown, good = table.loc["blown"], table.loc["good"]
    assert blown.fit == Fit.UNDERFIT
    assert "blew up during epoch 1: Keras' running loss over its batches reached 1.08e+06" in blown.fit_reason
    assert "learning rate (0.5) is likely too high" in blown.fit_reason and "lower it" in blown.fit_reason
    assert "too small" not in blown.fit_reason and "raise" not in blown.fit_reason
    assert "add capacity" not in blown.fit_reason, blown.fit_reason
    assert good.fit == Fit.GOOD and "blew up" not in good.fit_reason


def test_a_sweep_whose_best_is_near_chance_says_so_and_underfits_nobody_by_chance_alone() -> None:
    table = diagnose(sweep({"a": "underfit", "b": "underfit"}), chance_loss=CHANCE)
    assert set(table["fit"]) == {Fit.GOOD}
    assert table["fit_reason"].str.contains("reaches only 9% below the chance level 0.693: the inputs carry little "
                                            "signal").all(), table["fit_reason"].tolist()


def test_repeats_pooled_carry_a_blow_up_only_when_most_of_them_had_one() -> None:
    from fitsweep.analysis._repeats import pooled

    table = pd.DataFrame({"trial_id": ["a"] * 3 + ["b"] * 3, "execution": [0, 1, 2] * 2, "diverged_at": None,
                          "final_loss": 0.69, "train_error": 0.5, "train_crossentropy": 0.69,
                          "best_epoch": 1, "min_val_epoch": 1, "last_epoch": 30,
                          "blowup_ratio": [1e6, 1.0, 1.0, 1e6, 1e6, 1.0], "blowup_loss": [1e6, 0.7, 0.7, 1e6, 1e6, 0.7],
                          "blowup_epoch": [1, 5, 9, 1, 1, 9]})
    means = pooled(table, ["trial_id"]).set_index("trial_id")
    assert means.loc["a", "blowup_ratio"] == 1.0 and means.loc["b", "blowup_ratio"] == 1e6
    assert means.loc["b", "blowup_epoch"] == 1


def test_an_accurate_sweep_whose_loss_is_no_better_than_chance_is_said_to_make_confident_mistakes() -> None:
    """Adam at 10 on scaled breast-cancer features: validation accuracy 0.96, validation cross-entropy 15.

    A loss above the chance level there is not inputs without signal: the few errors are made with
    outputs saturated at 0 or 1, which the cross-entropy punishes without limit.
    """
    epochs = sweep({"a": "good", "b": "good"})
    epochs["val_loss"] = epochs["val_loss"] * 100  # every validation loss far above ln 2, the accuracies unchanged
    reasons = diagnose(epochs, chance_loss=CHANCE)["fit_reason"]
    assert reasons.str.contains("is no better than the chance level 0.693 though the sweep's best validation "
                                "accuracy is").all(), reasons.tolist()
    assert reasons.str.contains("confidently wrong").all() and not reasons.str.contains("little signal").any()


def test_a_logistic_regression_that_beats_the_whole_sweep_is_what_the_data_allow() -> None:
    """Two configurations near chance, and a logistic regression far below them: both underfit against it.

    Without it, each would be good against the other (the test above); a reference the sweep
    beats changes nothing.
    """
    epochs = sweep({"a": "underfit", "b": "underfit"})
    strong = {"val_crossentropy": 0.3, "val_accuracy": 0.86, "val_crossentropy_sd": 0.4}
    table = diagnose(epochs, chance_loss=CHANCE, linear_reference=strong)
    assert set(table["fit"]) == {Fit.UNDERFIT}, table["fit_reason"].tolist()
    assert table["fit_reason"].str.contains("against 0.860 reachable \\(the validation accuracy of a logistic "
                                            "regression fitted on the training split\\)").all()
    weak = {"val_crossentropy": 0.69, "val_accuracy": 0.5, "val_crossentropy_sd": 0.1}
    plain = diagnose(epochs, chance_loss=CHANCE)
    beside_weak = diagnose(epochs, chance_loss=CHANCE, linear_reference=weak)
    assert beside_weak[["fit", "fit_reason"]].equals(plain[["fit", "fit_reason"]])


def test_one_configuration_is_judged_against_a_better_logistic_regression() -> None:
    """Alone, a curve at 89% of chance is good by itself; beside a logistic regression at 0.3 it underfits."""
    only = sweep({"only": "underfit"})
    row = diagnose(only, chance_loss=CHANCE,
                   linear_reference={"val_crossentropy": 0.3, "val_accuracy": 0.86}).iloc[0]
    assert row.fit == Fit.UNDERFIT and "logistic regression" in row.fit_reason, row.fit_reason
    good = diagnose(sweep({"only": "good"}), chance_loss=CHANCE,
                    linear_reference={"val_crossentropy": 0.3, "val_accuracy": 0.86}).iloc[0]
    assert good.fit == Fit.GOOD and "logistic" not in good.fit_reason, good.fit_reason


def test_a_logistic_regression_as_good_as_an_overfit_network_does_not_excuse_its_gap() -> None:
    """Training accuracy 1.000 against validation 0.780: overfit, even if a linear model also reaches 0.78.

    The yardstick measures bias; a gap costs generalisation against the sweep's own configurations.
    """
    only = sweep({"only": "overfit_gap"})
    alike = {"val_crossentropy": 0.01, "val_accuracy": 0.78}
    row = diagnose(only, chance_loss=CHANCE, linear_reference=alike).iloc[0]
    assert row.fit == Fit.OVERFIT, row.fit_reason
    assert "validation accuracy 0.780 against training 1.000" in row.fit_reason


def test_a_penalty_is_named_first_for_a_network_it_holds_at_chance() -> None:
    """L2 at 0.1 with Adam at 0.01: the penalty pins the weights at zero; the learning rate is no suspect first."""
    epochs = sweep({"pinned": "stuck", "good": "good"})
    trials = pd.DataFrame({"trial_id": ["pinned", "good"], "execution": 0, "status": "completed",
                           "learning_rate": [0.01, 0.01], "l2": [0.1, 0.0], "params": [4_353, 4_353]})
    reason = diagnose(epochs, trials, chance_loss=CHANCE).set_index("trial_id").loc["pinned", "fit_reason"]
    assert "Likely cause: regularization l2=0.1: weaken it; the training loss never moved" in reason, reason


def test_a_penalty_that_holds_a_moving_loss_at_chance_is_named_before_the_learning_rate() -> None:
    """L2 1.0 under Adam: the penalised weights collapse and the loss falls only 4%, to the chance level."""
    epochs = sweep({"pinned": "stuck", "good": "good"})
    pinned = (epochs["trial_id"] == "pinned").to_numpy()
    falling = np.linspace(0.725, CHANCE, int(pinned.sum()))  # moved 4%: neither flat nor steadily improving
    epochs.loc[pinned, "loss"], epochs.loc[pinned, "val_loss"] = falling, falling + 0.002
    trials = pd.DataFrame({"trial_id": ["pinned", "good"], "execution": 0, "status": "completed",
                           "learning_rate": [1e-3, 1e-3], "l2": [1.0, 0.0], "params": [4_353, 4_353]})
    reason = diagnose(epochs, trials, chance_loss=CHANCE).set_index("trial_id").loc["pinned", "fit_reason"]
    assert "Likely cause: regularization l2=1: weaken it" in reason, reason


def test_a_loss_that_never_moved_is_underfit_with_its_causes() -> None:
    epochs = sweep({"stuck": "stuck", "good": "good"})
    trials = pd.DataFrame({"trial_id": ["stuck", "good"], "execution": 0, "status": "completed",
                           "learning_rate": [1e-6, 1e-3], "params": [4_353, 4_353]})
    row = diagnose(epochs, trials, chance_loss=CHANCE).set_index("trial_id").loc["stuck"]
    assert row.fit == Fit.UNDERFIT
    assert "never moved: 0.6931 after the first epoch and 0.6931 after the last" in row.fit_reason
    assert "learning rate (1e-06) too small to move the weights" in row.fit_reason and "dead relu" in row.fit_reason
    assert "training accuracy 0.500 and validation 0.500, the majority class's share 0.500" in row.fit_reason
    assert "per epoch" not in row.fit_reason and "add capacity" not in row.fit_reason


def test_a_model_at_chance_by_cross_entropy_but_above_the_majority_share_is_not_called_the_majority_baseline() -> None:
    """Balanced classes, cross-entropy at ln 2, accuracy 0.633: outputs near the priors, not the majority class."""
    epochs = sweep({"stuck": "stuck", "good": "good"})
    stuck = epochs["trial_id"] == "stuck"
    epochs.loc[stuck, "accuracy"], epochs.loc[stuck, "val_accuracy"] = 0.633, 0.627
    trials = pd.DataFrame({"trial_id": ["stuck", "good"], "execution": 0, "status": "completed",
                           "learning_rate": [1e-6, 1e-3], "params": [4_353, 4_353]})
    reason = diagnose(epochs, trials, chance_loss=CHANCE).set_index("trial_id").loc["stuck", "fit_reason"]
    assert "training accuracy 0.633 and validation 0.627" in reason, reason
    assert "majority" not in reason and "for every row" not in reason


def test_a_slow_steady_fall_raises_the_learning_rate_before_training_longer() -> None:
    epochs = sweep({"slow": "underfit", "good": "good"}, epochs=8)  # stopped while the slow one still falls
    trials = pd.DataFrame({"trial_id": ["slow", "good"], "execution": 0, "status": "completed",
                           "learning_rate": [1e-4, 1e-3]})
    reason = diagnose(epochs, trials, chance_loss=CHANCE).set_index("trial_id").loc["slow", "fit_reason"]
    assert "raise the learning rate (0.0001), or train longer" in reason, reason
    flat = sweep({"slow": "underfit", "good": "good"}, epochs=60)  # converged: no fall worth another run
    reason = diagnose(flat, trials, chance_loss=CHANCE).set_index("trial_id").loc["slow", "fit_reason"]
    assert "still improving" not in reason and "0.0%" not in reason, reason


# --- repeats judged together ---------------------------------------------------------------


def _repeats_of(kinds: dict[str, list[str]], seed: int = 0) -> pd.DataFrame:
    """An epochs table whose trials have one execution per listed kind."""
    frames = [sweep({trial: kind}, seed=seed + 10 * i).assign(execution=execution)
              for i, (trial, listed) in enumerate(kinds.items()) for execution, kind in enumerate(listed)]
    return pd.concat(frames, ignore_index=True)


def test_repeats_take_their_configurations_verdict() -> None:
    """Two of three repeats read underfit, one far better: it stands apart, and the other two are judged together."""
    epochs = _repeats_of({"best": ["good"] * 3, "weak": ["underfit", "underfit", "good"]})
    table = diagnose(epochs, chance_loss=CHANCE).set_index(["trial_id", "execution"])
    alone = diagnose(epochs[epochs.execution == 2], chance_loss=CHANCE).set_index("trial_id")
    assert alone.loc["weak", "fit"] == Fit.GOOD  # the third repeat alone ...
    weak = table.loc["weak"]
    assert weak["fit"].tolist() == [Fit.UNDERFIT] * 2 + [Fit.GOOD]  # ... is a clear outlier among its repeats
    assert "execution 2 is an outlier among its 3 repeats" in weak.loc[2, "fit_reason"]


def test_an_execution_within_the_spread_of_its_repeats_follows_them() -> None:
    epochs = _repeats_of({"best": ["good"] * 3, "weak": ["underfit"] * 3})
    weak = epochs["trial_id"].eq("weak") & epochs["execution"].eq(1)
    epochs.loc[weak, ["loss", "val_loss"]] *= 0.93  # a little better, within what seeds do
    own = diagnose(epochs[epochs.execution == 1], chance_loss=CHANCE).set_index("trial_id").loc["weak"]
    row = diagnose(epochs, chance_loss=CHANCE).set_index(["trial_id", "execution"]).loc[("weak", 1)]
    assert row.fit == Fit.UNDERFIT, row.fit_reason
    assert own.fit == Fit.UNDERFIT or "its 3 repeats judged together" in row.fit_reason


def test_one_epoch_does_not_crash() -> None:
    row = diagnose(sweep({"short": "one_epoch"})).iloc[0]
    assert row.epochs_run == 1 and math.isnan(row.train_trend) and row.val_rise == 0


def test_trial_status_is_reflected() -> None:
    epochs = sweep({"ok": "good", "blew": "good", "shown": "diverged"})
    trials = pd.DataFrame({
        "trial_id": ["ok", "blew", "blew", "shown", "failed", "gone"],
        "execution": [0, 0, 1, 0, 0, 0],
        "status": ["completed", "diverged", "diverged", "diverged", "failed", "diverged"],
        "error": [None, "FailedTrialError: Diverged: a loss became NaN", None, None, "OOM", None],
    })
    table = diagnose(epochs, trials)
    assert "status" in table.columns
    assert "failed" not in set(table["trial_id"])  # no epochs: nothing to judge
    assert _verdicts(table) == {"ok": "good", "blew": "diverged", "shown": "diverged", "gone": "diverged"}
    blew = table[table.trial_id == "blew"]
    assert len(blew) == 2 and blew.fit_reason.str.contains("status is diverged").all()
    assert math.isnan(table.loc[table.trial_id == "gone", "final_loss"].iloc[0])


def test_runs_are_kept_apart() -> None:
    first = sweep({"0": "good", "1": "underfit"}).assign(run="a")
    second = sweep({"0": "underfit", "1": "good"}).assign(run="b")
    table = diagnose(pd.concat([first, second], ignore_index=True))
    assert list(table.columns[:3]) == ["run", "trial_id", "execution"]
    assert table["fit"].tolist() == ["good", "underfit", "underfit", "good"]


def test_empty_or_incomplete_epochs_raise_analysis_error() -> None:
    empty = sweep({"x": "good"}).iloc[:0]
    with pytest.raises(AnalysisError, match="no epochs"):
        diagnose(empty)
    with pytest.raises(AnalysisError, match="lacks column"):
        diagnose(sweep({"x": "good"}).drop(columns="val_loss"))
    assert issubclass(AnalysisError, FitsweepError)


def test_fit_is_a_string_enum() -> None:
    table = diagnose(sweep({"o": "overfit", "g": "good"}))
    assert (table.fit == Fit.OVERFIT).tolist() == [False, True]
    assert str(Fit.GOOD) == "good" and Fit("underfit") is Fit.UNDERFIT and Fit.DIVERGED.remedy


# --- chance level --------------------------------------------------------------------------


def test_chance_level_loss_is_the_entropy_of_the_priors() -> None:
    assert chance_level_loss([0.1] * 10) == pytest.approx(math.log(10))
    assert chance_level_loss([1, 1], binary=True) == pytest.approx(math.log(2))
    assert chance_level_loss(0.2, binary=True) == pytest.approx(-(0.2 * math.log(0.2) + 0.8 * math.log(0.8)))
    assert chance_level_loss(np.array([30, 10, 0])) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    for bad in ([1.0], [-1, 2], [0, 0]):
        with pytest.raises(AnalysisError):
            chance_level_loss(bad)
    with pytest.raises(AnalysisError, match="two priors"):
        chance_level_loss([0.2, 0.3, 0.5], binary=True)


# --- capacity ------------------------------------------------------------------------------


def test_capacity_reads_depth_and_width_from_layers() -> None:
    trials = pd.DataFrame({
        "trial_id": ["0", "1", "2", "3"], "execution": 0, "status": "completed",
        "layers": ["none", "50", "200-100", "600-400-200"], "params": [10, 100, 1000, 10000],
        "train_accuracy": [0.80, 0.90, 0.97, 0.99], "val_accuracy": [0.79, 0.87, 0.90, 0.88],
        "train_loss": [0.5, 0.3, 0.1, 0.02], "val_loss": [0.5, 0.32, 0.3, 0.4],
    })
    table = capacity(trials).set_index(["capacity", "gap"])
    assert table.loc[("params", "accuracy_gap"), "spearman_rho"] == pytest.approx(1.0)
    assert table.loc[("depth", "accuracy_gap"), "spearman_rho"] == pytest.approx(1.0)  # depths 0, 1, 2, 3
    assert table.loc[("width", "loss_gap"), "spearman_rho"] == pytest.approx(1.0)  # widths 0, 50, 200, 600
    assert (table["n"] == 4).all()


def test_capacity_with_a_fixed_depth_and_a_diagnosis() -> None:
    epochs = sweep({"0": "good", "1": "overfit_rise", "2": "overfit"})
    trials = pd.DataFrame({"trial_id": ["0", "1", "2"], "execution": 0, "status": "completed",
                           "depth": 2, "width": [16, 64, 256], "params": [300, 4000, 66000]})
    table = capacity(trials, diagnose(epochs)).set_index(["capacity", "gap"])
    assert set(table.index.get_level_values("gap")) == {"accuracy_gap", "loss_gap", "val_rise"}
    assert math.isnan(table.loc[("depth", "val_rise"), "spearman_rho"])  # depth never varies
    assert table.loc[("width", "loss_gap"), "spearman_rho"] == pytest.approx(1.0)


def test_capacity_of_nothing_raises() -> None:
    with pytest.raises(AnalysisError, match="capacity"):
        capacity(trials_of([0.9]).assign(status="failed"))
    one = capacity(trials_of([0.9]).assign(params=[10], train_loss=0.1, val_loss=0.2))
    assert one["spearman_rho"].isna().all()


# --- weight statistics ---------------------------------------------------------------------


def test_weight_stats_by_hand() -> None:
    result = weight_stats([np.array([[3.0, -4.0], [0.0, 0.0005]]), np.array([0.002])])
    assert result["n_weights"] == 5
    assert result["l1_norm"] == pytest.approx(7.0025)
    assert result["l2_norm"] == pytest.approx(math.sqrt(25 + 0.0005**2 + 0.002**2))
    assert result["near_zero_share"] == pytest.approx(2 / 5)
    assert weight_stats([np.array([0.002])], near_zero=0.01)["near_zero_share"] == 1.0
    for bad in ([], [np.empty((0, 3))], [np.array([np.nan])]):
        with pytest.raises(AnalysisError):
            weight_stats(bad)


def test_penalised_losses_are_judged_without_their_penalty() -> None:
    """A network that fits well but carries a large L1 penalty in `loss` is not underfit."""
    epochs_list = []
    for trial, penalty in (("00", 0.0), ("01", 2.0)):
        for epoch in range(1, 21):
            crossentropy = 0.6 * 0.85 ** epoch + 0.05
            epochs_list.append({
                "trial_id": trial, "execution": 0, "epoch": epoch,
                "loss": crossentropy + penalty, "val_loss": crossentropy + 0.02 + penalty,
                "accuracy": 0.97, "val_accuracy": 0.96,
                "crossentropy": crossentropy, "val_crossentropy": crossentropy + 0.02,
            })
    epochs = pd.DataFrame(epochs_list)
    verdicts = diagnose(epochs, chance_loss=0.693).set_index("trial_id")
    assert verdicts.loc["01", "fit"] == "good" and verdicts.loc["01", "train_crossentropy"] < 0.2
    penalised = diagnose(epochs, chance_loss=0.693, penalty_free=False).set_index("trial_id")
    assert penalised.loc["01", "fit"] == "underfit"


def test_verdicts_are_summarised_by_the_configuration_they_share() -> None:
    from fitsweep.analysis import fit_findings, fit_groups

    kinds = {"a": "underfit", "b": "underfit", "c": "good", "d": "overfit"}
    epochs = sweep(kinds)
    trials = pd.DataFrame({"trial_id": list(kinds), "execution": 0, "status": "completed",
                           "layers": ["8", "8", "64-64", "256-256"], "dropout": [0.0, 0.2, 0.0, 0.0]})
    diagnosis = diagnose(epochs, trials)
    groups = fit_groups(diagnosis, trials)
    underfit = groups[groups.fit == "underfit"].iloc[0]
    assert (underfit.column, underfit.value, underfit.executions) == ("layers", "8", 2)
    lines = fit_findings(diagnosis, trials)
    assert lines[0] == "Verdicts over 4 executions: 1 good, 2 underfit, 1 overfit."
    assert lines[1].startswith("Underfit: layers 8 (all 2 executions): training accuracy")
    assert any(line.startswith("Overfit: trial d (1 execution(s))") for line in lines)


def test_a_value_only_one_trial_holds_names_no_configuration() -> None:
    """Each trial of a random search has its own learning rate: its repeats sharing a verdict explain nothing."""
    from fitsweep.analysis import fit_groups

    kinds = {"a": "underfit", "b": "underfit", "c": "good"}
    epochs = sweep(kinds, executions=2)
    trials = pd.DataFrame({"trial_id": np.repeat(list(kinds), 2), "execution": [0, 1] * 3, "status": "completed",
                           "learning_rate": np.repeat([0.0123, 0.0456, 0.0789], 2),
                           "layers": np.repeat(["8", "64", "64"], 2)})
    diagnosis = diagnose(epochs, trials)
    underfit = fit_groups(diagnosis, trials).query("fit == 'underfit'")
    assert underfit["column"].isna().all() and underfit["executions"].sum() == 4
    trials["layers"] = np.repeat(["8", "8", "64"], 2)  # now two trials share the value all their executions underfit
    underfit = fit_groups(diagnose(epochs, trials), trials).query("fit == 'underfit'").iloc[0]
    assert (underfit.column, underfit.value, underfit.executions) == ("layers", "8", 4)


# --- noise from the curve when the row counts are unknown ----------------------------------


def test_labelled_curves_without_row_counts_are_judged_right() -> None:
    """240 curves at 1-5% epoch-to-epoch noise and no row counts: each curve's own scatter sets its noise."""
    from synthetic_curves import LABELLED_KINDS, labelled_runs

    table = diagnose(labelled_runs(60, seed=11), chance_loss=CHANCE)
    right = table["fit"] == table["trial_id"]
    by_kind = right.groupby(table["trial_id"]).mean()
    assert set(by_kind.index) == set(LABELLED_KINDS) and len(table) == 240
    assert by_kind.min() >= 0.95, by_kind.to_dict()  # the healthy ones included
    assert table.loc[table["fit"] == "overfit", "fit_reason"].str.contains("from the curve").all()


def test_a_curves_scatter_is_its_noise() -> None:
    from fitsweep.analysis._fit_evidence import evidence_table

    rng = np.random.default_rng(0)
    epochs = pd.DataFrame({"trial_id": "a", "execution": 0, "epoch": np.arange(1, 201),
                           "loss": 0.3 * (1 + 0.02 * rng.standard_normal(200)),
                           "val_loss": 0.2 + 0.3 * np.exp(-np.arange(200) / 5) + 0.001 * np.arange(200)})
    row = evidence_table(epochs, ["trial_id", "execution"], None, trend_epochs=5).iloc[0]
    assert row["train_scatter"] == pytest.approx(0.02, rel=0.2)  # the noise put in
    assert row["val_scatter"] < 0.002  # a smooth fall and a straight rise have no scatter


def test_validation_lead_is_read_against_the_spread_of_the_split_sizes() -> None:
    from fitsweep.analysis import validation_lead

    gaps = [-0.01, -0.03, -0.05, -0.02, 0.01]  # four of five executions ahead on validation
    diagnosis = pd.DataFrame({"accuracy_gap": gaps, "val_error": [0.1] * 5})
    trials = pd.DataFrame({"status": "completed", "val_rows": [200] * 5, "train_measured_rows": [800] * 5})
    lead = validation_lead(diagnosis, trials)
    assert lead is not None and (lead.ahead, lead.executions) == (4, 5)
    assert (lead.lead_low, lead.lead_high, lead.lead_median) == pytest.approx((0.01, 0.05, 0.025))
    assert lead.spread == pytest.approx(math.sqrt(0.9 * 0.1 * (1 / 200 + 1 / 800)))
    assert validation_lead(diagnosis, trials, share=0.9) is None  # 80% ahead is not "most" at 90%
    assert validation_lead(diagnosis.head(2), trials) is None  # two executions show no pattern
    unknown = validation_lead(diagnosis, trials.drop(columns="val_rows"))
    assert unknown is not None and math.isnan(unknown.spread)


def test_verdicts_over_repeats_read_as_words() -> None:
    from fitsweep.vocabulary import verdict_tally

    assert verdict_tally(["good"] * 3) == "good fit in 3 of 3 repeats"
    assert verdict_tally(["underfit", "good", "underfit"]) == "underfit in 2 of 3 repeats, good fit in 1"
    assert verdict_tally(["good", "good"], short=True) == "good in 2 of 2" and verdict_tally(["overfit"]) == "overfit"


def test_a_good_execution_of_a_run_without_accuracy_names_the_loss_the_sweep_reaches() -> None:
    # A KerasTuner project of a regression records loss and val_loss only: no accuracy to quote.
    epochs = sweep({kind: kind for kind in ("good", "underfit")}, executions=2)
    epochs = epochs.drop(columns=["accuracy", "val_accuracy"])
    good = diagnose(epochs).query("fit == 'good'")
    assert len(good) and not good["fit_reason"].str.contains("accuracy|nan").any()
    assert good["fit_reason"].str.contains("validation loss the sweep reaches").all()


def test_summaries_of_a_run_without_accuracy_name_the_measure_not_mse() -> None:
    # A KerasTuner import that logged its loss alone: no error rate, and no sign the loss is a squared error.
    from fitsweep.analysis import fit_findings

    kinds = {"a": "underfit", "b": "underfit", "c": "good", "d": "overfit"}
    epochs = sweep(kinds).drop(columns=["accuracy", "val_accuracy"])
    trials = pd.DataFrame({"trial_id": list(kinds), "execution": 0, "status": "completed",
                           "layers": ["8", "8", "64-64", "256-256"]})
    diagnosis = diagnose(epochs, trials)
    unnamed = fit_findings(diagnosis, trials)
    assert unnamed[1].startswith("Underfit: layers 8 (all 2 executions): training loss ")
    assert not any("MSE" in line or "accuracy" in line for line in unnamed)
    named = fit_findings(diagnosis, trials, "MAE")
    assert named[1].startswith("Underfit: layers 8 (all 2 executions): training MAE ")
    assert any("validation MAE" in line and "validation MAE up" in line for line in named if "Overfit" in line)
