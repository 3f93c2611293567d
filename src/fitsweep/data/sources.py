"""Data sources: each turns its validated spec into arrays, and nothing more.

A source returns a `SourceData`: features and integer labels, plus a test set when the source
comes with its own split (files usually do). Splitting and scaling are `splits`' job, so every
source gets the same no-leakage rules. To add a source, add its spec class in `fitsweep.spec`
and a loader here, registered under the same name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import datasets

from fitsweep.errors import DataError

__all__ = ["SourceData", "load_source", "LOADERS"]


@dataclass(frozen=True)
class SourceData:
    """Arrays a source provides: `x` and `y`, and its own test split if it has one."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


Loader = Callable[[Any, Path], SourceData]
LOADERS: dict[str, Loader] = {}


def _loader(name: str) -> Callable[[Loader], Loader]:
    def register(function: Loader) -> Loader:
        LOADERS[name] = function
        return function

    return register


@_loader("moons")
def _moons(spec: Any, base_dir: Path) -> SourceData:
    x, y = datasets.make_moons(n_samples=spec.samples, noise=spec.noise, random_state=spec.seed)
    return SourceData(x=x.astype("float32"), y=y.astype("int64"))


@_loader("circles")
def _circles(spec: Any, base_dir: Path) -> SourceData:
    x, y = datasets.make_circles(
        n_samples=spec.samples, noise=spec.noise, factor=spec.factor, random_state=spec.seed
    )
    return SourceData(x=x.astype("float32"), y=y.astype("int64"))


@_loader("digits")
def _digits(spec: Any, base_dir: Path) -> SourceData:
    bunch = datasets.load_digits()
    return SourceData(x=(bunch.data / 16.0).astype("float32"), y=bunch.target.astype("int64"))


def load_source(spec: Any, base_dir: Path | str = ".") -> SourceData:
    """Load the arrays of the data source a sweep file names.

    Args:
        spec: The validated `data` section of a sweep file.
        base_dir: The sweep file's folder; relative file paths resolve against it.

    Returns:
        The source's arrays, checked for finite features and integer labels.

    Example:
        >>> from fitsweep.spec import MoonsData
        >>> load_source(MoonsData(source="moons", samples=100)).x.shape
        (100, 2)
    """
    data = LOADERS[spec.source](spec, Path(base_dir))
    _check_arrays(data.x, data.y, spec.source)
    if data.x_test is not None and data.y_test is not None:
        _check_arrays(data.x_test, data.y_test, f"{spec.source} (test split)")
        if data.x_test.shape[1:] != data.x.shape[1:]:
            raise DataError(
                f"{spec.source}: test features have shape {data.x_test.shape[1:]}, "
                f"training features {data.x.shape[1:]}; they must match"
            )
    return data


def _check_arrays(x: np.ndarray, y: np.ndarray, where: str) -> None:
    if x.ndim != 2 or len(x) == 0:
        raise DataError(f"{where}: features must be a non-empty 2-D table, got shape {x.shape}")
    if len(y) != len(x):
        raise DataError(f"{where}: {len(x)} feature rows but {len(y)} labels")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{where}: features contain NaN or infinite values")
    if not np.all(np.isfinite(y)) or not np.all(np.asarray(y) == np.round(y)) or np.min(y) < 0:
        raise DataError(f"{where}: labels must be non-negative integers (class indices)")
