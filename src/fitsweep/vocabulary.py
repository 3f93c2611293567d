"""The words a sweep's tables hold: each trial's `status` and each execution's `fit` verdict.

Both are string enums: a member equals its value, so a column of plain strings compares with
them (`trials["status"].eq(TrialStatus.COMPLETED)`). The tables store the values, plain strings,
so a parquet file reads the same with or without fitsweep.

Example:
    >>> Verdict("overfit") == "overfit", TrialStatus.DIVERGED.value
    (True, 'diverged')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import Enum

__all__ = ["STOP_CODES", "TrialStatus", "Verdict", "verdict_tally"]


class _Word(str, Enum):
    """A string enum that prints as its value, as the tables show it."""

    def __str__(self) -> str:
        return str(self.value)


class Verdict(_Word):
    """The verdict on one execution's learning curves (`fitsweep.analysis.diagnose`).

    Example:
        >>> Verdict("overfit") is Verdict.OVERFIT, Verdict.OVERFIT.remedy.split(" (")[0]
        (True, 'regularize')
    """

    OVERFIT = "overfit"
    UNDERFIT = "underfit"
    GOOD = "good"
    DIVERGED = "diverged"

    @property
    def remedy(self) -> str:
        """What usually helps, in one line."""
        return {
            Verdict.OVERFIT: "regularize (l2, dropout), shrink the network, or stop earlier",
            Verdict.UNDERFIT: ("raise the learning rate (or scale the inputs) where the loss never moved or falls "
                               "slowly; else add capacity, weaken regularization, or train longer"),
            Verdict.GOOD: "nothing to fix; compare its test score with the other trials",
            Verdict.DIVERGED: "lower the learning rate or check the inputs for extreme values",
        }[self]

    @property
    def words(self) -> str:
        """The verdict as a reader says it: "good fit", "overfit", "underfit", "diverged"."""
        return "good fit" if self is Verdict.GOOD else self.value


def verdict_tally(fits: Iterable[str], *, short: bool = False) -> str:
    """A configuration's verdicts over its repeats, in words, the most frequent first.

    `short` leaves out "fit" and "repeats", for a figure's panel title.

    Example:
        >>> verdict_tally(["good", "good", "underfit"])
        'good fit in 2 of 3 repeats, underfit in 1'
        >>> verdict_tally(["good", "good", "good"], short=True), verdict_tally(["overfit"])
        ('good in 3 of 3', 'overfit')
    """
    counts = Counter(str(fit) for fit in fits).most_common()
    total = sum(n for _, n in counts)
    if total == 1:
        return _verdict_words(counts[0][0], short)
    parts = [f"{_verdict_words(fit, short)} in {n}" for fit, n in counts]
    parts[0] += f" of {total}" + ("" if short else " repeats")
    return ", ".join(parts)


def _verdict_words(fit: str, short: bool) -> str:
    if short:
        return fit
    try:
        return Verdict(fit).words
    except ValueError:  # "unknown": an execution without a verdict yet
        return fit


class TrialStatus(_Word):
    """A trial's status in the trials table: KerasTuner's, in lower case, with a blown-up loss told apart.

    KerasTuner's INVALID (an error while building or training) reads `failed`; a trial that
    failed because a loss became NaN or infinite reads `diverged` (`fitsweep.results.tables.trial_status`).

    Example:
        >>> TrialStatus("completed") is TrialStatus.COMPLETED
        True
    """

    COMPLETED = "completed"
    FAILED = "failed"
    DIVERGED = "diverged"
    RUNNING = "running"


# The verdict an execution was stopped for (`tuner.stopping: verdict`), as its record numbers it:
# the oracle keeps numbers only.
STOP_CODES = {Verdict.UNDERFIT: 1.0, Verdict.OVERFIT: 2.0}
