"""What a finished sweep says for the next one: its leaders, their verdicts, their noise.

The reading starts from the **top configurations**, the best `top_share` of the configurations
by the sweep's own objective (validation only: the test split never selects) and those Welch's
test cannot tell from the best, and reads:

- the hyperparameter values of the top configurations' executions and of the best one, so a
  range can be widened where the best sits at its edge and narrowed around the top ones;
- the verdict most of their executions share (the *mood*), with its counts in words;
- why the top ones underfit, where they do: a training loss that never moved, or a validation
  loss still falling at the last epoch;
- whether the best configuration was still improving when training stopped;
- how the best two configurations differ: within their noise or not, and the repeats that would
  resolve it;
- inputs left unscaled that `data.scaling: auto` would have scaled.

It returns numbers and evidence in words, and knows nothing of sweep-file keys: turning a
reading into the next sweep file is `fitsweep.suggest`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis._common import AnalysisError, FloatArray, as_float, completed, require_columns
from fitsweep.analysis._comparison import configuration_columns
from fitsweep.analysis._diagnosis import diagnose
from fitsweep.analysis._likely_causes import unscaled_inputs
from fitsweep.analysis._noise import binomial_se, mean_se, one_sided_z
from fitsweep.analysis._significance import repeats_to_resolve, welch_p_value
from fitsweep.results.columns import HYPERPARAMETER_COLUMNS, table_hyperparameters
from fitsweep.vocabulary import Verdict

__all__ = ["BestConfiguration", "ClosestPair", "SweepReading", "UnderfitCauses", "read_sweep"]

_MOST_REPEATS = 100  # past this many repeats a configuration, two configurations count as equivalent


@dataclass(frozen=True)
class BestConfiguration:
    """The best configuration by the objective, and whether it was still improving when training stopped.

    Attributes:
        trial_id: Its (first) trial.
        objective: Its mean objective over its executions.
        values: Its hyperparameters, by trials-table column: floats for numbers, else text.
        best_epochs: Each execution's best epoch.
        late_rates: Each execution's relative fall of the validation loss per epoch over its last epochs.
        epochs_run: The most epochs any of its executions ran.
        improving: How many of its executions were still improving (see `read_sweep`).
    """

    trial_id: str
    objective: float
    values: dict[str, Any]
    best_epochs: tuple[int, ...]
    late_rates: tuple[float, ...]
    epochs_run: int
    improving: int

    @property
    def executions(self) -> int:
        """How many completed executions it has."""
        return len(self.best_epochs)


@dataclass(frozen=True)
class UnderfitCauses:
    """Among the top configurations' underfit executions, what held them back.

    Attributes:
        executions: How many of the top configurations' executions underfit.
        frozen: How many of those had a training loss that never moved, or barely (and had not blown up first).
        improving: How many of those were still improving when training stopped.
        blown: How many of those had a training loss that blew up within an epoch: the updates overshot.
        penalized: How many of those name their regularization as the first likely cause: a penalty
            that holds the network near the chance level.
    """

    executions: int
    frozen: int
    improving: int
    blown: int = 0
    penalized: int = 0


@dataclass(frozen=True)
class ClosestPair:
    """The best two configurations, and whether their difference exceeds their noise.

    Attributes:
        trial_ids: Their (first) trials, the best first.
        difference: The second's mean objective minus the best's.
        executions: Each one's completed executions.
        p_value: Welch's p-value, with two executions or more on each side; NaN otherwise.
        told_apart: The p-value is below 1 - confidence.
        repeats_needed: Executions per configuration that would resolve the difference at the
            power asked for: inf past 100; NaN when told apart, or with one execution on a side.
        sampling_bound: With one execution on a side, the difference their validation samples
            alone explain at the confidence asked for (two-sided); NaN otherwise or unknown.
    """

    trial_ids: tuple[str, str]
    difference: float
    executions: tuple[int, int]
    p_value: float
    told_apart: bool
    repeats_needed: float
    sampling_bound: float


@dataclass(frozen=True)
class SweepReading:
    """What `read_sweep` reads from a finished sweep.

    Attributes:
        configurations: How many configurations completed with a finite objective.
        executions: How many completed executions they have.
        top: How many configurations lead (the best `top_share`, and those within noise of the best).
        top_values: Each hyperparameter column's values over the top configurations' executions,
            in table order: floats for numbers, else text.
        best: The best configuration.
        mood: The verdict more than half of the top executions share, or "mixed".
        mood_evidence: The top configurations and their verdict counts, in words.
        underfit: Why the top ones underfit.
        closest: The best two configurations; None with a single configuration.
        unscaled: Inputs left unscaled that auto would have scaled, in words; "" if none.
        summary: The whole reading in one sentence.
    """

    configurations: int
    executions: int
    top: int
    top_values: dict[str, tuple[Any, ...]]
    best: BestConfiguration
    mood: str
    mood_evidence: str
    underfit: UnderfitCauses
    closest: ClosestPair | None
    unscaled: str
    summary: str


def read_sweep(
    trials: pd.DataFrame,
    epochs: pd.DataFrame,
    *,
    objective: str,
    direction: str,
    diagnosis: pd.DataFrame | None = None,
    chance_loss: float | None = None,
    top_share: float = 0.25,
    last_epochs_share: float = 0.1,
    margin: float = 0.05,
    confidence: float = 0.95,
    power: float = 0.8,
    data: Mapping[str, Any] | None = None,
) -> SweepReading:
    """Read a finished sweep for the next one: its top configurations, their verdicts and noise.

    Args:
        trials: Its trials table.
        epochs: Its epochs table.
        objective: The column the sweep selected on (`spec.tuner.objective`).
        direction: "max" or "min": which way the objective is better (`spec.tuner.direction`).
        diagnosis: `diagnose(epochs, trials, ...)`'s table, when already computed; None computes it.
        chance_loss: The task's chance-level loss, passed to `diagnose` (run.json's `chance_loss`).
        top_share: Share of the configurations, best first by the objective, that lead (at least
            one), with every configuration within noise of the best: a quarter keeps the clear
            leaders of a grid of 32.
        last_epochs_share: A best epoch within this share of the epochs run from the end is "the
            last": with a validation loss falling there at a rate that, over as many epochs again,
            would take more than `margin` off it, the network was still improving when training
            stopped (a flat curve's best epoch lands at its end by chance).
        margin: The smallest relative fall of the validation loss that counts: `diagnose`'s 5%.
        confidence: Level at which the best two configurations count as told apart.
        power: Power the repeats are sized for (as `compare` sizes them).
        data: The run's data section (run.json's `data`), passed to `diagnose`: inputs left
            unscaled by request are named.

    Returns:
        A `SweepReading`: numbers and evidence in words.

    Raises:
        AnalysisError: No completed execution, a table without the columns it reads, or a
            setting out of range.

    Example:
        >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
        >>> tuner = run.spec.tuner  # doctest: +SKIP
        >>> reading = read_sweep(run.trials, run.epochs, objective=tuner.objective,  # doctest: +SKIP
        ...                      direction=tuner.direction)
        >>> reading.mood  # doctest: +SKIP
        'mixed'
    """
    for name, value in (("top_share", top_share), ("last_epochs_share", last_epochs_share),
                        ("confidence", confidence), ("power", power)):
        if not 0 < value < 1:
            raise AnalysisError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    if margin < 0:
        raise AnalysisError(f"margin must be at least 0, got {margin!r}")
    require_columns(trials, ["trial_id", "execution", objective, "best_epoch", "epochs_run"], "trials")
    if diagnosis is None:
        diagnosis = diagnose(epochs, trials, chance_loss=chance_loss, data=data)
    rows = _executions(trials, epochs, diagnosis, objective, last_epochs_share)
    configurations = (rows.groupby("configuration", sort=False)
                      .agg(objective=("objective", "mean"), executions=("objective", "size"),
                           trial_id=("trial_id", "first"))
                      .sort_values("objective", ascending=direction == "min", kind="stable"))
    n_top = max(1, math.ceil(top_share * len(configurations)))
    leaders = set(configurations.index[:n_top]) | _within_noise(rows, configurations.index[0], confidence)
    top = configurations[configurations.index.isin(leaders)]
    top_rows = rows[rows["configuration"].isin(top.index)]
    best_rows = rows[rows["configuration"] == configurations.index[0]]
    top_fits = top_rows["fit"].astype("string").fillna("unknown")
    mood, mood_evidence = _mood(top_fits, len(top), len(configurations))
    best = configurations.iloc[0]
    summary = (f"{len(configurations)} configuration{'s' if len(configurations) != 1 else ''}, {len(rows)} "
               f"completed execution{'s' if len(rows) != 1 else ''}; best trial {best['trial_id']} (objective "
               f"{best['objective']:.4g}); {mood_evidence}")
    return SweepReading(
        configurations=len(configurations), executions=len(rows), top=len(top),
        top_values={name: _values(top_rows[name]) for name in _hyperparameters(rows)},
        best=_best(best, best_rows, last_epochs_share, margin), mood=mood, mood_evidence=mood_evidence,
        underfit=_underfit(top_rows, last_epochs_share, margin),
        closest=_closest(rows, configurations, confidence, power), unscaled=unscaled_inputs(data), summary=summary)


def _executions(trials: pd.DataFrame, epochs: pd.DataFrame, diagnosis: pd.DataFrame, objective: str,
                last_epochs_share: float) -> pd.DataFrame:
    """One row per completed execution with a finite objective: its configuration, verdict, late rate, noise."""
    rows = completed(trials).copy()
    if rows.empty:
        raise AnalysisError("the sweep has no completed trial, so there is nothing to base a next sweep on")
    fits = diagnosis[["trial_id", "execution", "fit", "fit_reason"]].astype({"trial_id": "string"})
    rows["trial_id"] = rows["trial_id"].astype("string")
    rows = rows.drop(columns=["fit", "fit_reason"], errors="ignore").merge(fits, on=["trial_id", "execution"],
                                                                         how="left")
    rows = rows.merge(_late_rates(epochs, last_epochs_share), on=["trial_id", "execution"], how="left")
    columns = configuration_columns(rows)
    rows["configuration"] = rows.groupby(columns, dropna=False, sort=False).ngroup() if columns else 0
    rows["objective"] = as_float(rows[objective])
    finite: pd.DataFrame = rows[np.isfinite(rows["objective"].to_numpy())]
    if finite.empty:
        raise AnalysisError(f"no completed execution has a finite {objective}")
    finite["objective_se"] = _objective_se(finite, epochs, objective)
    return finite


def _hyperparameters(rows: pd.DataFrame) -> list[str]:
    return table_hyperparameters(rows.columns, HYPERPARAMETER_COLUMNS)


def _values(column: pd.Series) -> tuple[Any, ...]:
    """A hyperparameter column's values: floats for numbers (missing as NaN), else text."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return tuple(as_float(column).tolist())
    return tuple(column.astype("string"))


def _best(best: pd.Series, rows: pd.DataFrame, last_epochs_share: float, margin: float) -> BestConfiguration:
    return BestConfiguration(
        trial_id=str(best["trial_id"]), objective=float(best["objective"]),
        values={name: _values(rows[name])[0] for name in _hyperparameters(rows)},
        best_epochs=tuple(int(v) for v in rows["best_epoch"]),
        late_rates=tuple(as_float(rows["late_rate"]).tolist()), epochs_run=int(rows["epochs_run"].max()),
        improving=int(_still_improving(rows, last_epochs_share, margin).sum()))


def _underfit(top_rows: pd.DataFrame, last_epochs_share: float, margin: float) -> UnderfitCauses:
    underfit = top_rows[top_rows["fit"].astype("string") == Verdict.UNDERFIT]
    reasons = underfit["fit_reason"].astype("string").fillna("")
    # The words of the causes named in the reasons (`_likely_causes`).
    blown = reasons.str.contains("blew up")
    frozen = reasons.str.contains("never moved") | reasons.str.contains("barely moved")
    penalized = reasons.str.contains("Likely cause: regularization ", regex=False)
    return UnderfitCauses(executions=len(underfit), frozen=int((frozen & ~blown & ~penalized).sum()),
                          improving=int(_still_improving(underfit, last_epochs_share, margin).sum()),
                          blown=int(blown.sum()), penalized=int(penalized.sum()))


def _closest(rows: pd.DataFrame, configurations: pd.DataFrame, confidence: float, power: float) -> ClosestPair | None:
    """The best two configurations' difference, against Welch's test or, with one execution, their samples' noise."""
    if len(configurations) < 2:
        return None
    first, second = configurations.index[:2]
    values = rows.groupby("configuration")["objective"]
    a = values.get_group(first).to_numpy(dtype=float)
    b = values.get_group(second).to_numpy(dtype=float)
    p, needed, bound = math.nan, math.nan, math.nan
    if len(a) < 2 or len(b) < 2:
        bound = _sampling_bound(rows, first, second, confidence)
    else:
        p = welch_p_value(a, b)
    told_apart = not math.isnan(p) and p < 1 - confidence
    if len(a) >= 2 and len(b) >= 2 and not told_apart:
        needed = repeats_to_resolve(a, b, alpha=1 - confidence, power=power, max_repeats=_MOST_REPEATS)
    return ClosestPair(trial_ids=(str(configurations.loc[first, "trial_id"]),
                                  str(configurations.loc[second, "trial_id"])),
                       difference=float(b.mean() - a.mean()), executions=(len(a), len(b)), p_value=p,
                       told_apart=told_apart, repeats_needed=float(needed), sampling_bound=bound)


def _late_rates(epochs: pd.DataFrame, share: float) -> pd.DataFrame:
    """Per execution, `late_rate`: how fast its validation loss still fell at the end, relative, per epoch.

    The fall is over the last `share` of its epochs (at least two): (loss just before them - their
    lowest loss) / the former, divided by their number. The penalty-free cross-entropy is read
    where recorded; NaN for a single epoch.
    """
    require_columns(epochs, ["trial_id", "execution", "epoch", "val_loss"], "epochs")
    column = "val_crossentropy" if "val_crossentropy" in epochs.columns else "val_loss"
    rows = []
    for (trial_id, execution), curve in epochs.sort_values("epoch").groupby(["trial_id", "execution"], sort=False):
        values = as_float(curve[column])
        # At least two epochs, so that one epoch's noise does not decide; a run of three epochs has two.
        last = min(max(2, round(share * len(values))), len(values) - 1)
        fall = math.nan
        if last >= 1:
            before = values[len(values) - last - 1]
            fall = float((before - np.nanmin(values[-last:])) / before / last) if before > 0 else math.nan
        rows.append({"trial_id": str(trial_id), "execution": execution, "late_rate": fall})
    return pd.DataFrame(rows, columns=["trial_id", "execution", "late_rate"]).astype({"trial_id": "string"})


def _within_noise(rows: pd.DataFrame, best: Any, confidence: float) -> set[Any]:
    """The configurations whose objective cannot be told from the best's.

    With two executions or more on both sides by Welch's test; with fewer, by the noise of the
    validation samples alone (which understates the noise of seeds, so it errs towards apart).
    """
    values = {key: group.to_numpy(dtype=float) for key, group in rows.groupby("configuration")["objective"]}
    reference = values[best]
    within = set()
    for key, objective in values.items():
        if len(reference) >= 2 and len(objective) >= 2:
            close = welch_p_value(reference, objective) >= 1 - confidence  # NaN (no spread) is not close
        else:
            close = abs(float(objective.mean() - reference.mean())) < _sampling_bound(rows, best, key, confidence)
        if close:
            within.add(key)
    return within


def _mood(fits: pd.Series, n_top: int, n_configurations: int) -> tuple[str, str]:
    """The verdict more than half of the top executions share ("mixed" if none), and its counts in words."""
    counts = fits.value_counts()
    total = int(counts.sum())
    leading = str(counts.index[0]) if total else "mixed"
    mood = leading if total and counts.iloc[0] * 2 > total else "mixed"
    spelled = ", ".join(f"{int(n)} {fit}" for fit, n in counts.items())
    top = "the best configuration" if n_top == 1 else \
        f"the top {n_top} of {n_configurations} configurations (best quarter, or within noise of the best)"
    return mood, f"{top}: {spelled} of {total} executions"


def _still_improving(rows: pd.DataFrame, last_epochs_share: float, margin: float) -> np.ndarray:
    """Executions whose best epoch is among their last ones and whose validation loss still falls clearly."""
    best, run = as_float(rows["best_epoch"]), as_float(rows["epochs_run"])
    # At its final rate, as many epochs again would take more than `margin` off the validation loss. A
    # straight line overstates what a slowing curve gains, so a rate below this is a clear no.
    return np.asarray((best > (1 - last_epochs_share) * run) & (as_float(rows["late_rate"]) * run > margin))



def _sampling_bound(rows: pd.DataFrame, first: Any, second: Any, confidence: float) -> float:
    """The difference of two configurations' mean objectives their validation samples explain (NaN if unknown)."""
    variances = []
    for configuration in (first, second):
        se = rows.loc[rows["configuration"] == configuration, "objective_se"].to_numpy(dtype=float)
        variances.append(float(np.mean(se**2) / len(se)) if len(se) else math.nan)
    return one_sided_z((1 + confidence) / 2) * math.sqrt(sum(variances))  # two-sided: either may be better


def _objective_se(rows: pd.DataFrame, epochs: pd.DataFrame, objective: str) -> FloatArray:
    """Each execution's standard error of its objective from its validation rows (NaN where not recorded).

    An accuracy's is binomial; a loss's is the per-row spread of the cross-entropy at the best
    epoch over the square root of the rows (an L1/L2 penalty is the same on every row).
    """
    val_rows = as_float(rows["val_rows"]) if "val_rows" in rows.columns else np.full(len(rows), np.nan)
    if objective == "val_accuracy":
        accuracy = as_float(rows["objective"])
        pairs = zip(accuracy, val_rows, strict=True)
        return np.asarray([binomial_se(1 - a, n) if n > 0 else math.nan for a, n in pairs])
    if "val_crossentropy_sd" not in epochs.columns:
        return np.full(len(rows), np.nan)
    spread = epochs[["trial_id", "execution", "epoch", "val_crossentropy_sd"]].astype({"trial_id": "string"})
    at_best = rows[["trial_id", "execution", "best_epoch"]].merge(
        spread, left_on=["trial_id", "execution", "best_epoch"], right_on=["trial_id", "execution", "epoch"],
        how="left")
    sd = as_float(at_best["val_crossentropy_sd"])
    pairs = zip(sd, val_rows, strict=True)
    return np.asarray([mean_se(v, n) if n > 0 and math.isfinite(v) else math.nan for v, n in pairs])
