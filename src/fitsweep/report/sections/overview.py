"""What was swept: the data, the searched and fixed hyperparameters, the search, time and versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fitsweep.report.content import Section
from fitsweep.report.context import Context
from fitsweep.report.sections.base import SectionSpec
from fitsweep.results import SweepRun
from fitsweep.results.columns import table_hyperparameters

__all__ = ["SECTION"]


def _overview(context: Context) -> Section:
    run, info = context.run, context.run.info
    if info.get("imported"):
        return _imported_overview(run)
    facts = [("Data", _data_text(run)), ("Table", _table_text(run)), ("Scaling", _scaling_text(run)),
             ("Model", _model_text(run)),
             ("Swept", _swept_text(run, varied=True)), ("Fixed", _swept_text(run, varied=False)),
             ("Search", _search_text(run)), ("Time", _time_text(info))]
    versions = info.get("versions") or {}
    if versions:
        facts.append(("Versions", ", ".join(f"{name} {version}" for name, version in versions.items() if version)))
    return Section("overview", "What was swept", facts=[(k, v) for k, v in facts if v])


def _imported_overview(run: SweepRun) -> Section:
    """An imported search: what KerasTuner recorded of it, and plainly what it did not."""
    imported = run.info["imported"]
    objective = imported.get("objective") or "a score of several metrics"
    settings = ", ".join(f"{key} {value}" for key, value in (imported.get("settings") or {}).items())
    search = (f"KerasTuner {imported.get('algorithm')}{f' ({settings})' if settings else ''}, "
              f"{imported.get('trials')} trials, objective {objective} ({imported.get('objective_direction')}); "
              f"fitsweep ranks them by {run.spec.tuner.objective}")
    curves = imported.get("tensorboard") or "no TensorBoard logs given"
    facts = [
        ("Imported", f"from the KerasTuner project {imported.get('project')}, read with KerasTuner "
                     f"{imported.get('read_with_kerastuner')} (KerasTuner does not record which version wrote it)"),
        ("Curves", f"{imported.get('trials_with_curves')} of {imported.get('trials')} trials have per-epoch curves "
                   f"({curves})"),
        ("Swept", "; ".join(imported.get("space") or []) or "nothing KerasTuner recorded"),
        ("Task", _imported_task_text(imported)),
        ("Search", search),
        ("Not recorded", "; ".join(imported.get("not_recorded") or [])),
        ("Time", _time_text(run.info)),
    ]
    return Section("overview", "What was swept", facts=[(k, v) for k, v in facts if v])


def _imported_task_text(imported: dict[str, object]) -> str | None:
    """The task the import read from the metric names, and what the loss is; None for imports that predate it."""
    if "task" not in imported:
        return None
    loss = imported.get("loss")
    measure = f"; the loss equals the recorded {loss}" if loss not in (None, "loss") else ""
    if imported["task"] is None:
        return "unknown: KerasTuner logged the loss alone, so verdicts read the loss"
    return f"{imported['task']} (from the metrics {imported.get('task_from')}){measure}"


def _data_text(run: SweepRun) -> str:
    data = run.spec.data.model_dump(mode="json")
    keys = ", ".join(f"{key} {value}" for key, value in data.items()
                     if key not in ("source", "scaling") and value not in (None, []))
    sizes = run.info.get("data") or {}
    split = (f"; {sizes['train']} training, {sizes['validation']} validation and {sizes['test']} test samples, "
             f"{sizes['features']} features, {sizes['classes']} classes") if "train" in sizes else ""
    return f"{data['source']} ({keys}){split}"


def _table_text(run: SweepRun) -> str:
    """What was done to a CSV table (columns encoded, values filled, rows dropped), as run.json recorded it."""
    recorded = run.info.get("data") or {}
    notes = list((recorded.get("table") or {}).get("notes") or [])
    names = recorded.get("class_names") or []
    if names:
        notes.insert(0, "classes " + ", ".join(f"{index} {name!r}" for index, name in enumerate(names)))
    return "; ".join(notes)


def _scaling_text(run: SweepRun) -> str:
    """The scaling the run applied and why, as run.json recorded it (older runs: as their sweep file set it)."""
    recorded = run.info.get("data") or {}
    requested = getattr(run.spec.data, "scaling", None)
    if "scaling" not in recorded:
        return f"{requested} (set in data.scaling)" if requested else ""
    chosen = "auto: " if requested == "auto" else ""
    fitted = ", fitted on the training split only" if recorded["scaling"] != "none" else ""
    return f"{recorded['scaling']} ({chosen}{recorded.get('scaling_reason', '')}){fitted}"


def _model_text(run: SweepRun) -> str:
    """Where a model from the user's build function came from (Dense networks need no line: the keys say it)."""
    build = getattr(run.spec.model, "build", None)
    return f"{build}, the sweep's own build(hp) function (its compile chose the loss and optimizer)" if build else ""


def _swept_text(run: SweepRun, varied: bool) -> str:
    from fitsweep.errors import FitsweepError
    from fitsweep.space import searched_parameters
    from fitsweep.spec import Choice, Range, RegularizationChoice

    choices = (Choice, RegularizationChoice)
    parts = []
    try:
        searched = searched_parameters(run.spec)
    except FitsweepError as error:  # a build function's file moved since the run: name its columns only
        return f"{', '.join(table_hyperparameters(run.trials.columns))} ({error})" if varied else ""
    for name, form in searched.items():
        if isinstance(form, Range) and varied:
            step = f", step {form.step:g}" if form.step is not None else ""
            parts.append(f"{name} from {form.min:g} to {form.max:g} ({form.sampling}{step})")
        elif isinstance(form, choices) and varied == (len(form.values) > 1):
            values = [_value_text(value) for value in form.values]
            parts.append(f"{name} in {{{', '.join(values)}}}" if varied else f"{name} {values[0]}")
        elif not isinstance(form, (Range, *choices)) and not varied:
            parts.append(f"{name} {_value_text(form)}")
    if not varied:
        train = run.spec.train
        parts += [f"epochs {train.epochs}", f"early stopping {train.early_stopping or 'off'}"]
    return "; ".join(parts) or ("nothing (a single configuration)" if varied else "")


def _value_text(value: Any) -> str:
    from fitsweep.results.columns import encode_layers, encode_regularizers
    from fitsweep.spec import Regularization

    if isinstance(value, Regularization):
        return encode_regularizers(value.model_dump())
    if isinstance(value, list):
        return encode_layers(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _search_text(run: SweepRun) -> str:
    tuner = run.spec.tuner
    better = "lower" if tuner.direction == "min" else "higher"
    return (f"{tuner.algorithm}, up to {tuner.max_trials} trials of {tuner.executions_per_trial} execution(s) each, "
            f"seed {tuner.seed}; objective {tuner.objective} ({better} is better)")


def _time_text(info: dict[str, Any]) -> str:
    started, finished = _parse_time(info.get("started")), _parse_time(info.get("finished"))
    if started is None:
        return ""
    if finished is None:
        return f"started {started:%Y-%m-%d %H:%M} UTC, still running"
    return f"{started:%Y-%m-%d %H:%M} to {finished:%H:%M} UTC ({_duration(finished - started)})"


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def _duration(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


SECTION = SectionSpec("overview", "What was swept", _overview)
