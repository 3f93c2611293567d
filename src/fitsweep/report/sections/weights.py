"""Weight sparsity: weight norms and sparsity for each kind of regularization."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]

_LEAD = (
    "Weight norms and the share of near-zero weights per regularization: L2 shrinks weights, "
    "L1 switches them off."
)


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    return figures.plot_weight_sparsity(context.run, diagnosis=context.diagnosis)


SECTION = figure_section("weights", "Weight sparsity", _LEAD, _draw)
