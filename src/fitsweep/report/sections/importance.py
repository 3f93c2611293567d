"""What the results depend on: how much each hyperparameter matters in this sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]

_LEAD = (
    "Each bar is the share of the variance across this sweep's configurations that a hyperparameter's "
    "marginal means explain; the tick is the share noise alone would give it. It describes this sweep, "
    "not other ranges."
)


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    return figures.plot_importance(context.run)


SECTION = figure_section("importance", "What the results depend on", _LEAD, _draw)
