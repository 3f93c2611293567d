"""What every section is: a key, a title and how it builds itself from the run; figures drawn alike."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fitsweep.report.content import Section
from fitsweep.report.context import Context

__all__ = ["NOT_DRAWN", "SectionSpec", "figure_section", "for_task", "kept_model_words", "png_bytes"]

_DPI = 120
# zlib level 3 encodes in 60% of the default level's time, the files within a few percent of its size.
_PNG_COMPRESSION = 3
# In place of a figure the end of a run left to `fitsweep report` (see `build_report(draw_figures=False)`).
NOT_DRAWN = "Not drawn yet: `fitsweep report` on this run's folder draws this figure."


@dataclass(frozen=True)
class SectionSpec:
    """One entry of the report: `build` makes its `Section` from the run's context (None: not shown)."""

    key: str
    title: str
    build: Callable[[Context], Section | None]
    draws_figure: bool = False  # its PNG lives under figures/ as <key>.png


def figure_section(key: str, title: str, lead: str | Callable[[Context], str], draw: Callable[[Context], Any],
                   remarks: Callable[[Context], list[str]] | None = None) -> SectionSpec:
    """A section that is one figure: `draw` returns a matplotlib Figure, embedded as a PNG.

    Args:
        key: The section's key (its anchor, and its figure's file name).
        title: Its heading.
        lead: The sentence above the figure, or a function of the run that writes it.
        draw: Draws the figure.
        remarks: What the figure leaves out and why, one line each, beside it.

    Example:
        >>> SECTION = figure_section("weights", "Weight sparsity", "...", draw)  # doctest: +SKIP
    """

    def build(context: Context) -> Section:
        words = lead(context) if callable(lead) else lead
        png = context.reused_png(key)  # drawn by the last report from the same inputs
        if png is None and not context.draw_figures:
            return Section(key, title, lead=words, note=NOT_DRAWN)
        if png is None:
            png = png_bytes(draw(context))
        return Section(key, title, lead=words, items=remarks(context) if remarks else [], png=png)

    return SectionSpec(key, title, build, draws_figure=True)



def png_bytes(figure: Any) -> bytes:
    """A figure as the PNG a report embeds."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None},
                   pil_kwargs={"compress_level": _PNG_COMPRESSION})
    return buffer.getvalue()


def for_task(task: str, spec: SectionSpec) -> SectionSpec:
    """The section, shown only in a report of a run of `task` (classification or regression).

    Example:
        >>> SECTION = for_task("classification", figure_section("confusion_matrix", ...))  # doctest: +SKIP
    """

    def build(context: Context) -> Section | None:
        return spec.build(context) if context.run.spec.recorded_task == task else None

    return SectionSpec(spec.key, spec.title, build, draws_figure=spec.draws_figure)


def kept_model_words(context: Context) -> str:
    """Which execution the kept model is, as a sentence: its figures show one execution, not a mean over repeats."""
    from fitsweep.predictions import kept_execution  # not fitsweep.figures: no plotting library for a sentence
    from fitsweep.vocabulary import TrialStatus

    kept = kept_execution(context.run)
    if kept is None:
        return "The kept model (best_model.keras)."
    trial_id, execution = kept
    trials = context.run.trials
    repeats = int((trials["trial_id"].astype(str).eq(trial_id)
                   & trials["status"].astype(str).eq(TrialStatus.COMPLETED)).sum())
    if repeats <= 1:
        return f"The kept model: trial {trial_id}, its only execution."
    return (f"The kept model is one execution: trial {trial_id}, execution {execution}, the best of its {repeats} "
            f"repeats by {context.run.spec.tuner.objective}. The key findings quote means over all {repeats}, so "
            "its numbers here differ from theirs.")
