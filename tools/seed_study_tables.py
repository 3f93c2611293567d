"""Print the Markdown tables of the README's "What the seed studies show" from results/.

Run after `make studies`: `.venv/bin/python tools/seed_study_tables.py`. Every figure comes from the
committed results folders; nothing is typed by hand.
"""

from __future__ import annotations

import pandas as pd

import fitsweep
from fitsweep.analysis import capacity, compare, diagnose

COLUMNS = ["n_executions", "test_accuracy_mean", "test_accuracy_ci_low", "test_accuracy_ci_high",
           "accuracy_gap_mean", "overfit_share", "p_value"]


def final_epoch(run: fitsweep.SweepRun, by: str) -> pd.DataFrame:
    """Mean final-epoch accuracies and the rise of val_loss above its minimum, per group."""
    verdicts = diagnose(run.epochs, run.trials, chance_loss=run.info.get("chance_loss"))
    last = run.epochs.sort_values("epoch").groupby(["trial_id", "execution"]).tail(1)
    merged = last.merge(verdicts[["trial_id", "execution", "val_rise", "best_epoch"]], on=["trial_id", "execution"])
    merged = merged.merge(run.trials[["trial_id", "execution", by]], on=["trial_id", "execution"])
    return merged.groupby(by, sort=False).agg(
        best_epoch=("best_epoch", "mean"), final_train_accuracy=("accuracy", "mean"),
        final_val_accuracy=("val_accuracy", "mean"), val_rise=("val_rise", "mean"),
    )


def markdown(frame: pd.DataFrame, index: bool = True) -> str:
    """A Markdown table (numbers to 4 significant digits), without the tabulate package."""
    frame = frame.reset_index() if index else frame
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    rows = [" | ".join(map(str, frame.columns)), " | ".join("---" for _ in frame.columns)]
    rows += [" | ".join(cell(v) for v in row) for row in frame.itertuples(index=False)]
    return "\n".join(f"| {row} |" for row in rows)


def main() -> None:
    capacity_run = fitsweep.load("results/notmnist-capacity")
    table = compare(capacity_run.trials, by="layers").set_index("layers")[COLUMNS]
    print("## notmnist-capacity: by layers\n")
    print(markdown(table.join(final_epoch(capacity_run, "layers"))))
    print("\nSpearman correlation of the gap with size:\n")
    verdicts = diagnose(capacity_run.epochs, capacity_run.trials, chance_loss=capacity_run.info.get("chance_loss"))
    print(markdown(capacity(capacity_run.trials, verdicts), index=False))
    regularizer_run = fitsweep.load("results/notmnist-regularizers")
    for by in ("regularizers", "regularizer"):
        table = compare(regularizer_run.trials, by=by).set_index(by)[COLUMNS]
        if by in regularizer_run.trials:  # "regularizer" is a label compare derives
            table = table.join(regularizer_run.trials.groupby(by)[["near_zero_share", "weight_l2"]].mean())
        print(f"\n## notmnist-regularizers: by {by}\n")
        print(markdown(table))
    moons = fitsweep.load("results/moons")
    print("\n## moons: verdicts\n")
    print(markdown(moons.trials["fit"].value_counts().to_frame()))
    seed_point = moons.trials[(moons.trials["layers"] == "25-50-50-25") & (moons.trials["dropout"] == 0)
                              & (moons.trials["l1"] == 0) & (moons.trials["l2"] == 0)]
    print("\nThe seed's network:\n")
    print(markdown(seed_point[["layers", "best_epoch", "train_accuracy", "val_accuracy", "test_accuracy", "fit",
                               "fit_reason"]], index=False))


if __name__ == "__main__":
    main()
