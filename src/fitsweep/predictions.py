"""The best model's outputs that the report draws, computed once while Keras is loaded.

The confusion matrix needs the best model's outputs on the test split, the decision boundaries
its outputs over a grid of the feature plane and the training points drawn on it. Loading the
model means importing TensorFlow, which takes longer than the rest of a report, so a run stores
those outputs beside best_model.keras as it ends (`store_predictions`) and `fitsweep report`
reads them (`stored_predictions`), needing neither TensorFlow nor the data. A run recorded
without them, or whose best model changed since, is predicted again from the model, and the
outputs stored for the next report. `kept_execution` says which execution the kept model is.

Example:
    >>> predictions = stored_predictions("results/moons")  # doctest: +SKIP
    >>> predictions.test_outputs.shape  # doctest: +SKIP
    (100, 1)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.results.folder import RunPaths, file_digest, load_best_model, read_arrays, write_arrays
from fitsweep.spec import SweepSpec
from fitsweep.vocabulary import TrialStatus

__all__ = ["GRID_SIZE", "Predictions", "boundary_grid", "kept_execution", "model_outputs", "predict",
           "store_predictions", "stored_predictions"]

log = logging.getLogger(__name__)

GRID_SIZE = 160  # points along each axis of the decision boundaries' plane


@dataclass(frozen=True)
class Predictions:
    """A model's outputs where the report's figures need them, with the points drawn beside them.

    Attributes:
        model_sha256: The digest of the best_model.keras they come from ("" when from a model in memory).
        n_features: Features per row of the data.
        test_outputs: (test rows, outputs): the model's outputs on the test split.
        test_labels: The test split's labels, in the same order.
        grid_axes: The plane's two axes (`boundary_grid`), for data with two features; else None.
        grid_outputs: (GRID_SIZE * GRID_SIZE, outputs) over the plane, rows of the meshgrid raveled; or None.
        train_points: The training split's rows and labels, drawn over the plane (two features only).
    """

    model_sha256: str
    n_features: int
    test_outputs: np.ndarray
    test_labels: np.ndarray
    grid_axes: tuple[np.ndarray, np.ndarray] | None = None
    grid_outputs: np.ndarray | None = None
    train_points: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_classes(self) -> int:
        """Classes the outputs tell apart: a single (sigmoid) output is two."""
        return max(int(self.test_outputs.shape[1]), 2)

    @property
    def test_predicted(self) -> np.ndarray:
        """The class predicted for each test row."""
        if self.test_outputs.shape[1] == 1:
            return (self.test_outputs[:, 0] > 0.5).astype(int)
        predicted: np.ndarray = self.test_outputs.argmax(axis=1)
        return predicted

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Everything as named arrays, as `from_arrays` reads them back."""
        arrays = {"model_sha256": np.asarray(self.model_sha256), "n_features": np.asarray(self.n_features),
                  "test_outputs": self.test_outputs, "test_labels": self.test_labels}
        if self.grid_axes is not None and self.grid_outputs is not None and self.train_points is not None:
            arrays.update(grid_x=self.grid_axes[0], grid_y=self.grid_axes[1], grid_outputs=self.grid_outputs,
                          train_x=self.train_points[0], train_y=self.train_points[1])
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Predictions | None:
        """The predictions `as_arrays` gave, or None when an array is missing (a file another version wrote)."""
        if not {"model_sha256", "n_features", "test_outputs", "test_labels"} <= arrays.keys():
            return None
        plane = {"grid_x", "grid_y", "grid_outputs", "train_x", "train_y"} <= arrays.keys()
        return cls(str(arrays["model_sha256"]), int(arrays["n_features"]), arrays["test_outputs"],
                   arrays["test_labels"],
                   (arrays["grid_x"], arrays["grid_y"]) if plane else None,
                   arrays["grid_outputs"] if plane else None,
                   (arrays["train_x"], arrays["train_y"]) if plane else None)


def boundary_grid(splits: Any) -> tuple[np.ndarray, np.ndarray]:
    """The axes of the plane the decision boundaries are drawn on: every split's points, padded by 8%."""
    x = np.concatenate([splits.x_train, splits.x_val, splits.x_test])
    low, high = x.min(axis=0), x.max(axis=0)
    pad = 0.08 * (high - low)
    first, second = (np.linspace(low[i] - pad[i], high[i] + pad[i], GRID_SIZE) for i in range(2))
    return first, second


def grid_points(axes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Every point of the plane as (GRID_SIZE * GRID_SIZE, 2) rows, in the order of `np.meshgrid(*axes)` raveled."""
    xx, yy = np.meshgrid(*axes)
    return np.column_stack([xx.ravel(), yy.ravel()]).astype("float32")


def model_outputs(model: Any, x: np.ndarray, batch: int = 8192) -> np.ndarray:
    """The model's outputs, called directly: `predict` would trace a new function for every loaded model."""
    x = np.asarray(x, dtype="float32")
    wanted = tuple(model.inputs[0].shape[1:])
    if None not in wanted and math.prod(wanted) == x.shape[1]:  # a model of images takes each row folded up
        x = x.reshape((len(x), *wanted))
    batches = (x[start:start + batch] for start in range(0, len(x), batch))
    outputs = np.concatenate([np.asarray(model(rows, training=False)) for rows in batches])
    return outputs.reshape(len(outputs), -1)


def predict(model: Any, splits: Any, model_sha256: str = "") -> Predictions:
    """A model's outputs on the test split and, for two-feature data, over the decision boundaries' plane.

    Example:
        >>> predictions = predict(run.best_model, load_splits(run))  # doctest: +SKIP
    """
    test_outputs = model_outputs(model, splits.x_test)
    if splits.n_features != 2:
        return Predictions(model_sha256, splits.n_features, test_outputs, np.asarray(splits.y_test))
    axes = boundary_grid(splits)
    return Predictions(model_sha256, 2, test_outputs, np.asarray(splits.y_test), axes,
                       model_outputs(model, grid_points(axes)), (splits.x_train, splits.y_train))


def stored_predictions(run_dir: str | Path) -> Predictions | None:
    """The predictions stored in a run's folder, if they are its best model's (None: not stored, or stale)."""
    paths = RunPaths(Path(run_dir))
    arrays = read_arrays(paths.predictions)
    predictions = Predictions.from_arrays(arrays) if arrays is not None else None
    if predictions is None or predictions.model_sha256 != file_digest(paths.best_model):
        return None
    return predictions


def store_predictions(run_dir: str | Path, spec: SweepSpec, splits: Any) -> Predictions | None:
    """Predict with a run's best model and store the outputs in its folder, unless they are there already.

    Loads the model, so TensorFlow: call it where TensorFlow is loaded anyway (as a run ends).
    A folder that cannot be written only costs the next report the same work.

    Returns:
        The best model's predictions, or None when the run kept no model.
    """
    stored = stored_predictions(run_dir)
    if stored is not None:
        return stored
    paths = RunPaths(Path(run_dir))
    digest = file_digest(paths.best_model)
    model = load_best_model(paths, spec)
    if digest is None or model is None:
        return None
    predictions = predict(model, splits, digest)
    try:
        write_arrays(paths.predictions, predictions.as_arrays())
    except OSError as error:
        log.warning("fitsweep: the best model's predictions not stored (%s)", error)
    return predictions


def kept_execution(run: Any) -> tuple[str, int] | None:
    """The execution whose model `best_model.keras` holds: the best trial's best execution by the objective.

    The sweep saves, of the best trial's executions, the one with the best objective at its best
    epoch. None when the run has no best trial or no completed execution of it.

    Example:
        >>> kept_execution(fitsweep.load("results/moons"))  # doctest: +SKIP
        ('00', 0)
    """
    best_id = str(run.info.get("best_trial") or "")
    objective, direction = run.spec.tuner.objective, run.spec.tuner.direction
    trials = run.trials
    rows = trials[trials["trial_id"].astype(str).eq(best_id).to_numpy()
                  & trials["status"].astype(str).eq(TrialStatus.COMPLETED).to_numpy()]
    values = pd.to_numeric(rows[objective], errors="coerce") if objective in rows else pd.Series(dtype=float)
    if values.notna().sum() == 0:
        return None
    best = values.idxmin() if direction == "min" else values.idxmax()
    return best_id, int(rows.loc[best, "execution"])
