"""How close a fused epoch comes to the arithmetic rate of its own matmuls.

One fused group of the moons study (sweeps/moons.yaml): its 32 networks (25-50-50-25, 8, 64-64
and 256-256-256, each with and without dropout, L1 and L2; SGD at 0.01, batch 32), trained
together through `fitsweep.training.train_executions` on the study's splits (720 training rows,
720 measured, 180 validation). An epoch's arithmetic is counted as 6 x parameters x training
rows (forward and backward) plus 2 x parameters x (measured + validation rows) (the inference
passes that measure it); an epoch's time is the wall time between the ends of two consecutive
epochs (the first, which traces, is left out), so it includes measurement and everything else
an epoch does.

The reference is TensorFlow's batched matmul of the group's largest shapes, (8, 32, 256) x (8,
256, 256), measured in the same process after every epoch (outside the epoch's time): a traced
loop of 100 chained products (each by an orthogonal matrix, so values neither vanish nor
overflow). The ratio of each epoch's rate to the matmul rate measured right after it is what
counts: the cores are shared, and a neighbour's load moves both alike.

With `--patience N` it measures instead what members that stop cost: the same group at a
learning rate of 0.1 (at 0.01 few of its members stop early) trained with early stopping
(patience N), once as fitsweep trains it (members that stopped leave the
model when that pays for its rebuild) and once keeping every member in the model to the end,
alternating; it prints each side's training time and the members the model held.

    .venv/bin/python benchmarks/arithmetic.py               # 3 rounds of 20 epochs
    .venv/bin/python benchmarks/arithmetic.py --rounds 1 --epochs 6
    .venv/bin/python benchmarks/arithmetic.py --patience 5 --epochs 100
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from typing import Any

import _harness

SWEEP = _harness.REPO / "sweeps" / "moons.yaml"
LAYERS = ["25-50-50-25", "8", "64-64", "256-256-256"]
MATMUL = (8, 32, 256, 256)  # members, rows, inputs, units: the 256-256-256 stack's hidden layers
STOPPING_LEARNING_RATE = 0.1  # at the study's 0.01 its members rarely stop within 100 epochs


class MatmulRate:
    """GFLOP/s of TensorFlow's batched matmul (members, rows, inputs) x (members, inputs, units), now."""

    def __init__(self, products: int = 100) -> None:
        import tensorflow as tf

        members, rows, inputs, units = MATMUL
        generator = tf.random.Generator.from_seed(0)
        orthogonal, _ = tf.linalg.qr(generator.normal((members, inputs, units)))
        self.start = generator.normal((members, rows, inputs))
        self.flops = 2 * members * rows * inputs * units * products

        @tf.function
        def chained(hidden: Any) -> Any:
            for _ in tf.range(products):
                hidden = tf.matmul(hidden, orthogonal)
            return hidden

        self.chained = chained
        chained(self.start).numpy()  # traced

    def __call__(self) -> float:
        started = time.perf_counter()
        self.chained(self.start).numpy()
        return self.flops / (time.perf_counter() - started) / 1e9


def moons_group(learning_rate: float = 0.01) -> tuple[Any, Any, list[Any]]:
    """The moons study's spec, splits and one fused group of its 32 networks."""
    _harness.quiet_tensorflow()
    import yaml

    from fitsweep import parse_spec
    from fitsweep.data import prepare_data
    from fitsweep.training import Member

    spec = parse_spec(yaml.safe_load(SWEEP.read_text(encoding="utf-8")))
    splits = prepare_data(spec.data, _harness.REPO)
    members = [Member(str(trial), 0, {"layers": layers, "activation": "relu", "dropout": dropout, "l1": l1, "l2": l2,
                                      "optimizer": "sgd", "learning_rate": learning_rate, "batch_size": 32},
                      seed=trial)
               for trial, (layers, dropout, l1, l2) in
               enumerate(itertools.product(LAYERS, [0.0, 0.3], [0.0, 1e-3], [0.0, 1e-3]))]
    return spec, splits, members


def fused_side(epochs: int) -> dict[str, Any]:
    """Train the moons group for `epochs`, measuring the matmul rate after each epoch, outside its time."""
    from fitsweep.families import family_for
    from fitsweep.families.dense.network import parameter_count
    from fitsweep.training import Member, train_executions

    spec, splits, members = moons_group()
    params = sum(parameter_count(member.values, splits.n_features, family_for(spec).head(splits))
                 for member in members)
    flops = 6 * params * len(splits.y_train) + 2 * params * (len(splits.y_train_measured) + len(splits.y_val))
    matmul = MatmulRate()
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    rates: list[float] = []
    told: list[int] = []
    resumed = [time.perf_counter(), time.process_time()]

    def note(member: Member, epoch: int, record: dict[str, float], seconds_: float) -> None:
        told.append(epoch)
        if told.count(epoch) == len(members):  # the epoch's last record: every member trains to the end
            seconds.append(time.perf_counter() - resumed[0])
            cpu_seconds.append(time.process_time() - resumed[1])
            rates.append(matmul())
            resumed[:] = [time.perf_counter(), time.process_time()]

    train_executions(members, splits, family_for(spec), epochs=epochs, on_epoch=note)
    fused = [flops / epoch / 1e9 for epoch in seconds[1:]]  # the first epoch traces
    ratios = [rate / reference for rate, reference in zip(fused, rates[1:], strict=True)]
    return {"epoch_seconds": statistics.median(seconds[1:]), "fused_gflops": statistics.median(fused),
            "matmul_gflops": statistics.median(rates[1:]), "ratio": statistics.median(ratios),
            "gflop_per_epoch": flops / 1e9, "params": params, "all_epoch_seconds": seconds,
            "epoch_cpu_seconds": statistics.median(cpu_seconds[1:])}


def stopping_side(epochs: int, patience: int, shed: bool) -> dict[str, Any]:
    """Train the moons group with early stopping, members that stop shed or kept: seconds, model sizes."""
    from fitsweep.families import family_for
    from fitsweep.families.dense import _fused
    from fitsweep.training._models import fresh_session

    spec, splits, members = moons_group(STOPPING_LEARNING_RATE)
    sizes: list[int] = []
    trained = [0]
    shedding = _fused.Shedding(on_rebuild=sizes.append) if shed else _fused.Shedding(interval=10**9)
    fresh_session(0)
    started = time.perf_counter()
    _fused.train(members, splits, family_for(spec).head(splits), epochs=epochs, patience=patience, shedding=shedding,
                 on_epoch=lambda *told: trained.__setitem__(0, trained[0] + 1))
    return {"seconds": time.perf_counter() - started, "member_epochs": trained[0], "sizes": sizes}


def stopping(args: argparse.Namespace) -> None:
    _harness.header(f"members that stop, moons group of 32, patience {args.patience}, {args.epochs} epochs, "
                    f"{args.rounds} round(s)")
    runs = _harness.alternate(__file__, ["shed", "keep"], args.rounds,
                              extra=lambda side: ["--epochs", str(args.epochs), "--patience", str(args.patience)])
    for side, what in (("shed", "stopped members leave the model"), ("keep", "every member kept to the end")):
        print(f"   {what}: {_harness.spread([r['seconds'] for r in runs[side]])} s "
              f"({runs[side][0]['member_epochs']} member-epochs recorded)")
    print(f"   members the model held after each rebuild: {runs['shed'][0]['sizes']}")
    ratios = _harness.paired_ratios([r["seconds"] for r in runs["keep"]], [r["seconds"] for r in runs["shed"]])
    print(f"   kept / shed time: {statistics.median(ratios):.2f}x (per round: {', '.join(f'{r:.2f}' for r in ratios)})")
    _harness.footer()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, help="measure members that stop early instead")
    parser.add_argument("--child", choices=["fused", "shed", "keep"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "fused":
        _harness.emit(fused_side(args.epochs))
        return
    if args.child:
        _harness.emit(stopping_side(args.epochs, args.patience, shed=args.child == "shed"))
        return
    if args.patience is not None:
        stopping(args)
        return
    _harness.header(f"fused epoch arithmetic, moons group of 32, {args.epochs} epochs, {args.rounds} round(s)")
    runs = _harness.alternate(__file__, ["fused"], args.rounds, extra=lambda side: ["--epochs", str(args.epochs)])
    results = runs["fused"]
    ratios = [result["ratio"] for result in results]
    print(f"   arithmetic per epoch: {results[0]['gflop_per_epoch']:.2f} GFLOP ({results[0]['params']:,} parameters)")
    print(f"   fused epoch: {_harness.spread([r['epoch_seconds'] * 1000 for r in results])} ms, "
          f"{_harness.spread([r['fused_gflops'] for r in results])} GFLOP/s")
    print(f"   batched matmul {MATMUL[:3]} x {(MATMUL[0], *MATMUL[2:])}: "
          f"{_harness.spread([r['matmul_gflops'] for r in results])} GFLOP/s")
    print(f"   ratio fused / matmul, epoch by epoch: {statistics.median(ratios):.2f} "
          f"(per round, median of its epochs: {', '.join(f'{ratio:.2f}' for ratio in ratios)}; target >= 0.5)")
    _harness.footer()


if __name__ == "__main__":
    sys.exit(main())
