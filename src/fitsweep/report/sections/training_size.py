"""Would more data help: the learning curve over training-set size, when `fitsweep learning-curve` has measured one."""

from __future__ import annotations

from fitsweep.report.content import Section
from fitsweep.report.context import Context
from fitsweep.report.sections.base import SectionSpec, png_bytes
from fitsweep.results import RunPaths
from fitsweep.vocabulary import TrialStatus

__all__ = ["SECTION"]

_KEY, _TITLE = "training_size", "Would more data help?"


def _lead(regression: bool) -> str:
    shares, error = (("random", "validation MSE") if regression else ("stratified", "validation error"))
    return (f"Trials retrained on nested, {shares} shares of the training split (validation and test fixed), "
            f"with a power law fitted to the {error} over the training rows and carried on to 2x and 4x the data.")


def _build(context: Context) -> Section | None:
    if not RunPaths(context.run.path).learning_curve.exists():
        return None  # measured only on request: no section, rather than a note in every report
    from fitsweep.analysis import learning_curve_findings, training_size_verdicts
    from fitsweep.figures import plot_training_size_curves
    from fitsweep.learning_curve import load_learning_curve

    table = load_learning_curve(context.run.path)
    completed = table[table["status"].astype(str) == TrialStatus.COMPLETED]
    verdicts = training_size_verdicts(completed)
    lead = _lead(context.run.spec.recorded_task == "regression")
    png = png_bytes(plot_training_size_curves(completed, verdicts))
    return Section(_KEY, _TITLE, lead=lead, items=learning_curve_findings(verdicts), png=png)


SECTION = SectionSpec(_KEY, _TITLE, _build, draws_figure=True)
