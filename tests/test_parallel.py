"""Trials in worker processes: the same tables as one process, and no worker left behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from conftest import tiny_sweep, write_sweep
from fitsweep import RunFailedError, SweepSpec, parse_spec, run_sweep
from fitsweep.errors import FitsweepError
from fitsweep.results.tables import EPOCH_COLUMNS
from fitsweep.search.parallel import default_threads, exposure_warning, run_parallel, run_worker
from helpers import worker_processes

# Two executions, so every trial reports two curves through the chief.
SWEEP = tiny_sweep(tuner={"max_trials": 4, "executions_per_trial": 2})


# A build function that holds each trial of a worker process at its start: it announces the
# process (a file named after its pid, made whole by a rename), then waits for the test's "go"
# file. The test so kills workers that are provably inside a trial, however fast trials are.
GATED_BUILD = '''
import os
import time
from pathlib import Path

import keras
from keras import layers

GATE = Path({gate!r})


def wait_for_the_test():
    pending = GATE / f".{{os.getpid()}}"
    pending.touch()
    os.replace(pending, GATE / "inside" / str(os.getpid()))
    deadline = time.monotonic() + 600  # a safety net: the test releases or kills this process
    while not (GATE / "go").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the test never released this trial")
        time.sleep(0.02)


def build(hp):
    if hp.values:  # a trial's values; declaring the search space calls build with none
        wait_for_the_test()
    model = keras.Sequential([
        keras.Input(shape=(2,)),
        layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    learning_rate = hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model
'''


def gated_sweep(folder: Path) -> SweepSpec:
    """4 trials on the tiny sweep's data, each held at its start until `folder/gate/go` exists."""
    gate = folder / "gate"
    (gate / "inside").mkdir(parents=True)
    (folder / "gated.py").write_text(GATED_BUILD.format(gate=str(gate)), encoding="utf-8")
    sweep = tiny_sweep(tuner={"max_trials": 4})
    sweep["model"] = {"build": f"{folder / 'gated.py'}:build"}
    return parse_spec(sweep)


class WorkerKiller:
    """In the background: once both workers wait inside a trial, SIGKILL `how_many` of them and release the rest.

    `killed` maps each killed worker's tuner id to its pid.
    """

    def __init__(self, folder: Path, how_many: int) -> None:
        self.folder, self.gate, self.how_many = folder, folder / "gate", how_many
        self.killed: dict[str, int] = {}
        self.problem: str | None = None
        self._run_ended = threading.Event()
        self._thread = threading.Thread(target=self._kill, daemon=True)

    def __enter__(self) -> WorkerKiller:
        self._thread.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self._run_ended.set()
        self._thread.join()
        assert self.problem is None, self.problem

    def _kill(self) -> None:
        try:
            inside = self._wait_inside(2)
            workers = worker_processes(self.folder)
            if inside and not set(inside) <= set(workers):
                self.problem = f"processes {inside} waited inside a trial, but the workers are {workers}"
                return
            for pid in inside[:self.how_many]:
                self.killed[_tuner_id(pid)] = pid
                os.kill(pid, signal.SIGKILL)
        finally:  # the survivors go on; so do all, should the wait have failed
            (self.gate / "go").touch()

    def _wait_inside(self, count: int) -> list[int]:
        deadline = time.monotonic() + 300  # a safety net: both workers start a trial long before
        while len(inside := sorted(int(path.name) for path in (self.gate / "inside").iterdir())) < count:
            if self._run_ended.wait(0.02) or time.monotonic() > deadline:
                ended = "the run ended" if self._run_ended.is_set() else "300 s passed"
                self.problem = f"{ended} with only {len(inside)} of {count} workers inside a trial"
                return []
        return inside


def _tuner_id(pid: int) -> str:
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return arguments[arguments.index("--tuner-id") + 1]


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Path]:
    """The same sweep run by two workers and by one process."""
    root = tmp_path_factory.mktemp("parallel")
    parallel = run_parallel(parse_spec(SWEEP), workers=2, results_dir=root / "workers")
    single = run_sweep(parse_spec(SWEEP), results_dir=root / "single")
    return parallel, single, root


@pytest.mark.slow
def test_two_workers_give_the_trials_table_of_one_process(both_runs) -> None:
    parallel, single, _ = both_runs
    assert parallel.info["status"] == "completed"
    assert list(parallel.trials.columns) == list(single.trials.columns)
    assert parallel.trials.dtypes.equals(single.trials.dtypes)
    assert (parallel.trials["status"] == "completed").all() and len(parallel.trials) == 4 * 2
    # Each trial keeps its hyperparameters and seeds whichever worker runs it.
    by_key = ["trial_id", "execution"]
    left, right = parallel.trials.sort_values(by_key), single.trials.sort_values(by_key)
    assert left[["depth", "width", "dropout", "l2"]].equals(right[["depth", "width", "dropout", "l2"]])
    np.testing.assert_allclose(left["val_loss"].astype(float), right["val_loss"].astype(float), rtol=1e-4)
    assert parallel.info["best_trial"] == single.info["best_trial"]
    assert (parallel.path / "best_model.keras").is_file()
    # Who trained each trial: the one process, or one of the two workers (each trial all its executions).
    assert set(single.trials["worker"]) == {"tuner0"}
    assert set(parallel.trials["worker"]) <= {"tuner0", "tuner1"}
    assert (parallel.trials.groupby("trial_id")["worker"].nunique() == 1).all()


@pytest.mark.slow
def test_two_workers_report_every_epoch_of_every_trial(both_runs) -> None:
    parallel, single, _ = both_runs
    epochs = parallel.epochs
    assert list(epochs.columns) == EPOCH_COLUMNS and epochs.dtypes.equals(single.epochs.dtypes)
    assert len(epochs) == 4 * 2 * 3  # trials x executions x epochs
    counts = epochs.groupby(["trial_id", "execution"]).size()
    assert (counts == 3).all()
    runs = parallel.trials.set_index(["trial_id", "execution"])["epochs_run"]
    assert (counts.reindex(runs.index).to_numpy() == runs.to_numpy()).all()
    assert epochs[["loss", "val_loss", "accuracy", "val_accuracy"]].notna().all().all()


@pytest.mark.slow
def test_no_worker_is_left_after_a_run(both_runs) -> None:
    _, _, root = both_runs
    assert worker_processes(root / "workers") == []
    assert sorted(p.name for p in (root / "workers" / "tiny" / "tuner").glob("*.log")) == ["tuner0.log", "tuner1.log"]


@pytest.mark.slow
def test_a_killed_worker_fails_its_trial_and_the_other_finishes_the_sweep(tmp_path: Path) -> None:
    spec = gated_sweep(tmp_path)
    with WorkerKiller(tmp_path, how_many=1) as killer:
        run = run_parallel(spec, workers=2, results_dir=tmp_path)
    assert worker_processes(tmp_path) == []
    (killed,) = killer.killed
    statuses = run.trials.drop_duplicates("trial_id")["status"]
    assert len(statuses) == 4 and (statuses == "failed").sum() == 1 and (statuses == "completed").sum() == 3
    failed = run.trials[run.trials["status"] == "failed"]
    assert failed["error"].str.contains(f"worker {killed} stopped (killed by SIGKILL)", regex=False).all()
    # The killed worker's trial is the one that failed; the survivor trained every other trial.
    assert failed["worker"].tolist() == [killed]
    assert set(run.trials.loc[run.trials["status"] == "completed", "worker"]) == {"tuner0", "tuner1"} - {killed}
    assert run.info["status"] == "completed"


@pytest.mark.slow
def test_a_run_whose_workers_all_die_fails_and_leaves_no_process(tmp_path: Path) -> None:
    spec = gated_sweep(tmp_path)
    # Killed in their first trials: no trial completed, which is the failure the run reports.
    with (pytest.raises(RunFailedError, match=r"worker tuner[01] stopped \(killed by SIGKILL\)"),
          WorkerKiller(tmp_path, how_many=2) as killer):
        run_parallel(spec, workers=2, results_dir=tmp_path)
    assert sorted(killer.killed) == ["tuner0", "tuner1"]
    assert worker_processes(tmp_path) == []
    info = pd.read_json(tmp_path / "tiny" / "run.json", typ="series")
    assert info["status"] == "failed" and "every worker stopped before the search ended" in info["stop_reason"]


@pytest.mark.slow
def test_an_interrupted_chief_stops_its_workers(tmp_path: Path) -> None:
    class InterruptOnFirstTrial:
        def trial_started(self, *args: Any) -> None:
            raise KeyboardInterrupt

        def epoch_ended(self, *args: Any) -> None: ...

        def trial_ended(self, *args: Any) -> None: ...

    with pytest.raises(KeyboardInterrupt):
        run_parallel(parse_spec(SWEEP), workers=2, results_dir=tmp_path, observer=InterruptOnFirstTrial())
    assert worker_processes(tmp_path) == []
    info = pd.read_json(tmp_path / "tiny" / "run.json", typ="series")
    assert info["status"] == "interrupted"


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_no_worker_outlives_its_chief(tmp_path: Path, signal_number: int) -> None:
    """Ctrl-C stops the workers with the run; a chief killed outright leaves workers that stop themselves."""
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 50}, train={"epochs": 20}))
    command = [sys.executable, "-c", "from fitsweep.cli import main; main()", "run", str(sweep), "--workers", "2",
               "--results-dir", str(tmp_path / "results"), "--quiet"]
    chief = subprocess.Popen(command, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (len(worker_processes(tmp_path)) == 2 and list(tmp_path.glob("results/tiny/tuner/trial_*"))):
            assert chief.poll() is None and time.monotonic() < deadline, "the workers never started"
            time.sleep(0.1)
        chief.send_signal(signal_number)
        _, errors = chief.communicate(timeout=60)
    finally:
        chief.kill()
    if signal_number == signal.SIGINT:
        assert chief.returncode == 130 and "interrupted" in errors
    deadline = time.monotonic() + 30  # orphans notice their chief is gone within about a second
    while worker_processes(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker_processes(tmp_path) == []


@pytest.mark.slow
def test_workers_are_replaced_after_their_share_of_trials(tmp_path: Path) -> None:
    seen: set[int] = set()

    class WorkerCensus:
        def trial_started(self, *args: Any) -> None:
            seen.update(worker_processes(tmp_path))

        def epoch_ended(self, *args: Any) -> None: ...

        def trial_ended(self, *args: Any) -> None:
            seen.update(worker_processes(tmp_path))

    run = run_parallel(parse_spec(tiny_sweep(tuner={"max_trials": 6})), workers=2, results_dir=tmp_path,
                       trials_per_process=2, observer=WorkerCensus())
    assert run.info["status"] == "completed"
    assert (run.trials["status"] == "completed").all() and len(run.trials) == 6 and len(run.epochs) == 6 * 3
    assert len(seen) >= 3  # 6 trials at most 2 per process
    assert worker_processes(tmp_path) == []


@pytest.mark.slow
def test_chief_and_worker_commands_share_a_results_folder(tmp_path: Path) -> None:
    """The commands for many machines, on one: `fitsweep chief` and a `fitsweep worker` that joins it."""
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 3}))
    results = tmp_path / "shared"
    cli = [sys.executable, "-c", "from fitsweep.cli import main; main()"]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    chief = subprocess.Popen([*cli, "chief", str(sweep), "--port", "0", "--results-dir", str(results), "--quiet"],
                             env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        for line in chief.stderr:  # type: ignore[union-attr]
            if "start workers with:" in line:
                break
        command = line.split("start workers with: ", 1)[1].split()
        assert command[:3] == ["fitsweep", "worker", str(sweep)] and "--chief" in command
        worker = subprocess.run([*cli, *command[1:]], env=environment, capture_output=True, text=True, timeout=300)
        assert worker.returncode == 0, worker.stderr
        out, _ = chief.communicate(timeout=120)
    finally:
        chief.kill()
    assert chief.returncode == 0, out
    trials = pd.read_parquet(results / "tiny" / "trials.parquet")
    assert len(trials) == 3 and (trials["status"] == "completed").all()
    assert (results / "tiny" / "best_model.keras").is_file()
    assert trials["worker"].str.startswith(f"tuner-{socket.gethostname()}-").all()  # the worker's default id


@pytest.mark.slow
def test_run_with_one_worker_process_writes_the_usual_run(tmp_path: Path) -> None:
    """`fitsweep run --workers 1`: trials in one recycled worker process, the same results folder."""
    from click.testing import CliRunner

    from fitsweep.cli import app

    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 2}))
    result = CliRunner().invoke(app, ["run", str(sweep), "--workers", "1", "--results-dir", str(tmp_path / "r"),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "r" / "tiny"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert len(trials) == 2 and (trials["status"] == "completed").all()
    assert [p.name for p in (run_dir / "tuner").glob("*.log")] == ["tuner0.log"]
    assert (run_dir / "report.html").is_file() and worker_processes(tmp_path) == []


def test_a_worker_refuses_a_sweep_other_than_the_chiefs(tmp_path: Path) -> None:
    spec = parse_spec(tiny_sweep())
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "sweep.yaml").write_text(spec.with_overrides(epochs=9).to_yaml(), encoding="utf-8")
    with pytest.raises(FitsweepError, match="the chief runs a different sweep"):
        run_worker(spec, "127.0.0.1:1", results_dir=tmp_path)
    with pytest.raises(FitsweepError, match="not HOST:PORT"):
        run_worker(spec, "127.0.0.1", results_dir=tmp_path)
    with pytest.raises(FitsweepError, match=r"contains 'chief'|containing 'chief'"):
        run_worker(spec, "127.0.0.1:1", results_dir=tmp_path / "other", tuner_id="chief2")


def test_only_loopback_addresses_go_without_a_warning() -> None:
    assert exposure_warning("127.0.0.1") is None and exposure_warning("::1") is None
    assert exposure_warning("localhost") is None
    for host in ("0.0.0.0", "10.0.0.5", "example.org", "::"):
        assert "no authentication" in (exposure_warning(host) or ""), host


def test_threads_are_shared_between_workers() -> None:
    cores = len(os.sched_getaffinity(0))
    assert default_threads(1) == cores and default_threads(cores * 2) == 1


def test_a_worker_without_a_chief_stops_with_one_line_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    import socket

    from fitsweep.search.parallel import _worker

    monkeypatch.setattr(_worker, "CHIEF_WAIT_SECONDS", 1.0)
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(FitsweepError, match=f"no chief answers at 127.0.0.1:{port}"):
        run_worker(parse_spec(tiny_sweep()), f"127.0.0.1:{port}", results_dir=tmp_path / "results")
    assert not (tmp_path / "results").exists()


def test_a_worker_whose_chief_host_has_no_address_stops_at_once(tmp_path: Path, monkeypatch) -> None:
    from fitsweep.search.parallel import _worker

    monkeypatch.setattr(_worker, "CHIEF_WAIT_SECONDS", 3600.0)  # were it waited for, the test would hang
    with pytest.raises(FitsweepError, match=r"--chief: host 'no-such-host\.invalid' cannot be resolved"):
        run_worker(parse_spec(tiny_sweep()), "no-such-host.invalid:8470", results_dir=tmp_path / "results")
    assert not (tmp_path / "results").exists()


def _serve_an_oracle() -> tuple[Any, int]:
    """A started gRPC server answering for a bare KerasTuner oracle, as a chief's does, and its port."""
    from concurrent import futures

    import grpc
    import keras_tuner

    from fitsweep.kerastuner import serve_oracle

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    serve_oracle(keras_tuner.oracles.RandomSearchOracle(objective="val_loss", max_trials=1), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


class HeartbeatClock:
    """The chief watch's clock and heartbeat: one second passes per heartbeat, whatever the machine's speed."""

    def __init__(self, chief_answers: Callable[..., bool]) -> None:
        self._chief_answers = chief_answers
        self.now = 0.0
        self.answered = self.unanswered = 0
        self.ten_answered = threading.Event()

    def monotonic(self) -> float:
        return self.now

    def ask(self, channel: Any, timeout: float) -> bool:
        self.now += 1.0
        # A served oracle answers well within 30 s; a stopped one fails the call at once.
        if self._chief_answers(channel, timeout=30.0):
            self.answered += 1
            if self.answered == 10:
                self.ten_answered.set()
            return True
        self.unanswered += 1
        return False


def test_a_worker_whose_chief_stops_answering_is_interrupted_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from fitsweep.search.parallel import _worker

    clock = HeartbeatClock(_worker.chief_answers)
    monkeypatch.setattr(_worker, "chief_answers", clock.ask)
    monkeypatch.setattr(_worker, "time", clock)
    monkeypatch.setattr(_worker, "HEARTBEAT_SECONDS", 0.01)
    monkeypatch.setattr(_worker, "CHIEF_LOST_SECONDS", 3.0)
    monkeypatch.setattr(_worker, "STOP_GRACE_SECONDS", 600.0)  # never exit pytest's own process
    server, port = _serve_an_oracle()
    with _worker._ChiefWatch("127.0.0.1", port) as watch:
        # 10 s of heartbeats, each answered, outlast the 3 s after which a silent chief is lost.
        assert clock.ten_answered.wait(120), "the watch never sent 10 heartbeats"  # a safety net
        assert not watch.lost
        server.stop(grace=None).wait()
        with pytest.raises(KeyboardInterrupt):  # the worker's main thread, interrupted by the watch
            deadline = time.monotonic() + 120  # a safety net: the watch gives up after 3 heartbeats
            while time.monotonic() < deadline:
                time.sleep(0.01)
    assert watch.lost and clock.unanswered == 3
    assert "--chief 127.0.0.1:" in watch.message and "for 3 s" in watch.message and "\n" not in watch.message


def test_a_chief_refuses_a_taken_port_before_writing_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import invoke_cli

    sweep = write_sweep(tmp_path, tiny_sweep())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = invoke_cli(["chief", str(sweep), "--port", str(port), "--results-dir", str(tmp_path / "r")],
                                  monkeypatch, capsys)
    lines = output.strip().splitlines()
    assert code == 2 and len(lines) == 1 and f"--port {port}" in lines[0] and "Traceback" not in output, output
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_remote_worker_stops_with_one_line_when_its_chief_is_killed(tmp_path: Path) -> None:
    """`fitsweep worker` mid-trial when its chief is SIGKILLed: it notices (35 s at most) and exits 1 with one line."""
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 2}, train={"epochs": 300}))
    results = tmp_path / "shared"
    cli = [sys.executable, "-c", "from fitsweep.cli import main; main()"]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    chief = subprocess.Popen([*cli, "chief", str(sweep), "--port", "0", "--results-dir", str(results), "--quiet"],
                             env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        line = next(line for line in chief.stderr if "start workers with:" in line)  # type: ignore[union-attr]
        command = line.split("start workers with: ", 1)[1].split()
        worker = subprocess.Popen([*cli, *command[1:]], env=environment, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        oracle = results / "tiny" / "tuner" / "oracle.json"
        deadline = time.monotonic() + 300  # a safety net: the event below comes once the worker trains
        while not (oracle.is_file() and json.loads(oracle.read_text()).get("ongoing_trials")):
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never started a trial"
            time.sleep(0.1)
        chief.kill()
        killed = time.monotonic()
        _, error = worker.communicate(timeout=600)  # a safety net: KerasTuner alone would wait an hour
        print(f"the worker stopped {time.monotonic() - killed:.1f} s after its chief was killed")
    finally:
        chief.kill()
        if worker is not None:
            worker.kill()
    lines = error.strip().splitlines()
    assert worker.returncode == 1 and "Traceback" not in error, error
    assert len(lines) == 1 and lines[0].startswith("fitsweep: run failed: --chief ") and "has not answered" in lines[0]
