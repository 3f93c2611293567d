"""The moons study's fused group as plain numpy arrays, for the same step written in JAX and in TensorFlow.

Its 32 networks (25-50-50-25, 8, 64-64, 256-256-256, each with and without dropout 0.3, L1 1e-3
and L2 1e-3, as `sweeps/moons.yaml` and `benchmarks/arithmetic.py`), 2 inputs, 1 logit, SGD at
0.01, batch 32. Everything random comes from numpy seeds, so both sides start from the same
weights and step through the same rows: initial kernels (Glorot uniform, as Keras'), each
member's row order each epoch, and two-moons data drawn as scikit-learn's `make_moons` draws it
(1,000 samples, noise 0.2: 720 training rows, all measured, and 180 validation rows).

Dropout masks come from a 32-bit counter-based hash (Wellons' lowbias32) of the member and
layer's key, the step and the unit's position, which both sides compute bit for bit alike:
fitsweep's own masks use a 64-bit hash (SplitMix64), which JAX without 64-bit mode cannot.
Only numpy is imported here: both virtual environments run it.
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

LAYERS = [[25, 50, 50, 25], [8], [64, 64], [256, 256, 256]]
REGULARIZERS = list(itertools.product([0.0, 0.3], [0.0, 1e-3], [0.0, 1e-3]))  # dropout, l1, l2: dropping last
N_FEATURES, BATCH, LEARNING_RATE = 2, 32, 0.01
TRAIN_ROWS, VAL_ROWS = 720, 180
MATMUL = (8, 32, 256, 256)  # members, rows, inputs, units: the 256-256-256 stack's hidden layers
PRODUCTS = 100  # batched products per matmul measurement
HASH_MULTIPLIERS = (0x7FEB352D, 0x846CA68B)
HASH_SHIFTS = (16, 15, 16)


@dataclass(frozen=True)
class StackLayout:
    """One architecture's members: their widths, regularizers and dropout keys."""

    widths: list[int]  # inputs, hidden..., 1
    dropout: np.ndarray  # (members,) float32
    l1: np.ndarray
    l2: np.ndarray
    seeds: list[int]

    @property
    def first_dropping(self) -> int:
        """Members from this one on drop units; those before it draw nothing."""
        return int(np.argmax(self.dropout > 0)) if self.dropout.any() else len(self.seeds)

    def dropout_keys(self, layer: int) -> np.ndarray:
        """The dropping members' hash keys for one hidden layer, uint32."""
        return np.array([zlib.crc32(f"{seed}:{1000 + layer}".encode()) & 0x7FFFFFFF
                         for seed in self.seeds[self.first_dropping:]], np.uint32)

    def thresholds(self) -> np.ndarray:
        """A unit is kept when its 32 bits reach its member's threshold: ceil(rate x 2**32), uint32."""
        return np.array([math.ceil(float(rate) * 2.0**32) for rate in self.dropout[self.first_dropping:]], np.uint32)

    def scales(self) -> np.ndarray:
        """Kept units times 1 / (1 - rate), as Keras' Dropout; (dropping members, 1, 1) float32."""
        return (1.0 / (1.0 - self.dropout[self.first_dropping:])).astype("float32")[:, None, None]


def stacks() -> list[StackLayout]:
    seeds = itertools.count()
    dropout, l1, l2 = (np.array(column, "float32") for column in zip(*REGULARIZERS, strict=True))
    return [StackLayout([N_FEATURES, *hidden, 1], dropout, l1, l2, seeds=[next(seeds) for _ in REGULARIZERS])
            for hidden in LAYERS]


def n_members() -> int:
    return sum(len(stack.seeds) for stack in stacks())


def parameter_count() -> int:
    return sum(len(stack.seeds) * sum(fan_in * units + units for fan_in, units in itertools.pairwise(stack.widths))
               for stack in stacks())


def gflop_per_epoch() -> float:
    """6 x parameters x training rows (forward and backward) + 2 x parameters x measured and validation rows."""
    return (6 * TRAIN_ROWS + 2 * (TRAIN_ROWS + VAL_ROWS)) * parameter_count() / 1e9


def initial_weights() -> list[list[np.ndarray]]:
    """Each stack's [kernel (members, inputs, units), bias (members, 1, units), ...]: Glorot uniform, zeros."""
    weights = []
    for stack in stacks():
        arrays = []
        for layer, (fan_in, units) in enumerate(itertools.pairwise(stack.widths)):
            limit = math.sqrt(6.0 / (fan_in + units))
            arrays.append(np.stack([np.random.default_rng([seed, layer]).uniform(-limit, limit, (fan_in, units))
                                    for seed in stack.seeds]).astype("float32"))
            arrays.append(np.zeros((len(stack.seeds), 1, units), "float32"))
        weights.append(arrays)
    return weights


def moons() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x_train (720, 2), y_train (720,), x_val (180, 2), y_val (180,): float32, as `make_moons(1000, noise=0.2)`."""
    rng = np.random.default_rng(100)
    outer, inner = 500, 500
    x = np.concatenate([np.stack([np.cos(np.linspace(0, np.pi, outer)), np.sin(np.linspace(0, np.pi, outer))], 1),
                        np.stack([1 - np.cos(np.linspace(0, np.pi, inner)),
                                  1 - np.sin(np.linspace(0, np.pi, inner)) - 0.5], 1)])
    y = np.concatenate([np.zeros(outer), np.ones(inner)])
    x += rng.normal(scale=0.2, size=x.shape)
    order = rng.permutation(len(x))
    x, y = x[order].astype("float32"), y[order].astype("float32")
    val = slice(TRAIN_ROWS, TRAIN_ROWS + VAL_ROWS)
    return x[:TRAIN_ROWS], y[:TRAIN_ROWS], x[val], y[val]


def row_orders(epoch: int) -> np.ndarray:
    """Every member's shuffle of the training rows this epoch: (rows, members) int32."""
    return np.stack([np.random.default_rng([seed, epoch, 7]).permutation(TRAIN_ROWS)
                     for stack in stacks() for seed in stack.seeds], axis=1).astype("int32")


def matmul_operands() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A start (8, 32, 256), orthogonal matrices (8, 256, 256) (chained products neither vanish nor
    overflow) and `PRODUCTS` independent left operands (PRODUCTS, 8, 32, 256), float32."""
    members, rows, inputs, units = MATMUL
    rng = np.random.default_rng(0)
    orthogonal, _ = np.linalg.qr(rng.normal(size=(members, inputs, units)))
    start = rng.normal(size=(members, rows, inputs))
    return (start.astype("float32"), orthogonal.astype("float32"),
            rng.normal(size=(PRODUCTS, members, rows, inputs)).astype("float32"))


def lowbias32(z: Any, xor: Callable[[Any, Any], Any], right_shift: Callable[[Any, Any], Any],
              constant: Callable[[int], Any]) -> Any:
    """Wellons' lowbias32 of uint32 values, through the array library's own xor, shift and constants."""
    for shift, multiplier in zip(HASH_SHIFTS, (*HASH_MULTIPLIERS, None), strict=True):
        z = xor(z, right_shift(z, constant(shift)))
        if multiplier is not None:
            z = z * constant(multiplier)
    return z


def matmul_gflop() -> float:
    members, rows, inputs, units = MATMUL
    return 2 * members * rows * inputs * units * PRODUCTS / 1e9


def timed_epochs(epoch: Callable[[int], tuple[np.ndarray, np.ndarray]], chained: Callable[[], float],
                 independent: Callable[[], float], epochs: int) -> dict[str, Any]:
    """Run `epochs` epochs, each followed (outside its time) by a chained-matmul measurement; the child's result.

    `epoch(e)` trains epoch `e` and returns its running sums (4, members) and measurement (members, 5):
    measured loss and accuracy, validation loss and accuracy, penalty. The first epoch traces or
    compiles and is reported apart.
    """
    gflop = gflop_per_epoch()
    seconds, cpu, rates, running, validation = [], [], [], [], []
    for number in range(epochs):
        started, started_cpu = time.perf_counter(), time.process_time()
        sums, measured = epoch(number)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        rates.append(chained())
        running.append((sums[0] / sums[3]).tolist())
        validation.append(measured[:, 2].tolist())
    independent_rates = [independent() for _ in range(5)]
    return {
        "epoch_seconds": statistics.median(seconds[1:]), "first_epoch_seconds": seconds[0],
        "epoch_cpu_seconds": statistics.median(cpu[1:]), "gflops": gflop / statistics.median(seconds[1:]),
        "matmul_chained_gflops": statistics.median(rates[1:]),
        "matmul_independent_gflops": statistics.median(independent_rates),
        "ratio": statistics.median(gflop / s / rate for s, rate in zip(seconds[1:], rates[1:], strict=True)),
        "running_loss": running, "val_loss": validation,
    }
