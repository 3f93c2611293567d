"""Tables in the terminal: at 80 columns the important ones whole, more at 200, no cell cut to '…'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import fitsweep
from conftest import REPO
from fitsweep.display import frame_table, report_summary, trials_summary
from fitsweep.terminal_table import FittedTable, TableColumn

MOONS = REPO / "results" / "moons"  # the committed study: 32 trials over layers, dropout, l1 and l2


def rendered(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, highlight=False)
    console.print(renderable)
    return console.export_text()


def assert_fits(text: str, width: int) -> None:
    assert "…" not in text, text
    assert all(len(line.rstrip()) <= width for line in text.splitlines()), text


@pytest.fixture(scope="module")
def moons() -> fitsweep.SweepRun:
    return fitsweep.load(MOONS)


def test_the_summary_at_80_columns_keeps_the_important_columns_whole(moons: fitsweep.SweepRun) -> None:
    text = rendered(trials_summary(moons), 80)
    assert_fits(text, 80)
    best = moons.trials.groupby("trial_id")["val_crossentropy"].mean().idxmin()
    best_row = next(line for line in text.splitlines() if line.startswith(f"{best} "))
    assert "25-50-50-25" in best_row and f"{moons.trials.groupby('trial_id')['val_crossentropy'].mean()[best]:.4g}" \
        in best_row
    table = trials_summary(moons).renderables[-1]
    assert isinstance(table, FittedTable)
    shown = [column.name for column in table.fitting(80)]
    assert {"trial_id", "layers", "dropout", "l1", "l2", "val_crossentropy", "test_accuracy"} <= set(shown)
    left_out = [column.name for column in table.columns if column.name not in shown]
    assert left_out and f"Left out at 80 characters wide: {', '.join(left_out)}" in " ".join(text.split())
    assert f"--columns {','.join(left_out)}" in text.replace("\n", "")


def test_the_summary_at_200_columns_shows_every_column(moons: fitsweep.SweepRun) -> None:
    text = rendered(trials_summary(moons), 200)
    assert_fits(text, 200)
    header = next(line for line in text.splitlines() if line.startswith("trial_id"))
    assert header.split() == ["trial_id", "layers", "dropout", "l1", "l2", "val_crossentropy", "val_loss",
                              "val_accuracy", "test_accuracy", "best_epoch", "runs"]
    assert "Left out" not in text


def test_a_header_too_wide_breaks_after_its_underscores(moons: fitsweep.SweepRun) -> None:
    lines = rendered(trials_summary(moons), 80).splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
    assert "val_" in lines[rule - 2].split() and "crossentropy" in lines[rule - 1].split()


def test_the_report_summary_fits_80_columns_with_the_verdicts(moons: fitsweep.SweepRun) -> None:
    text = rendered(report_summary(moons), 80)
    assert_fits(text, 80)
    best = text[text.index("Best 5 trials"):].splitlines()
    assert best[2].split()[:2] == ["trial", "layers"] and "verdict" in best[2] and "crossentropy" in best[2]
    assert "good in 3 of 3" in best[4]
    assert "report.md shows them" in " ".join(text.split())


def test_a_long_configuration_wraps_at_its_spaces_whole() -> None:
    frame = pd.DataFrame({"trial_id": ["00", "01"], "configuration": ["25-50-50-25 L2 1e-4 dropout 0.2", "8"],
                          "val_loss": [0.0533912, 12345.678], "test_accuracy": [0.99, 0.9733]})
    text = rendered(frame_table(frame), 60)
    assert_fits(text, 60)
    assert "25-50-50-25 L2 1e-4" in text and "dropout 0.2" in text  # on two lines of its cell
    assert "0.05339" in text and "1.235e+04" in text and "0.9733" in text
    assert "Left out" not in text  # wrapping made room for every column


def test_numbers_are_left_out_rather_than_cut() -> None:
    columns = [TableColumn("trial_id", ["00"]), *(TableColumn(f"metric_{i}", ["0.123456"], numeric=True)
                                                  for i in range(10))]
    text = rendered(FittedTable(columns, hint="the CSV has them"), 30)
    assert_fits(text, 30)
    assert "0.123456" in text and "metric_9" in text.split("Left out")[1] and "the CSV has them" in text


def test_a_table_narrower_than_its_first_column_still_cuts_nothing() -> None:
    text = rendered(FittedTable([TableColumn("group", ["layers=25-50-50-25, dropout=0.3+l1=0.001"])]), 12)
    assert "…" not in text and "dropout=0.3+l1=0.001" in text.replace("\n", "").replace(" ", "")


def test_a_piped_command_takes_its_width_from_columns(tmp_path: Path) -> None:
    """`COLUMNS=80 fitsweep show ...` in a pipe lays out for 80 columns, as a terminal of that width would."""
    environment = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(REPO / "src")}
    shown = subprocess.run([sys.executable, "-m", "fitsweep", "show", str(MOONS)], capture_output=True, text=True,
                           env=environment, cwd=tmp_path, check=True)
    assert_fits(shown.stdout, 80)
    assert "Left out at 80 characters wide" in shown.stdout
