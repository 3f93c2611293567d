"""The live progress display: bars with units and time left, moving with every epoch."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from fitsweep.search.progress import LiveProgress


def _fused_group_half_trained(progress: LiveProgress) -> None:
    for trial_id in ("00", "01"):  # two trials of 10 epochs x 2 executions, trained fused
        progress.trial_started(trial_id, {"width": 8}, 10, 2)
    for epoch in range(5):
        for trial_id in ("00", "01"):
            for execution in (0, 1):
                progress.epoch_ended(trial_id, execution, epoch, {})


def test_the_trials_bar_moves_with_each_epoch_and_lands_on_whole_trials() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=140)
    with LiveProgress(console, total_trials=4, objective="val_loss") as progress:
        assert not progress.bars.tasks[progress.epochs].visible, "an empty epochs bar before any trial"
        _fused_group_half_trained(progress)
        trials, epochs = progress.bars.tasks[progress.trials], progress.bars.tasks[progress.epochs]
        assert trials.completed == pytest.approx(1.0)  # half of each of two trials
        assert epochs.visible and (epochs.completed, epochs.total) == (20, 40)
        progress.trial_ended("00", "COMPLETED", 0.5)  # stopped early: the rest of its share lands at once
        progress.trial_ended("01", "COMPLETED", 0.4)
        assert trials.completed == pytest.approx(2.0)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert re.search(r"2/4 +trials", shown) and "20/40 epochs" in shown and "left" in shown
    assert "best val_loss=0.4000" in shown and "0/0" not in shown


def test_on_an_80_column_terminal_the_counts_and_times_stay_whole_and_the_note_is_cut() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=80)
    with LiveProgress(console, total_trials=32, objective="val_crossentropy") as progress:
        progress.trial_started("00", {"layers": "25-50-50-25", "dropout": 0.3, "l1": 0.001, "l2": 0.001}, 200, 3)
    last_frame = console.file.getvalue().split("\r")[-1]  # type: ignore[attr-defined]
    assert re.search(r"0/32 +trials \d:\d\d:\d\d left", last_frame), last_frame
    assert re.search(r"0/600 epochs \d:\d\d:\d\d left -:--:-- layers=25-50-50-25 .*…", last_frame), last_frame


def test_trials_whose_epoch_shares_do_not_add_up_exactly_still_count_as_whole_trials() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=140)
    with LiveProgress(console, total_trials=9, objective="val_loss") as progress:
        trial_ids = [str(n) for n in range(9)]
        for trial_id in trial_ids:  # 9 trials of 3 epochs fused: each epoch is a third of a trial
            progress.trial_started(trial_id, {}, 3, 1)
        for epoch in range(3):
            for trial_id in trial_ids:
                progress.epoch_ended(trial_id, 0, epoch, {})
        for trial_id in trial_ids:
            progress.trial_ended(trial_id, "COMPLETED", 0.5)
        assert progress.bars.tasks[progress.trials].completed == 9
    assert re.search(r"9/9 +trials", console.file.getvalue())  # type: ignore[attr-defined]
