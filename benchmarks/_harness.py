"""What every benchmark shares: one child process per measurement, alternating sides, a summary.

Each benchmark script runs as the parent (`python benchmarks/<name>.py`): it starts one child
process per measurement (`--child SIDE`), alternating fitsweep and its plain-KerasTuner baseline
(A B A B ...) so slow drift in the machine's load hits both sides alike, and reads each child's
result from the last line of its stdout (JSON). Import time is never measured: a child starts
its clock after TensorFlow and Keras are loaded.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def child_environment() -> dict[str, str]:
    """The environment of a child: TensorFlow quiet, the repository's sources importable."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
    return env


def run_child(script: str, side: str, extra: Sequence[str] = (), timeout: float = 900,
              python: str = sys.executable) -> dict[str, Any]:
    """Run `script --child side extra...` under `python` and return the JSON its last stdout line holds."""
    command = [python, script, "--child", side, *extra]
    done = subprocess.run(command, capture_output=True, text=True, env=child_environment(), timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-20:])
        raise RuntimeError(f"{side} child failed (exit {done.returncode}):\n{tail}")
    return json.loads(lines[-1])


def emit(result: dict[str, Any]) -> None:
    """A child's result, as the last line of its stdout."""
    print(json.dumps(result), flush=True)


def alternate(
    script: str, sides: Sequence[str], repeats: int, extra: Callable[[str], Sequence[str]] = lambda side: (),
    progress: bool = True, python: Callable[[str], str] = lambda side: sys.executable,
) -> dict[str, list[dict[str, Any]]]:
    """`repeats` rounds of one child per side, in turn, each under `python(side)`; results grouped by side."""
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for round_number in range(repeats):
        order = sides if round_number % 2 == 0 else list(reversed(sides))
        for side in order:
            started = time.perf_counter()
            result = run_child(script, side, extra(side), python=python(side))
            results[side].append(result)
            if progress:
                print(f"  round {round_number + 1}/{repeats} {side:>9}: {_short(result)} "
                      f"({time.perf_counter() - started:.0f} s with start-up)", file=sys.stderr, flush=True)
    return results


def _short(result: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()
                     if not isinstance(v, (list, dict)))


def spread(values: Sequence[float]) -> str:
    """Median with min-max, as text."""
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.median(values):.4g} (min {min(values):.4g}, max {max(values):.4g}, n={len(values)})"


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Round by round ratios (round i of one side over round i of the other)."""
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.2f} {five:.2f} {fifteen:.2f}"
    except OSError:
        return "n/a"


def machine(packages: Sequence[str] = ("tensorflow", "keras", "keras-tuner")) -> dict[str, str]:
    """The machine and date, and the versions of `packages` here, for the benchmark README."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in packages:
        try:
            from importlib import metadata

            versions[package] = metadata.version(package)
        except Exception:  # noqa: BLE001 - a benchmark header must not fail
            versions[package] = "?"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def header(title: str, packages: Sequence[str] = ("tensorflow", "keras", "keras-tuner")) -> None:
    info = machine(packages)
    print(f"== {title}")
    print(f"   {info['date']}; {info['cpu']}; Python {info['python']}; {info['versions']}")
    print(f"   load average before: {load_average()}")


def footer() -> None:
    print(f"   load average after: {load_average()} (other processes share these cores: read ratios, "
          "not absolute figures)")


def quiet_tensorflow() -> None:
    """Import TensorFlow and Keras with their start-up chatter silenced (in a child)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    import absl.logging

    absl.logging.set_verbosity("error")
