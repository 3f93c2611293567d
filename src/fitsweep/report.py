"""The report of a run: `report.html` (one self-contained file) and `report.md` (figures as PNG files).

Sections come in the order a reader asks: what was swept; the best trials; how many trials
over- or underfitted and why; then the figures (learning curves, gap against capacity,
regularizers, importance, hyperparameters, decision boundaries, confusion matrix, weights).
Every section builds itself under a guard: a run with failed trials, a single trial or no
completed trial gets a report whose sections say what they cannot show, never a traceback.

Example:
    >>> from fitsweep.report import write_report
    >>> files = write_report("results/moons")  # doctest: +SKIP
    >>> files.html  # doctest: +SKIP
    PosixPath('results/moons/report.html')
"""

from __future__ import annotations

import base64
import io
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from fitsweep.errors import FitsweepError
from fitsweep.results import RunPaths, SweepRun, load, write_atomic

__all__ = [
    "LiveReport", "Report", "ReportFiles", "Section", "best_trials", "build_report", "diagnose_run", "fit_counts",
    "headline",
    "write_report",
]

log = logging.getLogger(__name__)

_DPI = 120
_TOP = 5  # trials in the best-trials table
_REFRESH_SPACING = 4  # a live report waits this many times its last duration


@dataclass(frozen=True)
class ReportFiles:
    """What `write_report` wrote."""

    html: Path
    markdown: Path
    figures: list[Path]


@dataclass
class Table:
    """A small table of formatted cells, rendered by both templates."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Table:
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
                   for c in frame.columns]
        rows = [[_cell(value) for value in row] for row in frame.itertuples(index=False)]
        return cls([str(c) for c in frame.columns], rows, numeric)


@dataclass
class Section:
    """One part of the report. `note` replaces what a section cannot show, and says why."""

    key: str
    title: str
    lead: str = ""
    items: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None
    details: Table | None = None  # a long table, folded away in HTML
    png: bytes | None = None
    note: str | None = None

    @property
    def figure_name(self) -> str:
        return f"{self.key}.png"

    @property
    def png_base64(self) -> str:
        return base64.b64encode(self.png or b"").decode("ascii")


@dataclass
class Report:
    """Everything the templates show."""

    title: str
    status: str
    headline: list[str]
    sections: list[Section]
    generated: str


# --- the run and what every section needs --------------------------------------------------


class _Context:
    """The run, its data and its diagnosis, each computed once and only when a section asks."""

    def __init__(self, run: SweepRun, data_dir: str | Path | None, splits: Any, retrain: bool) -> None:
        self.run, self._splits, self.retrain = run, splits, retrain
        self.data_dir = data_dir if data_dir is not None else run.info.get("data_dir", ".")

    @cached_property
    def splits(self) -> Any:
        if self._splits is not None:
            return self._splits
        from fitsweep.figures import load_splits

        return load_splits(self.run, self.data_dir)

    @cached_property
    def diagnosis(self) -> pd.DataFrame:
        """Verdicts with their evidence, judged against the task's chance level."""
        diagnosis = diagnose_run(self.run, lambda: self.splits)
        if diagnosis is None:
            raise FitsweepError("No epoch was recorded yet: nothing to judge or draw.")
        return diagnosis

    @cached_property
    def model(self) -> Any:
        model = self.run.best_model
        if model is None:
            raise FitsweepError("No model was kept: the run has no best trial (best_model.keras is missing).")
        return model


def diagnose_run(run: SweepRun, splits: Callable[[], Any] | None = None) -> pd.DataFrame | None:
    """`diagnose` of a run against its chance-level loss, or None before its first epoch.

    The chance level is the one run.json recorded; a run from before that is judged against
    the class priors of its data (`splits()`, or the data loaded again), and without a chance
    level when the data cannot be loaded.

    Example:
        >>> diagnose_run(fitsweep.load("results/moons"))  # doctest: +SKIP
    """
    from fitsweep.analysis import AnalysisError, diagnose

    try:
        return diagnose(run.epochs, run.trials, chance_loss=_chance_loss(run, splits))
    except AnalysisError:
        return None


def _chance_loss(run: SweepRun, splits: Callable[[], Any] | None) -> float | None:
    if run.info.get("chance_loss") is not None:
        return float(run.info["chance_loss"])
    from fitsweep.analysis import chance_level_loss

    if splits is None:
        from fitsweep.figures import load_splits

        def splits() -> Any:
            return load_splits(run, run.info.get("data_dir", "."))

    try:
        return chance_level_loss(splits().class_priors)
    except Exception as error:  # noqa: BLE001 - data that cannot be loaded still leaves the curves to judge
        log.debug("no chance level: %s", error)
        return None


# --- findings, shared with the terminal summary --------------------------------------------


def best_trials(run: SweepRun, diagnosis: pd.DataFrame | None, top: int = _TOP) -> pd.DataFrame:
    """The best completed trials by the objective (mean over executions), with their verdicts.

    Example:
        >>> best_trials(run, diagnose(run.epochs, run.trials))  # doctest: +SKIP
    """
    trials = run.trials
    done = trials[trials["status"].astype("string").eq("completed").fillna(False).to_numpy()]
    if done.empty:
        return pd.DataFrame()
    varied = [c for c in _hyperparameters(run) if done[c].astype("string").nunique(dropna=False) > 1]
    objective, direction = run.spec.tuner.objective, run.spec.tuner.direction
    shown = (objective, "val_loss", "val_accuracy", "test_loss", "test_accuracy", "best_epoch")
    metrics = [c for c in dict.fromkeys(shown) if c in done]
    table = done.groupby("trial_id", sort=False).agg({**{c: "first" for c in varied}, **{m: "mean" for m in metrics}})
    if diagnosis is not None:
        fits = diagnosis.assign(trial_id=diagnosis["trial_id"].astype(str)).groupby("trial_id")["fit"]
        table["verdict"] = [_verdicts_text(fits.get_group(t)) if t in fits.groups else "-" for t in table.index.astype(str)]
    table = table.sort_values(objective, ascending=direction == "min", kind="stable").head(top)
    return table.reset_index().rename(columns={"trial_id": "trial"})


def fit_counts(diagnosis: pd.DataFrame) -> pd.DataFrame:
    """Executions per verdict, their share, one example reason and what usually helps.

    Example:
        >>> fit_counts(diagnose(run.epochs, run.trials))  # doctest: +SKIP
    """
    from fitsweep.analysis import Fit

    rows = []
    for fit in Fit:
        matches = diagnosis[diagnosis["fit"].astype(str) == fit.value]
        if len(matches):
            first = matches.iloc[0]
            rows.append({"verdict": fit.value, "executions": len(matches), "share": len(matches) / len(diagnosis),
                         "example": f"trial {first['trial_id']}: {first['fit_reason']}", "remedy": fit.remedy})
    return pd.DataFrame(rows, columns=["verdict", "executions", "share", "example", "remedy"])


def headline(run: SweepRun, diagnosis: pd.DataFrame | None) -> list[str]:
    """The few sentences a reader wants first: the best trial, the verdicts, what mattered.

    Example:
        >>> headline(run, diagnose(run.epochs, run.trials))  # doctest: +SKIP
        ['Best trial 00: test accuracy 0.990, val_loss 0.0579 (...), verdict good.', ...]
    """
    lines = [_best_line(run, diagnosis), _fit_line(run, diagnosis)]
    for finding in (_regularizer_line, _capacity_line, _importance_line):
        try:
            lines.append(finding(run, diagnosis))
        except Exception as error:  # a finding that cannot be made is left out, the others stand
            log.debug("finding left out: %s", error)
    return [line for line in lines if line]


def _best_line(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    best = best_trials(run, diagnosis, top=1)
    if best.empty:
        errors = run.trials["error"].dropna().astype(str) if "error" in run.trials else pd.Series(dtype=str)
        first = f" The first error: {errors.iloc[0]}" if len(errors) else ""
        return f"No trial completed, so there is no best trial.{first}"
    row = best.iloc[0]
    settings = ", ".join(f"{c} {_cell(row[c])}" for c in _hyperparameters(run) if c in best.columns)
    verdict = f"; verdict {row['verdict']}" if "verdict" in best else ""
    objective = run.spec.tuner.objective
    test = f"test accuracy {_cell(row['test_accuracy'])}, " if "test_accuracy" in best else ""
    return f"Best trial {row['trial']}: {test}{objective} {_cell(row[objective])}" + (
        f" ({settings})" if settings else "") + f"{verdict}."


def _fit_line(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    statuses = run.trials.drop_duplicates("trial_id")["status"].astype(str).value_counts()
    trials = ", ".join(f"{n} {status}" for status, n in statuses.items()) or "none"
    if diagnosis is None or diagnosis.empty:
        return f"Trials: {trials}."
    counts = fit_counts(diagnosis)
    verdicts = ", ".join(f"{row.executions} {row.verdict}" for row in counts.itertuples())
    return f"Trials: {trials}. Verdicts over {len(diagnosis)} executions: {verdicts}."


def _regularizer_line(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    from fitsweep.analysis import compare

    table = compare(run.trials)
    if len(table) < 2:
        return ""
    best = table.iloc[0]
    others = table.iloc[1:]
    significant = others[others["significant"]]
    if significant.empty:
        verdict = "no other regularization differs significantly (Welch's t-test, p < 0.05)"
    else:
        verdict = "significantly better than " + ", ".join(significant["regularizer"].astype(str))
    return (f"Regularization with the highest mean test accuracy: {best['regularizer']} "
            f"({best['test_accuracy_mean']:.3f} over {best['n_executions']} executions); {verdict}.")


def _capacity_line(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    from fitsweep.analysis import capacity

    table = capacity(run.trials, diagnosis).set_index(["capacity", "gap"])
    gaps = {"val_rise": "rise of val_loss after its minimum", "accuracy_gap": "accuracy gap"}
    parts = []
    for gap, words in gaps.items():
        if ("params", gap) not in table.index:
            continue
        rho, p_value = table.loc[("params", gap), ["spearman_rho", "p_value"]]
        if math.isfinite(rho):
            strength = "significant" if p_value < 0.05 else "not significant"
            parts.append(f"{words} rho {rho:+.2f} ({strength}, p = {p_value:.2g})")
    return f"Gap against parameter count (Spearman): {'; '.join(parts)}." if parts else ""


def _importance_line(run: SweepRun, diagnosis: pd.DataFrame | None) -> str:
    from fitsweep.analysis import importance

    objective = run.spec.tuner.objective
    table = importance(run.trials, objective, n_estimators=50, n_repeats=3)
    top = table[table["importance"] > 0.05]["hyperparameter"].head(2).tolist()
    if not top:
        return f"No hyperparameter explains much of {objective} in this sweep."
    return f"{objective} depends most on {' and then '.join(top)} (permutation importance)."


# --- sections ------------------------------------------------------------------------------


def _overview(context: _Context) -> Section:
    run, info = context.run, context.run.info
    facts = [("Data", _data_text(run)), ("Swept", _swept_text(run, varied=True)),
             ("Fixed", _swept_text(run, varied=False)), ("Search", _search_text(run)), ("Time", _time_text(info))]
    versions = info.get("versions") or {}
    if versions:
        facts.append(("Versions", ", ".join(f"{name} {version}" for name, version in versions.items() if version)))
    return Section("overview", "What was swept", facts=[(k, v) for k, v in facts if v])


def _best_section(context: _Context) -> Section:
    section = Section("best", "Best trials")
    table = best_trials(context.run, _optional(lambda: context.diagnosis))
    if table.empty:
        section.note = "No trial completed yet."
        return section
    section.lead = (f"Mean over each trial's executions, best {context.run.spec.tuner.objective} first; metrics at "
                    "each execution's best epoch, test metrics on the held-out split.")
    section.table = Table.of(table)
    return section


def _fit_section(context: _Context) -> Section:
    section = Section("fit", "Over- and underfitting", items=_failures(context.run))
    try:
        diagnosis = context.diagnosis
    except FitsweepError as error:
        section.note = str(error)
        return section
    section.lead = ("Each execution's learning curves judged by fitsweep.analysis.diagnose: the verdict, an example "
                    "of its reason, and what usually helps.")
    counts = fit_counts(diagnosis)
    section.table = Table.of(counts.assign(share=[f"{share:.0%}" for share in counts["share"]]))
    columns = [c for c in ("trial_id", "execution", "status", "fit", "fit_reason") if c in diagnosis]
    section.details = Table.of(diagnosis[columns])
    return section


def _failures(run: SweepRun) -> list[str]:
    trials = run.trials.drop_duplicates("trial_id")
    failed = trials[~trials["status"].astype(str).isin(["completed", "running"])]
    return [f"Trial {row.trial_id} {row.status}: {_error_text(row.error)}" for row in failed.itertuples()]


def _error_text(error: Any) -> str:
    if not isinstance(error, str) or not error.strip():
        return "no error recorded"
    return re.sub(r"^(?:\w+\.)+(\w+): ", r"\1: ", error.strip())  # keras_tuner.src.errors.FailedTrialError: ...


@dataclass(frozen=True)
class _FigureSpec:
    key: str
    title: str
    lead: str
    draw: Callable[[_Context], Any]


def _figure_specs() -> list[_FigureSpec]:
    from fitsweep import figures as f

    return [
        _FigureSpec("learning_curves", "Learning curves",
                    "Each trial's loss (top; cross-entropy without the L1/L2 penalty where recorded) and accuracy "
                    "(bottom): validation solid, training dashed, colour the verdict. Overfitting shows as a "
                    "validation loss that turns up while the training loss keeps falling; underfitting as both "
                    "staying high.",
                    lambda c: f.plot_learning_curves(c.run, diagnosis=c.diagnosis)),
        _FigureSpec("gap_vs_capacity", "Generalisation gap against capacity",
                    "Each dot is an execution: its gap at the last epoch against its parameter count. A positive "
                    "Spearman rho means bigger networks generalised worse.",
                    lambda c: f.plot_gap_vs_capacity(c.run, diagnosis=c.diagnosis)),
        _FigureSpec("regularizers", "Regularizers compared",
                    "Dots are executions; the black bar is the mean with its 95% t-interval. p is Welch's t-test "
                    "of test accuracy against the best group; * marks p < 0.05.",
                    lambda c: f.plot_regularizer_comparison(c.run, diagnosis=c.diagnosis)),
        _FigureSpec("importance", "What the results depend on",
                    "Permutation importance of a random forest fitted to this sweep's trials: how much worse it "
                    "predicts when a hyperparameter is shuffled. It describes this sweep, not other ranges.",
                    lambda c: f.plot_importance(c.run, n_estimators=50, n_repeats=3)),
        _FigureSpec("hyperparameters", "Hyperparameters against the objective",
                    "Every completed execution; the black bar is a value's mean.",
                    lambda c: f.plot_hyperparameters(c.run, diagnosis=c.diagnosis)),
        _FigureSpec("decision_boundaries", "Decision boundaries",
                    "The model's probability over the plane of the two features, training points on top.",
                    lambda c: f.plot_decision_boundaries(c.run, splits=c.splits, diagnosis=c.diagnosis,
                                                         model=c.model, retrain=c.retrain)),
        _FigureSpec("confusion_matrix", "Confusion matrix",
                    "The best model on the held-out test split: counts, shaded by the share of the true class.",
                    lambda c: f.plot_confusion_matrix(c.run, splits=c.splits, model=c.model)),
        _FigureSpec("weights", "Weight sparsity",
                    "Weight norms and the share of near-zero weights per regularization: L2 shrinks weights, "
                    "L1 switches them off.",
                    lambda c: f.plot_weight_sparsity(c.run, diagnosis=c.diagnosis)),
    ]


def _figure_section(spec: _FigureSpec, context: _Context) -> Section:
    figure = spec.draw(context)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return Section(spec.key, spec.title, lead=spec.lead, png=buffer.getvalue())


def _guarded(key: str, title: str, build: Callable[[], Section]) -> Section:
    """A section, or the same section with a note saying why it is missing."""
    try:
        return build()
    except FitsweepError as error:
        return Section(key, title, note=_sentence(str(error)))
    except Exception as error:  # noqa: BLE001 - one broken section must not cost the reader the others
        log.warning("report section %r failed: %s: %s", key, type(error).__name__, error)
        return Section(key, title, note=f"This section could not be drawn ({type(error).__name__}: {error}).")


# --- the report ----------------------------------------------------------------------------


def build_report(
    run: SweepRun, *, data_dir: str | Path | None = None, splits: Any = None, retrain: bool = False
) -> Report:
    """Compute every section of a run's report (nothing is written).

    Args:
        run: The run, from `fitsweep.load`.
        data_dir: Where the sweep's relative data paths start; by default the folder run.json
            recorded (the sweep file's).
        splits: The run's data splits, if already prepared (`run_sweep` passes its own).
        retrain: Retrain an overfit and an underfit trial for the decision boundaries (slow).

    Example:
        >>> report = build_report(fitsweep.load("results/moons"))  # doctest: +SKIP
        >>> report.headline[0]  # doctest: +SKIP
    """
    context = _Context(run, data_dir, splits, retrain)
    sections = [
        _guarded("overview", "What was swept", lambda: _overview(context)),
        _guarded("best", "Best trials", lambda: _best_section(context)),
        _guarded("fit", "Over- and underfitting", lambda: _fit_section(context)),
        *(_guarded(spec.key, spec.title, lambda spec=spec: _figure_section(spec, context)) for spec in _figure_specs()),
    ]
    return Report(f"{run.spec.name}: sweep report", _status(run), headline(run, _optional(lambda: context.diagnosis)),
                  sections, _now())


def write_report(
    run_dir: str | Path, *, data_dir: str | Path | None = None, splits: Any = None, retrain: bool = False
) -> ReportFiles:
    """Write a run's `report.html`, `report.md` and `figures/*.png` into its folder.

    The HTML file is self-contained (figures as base64 PNG, CSS inline, no external request),
    readable on a laptop and printable. The Markdown file links the PNG files under `figures/`.
    Each file is written atomically, so a reader never sees half a report.

    Args:
        run_dir: The run's folder, such as "results/moons".
        data_dir: Where the sweep's relative data paths start; by default the folder run.json
            recorded (the sweep file's). Only file sources need it.
        splits: The run's data splits, if already prepared.
        retrain: Retrain an overfit and an underfit trial to draw their decision boundaries.

    Returns:
        The paths written.

    Raises:
        ResultsError: `run_dir` is not a results folder.

    Example:
        >>> files = write_report("results/moons")  # doctest: +SKIP
        >>> files.html.name  # doctest: +SKIP
        'report.html'
    """
    run = load(run_dir)
    report = build_report(run, data_dir=data_dir, splits=splits, retrain=retrain)
    return _write(RunPaths(run.path), report)


class LiveReport:
    """Keeps a running sweep's report current, at a bounded cost and never at the run's expense.

    `refresh()` after each trial rewrites the report unless the last one finished less than four
    times its own duration ago, so the report takes at most about a fifth of the run's time: a
    sweep whose trials take longer than four reports (about 10 s for 30 trials) gets a fresh report
    after every trial, a sweep of quick trials after every few. `refresh(force=True)`, at the end
    of the run, always rewrites it. A failure logs one warning line and the run goes on.

    Example:
        >>> live = LiveReport("results/moons", splits)  # doctest: +SKIP
        >>> live.refresh()  # doctest: +SKIP
    """

    def __init__(self, run_dir: str | Path, splits: Any = None) -> None:
        self.run_dir, self.splits = Path(run_dir), splits
        self._ready_at = 0.0  # monotonic time before which a refresh is skipped

    def refresh(self, force: bool = False) -> None:
        """Rewrite the report (unless throttled); log a warning instead of raising."""
        started = time.monotonic()
        if not force and started < self._ready_at:
            return
        try:
            write_report(self.run_dir, splits=self.splits)
        except Exception as error:  # noqa: BLE001 - the report must never fail the run
            log.warning("fitsweep: report not refreshed (%s: %s)", type(error).__name__, error)
        finished = time.monotonic()
        self._ready_at = finished + _REFRESH_SPACING * (finished - started)


def _write(paths: RunPaths, report: Report) -> ReportFiles:
    paths.figures_dir.mkdir(exist_ok=True)
    figures = []
    for section in report.sections:
        if section.png:
            target = paths.figures_dir / section.figure_name
            write_atomic(target, lambda p, data=section.png: p.write_bytes(data))
            figures.append(target)
    for stale in set(paths.figures_dir.glob("*.png")) - set(figures):
        if stale.stem in {spec.key for spec in _figure_specs()}:
            stale.unlink(missing_ok=True)  # a section that has no figure this time
    html, markdown = _render(report, "report.html.j2"), _render(report, "report.md.j2")
    write_atomic(paths.report_html, lambda p: p.write_text(html, encoding="utf-8"))
    write_atomic(paths.report_md, lambda p: p.write_text(markdown, encoding="utf-8"))
    return ReportFiles(paths.report_html, paths.report_md, figures)


def _render(report: Report, template: str) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=template.endswith(".html.j2"), trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md_cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return environment.get_template(template).render(report=report)


# --- text helpers --------------------------------------------------------------------------


def _hyperparameters(run: SweepRun) -> list[str]:
    from fitsweep.columns import HYPERPARAMETER_COLUMNS, present

    return present(run.trials.columns, HYPERPARAMETER_COLUMNS)


def _status(run: SweepRun) -> str:
    counts = run.trials.drop_duplicates("trial_id")["status"].astype(str).value_counts()
    trials = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no trial yet"
    total = int(counts.sum())
    return f"{run.info.get('status', 'unknown')} · {total} trial{'' if total == 1 else 's'}: {trials}"


def _data_text(run: SweepRun) -> str:
    data = run.spec.data.model_dump(mode="json")
    keys = ", ".join(f"{key} {value}" for key, value in data.items() if key != "source" and value is not None)
    sizes = run.info.get("data") or {}
    split = (f"; {sizes['train']} training, {sizes['validation']} validation and {sizes['test']} test samples, "
             f"{sizes['features']} features, {sizes['classes']} classes") if "train" in sizes else ""
    return f"{data['source']} ({keys}){split}"


def _swept_text(run: SweepRun, varied: bool) -> str:
    from fitsweep.space import searched_parameters
    from fitsweep.spec import Choice, Range, RegularizationChoice

    choices = (Choice, RegularizationChoice)
    parts = []
    for name, form in searched_parameters(run.spec).items():
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
    from fitsweep.columns import encode_layers, encode_regularizers
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


def _verdicts_text(fits: pd.Series) -> str:
    counts = fits.astype(str).value_counts()
    return ", ".join(fit if n == 1 else f"{fit} x{n}" for fit, n in counts.items())


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _optional(get: Callable[[], Any]) -> Any:
    try:
        return get()
    except FitsweepError:
        return None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
