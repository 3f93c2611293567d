"""The next sweep: the rules that turn a finished sweep's reading into edits of its sweep file.

`fitsweep.analysis.read_sweep` reads the run (its top configurations, their verdicts, their
noise); the rules here decide, for the Dense family's keys:

- a range (or numeric choice) is **widened** where the best configuration sits at its edge;
- it is **narrowed** around the top configurations where most of their executions fit well;
- **regularization** is added or strengthened where most of them overfit;
- where most underfit, a **penalty** is weakened where their reasons name it first (it holds them
  near the chance level), the **learning rate** is raised where their loss never moved, or barely (no
  capacity: a network that does not train needs none), lowered where it blew up, inputs left unscaled are scaled, the
  **learning rate and then epochs** are raised when they were still improving at their last
  epoch, **capacity** otherwise;
- **train longer** where the best configuration's best epoch is in the last tenth of its epochs;
- **repeats** are raised where the best two configurations differ by less than their noise.

Every change carries its evidence, with numbers. The result is plain sweep-file data that
`fitsweep.spec.parse_spec` validates; writing it as commented YAML is `suggest_next_sweep`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from fitsweep.analysis import AnalysisError, SweepReading, read_sweep
from fitsweep.results.columns import REGULARIZERS, decode_layers, encode_layers
from fitsweep.spec import SWEEP_NAME, SweepSpec, TrainSpec, TunerSpec, bounds_of
from fitsweep.suggest._editor import (
    SEARCHED,
    Editor,
    NextSweep,
    bounds,
    choice,
    dense,
    number,
    plain_values,
)
from fitsweep.suggest._shape import combination, shape_rules, sparse

__all__ = ["next_sweep"]

_DEFAULT_L2 = [1.0e-4, 1.0e-3]  # the strengths the notMNIST study found to matter
_DEFAULT_DROPOUT = [0.2, 0.5]
_LEARNING_RATE_STEP = 3.0  # half a decade: the usual spacing of a learning-rate grid
_GRID_RANGE_VALUES = 10  # KerasTuner's grid takes 10 values of a range without step


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
            verdicts lead (see `fitsweep.analysis.read_sweep`).
        edge_share: A range's best value within this share of its span (log span for log
            sampling) from an end sits at that edge.
        last_epochs_share: A best epoch within this share of the epochs run from the end is "the
            last" (see `fitsweep.analysis.read_sweep`).
        margin: The smallest relative fall of the validation loss that counts: `diagnose`'s 5%.
        confidence: Level at which the best two configurations count as told apart.
        power: Power the repeats are sized for (as `compare` sizes them).
        max_repeats: The most executions per trial suggested; more needed is said in the evidence.
        data: The run's data section (run.json's `data`), passed to `diagnose`: inputs left
            unscaled by request are named as a cause, and scaled in the next sweep.

    Returns:
        A `NextSweep`: the sweep as plain data, its changes and the notes on what stayed.

    Raises:
        AnalysisError: Not a Dense sweep, no completed execution, a table without the columns
            the rules read, or a setting out of range.

    Example:
        >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
        >>> info = run.info  # doctest: +SKIP
        >>> suggestion = next_sweep(run.spec, run.trials, run.epochs, chance_loss=info["chance_loss"])  # doctest: +SKIP
        >>> [change.key for change in suggestion.changes]  # doctest: +SKIP
        ['model.layers', 'train.epochs', 'tuner.executions_per_trial', 'tuner.max_trials']
    """
    if not 0 < edge_share < 1:
        raise AnalysisError(f"edge_share must lie strictly between 0 and 1, got {edge_share!r}")
    if max_repeats < 1:
        raise AnalysisError(f"max_repeats must be at least 1, got {max_repeats!r}")
    dense(spec)
    reading = read_sweep(trials, epochs, objective=spec.tuner.objective, direction=spec.tuner.direction,
                         diagnosis=diagnosis, chance_loss=chance_loss, top_share=top_share,
                         last_epochs_share=last_epochs_share, margin=margin, confidence=confidence, power=power,
                         data=data)
    editor = Editor(spec)
    if not _scaling_rule(editor, reading):  # on unscaled inputs the ranking of shapes and fits says little
        shape_rules(editor, spec, reading, edge_share)
        _fit_rules(editor, spec, reading, last_epochs_share, margin)
    _repeat_rule(editor, spec, reading, confidence, power, max_repeats)
    _bookkeeping_rules(editor, spec)
    return NextSweep(sweep=editor.raw, changes=tuple(editor.changes), notes=tuple(editor.notes),
                     summary=reading.summary)


# --- what the verdicts ask for ---------------------------------------------------------------


def _scaling_rule(editor: Editor, reading: SweepReading) -> bool:
    """Inputs left unscaled that auto would scale: scale them first, since they hold back every configuration.

    The search space and the training stay as they were: which shape or learning rate did best
    on unscaled inputs says little about scaled ones. Returns whether it changed the sweep.
    """
    if not reading.unscaled:
        return False
    editor.set("data.scaling", "auto", "scaling", reading.unscaled)
    editor.notes.append("the search space and training are kept as they were until a sweep on scaled inputs "
                        "shows what they need")
    return True


def _fit_rules(editor: Editor, spec: SweepSpec, reading: SweepReading, last_epochs_share: float, margin: float) -> None:
    """Regularize where the top configurations overfit; train longer or add capacity where they underfit."""
    if reading.mood == "overfit":
        _regularize(editor, spec, reading)
    elif reading.mood == "underfit":
        _underfit_rules(editor, spec, reading, last_epochs_share, margin)
    best = reading.best
    if best.improving * 2 > best.executions and not editor.changed("train.epochs"):
        best_epochs = ", ".join(str(v) for v in best.best_epochs)
        falls = ", ".join(f"{v:.2%}" for v in best.late_rates)
        _train_longer(editor, spec, f"the best configuration's best epochs ({best_epochs}) are in the last "
                                    f"{last_epochs_share:.0%} of its {best.epochs_run} epochs, where "
                                    f"its validation loss still fell {falls} per epoch (as many epochs again at "
                                    f"that rate would take over {margin:.0%} off it)")


def _underfit_rules(editor: Editor, spec: SweepSpec, reading: SweepReading, last_epochs_share: float,
                    margin: float) -> None:
    """The cause of the top configurations' underfitting decides the change: the optimisation before capacity.

    A network whose loss never moved, or whose inputs were left unscaled, does not train: more
    width or epochs cannot help it, a larger learning rate (or scaled inputs) can. One whose loss
    blew up within an epoch overshot: a smaller learning rate. A loss still
    falling steadily when training stopped asks for a larger learning rate first, then more
    epochs. Otherwise the network learned what it could: add capacity.
    """
    underfit = reading.underfit
    if underfit.penalized * 2 > underfit.executions:
        _weaken(editor, spec, reading, f"{reading.mood_evidence}; {underfit.penalized} of {underfit.executions} "
                                       "underfit executions name their regularization first: a penalty that holds a "
                                       "network near the chance level needs weakening, not capacity")
        return
    if underfit.frozen * 2 > underfit.executions:
        _raise_learning_rate(editor, spec, f"{reading.mood_evidence}; the training loss of {underfit.frozen} of "
                                           f"{underfit.executions} underfit executions never moved, or barely: a "
                                           "network that does not train needs a larger learning rate (or live "
                                           "units), not capacity")
        return
    if editor.changed("data.scaling"):
        return  # unscaled inputs first: they may be all that held the networks back or blew their loss up
    if underfit.blown * 2 > underfit.executions:
        _lower_learning_rate(editor, spec, f"{reading.mood_evidence}; the training loss of {underfit.blown} of "
                                           f"{underfit.executions} underfit executions blew up within an epoch: "
                                           "updates that overshoot need a smaller learning rate, not capacity")
        return
    share = f"{underfit.improving} of {underfit.executions} underfit executions were still improving (best epoch " \
            f"in the last {last_epochs_share:.0%} of their epochs, and at the final rate as many epochs again " \
            f"would take over {margin:.0%} off the validation loss)"
    if underfit.improving * 2 > underfit.executions:
        _raise_learning_rate(editor, spec, f"{reading.mood_evidence}; {share}")
        _train_longer(editor, spec, f"{reading.mood_evidence}; {share}")
    else:
        _add_capacity(editor, spec, reading, f"{reading.mood_evidence}; {share}: not for want of epochs")


def _train_longer(editor: Editor, spec: SweepSpec, evidence: str) -> None:
    epochs = spec.train.epochs
    most = int(bounds_of(TrainSpec, "epochs").high)
    editor.set("train.epochs", min(2 * epochs, most), "train longer", f"{evidence}: epochs doubled")


def _lower_learning_rate(editor: Editor, spec: SweepSpec, evidence: str) -> None:
    _step_learning_rate(editor, evidence, upwards=False)


def _raise_learning_rate(editor: Editor, spec: SweepSpec, evidence: str) -> None:
    _step_learning_rate(editor, evidence, upwards=True)


def _step_learning_rate(editor: Editor, evidence: str, upwards: bool) -> None:
    """Also try a learning rate a step beyond the largest tried (or below the smallest); a range's edge moves there."""
    if editor.changed("train.learning_rate", "widen"):
        return  # already widened at its edge
    form = editor.get("train.learning_rate")
    values = plain_values(form)
    allowed = bounds("learning_rate")
    edge = max(values) if upwards else min(values)
    stepped = number(min(edge * _LEARNING_RATE_STEP, allowed.high) if upwards
                     else max(edge / _LEARNING_RATE_STEP, allowed.low), "learning_rate")
    if stepped == edge:  # at the bound already
        return
    if isinstance(form, dict) and "min" in form:
        new: Any = {**form, "max" if upwards else "min": stepped}
    else:
        new = choice(sorted({*values, stepped}))
    editor.set("train.learning_rate", new, "learning rate", f"{evidence}: also try a learning rate of {stepped:g}")


def _add_capacity(editor: Editor, spec: SweepSpec, reading: SweepReading, evidence: str) -> None:
    if dense(spec).layers is not None:
        form = editor.get("model.layers")
        options = form["values"] if isinstance(form, dict) else [form]
        best = decode_layers(str(reading.best.values["layers"])) if "layers" in reading.best.values else []
        wider = [2 * width for width in best] or [64]
        if wider in options:
            return
        editor.set("model.layers", {"values": [*options, wider]}, "capacity",
                   f"{evidence}: added {encode_layers(wider)}, " + (
                       f"the best network ({encode_layers(best)}) twice as wide" if best
                       else "a hidden layer for the best model, which has none"))
        return
    if editor.changed("model.width", "widen"):
        return  # already widened upwards at its edge
    form = editor.get("model.width")
    largest = max(int(v) for v in plain_values(form))
    doubled = min(2 * largest, int(bounds("width").high))
    new: Any = {**form, "max": doubled} if isinstance(form, dict) and "min" in form else choice(
        sorted({*(int(v) for v in plain_values(form)), doubled}))
    editor.set("model.width", new, "capacity", f"{evidence}: also try width {doubled}")


def _regularize(editor: Editor, spec: SweepSpec, reading: SweepReading) -> None:
    evidence = reading.mood_evidence
    regularizers = dense(spec).regularizers
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
            editor.set("model.regularizers", {"values": [sparse(o) for o in options + additions]}, "regularize",
                       f"{evidence}: added {', '.join(combination(a) for a in additions)}")
    elif all(max(float(v) for v in plain_values(editor.get(f"model.{name}"))) == 0 for name in REGULARIZERS):
        _add_regularizers(editor, evidence)
    else:
        _strengthen(editor, evidence)
    if spec.tuner.objective == "val_loss":
        editor.set("tuner.objective", "val_crossentropy", "objective",
                   "penalties enter the search, and val_loss includes them: select on the penalty-free "
                   "val_crossentropy")


def _strengthen(editor: Editor, evidence: str) -> None:
    """Separate dropout, l1, l2 keys: strengthen the l2 and dropout in use, or add l2 where neither is.

    Strengths grow from the largest the finished sweep tried, and not past what its edge already added.
    """
    largest = {name: max(float(v) for v in plain_values(editor.original["model"][name])) for name in ("l2", "dropout")}
    in_use = [name for name, value in largest.items() if value > 0] or ["l2"]
    for name in in_use:
        form = editor.get(f"model.{name}")
        if largest[name] == 0:
            new: Any = {"values": [0.0, *_DEFAULT_L2]}
            words = f"no l2 in the sweep: try {', '.join(f'{v:g}' for v in _DEFAULT_L2)}"
        else:
            stronger = _stronger(name, largest[name])
            if stronger is None or max(float(v) for v in plain_values(form)) >= stronger:
                continue
            new = {**form, "max": stronger} if isinstance(form, dict) and "min" in form else \
                choice(sorted({*(float(v) for v in plain_values(form)), stronger}))
            words = f"strongest {name} tried {largest[name]:g}: also try {stronger:g}"
        editor.set(f"model.{name}", new, "regularize", f"{evidence}: {words}")


def _add_regularizers(editor: Editor, evidence: str) -> None:
    """A sweep without regularization: compare none with L2 and dropout, one at a time, as `regularizers`."""
    options = [{}, *({"l2": v} for v in _DEFAULT_L2), *({"dropout": v} for v in _DEFAULT_DROPOUT)]
    for name in REGULARIZERS:  # `regularizers` replaces the separate keys
        del editor.raw["model"][name]
    words = ", ".join(combination({**dict.fromkeys(REGULARIZERS, 0.0), **o}) for o in options)
    editor.set("model.regularizers", {"values": options}, "regularize",
               f"{evidence}, and nothing regularizes them: compare {words}")


def _weaken(editor: Editor, spec: SweepSpec, reading: SweepReading, evidence: str) -> None:
    """Also try the best configuration's penalties a step weaker (a tenth; dropout 0.2 less): beside what was tried."""
    best = {name: float(reading.best.values.get(name, 0.0) or 0.0) for name in REGULARIZERS}
    in_use = [name for name, value in best.items() if value > 0]
    if not in_use:
        return
    if dense(spec).regularizers is not None:
        options = [{name: float(o.get(name, 0.0)) for name in REGULARIZERS}
                   for o in editor.get("model.regularizers")["values"]]
        weaker = {**best, **{name: _weaker(name, best[name]) for name in in_use}}
        if weaker not in options:
            editor.set("model.regularizers", {"values": [sparse(o) for o in [*options, weaker]]}, "weaken",
                       f"{evidence}: added {combination(weaker)}")
        return
    for name in in_use:
        form = editor.get(f"model.{name}")
        weaker_value = _weaker(name, min(float(v) for v in plain_values(form) if float(v) > 0))
        # A range reaches down to the weaker value (its lower end never rises); a list gains it.
        new: Any = {**form, "min": min(float(form["min"]), weaker_value)} if isinstance(form, dict) and "min" in form \
            else choice(sorted({*(float(v) for v in plain_values(form)), weaker_value}))
        if new != form:
            editor.set(f"model.{name}", new, "weaken", f"{evidence}: also try {name} {weaker_value:g}")


def _weaker(name: str, strength: float) -> float:
    return float(number(max(strength - 0.2, 0.0) if name == "dropout" else strength / 10, name))


def _stronger(name: str, strength: float) -> float | None:
    value = float(number(min(strength + 0.2, bounds(name).high) if name == "dropout" else strength * 10, name))
    return value if value > strength else None


# --- repeats ---------------------------------------------------------------------------------


def _repeat_rule(editor: Editor, spec: SweepSpec, reading: SweepReading, confidence: float, power: float,
                 max_repeats: int) -> None:
    """Raise the repeats where the best two configurations differ by less than their noise."""
    closest = reading.closest
    if closest is None:
        return
    names = f"the best two configurations (trials {closest.trial_ids[0]} and {closest.trial_ids[1]})"
    difference, objective, current = closest.difference, spec.tuner.objective, spec.tuner.executions_per_trial
    if min(closest.executions) < 2:
        # One run each cannot show the noise of seeds: compare with the validation samples' own noise.
        bound = closest.sampling_bound
        if math.isfinite(bound) and abs(difference) < bound:
            editor.set("tuner.executions_per_trial", max(3, current), "repeats",
                       f"{names} differ by {difference:+.4g} in {objective}, within the noise of their validation "
                       f"samples alone ({bound:.4g}, {confidence:.0%}); one run each cannot show the noise of "
                       "seeds: 3 repeats per configuration measure it")
        return
    p = closest.p_value
    if closest.told_apart:
        editor.notes.append(f"repeats kept at {current}: {names} differ by {difference:+.4g} in "
                            f"{objective}, p {p:.2g} (Welch): told apart")
        return
    needed = closest.repeats_needed
    said = f"{names} differ by {difference:+.4g} in {objective}, within their noise (p {p:.2g}, Welch)"
    if math.isinf(needed) or math.isnan(needed):  # the reading counts up to 100 repeats
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


# --- what follows from the changes -----------------------------------------------------------


def _bookkeeping_rules(editor: Editor, spec: SweepSpec) -> None:
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
    forms = [raw[section].get(key) for section, keys in SEARCHED.items() for key in keys]
    for form in forms:
        if isinstance(form, dict) and "values" in form:
            size *= len(form["values"])
        elif isinstance(form, dict) and "min" in form:
            step = form.get("step")
            linear = step is not None and form.get("sampling", "linear") == "linear"
            size *= int((form["max"] - form["min"]) // step) + 1 if linear else _GRID_RANGE_VALUES
    return min(size, int(bounds_of(TunerSpec, "max_trials").high))
