"""Analysis and report at scale: `fitsweep report`, `diagnose`, `compare` and `fitsweep.load` on 10,000 trials.

Targets: on a run of 10,000 trials, `fitsweep report RUN_DIR` under 30 s and `fitsweep.load` under
2 s, each the whole command in a fresh process (interpreter start and imports included); a run of
1,000 trials, measured in the same rounds, is the baseline of the ratios. The run folders are
synthetic: `tests/synthetic_curves.write_synthetic_run` draws a moons-like sweep (layers, dropout,
l1, l2, learning rate, batch size; good, overfit and underfit curves of 20-50 epochs, about 0.5%
diverged) and writes it with fitsweep's own writers, verdicts included, as `fitsweep run` does.

Each round times, per size, every whole command as its own process, then one child that imports
fitsweep first and times the narrower in-process figures (`load`, `diagnose`, `compare`,
each report section, the rendering and writing of the report), and counts what the report shows.
Sizes alternate (1,000 then 10,000, then the other way round) so that drift hits both alike.

    .venv/bin/python benchmarks/analysis_scale.py                 # 2 rounds, 1,000 and 10,000 trials
    .venv/bin/python benchmarks/analysis_scale.py --rounds 3 --executions 3 --keep /tmp/scale
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness

SIZES = (1_000, 10_000)
COMMANDS = ("load", "diagnose", "compare", "report")
TARGETS = {"report": 30.0, "load": 2.0}  # seconds, whole command, at 10,000 trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--executions", type=int, default=2, help="executions per trial (1-3)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--keep", type=Path, help="build (or reuse) the run folders here instead of a temporary one")
    parser.add_argument("run_dir", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "inprocess":
        _inprocess(Path(args.run_dir))
        return
    if args.child == "build":
        _build(Path(args.run_dir), int(args.sizes[0]), args.executions)
        return
    _harness.header(f"analysis at scale: {', '.join(f'{n:,}' for n in args.sizes)} trials x {args.executions} "
                    f"executions, {args.rounds} round(s)")
    with tempfile.TemporaryDirectory(prefix="fitsweep-scale-") as scratch:
        root = args.keep or Path(scratch)
        folders = {size: _folder(root, size, args.executions) for size in args.sizes}
        results = _measure(folders, args.rounds)
    _summary(results, args.sizes, folders)
    _harness.footer()


def _folder(root: Path, size: int, executions: int) -> Path:
    folder = root / f"synthetic-{size}x{executions}"
    if not (folder / "epochs.parquet").exists():
        started = time.perf_counter()
        _run([sys.executable, __file__, "--child", "build", "--sizes", str(size), "--executions", str(executions),
              str(folder)])
        print(f"   built {folder} in {time.perf_counter() - started:.0f} s", flush=True)
    epochs = (folder / "epochs.parquet").stat().st_size / 2**20
    trials = (folder / "trials.parquet").stat().st_size / 2**20
    print(f"   {folder.name}: epochs.parquet {epochs:.1f} MiB, trials.parquet {trials:.1f} MiB", flush=True)
    return folder


def _build(folder: Path, size: int, executions: int) -> None:
    sys.path.insert(0, str(_harness.REPO / "tests"))
    from synthetic_curves import write_synthetic_run

    write_synthetic_run(folder, size, executions=executions)


def _run(command: list[str], timeout: float = 900) -> float:
    """Wall seconds of one command in a fresh process; its failure is the benchmark's."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_harness.child_environment(), timeout=timeout)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def _command(name: str, folder: Path) -> list[str]:
    if name == "load":
        return [sys.executable, "-c", f"import fitsweep; fitsweep.load({str(folder)!r})"]
    return [sys.executable, "-m", "fitsweep", name, str(folder)]


def _measure(folders: dict[int, Path], rounds: int) -> dict[int, dict[str, list[Any]]]:
    results: dict[int, dict[str, list[Any]]] = {size: {} for size in folders}
    for round_number in range(rounds):
        sizes = list(folders) if round_number % 2 == 0 else list(reversed(folders))
        for size in sizes:
            for name in COMMANDS:
                seconds = _run(_command(name, folders[size]))
                results[size].setdefault(name, []).append(seconds)
                print(f"  round {round_number + 1}/{rounds} {size:>6,} trials: fitsweep {name} {seconds:.2f} s",
                      file=sys.stderr, flush=True)
            inside = _harness.run_child(__file__, "inprocess", [str(folders[size])])
            for key, value in inside.items():
                results[size].setdefault(key, []).append(value)
            print(f"  round {round_number + 1}/{rounds} {size:>6,} trials: in process {_harness._short(inside)}",
                  file=sys.stderr, flush=True)
    return results


def _inprocess(folder: Path) -> None:
    """The narrower figures: each step timed after its imports, each report section alone, what the report shows."""
    import fitsweep
    from fitsweep.analysis import compare, diagnose
    from fitsweep.report.content import Report
    from fitsweep.report.context import Context
    from fitsweep.report.findings import headline
    from fitsweep.report.page import _guarded, _write
    from fitsweep.report.sections import SECTIONS
    from fitsweep.results import RunPaths

    _harness.quiet_tensorflow()  # `fitsweep report` imports TensorFlow too; its import is not the report's time
    import fitsweep.space  # the overview section imports KerasTuner: left out of its time

    timings: dict[str, Any] = {}

    def timed(name: str, work: Any) -> Any:
        started = time.perf_counter()
        value = work()
        timings[f"{name}_s"] = round(time.perf_counter() - started, 3)
        return value

    run = timed("load", lambda: fitsweep.load(folder))
    timed("diagnose", lambda: diagnose(run.epochs, run.trials, chance_loss=run.info.get("chance_loss")))
    timed("compare", lambda: compare(run.trials))
    started = time.perf_counter()
    context = Context(run, None, None, False)
    _ = context.diagnosis
    sections, seconds = [], {}
    for spec in SECTIONS:
        began = time.perf_counter()
        section = _guarded(spec, context)
        if section is not None:  # a section with nothing to show is left out of the report
            sections.append(section)
        seconds[spec.key] = round(time.perf_counter() - began, 2)
    lines = headline(run, context.diagnosis)
    timings["build_report_s"] = round(time.perf_counter() - started, 3)
    report = Report(run.spec.name, "", lines, sections, "")
    timed("write_report", lambda: _write(RunPaths(run.path), report))
    html = (folder / "report.html").read_text(encoding="utf-8")
    timings.update({
        "trials": int(run.trials["trial_id"].nunique()), "executions": len(run.trials), "epoch_rows": len(run.epochs),
        "images": len(re.findall(r"<img ", html)), "table_rows": len(re.findall(r"<tr", html)),
        "html_mib": round(len(html.encode()) / 2**20, 2),
        "slowest_sections": dict(sorted(seconds.items(), key=lambda item: -item[1])[:6]),
    })
    _harness.emit(timings)


def _summary(results: dict[int, dict[str, list[Any]]], sizes: list[int], folders: dict[int, Path]) -> None:
    base, top = min(sizes), max(sizes)
    print(f"\n   whole commands in a fresh process (seconds, median with min-max), {base:,} and {top:,} trials:")
    for name in COMMANDS:
        low, high = results[base][name], results[top][name]
        ratio = statistics.median(high) / statistics.median(low)
        target = TARGETS.get(name)
        verdict = (f"; target < {target:g} s: {'met' if statistics.median(high) < target else 'MISSED'}"
                   if target is not None else "")
        print(f"   fitsweep {name:<8} {_harness.spread(low):>34} | {_harness.spread(high):>34} | "
              f"ratio {ratio:.2f}{verdict}")
    print("\n   in process, after imports (seconds):")
    for key in ("load_s", "diagnose_s", "compare_s", "build_report_s", "write_report_s"):
        low, high = results[base][key], results[top][key]
        print(f"   {key[:-2]:<13} {_harness.spread(low):>34} | {_harness.spread(high):>34} | "
              f"ratio {statistics.median(high) / statistics.median(low):.2f}")
    for size in sizes:
        shown = {key: results[size][key][-1] for key in ("trials", "executions", "epoch_rows", "images",
                                                          "table_rows", "html_mib")}
        print(f"   report of {size:,} trials: {json.dumps(shown)}; slowest sections "
              f"{json.dumps(results[size]['slowest_sections'][-1])}")


if __name__ == "__main__":
    main()
