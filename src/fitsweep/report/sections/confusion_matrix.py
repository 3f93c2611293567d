"""Confusion matrix: the kept model's confusion matrix on the test split."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section, for_task, kept_model_words

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]


def _lead(context: Context) -> str:
    return (f"{kept_model_words(context)} Its predictions on the held-out test split: counts, shaded by the share "
            "of the true class.")


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    return figures.plot_confusion_matrix(context.run, predictions=context.predictions)


SECTION = for_task("classification", figure_section("confusion_matrix", "Confusion matrix", _lead, _draw))
