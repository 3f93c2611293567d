"""The input path of every trial: tf.data pipelines over in-memory arrays.

Keras' per-step overhead dominates small models, so batches come from a prefetched `tf.data`
pipeline and the model runs several steps per call (`steps_per_execution`). Validation and test
rows are measured by `fitsweep.measurement`, not through a pipeline.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

__all__ = ["training_dataset", "model_labels", "steps_per_execution"]

MAX_STEPS_PER_EXECUTION = 32


def model_labels(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Labels as the model's loss takes them: a single sigmoid unit wants float targets shaped like its output."""
    return y.astype("float32").reshape(-1, 1) if n_classes == 2 else y


def training_dataset(x: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled (reshuffled every epoch, seeded) and batched training data."""
    dataset = tf.data.Dataset.from_tensor_slices((x, model_labels(y, n_classes)))
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def steps_per_execution(n_samples: int, batch_size: int) -> int:
    """Steps per compiled call: up to 32, never more than one epoch's steps."""
    return max(1, min(MAX_STEPS_PER_EXECUTION, math.ceil(n_samples / batch_size)))
