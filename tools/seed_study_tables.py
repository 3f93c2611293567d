"""Print the Markdown tables of the docs' "What the seed studies show" (docs/explanation/seed-studies.md) from results/.

Run after `make studies`: `.venv/bin/python tools/seed_study_tables.py`. Every figure comes from the
committed results folders; nothing is typed by hand.
"""

from __future__ import annotations

import pandas as pd

import fitsweep
from fitsweep.analysis import capacity, compare
from fitsweep.report import findings
from fitsweep.verdicts import verdicts_of

COLUMNS = ["n_executions", "test_accuracy_mean", "test_accuracy_ci_low", "test_accuracy_ci_high", "p_holm"]


def verdicts_by(run: fitsweep.SweepRun, by: str) -> pd.DataFrame:
    """Per group: mean training and validation accuracy at the selected epoch, the rise of the
    validation loss after its minimum, the best epoch, and the verdicts."""
    verdicts = verdicts_of(run)
    merged = verdicts.merge(run.trials[["trial_id", "execution", by]], on=["trial_id", "execution"])
    merged = merged.assign(train_accuracy=1 - merged["train_error"], val_accuracy=1 - merged["val_error"])
    table = merged.groupby(by, sort=False).agg(
        best_epoch=("best_epoch", "mean"), train_accuracy=("train_accuracy", "mean"),
        val_accuracy=("val_accuracy", "mean"), val_rise=("val_rise", "mean"),
    )
    table["verdicts"] = merged.groupby(by, sort=False)["fit"].agg(
        lambda fits: ", ".join(f"{n} {fit}" for fit, n in fits.value_counts().items()))
    return table


def markdown(frame: pd.DataFrame, index: bool = True) -> str:
    """A Markdown table (numbers to 4 significant digits), without the tabulate package."""
    frame = frame.reset_index() if index else frame
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    rows = [" | ".join(map(str, frame.columns)), " | ".join("---" for _ in frame.columns)]
    rows += [" | ".join(cell(v) for v in row) for row in frame.itertuples(index=False)]
    return "\n".join(f"| {row} |" for row in rows)


def _study(path: str, by: str) -> None:
    run = fitsweep.load(path)
    table = compare(run.trials, by=by).set_index(by)[COLUMNS]
    print(f"## {run.spec.name}: by {by}\n")
    print(markdown(table.join(verdicts_by(run, by))))
    print()
    print("\n".join(findings.headline(run, verdicts_of(run))))
    print()


def main() -> None:
    _study("results/notmnist-capacity", "layers")
    capacity_run = fitsweep.load("results/notmnist-capacity")
    verdicts = verdicts_of(capacity_run)
    print("Spearman correlation of the gap with size:\n")
    print(markdown(capacity(capacity_run.trials, verdicts), index=False))
    print()
    _study("results/notmnist-regularizers", "regularizers")
    _study("results/moons", "layers")


if __name__ == "__main__":
    main()
