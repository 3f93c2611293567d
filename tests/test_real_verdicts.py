"""Verdicts on real runs whose reading was first established by training the same networks in plain Keras.

Each case states what plain `model.fit` of the same network on the same split showed, over
several seeds, and asserts fitsweep's verdict and the key words of its cause; and the committed
studies' repeats are judged together.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fitsweep
from conftest import REPO
from fitsweep import parse_spec, run_sweep
from fitsweep.analysis import diagnose


def test_the_notmnist_softmax_regressions_repeats_all_underfit() -> None:
    """Alone, one of the three repeats sat inside the noise bound by 0.002; their mean is clearly above."""
    run = fitsweep.load(REPO / "results" / "notmnist-capacity")
    table = diagnose(run.epochs, run.trials, chance_loss=run.info["chance_loss"])
    softmax = table[table["trial_id"].astype(str) == "0"]
    assert len(softmax) == 3 and (softmax["fit"] == "underfit").all(), softmax["fit_reason"].tolist()
    assert softmax["fit_reason"].str.contains("small network").all()


def _noisy_labels_csv(folder: Path) -> Path:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=1500, n_features=20, n_informative=5, flip_y=0.3, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(label=y)
    path = folder / "noisy.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_noisy_labels_leave_a_logistic_regression_good_and_big_networks_overfit(tmp_path: Path) -> None:
    """30% of the labels drawn at random: no model gets near zero error, and that is no underfitting.

    Plain Keras, the same split (960 training, 240 validation rows, standardized), Adam 0.01, batch
    32, 60 epochs, seeds 0-2: the logistic regression's training cross-entropy is 0.552 (80% of
    chance) and its best validation cross-entropy 0.570-0.575, training accuracy 0.73 against 0.69-0.70
    validation: it fits as well as the data allow. The 256-256 networks reach their lowest
    validation cross-entropy 0.543-0.568 at epoch 1-2, then rise to 2.96-3.47 while their training
    cross-entropy falls to 0.000 (training accuracy 1.000): they overfit.
    """
    sweep = {"name": "noisy-labels",
             "data": {"source": "csv", "path": str(_noisy_labels_csv(tmp_path)), "target": "label",
                      "scaling": "standardize"},
             "model": {"layers": {"values": [[], [256, 256]]}, "dropout": 0.0, "l2": 0.0},
             "train": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 60},
             "tuner": {"algorithm": "grid", "max_trials": 2, "executions_per_trial": 3}}
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    table = diagnose(run.epochs, run.trials, chance_loss=run.info["chance_loss"]).merge(
        run.trials[["trial_id", "execution", "layers"]].astype({"trial_id": "string"}), on=["trial_id", "execution"])
    logistic, networks = table[table["layers"] == "none"], table[table["layers"] == "256-256"]
    assert (logistic["fit"] == "good").all(), logistic["fit_reason"].tolist()
    assert (networks["fit"] == "overfit").all(), networks["fit_reason"].tolist()
    assert networks["fit_reason"].str.contains("rose").all()
    assert not table["fit_reason"].str.contains("underfits|learned little").any(), table["fit_reason"].tolist()
    assert float(np.max(logistic["train_crossentropy"])) > 0.5 * run.info["chance_loss"]  # the old floor's reading


@pytest.mark.slow
def test_a_learning_rate_too_small_to_move_the_loss_underfits_and_says_why(tmp_path: Path) -> None:
    """Adam at 1e-6 for 20 epochs leaves a 16-unit network where its initial weights put it.

    Plain Keras, moons (600 samples, noise 0.2, the same split), batch 32, seeds 0-2: the training
    loss moves by 4e-4 to 8e-4 of its level over 20 epochs (0.596, 0.774, 0.660: wherever the
    initial weights put it, 86-112% of chance), while Adam at 0.01 takes it from 0.51-0.70 to
    0.21-0.23 (validation accuracy 0.87-0.88).
    """
    sweep = {"name": "frozen", "data": {"source": "moons", "samples": 600, "noise": 0.2, "seed": 0},
             "model": {"layers": [16], "dropout": 0.0, "l2": 0.0},
             "train": {"optimizer": "adam", "learning_rate": {"values": [1e-6, 0.01]}, "batch_size": 32,
                       "epochs": 20},
             "tuner": {"algorithm": "grid", "max_trials": 2, "executions_per_trial": 3}}
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    table = diagnose(run.epochs, run.trials, chance_loss=run.info["chance_loss"]).merge(
        run.trials[["trial_id", "execution", "learning_rate"]].astype({"trial_id": "string"}),
        on=["trial_id", "execution"])
    frozen, trained = table[table["learning_rate"] < 1e-5], table[table["learning_rate"] > 1e-3]
    assert (frozen["fit"] == "underfit").all(), frozen["fit_reason"].tolist()
    assert frozen["fit_reason"].str.contains("never moved").all(), frozen["fit_reason"].tolist()
    assert frozen["fit_reason"].str.contains(r"learning rate \(1e-06\) too small").all()
    assert not frozen["fit_reason"].str.contains("per epoch|add capacity").any(), frozen["fit_reason"].tolist()
    assert (trained["fit"] == "good").all(), trained["fit_reason"].tolist()


@pytest.mark.slow
def test_raw_features_left_unscaled_are_named_and_the_next_sweep_scales_them(tmp_path: Path) -> None:
    """Raw breast-cancer features (values up to 4,254) under `scaling: none`.

    Plain Keras trains these networks (Adam 0.003, 20 epochs) to a training accuracy near 0.92,
    where standardized inputs reach about 0.99: every configuration of the sweep is held back
    alike, so no comparison within it shows the cause, and the run's data section must.
    """
    from sklearn.datasets import load_breast_cancer

    from fitsweep.suggest import suggest_next_sweep

    path = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    sweep = {"name": "raw-cancer", "data": {"source": "csv", "path": str(path), "target": "target", "scaling": "none"},
             "model": {"depth": {"min": 1, "max": 2}, "width": {"values": [32, 64]}},
             "train": {"optimizer": "adam", "learning_rate": 0.003, "batch_size": 32, "epochs": 20},
             "tuner": {"algorithm": "grid", "max_trials": 4}}
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    assert (run.trials["test_accuracy"] > 0.7).all()  # it trains, as in Keras: no longer one class only
    reasons = run.trials["fit_reason"].astype(str)
    assert reasons.str.contains("left unscaled").all() and reasons.str.contains("auto would standardize").all()
    assert reasons.str.contains("4,254").all()  # the feature range it rests on
    suggestion = suggest_next_sweep(run.path)
    assert "\n  scaling: auto\n" in suggestion
    assert "width: {values: [32, 64]}" in suggestion  # the search space waits for scaled inputs


@pytest.mark.slow
def test_a_learning_rate_that_blows_the_loss_up_and_kills_the_network_says_lower_it(tmp_path: Path) -> None:
    """Raw breast-cancer features, SGD at 0.5: the loss explodes in epoch 1, then the dead network predicts the priors.

    Plain Keras, the same kind of split (364 training, 91 validation rows, unscaled), batch 32, 40
    epochs, 16 and 64-64 ReLU units, seeds 0-1: the running loss of epoch 1 is 2.4e5 to 3.9e12,
    after it 0.652-0.653 at every epoch, training accuracy 0.646 (the majority class's share). At
    SGD 0.001 the same networks train to 0.24-0.32. The loss that then never moves is the wreck of
    updates that overshot: the advice is a smaller learning rate, never a larger one or capacity.
    """
    from sklearn.datasets import load_breast_cancer

    path = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    sweep = {"name": "blown", "data": {"source": "csv", "path": str(path), "target": "target", "scaling": "none"},
             "model": {"layers": {"values": [[16], [64, 64]]}, "dropout": 0.0, "l2": 0.0},
             "train": {"optimizer": "sgd", "learning_rate": {"values": [0.001, 0.5]}, "batch_size": 32,
                       "epochs": 40},
             "tuner": {"algorithm": "grid", "max_trials": 4}}
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    trials = run.trials.assign(learning_rate=run.trials["learning_rate"].astype(float))
    blown = trials[trials["learning_rate"] == 0.5]
    assert len(blown) == 2 and (blown["fit"] == "underfit").all(), blown["fit_reason"].tolist()
    reasons = blown["fit_reason"].astype(str)
    assert reasons.str.contains("blew up during epoch 1").all(), reasons.tolist()
    assert reasons.str.contains(r"learning rate \(0.5\) is likely too high").all()
    assert not reasons.str.contains("too small|raise the learning rate|add capacity").any(), reasons.tolist()
    trained = trials[trials["learning_rate"] == 0.001]
    assert not trained["fit_reason"].astype(str).str.contains("blew up").any(), trained["fit_reason"].tolist()


@pytest.mark.slow
def test_a_sweep_whose_every_network_trains_too_slowly_underfits_against_a_logistic_regression(tmp_path: Path) -> None:
    """Breast-cancer features, standardized, SGD at 1e-4 for 20 epochs: no configuration trains.

    Plain Keras, the same kind of split (364 training, 91 validation rows), batch 32, seeds 0-2:
    the 16-unit networks end at training accuracy 0.20-0.47 (cross-entropy 0.95-1.09, above the
    chance level 0.66), the 64-64 ones at 0.70-0.83 (0.56-0.60), their losses a few percent below
    where they started; a logistic regression (scikit-learn's defaults) predicts 0.989 of the
    validation rows. The better configuration is no yardstick: every network underfits, and the
    cause is the learning rate.
    """
    from sklearn.datasets import load_breast_cancer

    from fitsweep.report.findings import headline
    from fitsweep.verdicts import verdicts_of

    path = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    sweep = {"name": "slow", "data": {"source": "csv", "path": str(path), "target": "target"},
             "model": {"layers": {"values": [[16], [64, 64]]}, "dropout": 0.0, "l2": 0.0},
             "train": {"optimizer": "sgd", "learning_rate": 1e-4, "batch_size": 32, "epochs": 20},
             "tuner": {"algorithm": "grid", "max_trials": 2, "executions_per_trial": 3}}
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    assert run.info["linear_reference"]["val_accuracy"] > 0.95
    reasons = run.trials["fit_reason"].astype(str)
    assert (run.trials["fit"] == "underfit").all(), reasons.tolist()
    assert reasons.str.contains("reachable \\(the validation accuracy of a logistic regression").all(), reasons.tolist()
    assert reasons.str.contains("raise the learning rate").all()
    findings = [finding.text for finding in headline(run, verdicts_of(run))]
    assert any(text.startswith("A logistic regression fitted on the training split: validation accuracy 0.9")
               for text in findings), findings


def test_the_diabetes_study_reads_its_big_networks_as_overfit_and_sets_them_beside_a_linear_fit() -> None:
    """Plain Keras, the same split: a 256-256-256 network's validation MSE is lowest within a few
    epochs and rises while its training R² goes to 1.00; an 8-unit network's stays level (training
    R² 0.61, validation 0.45 after 200 epochs) and a linear regression reaches 0.53."""
    from fitsweep.analysis import baseline_findings
    from fitsweep.verdicts import verdicts_of

    run = fitsweep.load(REPO / "results" / "diabetes")
    table = verdicts_of(run).merge(run.trials[["trial_id", "execution", "layers"]].astype({"trial_id": "string"}),
                                   on=["trial_id", "execution"])
    big, small = table[table["layers"] == "256-256-256"], table[table["layers"] == "8"]
    assert (big["fit"] == "overfit").all() and big["fit_reason"].str.contains("kept weights are epoch").all()
    assert (small["fit"] == "good").all(), small["fit_reason"].tolist()
    findings = baseline_findings(run.trials, table, run.info["chance_loss"], run.info["linear_reference"])
    report = " ".join((REPO / "results" / "diabetes" / "report.md").read_text(encoding="utf-8").split())
    assert findings and findings[0].startswith("A linear regression fitted on the training split") and \
        findings[0] in report
