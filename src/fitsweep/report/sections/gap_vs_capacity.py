"""Generalisation gap against capacity: each execution's generalisation gap against its parameter count."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]

_LEAD = (
    "Each dot is an execution: its gap at the last epoch against its parameter count. A positive "
    "Spearman rho means bigger networks generalised worse."
)


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    return figures.plot_gap_vs_capacity(context.run, diagnosis=context.diagnosis)


SECTION = figure_section("gap_vs_capacity", "Generalisation gap against capacity", _LEAD, _draw)
