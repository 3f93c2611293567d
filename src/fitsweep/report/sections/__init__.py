"""The report's sections, in the order a reader asks: what was swept, the best trials, the verdicts, the figures.

Each section is one module with its data, its text and its figure, ending in a `SECTION`
(`SectionSpec`). A new section is a new module here and its line in `SECTIONS`.
"""

from __future__ import annotations

from fitsweep.report.sections import (
    best,
    confusion_matrix,
    decision_boundaries,
    fit,
    gap_vs_capacity,
    hyperparameters,
    importance,
    learning_curves,
    overview,
    predictions,
    regularizers,
    training_size,
    weights,
)
from fitsweep.report.sections.base import SectionSpec

__all__ = ["SECTIONS", "SectionSpec"]

SECTIONS: tuple[SectionSpec, ...] = (
    overview.SECTION,
    best.SECTION,
    fit.SECTION,
    learning_curves.SECTION,
    training_size.SECTION,
    gap_vs_capacity.SECTION,
    regularizers.SECTION,
    importance.SECTION,
    hyperparameters.SECTION,
    decision_boundaries.SECTION,
    confusion_matrix.SECTION,
    predictions.SECTION,
    weights.SECTION,
)
