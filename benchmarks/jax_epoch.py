"""Whether JAX (XLA) trains the moons study's fused group faster than TensorFlow on this CPU.

Three sides, each a fresh process, alternating round by round:

- `jax`: the group's epoch written in JAX (`_jax_epoch`: one jitted call, `lax.scan` over the
  batches, then the inference-mode measurement), under this script's interpreter (the JAX
  virtual environment);
- `tf`: the same step written in plain TensorFlow as fitsweep's trainer runs it (`_tf_epoch`),
  under `--tf-python` (the project's virtual environment);
- `fitsweep`: fitsweep's own fused trainer on the study's group (`arithmetic.fused_side`), under
  `--tf-python`.

Both written sides start from the same numpy-seeded weights and step through the same rows with
the same dropout masks (`_moons_group`), so their losses must agree to float32 rounding; the
script prints the largest difference. Each side measures its library's batched matmul of the
group's largest shapes, (8, 32, 256) x (8, 256, 256), after every epoch (chained products, outside
the epoch's time) and once independently at the end (100 products that do not depend on each
other). An epoch is counted as 6 x parameters x training rows + 2 x parameters x (measured +
validation rows), 6.97 GFLOP; the first epoch, which traces or compiles, is reported apart.

    python3.11 -m venv /work/jaxvenv && /work/jaxvenv/bin/pip install "jax[cpu]" keras numpy
    /work/jaxvenv/bin/python benchmarks/jax_epoch.py --tf-python .venv/bin/python   # 3 rounds of 12 epochs
    /work/jaxvenv/bin/python benchmarks/jax_epoch.py --rounds 1 --epochs 4
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from typing import Any

import _harness
import _moons_group as group

SIDES = ["jax", "keras-ops", "tf", "fitsweep"]
NAMES = {"jax": "JAX (jax.numpy, jit, lax.scan)", "keras-ops": "JAX through keras.ops", "tf": "TensorFlow, same step",
         "fitsweep": "fitsweep's fused trainer"}
STUDY_GROUP_EPOCHS = 3 * 200  # the moons study: 96 executions in 3 groups of 32, 200 epochs each


def child(side: str, epochs: int) -> dict[str, Any]:
    if side in ("jax", "keras-ops"):
        import _jax_epoch

        return _jax_epoch.side(epochs, keras_ops=side == "keras-ops")
    if side == "tf":
        import _tf_epoch

        return _tf_epoch.side(epochs)
    import arithmetic

    result = arithmetic.fused_side(epochs)
    return {"epoch_seconds": result["epoch_seconds"], "first_epoch_seconds": result["all_epoch_seconds"][0],
            "gflops": result["fused_gflops"], "matmul_chained_gflops": result["matmul_gflops"],
            "ratio": result["ratio"], "params": result["params"], "epoch_cpu_seconds": result["epoch_cpu_seconds"]}


def agreement(jax_runs: list[dict[str, Any]], tf_runs: list[dict[str, Any]]) -> str:
    """The largest relative difference of every member's losses, a JAX side against the TensorFlow reference."""
    worst: dict[str, float] = {}
    for jax_run, tf_run in zip(jax_runs, tf_runs, strict=True):
        for key in ("running_loss", "val_loss"):
            for jax_epoch, tf_epoch in zip(jax_run[key], tf_run[key], strict=True):
                for ours, theirs in zip(jax_epoch, tf_epoch, strict=True):
                    difference = abs(ours - theirs) / max(abs(theirs), 1e-6)
                    worst[key] = max(worst.get(key, 0.0), difference)
    first, last = tf_runs[0]["val_loss"][0], tf_runs[0]["val_loss"][-1]
    return (f"largest relative difference over {len(jax_runs)} run(s) x {len(tf_runs[0]['val_loss'])} epochs "
            f"x {len(first)} members: running loss {worst['running_loss']:.2g}, validation loss "
            f"{worst['val_loss']:.2g} (validation losses went from {min(first):.3f}-{max(first):.3f} "
            f"to {min(last):.3f}-{max(last):.3f})")


def report(runs: dict[str, list[dict[str, Any]]]) -> None:
    gflop = group.gflop_per_epoch()
    print(f"   versions: {runs['jax'][0]['versions']} (this interpreter); {runs['tf'][0]['versions']} (--tf-python)")
    print(f"   arithmetic per epoch: {gflop:.2f} GFLOP ({group.parameter_count():,} parameters; "
          f"fitsweep counts {runs['fitsweep'][0]['params']:,})")
    for side in ("jax", "tf"):
        print(f"   batched matmul {group.MATMUL[:3]} x {(group.MATMUL[0], *group.MATMUL[2:])}, {side}: chained "
              f"{_harness.spread([r['matmul_chained_gflops'] for r in runs[side]])} GFLOP/s, independent "
              f"{_harness.spread([r['matmul_independent_gflops'] for r in runs[side]])}")
    for side in SIDES:
        results = runs[side]
        cpu = f", CPU {_harness.spread([r['epoch_cpu_seconds'] * 1000 for r in results])} ms"
        print(f"   epoch, {NAMES[side]}: {_harness.spread([r['epoch_seconds'] * 1000 for r in results])} ms{cpu}, "
              f"{_harness.spread([r['gflops'] for r in results])} GFLOP/s, {_spread_ratio(results)} of its own "
              f"chained matmul; first epoch (tracing or compiling) "
              f"{_harness.spread([r['first_epoch_seconds'] for r in results])} s")
    _ratio("fitsweep epoch / JAX epoch, by round", runs["fitsweep"], runs["jax"], "epoch_seconds")
    _ratio("TensorFlow same-step epoch / JAX epoch, by round", runs["tf"], runs["jax"], "epoch_seconds")
    _ratio("keras.ops epoch / jax.numpy epoch, by round", runs["keras-ops"], runs["jax"], "epoch_seconds")
    _ratio("in CPU time: fitsweep epoch / JAX epoch, by round", runs["fitsweep"], runs["jax"], "epoch_cpu_seconds")
    _ratio("in CPU time: TensorFlow same-step epoch / JAX epoch, by round", runs["tf"], runs["jax"],
           "epoch_cpu_seconds")
    _ratio("JAX epoch GFLOP/s / TensorFlow chained matmul GFLOP/s, by round", runs["jax"], runs["tf"],
           "gflops", "matmul_chained_gflops")
    _ratio("JAX chained matmul / TensorFlow chained matmul, by round", runs["jax"], runs["tf"],
           "matmul_chained_gflops")
    for side in ("jax", "keras-ops"):
        print(f"   agreement, {NAMES[side]} against the TensorFlow reference: {agreement(runs[side], runs['tf'])}")
    study = STUDY_GROUP_EPOCHS * gflop
    print(f"   moons study ({STUDY_GROUP_EPOCHS} group-epochs, {study:,.0f} GFLOP): "
          + "; ".join(f"{name} {study / statistics.median(r[key] for r in runs[side]):.0f} s"
                      for name, side, key in (("at TF's chained matmul rate", "tf", "matmul_chained_gflops"),
                                              ("at JAX's", "jax", "matmul_chained_gflops"),
                                              ("at fitsweep's epoch rate", "fitsweep", "gflops"),
                                              ("at the JAX epoch's", "jax", "gflops"))))


def _spread_ratio(results: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['ratio']:.2f}" for r in results)


def _ratio(title: str, numerators: list[dict[str, Any]], denominators: list[dict[str, Any]], key: str,
           denominator_key: str | None = None) -> None:
    ratios = _harness.paired_ratios([r[key] for r in numerators], [r[denominator_key or key] for r in denominators])
    print(f"   {title}: {statistics.median(ratios):.2f}x ({', '.join(f'{ratio:.2f}' for ratio in ratios)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--tf-python", default=str(_harness.REPO / ".venv" / "bin" / "python"),
                        help="the interpreter with TensorFlow and fitsweep (the project's virtual environment)")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _harness.emit(child(args.child, args.epochs))
        return 0
    if importlib.util.find_spec("jax") is None:
        print('jax is not importable here: run this script with a virtual environment that has it, e.g. '
              '`python3.11 -m venv /tmp/jaxvenv && /tmp/jaxvenv/bin/pip install "jax[cpu]" keras numpy`')
        return 0
    _harness.header(f"JAX against TensorFlow, moons fused group of {group.n_members()}, {args.epochs} epochs, "
                    f"{args.rounds} round(s)", packages=("jax", "jaxlib", "keras", "numpy"))
    runs = _harness.alternate(__file__, SIDES, args.rounds, extra=lambda side: ["--epochs", str(args.epochs)],
                              python=lambda side: sys.executable if side in ("jax", "keras-ops") else args.tf_python)
    report(runs)
    _harness.footer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
