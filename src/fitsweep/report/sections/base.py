"""What every section is: a key, a title and how it builds itself from the run; figures drawn alike."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fitsweep.report.content import Section
from fitsweep.report.context import Context

__all__ = ["SectionSpec", "figure_section"]

_DPI = 120


@dataclass(frozen=True)
class SectionSpec:
    """One entry of the report: `build` makes its `Section` from the run's context (None: not shown)."""

    key: str
    title: str
    build: Callable[[Context], Section | None]
    draws_figure: bool = False  # its PNG lives under figures/ as <key>.png


def figure_section(key: str, title: str, lead: str, draw: Callable[[Context], Any]) -> SectionSpec:
    """A section that is one figure: `draw` returns a matplotlib Figure, embedded as a PNG.

    Example:
        >>> SECTION = figure_section("weights", "Weight sparsity", "...", draw)  # doctest: +SKIP
    """

    def build(context: Context) -> Section:
        figure = draw(context)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
        return Section(key, title, lead=lead, png=buffer.getvalue())

    return SectionSpec(key, title, build, draws_figure=True)
