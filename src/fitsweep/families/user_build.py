"""The build family: models from the user's own KerasTuner `build(hp)` function.

`model: {build: FILE.py:FUNCTION}` names the function, as a KerasTuner user writes it: it
declares its hyperparameters on `hp` (`hp.Int`, `hp.Choice`, conditional scopes, ...) and
returns a compiled `keras.Model`. fitsweep imports FILE.py by its path, once per process, and
so runs the file's code: a sweep file that names a build function is as trusted as a Python
script. While the file is imported its folder comes first on `sys.path`, so it can import its
neighbours.

The search space is what the function declares, found as KerasTuner's `Tuner` finds it: the
function is called with fresh `HyperParameters`, then again with values that open each
conditional scope not yet active, until every scope has been active once. `batch_size` joins
it from `train.batch_size`. Each trial calls the function with `HyperParameters` holding the
trial's values and trains what it returns on `fitsweep.training.train_alone`'s path; the
function's own compile chooses the loss, optimizer and learning rate.

A function object passed to `fitsweep.run_sweep(build=...)` is recorded as `python:NAME`: this
process can run and resume it, no other (a resumed run elsewhere, `--workers`) can load it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from fitsweep.errors import SpecError
from fitsweep.results.tables import TRIAL_METRIC_COLUMNS
from fitsweep.space import declare_form
from fitsweep.spec import BuildModelSpec, Choice, Range, SweepSpec, parse_spec

if TYPE_CHECKING:
    import keras
    import keras_tuner

    from fitsweep.data import Splits
    from fitsweep.training.heads import Head

__all__ = ["BuildError", "BuildFamily", "PYTHON_PREFIX", "custom_objects", "load_function", "located_build",
           "require_loadable", "with_build_function"]

PYTHON_PREFIX = "python:"
# Calls of the function while declaring: enough for any space whose scopes open one another.
MAX_DECLARING_CALLS = 100
# Names the trials table (and the tables derived from it) gives its own columns, or decodes as
# fitsweep's encodings (`fitsweep.results.columns`): a declared hyperparameter may not take them.
RESERVED_NAMES = frozenset({
    "trial_id", "execution", "status", "layers", "regularizers", "regularizer_kind", "run", "fit", "fit_reason",
    "batch_size", *TRIAL_METRIC_COLUMNS,
})

_MODULES: dict[Path, ModuleType] = {}  # imported files, by resolved path
_FUNCTIONS: dict[str, Callable[..., Any]] = {}  # "python:NAME" -> the function passed to run_sweep(build=...)
_DECLARED: dict[Callable[..., Any], _Declared] = {}  # each function's space, declared once per process


class BuildError(Exception):
    """A trial whose build function raised or returned no usable model: that trial fails."""


@dataclass(frozen=True)
class _Declared:
    """What declaring found: the space, and the model of the first call (to check against the data)."""

    space: keras_tuner.HyperParameters
    model: keras.Model


class BuildFamily:
    """Models from a user's `build(hp)` function, trained one at a time (`training.train_alone`)."""

    train_fused = None  # its networks do not stack: each trains alone

    def __init__(self, spec: SweepSpec) -> None:
        if not isinstance(spec.model, BuildModelSpec):
            raise TypeError(f"the build family cannot build a {spec.model.family} model")
        self.spec: SweepSpec = spec
        self.model: BuildModelSpec = spec.model
        self.where: str = spec.model.build  # names the file and function in every message

    def searched_parameters(self) -> dict[str, Any]:
        forms = {hp.name: _form(hp) for hp in self._declared().space.space}
        return {**forms, "batch_size": self.spec.train.batch_size}

    def hyperparameter_names(self) -> list[str]:
        return list(self.searched_parameters())

    def declare(self, hp: keras_tuner.HyperParameters) -> None:
        hp.merge(self._declared().space)
        declare_form(hp, "batch_size", self.spec.train.batch_size)

    def check_data(self, splits: Splits) -> None:
        """The model the function returned while declaring must take the data's rows and classes."""
        from fitsweep.training import ModelError, check_model

        try:
            check_model(self._declared().model, splits)
        except ModelError as error:
            raise SpecError(f"{self.where}: {error}") from None

    def build(self, values: Mapping[str, Any], splits: Splits,
              hyperparameters: keras_tuner.HyperParameters | None = None) -> keras.Model:
        """The function's model for one trial's values; `BuildError` (naming the function) if it has none.

        Given the trial's `hyperparameters`, the function is called with them, so what it declares
        only for some values (`units_1` when `num_layers` is 2, in a loop) joins the trial at its
        default, as in KerasTuner, and the oracle's space when the trial ends.
        """
        from fitsweep.training import ModelError, check_model

        hp = hyperparameters
        if hp is None:
            hp = self._declared().space.copy()
            hp.values = _as_kerastuner_values(values)
        try:
            model = self._function()(hp)
        except Exception as error:  # the user's code: any failure fails this trial
            raise BuildError(f"{self.where}: raised {_first_line(error)}") from error
        problem = _not_compiled_model(model)
        if problem:
            raise BuildError(f"{self.where}: {problem}")
        try:
            check_model(model, splits)
        except ModelError as error:
            raise BuildError(f"{self.where}: {error}") from None
        return model

    def head(self, splits: Splits) -> Head:
        """The models' output for the data's task, with the sweep's `train.loss`."""
        from fitsweep.training.heads import head_for

        return head_for(splits, self.spec.train.loss)

    def parameter_count(self, values: Mapping[str, Any], splits: Splits) -> int:
        """The built model's `count_params()`; 0 for values it cannot build (that trial fails as it trains)."""
        try:
            return int(self.build(values, splits).count_params())
        except BuildError:
            return 0

    def _function(self) -> Callable[..., Any]:
        return load_function(self.model)

    def _declared(self) -> _Declared:
        function = self._function()
        if function not in _DECLARED:
            _DECLARED[function] = _declare(function, self.where)
        return _DECLARED[function]


def load_function(model: BuildModelSpec) -> Callable[..., Any]:
    """The function `model.build` names, its file imported once per process.

    Raises:
        SpecError: One line naming the file and function: no such file, not Python, the import
            failed, no such function, not callable.
    """
    where = model.build
    if model.build.startswith(PYTHON_PREFIX):
        if model.build not in _FUNCTIONS:
            raise SpecError(f"model.build: {where} was a function passed to run_sweep(build=...) in another Python "
                            f"process and cannot be loaded here; put it in a .py file and give model.build: "
                            f"FILE.py:{model.function}")
        return _FUNCTIONS[model.build]
    module = _import_file(Path(model.file), where)
    found: Any = module
    for part in model.function.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise SpecError(f"{where}: {model.file} has no {model.function!r}")
    if not callable(found):
        raise SpecError(f"{where}: {model.function} is a {type(found).__name__}, not a function build(hp)")
    function: Callable[..., Any] = found
    return function


def _import_file(path: Path, where: str) -> ModuleType:
    """Import a Python file by its path (running its code), once per process."""
    if path.suffix != ".py":
        raise SpecError(f"{where}: {path} is not a .py file; give model.build as FILE.py:FUNCTION")
    if not path.is_file():
        raise SpecError(f"{where}: no such file {path}")
    resolved = path.resolve()
    if resolved in _MODULES:
        return _MODULES[resolved]
    name = f"fitsweep_build_{resolved.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
    loader_spec = importlib.util.spec_from_file_location(name, resolved)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"{where}: {path} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # as an import would: dataclasses and pickling look the module up
    sys.path.insert(0, str(resolved.parent))
    try:
        loader_spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[name]
        raise SpecError(f"{where}: {path} is not valid Python: {error.msg} (line {error.lineno})") from None
    except BaseException as error:  # the file's own code: SystemExit too
        del sys.modules[name]
        if isinstance(error, KeyboardInterrupt):
            raise
        raise SpecError(f"{where}: importing {path} raised {_first_line(error)}") from None
    finally:
        with contextlib.suppress(ValueError):  # unless the file's code took it off itself
            sys.path.remove(str(resolved.parent))
    _MODULES[resolved] = module
    return module


def _declare(function: Callable[..., Any], where: str) -> _Declared:
    """The function's space, found as KerasTuner's `Tuner._populate_initial_space` finds it.

    The function is called with a copy of the space so far; what it declares joins the space;
    while some conditional scope has never been active, it is called again with that scope's
    conditions met (the other values drawn at random, as KerasTuner does).
    """
    import keras_tuner

    space = keras_tuner.HyperParameters()
    never_active: list[Any] = []
    once_active: list[Any] = []
    hp, first_model = space.copy(), None
    for _ in range(MAX_DECLARING_CALLS):
        model = _declaring_call(function, hp, where)
        first_model = first_model if first_model is not None else model
        space.merge(hp, overwrite=False)
        for conditions in hp.active_scopes:
            if conditions not in once_active:
                once_active.append(conditions)
            if conditions in never_active:
                never_active.remove(conditions)
        for conditions in hp.inactive_scopes:
            if conditions not in once_active and conditions not in never_active:
                never_active.append(conditions)
        if not never_active:
            break
        hp = space.copy()
        for condition in never_active[0]:
            hp.values[condition.name] = condition.values[0]
        hp.ensure_active_values()
    else:
        raise SpecError(f"{where}: some of its conditional scopes stayed inactive after {MAX_DECLARING_CALLS} calls")
    _check_names(space, where)
    return _Declared(space, first_model)


def _declaring_call(function: Callable[..., Any], hp: keras_tuner.HyperParameters, where: str) -> keras.Model:
    """Call the function while declaring; what it raises or returns amiss is a `SpecError` naming it."""
    try:
        model = function(hp)
    except Exception as error:  # noqa: BLE001 - the user's code: any failure is one line
        raise SpecError(f"{where}: raised {_first_line(error)} while declaring its hyperparameters") from None
    problem = _not_compiled_model(model)
    if problem:
        raise SpecError(f"{where}: {problem}")
    compiled: keras.Model = model
    return compiled


def _not_compiled_model(model: Any) -> str | None:
    """What is wrong with what the function returned, or None for a compiled Keras model."""
    import keras

    if not isinstance(model, keras.Model):
        return f"returned {type(model).__name__}, not a keras.Model; build(hp) must return a compiled model"
    if not getattr(model, "compiled", False):
        return "returned a model that is not compiled; call model.compile(loss=..., optimizer=...) before returning it"
    return None


def _check_names(space: keras_tuner.HyperParameters, where: str) -> None:
    names = [hp.name for hp in space.space]
    if not names:
        raise SpecError(f"{where}: declares no hyperparameters (hp.Int, hp.Float, hp.Choice, ...), so there is "
                        f"nothing to search")
    for name in names:
        if name == "batch_size":
            raise SpecError(f"{where}: declares batch_size, which fitsweep searches from train.batch_size "
                            f"(such as {{values: [32, 64]}}); remove it from the function")
        if name in RESERVED_NAMES or name.startswith("tuner/"):
            raise SpecError(f"{where}: declares {name!r}, the name of a column fitsweep's trials table "
                            f"keeps for itself; rename the hyperparameter")


def _form(hp: Any) -> Any:
    """A KerasTuner hyperparameter in a sweep file's form: a constant, a `Choice` or a `Range`."""
    kind = type(hp).__name__
    if kind == "Fixed":
        return hp.value
    if kind == "Boolean":
        return Choice(values=[False, True])
    if kind == "Choice":
        return Choice(values=list(hp.values))
    if kind in ("Int", "Float"):
        number = int if kind == "Int" else float
        step = number(hp.step) if hp.step is not None else None
        # model_construct: KerasTuner's `reverse_log` sampling has no sweep-file spelling
        return Range.model_construct(min=number(hp.min_value), max=number(hp.max_value), step=step,
                                     sampling=hp.sampling or "linear")
    return str(hp)


def _as_kerastuner_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as KerasTuner hands them out, also when read from a trials table (a retrain).

    NumPy scalars become Python ones (Keras layers refuse `numpy.int64` units); a missing value
    (NaN or NA: a conditional hyperparameter the trial did not use) is left out.
    """
    import pandas as pd

    plain = {}
    for name, value in values.items():
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            continue
        plain[name] = value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value
    return plain


def _first_line(error: BaseException) -> str:
    """`Type: message`, the message's first line only."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


# --- where the function comes from -----------------------------------------------------------


def located_build(spec: SweepSpec, base_dir: str | Path, function: Callable[..., Any] | None = None) -> SweepSpec:
    """The spec as a run records it: a relative `model.build` file made absolute from `base_dir`.

    `function` (from `run_sweep(build=...)`) replaces the spec's model section with that function.
    """
    if function is not None:
        return with_build_function(spec, function)
    if isinstance(spec.model, BuildModelSpec):
        return spec.model_copy(update={"model": spec.model.located(base_dir)})
    return spec


def with_build_function(spec: SweepSpec, function: Callable[..., Any]) -> SweepSpec:
    """The spec with its model from `function`, a KerasTuner `build(hp)`, recorded as `python:NAME`.

    The spec's own `model` section must be left out; `train.optimizer` and `train.learning_rate`
    are the function's to choose.

    Raises:
        SpecError: `function` is not callable, or the spec describes another model.
    """
    if not callable(function):
        raise SpecError(f"run_sweep(build=...): {type(function).__name__} is not a function build(hp)")
    if "model" in spec.model_fields_set and not isinstance(spec.model, BuildModelSpec):
        raise SpecError("run_sweep(build=...): the sweep also has a model section; leave it out, the function "
                        "builds the model")
    name = re.sub(r"\W", "_", getattr(function, "__name__", "build")) or "build"
    if not re.match(r"[A-Za-z_]", name):
        name = f"_{name}"
    key = f"{PYTHON_PREFIX}{name}"
    _FUNCTIONS[key] = function
    raw = spec.resolved()
    raw["model"] = {"build": key}
    for train_key in ("optimizer", "learning_rate"):
        if train_key not in spec.train.model_fields_set:
            raw["train"].pop(train_key, None)
    return parse_spec(raw, "run_sweep(build=...)")


def custom_objects(spec: SweepSpec) -> dict[str, Any]:
    """The classes a saved model of the sweep may need to load: those the build function's module defines.

    Keras finds its own layers by name; a layer class defined beside `build` (and not registered
    with `keras.saving.register_keras_serializable`) is found here. Empty for other families, or
    when the function cannot be loaded any more.
    """
    if not isinstance(spec.model, BuildModelSpec):
        return {}
    try:
        function = load_function(spec.model)
    except SpecError:  # the file moved since the run: Keras' own layers still load
        return {}
    namespace: dict[str, Any] = getattr(function, "__globals__", {})
    return {name: value for name, value in namespace.items() if isinstance(value, type)}


def require_loadable(spec: SweepSpec, what: str) -> None:
    """Refuse (`SpecError`, one line) to hand a function object's sweep to other processes (`what`)."""
    if isinstance(spec.model, BuildModelSpec) and spec.model.build.startswith(PYTHON_PREFIX):
        raise SpecError(f"{what}: model.build {spec.model.build} is a function passed from Python, which other "
                        f"processes cannot load; put it in a .py file and give model.build: FILE.py:"
                        f"{spec.model.function}")
