"""A worker: runs trials for a chief until its oracle has none left (or its share is done)."""

from __future__ import annotations

import _thread
import argparse
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fitsweep.data import prepare_data
from fitsweep.errors import FitsweepError, RunFailedError
from fitsweep.families import family_for
from fitsweep.kerastuner import chief_answers
from fitsweep.results import TUNER_PROJECT
from fitsweep.search.engine import NullObserver, SweepObserver, SweepTuner, build_oracle
from fitsweep.search.parallel._network import address, split_address
from fitsweep.search.runner import run_dir_for
from fitsweep.spec import SweepSpec, load_spec

# A local worker's exit code when it stops to be replaced (EX_TEMPFAIL).
RECYCLE_EXIT_CODE = 75
# How long a worker waits for its chief to answer before giving up (it may start before the chief).
CHIEF_WAIT_SECONDS = 60.0
# Once working, a worker asks its chief every HEARTBEAT_SECONDS whether it still answers, and stops
# when it has not for CHIEF_LOST_SECONDS: a dead chief is noticed within LOST + HEARTBEAT + the
# call's own timeout (35 s), and the worker is gone STOP_GRACE_SECONDS later at most (KerasTuner's
# own client would wait an hour on each call).
HEARTBEAT_SECONDS = 5.0
CHIEF_LOST_SECONDS = 25.0
STOP_GRACE_SECONDS = 5.0


def run_worker(
    spec: SweepSpec,
    chief: str,
    *,
    results_dir: str | Path = "runs",
    data_dir: str | Path = ".",
    tuner_id: str | None = None,
    threads: int | None = None,
    observer: SweepObserver | None = None,
    trials_per_process: int | None = None,
) -> bool:
    """Run trials for a chief until its oracle has none left.

    The worker trains with its own copy of the data (from `spec`, read relative to `data_dir`),
    reports every epoch to the chief and saves each trial's model under
    `<results_dir>/<spec.name>/tuner/`, which should be the chief's folder (shared) for the best
    model to be kept. When the chief's resolved sweep (`sweep.yaml`) is there, the worker checks
    that its own sweep trains the same way.

    Args:
        spec: The sweep, as the chief runs it (same file and overrides).
        chief: The chief's "host:port".
        results_dir: Parent folder of the run, shared with the chief.
        data_dir: Folder that relative data paths resolve against.
        tuner_id: This worker's KerasTuner id, unique among the chief's workers (default:
            "tuner-<host>-<pid>").
        threads: TensorFlow intra- and inter-op threads (default: TensorFlow's own choice).
        observer: Told about this worker's trials and epochs.
        trials_per_process: Stop after this many trials, for the chief to start a fresh process.

    Returns:
        True when the chief has no trials left; False after `trials_per_process` trials.

    Raises:
        FitsweepError: No chief answers at `chief` within CHIEF_WAIT_SECONDS (KerasTuner's own
            client would wait an hour), or the chief runs another sweep.
        RunFailedError: The chief stopped answering for CHIEF_LOST_SECONDS (killed, or its
            machine or network gone); the trial this worker was running runs again on resume.

    Example:
        >>> run_worker(load_spec("sweeps/moons.yaml"), "10.0.0.5:8470")  # doctest: +SKIP
    """
    host, port = split_address(chief)
    tuner_id = tuner_id or f"tuner-{_hostname()}-{os.getpid()}"
    if "chief" in tuner_id:
        raise FitsweepError(f"tuner id '{tuner_id}': KerasTuner takes any id containing 'chief' for the chief")
    run_dir = run_dir_for(spec, results_dir)
    splits = prepare_data(spec.data, data_dir)
    spec = spec.for_task(splits.task.kind)  # as the chief recorded it
    _check_same_sweep(spec, run_dir)
    _wait_for_chief(host, port)
    if threads:
        _limit_threads(threads)
    family_for(spec).check_data(splits)
    with _ChiefWatch(host, port) as watch, _kerastuner_environment(tuner_id, host, port):
        try:
            tuner = _WorkerTuner(spec, splits, build_oracle(spec), observer=observer or NullObserver(),
                                 directory=str(run_dir), project_name=TUNER_PROJECT, overwrite=False)
            tuner.trial_limit = trials_per_process
            tuner.search()
        except _TrialLimitReached:
            return False
        except KeyboardInterrupt:
            if watch.lost:
                raise RunFailedError(watch.message) from None
            raise
    return True


class _ChiefWatch:
    """Asks the chief, from a thread, whether it still answers; stops the worker when it has not for a while.

    The worker's own calls to the chief happen only between epochs, and KerasTuner's client
    waits up to an hour on each: a chief killed mid-epoch would keep the worker training, then
    waiting. A lost chief interrupts the worker's main thread (raised as `RunFailedError` by
    `run_worker`); should the interruption be swallowed (Python drops exceptions raised in
    finalisers), the process exits STOP_GRACE_SECONDS later with the same one line.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = address(host, port)
        self.lost = False
        self.message = (f"--chief {self.target}: the chief has not answered for {CHIEF_LOST_SECONDS:g} s (stopped, or "
                        "its machine or network is down); this worker stops, and its trial runs again when the "
                        "chief's run is resumed")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fitsweep-chief-watch", daemon=True)

    def __enter__(self) -> _ChiefWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()

    def _watch(self) -> None:
        import grpc

        with grpc.insecure_channel(self.target) as channel:
            answered = time.monotonic()
            while not self._stop.wait(HEARTBEAT_SECONDS):
                if chief_answers(channel, timeout=HEARTBEAT_SECONDS):
                    answered = time.monotonic()
                elif time.monotonic() - answered >= CHIEF_LOST_SECONDS:
                    self._stop_worker()
                    return

    def _stop_worker(self) -> None:
        self.lost = True
        _thread.interrupt_main()
        if not self._stop.wait(STOP_GRACE_SECONDS):  # the interruption was swallowed
            sys.stderr.write(f"fitsweep: run failed: {self.message}\n")
            sys.stderr.flush()
            os._exit(1)


def _wait_for_chief(host: str, port: int) -> None:
    import grpc

    _check_resolvable(host)
    with grpc.insecure_channel(address(host, port)) as channel:
        if not chief_answers(channel, timeout=CHIEF_WAIT_SECONDS, wait_for_ready=True):
            raise FitsweepError(
                f"--chief: no chief answers at {address(host, port)} after {CHIEF_WAIT_SECONDS:g} s; start "
                "`fitsweep chief` first, or give the address it printed"
            )


def _check_resolvable(host: str) -> None:
    """Refuse at once a host no name server knows: waiting for it to answer would be in vain."""
    try:
        socket.getaddrinfo(host.strip("[]"), None)
    except (socket.gaierror, UnicodeError) as error:
        raise FitsweepError(f"--chief: host '{host}' cannot be resolved ({error}); give the chief's name or "
                            "IP address as it printed it") from None


class _TrialLimitReached(Exception):
    """A worker ran its share of trials."""


class _WorkerTuner(SweepTuner):
    """A worker's tuner, which can stop between trials after a number of them."""

    trial_limit: int | None = None
    trials_run = 0

    def pre_create_trial(self) -> None:
        if self.trial_limit is not None and self.trials_run >= self.trial_limit:
            raise _TrialLimitReached
        super().pre_create_trial()

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        self.trials_run += 1


def _hostname() -> str:
    return socket.gethostname().replace("chief", "host")


def _check_same_sweep(spec: SweepSpec, run_dir: Path) -> None:
    chief_spec_path = run_dir / "sweep.yaml"
    if not chief_spec_path.is_file():
        return
    chief_spec = load_spec(chief_spec_path, recorded=True)
    # What the chief writes for reading (report.*) does not change how trials train.
    same = spec.with_overrides(max_trials=chief_spec.tuner.max_trials, tensorboard=chief_spec.report.tensorboard)
    if same != chief_spec:
        raise FitsweepError(
            f"{chief_spec_path}: the chief runs a different sweep than this worker; start the worker with the "
            "chief's sweep file and the same --epochs"
        )


def _limit_threads(threads: int) -> None:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already started its thread pools in this process
        warnings.warn(f"threads={threads} ignored: TensorFlow is already running in this process", stacklevel=3)


@contextmanager
def _kerastuner_environment(tuner_id: str, host: str, port: int) -> Iterator[None]:
    """KerasTuner's distributed-mode variables, set for the worker's search and restored after."""
    values = {"KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _watch_parent(parent: int) -> None:
    """Stop this worker process if the chief that started it goes away (even killed)."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="fitsweep-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """A local worker, as the chief starts it: `python -m fitsweep.search.parallel --run-dir ... --chief ...`."""
    parser = argparse.ArgumentParser(prog="python -m fitsweep.search.parallel", description=main.__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--chief", required=True)
    parser.add_argument("--tuner-id", required=True)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--parent", type=int)
    parser.add_argument("--trials-per-process", type=int)
    args = parser.parse_args(argv)
    if args.parent:
        _watch_parent(args.parent)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))  # stop at once, mid-epoch included
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # the log keeps errors, not retracing notices
    spec = load_spec(args.run_dir / "sweep.yaml", recorded=True)
    finished = run_worker(spec, args.chief, results_dir=args.run_dir.parent, data_dir=args.data_dir,
                          tuner_id=args.tuner_id, threads=args.threads, trials_per_process=args.trials_per_process)
    sys.exit(0 if finished else RECYCLE_EXIT_CODE)
