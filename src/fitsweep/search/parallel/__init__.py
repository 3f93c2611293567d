"""Trials in parallel: one KerasTuner chief serving the oracle, and worker processes running trials.

KerasTuner's own distributed mode does the work. The chief holds the sweep's oracle and serves it
over gRPC with KerasTuner's `OracleServicer`; each worker is a `SweepTuner` whose oracle KerasTuner
replaces with its `OracleClient`, as the environment variables `KERASTUNER_TUNER_ID` (`tuner0`,
`tuner1`, ...), `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` tell it. Workers report every
epoch to the chief through `oracle.update_trial`, so the chief builds the same two tables as a
single process would, from its own oracle, refreshing them as trials end.

fitsweep replaces only KerasTuner's chief loop (`oracle_chief.start_server`, which checks every 20
seconds whether the search is over): the chief serves the same servicer from a thread of the run's
own process, watches the oracle and its workers a few times a second, and stops as soon as the
last trial has ended. Local workers are started in their own process groups and stopped (the whole
group) when the run ends, fails or is interrupted; a worker whose chief disappears stops itself.

The gRPC oracle has no authentication: anyone who reaches its port can read and add trials. The
chief listens on 127.0.0.1 unless told otherwise, and warns when it is not.

    fitsweep run sweeps/moons.yaml --workers 2             # one machine: the chief and 2 workers
    fitsweep chief sweeps/moons.yaml --host 10.0.0.5 --port 8470 --results-dir /shared/results
    fitsweep worker sweeps/moons.yaml --chief 10.0.0.5:8470 --results-dir /shared/results
"""

from fitsweep.search.parallel._chief import WorkerError, default_threads, run_parallel
from fitsweep.search.parallel._network import ExposedOracleWarning, exposure_warning
from fitsweep.search.parallel._worker import run_worker

__all__ = ["ExposedOracleWarning", "WorkerError", "default_threads", "exposure_warning", "run_parallel", "run_worker"]
