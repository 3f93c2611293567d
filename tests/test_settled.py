"""Fit-aware stopping's rule: a verdict is settled only beyond the verdicts' own noise bounds."""

from __future__ import annotations

import math

import pytest

from fitsweep.analysis import RowCounts, settled_repeats, settled_verdict, verdict_settings
from fitsweep.analysis._reachable import Reachable
from fitsweep.analysis._settled import warm_up_epochs
from fitsweep.vocabulary import Verdict
from synthetic_curves import CHANCE, curve

ROWS = RowCounts(train=2000, train_measured=2000, val=1000)
SETTINGS = verdict_settings(CHANCE)
# What the sweep's best configuration (the synthetic "good" curve) reaches: 0.10 validation cross-entropy.
REACHABLE = Reachable(0.04, 0.0, "best", 0.10, 0.0, "best", 32, math.nan)


def records(kind: str, epochs: int, seed: int = 0) -> list[dict[str, float]]:
    """A synthetic curve as the trainers record it: cross-entropies with their per-row spread."""
    frame = curve(kind, epochs=epochs, seed=seed)
    return [{"crossentropy": row.loss, "crossentropy_sd": 0.5, "accuracy": row.accuracy,
             "val_crossentropy": row.val_loss, "val_crossentropy_sd": 0.5, "val_accuracy": row.val_accuracy}
            for row in frame.itertuples()]


def best_index(curve_records: list[dict[str, float]]) -> int:
    values = [record["val_crossentropy"] for record in curve_records]
    return values.index(min(values))


def judge(curve_records: list[dict[str, float]], epochs: int = 200, reachable: Reachable | None = REACHABLE):
    return settled_verdict(curve_records, best_index(curve_records), reachable, SETTINGS, epochs=epochs, rows=ROWS)


def test_an_underfit_curve_far_above_the_reachable_level_is_settled_after_the_warm_up():
    curve_records = records("underfit", 60)
    settled = judge(curve_records)
    assert settled is not None and settled.verdict is Verdict.UNDERFIT
    assert "reachable" in settled.reason and "train longer" not in settled.reason
    assert judge(curve_records[:warm_up_epochs(200) - 1]) is None  # nothing is settled in the warm-up


def test_no_underfit_is_settled_without_a_reachable_level_to_compare_with():
    assert judge(records("underfit", 60), reachable=None) is None


def test_a_loss_falling_fast_enough_to_close_the_gap_in_the_epochs_left_is_not_stopped():
    # 0.6 falling 1% of its level an epoch, 150 epochs left: a straight line reaches the level.
    falling = [{"crossentropy": 0.9 * 0.99**t, "crossentropy_sd": 0.5, "accuracy": 0.7,
                "val_crossentropy": 0.9 * 0.99**t + 0.01, "val_crossentropy_sd": 0.5, "val_accuracy": 0.7}
               for t in range(50)]
    assert judge(falling, epochs=200) is None
    assert judge(falling, epochs=52) is not None  # with two epochs left it cannot


def test_a_validation_loss_that_turned_up_beyond_noise_is_settled_overfit():
    settled = judge(records("overfit_rise", 60), reachable=None)
    assert settled is not None and settled.verdict is Verdict.OVERFIT
    assert "rose" in settled.reason


def test_a_rise_must_hold_for_the_patience_before_it_is_settled():
    curve_records = records("overfit_rise", 60)
    first = next(end for end in range(warm_up_epochs(200), 61) if judge(curve_records[:end], reachable=None))
    # The rise was already clear an epoch or more before: it had to hold.
    from fitsweep.analysis._high_variance import _rise
    from fitsweep.analysis._settled import evidence_row

    clear = [end for end in range(2, first + 1)
             if _rise(evidence_row(curve_records[:end], best_index(curve_records[:end]), ROWS, 5), SETTINGS,
                      "crossentropy")[1]]
    assert clear and first - clear[0] >= 4


@pytest.mark.parametrize("kind", ["good", "good_dropout", "noisy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curves_within_noise_of_the_reachable_level_are_never_stopped(kind: str, seed: int):
    curve_records = records(kind, 120, seed)
    assert all(judge(curve_records[:end]) is None for end in range(warm_up_epochs(200), 121))


def test_the_last_epoch_is_never_stopped():
    assert judge(records("underfit", 60), epochs=60) is None


def judge_repeats(curves: list[list[dict[str, float]]], epochs: int = 200, reachable: Reachable | None = REACHABLE):
    return settled_repeats(curves, [best_index(records_) for records_ in curves], reachable, SETTINGS, epochs=epochs,
                           rows=ROWS)


def test_repeats_that_all_read_underfit_are_settled_together():
    settled = judge_repeats([records("underfit", 60, seed) for seed in range(3)])
    assert settled is not None and settled.verdict is Verdict.UNDERFIT
    assert "mean of 3" in settled.reason  # read from the repeats' mean, as the final verdict reads them


def test_an_underfit_repeat_beside_a_sibling_that_fits_is_not_stopped():
    underfit, fits = records("underfit", 60), records("good", 60)
    assert judge([*underfit]) is not None  # alone it would be settled
    assert judge_repeats([underfit, fits]) is None
    assert judge_repeats([fits, underfit]) is None


def test_an_overfit_repeat_beside_siblings_that_do_not_rise_is_not_stopped():
    rising = records("overfit_rise", 60)
    assert judge(rising, reachable=None) is not None
    assert judge_repeats([rising, records("good", 60, 1), records("good", 60, 2)], reachable=None) is None


def test_a_repeat_that_ended_early_is_judged_with_the_rest_at_its_last_epoch():
    # One repeat stopped on patience at epoch 40; the other two train on: all three are underfit.
    curves = [records("underfit", 40, 0), records("underfit", 60, 1), records("underfit", 60, 2)]
    settled = judge_repeats(curves)
    assert settled is not None and settled.verdict is Verdict.UNDERFIT


def _stopped_at(order: list[int]) -> list[int | None]:
    """Epochs at which two underfit repeats stop, settled in `order` each epoch, beside a sweep that fits."""
    from fitsweep.training import Member
    from fitsweep.training.selection import Progress
    from fitsweep.training.stopping import ActiveStopping, VerdictStopping

    stopping = VerdictStopping(CHANCE, planned_trials=32, objective="val_crossentropy", direction="min")
    good = records("good", 60)
    for trial in ("best", "other"):
        for record in good:
            stopping.record(trial, 0, record)
    active = ActiveStopping(stopping, epochs=200, rows=ROWS,
                            members=[Member("weak", execution, {}, seed=execution) for execution in (0, 1)])
    states = [Progress(("weak", execution)) for execution in (0, 1)]
    curves = [records("underfit", 60, seed=execution) for execution in (0, 1)]
    for epoch in range(60):
        for execution in order:
            state = states[execution]
            state.curve.append(curves[execution][epoch])
            if epoch == 0 or curves[execution][epoch]["val_crossentropy"] < state.best_value:
                state.best_value, state.best_epoch = curves[execution][epoch]["val_crossentropy"], epoch
            if not state.stopped:
                active.settle(state, epoch)
    return [state.stopped_at for state in states]


def test_repeats_settle_together_whatever_order_their_epochs_are_judged_in():
    forward, backward = _stopped_at([0, 1]), _stopped_at([1, 0])
    assert forward[0] is not None and forward[0] == forward[1]  # the repeats stop together
    assert backward == forward
