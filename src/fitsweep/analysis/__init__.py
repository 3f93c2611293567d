"""Analysis of a sweep's tables: pure functions over DataFrames, no files read or written.

- `diagnose`: per execution, overfit / underfit / good / diverged, with a reason and evidence.
- `compare`: regularizers (or any hyperparameter) by accuracy, gap, confidence interval and
  Welch's t-test against the best group.
- `capacity`: rank correlation of the generalisation gap with params, depth and width.
- `importance`: permutation importance of the hyperparameters for val_loss or the gap.
- `weight_stats`: norms and sparsity of a network's kernels.

Every threshold is a keyword argument with a documented default. Tables that cannot be analysed
(empty, too small, missing columns) raise `AnalysisError`, a `FitsweepError`.

Example:
    >>> from fitsweep.analysis import diagnose, compare
    >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
    >>> verdicts = diagnose(run.epochs, run.trials)  # doctest: +SKIP
    >>> compare(run.trials.merge(verdicts[["trial_id", "execution", "fit"]]))  # doctest: +SKIP
"""

from __future__ import annotations

from fitsweep.analysis._capacity import capacity
from fitsweep.analysis._common import AnalysisError
from fitsweep.analysis._comparison import compare
from fitsweep.analysis._diagnosis import Fit, chance_level_loss, diagnose
from fitsweep.analysis._importance import importance
from fitsweep.analysis._weights import weight_stats

__all__ = [
    "AnalysisError",
    "Fit",
    "capacity",
    "chance_level_loss",
    "compare",
    "diagnose",
    "importance",
    "weight_stats",
]
