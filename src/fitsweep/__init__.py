"""fitsweep: hyperparameter sweeps for Keras that say whether each trial over- or underfits.

Example:
    >>> import fitsweep
    >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
    >>> run.trials.head()  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import Any

from fitsweep.errors import DataError, FitsweepError, ResultsError, RunFailedError, SpecError
from fitsweep.spec import SweepSpec, load_spec, parse_spec

__version__ = metadata.version("fitsweep")

__all__ = [
    "DataError",
    "FitsweepError",
    "ResultsError",
    "RunFailedError",
    "SpecError",
    "SweepRun",
    "SweepSpec",
    "load",
    "load_learning_curve",
    "load_spec",
    "parse_spec",
    "run_learning_curve",
    "run_sweep",
]

# Names whose modules import TensorFlow or Keras load on first use, so `import fitsweep` is quick.
_LAZY = {
    "run_sweep": "fitsweep.search.runner",
    "load": "fitsweep.results",
    "SweepRun": "fitsweep.results",
    "run_learning_curve": "fitsweep.learning_curve",
    "load_learning_curve": "fitsweep.learning_curve",
}


# Of those, the names that train: TensorFlow is imported first, without its start-up chatter on stderr.
_TRAINING = {"run_sweep", "run_learning_curve"}


def __getattr__(name: str) -> Any:
    if name in _TRAINING:
        from fitsweep.quiet_tensorflow import import_tensorflow

        import_tensorflow()
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fitsweep' has no attribute {name!r}")
