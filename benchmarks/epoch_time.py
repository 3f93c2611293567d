"""Epoch time of the notMNIST 600-400-200 network: fitsweep's training path vs plain `model.fit`.

Both sides train the seed's largest notMNIST network (784-600-400-200-10, ReLU, softmax, Adam at
0.001, batch 256) on the bundled notMNIST splits (`fitsweep.data.prepare_data` with
`data: {source: notmnist, validation_size: 0.1}`), validating every epoch. fitsweep runs it as a
one-trial sweep through `run_sweep` (tf.data input, `steps_per_execution`, every epoch reported
to the oracle, the best epoch's weights kept); the baseline is `model.fit` on numpy arrays with
`validation_data` arrays. An epoch's time is the wall time between the ends of two consecutive
epochs, so it includes validation and everything the callbacks do; the first epoch (tracing) is
left out.

    .venv/bin/python benchmarks/epoch_time.py                 # 8 epochs, 3 rounds
    .venv/bin/python benchmarks/epoch_time.py --epochs 4 --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from itertools import pairwise
from typing import Any

import _harness

LAYERS = [600, 400, 200]
BATCH_SIZE = 256
SWEEP: dict[str, Any] = {
    "name": "notmnist-epoch-time",
    "data": {"source": "notmnist", "validation_size": 0.1},
    "model": {"layers": LAYERS, "activation": "relu"},
    "train": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": BATCH_SIZE},
    "tuner": {"algorithm": "grid", "max_trials": 1, "seed": 0},
}


def _intervals(stamps: list[float]) -> list[float]:
    return [later - earlier for earlier, later in pairwise(stamps)]


def _result(wall: list[float], cpu: list[float]) -> dict[str, Any]:
    """Median epoch wall time, and CPU time (all threads), which other processes disturb less."""
    walls, cpus = _intervals(wall), _intervals(cpu)
    return {"median_epoch_seconds": statistics.median(walls), "median_epoch_cpu_seconds": statistics.median(cpus),
            "epoch_seconds": walls, "epoch_cpu_seconds": cpus}


class _EpochClock:
    """A fitsweep observer that notes when each epoch ends."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def trial_started(self, *args: Any) -> None: ...

    def epoch_ended(self, *args: Any) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())

    def trial_ended(self, *args: Any) -> None: ...


def fitsweep_side(epochs: int) -> dict[str, Any]:
    _harness.quiet_tensorflow()
    from fitsweep import parse_spec, run_sweep

    spec = parse_spec({**SWEEP, "train": {**SWEEP["train"], "epochs": epochs}})
    clock = _EpochClock()
    with tempfile.TemporaryDirectory() as results:
        run = run_sweep(spec, results_dir=results, observer=clock)
        assert len(run.epochs) == epochs, "every epoch must reach the epochs table"
    return _result(clock.wall, clock.cpu)


def baseline_side(epochs: int) -> dict[str, Any]:
    _harness.quiet_tensorflow()
    import keras

    from fitsweep import parse_spec
    from fitsweep.data import prepare_data

    splits = prepare_data(parse_spec(SWEEP).data)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(splits.n_features,))])
    for width in LAYERS:
        model.add(keras.layers.Dense(width, activation="relu"))
    model.add(keras.layers.Dense(splits.n_classes, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    wall: list[float] = []
    cpu: list[float] = []
    clock = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: (wall.append(time.perf_counter()), cpu.append(time.process_time()))
    )
    model.fit(splits.x_train, splits.y_train, batch_size=BATCH_SIZE, epochs=epochs,
              validation_data=(splits.x_val, splits.y_val), verbose=0, callbacks=[clock])
    return _result(wall, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of (fitsweep, baseline)")
    parser.add_argument("--child", choices=["fitsweep", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side = fitsweep_side if args.child == "fitsweep" else baseline_side
        _harness.emit(side(args.epochs))
        return

    _harness.header(f"epoch time, notMNIST 600-400-200, batch {BATCH_SIZE}, {args.epochs} epochs "
                    "(epoch 1 left out)")
    results = _harness.alternate(__file__, ["fitsweep", "baseline"], args.repeats,
                                 extra=lambda side: ["--epochs", str(args.epochs)])
    fitsweep = [r["median_epoch_seconds"] for r in results["fitsweep"]]
    baseline = [r["median_epoch_seconds"] for r in results["baseline"]]
    ratios = _harness.paired_ratios(fitsweep, baseline)
    fitsweep_cpu = [r["median_epoch_cpu_seconds"] for r in results["fitsweep"]]
    baseline_cpu = [r["median_epoch_cpu_seconds"] for r in results["baseline"]]
    cpu_ratios = _harness.paired_ratios(fitsweep_cpu, baseline_cpu)
    print(f"   fitsweep (run_sweep)       : {_harness.spread(fitsweep)} s/epoch (median epoch of each round)")
    print(f"   plain model.fit on arrays  : {_harness.spread(baseline)} s/epoch")
    print(f"   ratio fitsweep/baseline    : {statistics.median(ratios):.3f} "
          f"(per round: {', '.join(f'{r:.3f}' for r in ratios)}; target <= 1.05)")
    print(f"   CPU time per epoch         : fitsweep {_harness.spread(fitsweep_cpu)} s, "
          f"baseline {_harness.spread(baseline_cpu)} s")
    print(f"   CPU-time ratio             : {statistics.median(cpu_ratios):.3f} "
          f"(per round: {', '.join(f'{r:.3f}' for r in cpu_ratios)})")
    _harness.footer()


if __name__ == "__main__":
    main()
