"""Would more data help? A power law fitted to validation error over training-set size, and its verdict.

The table is the learning curve over training-set size (`fitsweep.learning_curve`): one row per
trial, size and repeat, with the training and validation error (a regression's mean squared
error) measured as the verdicts measure them (inference mode, penalty-free, at the selected
epoch). Per trial, the validation error is fitted by the usual power law of learning-curve
work (Hestness et al., 2017; the curves LC-PFN extrapolates),

    error(n) = a * (n / n_max) ** -b + c,

(a is what is left to gain at the largest size n_max as n grows without bound, b the rate, c the
floor), by least squares over every repeat's point, with a and c non-negative: error that does
not fall is fitted flat. Intervals come from a bootstrap over repeats:
each resample draws, at every size, that many repeats with replacement and is fitted again. The
verdict asks one question with its interval: how much would doubling the data lower the error?

- **data-hungry**: the whole interval of the drop per doubling lies above `margin` (for a
  regression's MSE, `margin` times the validation target's variance: a point of R² per doubling);
- **flattened**: the whole interval lies below `margin`: capacity or regularization, not data,
  is the lever: a large train-validation gap points to regularization, a small one to bias
  (capacity) or to the targets' own noise, which the run's verdicts tell apart;
- **uncertain**: the interval straddles `margin`, too few sizes were measured, or the last step
  measured (the drop per doubling between the two largest sizes, without the curve) says the
  opposite: the floor c is the least certain part of a fit to a few sizes.

The extrapolation is checked as an honest forecaster would: with 4 sizes or more, the curve is
fitted again without the largest size and its prediction there is compared with the measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis._common import AnalysisError, FloatArray, require_columns

__all__ = ["DataVerdict", "LEARNING_CURVE_METRICS", "TASK_CURVE_METRICS", "learning_curve_findings",
           "learning_curve_metric", "power_law", "training_size_verdicts"]

LEARNING_CURVE_METRICS = ("error", "crossentropy", "mse")
TASK_CURVE_METRICS = {"classification": ("error", "crossentropy"), "regression": ("mse",)}  # each task's, default first
_WORDS = {"error": "validation error", "crossentropy": "validation cross-entropy", "mse": "validation MSE"}
_COLUMNS = ("trial_id", "size", "repeat", "train_rows")
MIN_SIZES = 3  # a three-parameter curve needs three sizes; a fourth checks it
MIN_REPEATS = 3  # intervals from fewer repeats are too narrow to trust
_RATES = np.linspace(0.0, 3.0, 301)[1:]  # the power law's rates b tried: up to 3, steps of 0.01


class DataVerdict(str, Enum):
    """Whether more training data would lower a configuration's validation error.

    Example:
        >>> DataVerdict("data-hungry") == "data-hungry"
        True
    """

    DATA_HUNGRY = "data-hungry"
    FLATTENED = "flattened"
    UNCERTAIN = "uncertain"

    def __str__(self) -> str:
        return self.value


def power_law(n: Any, a: float, b: float, c: float, n_max: float) -> Any:
    """The learning-curve model: `a * (n / n_max) ** -b + c`.

    Example:
        >>> round(power_law(200, a=0.1, b=1.0, c=0.05, n_max=100), 3)
        0.1
    """
    return a * (np.asarray(n, dtype="float64") / n_max) ** -b + c


@dataclass(frozen=True)
class _Curve:
    """One fit: its parameters, or NaN where least squares found none."""

    a: float
    b: float
    c: float
    n_max: float

    def at(self, n: float) -> float:
        return float(power_law(n, self.a, self.b, self.c, self.n_max))

    @property
    def drop_per_doubling(self) -> float:
        """How much doubling the largest size lowers the fitted error."""
        return self.at(self.n_max) - self.at(2 * self.n_max)


def learning_curve_metric(table: pd.DataFrame) -> str:
    """The metric a learning-curve table is read by unless told: "mse" for a regression's, else "error".

    Example:
        >>> learning_curve_metric(pd.DataFrame({"val_error": [0.1], "val_mse": [float("nan")]}))
        'error'
    """
    measured = "val_mse" in table.columns and pd.to_numeric(table["val_mse"], errors="coerce").notna().any()
    return "mse" if measured else "error"


def training_size_verdicts(
    table: pd.DataFrame,
    *,
    metric: str | None = None,
    margin: float = 0.01,
    confidence: float = 0.9,
    resamples: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Per trial: the power-law fit of validation `metric` over training rows, its extrapolation and verdict.

    Args:
        table: The learning-curve table (trial_id, size, repeat, train_rows, train_<metric>,
            val_<metric>, and for "mse" val_r2); rows whose validation value is not finite
            (diverged) are left out.
        metric: "error" (1 - accuracy) or "crossentropy" (penalty-free, nats) for a
            classification, "mse" for a regression; by default the table's task's
            (`learning_curve_metric`).
        margin: The smallest drop per doubling of the data that counts, in the metric's unit
            (0.01: a point of accuracy per doubling); for "mse" a share of the validation
            target's variance (0.01: a point of R² per doubling), since squared errors are in the
            target's units.
        confidence: Level of the bootstrap intervals.
        resamples: Bootstrap resamples over repeats.
        seed: Seed of the bootstrap.

    Returns:
        One row per trial: `metric`, `scale` (1, or for "mse" the validation target's variance
        that `margin` is a share of), `sizes`, `repeats` (the fewest at any size), `rows_max`, the fit
        (`a`, `b`, `c`), `val_at_max` and `train_at_max` (means at the largest size),
        `drop_per_doubling` with `_low`/`_high`, `last_step_drop` (measured between the two
        largest sizes, per doubling), `predicted_2x` and `predicted_4x` with their
        intervals, `gap_first` and `gap_last` (validation minus training at the smallest and
        largest size), `holdout_predicted`, `holdout_measured`, `holdout_error` (the largest size
        predicted from the smaller ones), for "mse" `val_r2_at_max` and `train_r2_at_max`,
        `reliable`, `verdict` (a `DataVerdict`) and `reason`.

    Raises:
        AnalysisError: An unknown metric, or a table without the learning-curve columns.

    Example:
        >>> verdicts = training_size_verdicts(fitsweep.load_learning_curve("results/moons"))  # doctest: +SKIP
        >>> verdicts[["trial_id", "verdict", "reason"]]  # doctest: +SKIP
    """
    if metric is not None and metric not in LEARNING_CURVE_METRICS:
        raise AnalysisError(f"metric {metric!r}: choose from {', '.join(LEARNING_CURVE_METRICS)}")
    measured = learning_curve_metric(table)
    metric = metric or measured
    allowed = TASK_CURVE_METRICS["regression" if measured == "mse" else "classification"]
    if metric not in allowed:
        raise AnalysisError(f"metric {metric!r} is not measured in this learning curve; allowed: {', '.join(allowed)}")
    require_columns(table, (*_COLUMNS, f"train_{metric}", f"val_{metric}", *_r2_columns(metric)), "learning-curve")
    scale = _target_variance(table) if metric == "mse" else 1.0
    rows = [_trial_verdict(str(trial_id), group, metric, scale, margin * scale, confidence, resamples, seed)
            for trial_id, group in table.groupby(table["trial_id"].astype(str), sort=True)]
    return pd.DataFrame(rows)


def _r2_columns(metric: str) -> tuple[str, ...]:
    return ("train_r2", "val_r2") if metric == "mse" else ()


def _target_variance(table: pd.DataFrame) -> float:
    """The validation target's variance, MSE / (1 - R²) of any row: the split is the same for every row."""
    mse, r2 = (pd.to_numeric(table[name], errors="coerce").to_numpy(dtype="float64") for name in ("val_mse", "val_r2"))
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = mse / (1.0 - r2)
    finite = variance[np.isfinite(variance) & (variance > 0)]
    if not len(finite):
        raise AnalysisError("the learning-curve table has no finite validation MSE and R² to read the target's "
                            "variance from")
    return float(np.median(finite))


def _trial_verdict(trial_id: str, group: pd.DataFrame, metric: str, scale: float, margin: float,
                   confidence: float, resamples: int, seed: int) -> dict[str, Any]:
    points = _points(group, metric)
    sizes = sorted(points["train_rows"].unique())
    repeats = int(points.groupby("train_rows")["repeat"].nunique().min()) if len(points) else 0
    row: dict[str, Any] = {"trial_id": trial_id, "metric": metric, "scale": scale, "sizes": len(sizes),
                           "repeats": repeats, "rows_max": int(sizes[-1]) if sizes else 0}
    if len(sizes) < MIN_SIZES:
        return {**row, "reliable": False, "verdict": DataVerdict.UNCERTAIN,
                "reason": f"{len(sizes)} training-set size(s) measured; a curve needs {MIN_SIZES} "
                          f"(and {MIN_SIZES + 1} to check its extrapolation)"}
    n_max = float(sizes[-1])
    curve = _fit(points, metric, n_max)
    boot = _bootstrap(points, metric, n_max, resamples, seed)
    low, high = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    means = points.groupby("train_rows")[[f"train_{metric}", f"val_{metric}", *_r2_columns(metric)]].mean()
    gaps = means[f"val_{metric}"] - means[f"train_{metric}"]
    row.update({f"{name}_at_max": float(means[name].iloc[-1]) for name in _r2_columns(metric)})
    row.update({
        "a": curve.a, "b": curve.b, "c": curve.c,
        "val_at_max": float(means[f"val_{metric}"].iloc[-1]), "train_at_max": float(means[f"train_{metric}"].iloc[-1]),
        "gap_first": float(gaps.iloc[0]), "gap_last": float(gaps.iloc[-1]), "rows_first": int(sizes[0]),
        # The last step measured, per doubling: what the data say without the curve.
        "last_step_drop": float(means[f"val_{metric}"].iloc[-2] - means[f"val_{metric}"].iloc[-1])
        / math.log2(sizes[-1] / sizes[-2]),
        "rows_before_max": int(sizes[-2]),
    })
    for name, values in (("drop_per_doubling", [c.drop_per_doubling for c in boot]),
                         ("predicted_2x", [c.at(2 * n_max) for c in boot]),
                         ("predicted_4x", [c.at(4 * n_max) for c in boot])):
        estimate = {"drop_per_doubling": curve.drop_per_doubling, "predicted_2x": curve.at(2 * n_max),
                    "predicted_4x": curve.at(4 * n_max)}[name]
        row[name], row[f"{name}_low"], row[f"{name}_high"] = estimate, *_interval(values, low, high)
    row.update(_holdout(points, metric, sizes, resamples, seed, low, high))
    return _judged(row, margin, confidence)


def _points(group: pd.DataFrame, metric: str) -> pd.DataFrame:
    columns = ["train_rows", "repeat", f"train_{metric}", f"val_{metric}", *_r2_columns(metric)]
    points = group[columns].apply(pd.to_numeric, errors="coerce")
    finite: pd.DataFrame = points[np.isfinite(points.to_numpy(dtype="float64")).all(axis=1)]
    return finite.sort_values(["train_rows", "repeat"])


def _fit(points: pd.DataFrame, metric: str, n_max: float) -> _Curve:
    """The power law fitted to a table's points."""
    n, y = points["train_rows"].to_numpy(dtype="float64"), points[f"val_{metric}"].to_numpy(dtype="float64")
    return _fit_arrays(n, y, n_max)


def _fit_arrays(n: FloatArray, y: FloatArray, n_max: float) -> _Curve:
    """Least squares of the power law over every point, with a >= 0 and c >= 0.

    For a fixed rate b the model is linear in a and c, so each rate on a fine grid gets its
    closed-form (non-negative) least squares and the best rate wins: no starting point to get
    wrong, no iterations that fail on a flat curve, and a few microseconds per fit.
    """
    if len(np.unique(n)) < MIN_SIZES:
        return _Curve(math.nan, math.nan, math.nan, n_max)
    u = (n / n_max)[None, :] ** -_RATES[:, None]  # (rates, points)
    u_mean, y_mean = u.mean(axis=1), y.mean()
    spread = ((u - u_mean[:, None]) ** 2).sum(axis=1)
    a = ((u - u_mean[:, None]) * (y - y_mean)).sum(axis=1) / np.maximum(spread, 1e-300)
    c = y_mean - a * u_mean
    rising = a < 0  # error that grows with data: the best non-increasing curve is flat
    a, c = np.where(rising, 0.0, a), np.where(rising, y_mean, c)
    below_zero = c < 0  # a floor below zero error: the best curve through the origin's floor
    through = (u * y).sum(axis=1) / (u * u).sum(axis=1)
    a, c = np.where(below_zero, np.maximum(through, 0.0), a), np.where(below_zero, 0.0, c)
    squares = ((a[:, None] * u + c[:, None] - y) ** 2).sum(axis=1)
    best = int(np.argmin(squares))
    return _Curve(float(a[best]), float(_RATES[best]), float(c[best]), n_max)


def _bootstrap(points: pd.DataFrame, metric: str, n_max: float, resamples: int, seed: int) -> list[_Curve]:
    """Fits to resamples that draw, at each size, its repeats with replacement."""
    generator = np.random.default_rng(seed)
    n = points["train_rows"].to_numpy(dtype="float64")
    y = points[f"val_{metric}"].to_numpy(dtype="float64")
    by_size = [np.flatnonzero(n == size) for size in np.unique(n)]
    curves = []
    for _ in range(resamples):
        drawn = np.concatenate([rows[generator.integers(0, len(rows), len(rows))] for rows in by_size])
        curves.append(_fit_arrays(n[drawn], y[drawn], n_max))
    return curves


def _interval(values: list[float], low: float, high: float) -> tuple[float, float]:
    finite: FloatArray = np.asarray([v for v in values if math.isfinite(v)], dtype="float64")
    if not len(finite):
        return math.nan, math.nan
    return float(np.quantile(finite, low)), float(np.quantile(finite, high))


def _holdout(points: pd.DataFrame, metric: str, sizes: list[Any], resamples: int, seed: int,
             low: float, high: float) -> dict[str, float]:
    """The largest size predicted from the smaller ones, against its measurement."""
    if len(sizes) < MIN_SIZES + 1:
        return {"holdout_predicted": math.nan, "holdout_measured": math.nan, "holdout_error": math.nan,
                "holdout_low": math.nan, "holdout_high": math.nan}
    largest, smaller = float(sizes[-1]), points[points["train_rows"] < sizes[-1]]
    n_max = float(sizes[-2])
    predicted = _fit(smaller, metric, n_max).at(largest)
    spread = _interval([curve.at(largest) for curve in _bootstrap(smaller, metric, n_max, resamples, seed)],
                       low, high)
    measured = float(points.loc[points["train_rows"] == sizes[-1], f"val_{metric}"].mean())
    return {"holdout_predicted": predicted, "holdout_measured": measured, "holdout_error": predicted - measured,
            "holdout_low": spread[0], "holdout_high": spread[1]}


def _judged(row: dict[str, Any], margin: float, confidence: float) -> dict[str, Any]:
    """The verdict from the interval of the drop per doubling, and its reason in words and numbers."""
    drop, drop_low, drop_high = row["drop_per_doubling"], row["drop_per_doubling_low"], row["drop_per_doubling_high"]
    problems = _reliability_problems(row, margin)
    row["reliable"] = not problems
    last_step = row["last_step_drop"]
    if not math.isfinite(drop):
        verdict = DataVerdict.UNCERTAIN
    elif drop_low > margin:
        verdict = DataVerdict.DATA_HUNGRY
    elif drop_high < margin:
        verdict = DataVerdict.FLATTENED
    else:
        verdict = DataVerdict.UNCERTAIN
    # A floor is the power law's least certain part: a verdict the last measured step contradicts is not given.
    disagreement = verdict is not DataVerdict.UNCERTAIN and (last_step > margin) != (verdict is DataVerdict.DATA_HUNGRY)
    if disagreement:
        lowered = "error" if row["metric"] == "error" else _WORDS[row["metric"]]
        problems.insert(0, f"The fit says {verdict}, but the last step measured ({row['rows_before_max']:,} to "
                           f"{row['rows_max']:,} rows) lowered the {lowered} by {_number(row, last_step)} per "
                           f"doubling, {'above' if last_step > margin else 'below'} {_margin(row, margin)}: more "
                           "sizes or repeats would settle it.")
        verdict = DataVerdict.UNCERTAIN
        row["reliable"] = False
    row["verdict"] = verdict
    row["reason"] = " ".join([_curve_sentence(row, verdict, margin, confidence), _gap_sentence(row, verdict),
                              _extrapolation_sentence(row, confidence), *problems])
    return row


def _number(row: dict[str, Any], value: float, *, signed: bool = False) -> str:
    """An error rate or cross-entropy to 3 decimals; a squared error, in the target's units, to 4 digits."""
    sign = "+" if signed else ""
    return f"{value:{sign},.4g}" if row["metric"] == "mse" else f"{value:{sign}.3f}"


def _margin(row: dict[str, Any], margin: float) -> str:
    if row["metric"] != "mse":
        return f"{margin:g}"
    return f"{margin:,.4g} ({margin / row['scale']:g} of R²)"


def _reliability_problems(row: dict[str, Any], margin: float) -> list[str]:
    problems = []
    if row["repeats"] < MIN_REPEATS:
        problems.append(f"Unreliable: {row['repeats']} repeat(s) per size give intervals too narrow to trust; "
                        f"use {MIN_REPEATS} or more.")
    if row["sizes"] < MIN_SIZES + 1:
        problems.append(f"Unchecked: {row['sizes']} sizes leave none to test the extrapolation on; "
                        f"use {MIN_SIZES + 1} or more.")
    elif math.isfinite(row["holdout_error"]):
        spread = max(row["holdout_high"] - row["holdout_predicted"], row["holdout_predicted"] - row["holdout_low"])
        if abs(row["holdout_error"]) > max(margin, spread if math.isfinite(spread) else 0.0):
            problems.append("Unreliable: the check missed by more than its interval, so the extrapolation is a guess.")
    return problems


def _curve_sentence(row: dict[str, Any], verdict: DataVerdict, margin: float, confidence: float) -> str:
    metric = _WORDS[row["metric"]]
    r2 = f" (R² {row['val_r2_at_max']:.3f})" if row["metric"] == "mse" else ""
    at_max = f"{_number(row, row['val_at_max'])}{r2} at {row['rows_max']:,} training rows"
    drop = (f"{_number(row, row['drop_per_doubling'])} per doubling of the data ({confidence:.0%} interval "
            f"{_number(row, row['drop_per_doubling_low'])} to {_number(row, row['drop_per_doubling_high'])})")
    if verdict is DataVerdict.DATA_HUNGRY:
        return f"Data-hungry: {metric} is still falling, {at_max}, by {drop}; more data is the lever."
    if verdict is DataVerdict.FLATTENED:
        return (f"Flattened: {metric} is {at_max} and doubling the data would lower it by {drop}, below "
                f"{_margin(row, margin)}.")
    if not math.isfinite(row["drop_per_doubling"]):
        return f"Uncertain: no power law fits the {metric} ({at_max})."
    return (f"Uncertain: {metric} is {at_max}; doubling the data would lower it by {drop}, which straddles "
            f"{_margin(row, margin)}.")


def _gap_sentence(row: dict[str, Any], verdict: DataVerdict) -> str:
    """Whether the training-validation gap closes as rows grow, and, where data is not the lever, which is."""
    first, last, scale = row["gap_first"], row["gap_last"], row["scale"]  # thresholds in the metric's units
    step = 0.01 * scale
    trend = "closing" if first - last > step else "not closing" if last - first > step else "about level"
    text = (f"The training-validation gap is {trend}: {_number(row, first)} at {row['rows_first']:,} rows, "
            f"{_number(row, last)} at {row['rows_max']:,}.")
    if verdict is DataVerdict.FLATTENED:
        if last > 0.02 * scale:
            return text + " Not data but regularization (or a smaller network) is the lever."
        if row["metric"] == "mse":
            text += (f" Training and validation MSE have both levelled off (training R² "
                     f"{row['train_r2_at_max']:.3f}, validation {row['val_r2_at_max']:.3f}).")
        # A small gap at a flat curve is bias or the targets' own noise; the curve cannot tell which.
        text += (" Not data: what is left is bias (capacity: a larger network or longer training lowers it) or "
                 "noise in the targets, which nothing lowers; the trial's verdict (fitsweep diagnose) says which.")
    return text


def _extrapolation_sentence(row: dict[str, Any], confidence: float) -> str:
    text = (f"Extrapolated: {_estimate(row, 'predicted_2x')} at 2x the data ({2 * row['rows_max']:,} rows), "
            f"{_estimate(row, 'predicted_4x')} at 4x ({confidence:.0%} intervals).")
    if math.isfinite(row.get("holdout_error", math.nan)):
        text += (f" Check: fitted without the largest size, the curve predicts {_number(row, row['holdout_predicted'])}"
                 f" there, measured {_number(row, row['holdout_measured'])} (off by "
                 f"{_number(row, row['holdout_error'], signed=True)}).")
    return text


def _estimate(row: dict[str, Any], name: str) -> str:
    return f"{_number(row, row[name])} ({_number(row, row[f'{name}_low'])}-{_number(row, row[f'{name}_high'])})"


def learning_curve_findings(verdicts: pd.DataFrame) -> list[str]:
    """One sentence per trial: its verdict on more data, with its numbers.

    Example:
        >>> learning_curve_findings(training_size_verdicts(table))  # doctest: +SKIP
    """
    return [f"Trial {row['trial_id']}: {row['reason']}" for _, row in verdicts.iterrows()]
