"""Fit-aware stopping (`tuner.stopping: verdict`) against training every epoch and Hyperband, on a sweep file.

Runs the sweep with stopping off, then on, then as KerasTuner's Hyperband (`--order` picks and
orders them), each in this process after the imports. Hyperband runs with `max_epochs` the
sweep's epochs and as many trials as fit, in its own order of brackets, in the budget that full
running spends (the sweep's trials x epochs, each with the sweep's repeats). It prints for each:
the best configuration (the trial with the best score), its kept
model's test accuracy, the executions x epochs trained, how many executions stopped and for what,
the final verdicts (and any stopped execution whose verdict is not the one it was stopped
for), and the wall time; then the share of epochs the stopping run spent. Run by hand from the root:

    .venv/bin/python benchmarks/stopping.py sweeps/moons.yaml --epochs 100
    .venv/bin/python benchmarks/stopping.py sweeps/notmnist-capacity.yaml
    .venv/bin/python benchmarks/stopping.py benchmarks/digits.yaml --order off,verdict
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import keras_tuner

from fitsweep import load_spec, run_sweep
from fitsweep.spec import SweepSpec
from fitsweep.verdicts import verdicts_of


def variant(spec: SweepSpec, stopping: str, epochs: int | None, max_trials: int | None) -> SweepSpec:
    train = spec.train.model_copy(update={"epochs": epochs}) if epochs else spec.train
    tuner = spec.tuner.model_copy(update={"stopping": stopping, **({"max_trials": max_trials} if max_trials else {})})
    return spec.model_copy(update={"train": train, "tuner": tuner})


def hyperband(spec: SweepSpec) -> SweepSpec:
    """The sweep as Hyperband, stopping off, with the trials whose planned epochs fit full running's budget."""
    budget = spec.tuner.max_trials * spec.train.epochs
    oracle = keras_tuner.oracles.HyperbandOracle(objective="val_loss", max_epochs=spec.train.epochs,
                                                 factor=spec.tuner.factor)
    trials = spent = 0
    for bracket in reversed(range(oracle._get_num_brackets())):  # its order: the most brackets' trials first
        for round_ in range(oracle._get_num_rounds(bracket)):
            epochs = oracle._get_epochs(bracket, round_)
            for _ in range(oracle._get_size(bracket, round_)):
                if spent + epochs > budget:
                    break
                trials, spent = trials + 1, spent + epochs
    tuner = spec.tuner.model_copy(update={"algorithm": "hyperband", "stopping": "off", "max_trials": max(trials, 1)})
    return spec.model_copy(update={"tuner": tuner})


def measure(spec: SweepSpec, hyperparameters: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run = run_sweep(spec, results_dir=Path(folder))
        seconds = time.perf_counter() - started
        verdicts = verdicts_of(run).set_index(["trial_id", "execution"])["fit"]
    trials = run.trials
    best_trial = trials.loc[trials["score"].idxmin() if spec.tuner.direction == "min" else trials["score"].idxmax(),
                            "trial_id"]
    rows = trials[trials["trial_id"] == best_trial]
    kept = rows.loc[rows["val_crossentropy"].idxmin()]
    stopped = trials["stop_reason"].value_counts().to_dict()
    reasons = trials.set_index(["trial_id", "execution"])["stop_reason"].dropna()
    # A stopped execution's final verdict must be the one it was stopped for.
    disagree = {f"{trial}/{execution}": f"stopped {reason}, verdict {verdicts[(trial, execution)]}"
                for (trial, execution), reason in reasons.items() if verdicts[(trial, execution)] != reason}
    return {
        "best": {name: kept[name] for name in hyperparameters if name in kept},
        "best_trial": best_trial, "score": float(rows["score"].iloc[0]),
        "test_accuracy": float(kept["test_accuracy"]),
        "epochs": int(trials["epochs_run"].sum()), "executions": len(trials), "stopped": stopped,
        # each trial's epochs run by repeat, and the verdicts they ended with: which stops come late
        "by_trial": {trial: f"{list(group['epochs_run'])} {sorted(set(verdicts.loc[trial]))}"
                     for trial, group in trials.groupby("trial_id")},
        "verdicts": verdicts.value_counts().to_dict(), "disagree": disagree, "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-trials", type=int)
    parser.add_argument("--order", default="off,verdict,hyperband")
    args = parser.parse_args()
    spec = load_spec(args.sweep)
    hyperparameters = ["layers", "depth", "width", "dropout", "l1", "l2", "learning_rate", "regularizers"]
    results = {}
    for name in args.order.split(","):
        sweep = variant(spec, "off" if name == "hyperband" else name, args.epochs, args.max_trials)
        results[name] = figures = measure(hyperband(sweep) if name == "hyperband" else sweep, hyperparameters)
        print(f"{name}: {figures}", flush=True)
    off = results.get("off")
    for name in ("verdict", "hyperband"):
        other = results.get(name)
        if off and other:
            print(f"{name}: same best configuration: {off['best'] == other['best']}; scores {off['score']:.4f} / "
                  f"{other['score']:.4f}; test accuracy {off['test_accuracy']:.4f} / {other['test_accuracy']:.4f}; "
                  f"epochs {other['epochs']} / {off['epochs']} = {other['epochs'] / off['epochs']:.0%}")


if __name__ == "__main__":
    main()
