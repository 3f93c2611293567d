"""The rules that reshape the search space: widen a range at the best's edge, narrow it around the top.

A range (or numeric choice) is **widened** where the best configuration sits at its edge, in
the direction the verdicts allow (not towards more capacity where the top ones overfit); it is
**narrowed** around the top configurations where most of their executions fit well. Choices of
names (activation, optimizer, layer lists) and regularizer combinations are narrowed alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fitsweep.analysis import SweepReading
from fitsweep.results.columns import REGULARIZERS, decode_layers, decode_regularizers, encode_layers
from fitsweep.spec import Choice, Range, SweepSpec
from fitsweep.suggest._editor import (
    RATIO_FROM_ZERO,
    RATIO_SPACED,
    SECTION,
    Editor,
    bounds,
    choice,
    dense,
    number,
    shown,
)

__all__ = ["combination", "shape_rules", "sparse"]

# Which direction adds capacity: more units and layers, less regularization.
_CAPACITY_UP = {"depth": 1, "width": 1, "dropout": -1, "l1": -1, "l2": -1}


def shape_rules(editor: Editor, spec: SweepSpec, reading: SweepReading, edge_share: float) -> None:
    """Widen where the best configuration sits at an edge; narrow where the top ones fit well."""
    for name, section in SECTION.items():
        if name not in reading.top_values or (name in REGULARIZERS and dense(spec).regularizers is not None):
            continue
        if name in ("depth", "width") and dense(spec).layers is not None:
            continue
        form = getattr(getattr(spec, section), name)
        if isinstance(form, Range):
            _reshape_range(editor, f"{section}.{name}", name, form, reading, edge_share)
        elif isinstance(form, Choice) and len(set(form.values)) > 1:
            _reshapechoice(editor, f"{section}.{name}", name, [float(v) for v in form.values], reading)
    for name in ("activation", "optimizer"):
        form = getattr(spec.model if name == "activation" else spec.train, name)
        if isinstance(form, Choice) and len(set(form.values)) > 1:
            _narrow_names(editor, f"{'model' if name == 'activation' else 'train'}.{name}", name, form.values, reading)
    layers = dense(spec).layers
    if isinstance(layers, Choice):
        _narrow_names(editor, "model.layers", "layers", [encode_layers(v) for v in layers.values], reading)
    if dense(spec).regularizers is not None:
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
    allowed = bounds(name)
    if name in RATIO_SPACED and edge > 0:
        ratio = max(edge, neighbour) / min(edge, neighbour) if neighbour > 0 else RATIO_FROM_ZERO[name]
        value = edge * ratio if edge > neighbour else edge / ratio
    else:
        value = edge + (edge - neighbour)
    value = float(number(value, name))
    if not allowed.low <= value <= allowed.high or value == edge:
        return None
    return value


def _reshapechoice(editor: Editor, key: str, name: str, values: list[float], reading: SweepReading) -> None:
    ordered = sorted(set(values))
    top_values = sorted(set(reading.top_values[name]) & set(ordered))
    best = float(reading.best.values[name])
    kept = top_values if reading.mood == "good" and top_values else ordered
    reasons = []
    if kept != ordered:
        dropped = ", ".join(shown(number(v, name)) for v in ordered if v not in kept)
        reasons.append(("narrow", f"{reading.mood_evidence}; dropped the {name} none of them has: {dropped}"))
    for direction, edge, neighbour in ((1, ordered[-1], ordered[-2]), (-1, ordered[0], ordered[1])):
        if best != edge or direction not in _allowed_direction(name, reading.mood):
            continue
        new = _beyond(name, edge, neighbour)
        if new is not None:
            kept = sorted({*kept, new})
            side = "largest" if direction > 0 else "smallest"
            reasons.append(("widen", f"the best configuration (trial {reading.best.trial_id}, "
                                     f"objective {reading.best.objective:.4g}) has {name} = "
                                     f"{shown(number(edge, name))}, the {side} value tried: added "
                                     f"{shown(number(new, name))}"))
    if reasons:
        value = choice([number(v, name) for v in kept])
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


def _reshape_range(editor: Editor, key: str, name: str, form: Range, reading: SweepReading, edge_share: float) -> None:
    top = reading.top_values[name]
    best = float(reading.best.values[name])
    low_position, high_position = 0.0, 1.0
    reasons = []
    if reading.mood == "good":
        positions = [_position(v, form) for v in top]
        low_position, high_position = max(0.0, min(positions) - edge_share), min(1.0, max(positions) + edge_share)
        if high_position - low_position > 0.75:  # not worth narrowing: the top spread over most of it
            low_position, high_position = 0.0, 1.0
        else:
            reasons.append(("narrow", f"{reading.mood_evidence}; their {name} lies in {min(top):.3g}-"
                                      f"{max(top):.3g}: narrowed around it"))
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
        reasons.append(("widen", f"the best configuration (trial {reading.best.trial_id}) has "
                                 f"{name} = {shown(number(best, name))}, within {edge_share:.0%} of the range's "
                                 f"{side} ({shown(edge)}): extended by half its span, to "
                                 f"{shown(number(target, name))}"))
    if not reasons:
        return
    new = dict(editor.get(key))
    new["min"], new["max"] = number(_at(low_position, form), name), number(_at(high_position, form), name)
    if form.step is not None and bounds(name).integer:  # keep the range on its step's grid
        step = int(form.step)
        new["min"] = int(form.min) + step * math.floor((int(new["min"]) - int(form.min)) / step)
        new["max"] = int(form.min) + step * math.ceil((int(new["max"]) - int(form.min)) / step)
    for rule, evidence in reasons:
        editor.set(key, new, rule, evidence)


def _widened_end(name: str, form: Range, direction: int) -> float | None:
    """The range's end moved out by half its span (a log span for log sampling), in bounds; None if it cannot move."""
    allowed = bounds(name)
    target = _at(1.5 if direction > 0 else -0.5, form)
    target = min(max(target, allowed.low), allowed.high)
    if form.sampling == "log" and target <= 0:
        return None
    target = float(number(target, name))
    edge = float(form.max) if direction > 0 else float(form.min)
    return target if (target - edge) * direction > 0 else None


def _narrow_names(editor: Editor, key: str, name: str, values: Sequence[str], reading: SweepReading) -> None:
    """A choice of names (activation, optimizer, layers): keep the top configurations' ones if they fit well."""
    if reading.mood != "good" or name not in reading.top_values:
        return
    used = set(reading.top_values[name])
    kept = [value for value in values if value in used]
    if not kept or len(kept) == len(values):
        return
    dropped = ", ".join(value for value in values if value not in used)
    as_values = [decode_layers(v) for v in kept] if name == "layers" else kept
    editor.set(key, choice(as_values), "narrow",
               f"{reading.mood_evidence}; dropped the {name} none of them has: {dropped}")


def _reshape_regularizers(editor: Editor, spec: SweepSpec, reading: SweepReading) -> None:
    """`model.regularizers`: keep the top combinations if they fit well; add the next strength past the top's edge."""
    regularizers = dense(spec).regularizers
    assert regularizers is not None  # the caller checked
    options = [option.model_dump() for option in regularizers.values]
    top_combinations = [decode_regularizers(str(v)) for v in set(reading.top_values["regularizers"])] \
        if "regularizers" in reading.top_values else []
    kept = [o for o in options if o in top_combinations] if reading.mood == "good" else list(options)
    reasons = []
    if reading.mood == "good" and kept and len(kept) < len(options):
        dropped = ", ".join(combination(o) for o in options if o not in kept)
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
        reasons.append(("widen", f"{combination(strongest)}, the strongest {name} tried, is among the top "
                                 f"configurations: added {combination(addition)}"))
    if reasons:
        for rule, evidence in reasons:
            editor.set("model.regularizers", {"values": [sparse(o) for o in kept]}, rule, evidence)


def _single(option: dict[str, float], name: str) -> bool:
    return all(option[other] == 0 for other in REGULARIZERS if other != name)


def combination(option: dict[str, float]) -> str:
    parts = [f"{name}={option[name]:g}" for name in REGULARIZERS if option.get(name, 0) > 0]
    return "+".join(parts) or "none"


def sparse(option: dict[str, float]) -> dict[str, float]:
    """A combination as the sweep file writes it: only the regularizers that are on."""
    return {name: float(option[name]) for name in REGULARIZERS if option.get(name, 0) > 0}
