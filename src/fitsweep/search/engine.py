"""The engine: a KerasTuner `Tuner` that trains trials' models, fused where it can, and reports every epoch.

KerasTuner does the searching (its oracles: random, grid, Bayesian, Hyperband), the trial
bookkeeping and the distribution over processes. `SweepTuner` asks its oracle for several
trials at once (one tuner id per slot, as separate workers would), trains those that share a
batch size, optimizer, learning rate and epochs as one model (`fitsweep.training`; families whose
networks do not stack, such as conv nets, train one model at a time), sends each
execution's epochs to the oracle as they come, and saves each trial's best execution's model.
"""

from __future__ import annotations

import gc
import math
import time
import traceback
import zlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import keras_tuner

from fitsweep.data import Splits
from fitsweep.families import ModelFamily, family_for
from fitsweep.kerastuner import (
    ORACLE_CLASSES,
    TrialStatus,
    one_oracle_save,
    oracle_snapshot,
    recover_interrupted_trials,
    works_for_a_chief,
)
from fitsweep.results import records
from fitsweep.search import interruption
from fitsweep.space import declare_space, trial_values
from fitsweep.spec import SweepSpec
from fitsweep.training import (
    MAX_FUSED_MEMBERS,
    EpochListener,
    Member,
    Outcome,
    VerdictStopping,
    fusion_key,
    train_executions,
)

__all__ = [
    "MODEL_FILE", "NullObserver", "SweepObserver", "SweepTuner", "build_oracle", "execution_seed", "oracle_snapshot",
    "recover_interrupted_trials", "slot_owner", "slot_tuner_id", "slots_of", "trials_per_group",
]

MODEL_FILE = "model.keras"
# Fused groups: at most MAX_FUSED_MEMBERS executions, and this much arithmetic per step (parameters
# x batch size, summed): beyond it a step is bound by arithmetic and fusing saves nothing.
MAX_FUSED_WORK = 2**25
# A worker of a chief takes one trial at a time under "auto" (its repeats fused), so trials spread
# over the workers as they would unfused: a worker cannot know how many others share the search.
WORKER_FUSED_TRIALS = 1
# How long a worker waits before asking again an oracle that had no trial for it.
IDLE_WAIT_SECONDS = 0.1

if TYPE_CHECKING:
    import keras


class SweepObserver(Protocol):
    """What the engine tells about progress (a progress bar, a log, or nothing)."""

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None: ...

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Mapping[str, float]) -> None: ...

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None: ...


def execution_seed(seed: int, trial_id: str, execution: int) -> int:
    """The seed of one execution: fixed by the sweep seed, the trial and the execution."""
    key = f"{seed}:{int(trial_id) if trial_id.isdigit() else trial_id}:{execution}"
    return zlib.crc32(key.encode()) & 0x7FFFFFFF


def build_oracle(spec: SweepSpec) -> keras_tuner.Oracle:
    """The KerasTuner oracle of the sweep's algorithm, over its declared search space.

    Its reports cost the same at every epoch, and from its creation on KerasTuner writes its
    JSON state atomically in this process (`fitsweep.kerastuner`).

    Example:
        >>> oracle = build_oracle(load_spec("sweeps/moons.yaml"))  # doctest: +SKIP
    """
    tuner = spec.tuner
    common = dict(
        objective=keras_tuner.Objective(tuner.objective, direction=tuner.direction),
        hyperparameters=declare_space(spec),
        seed=oracle_seed(tuner.seed),
        max_consecutive_failed_trials=tuner.max_consecutive_failures,
    )
    oracle_class = ORACLE_CLASSES[tuner.algorithm]
    if tuner.algorithm == "hyperband":
        oracle = oracle_class(max_epochs=spec.train.epochs, factor=tuner.factor, **common)
        oracle.max_trials = tuner.max_trials  # caps the brackets' trials, like the other algorithms
        return oracle
    return oracle_class(max_trials=tuner.max_trials, **common)


def oracle_seed(seed: int) -> int:
    """The seed an oracle is given for the sweep's `tuner.seed`.

    KerasTuner takes a seed of 0 for none and draws one at random (`seed or random.randint(...)`),
    so a sweep at the default seed 0 would search differently each time: 0 is given as 2**31,
    a seed no sweep file can name (they stop at 2**31 - 1).
    """
    return seed if seed else 2**31


class _ExecutionReports:
    """Sends each member's epochs to the oracle, the last one with the execution's summary.

    Each epoch's report is held back until the next, so that the last one can carry the summary:
    one oracle update per epoch, as KerasTuner's own reports.
    """

    def __init__(self, oracle: keras_tuner.Oracle, objective: str) -> None:
        self.oracle, self.objective = oracle, objective
        self.pending: dict[tuple[str, int], tuple[int, dict[str, float]]] = {}

    def epoch(self, member: Member, epoch: int, record: Mapping[str, float], seconds: float) -> None:
        self.flush(member)
        self.pending[(member.trial_id, member.execution)] = (
            epoch, records.epoch_metrics(member.execution, record, seconds, self.objective))

    def flush(self, member: Member, summary: Mapping[str, float] | None = None) -> None:
        held = self.pending.pop((member.trial_id, member.execution), None)
        if held is None:
            return
        epoch, report = held
        if summary:
            report.update(records.summary_metrics(member.execution, summary))
        self.oracle.update_trial(member.trial_id, report, step=epoch)


class NullObserver:
    """An observer that is told everything and shows nothing."""

    def trial_started(self, trial_id: str, values: Mapping[str, Any], epochs: int, executions: int) -> None:
        pass

    def epoch_ended(self, trial_id: str, execution: int, epoch: int, logs: Mapping[str, float]) -> None:
        pass

    def trial_ended(self, trial_id: str, status: str, score: float | None) -> None:
        pass


class SweepTuner(keras_tuner.Tuner):
    """Runs fitsweep trials under any KerasTuner oracle.

    Args:
        spec: The validated sweep.
        splits: The sweep's train, validation and test data.
        oracle: From `build_oracle(spec)`.
        observer: Told about trials and epochs; silent by default.
        **kwargs: Passed to `keras_tuner.Tuner` (directory, project_name, overwrite, ...).
    """

    def __init__(
        self,
        spec: SweepSpec,
        splits: Splits,
        oracle: keras_tuner.Oracle,
        observer: SweepObserver | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(oracle=oracle, executions_per_trial=spec.tuner.executions_per_trial, **kwargs)
        self.spec, self.splits = spec, splits
        self.family = family_for(spec)
        self.observer: SweepObserver = observer or NullObserver()
        self.oracle.verbose = 0
        self._asked_in_vain = False
        self.stopping = verdict_stopping(spec, splits)

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """KerasTuner's search loop, handing out several trials at once to train them fused.

        Trials report their own epochs to the oracle and end here (`_run_group`), never in
        KerasTuner's `Tuner._run_and_update_trial`, the one place that warns (a DeprecationWarning)
        about a tuner reporting its objective itself.

        The objects of TensorFlow's and Keras' imports are frozen (`gc.freeze`) meanwhile: Keras'
        `clear_session`, before every model, runs a full garbage collection, which would walk the
        400,000-odd objects TensorFlow and Keras create at import, a quarter of a second per model.
        Training freezes, after each such collection, what survived it (the fresh session every
        model starts in, in `fitsweep.training`), so the collection does not grow with the trials
        either. They are unfrozen when the search ends (unless the caller had frozen objects already).
        They are frozen without a collection first: the imports leave a few dozen unreachable objects
        (40 in a moons run), and finding them would walk all the others, a quarter of a second.
        """
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            self.on_search_begin()
            if self.stopping is not None:
                _seed_stopping(self.stopping, self.oracle)
            while True:
                self.pre_create_trial()
                trials = self._next_trials()
                if trials is None:
                    break
                for group in _fusable_groups(trials, self.spec, self.family):
                    self._run_group(group)
            self.on_search_end()
        finally:
            if freeze:
                gc.unfreeze()

    def _next_trials(self) -> list[keras_tuner.engine.trial.Trial] | None:
        """The trials to train next, up to the group size; [] when the oracle is busy, None when it is done.

        Each slot asks the oracle under its own tuner id, as separate workers would.
        """
        trials: list[keras_tuner.engine.trial.Trial] = []
        work, group_size = 0, self.trials_per_group
        with one_oracle_save(self.oracle):
            for slot in range(group_size):
                trial = self.oracle.create_trial(slot_tuner_id(self.tuner_id, slot))
                if trial.status == TrialStatus.STOPPED:
                    if slot == 0:
                        self._release_slots()
                        return None
                    break
                if trial.status == TrialStatus.IDLE:
                    break
                trials.append(trial)
                if len(trials) == group_size:  # full: no need to weigh it (a build family's would build it)
                    break
                work += fusion_work(self.family, trial_values(trial.hyperparameters.values), self.splits,
                                    self.executions_per_trial)
                if work >= MAX_FUSED_WORK or len(trials) * self.executions_per_trial >= MAX_FUSED_MEMBERS:
                    break
        return trials

    def _release_slots(self) -> None:
        """Tell every extra slot the search is over, so a chief oracle does not wait for them."""
        for slot in range(1, self.trials_per_group):
            self.oracle.create_trial(slot_tuner_id(self.tuner_id, slot))

    @property
    def trials_per_group(self) -> int:
        """How many trials one fused model may hold (1: each trial alone, its repeats fused)."""
        return trials_per_group(self.spec, worker=works_for_a_chief())

    def pre_create_trial(self) -> None:
        """Wait a moment before asking the oracle again when it had no trial to give (IDLE).

        A worker's oracle answers IDLE while it waits for other workers' results (Hyperband
        between rounds); the search loop would ask again at once, keeping a core and the chief busy.
        """
        if self._asked_in_vain:
            time.sleep(IDLE_WAIT_SECONDS)
        self._asked_in_vain = True

    def on_trial_begin(self, trial: keras_tuner.engine.trial.Trial) -> None:
        self._asked_in_vain = False
        self.observer.trial_started(trial.trial_id, trial.hyperparameters.values, _epochs(trial, self.spec),
                                    self.executions_per_trial)

    def on_trial_end(self, trial: keras_tuner.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        ended = self.oracle.get_trial(trial.trial_id)
        self.observer.trial_ended(trial.trial_id, str(ended.status), ended.score)

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> None:
        """One trial alone, its executions fused (KerasTuner requires a tuner without a hypermodel to define it)."""
        [(trial.status, trial.message)] = self._train([trial])

    def _run_group(self, trials: list[keras_tuner.engine.trial.Trial]) -> None:
        """Train trials as one model and end each, as KerasTuner's `_try_run_and_update_trial` would.

        A trial's status is set only as it ends: a trial marked completed must already have a score.
        """
        for trial in trials:
            self.on_trial_begin(trial)
        try:
            endings = self._train(trials)
        except keras_tuner.errors.FatalError:
            raise
        except Exception:  # noqa: BLE001 - as KerasTuner: the trials are invalid, the traceback their message
            interruption.raise_if_requested()  # an error in the wake of Ctrl-C or SIGTERM is theirs: rerun on resume
            endings = [(TrialStatus.INVALID, traceback.format_exc())] * len(trials)
        with one_oracle_save(self.oracle):
            for trial, (status, message) in zip(trials, endings, strict=True):
                trial.status, trial.message = status, message
                self.on_trial_end(trial)

    def _train(self, trials: list[keras_tuner.engine.trial.Trial]) -> list[tuple[str, str | None]]:
        """Train every execution of `trials` in one model, report them, save each trial's best model.

        Returns each trial's status and message.
        """
        members = [
            Member(trial.trial_id, execution, trial_values(trial.hyperparameters.values),
                   execution_seed(self.spec.tuner.seed, trial.trial_id, execution))
            for trial in trials for execution in range(self.executions_per_trial)
        ]
        reports = _ExecutionReports(self.oracle, self.spec.tuner.objective)

        def on_epoch(member: Member, epoch: int, record: dict[str, float], seconds: float) -> None:
            reports.epoch(member, epoch, record, seconds)
            self.observer.epoch_ended(member.trial_id, member.execution, epoch, record)

        outcomes = self._outcomes(trials, members, _epochs(trials[0], self.spec), on_epoch)
        endings = []
        best_so_far = self._best_signed_score()
        for trial in trials:
            mine = [outcome for outcome in outcomes if outcome.member.trial_id == trial.trial_id]
            for outcome in mine:
                reports.flush(outcome.member, outcome.summary)
            endings.append(self._settle(trial, mine, best_so_far))
        return endings

    def _outcomes(self, trials: list[keras_tuner.engine.trial.Trial], members: list[Member], epochs: int,
                  on_epoch: EpochListener) -> list[Outcome]:
        """Train the members: fused where the family stacks its networks, else one model at a time."""
        tuner = self.spec.tuner
        hyperparameters = {trial.trial_id: trial.hyperparameters for trial in trials}

        def build(member: Member) -> keras.Model:
            return self.family.build(member.values, self.splits, hyperparameters[member.trial_id])

        return train_executions(members, self.splits, self.family, build=build, epochs=epochs,
                                objective=tuner.objective, direction=tuner.direction,
                                patience=self.spec.train.early_stopping, on_epoch=on_epoch, stopping=self.stopping)

    def _settle(self, trial: keras_tuner.engine.trial.Trial, outcomes: list[Outcome],
                best_so_far: float) -> tuple[str, str | None]:
        """A trial is completed, its best execution's model saved if it may be the best; or failed if one diverged.

        KerasTuner scores a trial by the best epoch of its executions' mean, never better than
        its best execution's best epoch: a trial whose best execution is worse than the best score
        so far cannot become the best, and its model, which would be deleted, is not built.
        """
        diverged = [outcome for outcome in outcomes if outcome.diverged_at is not None]
        if diverged:
            first = diverged[0]
            return TrialStatus.FAILED, (f"Diverged: a loss became NaN or infinite at epoch "
                                        f"{(first.diverged_at or 0) + 1} (execution {first.member.execution})")
        best = min(outcomes, key=lambda outcome: outcome.best_value)
        if best.best_value <= best_so_far:
            best.network().save(f"{self.get_trial_dir(trial.trial_id)}/{MODEL_FILE}")
        return TrialStatus.COMPLETED, None

    def _best_signed_score(self) -> float:
        """The best score of the trials ended so far, lower is better (inf before the first)."""
        best = self.oracle.get_best_trials(1)
        score = best[0].score if best else None
        if score is None or not math.isfinite(score):
            return math.inf
        return float(score) if self.spec.tuner.direction == "min" else -float(score)


def verdict_stopping(spec: SweepSpec, splits: Splits) -> VerdictStopping | None:
    """The sweep's fit-aware stopping under `tuner.stopping: verdict`, else None."""
    if spec.tuner.stopping != "verdict":
        return None
    from fitsweep.analysis import chance_level_loss

    return VerdictStopping(chance_level_loss(splits.class_priors), spec.tuner.max_trials, spec.tuner.objective,
                           spec.tuner.direction)


def _seed_stopping(stopping: VerdictStopping, oracle: keras_tuner.Oracle) -> None:
    """Give the stopping the best epochs of the trials the oracle had completed (a resumed sweep's).

    A worker's oracle is a client of the chief's and lists no trials: it starts from its own.
    """
    for trial in list(getattr(oracle, "trials", {}).values()):
        if trial.status != TrialStatus.COMPLETED:
            continue
        summaries = records.execution_summaries(trial.metrics.metrics)
        for execution, by_epoch in records.execution_epochs(trial.metrics.metrics).items():
            best = summaries.get(execution, {}).get("best_epoch")
            if best is not None and int(best) in by_epoch:
                stopping.record(trial.trial_id, execution, by_epoch[int(best)])


def slot_tuner_id(tuner_id: str, slot: int) -> str:
    """The tuner id under which one slot of a fused group asks the oracle for a trial."""
    return tuner_id if slot == 0 else f"{tuner_id}.{slot}"


def slot_owner(slot_id: str) -> str:
    """The tuner id whose slot `slot_id` is (`slot_tuner_id`'s inverse): the process that trains it."""
    owner, dot, slot = slot_id.rpartition(".")
    return owner if dot and slot.isdigit() else slot_id


def slots_of(tuner_ids: Iterable[str], tuner_id: str) -> list[str]:
    """The ids among `tuner_ids` that are slots of the tuner `tuner_id` (itself included)."""
    return [name for name in tuner_ids if name == tuner_id or name.startswith(f"{tuner_id}.")]


def trials_per_group(spec: SweepSpec, worker: bool = False) -> int:
    """The most trials a fused model holds: `train.fused_trials`; 1 unfused or Bayesian.

    "auto" is 32 in one process and 1 in a worker of a chief, so that the trials spread over the
    workers. Bayesian optimisation picks each trial from the results of the trials before it, so
    it hands out one at a time (its repeats still train fused).
    """
    train_spec = spec.train
    if not train_spec.fused or spec.tuner.algorithm == "bayesian" or family_for(spec).train_fused is None:
        return 1
    if train_spec.fused_trials == "auto":
        return WORKER_FUSED_TRIALS if worker else MAX_FUSED_MEMBERS
    return int(train_spec.fused_trials)


def fusion_work(family: ModelFamily, values: Mapping[str, Any], splits: Splits, executions: int) -> int:
    """A trial's share of a fused step's arithmetic: parameters x batch size x executions."""
    return family.parameter_count(values, splits) * int(values["batch_size"]) * executions


def _fusable_groups(trials: list[keras_tuner.engine.trial.Trial], spec: SweepSpec, family: ModelFamily
                    ) -> list[list[keras_tuner.engine.trial.Trial]]:
    """The trials split into groups that can train in one model (same `fusion_key`), in order."""
    if family.train_fused is None:
        return [[trial] for trial in trials]
    groups: dict[tuple[Any, ...], list[keras_tuner.engine.trial.Trial]] = {}
    for trial in trials:
        key = fusion_key(trial_values(trial.hyperparameters.values), _epochs(trial, spec))
        groups.setdefault(key, []).append(trial)
    return list(groups.values())


def _epochs(trial: keras_tuner.engine.trial.Trial, spec: SweepSpec) -> int:
    """The epochs a trial trains: Hyperband's for its round, else the sweep's."""
    return int(trial.hyperparameters.values.get("tuner/epochs", spec.train.epochs))
