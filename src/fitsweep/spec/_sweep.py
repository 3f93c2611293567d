"""The whole sweep file: the `train`, `tuner` and `report` sections and `SweepSpec`, which holds them all.

`SweepSpec` checks what concerns several sections at once (a penalised objective, a build function
that compiles its own model), resolves its defaults for writing, and takes overrides;
`parse_spec` validates parsed data into one, with errors worded by `fitsweep.spec._messages`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from fitsweep.errors import SpecError
from fitsweep.spec._data import DataSpec, KerasTunerData
from fitsweep.spec._hyperparameters import BatchSize, LearningRate, Optimizer, Section
from fitsweep.spec._messages import KeyedProblem, describe, shown
from fitsweep.spec._model import MODEL_FAMILIES, BuildModelSpec, ModelSection, ModelSpec
from fitsweep.spec._overrides import overridden, overrides_source
from fitsweep.spec._writer import sweep_yaml

SWEEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Each task's losses (`train.loss`) and objectives (`tuner.objective`; `val_loss` serves both).
TASK_LOSSES = {"classification": ("crossentropy",), "regression": ("mse", "mae", "huber")}
TASK_OBJECTIVES = {"classification": ("val_crossentropy", "val_accuracy"),
                   "regression": ("val_mse", "val_mae", "val_r2")}
DEFAULT_OBJECTIVES = {"classification": "val_crossentropy", "regression": "val_mse"}


# --- training, tuner, report ----------------------------------------------------------------


class TrainSpec(Section):
    """How each model is trained."""

    optimizer: Optimizer = Field("adam", description="The Keras optimizer, at its defaults but the learning rate.")
    learning_rate: LearningRate = Field(0.001, description="The optimizer's learning rate.")
    batch_size: BatchSize = Field(32, description="Rows per gradient step.")
    epochs: int = Field(20, ge=1, le=100_000, description=(
        "Epochs per execution (with Hyperband: the most a trial gets)."))
    early_stopping: int | None = Field(None, ge=1, le=100_000, description=(
        "Patience in epochs on the objective; `null` trains every epoch. The best epoch's weights are kept "
        "either way."))
    # Train a trial's executions, and trials that share batch size, optimizer, learning rate and
    # epochs, as one model (fitsweep.training); false trains one network at a time.
    fused: bool = Field(True, description=(
        "Train a trial's executions, and trials that share `optimizer`, `learning_rate`, `batch_size` and "
        "epochs, as one model; `false` trains one network at a time, to the same tables (`--no-fuse`)."))
    # The most trials one fused model holds; "auto" fills it up to a size where fusing still pays.
    fused_trials: int | Literal["auto"] = Field("auto", description=(
        "The most trials in one fused model, from 1 (`--fused-trials N`). `auto` fills a model up to 32 executions or "
        "2^25 parameters x batch size per step (a worker of a chief takes one trial at a time); Bayesian "
        "search takes one trial at a time, so it allows only `auto` or 1."))
    loss: Literal["auto", "crossentropy", "mse", "mae", "huber"] = Field("auto", description=(
        "The loss the networks minimise: `auto` is `crossentropy` for classification and `mse` for regression; "
        "`mse`, `mae` and `huber` are Keras' MeanSquaredError, MeanAbsoluteError and Huber (regression only)."))

    @field_validator("fused_trials")
    @classmethod
    def _positive_group(cls, value: int | str) -> int | str:
        if value != "auto" and int(value) < 1:
            raise ValueError(f"fused_trials {value} must be 'auto' or a whole number of trials from 1")
        return value


class TunerSpec(Section):
    """Which KerasTuner search runs, for how long, and towards what."""

    algorithm: Literal["random", "grid", "bayesian", "hyperband"] = Field("random", description=(
        "The search: one of KerasTuner's own oracles."))
    max_trials: int = Field(10, ge=1, le=1_000_000, description="Trials to run; also caps Hyperband's trials.")
    # val_crossentropy is Keras' val_loss without the L1/L2 penalty: equal to it without penalties.
    objective: Literal["val_loss", "val_accuracy", "val_crossentropy", "val_mse", "val_mae", "val_r2"] = Field(
        "val_crossentropy", description=(
            "What selection ranks by: `val_crossentropy` and `val_loss` are minimised, `val_accuracy` maximised; "
            "a regression's `val_mse` (its default) and `val_mae` are minimised, `val_r2` maximised. `val_loss` is "
            "refused when some trial can have an L1 or L2 penalty, which it includes."))
    executions_per_trial: int = Field(1, ge=1, le=100, description="Repeats of each trial, each with its own seed.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description=(
        "Seeds the search and, per trial and execution, the model's weights, dropout and shuffling."))
    factor: int = Field(3, ge=2, le=100, description="Hyperband's reduction factor (Hyperband only).")
    max_consecutive_failures: int = Field(3, ge=1, le=1_000_000, description=(
        "Stop the sweep after this many failed trials in a row."))
    stopping: Literal["off", "verdict"] = Field("off", description=(
        "`verdict`: stop an execution once its verdict is settled, after a warm-up of 20% of the epochs (at "
        "least 10): underfit beyond noise against the best validation level the sweep has reached so far, with a "
        "training loss that cannot close the gap at its current rate, or overfit with its validation loss risen "
        "beyond noise for 5 epochs. Its kept weights are its best epoch's; the trials table says when and why it "
        "stopped (`stopped_at`, `stop_reason`). `off`: only divergence and `train.early_stopping` stop one."))

    @property
    def direction(self) -> Literal["min", "max"]:
        """Whether the objective is minimised (losses) or maximised (accuracies, R²)."""
        return "max" if self.objective.endswith(("accuracy", "r2")) else "min"


class ReportSpec(Section):
    """What a run writes for reading, besides its tables and report."""

    # TensorBoard event files under RUN_DIR/tensorboard (fitsweep.tensorboard): curves and HParams sessions.
    tensorboard: bool = Field(True, description=(
        "Write TensorBoard event files under `RUN_DIR/tensorboard` as the run goes; `false` writes none "
        "(`--no-tensorboard`)."))


class SweepSpec(Section):
    """A validated sweep file."""

    name: str = Field(description=(
        "1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit: the run's folder name."))
    data: DataSpec = Field(description="Where the data come from, and how they are split and scaled.")
    model: ModelSection = Field(ModelSpec(), description="The network: its family and that family's keys.")
    train: TrainSpec = Field(TrainSpec(), description="How each network trains.")
    tuner: TunerSpec = Field(TunerSpec(), description="Which KerasTuner search runs, for how long, towards what.")
    report: ReportSpec = Field(ReportSpec(), description="What a run writes for reading besides its tables and report.")

    @model_validator(mode="after")
    def _penalty_free_objective(self, info: ValidationInfo) -> SweepSpec:
        # A recorded run (its results folder) keeps the objective it ran with.
        recorded = bool(info.context and info.context.get("recorded"))
        if self.tuner.objective == "val_loss" and not recorded and self.model.can_penalise:
            plain = ("val_mse (the squared error without the penalty), val_mae or val_r2"
                     if self.data_task == "regression" else
                     "val_crossentropy (the same loss without the penalty) or val_accuracy")
            raise KeyedProblem(
                "tuner.objective", "val_loss includes the L1/L2 penalty, so it would rank penalised networks by "
                f"their penalty rather than their fit; use {plain}"
            )
        return self

    @model_validator(mode="after")
    def _task_keys_agree(self) -> SweepSpec:
        if self.data_task in TASK_LOSSES:
            check_task(self, self.data_task)
        return self

    @property
    def data_task(self) -> str:
        """`data.task` as the sweep file says it: auto, classification or regression."""
        return str(getattr(self.data, "task", "auto"))

    @property
    def recorded_task(self) -> str:
        """The task a run of this sweep trains: `data.task` once `for_task` settled it; classification before.

        Runs recorded before fitsweep regressed numeric targets, whose sweep.yaml has no `task`, classified.
        """
        return "regression" if self.data_task == "regression" else "classification"

    def for_task(self, task: str, source: str | None = None) -> SweepSpec:
        """The sweep with `data.task`, `train.loss`, a default `tuner.objective` and `data.stratify` settled for `task`.

        `run` and `validate` call it once the data are loaded and `data.task: auto` has decided,
        so the recorded sweep file says what ran (a regression's `stratify` is false: its splits are
        drawn at random). `source` is what an error names (the sweep file).

        Raises:
            SpecError: A key that does not fit the task (a regression loss for classes, ...).

        Example:
            >>> spec = parse_spec({"name": "d", "data": {"source": "csv", "path": "d.csv"}})
            >>> spec.for_task("regression").tuner.objective
            'val_mse'
        """
        try:
            check_task(self, task)
        except KeyedProblem as problem:
            raise SpecError(problem.problem, source=source, key=problem.key) from None
        tuner = self.tuner
        if "objective" not in tuner.model_fields_set:
            tuner = tuner.model_copy(update={"objective": DEFAULT_OBJECTIVES[task]})
        loss = self.train.loss if self.train.loss != "auto" else TASK_LOSSES[task][0]
        update: dict[str, Any] = {"tuner": tuner, "train": self.train.model_copy(update={"loss": loss})}
        if not isinstance(self.data, KerasTunerData):
            # A numeric target has no classes to stratify by: its splits are drawn at random, and the record says so.
            stratify = self.data.stratify and task == "classification"
            update["data"] = self.data.model_copy(update={"task": task, "stratify": stratify})
        return self.model_copy(update=update)

    @model_validator(mode="after")
    def _runnable_data(self, info: ValidationInfo) -> SweepSpec:
        recorded = bool(info.context and info.context.get("recorded"))
        if isinstance(self.data, KerasTunerData) and not recorded:
            raise KeyedProblem("data.source", "kerastuner only describes a search imported with `fitsweep import`; "
                               "a sweep file needs data fitsweep can load (moons, circles, digits, hdf5, csv, npz, "
                               "notmnist)")
        return self

    @model_validator(mode="after")
    def _compiled_by_the_build_function(self) -> SweepSpec:
        if isinstance(self.model, BuildModelSpec):
            for key in ("optimizer", "learning_rate"):
                if key in self.train.model_fields_set:
                    raise KeyedProblem(f"train.{key}", "a model from model.build is compiled by its function, "
                                       f"which chooses its optimizer and learning rate; remove train.{key}")
        return self

    @model_validator(mode="after")
    def _fusable_algorithm(self) -> SweepSpec:
        fused_trials = self.train.fused_trials
        if self.tuner.algorithm == "bayesian" and fused_trials != "auto" and fused_trials > 1:
            raise KeyedProblem(
                "train.fused_trials", "bayesian optimisation picks each trial from the results before it, so it "
                "hands out one trial at a time; use fused_trials 1 or auto (its repeats still train fused), not "
                f"{fused_trials}"
            )
        return self

    @model_validator(mode="after")
    def _check_name(self) -> SweepSpec:
        if not SWEEP_NAME.match(self.name):
            raise ValueError(
                f"name {shown(self.name)} must be 1-64 letters, digits, '.', '_' or '-' "
                "and start with a letter or digit"
            )
        return self

    def with_overrides(self, *, max_trials: int | None = None, epochs: int | None = None,
                       fused: bool | None = None, fused_trials: int | None = None,
                       tensorboard: bool | None = None, source: str | None = None) -> SweepSpec:
        """A copy with the given keys overridden (None keeps a key) and validated again.

        Args:
            max_trials: `tuner.max_trials`.
            epochs: `train.epochs`.
            fused: `train.fused`.
            fused_trials: `train.fused_trials`.
            tensorboard: `report.tensorboard`.
            source: What an error names as the overrides' source; by default the call itself,
                such as `with_overrides(epochs=0)`. The command line names its flags.

        Example:
            >>> spec = parse_spec({"name": "moons", "data": {"source": "moons"}})
            >>> spec.with_overrides(max_trials=3, epochs=5).train.epochs
            5
        """
        overrides = {"max_trials": max_trials, "epochs": epochs, "fused": fused, "fused_trials": fused_trials,
                     "tensorboard": tensorboard}
        return parse_spec(overridden(self.resolved(), overrides), source or overrides_source(overrides))

    def resolved(self) -> dict[str, Any]:
        """Every key with its value, defaults included, as plain data that validates again."""
        raw: dict[str, Any] = _plain(self.model_dump(mode="json"))
        if "objective" not in self.tuner.model_fields_set:  # its default depends on the task (`for_task`)
            del raw["tuner"]["objective"]
        model = raw["model"]
        if isinstance(self.model, BuildModelSpec):  # its function compiles the model
            del raw["train"]["optimizer"], raw["train"]["learning_rate"]
        if not isinstance(self.model, ModelSpec):  # other families have no alternative keys
            return raw
        if self.model.layers is not None:  # depth and width are unused then, and may not be given
            del model["depth"], model["width"]
        else:
            del model["layers"]
        if self.model.regularizers is not None:
            del model["dropout"], model["l1"], model["l2"]
        else:
            del model["regularizers"]
        return raw

    def to_yaml(self) -> str:
        """The resolved sweep file as YAML."""
        return sweep_yaml(self.resolved())


def check_task(spec: SweepSpec, task: str) -> None:
    """Raise `KeyedProblem` for a key of the sweep that does not fit `task` (classification or regression)."""
    other = "regression" if task == "classification" else "classification"
    to_other = f"; or set data.task: {other}"
    if spec.train.loss in TASK_LOSSES[other]:
        raise KeyedProblem("train.loss", f"{spec.train.loss} is a {other} loss, and the task is {task}; allowed: "
                           f"{', '.join(('auto', *TASK_LOSSES[task]))}{to_other}")
    objective = spec.tuner.objective
    if "objective" in spec.tuner.model_fields_set and objective in TASK_OBJECTIVES[other]:
        raise KeyedProblem("tuner.objective", f"{objective} measures {other}, and the task is {task}; allowed: "
                           f"{', '.join(('val_loss', *TASK_OBJECTIVES[task]))}{to_other}")
    if task == "classification" and getattr(spec.data, "standardize_target", False):
        raise KeyedProblem("data.standardize_target", "applies to a regression target, and the task is "
                           "classification; remove it, or set data.task: regression")


def _plain(value: Any) -> Any:
    """Nested dicts and lists only, so a dump reads back as the same spec."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def parse_spec(raw: Any, source: str = "<sweep>", *, recorded: bool = False) -> SweepSpec:
    """Validate an already-parsed sweep file (a dict), naming `source` in errors (`recorded`: see `load_spec`)."""
    if not isinstance(raw, dict):
        raise SpecError("a sweep file must be a mapping with keys name, data, model, train, tuner, report",
                        source=source)
    try:
        return SweepSpec.model_validate(raw, context={"recorded": recorded})
    except ValidationError as error:
        key, problem = describe(error, SweepSpec, MODEL_FAMILIES)
        raise SpecError(problem, source=source, key=key) from None
