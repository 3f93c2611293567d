"""How the sections are built: each under a guard, the figures to draw in parallel processes.

Drawing takes most of a report's time. A figure whose inputs did not change since the last
report is read back from figures/ (`fitsweep.report.figure_inputs`); the others are drawn by
worker processes forked from this one, which share the run, its verdicts and its predictions,
while this process builds the other sections and whatever else the report needs (`meanwhile`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor

from fitsweep.errors import FitsweepError
from fitsweep.report.content import Section
from fitsweep.report.context import Context
from fitsweep.report.sections import SectionSpec
from fitsweep.report.text import sentence

__all__ = ["build_sections", "default_workers", "guarded"]

log = logging.getLogger(__name__)

# What the forked workers build from: set in the parent just before they start, inherited by them.
_FORKED: tuple[tuple[SectionSpec, ...], Context] | None = None


def build_sections(specs: tuple[SectionSpec, ...], context: Context, workers: int,
                   meanwhile: Callable[[], None] = lambda: None) -> list[Section]:
    """Every section that has something to show, in order: the figures to draw in `workers` processes.

    `meanwhile` runs here once the workers have started, so that it overlaps their drawing.
    """
    # Same inputs: every figure is read back, and a section without one had nothing to draw last time either.
    to_draw = [] if context.figures_reusable else [index for index, spec in enumerate(specs) if spec.draws_figure]
    if workers > 1 and len(to_draw) > 1 and context.draw_figures and _forkable(context):
        built = _build_forked(specs, context, to_draw, min(workers, len(to_draw)), meanwhile)
    else:
        built = {index: guarded(spec, context) for index, spec in enumerate(specs)}
        meanwhile()
    return [section for _, section in sorted(built.items()) if section is not None]


def guarded(spec: SectionSpec, context: Context) -> Section | None:
    """A section (None when it has nothing to show), or the same section with a note saying why it is missing."""
    try:
        return spec.build(context)
    except FitsweepError as error:
        return Section(spec.key, spec.title, note=sentence(str(error)))
    except Exception as error:  # noqa: BLE001 - one broken section must not cost the reader the others
        log.warning("report section %r failed: %s: %s", spec.key, type(error).__name__, error)
        return Section(spec.key, spec.title,
                       note=f"This section could not be drawn ({type(error).__name__}: {error}).")


def default_workers() -> int:
    """Processes a report draws its figures in: two where this process may use two cores, else one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, 2)


def _forkable(context: Context) -> bool:
    """Forking is safe here: Linux, and no TensorFlow, whose threads a forked child would inherit half-alive."""
    if sys.platform != "linux" or "tensorflow" in sys.modules:
        return False
    for shared in ("diagnosis", "predictions"):  # computed once, here, for every worker to inherit
        with contextlib.suppress(Exception):  # the sections that need it say why it is missing
            getattr(context, shared)
    # Imported once, here, rather than by every worker (about a second of CPU each): seaborn, and scipy.stats
    # for the figures' correlations and comparisons, which this process' findings need as well.
    import scipy.stats  # noqa: F401
    import seaborn  # noqa: F401

    import fitsweep.figures  # noqa: F401
    return "tensorflow" not in sys.modules  # a run without stored predictions loads its model


def _build_forked(specs: tuple[SectionSpec, ...], context: Context, indices: list[int], workers: int,
                  meanwhile: Callable[[], None]) -> dict[int, Section | None]:
    """Sections `indices` built by `workers` forked processes, the others here, then `meanwhile`, all at once."""
    import gc
    import multiprocessing

    global _FORKED
    # What the workers inherit is left out of their garbage collections, which otherwise scan every imported
    # module's objects again and again (a large share of a worker's time) and copy the pages they touch.
    gc.freeze()
    _FORKED = (specs, context)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    try:
        drawing: dict[int, Future[Section | None]] = {index: pool.submit(_build_in_worker, index) for index in indices}
        built = {index: guarded(spec, context) for index, spec in enumerate(specs) if index not in drawing}
        meanwhile()
        return {**built, **{index: future.result() for index, future in drawing.items()}}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        _FORKED = None
        gc.unfreeze()  # collectable again here, where a sweep may build many reports


def _build_in_worker(index: int) -> Section | None:
    assert _FORKED is not None, "set before the workers were forked"
    specs, context = _FORKED
    return guarded(specs[index], context)
