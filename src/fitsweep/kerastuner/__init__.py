"""fitsweep's one door to KerasTuner's internals, written against keras-tuner 1.4.8.

Everything fitsweep needs from KerasTuner beyond its public API is in this package, so that a
KerasTuner release that changes one of these parts breaks one package, and
`tests/test_keras_tuner_contract.py` says which part; no module outside it imports
`keras_tuner.src` (a contract test checks). The private parts it touches, and why:

- `keras_tuner.src.utils.save_json` (`_saves`): all of KerasTuner's JSON state (oracle.json,
  trial.json, build_config.json) is written through it, in place. `install_atomic_saves` replaces
  it with a write to a temporary file and a rename, so a run killed mid-write can still be resumed;
  building any of fitsweep's oracles installs it, importing this package does not.
- `Oracle._retry_queue` (`_oracles`): the trials a reloaded oracle will run again (those oracle.json
  lists as ongoing). `recover_interrupted_trials` corrects it after a kill; there is no public handle.
- `Oracle._get_trial_dir` (`_oracles`): the folder of a trial, removed when a trial's record must be
  forgotten.
- `Oracle._check_objective_found` and `Oracle._save_trial` (`_oracles`): the two steps of
  `Oracle.update_trial` that `_QuickReports` keeps when it replaces that method with one of constant
  cost per report.
- `GridSearchOracle._populate_next` (`_oracles`): the trials whose grid point the next one follows
  from; the grid oracle appends every trial it hands out, so workers need not wait for one another.
- `GridSearchOracle._ordered_ids` (a `keras_tuner.src.tuners.gridsearch.LinkedList`) and
  `GridSearchOracle._compare` (`_oracles`): the grid's order of the points tried, which KerasTuner
  keeps in memory only; `recover_interrupted_trials` rebuilds it (with `_populate_next`) for a
  reloaded run.
- `keras_tuner.src.engine.metrics_tracking.MetricsTracker` (`_oracles`): a trial's metric history,
  emptied for a trial that runs again.
- `keras_tuner.src.distribute.oracle_chief.OracleServicer` (`_distribution`): the gRPC servicer of
  KerasTuner's chief. The chief serves a subclass whose `UpdateTrial` answers without the trial's
  history.
- `keras_tuner.src.protos` (`_distribution`): the gRPC service and its messages, to register and
  answer it, and for a worker to ask its chief whether it still answers (`chief_answers`).
- `keras_tuner.src.distribute.utils` (`_distribution`): whether this process is a worker of a chief
  oracle, which takes fewer trials at a time so that the trials spread over the workers.

`TrialStatus` is public (`keras_tuner.engine.trial`) and is re-exported here so that fitsweep
reads trial states from one place.

`_project` reads a project folder that plain KerasTuner wrote, for `fitsweep import`
(`read_project`, `read_execution_curves`): its JSON state through KerasTuner's own `Trial`, and the
TensorBoard logs its `Tuner` writes, whose layout `tests/test_kerastuner_import.py` checks against
KerasTuner's own. `WRITTEN_AGAINST` (`_version`) is the release all of it was written against.
"""

from __future__ import annotations

from fitsweep.kerastuner._distribution import (
    ReportServicer,
    chief_answers,
    serve_oracle,
    works_for_a_chief,
)
from fitsweep.kerastuner._oracles import (
    FINISHED,
    ORACLE_CLASSES,
    BayesianOptimizationOracle,
    GridSearchOracle,
    HyperbandOracle,
    MetricsTracker,
    RandomSearchOracle,
    TrialStatus,
    one_oracle_save,
    oracle_snapshot,
    recover_interrupted_trials,
)
from fitsweep.kerastuner._project import (
    ExecutionCurve,
    KerasTunerProject,
    read_execution_curves,
    read_project,
)
from fitsweep.kerastuner._saves import install_atomic_saves, save_json_atomically
from fitsweep.kerastuner._version import WRITTEN_AGAINST

__all__ = [
    "WRITTEN_AGAINST",
    # a run's oracle and its state
    "ORACLE_CLASSES", "BayesianOptimizationOracle", "GridSearchOracle", "HyperbandOracle", "RandomSearchOracle",
    "FINISHED", "MetricsTracker", "TrialStatus", "one_oracle_save", "oracle_snapshot", "recover_interrupted_trials",
    "install_atomic_saves", "save_json_atomically",
    # distributed mode
    "ReportServicer", "chief_answers", "serve_oracle", "works_for_a_chief",
    # a plain KerasTuner project, for `fitsweep import`
    "ExecutionCurve", "KerasTunerProject", "read_execution_curves", "read_project",
]
