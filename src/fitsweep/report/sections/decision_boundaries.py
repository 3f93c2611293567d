"""Decision boundaries: the kept model's decision boundaries over a two-feature plane."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section, for_task, kept_model_words

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]


def _lead(context: Context) -> str:
    return f"{kept_model_words(context)} Its probability over the plane of the two features, training points on top."


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    splits = context.splits if context.retrain else None  # the stored predictions hold the points drawn
    return figures.plot_decision_boundaries(context.run, splits=splits, diagnosis=context.diagnosis,
                                            predictions=context.predictions, retrain=context.retrain)


SECTION = for_task("classification", figure_section("decision_boundaries", "Decision boundaries", _lead, _draw))
