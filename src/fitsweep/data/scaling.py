"""How a sweep's features are scaled: `data.scaling`, and what `auto` decides from the training split.

`auto` standardizes when the features are far from a unit scale, and leaves them as they are
otherwise. The reason is that learning rates (Adam's default 1e-3, the ones a sweep searches)
suit inputs on a unit scale: a first layer's update moves its output in proportion to its
inputs, so inputs k times larger act like a k times larger learning rate (k squared for SGD),
and a feature whose values span k times less than another's learns k times more slowly. A good
learning rate holds within about a factor of 10 either way (sweeps search it in decades), so
beyond that factor the inputs are far from the unit scale:

- values beyond +-10 (raw pixels 0-255, areas in the thousands, years),
- or every feature spanning less than 0.1,
- or, for tables, the widest feature range more than 10 times the narrowest.

A feature's range (min to max) measures the units it is given in, however its values spread
between them: a rarely set flag spans 0-1 like any other. Constant features carry no
information and are left out of the comparison. Pixels of an image share one unit, and a pixel
near the border spans less only because the drawing rarely reaches it, so for images only the
values are checked: pixels in [0, 1] (every built-in image source, uint8 files) are left as
they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from fitsweep.data._wording import number

__all__ = ["Scaling", "UNSCALED", "choose_scaling", "decide_scaling", "FAR_FROM_UNIT"]

Method = Literal["none", "standardize", "minmax"]

# How far from the unit scale inputs may be before auto standardizes: a decade, about what a
# good learning rate tolerates (see the module docstring).
FAR_FROM_UNIT = 10.0


@dataclass(frozen=True)
class Scaling:
    """The scaling applied to a sweep's features, why, and whether `auto` chose it.

    Example:
        >>> Scaling("none", "set in data.scaling").summary
        'none (set in data.scaling)'
    """

    method: Method
    reason: str
    automatic: bool = False

    @property
    def summary(self) -> str:
        """One phrase for output and reports: `standardize (auto: feature ranges differ ...)`."""
        return f"{self.method} (auto: {self.reason})" if self.automatic else f"{self.method} ({self.reason})"

    def apply(self, train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
        """The training split and the others scaled as float32, by a scaler fitted on `train` only."""
        arrays = (train, *others)
        if self.method == "none":
            return [array.astype("float32") for array in arrays]
        scaler = StandardScaler() if self.method == "standardize" else MinMaxScaler()
        scaler.fit(train)
        return [scaler.transform(array).astype("float32") for array in arrays]


# Features used as they are, because data.scaling says so.
UNSCALED = Scaling("none", "set in data.scaling")


def choose_scaling(requested: str, x_train: np.ndarray, *, images: bool = False) -> Scaling:
    """The scaling `data.scaling` asks for: `auto` decides from the training split, others are kept."""
    if requested == "auto":
        return decide_scaling(x_train, images=images)
    if requested == "none":  # say what auto would have done, so a verdict can name unscaled inputs as a cause
        automatic = decide_scaling(x_train, images=images)
        if automatic.method != "none":
            return Scaling("none", f"set in data.scaling; auto would {automatic.method}: {automatic.reason}")
        return UNSCALED
    method: Method = "standardize" if requested == "standardize" else "minmax"
    return Scaling(method, "set in data.scaling")


def decide_scaling(x_train: np.ndarray, *, images: bool = False) -> Scaling:
    """What `data.scaling: auto` does with these training features: standardize or leave them.

    Args:
        x_train: The training split's features, one row per sample.
        images: The rows are images, whose pixels share one unit: only their values are checked.

    Returns:
        A `Scaling` whose reason names the numbers the decision rests on.

    Example:
        >>> decide_scaling(np.array([[0.0, 100.0], [1.0, 4000.0]])).method
        'standardize'
    """
    x = np.asarray(x_train, dtype="float64")
    low, high = x.min(axis=0), x.max(axis=0)
    reasons = [] if images else _ranges_differ(low, high)
    reasons += _values_far_from_unit(low, high, images)
    if reasons:
        return Scaling("standardize", "; ".join(reasons), automatic=True)
    return Scaling("none", _on_unit_scale(low, high, images), automatic=True)


def _ranges_differ(low: np.ndarray, high: np.ndarray) -> list[str]:
    spans = high - low
    varying = np.flatnonzero(spans > 0)  # constant features carry no information
    if len(varying) < 2:
        return []
    widest, narrowest = varying[spans[varying].argmax()], varying[spans[varying].argmin()]
    ratio = spans[widest] / spans[narrowest]
    if ratio <= FAR_FROM_UNIT:
        return []
    return [f"feature ranges differ {number(ratio)}-fold ({_feature(widest, low, high)}; "
            f"{_feature(narrowest, low, high)})"]


def _values_far_from_unit(low: np.ndarray, high: np.ndarray, images: bool) -> list[str]:
    what = "pixels" if images else "values"
    largest = np.maximum(np.abs(low), np.abs(high))
    furthest = int(largest.argmax())
    if largest[furthest] > FAR_FROM_UNIT:
        where = "pixel" if images else "feature"
        return [f"{what} reach {number(largest[furthest])} ({where} {furthest}), far outside the unit range"]
    spans = high - low
    widest = int(spans.argmax())
    if 0 < spans[widest] < 1 / FAR_FROM_UNIT:
        return [f"every feature spans less than {1 / FAR_FROM_UNIT:g} ({_feature(widest, low, high, images)})"]
    return []


def _on_unit_scale(low: np.ndarray, high: np.ndarray, images: bool) -> str:
    bounds = f"between {number(low.min())} and {number(high.max())}"
    if images:
        return f"on a unit scale already: pixels {bounds} (pixels share one unit; their ranges are not compared)"
    spans = (high - low)[high > low]
    ratio = f", feature ranges within {number(spans.max() / spans.min())}-fold" if len(spans) > 1 else ""
    return f"on a unit scale already: values {bounds}{ratio}"


def _feature(index: int, low: np.ndarray, high: np.ndarray, images: bool = False) -> str:
    return f"{'pixel' if images else 'feature'} {index}: {number(low[index])} to {number(high[index])}"

