"""Fused training on the moons seed grid: whole-command `fitsweep run` vs plain KerasTuner, and vs `--no-fuse`.

fitsweep trains a trial's executions (repeats), and trials that share batch size, optimizer,
learning rate and epochs, as one fused Keras model (`train.fused`, on by default). This script
times three comparisons on sweeps/moons.yaml's grid (layers, dropout, l1, l2; SGD at 0.01,
batch 32), limited to `--max-trials 8 --epochs 30`:

1. 3 repeats per trial (`tuner.executions_per_trial: 3`): `fitsweep run` vs a plain KerasTuner
   script with `executions_per_trial=3` (target >= 6x);
2. 1 repeat: `fitsweep run` vs the plain KerasTuner script (target >= 3x);
3. 3 repeats: `fitsweep run` vs `fitsweep run --no-fuse` (each network alone, through the same
   code), and how closely the two agree, execution by execution.

The sweep files are written to a temporary folder: sweeps/moons.yaml with only
`tuner.executions_per_trial` set (its `data` unchanged). The baseline is trials_per_hour.py's
plain KerasTuner script (`keras_tuner.GridSearch` over a build function, `tuner.search` on numpy
arrays of fitsweep's moons splits, the same seed), given `executions_per_trial`. Unlike the other
benchmarks, each side is timed as a whole command, from the start of its process to its exit,
imports included, because that is what the user waits for: `fitsweep run SWEEP --max-trials 8
--epochs 30 --results-dir TMP` (its report and figures included) against `python
benchmarks/fused.py --child baseline ...`. Every command runs in a fresh process, the sides
alternate (A B C ..., then ... C B A), and ratios are taken round by round.

    .venv/bin/python benchmarks/fused.py             # 8 trials x 30 epochs, 2 rounds
    .venv/bin/python benchmarks/fused.py --quick     # 2 trials x 5 epochs, 1 round: a smoke test
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness
import trials_per_hour

SWEEP = _harness.REPO / "sweeps" / "moons.yaml"
REPEATS = 3
# side: (what it runs, executions per trial)
SIDES = {
    "fused3": ("fitsweep run", REPEATS),
    "baseline3": ("plain KerasTuner", REPEATS),
    "unfused3": ("fitsweep run --no-fuse", REPEATS),
    "fused1": ("fitsweep run", 1),
    "baseline1": ("plain KerasTuner", 1),
}


def baseline_side(trials: int, epochs: int, executions: int) -> dict[str, float]:
    """trials_per_hour.py's plain KerasTuner script, with `executions_per_trial`."""
    result = trials_per_hour.baseline_side(trials, epochs, executions)
    return {"seconds_after_imports": result["seconds"], "trials": result["trials"]}


def write_sweep(folder: Path, executions: int) -> Path:
    """sweeps/moons.yaml with `tuner.executions_per_trial` set, nothing else changed."""
    import yaml

    raw = yaml.safe_load(SWEEP.read_text(encoding="utf-8"))
    raw["tuner"]["executions_per_trial"] = executions
    path = folder / f"moons-{executions}-repeats.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def fitsweep_command() -> list[str]:
    """The `fitsweep` console script next to this Python (else `python -m fitsweep`)."""
    script = Path(sys.executable).parent / "fitsweep"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fitsweep"]


def command_for(side: str, trials: int, epochs: int, sweeps: dict[int, Path], results: Path) -> list[str]:
    executions = SIDES[side][1]
    limits = ["--max-trials", str(trials), "--epochs", str(epochs)]
    if side.startswith("baseline"):
        return [sys.executable, __file__, "--child", "baseline", "--executions", str(executions), *limits]
    no_fuse = ["--no-fuse"] if side.startswith("unfused") else []
    return [*fitsweep_command(), "run", str(sweeps[executions]), *limits, *no_fuse, "--results-dir", str(results)]


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run one command to its end: wall seconds, CPU seconds (user + system) and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_harness.child_environment(), timeout=3600)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}):\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def measure(trials: int, epochs: int, rounds: int, folder: Path) -> dict[str, list[dict[str, Any]]]:
    """`rounds` rounds of every side, alternating order; each side's runs with their times."""
    sweeps = {executions: write_sweep(folder, executions) for executions in {e for _, e in SIDES.values()}}
    sides = list(SIDES)
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for round_number in range(rounds):
        order = sides if round_number % 2 == 0 else list(reversed(sides))
        for side in order:
            run_folder = folder / f"round{round_number + 1}-{side}"
            seconds, cpu, stdout = timed(command_for(side, trials, epochs, sweeps, run_folder))
            result: dict[str, Any] = {"seconds": seconds, "cpu_seconds": cpu}
            if side.startswith("baseline"):
                child = json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])
                result.update(child)
            else:
                result["run_dir"] = str(run_folder / "moons")
            results[side].append(result)
            print(f"  round {round_number + 1}/{rounds} {side:>9}: {seconds:.1f} s whole command, "
                  f"{cpu:.1f} CPU s", file=sys.stderr, flush=True)
    return results


def check_runs(results: dict[str, list[dict[str, Any]]], trials: int) -> list[str]:
    """Every side ran every trial (and every fitsweep run every execution): what failed, if anything."""
    import fitsweep

    problems = []
    for side, runs in results.items():
        executions = SIDES[side][1]
        for number, result in enumerate(runs, start=1):
            if side.startswith("baseline"):
                if result["trials"] != trials:
                    problems.append(f"{side} round {number}: {result['trials']} of {trials} trials completed")
                continue
            table = fitsweep.load(result["run_dir"]).trials
            done = int((table["status"] == "completed").sum())
            if done != trials * executions:
                problems.append(f"{side} round {number}: {done} of {trials * executions} executions completed")
    return problems


def kept_epochs(run_dir: str) -> Any:
    """One row per execution: its test accuracy and its kept (best) epoch's validation scores."""
    import fitsweep

    run = fitsweep.load(run_dir)
    trials = run.trials[run.trials["status"] == "completed"]
    trials = trials[["trial_id", "execution", "best_epoch", "test_accuracy"]].astype({"trial_id": str})
    epochs = run.epochs[["trial_id", "execution", "epoch", "val_accuracy", "val_crossentropy"]]
    epochs = epochs.astype({"trial_id": str})
    kept = trials.merge(epochs, left_on=["trial_id", "execution", "best_epoch"],
                        right_on=["trial_id", "execution", "epoch"], how="left", validate="one_to_one")
    return kept.drop(columns="epoch").sort_values(["trial_id", "execution"]).reset_index(drop=True)


def agreement(fused_dir: str, unfused_dir: str) -> list[str]:
    """How closely the fused and the unfused run agree, execution by execution."""
    from scipy.stats import ks_2samp

    fused, unfused = kept_epochs(fused_dir), kept_epochs(unfused_dir)
    both = fused.merge(unfused, on=["trial_id", "execution"], suffixes=("_fused", "_alone"), validate="one_to_one")
    lines = [f"executions compared: {len(both)} (fused {len(fused)}, alone {len(unfused)})"]
    for column in ("test_accuracy", "val_accuracy", "val_crossentropy"):
        gap = (both[f"{column}_fused"] - both[f"{column}_alone"]).abs()
        lines.append(f"max |fused - alone| {column:<16}: {gap.max():.3g} "
                     f"({int((gap > 0).sum())} of {len(gap)} executions differ)")
    same_epoch = int((both["best_epoch_fused"] == both["best_epoch_alone"]).sum())
    lines.append(f"same kept epoch: {same_epoch} of {len(both)} executions")
    test = ks_2samp(both["test_accuracy_fused"], both["test_accuracy_alone"])
    lines.append(f"two-sample KS test on the pooled per-execution test accuracies: statistic {test.statistic:.3g}, "
                 f"p-value {test.pvalue:.3g}")
    return lines


def report(results: dict[str, list[dict[str, Any]]], trials: int, epochs: int) -> None:
    seconds = {side: [r["seconds"] for r in runs] for side, runs in results.items()}
    cpu = {side: [r["cpu_seconds"] for r in runs] for side, runs in results.items()}
    for side, (what, executions) in SIDES.items():
        label = f"{what}, {executions} repeat(s)"
        print(f"   {side:<9} {label:<36}: {_harness.spread(seconds[side])} s whole command "
              f"({trials * 3600 / statistics.median(seconds[side]):,.0f} trials/hour); "
              f"CPU {_harness.spread(cpu[side])} s")
    for side in ("baseline3", "baseline1"):
        after_imports = [r["seconds_after_imports"] for r in results[side]]
        print(f"   {side} after its imports (data to last trial): {_harness.spread(after_imports)} s")
    comparisons = [("3 repeats, fitsweep vs plain KerasTuner", "fused3", "baseline3", ">= 6x"),
                   ("1 repeat,  fitsweep vs plain KerasTuner", "fused1", "baseline1", ">= 3x"),
                   ("3 repeats, fused vs --no-fuse          ", "fused3", "unfused3", None)]
    for title, fast, slow, target in comparisons:
        ratios = _harness.paired_ratios(seconds[slow], seconds[fast])
        cpu_ratios = _harness.paired_ratios(cpu[slow], cpu[fast])
        goal = f"; target {target}" if target else ""
        print(f"   ratio {title}: {statistics.median(ratios):.2f}x "
              f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}{goal}); CPU-time ratio "
              f"{statistics.median(cpu_ratios):.2f}x (per round: {', '.join(f'{r:.2f}' for r in cpu_ratios)})")

    problems = check_runs(results, trials)
    print("   every side completed every trial" if not problems else "   INCOMPLETE RUNS: " + "; ".join(problems))
    print("   agreement of fused and unfused (--no-fuse) training, 3 repeats, execution by execution. Fused members "
          "are designed to train to the same weights as alone up to float rounding, so differences should be at "
          "float-rounding level:")
    for number, (fused, unfused) in enumerate(zip(results["fused3"], results["unfused3"], strict=True), start=1):
        for line in agreement(fused["run_dir"], unfused["run_dir"]):
            print(f"     round {number}: {line}")
    repeat = [kept_epochs(r["run_dir"]) for r in results["fused3"]]
    if len(repeat) > 1:
        gap = max((other["val_crossentropy"] - repeat[0]["val_crossentropy"]).abs().max() for other in repeat[1:])
        print(f"     fused runs of different rounds: max |difference| of kept val_crossentropy {gap:.3g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every side")
    parser.add_argument("--quick", action="store_true", help="2 trials x 5 epochs, 1 round: a smoke test")
    parser.add_argument("--trials", "--max-trials", dest="trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--child", choices=["baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--executions", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "baseline":
        _harness.emit(baseline_side(args.trials, args.epochs, args.executions))
        return
    if args.quick:
        args.trials, args.epochs, args.rounds = 2, 5, 1

    _harness.header(f"fused training, moons seed grid, {args.trials} trials x {args.epochs} epochs, "
                    f"{args.rounds} round(s), whole-command times")
    with tempfile.TemporaryDirectory(prefix="fitsweep-fused-") as folder:
        results = measure(args.trials, args.epochs, args.rounds, Path(folder))
        print(f"   load average after the measurements: {_harness.load_average()}")
        report(results, args.trials, args.epochs)
    _harness.footer()


if __name__ == "__main__":
    main()
