"""TensorFlow's threads for a process that trains: each op on one thread, independent ops side by side.

fitsweep's steps are many small ops (a fused step's batched matmuls of (members, 32, 256) x
(members, 256, 256), its dropout draws, penalties and updates). TensorFlow's default splits each
op over every core as well (intra-op threads), and for ops this small the split costs more CPU
than it saves: the threads hand work over and spin waiting. With each op on one thread, the
independent ops of a step (a layer's two backward matmuls, the stacks of a fused model, the
dropout draws) still run side by side on the inter-op threads, one per core. On 2 cores the
moons study took 15-20% less CPU and a fused epoch about a tenth less wall time, with every
result bit for bit the same (benchmarks/README.md, 2026-12-05).
"""

from __future__ import annotations

__all__ = ["one_thread_per_op"]


def one_thread_per_op() -> bool:
    """Run each TensorFlow op of this process on one thread; independent ops keep TensorFlow's inter-op threads.

    Call it before TensorFlow runs its first op. Returns False, changing nothing, when TensorFlow
    is running already (its thread pools are fixed once started; a notebook's usually are).

    Example:
        >>> one_thread_per_op()  # doctest: +SKIP
        True
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started its thread pools in this process
        return False
    return True
