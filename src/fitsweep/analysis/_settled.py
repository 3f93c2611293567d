"""Settled verdicts: whether an execution still training is already clearly underfit or overfit.

Tuners stop losing trials by rank; fitsweep can say why one is losing. An execution's verdict is
settled, and training it further would not change what the sweep learns from it, when:

- **underfit**: the verdict itself (`_verdict_rule.verdict`, with its noise bounds and margins)
  calls it underfit against the sweep's reachable level so far, and its training loss, falling
  on at its current rate (a straight line, which overstates a slowing fall) for every epoch left,
  would still be clearly above that level;
- **overfit**: the verdict calls it overfit by the rise of its validation loss after its
  minimum (`_high_variance._rise`, beyond the noise of the validation split), and the rise has
  held for `patience` epochs in a row.

Nothing is settled during a warm-up (`warm_up_epochs`). Every bound is the verdicts' own, so an
execution is never stopped for what its final verdict would call noise.

A configuration's repeats are judged together (`settled_repeats`), as the final verdicts judge
them (`_repeats`): they stop together, on the verdict of their mean evidence, an outlier among
three or more on its own; so a stopped execution's final verdict is the one it was stopped for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from fitsweep.analysis._diagnosis import diagnose
from fitsweep.analysis._evidence_row import Settings
from fitsweep.analysis._high_bias import high_bias
from fitsweep.analysis._high_variance import _rise
from fitsweep.analysis._reachable import Reachable
from fitsweep.analysis._repeats import outliers, pooled
from fitsweep.analysis._verdict_rule import Judgement, verdict
from fitsweep.vocabulary import Verdict

__all__ = [
    "MIN_WARM_UP", "RISE_PATIENCE", "WARM_UP_SHARE", "RowCounts", "Settled", "evidence_row", "settled_repeats",
    "settled_verdict", "verdict_settings", "warm_up_epochs", "with_planned_trials",
]

# Nothing is judged before this share of the epochs, nor before MIN_WARM_UP epochs: the first
# epochs of SGD fall fastest, and a verdict needs a curve's shape, not its start.
WARM_UP_SHARE = 0.2
MIN_WARM_UP = 10
# Epochs in a row a rise of the validation loss beyond noise must hold before it is settled.
RISE_PATIENCE = 5
_LOSS_NAME = "crossentropy"  # the verdicts judge the penalty-free cross-entropy
_KEYS = ["trial_id", "execution"]  # a configuration's repeats, as `_repeats` keys them


@dataclass(frozen=True)
class Settled:
    """A settled verdict: what it is, and the verdict's own words for why."""

    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class RowCounts:
    """The rows an execution's levels were measured on: their noise follows from them."""

    train: int
    train_measured: int
    val: int


def verdict_settings(chance_loss: float | None) -> Settings:
    """The settings `diagnose` judges by at its defaults (its signature's), for a task of this chance-level loss."""
    defaults = diagnose.__kwdefaults__ or {}
    return Settings(defaults["confidence"], defaults["margin"], defaults["accuracy_margin"],
                    defaults["underfit_chance_share"], chance_loss, defaults["trend_epochs"], "")


def warm_up_epochs(epochs: int) -> int:
    """Epochs trained before any verdict may be settled: `WARM_UP_SHARE` of them, at least `MIN_WARM_UP`.

    Example:
        >>> warm_up_epochs(200), warm_up_epochs(30)
        (40, 10)
    """
    return max(math.ceil(WARM_UP_SHARE * epochs), MIN_WARM_UP)


def settled_verdict(curve: Sequence[Mapping[str, float]], best: int, reachable: Reachable | None,
                    settings: Settings, *, epochs: int, rows: RowCounts,
                    patience: int = RISE_PATIENCE) -> Settled | None:
    """The execution's verdict if it is settled after the epochs in `curve`, else None.

    Args:
        curve: The execution's records so far, one per epoch from the first: `crossentropy`,
            `crossentropy_sd`, `accuracy` and their `val_` twins, as the trainers measure them.
        best: The index in `curve` of its selected epoch so far (the best by the objective).
        reachable: The sweep's reachable level so far (`reachable_levels` of what has trained),
            its `trials` the number of configurations the best is taken from; None before two.
        settings: The verdicts' settings (`diagnose`'s confidence, margins, chance level).
        epochs: The epochs the execution was to train.
        rows: Its row counts.
        patience: Epochs in a row a rise must hold.

    Example:
        >>> settled_verdict(curve, best, reachable, settings, epochs=200, rows=counts)  # doctest: +SKIP
        Settled(verdict=<Verdict.UNDERFIT: 'underfit'>, reason='training accuracy 0.841 against ...')
    """
    return settled_repeats([curve], [best], reachable, settings, epochs=epochs, rows=rows, patience=patience)


def settled_repeats(curves: Sequence[Sequence[Mapping[str, float]]], bests: Sequence[int],
                    reachable: Reachable | None, settings: Settings, *, epochs: int, rows: RowCounts,
                    patience: int = RISE_PATIENCE) -> Settled | None:
    """A configuration's verdict, its repeats judged together, if it is settled for every one of them.

    The final verdicts give each repeat the verdict of the repeats' mean evidence, unless it
    stands out from them (three repeats or more) and keeps its own (`_repeats`). The repeats are
    read here the same way, from what they are now (they stop together): settled when every
    repeat reads the same verdict and, on the evidence it is read from (their mean, or an
    outlier's own), the underfit gap stays to the last epoch or the overfit rise has held.

    Args:
        curves: Each repeat's records so far (`settled_verdict`'s `curve`); one that ended
            early (on patience) has fewer than the rest.
        bests: The index in each curve of its selected epoch so far.
        reachable, settings, epochs, rows, patience: As for `settled_verdict`.

    Example:
        >>> settled_repeats([curve, sibling], [best, sibling_best], reachable, settings, epochs=200,
        ...                 rows=counts)  # doctest: +SKIP
    """
    done = max((len(curve) for curve in curves), default=0)
    if done < warm_up_epochs(epochs) or done >= epochs:
        return None
    judged = _judged_together([_row(curve, best, rows, settings) for curve, best in zip(curves, bests, strict=True)],
                              reachable, settings)
    fits = {judgement.fit for judgement, _ in judged}
    if len(fits) != 1:
        return None
    fit, reason = judged[0][0].fit, judged[0][0].reason
    if (fit is Verdict.UNDERFIT and reachable is not None
            and all(_gap_stays(row, reachable, settings, epochs) for _, row in judged)):
        return Settled(Verdict.UNDERFIT, reason)
    if fit is Verdict.OVERFIT and _rise_held(curves, bests, rows, reachable, settings, patience):
        return Settled(Verdict.OVERFIT, reason)
    return None


def _row(curve: Sequence[Mapping[str, float]], best: int, rows: RowCounts, settings: Settings) -> dict[str, Any]:
    # stopped_at: the verdict's words if it is stopped here
    return {**evidence_row(curve, best, rows, settings.trend_epochs), "stopped_at": len(curve)}


def _judged_together(rows: list[dict[str, Any]], reachable: Reachable | None,
                     settings: Settings) -> list[tuple[Judgement, dict[str, Any]]]:
    """Each repeat's verdict as `diagnose` gives it (`_repeats`), with the evidence row it is read from."""
    records = [{**row, "trial_id": "", "execution": index} for index, row in enumerate(rows)]
    alone = [verdict(record, reachable, settings, True, _LOSS_NAME) for record in records]
    if len(records) < 2:
        return list(zip(alone, records, strict=True))
    apart = outliers(records, alone, _KEYS, settings)
    means = pooled(pd.DataFrame([record for index, record in enumerate(records) if index not in apart]),
                   _KEYS[:-1]).to_dict("records")
    if not means:
        return list(zip(alone, records, strict=True))
    mean = {str(key): value for key, value in means[0].items()}
    shared = verdict(mean, reachable, settings, True, _LOSS_NAME)
    return [(alone[index], record) if index in apart else (shared, mean) for index, record in enumerate(records)]


def _gap_stays(row: dict[str, Any], reachable: Reachable, settings: Settings, epochs: int) -> bool:
    """Whether the training loss, falling on at its current rate to the last epoch, stays clearly underfit."""
    trend = row["train_trend"]
    left = epochs - row["epochs_run"]
    level = row["train_crossentropy"]
    projected = level * max(1 + min(trend, 0.0) * left, 0.0) if math.isfinite(trend) else 0.0
    # The error rate cannot be projected from the loss: the projected row is judged by its loss alone;
    # nor can the curves' shape at the end, so a curve still falling now does not count as one then.
    at_end = {**row, "train_crossentropy": projected, "train_error": math.nan, "train_range": math.inf,
              "val_trend": math.nan}
    return high_bias(at_end, reachable, settings, True, _LOSS_NAME).clear


def _rise_held(curves: Sequence[Sequence[Mapping[str, float]]], bests: Sequence[int], rows: RowCounts,
               reachable: Reachable | None, settings: Settings, patience: int) -> bool:
    """Whether the validation loss, on the evidence each repeat is read from, has stood clearly above its
    minimum at each of the last `patience` epochs."""
    done = max(len(curve) for curve in curves)
    if done < patience:
        return False
    for end in range(done - patience + 1, done + 1):
        cut = [curve[:end] for curve in curves]
        judged = _judged_together([_row(curve, min(best, len(curve) - 1), rows, settings)
                                   for curve, best in zip(cut, bests, strict=True)], reachable, settings)
        if not all(_rise(row, settings, _LOSS_NAME)[1] for _, row in judged):
            return False
    return True


def evidence_row(curve: Sequence[Mapping[str, float]], best: int, rows: RowCounts, trend_epochs: int
                 ) -> dict[str, Any]:
    """The evidence `diagnose` reads an execution by (`_fit_evidence.evidence_table`), from its records so far.

    Epochs in it are 1-based, as in the epochs table; `best` is an index into `curve`.
    """
    train = [record["crossentropy"] for record in curve]
    val = [record["val_crossentropy"] for record in curve]
    lowest = min(range(len(val)), key=val.__getitem__)
    at, last = curve[best], curve[-1]
    return {
        "repeats": 1, "diverged_at": None, "epochs_run": len(curve), "best_epoch": best + 1, "last_epoch": len(curve),
        "train_rows": rows.train, "train_measured_rows": rows.train_measured, "val_rows": rows.val,
        "train_error": 1 - at["accuracy"], "val_error": 1 - at["val_accuracy"],
        "train_crossentropy": at["crossentropy"], "val_crossentropy": at["val_crossentropy"],
        "train_crossentropy_sd": at.get("crossentropy_sd", math.nan),
        "val_crossentropy_sd": at.get("val_crossentropy_sd", math.nan),
        "min_val_loss": val[lowest], "min_val_epoch": lowest + 1, "loss_at_min_val": train[lowest],
        "val_sd_at_min": curve[lowest].get("val_crossentropy_sd", math.nan),
        "final_loss": last["crossentropy"], "final_loss_sd": last.get("crossentropy_sd", math.nan),
        "final_val_loss": last["val_crossentropy"], "final_val_loss_sd": last.get("val_crossentropy_sd", math.nan),
        "first_loss": train[0], "train_trend": _relative_slope(train[-trend_epochs:]),
        "val_trend": _relative_slope(val[-trend_epochs:]),
        "train_range": (max(train) - min(train)) / max(abs(min(train)), 1e-12),
    }


def _relative_slope(values: Sequence[float]) -> float:
    """Least-squares slope per epoch relative to the mean, as `evidence_table`'s `train_trend`."""
    count = len(values)
    if count < 2:
        return math.nan
    mean_x, mean_y = (count - 1) / 2, sum(values) / count
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
             / sum((x - mean_x) ** 2 for x in range(count)))
    return slope / max(abs(mean_y), 1e-12)


def with_planned_trials(reachable: Reachable, planned: int) -> Reachable:
    """The reachable level with its Bonferroni count raised to the trials the sweep will have run.

    The final verdicts take the best of all the sweep's trials, a wider bound than the best of
    those trained so far: judging by the final count keeps a settled verdict settled.
    """
    return replace(reachable, trials=max(reachable.trials, planned))
