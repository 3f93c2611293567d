"""Analysis of a sweep's tables: pure functions over DataFrames, no files read or written.

- `diagnose`: per execution, overfit / underfit / good / diverged, with a reason and evidence;
  `Fit` is their enum (`fitsweep.vocabulary.Verdict`).
- `compare`: exact configurations (or any grouping) by a test metric (accuracy; a regression's
  MSE, R² or MAE), gap and 95% interval, Welch's t-test against the best with Holm's correction,
  and the repeats a difference needs; `comparison_findings` says it in a few sentences, and
  `ComparedMetric` (from `compared_metric`, or `metric_of_table` for a finished table) knows
  whether the metric is better higher or lower.
- `capacity`: rank correlation of the generalisation gap with params, depth and width.
- `importance`: each hyperparameter's marginal means of the objective or the gap, with
  intervals and their share of the variance; withheld (with a reason) on too few
  configurations. `importance_findings` says it in a sentence or two.
- `training_size_verdicts`: per trial, a power law fitted to validation error (a regression's
  MSE) over training-set size (`fitsweep.learning_curve`'s table), its extrapolation to 2x and
  4x the data and whether more data would help; `learning_curve_findings` says it in a
  sentence per trial.
- `validation_lead`: when most executions score better on validation than on training, by how
  much, against the spread two random samples of those sizes show by chance.
- `weight_stats`: norms and sparsity of a network's kernels.
- `read_sweep`: what a finished sweep says for the next one: its top configurations and their
  values, their verdicts and why they underfit, whether the best was still improving, and the
  repeats that would tell the best two apart. `fitsweep.suggest` turns it into a sweep file
  (`next_sweep`, `NextSweep` and `Change` are `fitsweep.suggest`'s, importable from here as before).

Every threshold is a keyword argument with a documented default. Tables that cannot be analysed
(empty, too small, missing columns) raise `AnalysisError`, a `FitsweepError`.

Example:
    >>> from fitsweep.analysis import diagnose, compare
    >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
    >>> verdicts = diagnose(run.epochs, run.trials)  # doctest: +SKIP
    >>> compare(run.trials.merge(verdicts[["trial_id", "execution", "fit"]]))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from fitsweep.analysis._baseline import baseline_findings
from fitsweep.analysis._capacity import GAP_NAMES, capacity
from fitsweep.analysis._common import AnalysisError
from fitsweep.analysis._compared_metric import ComparedMetric, compared_metric, metric_of_table, other_metrics
from fitsweep.analysis._comparison import compare, configuration_columns, groupable_columns
from fitsweep.analysis._comparison_findings import comparison_findings
from fitsweep.analysis._diagnosis import chance_level_loss, diagnose
from fitsweep.analysis._importance import importance, importance_findings
from fitsweep.analysis._learning_curve import (
    TASK_CURVE_METRICS,
    DataVerdict,
    learning_curve_findings,
    learning_curve_metric,
    power_law,
    training_size_verdicts,
)
from fitsweep.analysis._next_sweep import BestConfiguration, ClosestPair, SweepReading, UnderfitCauses, read_sweep
from fitsweep.analysis._settled import RowCounts, Settled, settled_repeats, settled_verdict, verdict_settings
from fitsweep.analysis._split_luck import ValidationLead, validation_lead
from fitsweep.analysis._verdict_groups import fit_findings, fit_groups
from fitsweep.analysis._weights import weight_stats
from fitsweep.vocabulary import Verdict as Fit  # the verdicts' enum, named here for the `fit` column

__all__ = [
    "AnalysisError",
    "BestConfiguration",
    "baseline_findings",
    "Change",
    "ClosestPair",
    "ComparedMetric",
    "DataVerdict",
    "Fit",
    "GAP_NAMES",
    "TASK_CURVE_METRICS",
    "capacity",
    "chance_level_loss",
    "compare",
    "compared_metric",
    "comparison_findings",
    "configuration_columns",
    "diagnose",
    "fit_findings",
    "fit_groups",
    "groupable_columns",
    "importance",
    "importance_findings",
    "learning_curve_findings",
    "learning_curve_metric",
    "metric_of_table",
    "NextSweep",
    "other_metrics",
    "next_sweep",
    "power_law",
    "read_sweep",
    "RowCounts",
    "Settled",
    "settled_repeats",
    "settled_verdict",
    "SweepReading",
    "training_size_verdicts",
    "UnderfitCauses",
    "ValidationLead",
    "validation_lead",
    "verdict_settings",
    "weight_stats",
]

# The next sweep file is `fitsweep.suggest`'s, which reads this package: its names are lent here
# on first use, as before the move, without importing it when this package loads.
_FROM_SUGGEST = ("Change", "NextSweep", "next_sweep")


def __getattr__(name: str) -> Any:
    if name in _FROM_SUGGEST:
        import fitsweep.suggest

        return getattr(fitsweep.suggest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
