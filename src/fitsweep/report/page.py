"""The report page: every section built under a guard, then rendered to report.html and report.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fitsweep.report.content import Report, ReportFiles
from fitsweep.report.context import Context
from fitsweep.report.drawing import build_sections, default_workers
from fitsweep.report.figure_inputs import write_figure_inputs
from fitsweep.report.findings import headline
from fitsweep.report.recommendation import recommend
from fitsweep.report.sections import SECTIONS
from fitsweep.report.text import optional
from fitsweep.results import RunPaths, SweepRun, load, write_atomic

__all__ = ["build_report", "save_report", "write_report"]

_TEMPLATES = Path(__file__).parent.parent / "templates"


def build_report(
    run: SweepRun, *, data_dir: str | Path | None = None, splits: Any = None, retrain: bool = False,
    draw_figures: bool = True, workers: int | None = None,
) -> Report:
    """Compute every section of a run's report (nothing is written).

    A figure the last report drew from the same inputs is reused, not drawn again (see
    `fitsweep.report.figure_inputs`).

    Args:
        run: The run, from `fitsweep.load`.
        data_dir: Where the sweep's relative data paths start; by default the folder run.json
            recorded (the sweep file's).
        splits: The run's data splits, if already prepared (`run_sweep` passes its own).
        retrain: Retrain an overfit and an underfit trial for the decision boundaries (slow).
        draw_figures: False: only reuse figures; each other figure section says that
            `fitsweep report` draws it (the end of a run leaves them to it).
        workers: Processes that draw the figures (default: up to two, as the cores allow; one
            where TensorFlow is loaded, which a forked process cannot share).

    Example:
        >>> report = build_report(fitsweep.load("results/moons"))  # doctest: +SKIP
        >>> report.recommendation  # doctest: +SKIP
    """
    context = Context(run, data_dir, splits, retrain, draw_figures)
    inputs = context.figure_inputs  # before any figure is drawn: a table rewritten meanwhile makes it stale
    summary: dict[str, Any] = {}

    def summarize() -> None:  # while the figures are drawn
        summary["diagnosis"] = diagnosis = optional(lambda: context.diagnosis)
        summary["recommendation"], summary["headline"] = recommend(run, diagnosis), headline(run, diagnosis)

    sections = build_sections(SECTIONS, context, default_workers() if workers is None else workers, summarize)
    return Report(f"{run.spec.name}: sweep report", _status(run), summary["recommendation"], summary["headline"],
                  sections, _now(), summary["diagnosis"], figure_inputs=inputs)


def write_report(
    run_dir: str | Path, *, data_dir: str | Path | None = None, splits: Any = None, retrain: bool = False,
    draw_figures: bool = True,
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
        draw_figures: False: reuse the figures drawn from the same inputs, draw no other (see `build_report`).

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
    return save_report(run, build_report(run, data_dir=data_dir, splits=splits, retrain=retrain,
                                         draw_figures=draw_figures))


def save_report(run: SweepRun, report: Report) -> ReportFiles:
    """Write a report `build_report` computed into its run's folder (see `write_report`)."""
    return _write(RunPaths(run.path), report)


def _write(paths: RunPaths, report: Report) -> ReportFiles:
    paths.figures_dir.mkdir(exist_ok=True)
    write_figure_inputs(paths, None)  # until every figure below is this report's
    figures = []
    for section in report.sections:
        if section.png:
            target = paths.figures_dir / section.figure_name
            write_atomic(target, _bytes_writer(section.png))
            figures.append(target)
    figure_keys = {spec.key for spec in SECTIONS if spec.draws_figure}
    for stale in set(paths.figures_dir.glob("*.png")) - set(figures):
        if stale.stem in figure_keys:
            stale.unlink(missing_ok=True)  # a section that has no figure this time
    write_figure_inputs(paths, report.figure_inputs)
    html, markdown = _render(report, "report.html.j2"), _render(report, "report.md.j2")
    write_atomic(paths.report_html, lambda p: p.write_text(html, encoding="utf-8"))
    write_atomic(paths.report_md, lambda p: p.write_text(markdown, encoding="utf-8"))
    return ReportFiles(paths.report_html, paths.report_md, figures)


def _bytes_writer(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _render(report: Report, template: str) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=template.endswith(".html.j2"), trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md_cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return environment.get_template(template).render(report=report)


def _status(run: SweepRun) -> str:
    counts = run.trials.drop_duplicates("trial_id")["status"].astype(str).value_counts()
    trials = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no trial yet"
    total = int(counts.sum())
    return f"{run.info.get('status', 'unknown')} · {total} trial{'' if total == 1 else 's'}: {trials}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
