"""Hyperparameters against the objective: every hyperparameter's values against the objective."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]

_LEAD = (
    "Every completed execution; the black bar is a value's mean."
)


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    return figures.plot_hyperparameters(context.run, diagnosis=context.diagnosis)


SECTION = figure_section("hyperparameters", "Hyperparameters against the objective", _LEAD, _draw)
