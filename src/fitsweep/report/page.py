"""The report page: every section built under a guard, then rendered to report.html and report.md."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fitsweep.errors import FitsweepError
from fitsweep.report.content import Report, ReportFiles, Section
from fitsweep.report.context import Context
from fitsweep.report.findings import headline
from fitsweep.report.recommendation import recommend
from fitsweep.report.sections import SECTIONS, SectionSpec
from fitsweep.report.text import optional, sentence
from fitsweep.results import RunPaths, SweepRun, load, write_atomic

__all__ = ["build_report", "save_report", "write_report"]

log = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).parent.parent / "templates"


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
        >>> report.recommendation  # doctest: +SKIP
    """
    context = Context(run, data_dir, splits, retrain)
    sections = [section for spec in SECTIONS if (section := _guarded(spec, context)) is not None]
    diagnosis = optional(lambda: context.diagnosis)
    return Report(f"{run.spec.name}: sweep report", _status(run), recommend(run, diagnosis), headline(run, diagnosis),
                  sections, _now(), diagnosis)


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
    return save_report(run, build_report(run, data_dir=data_dir, splits=splits, retrain=retrain))


def save_report(run: SweepRun, report: Report) -> ReportFiles:
    """Write a report `build_report` computed into its run's folder (see `write_report`)."""
    return _write(RunPaths(run.path), report)


def _guarded(spec: SectionSpec, context: Context) -> Section | None:
    """A section (None when it has nothing to show), or the same section with a note saying why it is missing."""
    try:
        return spec.build(context)
    except FitsweepError as error:
        return Section(spec.key, spec.title, note=sentence(str(error)))
    except Exception as error:  # noqa: BLE001 - one broken section must not cost the reader the others
        log.warning("report section %r failed: %s: %s", spec.key, type(error).__name__, error)
        return Section(spec.key, spec.title,
                       note=f"This section could not be drawn ({type(error).__name__}: {error}).")


def _write(paths: RunPaths, report: Report) -> ReportFiles:
    paths.figures_dir.mkdir(exist_ok=True)
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
