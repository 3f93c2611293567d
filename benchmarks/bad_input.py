"""Resource bombs: the time and memory fitsweep takes to refuse them, against their budgets.

The bad-input tests check that each bomb is refused (one line, exit 2, nothing written); how fast
and in how little memory is measured here, where a loaded machine cannot fail a test. Each case
runs `fitsweep validate` in a fresh process, which reports the seconds and the growth of its peak
resident memory that the command took after its imports:

- every case of tests/corpus/manifest.yaml that carries a `budget`;
- a CSV file whose header names ten million columns (109 MB), the case that once took pandas
  minutes and tens of GB: refused from its header row alone.

    .venv/bin/python benchmarks/bad_input.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _harness import REPO, child_environment

CORPUS = REPO / "tests" / "corpus"
MEASURED = "measured: "
# Runs the CLI's entry point and prints, last, the seconds and peak-RSS growth of the command alone
# (the modules that read sweep files and data are imported before the clock starts).
MEASURED_MAIN = f"""
import json, resource, sys, time
from fitsweep import cli, data, spec
baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
sys.argv = ["fitsweep", *sys.argv[1:]]
try:
    cli.main()
    code = 0
except SystemExit as exited:
    code = exited.code
seconds = time.perf_counter() - started
growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_kb) / 1024
sys.stdout.flush()
print({MEASURED!r} + json.dumps({{"seconds": seconds, "peak_rss_growth_mb": growth_mb, "code": code}}))
"""
TEN_MILLION_COLUMNS_BUDGET = {"seconds": 1.0, "peak_rss_growth_mb": 50}


def measure(sweep: Path) -> dict[str, Any]:
    """`fitsweep validate SWEEP` in a fresh process: its exit code, last error line, seconds and memory growth."""
    done = subprocess.run([sys.executable, "-c", MEASURED_MAIN, "validate", str(sweep)], capture_output=True,
                          text=True, env=child_environment(), cwd=sweep.parent, timeout=3600)
    measured = json.loads(done.stdout.rpartition(MEASURED)[2])
    errors = [line for line in done.stderr.splitlines() if line.startswith("fitsweep: error: ")]
    return {**measured, "message": errors[-1] if errors else ""}


def ten_million_columns(folder: Path) -> Path:
    """A sweep file naming a CSV file whose header row names ten million columns (and one row)."""
    with open(folder / "wide.csv", "w", encoding="utf-8") as file:
        file.write(",".join(f"c{i}" for i in range(10_000_000)) + ",target\n")
        file.write("1," * 10_000_000 + "0\n")
    sweep = folder / "wide.yaml"
    sweep.write_text("name: wide\ndata: {source: csv, path: wide.csv}\n", encoding="utf-8")
    return sweep


def report(name: str, budget: dict[str, float], result: dict[str, Any]) -> bool:
    met = result["code"] == 2 and all(result[key] < allowed for key, allowed in budget.items())
    print(f"{name}: exit {result['code']}, {result['seconds']:.3f} s, peak RSS +{result['peak_rss_growth_mb']:.0f} MB "
          f"(budget {budget['seconds']:g} s, {budget['peak_rss_growth_mb']:g} MB): {'met' if met else 'NOT MET'}")
    print(f"  {result['message'][:200]}")
    return met


def main() -> None:
    manifest = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
    cases = [case for kind in ("sweeps", "data") for case in manifest[kind] if "budget" in case]
    met = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for case in cases:
            sweep = folder / Path(case["file"]).name
            shutil.copyfile(CORPUS / case["file"], sweep)
            met.append(report(case["file"], case["budget"], measure(sweep)))
        met.append(report("ten million CSV columns", TEN_MILLION_COLUMNS_BUDGET, measure(ten_million_columns(folder))))
    sys.exit(0 if all(met) else 1)


if __name__ == "__main__":
    main()
