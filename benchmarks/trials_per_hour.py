"""Trials per hour on the moons seed sweep: fitsweep's `run_sweep` vs a plain KerasTuner script.

Both sides search the same grid (sweeps/moons.yaml's `layers`, `dropout`, `l1`, `l2`; SGD at
0.01, batch 32, sigmoid output, binary cross-entropy, accuracy) with the same seed over the
same arrays (fitsweep's moons splits), for the same number of trials and epochs. The baseline is
what a KerasTuner user writes: `keras_tuner.GridSearch` over a build function, `tuner.search` on
numpy arrays with `validation_data` arrays. Each measurement runs in a fresh process; the clock
starts after imports and covers everything from data to the last trial (fitsweep also evaluates
the test split, writes its tables after every trial and keeps the best model).

    .venv/bin/python benchmarks/trials_per_hour.py                # 8 trials x 30 epochs, 2 rounds
    .venv/bin/python benchmarks/trials_per_hour.py --trials 4 --epochs 10 --repeats 1   # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import _harness

SWEEP = _harness.REPO / "sweeps" / "moons.yaml"


def fitsweep_side(trials: int, epochs: int, workers: int = 1) -> dict[str, float]:
    _harness.quiet_tensorflow()
    from fitsweep import load_spec, run_sweep

    spec = load_spec(SWEEP).with_overrides(max_trials=trials, epochs=epochs)
    with tempfile.TemporaryDirectory() as results:
        started, cpu_started = time.perf_counter(), time.process_time()
        if workers > 1:
            from fitsweep.search.parallel import run_parallel

            run = run_parallel(spec, workers=workers, results_dir=results, data_dir=SWEEP.parent)
        else:
            run = run_sweep(spec, results_dir=results, data_dir=SWEEP.parent)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        completed = int((run.trials["status"] == "completed").sum())
        epochs_run = len(run.epochs)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "trials": completed, "epochs": epochs_run,
            "trials_per_hour": completed * 3600 / seconds}


def baseline_side(trials: int, epochs: int, executions: int = 1) -> dict[str, float]:
    """A plain KerasTuner GridSearch over the moons sweep's space, `executions` per trial."""
    _harness.quiet_tensorflow()
    import keras
    import keras_tuner

    from fitsweep import load_spec
    from fitsweep.data import prepare_data

    spec = load_spec(SWEEP)
    layer_choices = ["-".join(str(w) for w in widths) for widths in spec.model.layers.values]
    dropouts, l1s, l2s = spec.model.dropout.values, spec.model.l1.values, spec.model.l2.values

    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        layers = hp.Choice("layers", layer_choices, ordered=False)
        dropout = hp.Choice("dropout", dropouts)
        l1, l2 = hp.Choice("l1", l1s), hp.Choice("l2", l2s)
        regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
        model = keras.Sequential([keras.Input(shape=(2,))])
        for width in layers.split("-"):
            model.add(keras.layers.Dense(int(width), activation="relu", kernel_regularizer=regularizer))
            if dropout > 0:
                model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return model

    with tempfile.TemporaryDirectory() as directory:
        started, cpu_started = time.perf_counter(), time.process_time()
        splits = prepare_data(spec.data, SWEEP.parent)
        keras.utils.set_random_seed(spec.tuner.seed)
        tuner = keras_tuner.GridSearch(build, objective="val_loss", max_trials=trials, seed=spec.tuner.seed,
                                       executions_per_trial=executions, directory=directory,
                                       project_name="baseline", overwrite=True)
        tuner.search(splits.x_train, splits.y_train, epochs=epochs, batch_size=32,
                     validation_data=(splits.x_val, splits.y_val), verbose=0)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        completed = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "trials": completed,
            "trials_per_hour": completed * 3600 / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of (fitsweep, baseline)")
    parser.add_argument("--child", choices=["fitsweep", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "fitsweep":
        _harness.emit(fitsweep_side(args.trials, args.epochs))
        return
    if args.child == "baseline":
        _harness.emit(baseline_side(args.trials, args.epochs))
        return

    _harness.header(f"trials per hour, moons seed sweep, {args.trials} trials x {args.epochs} epochs")
    results = _harness.alternate(__file__, ["fitsweep", "baseline"], args.repeats,
                                 extra=lambda side: ["--trials", str(args.trials), "--epochs", str(args.epochs)])
    fitsweep = [r["trials_per_hour"] for r in results["fitsweep"]]
    baseline = [r["trials_per_hour"] for r in results["baseline"]]
    ratios = _harness.paired_ratios(fitsweep, baseline)
    print(f"   fitsweep run_sweep      : {_harness.spread(fitsweep)} trials/hour")
    print(f"   plain KerasTuner (grid) : {_harness.spread(baseline)} trials/hour")
    print(f"   ratio fitsweep/baseline : {statistics.median(ratios):.2f}x "
          f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}; target >= 3x)")
    cpu_ratios = _harness.paired_ratios([r["cpu_seconds"] for r in results["baseline"]],
                                        [r["cpu_seconds"] for r in results["fitsweep"]])
    print(f"   CPU seconds per sweep   : fitsweep {_harness.spread([r['cpu_seconds'] for r in results['fitsweep']])}, "
          f"baseline {_harness.spread([r['cpu_seconds'] for r in results['baseline']])}")
    print(f"   CPU-time ratio baseline/fitsweep: {statistics.median(cpu_ratios):.2f}x "
          f"(per round: {', '.join(f'{r:.2f}' for r in cpu_ratios)}; less disturbed by other processes)")
    _harness.footer()


if __name__ == "__main__":
    main()
