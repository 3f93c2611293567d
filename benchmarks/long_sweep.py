"""Long sweeps: does the thousandth trial cost what the first did? `fitsweep run` vs plain KerasTuner.

The sweep is the issue's: two moons (400 samples), one hidden layer of 16 units, 3 epochs a
trial, random search over a log-uniform l2, one repeat, `--trials` trials (default 1,000), in one
process. Three sides, each a whole command in a fresh process, sides alternating round by round:

- `fused`: `fitsweep run SWEEP --results-dir TMP` (fused training, the default; its live report
  included), as a user types it;
- `unfused`: the same with `--no-fuse` (one network at a time);
- `baseline`: a plain KerasTuner script (`keras_tuner.RandomSearch` over a build function of the
  same network, `tuner.search` on fitsweep's moons arrays), `python benchmarks/long_sweep.py
  --child baseline`.

While a command runs, this parent reads its resident set size (VmRSS in /proc) every 0.25 s.
Each trial's completion time is its `ended` column in the trials table (the latest over its
executions), or for the baseline the time its `on_trial_end` ran. A trial's cost is the interval
between its model's end and the previous model's end, shared equally by the trials trained in
that model (fitsweep's fused trials share a `started` time and end together; a trial trained
alone costs the interval between its end and the previous trial's, the issue's measure); the
first model's trials have none. Per side it prints the median (and mean) cost of the first and
the last `--window` trials that have one, their ratio last/first, and memory growth per trial:
the least-squares slope of RSS at each trial's end over the trials after `--warmup`. The
whole-command ratio is fitsweep's wall time over the baseline's, round by round (imports and
start-up included on both sides).

    .venv/bin/python benchmarks/long_sweep.py                        # 1,000 trials, 1 round
    .venv/bin/python benchmarks/long_sweep.py --trials 300 --sides fused unfused
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import _harness

EPOCHS = 3
SIDES = {
    "fused": "fitsweep run (fused, the default)",
    "unfused": "fitsweep run --no-fuse",
    "baseline": "plain KerasTuner RandomSearch",
}
RSS_POLL_SECONDS = 0.25


def sweep(trials: int) -> dict[str, Any]:
    """The issue's sweep: moons, 400 samples, a 16-unit network, 3 epochs, random search over l2."""
    return {
        "name": "long",
        "data": {"source": "moons", "samples": 400},
        "model": {"layers": [16], "l2": {"min": 1.0e-6, "max": 1.0e-2, "sampling": "log"}},
        "train": {"epochs": EPOCHS},
        "tuner": {"algorithm": "random", "max_trials": trials, "seed": 0, "max_consecutive_failures": 1000},
    }


def baseline_side(trials: int) -> dict[str, Any]:
    """A plain KerasTuner script over the same network, data and search; each trial's end time."""
    _harness.quiet_tensorflow()
    import keras
    import keras_tuner

    from fitsweep import parse_spec
    from fitsweep.data import prepare_data

    splits = prepare_data(parse_spec(sweep(trials)).data)
    ended: list[float] = []

    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        l2 = hp.Float("l2", 1.0e-6, 1.0e-2, sampling="log")
        model = keras.Sequential([
            keras.Input(shape=(splits.n_features,)),
            keras.layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.L2(l2)),
            keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(l2)),
        ])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return model

    class Timed(keras_tuner.RandomSearch):
        def on_trial_end(self, trial: Any) -> None:
            super().on_trial_end(trial)
            ended.append(time.time())

    with tempfile.TemporaryDirectory() as directory:
        keras.utils.set_random_seed(0)
        tuner = Timed(build, objective="val_loss", max_trials=trials, seed=0, directory=directory,
                      project_name="baseline", overwrite=True, max_consecutive_failed_trials=1000)
        tuner.search(splits.x_train, splits.y_train, epochs=EPOCHS, batch_size=32,
                     validation_data=(splits.x_val, splits.y_val), verbose=0)
        completed = sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values())
    return {"ended": ended, "trials": completed}


def fitsweep_command() -> list[str]:
    """The `fitsweep` console script next to this Python (else `python -m fitsweep`)."""
    script = Path(sys.executable).parent / "fitsweep"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fitsweep"]


def command_for(side: str, trials: int, sweep_file: Path, results: Path) -> list[str]:
    if side == "baseline":
        return [sys.executable, __file__, "--child", "baseline", "--trials", str(trials)]
    no_fuse = ["--no-fuse"] if side == "unfused" else []
    return [*fitsweep_command(), "run", str(sweep_file), *no_fuse, "--results-dir", str(results)]


def watched(command: list[str], output: Path) -> tuple[float, list[tuple[float, float]], int]:
    """Run a command to its end, reading its RSS meanwhile: wall seconds, (time, MB) samples, exit code."""
    from memory import rss_mb

    samples: list[tuple[float, float]] = []
    started = time.perf_counter()
    with open(output, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_harness.child_environment())
        while process.poll() is None:
            rss = rss_mb(process.pid)
            if rss:
                samples.append((time.time(), rss))
            time.sleep(RSS_POLL_SECONDS)
    return time.perf_counter() - started, samples, process.returncode


def trial_times(side: str, run_dir: Path, output: Path) -> list[tuple[float, float]]:
    """Each completed trial's start and end (Unix seconds), in the order they ended.

    A fitsweep trial's start is when its model began training (the trials of one fused model
    share it) and its end the latest of its executions'; a baseline trial has no recorded start
    (0): each is a model of its own.
    """
    if side == "baseline":
        lines = [line for line in output.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
        return [(0.0, moment) for moment in sorted(json.loads(lines[-1])["ended"])]
    import fitsweep

    trials = fitsweep.load(run_dir).trials
    done = trials[trials["status"] == "completed"].groupby("trial_id").agg(started=("started", "min"),
                                                                           ended=("ended", "max"))
    return sorted(((row.started.timestamp(), row.ended.timestamp()) for row in done.itertuples()),
                  key=lambda times: times[1])


def trial_costs(times: list[tuple[float, float]]) -> list[float]:
    """What each trial after the first model cost: the time since the previous model ended, over its trials.

    Trials trained as one model (same start) share its interval equally; a trial trained alone
    costs the interval between its end and the previous trial's, the issue's measure.
    """
    models: dict[float, list[float]] = {}
    for index, (started, ended) in enumerate(times):
        models.setdefault(started if started else -index - 1.0, []).append(ended)
    ends = sorted((max(model), len(model)) for model in models.values())
    return [(end - previous) / size for (previous, _), (end, size) in pairwise(ends)
            for _ in range(size)]


def training_costs(times: list[tuple[float, float]]) -> list[float]:
    """The training part of `trial_costs`: each model's own training time over its trials (fitsweep only).

    What is left of a trial's cost is the work between models: KerasTuner's bookkeeping, the
    tables, the report and the event files.
    """
    models: dict[float, list[float]] = {}
    for started, ended in times:
        models.setdefault(started, []).append(ended)
    spans = sorted((max(ends), (max(ends) - started) / len(ends), len(ends)) for started, ends in models.items())
    return [share for _, share, size in spans[1:] for _ in range(size)]


def rss_at(moments: list[float], samples: list[tuple[float, float]]) -> list[float]:
    """The RSS sample next after each moment (the last one for moments after it)."""
    values, index = [], 0
    for moment in moments:
        while index < len(samples) - 1 and samples[index][0] < moment:
            index += 1
        values.append(samples[index][1])
    return values


def window_stats(costs: list[float], window: int) -> dict[str, float]:
    """Median and mean cost per trial over the first and the last `window` trials that have one."""
    first, last = costs[:window], costs[-window:]
    return {
        "median_first": statistics.median(first), "median_last": statistics.median(last),
        "mean_first": sum(first) / len(first), "mean_last": sum(last) / len(last),
    }


def measure_round(side: str, trials: int, sweep_file: Path, folder: Path, warmup: int, window: int
                  ) -> dict[str, Any]:
    from memory import slope

    results = folder / side
    output = folder / f"{side}.log"
    seconds, samples, code = watched(command_for(side, trials, sweep_file, results), output)
    if code != 0:
        tail = "\n".join(output.read_text(encoding="utf-8", errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{side} failed (exit {code}):\n{tail}")
    times = trial_times(side, results / "long", output)
    rss = rss_at([ended for _, ended in times], samples)
    costs = trial_costs(times)
    split = {}
    if side != "baseline":
        training = training_costs(times)
        between = [cost - part for cost, part in zip(costs, training, strict=True)]
        split = {f"{part}_{key}": value for part, values in (("training", training), ("between", between))
                 for key, value in window_stats(values, window).items()}
    return {
        "seconds": seconds, "trials": len(times), "peak_mb": max(mb for _, mb in samples),
        "rss_first_mb": rss[0], "rss_last_mb": rss[-1],
        "growth_mb_per_trial": slope(rss[warmup:]), **window_stats(costs, window), **split,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--window", type=int, default=100, help="trials in the first and the last window")
    parser.add_argument("--warmup", type=int, default=50, help="trials left out of the memory growth fit")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of every side")
    parser.add_argument("--sides", nargs="+", choices=list(SIDES), default=list(SIDES))
    parser.add_argument("--child", choices=["baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _harness.emit(baseline_side(args.trials))
        return
    if args.trials < 2 * args.window or args.trials <= args.warmup + 2:
        parser.error(f"--trials {args.trials}: give at least twice --window and more than --warmup + 2")

    _harness.header(f"long sweep, {args.trials} trials x {EPOCHS} epochs, moons 400 samples, 16 units, random l2; "
                    f"windows of {args.window} trials, memory growth fitted after {args.warmup}")
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in args.sides}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sweep_file = folder / "long.yaml"
        import yaml

        sweep_file.write_text(yaml.safe_dump(sweep(args.trials), sort_keys=False), encoding="utf-8")
        for round_number in range(args.repeats):
            order = args.sides if round_number % 2 == 0 else list(reversed(args.sides))
            for side in order:
                round_folder = folder / f"round{round_number + 1}"
                round_folder.mkdir(exist_ok=True)
                result = measure_round(side, args.trials, sweep_file, round_folder, args.warmup, args.window)
                results[side].append(result)
                print(f"  round {round_number + 1}/{args.repeats} {side:>8}: {_harness._short(result)}",
                      file=sys.stderr, flush=True)
    for side, runs in results.items():
        pick = {key: [run[key] for run in runs] for key in runs[0]}
        ratio_median = _harness.paired_ratios(pick["median_last"], pick["median_first"])
        ratio_mean = _harness.paired_ratios(pick["mean_last"], pick["mean_first"])
        print(f"   {SIDES[side]}: {_harness.spread(pick['seconds'])} s whole command, "
              f"{_harness.spread(pick['trials'])} trials completed")
        print(f"     cost per trial, first/last {args.window}: median "
              f"{_harness.spread(pick['median_first'])} / {_harness.spread(pick['median_last'])} s "
              f"(last/first {_harness.spread(ratio_median)}); mean {_harness.spread(pick['mean_first'])} / "
              f"{_harness.spread(pick['mean_last'])} s (last/first {_harness.spread(ratio_mean)}); "
              "target: last within 10% of first")
        for part in ("training", "between"):
            if f"{part}_mean_first" in pick:
                ratio = _harness.paired_ratios(pick[f"{part}_mean_last"], pick[f"{part}_mean_first"])
                print(f"       of which {part} {'models' if part == 'between' else 'its model'}: mean "
                      f"{_harness.spread(pick[f'{part}_mean_first'])} / {_harness.spread(pick[f'{part}_mean_last'])} s "
                      f"(last/first {_harness.spread(ratio)})")
        print(f"     memory: {_harness.spread(pick['growth_mb_per_trial'])} MB/trial; RSS at the first trial's end "
              f"{_harness.spread(pick['rss_first_mb'])} MB, at the last {_harness.spread(pick['rss_last_mb'])} MB, "
              f"peak {_harness.spread(pick['peak_mb'])} MB; target: under 1 MB/trial")
    if "baseline" in results:
        for side in (s for s in results if s != "baseline"):
            ratios = _harness.paired_ratios([r["seconds"] for r in results[side]],
                                            [r["seconds"] for r in results["baseline"]])
            print(f"   whole command, {SIDES[side]} / plain KerasTuner: {statistics.median(ratios):.2f} "
                  f"(per round: {', '.join(f'{r:.2f}' for r in ratios)})")
    _harness.footer()


if __name__ == "__main__":
    main()
