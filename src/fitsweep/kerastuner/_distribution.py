"""KerasTuner's distributed mode, as fitsweep's chief and workers use it.

- `works_for_a_chief`: whether this process is a worker of a chief's oracle, read from
  KerasTuner's environment through `keras_tuner.src.distribute.utils`.
- `ReportServicer` and `serve_oracle`: the chief's gRPC servicer, a subclass of KerasTuner's
  `keras_tuner.src.distribute.oracle_chief.OracleServicer`, registered through `keras_tuner.src.protos`.
- `chief_answers`: a worker asks its chief whether it still answers, with `keras_tuner.src.protos`' stub.
"""

from __future__ import annotations

from typing import Any

import keras_tuner
from keras_tuner.engine.trial import Trial
from keras_tuner.src import protos
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.distribute.oracle_chief import OracleServicer

__all__ = ["ReportServicer", "chief_answers", "serve_oracle", "works_for_a_chief"]


def works_for_a_chief() -> bool:
    """Whether this process is a worker of a chief's oracle (KerasTuner's distributed mode)."""
    return bool(dist_utils.has_chief_oracle()) and not dist_utils.is_chief_oracle()


class ReportServicer(OracleServicer):
    """KerasTuner's chief servicer, answering a worker's report without the trial's whole history."""

    def UpdateTrial(self, request: Any, context: Any) -> Any:  # gRPC's method name
        # KerasTuner sends the trial back with every metric of every epoch so far: time and bytes
        # quadratic in a trial's epochs, since fitsweep reports each one. The worker only needs
        # the trial's status (the one channel an oracle has to stop a trial early).
        trial = self.oracle.update_trial(request.trial_id, request.metrics, step=request.step)
        status = Trial(trial.hyperparameters, trial_id=trial.trial_id, status=trial.status)
        return protos.get_service().UpdateTrialResponse(trial=status.to_proto())


def chief_answers(channel: Any, timeout: float, *, wait_for_ready: bool = False) -> bool:
    """Whether a chief's oracle answers a call on `channel` within `timeout` seconds.

    The call asks for the search space: cheap, and read-only. Unlike KerasTuner's own client
    calls, it does not wait for the chief to come back, so a dead chief fails it at once; with
    `wait_for_ready`, it waits up to `timeout` for a chief that is not listening yet. The call
    blocks this thread only (gRPC checks for signals while it waits), unlike a channel-ready
    future, whose polling thread fails noisily when the channel closes under it.
    """
    import grpc

    stub = protos.get_service_grpc().OracleStub(channel)
    try:
        stub.GetSpace(protos.get_service().GetSpaceRequest(), timeout=timeout, wait_for_ready=wait_for_ready)
    except grpc.RpcError:
        return False
    return True


def serve_oracle(oracle: keras_tuner.Oracle, server: Any) -> ReportServicer:
    """Register a servicer of `oracle` on a gRPC server, as KerasTuner's chief does.

    Args:
        oracle: The oracle workers will ask for trials and report to.
        server: A `grpc.Server`, not yet started.

    Returns:
        The servicer; its `stop_triggered` turns true once the oracle has told a worker to stop.
    """
    servicer = ReportServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return servicer
