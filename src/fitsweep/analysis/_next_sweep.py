"""The next sweep: what a finished sweep's verdicts, best trials and noise say to search next.

The reading starts from the **top configurations**, the best `top_share` of the configurations
by the sweep's own objective (validation only: the test split never selects) and those Welch's
test cannot tell from the best, and from their verdicts:

- a range (or numeric choice) is **widened** where the best configuration sits at its edge;
- it is **narrowed** around the top configurations where most of their executions fit well;
- **regularization** is added or strengthened where most of them overfit;
- where most underfit, the **learning rate** is raised where their loss never moved (no
  capacity: a network that does not train needs none), inputs left unscaled are scaled, the
  **learning rate and then epochs** are raised when they were still improving at their last
  epoch, **capacity** otherwise;
- **train longer** where the best configuration's best epoch is in the last tenth of its epochs;
- **repeats** are raised where the best two configurations differ by less than their noise.

Every change carries its evidence, with numbers. The result is plain sweep-file data that
`fitsweep.spec.parse_spec` validates; writing it as commented YAML is `fitsweep.suggest`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis._common import AnalysisError, FloatArray, as_float, completed, require_columns
from fitsweep.analysis._comparison import configuration_columns, repeats_to_resolve, welch_p_value
from fitsweep.analysis._diagnosis import diagnose, unscaled_inputs
from fitsweep.analysis._noise import binomial_se, mean_se, one_sided_z
from fitsweep.columns import REGULARIZERS, decode_layers, decode_regularizers, encode_layers
from fitsweep.spec import SWEEP_NAME, Choice, ModelSpec, Range, SweepSpec

__all__ = ["Change", "NextSweep", "next_sweep"]

# Where each hyperparameter lives in the sweep file, and how its values are spaced: ratio-spaced
# values grow by multiplying (1e-4, 1e-3; 32, 64), the others by adding (depth 1, 2; dropout 0.2, 0.4).
_SECTION = {"depth": "model", "width": "model", "dropout": "model", "l1": "model", "l2": "model",
            "learning_rate": "train", "batch_size": "train"}
_RATIO_SPACED = {"width", "l1", "l2", "learning_rate", "batch_size"}
_INTEGER = {"depth", "width", "batch_size"}
# The step beyond an edge when the edge's neighbour is 0 (and so gives no ratio).
_RATIO_FROM_ZERO = {"width": 2.0, "batch_size": 2.0, "l1": 10.0, "l2": 10.0, "learning_rate": 10.0}
# The values each hyperparameter allows (fitsweep.spec), kept inside when widening; dropout stops at 0.8
# because beyond it a network keeps too few units to learn.
_BOUNDS = {"depth": (0.0, 64.0), "width": (1.0, 1e6), "dropout": (0.0, 0.8), "l1": (0.0, 1e3), "l2": (0.0, 1e3),
           "learning_rate": (1e-12, 10.0), "batch_size": (1.0, 1e6)}
# Which direction adds capacity: more units and layers, less regularization.
_CAPACITY_UP = {"depth": 1, "width": 1, "dropout": -1, "l1": -1, "l2": -1}
_DEFAULT_L2 = [1.0e-4, 1.0e-3]  # the strengths the notMNIST study found to matter
_DEFAULT_DROPOUT = [0.2, 0.5]
_LEARNING_RATE_STEP = 3.0  # half a decade: the usual spacing of a learning-rate grid
_GRID_RANGE_VALUES = 10  # KerasTuner's grid takes 10 values of a range without step


@dataclass(frozen=True)
class Change:
    """One edit of the sweep file, and the evidence for it.

    Attributes:
        key: The sweep-file key, such as "model.l2" or "tuner.executions_per_trial".
        before: Its value in the finished sweep (sweep-file form: constant, {values}, {min, max}).
        after: Its value in the next sweep.
        rule: Which rule made it: "widen", "narrow", "regularize", "capacity", "train longer",
            "learning rate", "scaling", "repeats", "objective", "grid".
        evidence: Why, with the numbers it rests on, in one sentence.
    """

    key: str
    before: Any
    after: Any
    rule: str
    evidence: str


@dataclass(frozen=True)
class NextSweep:
    """The sweep `next_sweep` suggests.

    Attributes:
        sweep: The next sweep file as plain data (every key, defaults included); it validates.
        changes: Each edit with its evidence, in sweep-file order of the rules that made them.
        notes: What was looked at and left as it was, with its numbers.
        summary: The finished sweep's reading in one sentence: configurations, top ones, verdicts.
    """

    sweep: dict[str, Any]
    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class _Reading:
    """What the rules read from the finished sweep."""

    configurations: pd.DataFrame  # one row per configuration: columns, `objective`, verdict counts; best first
    executions: pd.DataFrame  # one row per completed execution: configuration id, objective, fit, epochs
    top: pd.DataFrame  # the top configurations' rows of `configurations`
    mood: str  # the verdict most of the top configurations' executions share, or "mixed"
    mood_evidence: str


def next_sweep(
    spec: SweepSpec,
    trials: pd.DataFrame,
    epochs: pd.DataFrame,
    *,
    diagnosis: pd.DataFrame | None = None,
    chance_loss: float | None = None,
    top_share: float = 0.25,
    edge_share: float = 0.1,
    last_epochs_share: float = 0.1,
    margin: float = 0.05,
    confidence: float = 0.95,
    power: float = 0.8,
    max_repeats: int = 10,
    data: Mapping[str, Any] | None = None,
) -> NextSweep:
    """Derive the next sweep from a finished one: each change with its evidence.

    Args:
        spec: The finished sweep's validated spec (`fitsweep.load(path).spec`).
        trials: Its trials table.
        epochs: Its epochs table.
        diagnosis: `diagnose(epochs, trials, ...)`'s table, when already computed; None computes it.
        chance_loss: The task's chance-level loss, passed to `diagnose` (run.json's `chance_loss`).
        top_share: Share of the configurations, best first by the objective, whose values and
            verdicts lead (at least one), with every configuration within noise of the best: a
            quarter keeps the clear leaders of a grid of 32.
        edge_share: A range's best value within this share of its span (log span for log
            sampling) from an end sits at that edge.
        last_epochs_share: A best epoch within this share of the epochs run from the end is "the
            last": with a validation loss falling there at a rate that, over as many epochs again,
            would take more than `margin` off it, the network was still improving when training
            stopped (a flat curve's best epoch lands at its end by chance).
        margin: The smallest relative fall of the validation loss that counts: `diagnose`'s 5%.
        confidence: Level at which the best two configurations count as told apart.
        power: Power the repeats are sized for (as `compare` sizes them).
        max_repeats: The most executions per trial suggested; more needed is said in the evidence.
        data: The run's data section (run.json's `data`), passed to `diagnose`: inputs left
            unscaled by request are named as a cause, and scaled in the next sweep.

    Returns:
        A `NextSweep`: the sweep as plain data, its changes and the notes on what stayed.

    Raises:
        AnalysisError: No completed execution, a table without the columns the rules read, or a
            setting out of range.

    Example:
        >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
        >>> info = run.info  # doctest: +SKIP
        >>> suggestion = next_sweep(run.spec, run.trials, run.epochs, chance_loss=info["chance_loss"])  # doctest: +SKIP
        >>> [change.key for change in suggestion.changes]  # doctest: +SKIP
        ['model.layers', 'train.epochs', 'tuner.executions_per_trial', 'tuner.max_trials']
    """
    for name, value in (("top_share", top_share), ("edge_share", edge_share),
                        ("last_epochs_share", last_epochs_share), ("confidence", confidence), ("power", power)):
        if not 0 < value < 1:
            raise AnalysisError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    if margin < 0:
        raise AnalysisError(f"margin must be at least 0, got {margin!r}")
    if max_repeats < 1:
        raise AnalysisError(f"max_repeats must be at least 1, got {max_repeats!r}")
    _dense(spec)
    objective = spec.tuner.objective
    require_columns(trials, ["trial_id", "execution", objective, "best_epoch", "epochs_run"], "trials")
    if diagnosis is None:
        diagnosis = diagnose(epochs, trials, chance_loss=chance_loss, data=data)
    reading = _read(spec, trials, epochs, diagnosis, top_share, last_epochs_share, confidence)
    editor = _Editor(spec)
    if not _scaling_rule(editor, data):  # on unscaled inputs the ranking of shapes and fits says little
        _shape_rules(editor, spec, reading, edge_share)
        _fit_rules(editor, spec, reading, last_epochs_share, margin)
    _repeat_rule(editor, spec, reading, confidence, power, max_repeats)
    _bookkeeping_rules(editor, spec)
    return NextSweep(sweep=editor.raw, changes=tuple(editor.changes), notes=tuple(editor.notes),
                     summary=_summary(reading))


def _dense(spec: SweepSpec) -> ModelSpec:
    """The sweep's Dense model section: the rules edit its keys (depth, width, layers, regularizers)."""
    if not isinstance(spec.model, ModelSpec):
        raise AnalysisError(f"next_sweep reads sweeps of family: dense only, not family: {spec.model.family}")
    return spec.model


# --- reading the finished sweep --------------------------------------------------------------


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


def _read(spec: SweepSpec, trials: pd.DataFrame, epochs: pd.DataFrame, diagnosis: pd.DataFrame, top_share: float,
          last_epochs_share: float, confidence: float) -> _Reading:
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
    rows["objective"] = as_float(rows[spec.tuner.objective])
    rows = rows[np.isfinite(rows["objective"].to_numpy())]
    if rows.empty:
        raise AnalysisError(f"no completed execution has a finite {spec.tuner.objective}")
    rows["objective_se"] = _objective_se(rows, epochs, spec.tuner.objective)
    ascending = spec.tuner.direction == "min"
    configurations = (rows.groupby("configuration", sort=False)
                      .agg(objective=("objective", "mean"), executions=("objective", "size"),
                           trial_id=("trial_id", "first"))
                      .sort_values("objective", ascending=ascending, kind="stable"))
    n_top = max(1, math.ceil(top_share * len(configurations)))
    leaders = set(configurations.index[:n_top]) | _within_noise(rows, configurations.index[0], confidence)
    top = configurations[configurations.index.isin(leaders)]
    n_top = len(top)
    top_fits = rows.loc[rows["configuration"].isin(top.index), "fit"].astype("string").fillna("unknown")
    mood, mood_evidence = _mood(top_fits, n_top, len(configurations))
    return _Reading(configurations=configurations, executions=rows, top=top, mood=mood, mood_evidence=mood_evidence)


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


def _summary(reading: _Reading) -> str:
    n = len(reading.configurations)
    executions = len(reading.executions)
    best = reading.configurations.iloc[0]
    return (f"{n} configuration{'s' if n != 1 else ''}, {executions} completed execution"
            f"{'s' if executions != 1 else ''}; best trial {best['trial_id']} (objective {best['objective']:.4g}); "
            f"{reading.mood_evidence}")


def _top_rows(reading: _Reading) -> pd.DataFrame:
    return reading.executions[reading.executions["configuration"].isin(reading.top.index)]


def _best_rows(reading: _Reading) -> pd.DataFrame:
    rows: pd.DataFrame = reading.executions[reading.executions["configuration"] == reading.configurations.index[0]]
    return rows


# --- editing the sweep file ------------------------------------------------------------------


class _Editor:
    """The next sweep as plain data, and the changes made to it."""

    def __init__(self, spec: SweepSpec) -> None:
        self.raw = spec.resolved()
        self.original = spec.resolved()
        self.changes: list[Change] = []
        self.notes: list[str] = []

    def get(self, key: str) -> Any:
        section, name = key.split(".")
        return self.raw[section][name]

    def set(self, key: str, value: Any, rule: str, evidence: str) -> None:
        section, name = key.split(".")
        before = self.original[section].get(name)
        self.raw[section][name] = value
        self.changes.append(Change(key=key, before=before, after=value, rule=rule, evidence=evidence))


def _plain_values(form: Any) -> list[Any]:
    """A choice's or constant's values as a list (a range gives its two ends)."""
    if isinstance(form, dict) and "values" in form:
        return list(form["values"])
    if isinstance(form, dict):
        return [form["min"], form["max"]]
    return [form]


def _choice(values: Sequence[Any]) -> Any:
    """Values as a sweep-file form: a constant for one value, else a choice."""
    return values[0] if len(values) == 1 else {"values": list(values)}


def _number(value: float, name: str) -> float | int:
    if name in _INTEGER:
        return round(value)
    return float(f"{value:.3g}")  # 0.00030000000000000003 reads badly in a sweep file


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- range edges and narrowing ---------------------------------------------------------------


def _shape_rules(editor: _Editor, spec: SweepSpec, reading: _Reading, edge_share: float) -> None:
    """Widen where the best configuration sits at an edge; narrow where the top ones fit well."""
    for name, section in _SECTION.items():
        if name not in reading.executions.columns or (name in REGULARIZERS and _dense(spec).regularizers is not None):
            continue
        if name in ("depth", "width") and _dense(spec).layers is not None:
            continue
        form = getattr(getattr(spec, section), name)
        if isinstance(form, Range):
            _reshape_range(editor, f"{section}.{name}", name, form, reading, edge_share)
        elif isinstance(form, Choice) and len(set(form.values)) > 1:
            _reshape_choice(editor, f"{section}.{name}", name, [float(v) for v in form.values], reading)
    for name in ("activation", "optimizer"):
        form = getattr(spec.model if name == "activation" else spec.train, name)
        if isinstance(form, Choice) and len(set(form.values)) > 1:
            _narrow_names(editor, f"{'model' if name == 'activation' else 'train'}.{name}", name, form.values, reading)
    layers = _dense(spec).layers
    if isinstance(layers, Choice):
        _narrow_names(editor, "model.layers", "layers", [encode_layers(v) for v in layers.values], reading)
    if _dense(spec).regularizers is not None:
        _reshape_regularizers(editor, spec, reading)


def _allowed_direction(name: str, mood: str) -> set[int]:
    """Directions (+1 up, -1 down) an edge may be widened in: not towards more capacity when overfitting."""
    if name not in _CAPACITY_UP:
        return {1, -1}
    more = _CAPACITY_UP[name]
    if mood == "overfit":
        return {-more}
    if mood == "underfit":
        return {more}
    return {1, -1}


def _beyond(name: str, edge: float, neighbour: float) -> float | None:
    """The next value past `edge`, away from `neighbour`, spaced as the two are; None outside the bounds."""
    low, high = _BOUNDS[name]
    if name in _RATIO_SPACED and edge > 0:
        ratio = edge / neighbour if neighbour > 0 else _RATIO_FROM_ZERO[name]
        value = edge * ratio if edge > neighbour else edge / ratio
    else:
        value = edge + (edge - neighbour)
    value = float(_number(value, name))
    if not low <= value <= high or value == edge or (name in _INTEGER and value < 1 and name != "depth"):
        return None
    return value


def _reshape_choice(editor: _Editor, key: str, name: str, values: list[float], reading: _Reading) -> None:
    ordered = sorted(set(values))
    top_values = sorted(set(as_float(_top_rows(reading)[name]).tolist()) & set(ordered))
    best = float(as_float(_best_rows(reading)[name])[0])
    kept = top_values if reading.mood == "good" and top_values else ordered
    reasons = []
    if kept != ordered:
        dropped = ", ".join(_shown(_number(v, name)) for v in ordered if v not in kept)
        reasons.append(("narrow", f"{reading.mood_evidence}; dropped the {name} none of them has: {dropped}"))
    for direction, edge, neighbour in ((1, ordered[-1], ordered[-2]), (-1, ordered[0], ordered[1])):
        if best != edge or direction not in _allowed_direction(name, reading.mood):
            continue
        new = _beyond(name, edge, neighbour)
        if new is not None:
            kept = sorted({*kept, new})
            side = "largest" if direction > 0 else "smallest"
            reasons.append(("widen", f"the best configuration (trial {reading.configurations.iloc[0]['trial_id']}, "
                                     f"objective {reading.configurations.iloc[0]['objective']:.4g}) has {name} = "
                                     f"{_shown(_number(edge, name))}, the {side} value tried: added "
                                     f"{_shown(_number(new, name))}"))
    if reasons:
        value = _choice([_number(v, name) for v in kept])
        for rule, evidence in reasons:
            editor.set(key, value, rule, evidence)


def _position(value: float, form: Range) -> float:
    """Where `value` lies in the range, 0 at min and 1 at max (on a log scale for log sampling)."""
    low, high = float(form.min), float(form.max)
    if high == low:
        return 0.5
    if form.sampling == "log":
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def _at(position: float, form: Range) -> float:
    low, high = float(form.min), float(form.max)
    if form.sampling == "log":
        return math.exp(math.log(low) + position * (math.log(high) - math.log(low)))
    return low + position * (high - low)


def _reshape_range(editor: _Editor, key: str, name: str, form: Range, reading: _Reading, edge_share: float) -> None:
    top = as_float(_top_rows(reading)[name])
    best = float(as_float(_best_rows(reading)[name])[0])
    low_position, high_position = 0.0, 1.0
    reasons = []
    if reading.mood == "good":
        positions = [_position(v, form) for v in top]
        low_position, high_position = max(0.0, min(positions) - edge_share), min(1.0, max(positions) + edge_share)
        if high_position - low_position > 0.75:  # not worth narrowing: the top spread over most of it
            low_position, high_position = 0.0, 1.0
        else:
            reasons.append(("narrow", f"{reading.mood_evidence}; their {name} lies in {float(top.min()):.3g}-"
                                      f"{float(top.max()):.3g}: narrowed around it"))
    best_position = _position(best, form)
    for direction, at_edge in ((1, best_position >= 1 - edge_share), (-1, best_position <= edge_share)):
        if not at_edge or direction not in _allowed_direction(name, reading.mood):
            continue
        target = _widened_end(name, form, direction)
        if target is None:
            continue
        if direction > 0:
            high_position = _position(target, form)
        else:
            low_position = _position(target, form)
        edge = float(form.max) if direction > 0 else float(form.min)
        side = "top" if direction > 0 else "bottom"
        reasons.append(("widen", f"the best configuration (trial {reading.configurations.iloc[0]['trial_id']}) has "
                                 f"{name} = {_shown(_number(best, name))}, within {edge_share:.0%} of the range's "
                                 f"{side} ({_shown(edge)}): extended by half its span, to "
                                 f"{_shown(_number(target, name))}"))
    if not reasons:
        return
    new = dict(editor.get(key))
    new["min"], new["max"] = _number(_at(low_position, form), name), _number(_at(high_position, form), name)
    if form.step is not None and name in _INTEGER:  # keep the range on its step's grid
        step = int(form.step)
        new["min"] = int(form.min) + step * math.floor((int(new["min"]) - int(form.min)) / step)
        new["max"] = int(form.min) + step * math.ceil((int(new["max"]) - int(form.min)) / step)
    for rule, evidence in reasons:
        editor.set(key, new, rule, evidence)


def _widened_end(name: str, form: Range, direction: int) -> float | None:
    """The range's end moved out by half its span (a log span for log sampling), in bounds; None if it cannot move."""
    low, high = _BOUNDS[name]
    target = _at(1.5 if direction > 0 else -0.5, form)
    target = min(max(target, low), high)
    if form.sampling == "log" and target <= 0:
        return None
    target = float(_number(target, name))
    edge = float(form.max) if direction > 0 else float(form.min)
    return target if (target - edge) * direction > 0 else None


def _narrow_names(editor: _Editor, key: str, name: str, values: Sequence[str], reading: _Reading) -> None:
    """A choice of names (activation, optimizer, layers): keep the top configurations' ones if they fit well."""
    if reading.mood != "good" or name not in reading.executions.columns:
        return
    used = set(_top_rows(reading)[name].astype("string"))
    kept = [value for value in values if value in used]
    if not kept or len(kept) == len(values):
        return
    dropped = ", ".join(value for value in values if value not in used)
    as_values = [decode_layers(v) for v in kept] if name == "layers" else kept
    editor.set(key, _choice(as_values), "narrow",
               f"{reading.mood_evidence}; dropped the {name} none of them has: {dropped}")


def _reshape_regularizers(editor: _Editor, spec: SweepSpec, reading: _Reading) -> None:
    """`model.regularizers`: keep the top combinations if they fit well; add the next strength past the top's edge."""
    regularizers = _dense(spec).regularizers
    assert regularizers is not None  # the caller checked
    options = [option.model_dump() for option in regularizers.values]
    top_rows = _top_rows(reading)
    top_combinations = [decode_regularizers(str(v)) for v in set(top_rows["regularizers"].astype("string"))] \
        if "regularizers" in top_rows.columns else []
    kept = [o for o in options if o in top_combinations] if reading.mood == "good" else list(options)
    reasons = []
    if reading.mood == "good" and kept and len(kept) < len(options):
        dropped = ", ".join(_combination(o) for o in options if o not in kept)
        reasons.append(("narrow", f"{reading.mood_evidence}; dropped the combinations none of them has: {dropped}"))
    else:
        kept = list(options)
    for name in REGULARIZERS:
        strengths = sorted({o[name] for o in options if o[name] > 0 and _single(o, name)})
        if not strengths or 1 not in _allowed_direction(name, reading.mood):
            continue
        strongest = {name: strengths[-1], **{other: 0.0 for other in REGULARIZERS if other != name}}
        if strongest not in top_combinations:
            continue
        new = _beyond(name, strengths[-1], strengths[-2] if len(strengths) > 1 else 0.0)
        addition = {**strongest, name: new}
        if new is None or addition in kept:
            continue
        kept.append(addition)
        reasons.append(("widen", f"{_combination(strongest)}, the strongest {name} tried, is among the top "
                                 f"configurations: added {_combination(addition)}"))
    if reasons:
        for rule, evidence in reasons:
            editor.set("model.regularizers", {"values": [_sparse(o) for o in kept]}, rule, evidence)


def _single(option: dict[str, float], name: str) -> bool:
    return all(option[other] == 0 for other in REGULARIZERS if other != name)


def _combination(option: dict[str, float]) -> str:
    parts = [f"{name}={option[name]:g}" for name in REGULARIZERS if option.get(name, 0) > 0]
    return "+".join(parts) or "none"


def _sparse(option: dict[str, float]) -> dict[str, float]:
    """A combination as the sweep file writes it: only the regularizers that are on."""
    return {name: float(option[name]) for name in REGULARIZERS if option.get(name, 0) > 0}


# --- what the verdicts ask for ---------------------------------------------------------------


def _scaling_rule(editor: _Editor, data: Mapping[str, Any] | None) -> bool:
    """Inputs left unscaled that auto would scale: scale them first, since they hold back every configuration.

    The search space and the training stay as they were: which shape or learning rate did best
    on unscaled inputs says little about scaled ones. Returns whether it changed the sweep.
    """
    unscaled = unscaled_inputs(data)
    if not unscaled:
        return False
    editor.set("data.scaling", "auto", "scaling", unscaled)
    editor.notes.append("the search space and training are kept as they were until a sweep on scaled inputs "
                        "shows what they need")
    return True


def _fit_rules(editor: _Editor, spec: SweepSpec, reading: _Reading, last_epochs_share: float, margin: float) -> None:
    """Regularize where the top configurations overfit; train longer or add capacity where they underfit."""
    if reading.mood == "overfit":
        _regularize(editor, spec, reading)
    elif reading.mood == "underfit":
        _underfit_rules(editor, spec, reading, last_epochs_share, margin)
    best = _best_rows(reading)
    improving = _still_improving(best, last_epochs_share, margin)
    if improving.sum() * 2 > len(best) and not any(c.key == "train.epochs" for c in editor.changes):
        best_epochs = ", ".join(str(int(v)) for v in best["best_epoch"])
        falls = ", ".join(f"{v:.2%}" for v in as_float(best["late_rate"]))
        _train_longer(editor, spec, f"the best configuration's best epochs ({best_epochs}) are in the last "
                                    f"{last_epochs_share:.0%} of its {int(best['epochs_run'].max())} epochs, where "
                                    f"its validation loss still fell {falls} per epoch (as many epochs again at "
                                    f"that rate would take over {margin:.0%} off it)")


def _underfit_rules(editor: _Editor, spec: SweepSpec, reading: _Reading, last_epochs_share: float,
                    margin: float) -> None:
    """The cause of the top configurations' underfitting decides the change: the optimisation before capacity.

    A network whose loss never moved, or whose inputs were left unscaled, does not train: more
    width or epochs cannot help it, a larger learning rate (or scaled inputs) can. A loss still
    falling steadily when training stopped asks for a larger learning rate first, then more
    epochs. Otherwise the network learned what it could: add capacity.
    """
    underfit = _top_rows(reading)
    underfit = underfit[underfit["fit"].astype("string") == "underfit"]
    reasons = underfit["fit_reason"].astype("string").fillna("")
    unscaled = any(change.key == "data.scaling" for change in editor.changes)
    frozen = reasons.str.contains("never moved")
    if frozen.sum() * 2 > len(underfit):
        _raise_learning_rate(editor, spec, f"{reading.mood_evidence}; the training loss of {int(frozen.sum())} of "
                                           f"{len(underfit)} underfit executions never moved: a network that does "
                                           "not train needs a larger learning rate (or live units), not capacity")
        return
    if unscaled:
        return
    improving = _still_improving(underfit, last_epochs_share, margin)
    share = f"{int(improving.sum())} of {len(underfit)} underfit executions were still improving (best epoch " \
            f"in the last {last_epochs_share:.0%} of their epochs, and at the final rate as many epochs again " \
            f"would take over {margin:.0%} off the validation loss)"
    if improving.sum() * 2 > len(underfit):
        _raise_learning_rate(editor, spec, f"{reading.mood_evidence}; {share}")
        _train_longer(editor, spec, f"{reading.mood_evidence}; {share}")
    else:
        _add_capacity(editor, spec, reading, f"{reading.mood_evidence}; {share}: not for want of epochs")


def _still_improving(rows: pd.DataFrame, last_epochs_share: float, margin: float) -> np.ndarray:
    """Executions whose best epoch is among their last ones and whose validation loss still falls clearly."""
    best, run = as_float(rows["best_epoch"]), as_float(rows["epochs_run"])
    # At its final rate, as many epochs again would take more than `margin` off the validation loss. A
    # straight line overstates what a slowing curve gains, so a rate below this is a clear no.
    return np.asarray((best > (1 - last_epochs_share) * run) & (as_float(rows["late_rate"]) * run > margin))


def _train_longer(editor: _Editor, spec: SweepSpec, evidence: str) -> None:
    epochs = spec.train.epochs
    editor.set("train.epochs", min(2 * epochs, 100_000), "train longer", f"{evidence}: epochs doubled")


def _raise_learning_rate(editor: _Editor, spec: SweepSpec, evidence: str) -> None:
    if any(change.key == "train.learning_rate" and change.rule == "widen" for change in editor.changes):
        return  # already widened upwards at its edge
    form = editor.get("train.learning_rate")
    largest = max(_plain_values(form))
    faster = _number(min(largest * _LEARNING_RATE_STEP, _BOUNDS["learning_rate"][1]), "learning_rate")
    if faster <= largest:
        return
    if isinstance(form, dict) and "min" in form:
        new: Any = {**form, "max": faster}
    else:
        new = _choice(sorted({*_plain_values(form), faster}))
    editor.set("train.learning_rate", new, "learning rate", f"{evidence}: also try a learning rate of {faster:g}")


def _add_capacity(editor: _Editor, spec: SweepSpec, reading: _Reading, evidence: str) -> None:
    if _dense(spec).layers is not None:
        form = editor.get("model.layers")
        options = form["values"] if isinstance(form, dict) else [form]
        best = decode_layers(str(_best_rows(reading)["layers"].iloc[0])) if "layers" in reading.executions else []
        wider = [2 * width for width in best] or [64]
        if wider in options:
            return
        editor.set("model.layers", {"values": [*options, wider]}, "capacity",
                   f"{evidence}: added {encode_layers(wider)}, " + (
                       f"the best network ({encode_layers(best)}) twice as wide" if best
                       else "a hidden layer for the best model, which has none"))
        return
    if any(change.key == "model.width" and change.rule == "widen" for change in editor.changes):
        return  # already widened upwards at its edge
    form = editor.get("model.width")
    largest = max(int(v) for v in _plain_values(form))
    doubled = min(2 * largest, 1_000_000)
    new: Any = {**form, "max": doubled} if isinstance(form, dict) and "min" in form else _choice(
        sorted({*(int(v) for v in _plain_values(form)), doubled}))
    editor.set("model.width", new, "capacity", f"{evidence}: also try width {doubled}")


def _regularize(editor: _Editor, spec: SweepSpec, reading: _Reading) -> None:
    evidence = reading.mood_evidence
    regularizers = _dense(spec).regularizers
    if regularizers is not None:
        # Strengthened from what the finished sweep tried, so a value its edge already added is not outdone.
        tried = [option.model_dump() for option in regularizers.values]
        current = editor.get("model.regularizers")["values"]
        options = [{name: float(o.get(name, 0.0)) for name in REGULARIZERS} for o in current]
        additions = []
        for name, defaults in (("l2", _DEFAULT_L2), ("dropout", _DEFAULT_DROPOUT)):
            strengths = sorted({o[name] for o in tried if o[name] > 0})
            stronger = _stronger(name, strengths[-1]) if strengths else defaults[-1]
            if stronger is not None:
                additions.append({**dict.fromkeys(REGULARIZERS, 0.0), name: stronger})
        additions = [a for a in additions if a not in options]
        if additions:
            editor.set("model.regularizers", {"values": [_sparse(o) for o in options + additions]}, "regularize",
                       f"{evidence}: added {', '.join(_combination(a) for a in additions)}")
    elif all(max(float(v) for v in _plain_values(editor.get(f"model.{name}"))) == 0 for name in REGULARIZERS):
        _add_regularizers(editor, evidence)
    else:
        _strengthen(editor, evidence)
    if spec.tuner.objective == "val_loss":
        editor.set("tuner.objective", "val_crossentropy", "objective",
                   "penalties enter the search, and val_loss includes them: select on the penalty-free "
                   "val_crossentropy")


def _strengthen(editor: _Editor, evidence: str) -> None:
    """Separate dropout, l1, l2 keys: strengthen the l2 and dropout in use, or add l2 where neither is.

    Strengths grow from the largest the finished sweep tried, and not past what its edge already added.
    """
    largest = {name: max(float(v) for v in _plain_values(editor.original["model"][name])) for name in ("l2", "dropout")}
    in_use = [name for name, value in largest.items() if value > 0] or ["l2"]
    for name in in_use:
        form = editor.get(f"model.{name}")
        if largest[name] == 0:
            new: Any = {"values": [0.0, *_DEFAULT_L2]}
            words = f"no l2 in the sweep: try {', '.join(f'{v:g}' for v in _DEFAULT_L2)}"
        else:
            stronger = _stronger(name, largest[name])
            if stronger is None or max(float(v) for v in _plain_values(form)) >= stronger:
                continue
            new = {**form, "max": stronger} if isinstance(form, dict) and "min" in form else \
                _choice(sorted({*(float(v) for v in _plain_values(form)), stronger}))
            words = f"strongest {name} tried {largest[name]:g}: also try {stronger:g}"
        editor.set(f"model.{name}", new, "regularize", f"{evidence}: {words}")


def _add_regularizers(editor: _Editor, evidence: str) -> None:
    """A sweep without regularization: compare none with L2 and dropout, one at a time, as `regularizers`."""
    options = [{}, *({"l2": v} for v in _DEFAULT_L2), *({"dropout": v} for v in _DEFAULT_DROPOUT)]
    for name in REGULARIZERS:  # `regularizers` replaces the separate keys
        del editor.raw["model"][name]
    words = ", ".join(_combination({**dict.fromkeys(REGULARIZERS, 0.0), **o}) for o in options)
    editor.set("model.regularizers", {"values": options}, "regularize",
               f"{evidence}, and nothing regularizes them: compare {words}")


def _stronger(name: str, strength: float) -> float | None:
    value = float(_number(min(strength + 0.2, _BOUNDS[name][1]) if name == "dropout" else strength * 10, name))
    return value if value > strength else None


# --- repeats ---------------------------------------------------------------------------------


def _repeat_rule(editor: _Editor, spec: SweepSpec, reading: _Reading, confidence: float, power: float,
                 max_repeats: int) -> None:
    """Raise the repeats where the best two configurations differ by less than their noise."""
    if len(reading.configurations) < 2:
        return
    first, second = reading.configurations.index[:2]
    values = reading.executions.groupby("configuration")["objective"]
    a = values.get_group(first).to_numpy(dtype=float)
    b = values.get_group(second).to_numpy(dtype=float)
    difference = float(b.mean() - a.mean())
    names = (f"the best two configurations (trials {reading.configurations.loc[first, 'trial_id']} and "
             f"{reading.configurations.loc[second, 'trial_id']})")
    current = spec.tuner.executions_per_trial
    if len(a) < 2 or len(b) < 2:
        _repeat_single(editor, spec, reading, names, difference, first, second, confidence)
        return
    p = welch_p_value(a, b)
    if not math.isnan(p) and p < 1 - confidence:
        editor.notes.append(f"repeats kept at {current}: {names} differ by {difference:+.4g} in "
                            f"{spec.tuner.objective}, p {p:.2g} (Welch): told apart")
        return
    needed = repeats_to_resolve(a, b, alpha=1 - confidence, power=power, max_repeats=100)
    said = f"{names} differ by {difference:+.4g} in {spec.tuner.objective}, within their noise (p {p:.2g}, Welch)"
    if math.isinf(needed) or math.isnan(needed):
        editor.notes.append(f"repeats kept at {current}: {said}; resolving it would take over 100 repeats a "
                            "configuration: for this sweep they are equivalent")
        return
    target = min(int(needed), max_repeats)
    if target <= current:
        editor.notes.append(f"repeats kept at {current}: {said}; about {int(needed)} repeats would resolve it")
        return
    capped = f" (capped at {max_repeats})" if needed > max_repeats else ""
    editor.set("tuner.executions_per_trial", target, "repeats",
               f"{said}: about {int(needed)} repeats per configuration would resolve it at {power:.0%} power{capped}")


def _repeat_single(editor: _Editor, spec: SweepSpec, reading: _Reading, names: str, difference: float,
                   first: Any, second: Any, confidence: float) -> None:
    """Fewer than two executions: compare the difference with the validation sample's own noise."""
    bound = _sampling_bound(reading.executions, first, second, confidence)
    if math.isfinite(bound) and abs(difference) < bound:
        editor.set("tuner.executions_per_trial", max(3, spec.tuner.executions_per_trial), "repeats",
                   f"{names} differ by {difference:+.4g} in {spec.tuner.objective}, within the noise of their "
                   f"validation samples alone ({bound:.4g}, {confidence:.0%}); one run each cannot show the noise of "
                   "seeds: 3 repeats per configuration measure it")


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


# --- what follows from the changes -----------------------------------------------------------


def _bookkeeping_rules(editor: _Editor, spec: SweepSpec) -> None:
    """Name the next sweep, and give a grid search enough trials to cover its grid."""
    name = spec.name[: 64 - len("-next")] + "-next"
    editor.raw["name"] = name if SWEEP_NAME.match(name) else spec.name
    if spec.tuner.algorithm != "grid":
        return
    size = _grid_size(editor.raw)
    if size != spec.tuner.max_trials:
        editor.set("tuner.max_trials", size, "grid", f"the grid of the next sweep has {size} combinations")


def _grid_size(raw: dict[str, Any]) -> int:
    size = 1
    forms = [raw["model"].get(key) for key in ("depth", "width", "layers", "activation", "dropout", "l1", "l2",
                                                "regularizers")]
    forms += [raw["train"][key] for key in ("optimizer", "learning_rate", "batch_size")]
    for form in forms:
        if isinstance(form, dict) and "values" in form:
            size *= len(form["values"])
        elif isinstance(form, dict) and "min" in form:
            step = form.get("step")
            linear = step is not None and form.get("sampling", "linear") == "linear"
            size *= int((form["max"] - form["min"]) // step) + 1 if linear else _GRID_RANGE_VALUES
    return min(size, 1_000_000)
