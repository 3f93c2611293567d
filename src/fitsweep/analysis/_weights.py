"""Weight statistics: how large, and how sparse, a trained network's kernels are."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fitsweep.analysis._common import AnalysisError

__all__ = ["weight_stats"]


def weight_stats(weights: Sequence[npt.ArrayLike], *, near_zero: float = 1e-3) -> dict[str, float]:
    """Norms and sparsity of kernel matrices, pooled over all layers.

    L2 regularization shrinks weights (smaller `l2_norm`); L1 drives many to zero (larger
    `near_zero_share`). Pass kernels only, such as `[layer.kernel.numpy() for layer in model.layers
    if hasattr(layer, "kernel")]`, since biases are not regularized.

    Args:
        weights: Kernel matrices (any shape; all are flattened and pooled).
        near_zero: |w| below this counts as near zero. The default 1e-3 is about 1% of a Glorot
            initial weight of a few-hundred-unit layer, so it counts weights a penalty has
            switched off, not merely small ones.

    Returns:
        `n_weights`, `l1_norm` (sum of |w|), `l2_norm` (square root of the sum of w^2),
        `near_zero_share` (share of |w| < near_zero) and `max_abs`.

    Raises:
        AnalysisError: No weights, or non-finite ones.

    Example:
        >>> stats = weight_stats([np.array([[3.0, -4.0], [0.0, 0.0005]])])
        >>> round(stats["l2_norm"], 6), stats["near_zero_share"]
        (5.0, 0.5)
    """
    if near_zero < 0 or not math.isfinite(near_zero):
        raise AnalysisError(f"near_zero must be a non-negative number, got {near_zero!r}")
    arrays = [np.asarray(w, dtype=float).ravel() for w in weights]
    flat = np.concatenate(arrays) if arrays else np.empty(0)
    if flat.size == 0:
        raise AnalysisError("weight_stats got no weights; pass the model's kernel matrices")
    if not np.all(np.isfinite(flat)):
        n_bad = int((~np.isfinite(flat)).sum())
        raise AnalysisError(f"weight_stats got {n_bad} non-finite weight(s): the model diverged")
    magnitude = np.abs(flat)
    return {
        "n_weights": float(flat.size),
        "l1_norm": float(magnitude.sum()),
        "l2_norm": float(np.sqrt(np.square(flat).sum())),
        "near_zero_share": float((magnitude < near_zero).mean()),
        "max_abs": float(magnitude.max()),
    }
