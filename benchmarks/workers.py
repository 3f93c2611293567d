"""Trials per hour with `--workers 2` vs `--workers 1`, on the moons seed sweep's small networks.

`--workers 2` is `fitsweep.search.parallel.run_parallel`: a KerasTuner chief in the measuring process
and two worker processes, each with half the machine's cores as TensorFlow threads; `--workers 1`
is `run_sweep` in one process. The clock covers everything after imports, the workers' own start
(Python and TensorFlow imports) included. The plain KerasTuner script of trials_per_hour.py runs
the same trials as a baseline.

    .venv/bin/python benchmarks/workers.py                   # 32 trials (the whole grid) x 30 epochs, 2 rounds
    .venv/bin/python benchmarks/workers.py --no-keras-tuner  # fitsweep only
"""

from __future__ import annotations

import argparse
import statistics

import _harness
import trials_per_hour


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every side")
    parser.add_argument("--no-keras-tuner", action="store_true", help="leave the plain KerasTuner baseline out")
    parser.add_argument("--child", choices=["workers2", "workers1", "keras-tuner"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "keras-tuner":
        _harness.emit(trials_per_hour.baseline_side(args.trials, args.epochs))
        return
    if args.child:
        _harness.emit(trials_per_hour.fitsweep_side(args.trials, args.epochs, workers=int(args.child[-1])))
        return

    sides = ["workers2", "workers1"] + ([] if args.no_keras_tuner else ["keras-tuner"])
    _harness.header(f"workers, moons seed sweep, {args.trials} trials x {args.epochs} epochs")
    results = _harness.alternate(__file__, sides, args.repeats,
                                 extra=lambda side: ["--trials", str(args.trials), "--epochs", str(args.epochs)])
    per_hour = {side: [r["trials_per_hour"] for r in results[side]] for side in sides}
    print(f"   fitsweep --workers 2    : {_harness.spread(per_hour['workers2'])} trials/hour")
    print(f"   fitsweep --workers 1    : {_harness.spread(per_hour['workers1'])} trials/hour")
    ratios = _harness.paired_ratios(per_hour["workers2"], per_hour["workers1"])
    print(f"   ratio workers 2/1       : {statistics.median(ratios):.2f}x "
          f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}; target >= 1.4x)")
    if "keras-tuner" in per_hour:
        baseline = _harness.paired_ratios(per_hour["workers2"], per_hour["keras-tuner"])
        print(f"   plain KerasTuner (grid) : {_harness.spread(per_hour['keras-tuner'])} trials/hour; "
              f"--workers 2 is {statistics.median(baseline):.2f}x that "
              f"(per round: {', '.join(f'{r:.2f}' for r in baseline)})")
    _harness.footer()


if __name__ == "__main__":
    main()
