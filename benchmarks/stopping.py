"""Fit-aware stopping (`tuner.stopping: verdict`) against training every epoch, on a study's sweep file.

Runs the sweep twice, stopping off then on (or the order given), each in this process after the
imports, and prints for each: the best configuration (the trial with the best score), its kept
model's test accuracy, the executions x epochs trained, how many executions stopped and for what,
the final verdicts (and any stopped execution whose verdict is not the one it was stopped
for), and the wall time; then the share of epochs the stopping run spent. Run by hand from the root:

    .venv/bin/python benchmarks/stopping.py sweeps/moons.yaml --epochs 100
    .venv/bin/python benchmarks/stopping.py sweeps/notmnist-capacity.yaml
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from fitsweep import load_spec, run_sweep
from fitsweep.spec import SweepSpec
from fitsweep.verdicts import verdicts_of


def variant(spec: SweepSpec, stopping: str, epochs: int | None, max_trials: int | None) -> SweepSpec:
    train = spec.train.model_copy(update={"epochs": epochs}) if epochs else spec.train
    tuner = spec.tuner.model_copy(update={"stopping": stopping, **({"max_trials": max_trials} if max_trials else {})})
    return spec.model_copy(update={"train": train, "tuner": tuner})


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
        "verdicts": verdicts.value_counts().to_dict(), "disagree": disagree, "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-trials", type=int)
    parser.add_argument("--order", default="off,verdict")
    args = parser.parse_args()
    spec = load_spec(args.sweep)
    hyperparameters = ["layers", "depth", "width", "dropout", "l1", "l2", "learning_rate", "regularizers"]
    results = {}
    for stopping in args.order.split(","):
        results[stopping] = figures = measure(variant(spec, stopping, args.epochs, args.max_trials), hyperparameters)
        print(f"stopping {stopping}: {figures}", flush=True)
    off, on = results.get("off"), results.get("verdict")
    if off and on:
        print(f"same best trial: {off['best_trial'] == on['best_trial']}; scores {off['score']:.4f} / "
              f"{on['score']:.4f}; test accuracy {off['test_accuracy']:.4f} / {on['test_accuracy']:.4f}; "
              f"epochs {on['epochs']} / {off['epochs']} = {on['epochs'] / off['epochs']:.0%}")


if __name__ == "__main__":
    main()
