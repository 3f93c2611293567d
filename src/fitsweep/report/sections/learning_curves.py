"""Learning curves: each trial's learning curves, coloured by its verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fitsweep.errors import FitsweepError
from fitsweep.report.context import Context
from fitsweep.report.sections.base import figure_section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SECTION"]

_READING = ("validation solid, training dashed, colour the verdict. Overfitting shows as a validation loss that turns "
            "up while the training loss keeps falling; underfitting as both staying high.")


def _lead(context: Context) -> str:
    if context.run.info.get("imported"):  # KerasTuner's own logs: no train.loss, no penalty-free columns
        accuracy = " (top) and accuracy (bottom)" if "accuracy" in context.run.epochs.columns else ""
        return f"Each trial's loss as Keras logged it, with any L1/L2 penalty{accuracy}: {_READING}"
    if context.run.spec.recorded_task == "regression":  # no accuracy, and the loss is train.loss itself
        return (f"Each trial's loss (train.loss with the L1/L2 penalty, on the standardized target where "
                f"data.standardize_target is set): {_READING}")
    return ("Each trial's loss (top; cross-entropy without the L1/L2 penalty where recorded) and accuracy "
            f"(bottom): {_READING}")


def _draw(context: Context) -> Figure:
    from fitsweep import figures

    imported = context.run.info.get("imported") or {}
    if imported and not imported.get("trials_with_curves"):
        raise FitsweepError("KerasTuner recorded no per-epoch curves of this search (trial.json keeps each trial's "
                            "best epoch only); import it with --tensorboard LOG_DIR to draw them")

    return figures.plot_learning_curves(context.run, diagnosis=context.diagnosis)


SECTION = figure_section("learning_curves", "Learning curves", _lead, _draw)
