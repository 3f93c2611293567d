"""Memory over many short trials: process RSS growth per trial, fitsweep vs a plain KerasTuner loop.

Both sides run the same random search (depth 1-3, width 4-64, dropout, a log-uniform L2; SGD,
batch 32, 2 epochs) over 200 tiny-moons samples with the same seed. RSS (VmRSS from
/proc/self/status) is read after every trial; growth per trial is the least-squares slope of RSS
over the trials after a warm-up (the first `--warmup` trials, where TensorFlow's caches and
allocator pools fill). fitsweep also rewrites its tables after every trial, as it always does.

A third side runs the same sweep with two worker processes (`run_parallel`), each replaced by a
fresh one after `--trials-per-process` trials; its RSS is the chief's plus its live workers'.

    .venv/bin/python benchmarks/memory.py                   # 200 trials, 1 round
    .venv/bin/python benchmarks/memory.py --trials 60 --warmup 10 --no-workers
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import _harness

EPOCHS = 2
SWEEP: dict[str, Any] = {
    "name": "memory",
    "data": {"source": "moons", "samples": 200, "noise": 0.2, "seed": 3},
    "model": {"depth": {"min": 1, "max": 3}, "width": {"min": 4, "max": 64, "step": 4},
              "dropout": {"values": [0.0, 0.2]}, "l2": {"min": 1.0e-6, "max": 1.0e-2, "sampling": "log"}},
    "train": {"optimizer": "sgd", "learning_rate": 0.01, "batch_size": 32, "epochs": EPOCHS},
    "tuner": {"algorithm": "random", "seed": 0, "max_consecutive_failures": 1000},
}


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident set size in MB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children_rss_mb() -> float:
    """The RSS of this process's live children (the workers), in MB."""
    total, me = 0.0, str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                parent = stat.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if parent == me:
            total += rss_mb(entry)
    return total


def slope(values: list[float]) -> float:
    """Least-squares slope of values against their index."""
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    covariance = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    return covariance / sum((i - mean_x) ** 2 for i in range(n))


class _RssAfterTrial:
    def __init__(self, with_children: bool = False) -> None:
        self.rss: list[float] = []
        self.with_children = with_children

    def trial_started(self, *args: Any) -> None: ...

    def epoch_ended(self, *args: Any) -> None: ...

    def trial_ended(self, *args: Any) -> None:
        self.rss.append(rss_mb() + (children_rss_mb() if self.with_children else 0.0))


def fitsweep_side(trials: int) -> dict[str, Any]:
    _harness.quiet_tensorflow()
    from fitsweep import parse_spec, run_sweep

    spec = parse_spec({**SWEEP, "tuner": {**SWEEP["tuner"], "max_trials": trials}})
    observer = _RssAfterTrial()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as results:
        run_sweep(spec, results_dir=results, observer=observer)
    return {"rss_mb": observer.rss, "seconds": time.perf_counter() - started}


def workers_side(trials: int, trials_per_process: int) -> dict[str, Any]:
    _harness.quiet_tensorflow()
    from fitsweep import parse_spec
    from fitsweep.search.parallel import run_parallel

    spec = parse_spec({**SWEEP, "tuner": {**SWEEP["tuner"], "max_trials": trials}})
    observer = _RssAfterTrial(with_children=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as results:
        run_parallel(spec, workers=2, results_dir=results, observer=observer, trials_per_process=trials_per_process)
    return {"rss_mb": observer.rss, "seconds": time.perf_counter() - started}


def baseline_side(trials: int) -> dict[str, Any]:
    _harness.quiet_tensorflow()
    import keras
    import keras_tuner

    from fitsweep import parse_spec
    from fitsweep.data import prepare_data

    splits = prepare_data(parse_spec(SWEEP).data)
    rss: list[float] = []

    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        depth, width = hp.Int("depth", 1, 3), hp.Int("width", 4, 64, step=4)
        dropout = hp.Choice("dropout", [0.0, 0.2])
        l2 = hp.Float("l2", 1.0e-6, 1.0e-2, sampling="log")
        model = keras.Sequential([keras.Input(shape=(2,))])
        for _ in range(depth):
            model.add(keras.layers.Dense(width, activation="relu", kernel_regularizer=keras.regularizers.L2(l2)))
            if dropout > 0:
                model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(l2)))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return model

    class RssAfterTrial(keras_tuner.RandomSearch):
        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            rss.append(rss_mb())

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        keras.utils.set_random_seed(0)
        tuner = RssAfterTrial(build, objective="val_loss", max_trials=trials, seed=0, directory=directory,
                              project_name="baseline", overwrite=True, max_consecutive_failed_trials=1000)
        tuner.search(splits.x_train, splits.y_train, epochs=EPOCHS, batch_size=32,
                     validation_data=(splits.x_val, splits.y_val), verbose=0)
    return {"rss_mb": rss, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20, help="trials left out of the growth fit")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of every side")
    parser.add_argument("--trials-per-process", type=int, default=50,
                        help="workers side: trials before a fresh process")
    parser.add_argument("--no-workers", action="store_true", help="leave the two-worker side out")
    parser.add_argument("--child", choices=["fitsweep", "baseline", "workers"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "workers":
        _harness.emit(workers_side(args.trials, args.trials_per_process))
        return
    if args.child:
        side = fitsweep_side if args.child == "fitsweep" else baseline_side
        _harness.emit(side(args.trials))
        return

    _harness.header(f"memory, {args.trials} trials x {EPOCHS} epochs on 200 moons samples "
                    f"(growth fitted after {args.warmup} trials)")
    sides = ["fitsweep", "baseline"] + ([] if args.no_workers else ["workers"])
    results = _harness.alternate(__file__, sides, args.repeats, extra=lambda side: [
        "--trials", str(args.trials), "--trials-per-process", str(args.trials_per_process)])
    growth = {side: [slope(r["rss_mb"][args.warmup:]) for r in results[side]] for side in sides}
    labels = {"fitsweep": "fitsweep run_sweep", "baseline": "plain KerasTuner",
              "workers": f"fitsweep 2 workers (fresh process every {args.trials_per_process} trials; chief + workers)"}
    for side in sides:
        label = labels[side]
        first = [r["rss_mb"][0] for r in results[side]]
        last = [r["rss_mb"][-1] for r in results[side]]
        seconds = [r["seconds"] for r in results[side]]
        peak = [max(r["rss_mb"]) for r in results[side]]
        print(f"   {label}: {_harness.spread(growth[side])} MB/trial; RSS after trial 1 {_harness.spread(first)} MB, "
              f"after the last {_harness.spread(last)} MB, at most {_harness.spread(peak)} MB; "
              f"{_harness.spread(seconds)} s")
    ratios = _harness.paired_ratios(growth["fitsweep"], growth["baseline"])
    print(f"   growth ratio fitsweep/baseline: {statistics.median(ratios):.2f} "
          f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}); target: fitsweep < 1 MB/trial")
    _harness.footer()


if __name__ == "__main__":
    main()
