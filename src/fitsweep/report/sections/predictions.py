"""Predicted against actual: a regression's kept model on the test split, with its residuals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section, for_task, kept_model_words

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]


def _lead(context: Context) -> str:
    return (f"{kept_model_words(context)} Its predictions on the held-out test split against the actual targets "
            "(the dashed diagonal is exact), and what is left of each: a cloud flattened towards the mean is an "
            "underfit model, residuals that curve or fan out show what it has not learned.")


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    return figures.plot_predictions(context.run, splits=context.splits, predictions=context.predictions)


SECTION = for_task("regression", figure_section("predictions", "Predicted against actual", _lead, _draw))
