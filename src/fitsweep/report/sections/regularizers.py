"""Regularizers compared: test accuracy (a regression's MSE) and gap for each kind of regularization."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]


def _lead(context: Context) -> str:
    metric = "test MSE (lower is better)" if context.run.spec.recorded_task == "regression" else "test accuracy"
    return ("Dots are executions; the black bar is the mean with its 95% t-interval. p is Welch's t-test "
            f"of {metric} against the best group, Holm-corrected; * marks p < 0.05.")


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    return figures.plot_regularizer_comparison(context.run, diagnosis=context.diagnosis)


def _remarks(context: Context) -> list[str]:
    """The share-overfit panel, left out of the figure when no execution overfit, said in words instead."""
    from fitsweep.vocabulary import Verdict

    if context.diagnosis["fit"].astype(str).eq(Verdict.OVERFIT).any():
        return []
    return ["No execution overfit, so the figure leaves out the share of overfit executions per regularization "
            "(0 for every one)."]


SECTION = figure_section("regularizers", "Regularizers compared", _lead, _draw, _remarks)
