"""Analysis of a sweep's tables: pure functions over DataFrames, no files read or written.

- `diagnose`: per execution, overfit / underfit / good / diverged, with a reason and evidence.
- `compare`: exact configurations (or any grouping) by accuracy, gap and 95% interval, Welch's
  t-test against the best with Holm's correction, and the repeats a difference needs;
  `comparison_findings` says it in a few sentences.
- `capacity`: rank correlation of the generalisation gap with params, depth and width.
- `importance`: each hyperparameter's marginal means of the objective or the gap, with
  intervals and their share of the variance; withheld (with a reason) on too few
  configurations. `importance_findings` says it in a sentence or two.
- `training_size_verdicts`: per trial, a power law fitted to validation error over training-set
  size (`fitsweep.learning_curve`'s table), its extrapolation to 2x and 4x the data and whether
  more data would help; `learning_curve_findings` says it in a sentence per trial.
- `weight_stats`: norms and sparsity of a network's kernels.
- `next_sweep`: the sweep to run next (ranges widened or narrowed, regularization, capacity,
  epochs, repeats), each `Change` with its evidence.

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
from fitsweep.analysis._comparison import compare, comparison_findings, configuration_columns, groupable_columns
from fitsweep.analysis._diagnosis import Fit, chance_level_loss, diagnose
from fitsweep.analysis._importance import importance, importance_findings
from fitsweep.analysis._learning_curve import DataVerdict, learning_curve_findings, power_law, training_size_verdicts
from fitsweep.analysis._next_sweep import Change, NextSweep, next_sweep
from fitsweep.analysis._verdict_groups import fit_findings, fit_groups
from fitsweep.analysis._weights import weight_stats

__all__ = [
    "AnalysisError",
    "Change",
    "DataVerdict",
    "Fit",
    "capacity",
    "chance_level_loss",
    "compare",
    "comparison_findings",
    "configuration_columns",
    "diagnose",
    "fit_findings",
    "fit_groups",
    "groupable_columns",
    "importance",
    "importance_findings",
    "learning_curve_findings",
    "NextSweep",
    "next_sweep",
    "power_law",
    "training_size_verdicts",
    "weight_stats",
]
