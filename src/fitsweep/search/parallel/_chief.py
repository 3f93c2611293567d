"""The chief: serves a sweep's oracle to workers, starts and stops local worker processes."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import keras_tuner

import fitsweep
from fitsweep.errors import FitsweepError, RunFailedError
from fitsweep.families.user_build import require_loadable
from fitsweep.kerastuner import ReportServicer, TrialStatus, serve_oracle
from fitsweep.results import TUNER_PROJECT, SweepRun
from fitsweep.search.engine import SweepObserver, SweepTuner, slots_of
from fitsweep.search.parallel._network import LOOPBACK, ExposedOracleWarning, address, exposure_warning
from fitsweep.search.parallel._worker import RECYCLE_EXIT_CODE
from fitsweep.search.runner import run_sweep
from fitsweep.spec import SweepSpec

# How often the chief looks at its oracle and workers; a search ends at most this long after its last trial.
POLL_SECONDS = 0.2
# How long a stopped worker gets to exit before its process group is killed.
STOP_GRACE_SECONDS = 5.0
# Trials a local worker process runs before the chief replaces it with a fresh one: TensorFlow keeps
# about 1.5 MB of every model it traced until its process ends (see benchmarks/README.md).
TRIALS_PER_WORKER_PROCESS = 200
# How a worker ends on SIGTERM: its handler's exit code, or the signal itself.
_TERMINATED = (143, -signal.SIGTERM)


_NATIVE_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl)")


class WorkerError(RuntimeError):
    """Every local worker stopped before the search ended (the run stops as failed)."""


def default_threads(workers: int) -> int:
    """TensorFlow threads per worker: this machine's cores shared evenly, at least one each."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def run_parallel(
    spec: SweepSpec,
    *,
    workers: int = 2,
    results_dir: str | Path = "runs",
    data_dir: str | Path = ".",
    overwrite: bool = False,
    observer: SweepObserver | None = None,
    report: bool = False,
    host: str = LOOPBACK,
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
    trials_per_process: int | None = TRIALS_PER_WORKER_PROCESS,
) -> SweepRun:
    """Run a sweep with a KerasTuner chief in this process and `workers` worker processes.

    The run is the same as `run_sweep`'s (folder, tables, status, errors); only the trials run
    elsewhere. With `workers=0` the chief waits for workers started by hand on other machines
    (`run_worker`, or `fitsweep worker`), which must share the results folder for the best model
    to be kept.

    Args:
        spec: The validated sweep.
        workers: Worker processes to start on this machine; each gets `default_threads(workers)`
            TensorFlow threads.
        results_dir: Parent folder; the run goes to `<results_dir>/<spec.name>` (`runs/<name>` by default).
        data_dir: Folder that relative data paths resolve against (the sweep file's folder).
        overwrite: Replace an earlier run in the same folder.
        observer: Told when trials start and end (epochs run in the workers and are not shown).
        report: Keep report.html and report.md current, as `run_sweep` does.
        host: Address the oracle listens on; anything but loopback triggers `ExposedOracleWarning`.
        port: Its port; 0 picks a free one.
        on_ready: Called with "host:port" once the oracle listens (to tell remote workers).
        trials_per_process: A local worker process is replaced by a fresh one after this many
            trials, which bounds the memory TensorFlow keeps of past models; None: never.

    Returns:
        The finished run as tables.

    Raises:
        RunFailedError: No trial completed, or every local worker stopped before the search ended
            (with no remote workers expected): the run is recorded as failed, with the worker's
            last log line as its stop reason, and its tables hold the trials that ended.

    Example:
        >>> from fitsweep.spec import load_spec
        >>> run = run_parallel(load_spec("sweeps/moons.yaml"), workers=2, results_dir="/tmp/r")  # doctest: +SKIP
    """
    if workers < 0:
        raise FitsweepError(f"workers: {workers} is negative; give 1 or more (0: only workers on other machines)")
    require_loadable(spec, "workers")  # a function object passed from Python stays in this process
    message = exposure_warning(host)
    if message:
        warnings.warn(message, ExposedOracleWarning, stacklevel=2)
    server, bound = _listening_server(host, port)  # before the run folder exists: a taken port writes nothing
    chief = _Chief(workers=workers, data_dir=Path(data_dir).resolve(), host=host, port=bound, server=server,
                   on_ready=on_ready, threads=default_threads(workers), trials_per_process=trials_per_process)
    try:
        run = run_sweep(spec, results_dir=results_dir, data_dir=data_dir, overwrite=overwrite, observer=observer,
                        report=report, search=chief)
    finally:
        server.stop(grace=None)  # the port is released even when the search never started
    if chief.error is not None:
        raise RunFailedError(f"{run.path}: {chief.error}")
    return run


@dataclass
class _Worker:
    tuner_id: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    reported: bool = False  # its failure has been handled
    terminated: bool = False  # it ended on SIGTERM, seen once: the chief may be being stopped too

    def stopped(self) -> str:
        """How the worker stopped: its exit code or signal, and the last line it wrote (usually its error)."""
        code = self.process.returncode
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            text = ""
        # TensorFlow's native start-up lines say nothing about why a worker stopped.
        lines = [line.strip() for line in text.splitlines() if line.strip() and not _NATIVE_LOG.match(line)]
        last = f": {lines[-1]}" if lines and code > 0 else ""
        return f"worker {self.tuner_id} stopped ({how}){last} (log: {self.log_path})"


@dataclass
class _Chief:
    """`run_sweep`'s search step in parallel mode: serve the oracle, start workers, wait for the end."""

    workers: int
    data_dir: Path
    host: str
    port: int  # bound already, by `server`
    server: Any
    threads: int
    on_ready: Callable[[str], None] | None = None
    trials_per_process: int | None = None
    error: WorkerError | None = None
    _started: set[str] = field(default_factory=set)
    _ended: set[str] = field(default_factory=set)

    def __call__(self, tuner: SweepTuner) -> None:
        oracle = tuner.oracle
        self._started, self._ended = _oracle_lists(oracle)  # a resumed run's trials were announced before
        server, port = self.server, self.port
        servicer = serve_oracle(oracle, server)
        server.start()
        workers: list[_Worker] = []
        try:
            if self.on_ready:
                self.on_ready(address(self.host, port))
            run_dir = Path(tuner.project_dir).parent
            workers = [self._start_worker(f"tuner{index}", run_dir, port) for index in range(self.workers)]
            while not self._finished(tuner, servicer, workers):
                time.sleep(POLL_SECONDS)
                self._replace_recycled(tuner.oracle, workers, run_dir, port)
        finally:
            _stop_workers(workers)
            server.stop(grace=None).wait(STOP_GRACE_SECONDS)
        self._announce(tuner)  # trials that ended in the last moments

    def _start_worker(self, tuner_id: str, run_dir: Path, port: int) -> _Worker:
        connect = LOOPBACK if self.host in ("0.0.0.0", "::", "localhost") else self.host
        log_path = run_dir / TUNER_PROJECT / f"{tuner_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - closed in _stop_workers
        package_root = str(Path(fitsweep.__file__).resolve().parents[1])  # the folder holding fitsweep
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p),
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
            "OMP_NUM_THREADS": str(self.threads),
        }
        command = [
            sys.executable, "-m", "fitsweep.search.parallel",
            "--run-dir", str(run_dir), "--data-dir", str(self.data_dir), "--chief", address(connect, port),
            "--tuner-id", tuner_id, "--threads", str(self.threads), "--parent", str(os.getpid()),
        ]
        if self.trials_per_process:
            command += ["--trials-per-process", str(self.trials_per_process)]
        process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        return _Worker(tuner_id, process, log_path, log)

    def _finished(self, tuner: SweepTuner, servicer: ReportServicer, workers: list[_Worker]) -> bool:
        """Pass progress on, handle workers that died, and say whether the search is over."""
        self._announce(tuner)
        oracle = tuner.oracle
        waiting = False
        for worker in workers:
            code = worker.process.poll()
            if code in (None, 0, RECYCLE_EXIT_CODE) or worker.reported:
                continue
            if code in _TERMINATED and not worker.terminated:
                # Slurm and systemd send SIGTERM to every process of a job at once: give the chief's
                # own handler a poll to stop the run, so that the worker's trial is rerun on resume
                # rather than failed.
                worker.terminated = waiting = True
                continue
            worker.reported = True
            _fail_trial_of(oracle, worker.tuner_id, worker.stopped())
        if waiting:
            return False
        if _search_over(oracle, servicer):
            return True
        remote = self.workers == 0 or exposure_warning(self.host) is not None
        if workers and not remote and all(w.process.poll() not in (None, RECYCLE_EXIT_CODE) for w in workers):
            failed = [w for w in workers if w.process.returncode != 0]
            detail = failed[0].stopped() if failed else "they exited without being told to stop"
            self.error = WorkerError(f"every worker stopped before the search ended; {detail}")
            raise self.error
        return False

    def _replace_recycled(self, oracle: keras_tuner.Oracle, workers: list[_Worker], run_dir: Path, port: int) -> None:
        """Start a fresh process for each worker that stopped after its share of trials."""
        for index, worker in enumerate(workers):
            if worker.process.poll() == RECYCLE_EXIT_CODE and not worker.reported:
                worker.reported = True
                if not _forget_worker(oracle, worker.tuner_id):  # no trial left to hand out: no need for another
                    worker.log.close()
                    workers[index] = self._start_worker(worker.tuner_id, run_dir, port)

    def _announce(self, tuner: SweepTuner) -> None:
        """Tell the run's observer (tables, report, progress) about trials that started or ended."""
        oracle, observer = tuner.oracle, tuner.observer
        started, ended = _oracle_lists(oracle)
        for trial_id in sorted(started - self._started, key=_trial_order):
            self._started.add(trial_id)
            values = oracle.trials[trial_id].hyperparameters.values
            epochs = int(values.get("tuner/epochs", tuner.spec.train.epochs))
            observer.trial_started(trial_id, values, epochs, tuner.executions_per_trial)
        for trial_id in sorted(ended - self._ended, key=_trial_order):
            self._ended.add(trial_id)
            trial = oracle.trials[trial_id]
            observer.trial_ended(trial_id, str(trial.status), trial.score)


def _trial_order(trial_id: str) -> tuple[int, str]:
    return (int(trial_id), trial_id) if trial_id.isdigit() else (sys.maxsize, trial_id)


@keras_tuner.synchronized
def _oracle_lists(oracle: keras_tuner.Oracle) -> tuple[set[str], set[str]]:
    """The ids of started and of ended trials, read under the oracle's lock."""
    return set(oracle.start_order), set(oracle.end_order)


@keras_tuner.synchronized
def _search_over(oracle: keras_tuner.Oracle, servicer: ReportServicer) -> bool:
    """KerasTuner's rule for the chief's end: a worker was told to stop, and no trial or worker is left.

    Or every trial was handed out and ended, and the workers left between trials (recycled).
    """
    if oracle.ongoing_trials or oracle.tuner_ids:
        return False
    handed_out = bool(oracle.max_trials) and len(oracle.trials) >= oracle.max_trials
    return bool(servicer.stop_triggered) or handed_out


@keras_tuner.synchronized
def _forget_worker(oracle: keras_tuner.Oracle, tuner_id: str) -> bool:
    """A worker left between trials: the oracle should not wait for it to be told to stop.

    Returns whether every trial was handed out already.
    """
    for slot in slots_of(list(oracle.tuner_ids), tuner_id):
        oracle.tuner_ids.discard(slot)
    return bool(oracle.max_trials) and len(oracle.trials) >= oracle.max_trials


@keras_tuner.synchronized
def _fail_trial_of(oracle: keras_tuner.Oracle, tuner_id: str, message: str) -> None:
    """End the trials a dead worker was running (one per slot of its fused group) as failed, and forget it."""
    for slot in slots_of(list(oracle.tuner_ids), tuner_id):
        oracle.tuner_ids.discard(slot)
    for slot in slots_of(list(oracle.ongoing_trials), tuner_id):
        trial = oracle.ongoing_trials[slot]
        trial.status = TrialStatus.FAILED
        trial.message = message
        oracle.end_trial(trial)


def _stop_workers(workers: list[_Worker]) -> None:
    """Stop every live worker's process group: SIGTERM, then SIGKILL after a grace period.

    Only a worker not yet reaped is signalled, so its group id cannot belong to another process.
    """
    for worker in workers:
        if worker.process.poll() is None:
            _signal_group(worker.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for worker in workers:
        try:
            worker.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(worker.process.pid, signal.SIGKILL)
            worker.process.wait()
        worker.log.close()


def _signal_group(pid: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # it exited meanwhile
        os.killpg(pid, signal_number)


def _listening_server(host: str, port: int) -> tuple[Any, int]:
    """A gRPC server (not started) bound to host:port, and the port it got; a port it cannot take is refused.

    One thread, as KerasTuner's chief: the oracle serialises its calls anyway. Without
    SO_REUSEPORT (gRPC's default), so that a second chief on the same port is refused rather than
    given half of the first one's workers.
    """
    from grpc import server as grpc_server

    _check_port_free(host, port)
    server = grpc_server(futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)])
    try:
        bound = server.add_insecure_port(address(host, port))
    except RuntimeError as error:
        raise FitsweepError(f"--host/--port: cannot listen on {address(host, port)} ({error})") from None
    if not bound:
        raise FitsweepError(f"--port {port}: cannot listen on {address(host, port)}; is the port taken?")
    return server, int(bound)


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, in one line (gRPC would first log a native error)."""
    if port == 0:
        return
    try:
        family, kind, protocol, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise FitsweepError(f"--host {host}: cannot be resolved to an address ({error})") from None
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does: a port in TIME_WAIT is free
        try:
            probe.bind(where)
        except OSError as error:
            if error.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise FitsweepError(f"--host {host}: cannot listen on {address(host, port)} ({error.strerror}); "
                                    "give an address of this machine") from None
            raise FitsweepError(f"--port {port}: cannot listen on {address(host, port)} ({error.strerror}); choose a "
                                "free port, or 0 for any free one") from None
