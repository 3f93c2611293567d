"""Properties of sweep-file validation over generated input.

Whatever a YAML document parses to, `parse_spec` returns a `SweepSpec` or raises `SpecError` with
one short line; and every valid sweep file reads back from its resolved YAML as the same spec.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tiny_sweep
from fitsweep import SpecError, SweepSpec, load_spec, parse_spec
from fitsweep.spec import ACTIVATIONS, OPTIMIZERS, SWEEP_NAME, parse_spec_text

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Longer than any message fitsweep writes; a value quoted whole (an alias bomb) would exceed it.
MAX_MESSAGE = 1000

# Keys fitsweep knows, so generated mappings hit the validators and not only "unknown key".
KNOWN_KEYS = [
    "name", "data", "model", "train", "tuner", "source", "samples", "noise", "seed", "factor", "path",
    "test_size", "validation_size", "split_seed", "stratify", "scaling", "limit", "target", "test_path",
    "train_dataset", "test_dataset", "validation_dataset", "label_column", "depth", "width", "layers",
    "activation", "dropout", "l1", "l2", "regularizers", "optimizer", "learning_rate", "batch_size",
    "epochs", "early_stopping", "algorithm", "max_trials", "objective", "executions_per_trial",
    "max_consecutive_failures", "values", "min", "max", "step", "sampling",
]
INTERESTING = [
    0, 1, -1, 2, 64, 65, 0.0, 0.5, 1.0, -0.001, 1e-12, 1e300, math.nan, math.inf, -math.inf, 10**400, -(10**400),
    True, False, None, "", "relu", "adam", "log", "moons", "hdf5", "../../x", "a\nb", [], {}, [8, 0], [[8], [16, 8]],
    {"values": []}, {"values": [0.1, 0.2]}, {"min": 1, "max": 0}, {"min": 0.0, "max": 0.1, "sampling": "log"},
    {"min": 1, "max": 3, "step": 0}, {"min": 1, "max": 10**400}, {"values": [{"dropout": 0.1}]},
]

scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats() | st.text(max_size=12) | st.sampled_from(INTERESTING)
)
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12) | st.integers(-3, 3) | st.none() | st.booleans()
yaml_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=16,
)

BASES: list[dict[str, Any]] = [
    tiny_sweep(),
    tiny_sweep(model={"layers": {"values": [[8], [16, 8], []]}, "activation": {"values": ["relu", "tanh"]}}),
    tiny_sweep(model={"depth": 1, "width": 4, "regularizers": {"values": [{"dropout": 0.2}, {"l2": 0.01}]}}),
    tiny_sweep(data={"source": "hdf5", "path": "data.h5", "test_dataset": None, "label_column": 0}),
    tiny_sweep(data={"source": "csv", "path": "train.csv", "target": "label", "test_path": "test.csv"}),
    tiny_sweep(data={"source": "npz", "path": "x.npz", "scaling": "standardize"}),
    tiny_sweep(data={"source": "notmnist", "limit": 500}, tuner={"algorithm": "hyperband", "factor": 3}),
    tiny_sweep(train={"optimizer": {"values": ["sgd", "adam"]}, "learning_rate": {"min": 1e-4, "max": 0.1,
                      "sampling": "log"}, "early_stopping": 5}, tuner={"objective": "val_accuracy"}),
]


def _clean(spec: dict[str, Any]) -> dict[str, Any]:
    """tiny_sweep merges sections, so drop the moons keys another source lacks and the dropout and
    l2 that `regularizers` replaces."""
    if spec["data"]["source"] != "moons":
        spec["data"] = {k: v for k, v in spec["data"].items() if k not in ("samples", "noise", "seed")}
    if "regularizers" in spec["model"]:
        spec["model"] = {k: v for k, v in spec["model"].items() if k not in ("dropout", "l1", "l2")}
    return spec


BASES = [_clean(base) for base in BASES]
for base in BASES:  # the templates themselves are valid
    parse_spec(base)


def check(raw: Any) -> SweepSpec | None:
    """The property itself: a spec, or a SpecError of one short line; nothing else escapes."""
    try:
        spec = parse_spec(raw, "generated.yaml")
    except SpecError as error:
        message = str(error)
        assert message.startswith("generated.yaml"), message
        assert message.isprintable(), repr(message)  # no newline, no control character
        assert len(message) <= MAX_MESSAGE, message[:200]
        return None
    assert isinstance(spec, SweepSpec)
    return spec


def _containers(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every dict and list inside `value`, the root included."""
    found = [path] if isinstance(value, (dict, list)) else []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found += _containers(child, (*path, key))
    return found


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated_sweeps(draw: st.DrawFn) -> dict[str, Any]:
    """A valid sweep file with one to four mutations: keys deleted, values replaced, keys inserted."""
    # Deep copies throughout: a mutation must never edit a template or a shared INTERESTING value.
    sweep = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        target = _at(sweep, draw(st.sampled_from(_containers(sweep))))
        operation = draw(st.sampled_from(["delete", "replace", "insert"]))
        if isinstance(target, dict) and target and operation == "delete":
            del target[draw(st.sampled_from(sorted(target, key=str)))]
        elif isinstance(target, dict) and target and operation == "replace":
            target[draw(st.sampled_from(sorted(target, key=str)))] = copy.deepcopy(draw(yaml_like))
        elif isinstance(target, dict):
            target[draw(keys)] = copy.deepcopy(draw(yaml_like))
        elif target and operation != "insert":
            index = draw(st.integers(0, len(target) - 1))
            if operation == "delete":
                del target[index]
            else:
                target[index] = copy.deepcopy(draw(yaml_like))
        else:
            target.append(copy.deepcopy(draw(yaml_like)))
    return sweep


def reads_back(spec: SweepSpec) -> SweepSpec:
    return parse_spec_text(spec.to_yaml(), "resolved")


@SETTINGS
@given(yaml_like)
def test_any_document_gives_a_spec_or_one_line_spec_error(raw: Any) -> None:
    check(raw)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["name", "data", "model", "train", "tuner"]), yaml_like, min_size=1))
def test_any_sections_give_a_spec_or_one_line_spec_error(raw: dict[str, Any]) -> None:
    check(raw)


@SETTINGS
@given(mutated_sweeps())
def test_mutated_sweep_gives_a_spec_or_one_line_spec_error(raw: dict[str, Any]) -> None:
    spec = check(raw)
    if spec is not None:  # a mutation that kept the file valid must still round-trip
        assert reads_back(spec) == spec


# YAML syntax spliced into a dumped sweep file, so that the reader itself meets broken text.
SPLICES = [
    "&a ", "*a", "*b", "!!int ", "!!float ", "!!timestamp ", "!!binary ", "!!python/object/apply:os.system ",
    "<<: *a\n", "<<: [*a, *a]\n", "---\n", "...\n", "%YAML 1.1\n", "\t", "\x07", "\x00", "\ufeff", "[", "]",
    "{", "}", ": ", "- ", "? ", "'", '"', "#", "\n  ", "9" * 5000, ".nan", "-.inf", "1e5", "~", "[" * 40,
]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    text = yaml.safe_dump(draw(mutated_sweeps()), sort_keys=False, default_flow_style=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(SPLICES) | st.text(max_size=3)) + text[at:]
    return text


@SETTINGS
@given(text=yaml_texts())
def test_any_yaml_text_gives_a_spec_or_one_line_spec_error(text: str, scratch: Path) -> None:
    path = scratch / "generated.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        spec = load_spec(path)
    except SpecError as error:
        message = str(error)
        assert message.startswith(str(path)) and message.isprintable(), repr(message)
        assert len(message) <= MAX_MESSAGE + len(str(path)), message[:200]
    else:
        assert reads_back(spec) == spec


# --- valid sweep files, generated --------------------------------------------------------------------


def _param(values: st.SearchStrategy[Any], *, low: float | None = None, high: float | None = None,
           integer: bool = False) -> st.SearchStrategy[Any]:
    """A searchable hyperparameter: a constant, a choice, or (for numbers) a range within bounds."""
    forms = [values, st.lists(values, min_size=1, max_size=4).map(lambda v: {"values": v})]
    if low is not None and high is not None:
        @st.composite
        def ranges(draw: st.DrawFn) -> dict[str, Any]:
            a, b = sorted([draw(values), draw(values)])
            found: dict[str, Any] = {"min": a, "max": b}
            if a > 0 and draw(st.booleans()):
                found["sampling"] = "log"
            if draw(st.booleans()):
                found["step"] = draw(st.integers(1, 4)) if integer else draw(st.floats(1e-3, 1.0))
            return found

        forms.append(ranges())
    return st.one_of(forms)


def _floats(low: float, high: float, *, exclude_max: bool = False) -> st.SearchStrategy[float]:
    return st.floats(low, high, exclude_max=exclude_max, allow_nan=False)


fractions = st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)
seeds = st.integers(0, 2**31 - 1)
# Names and file names that other YAML readers take for numbers, booleans or null must stay strings.
TRICKY = ["1e5", "2E-3", "1.5e10", "0x1F", "1_000", "007", "yes", "off", "null", "nan", "inf"]
names = st.from_regex(SWEEP_NAME, fullmatch=True) | st.sampled_from(TRICKY)
file_names = st.text(min_size=1, max_size=20) | st.sampled_from(TRICKY)
common_data = st.fixed_dictionaries({}, optional={
    "test_size": fractions, "validation_size": fractions, "split_seed": seeds, "stratify": st.booleans(),
    "scaling": st.sampled_from(["auto", "none", "standardize", "minmax"]),
})
sources = st.one_of(
    st.fixed_dictionaries({"source": st.just("moons")}, optional={
        "samples": st.integers(20, 5000), "noise": _floats(0.0, 10.0), "seed": seeds}),
    st.fixed_dictionaries({"source": st.just("circles")}, optional={
        "samples": st.integers(20, 5000), "noise": _floats(0.0, 10.0), "seed": seeds,
        "factor": fractions}),
    st.fixed_dictionaries({"source": st.just("digits")}),
    st.fixed_dictionaries({"source": st.just("diabetes")}),
    st.fixed_dictionaries({"source": st.just("hdf5"), "path": file_names}, optional={
        "train_dataset": file_names, "test_dataset": st.none() | file_names,
        "validation_dataset": st.none() | file_names, "label_column": st.integers(-5, 5)}),
    st.fixed_dictionaries({"source": st.just("csv"), "path": file_names}, optional={
        "target": file_names, "test_path": st.none() | file_names, "categorical": st.lists(file_names, max_size=4),
        "missing": st.sampled_from(["refuse", "drop", "mean", "median"])}),
    st.fixed_dictionaries({"source": st.just("npz"), "path": file_names}),
    st.fixed_dictionaries({"source": st.just("notmnist")}, optional={"limit": st.none() | st.integers(100, 20000)}),
)
regularizer_keys = {"dropout": _param(_floats(0.0, 1.0, exclude_max=True), low=0.0, high=0.99),
                    "l1": _param(_floats(0.0, 1e3), low=0.0, high=1e3),
                    "l2": _param(_floats(0.0, 1e3), low=0.0, high=1e3)}
shape_keys = st.one_of(
    st.fixed_dictionaries({}, optional={"depth": _param(st.integers(0, 64), low=0, high=64, integer=True),
                                        "width": _param(st.integers(1, 4096), low=1, high=4096, integer=True)}),
    st.fixed_dictionaries({"layers": st.one_of(
        st.lists(st.integers(1, 4096), max_size=64),
        st.lists(st.lists(st.integers(1, 4096), max_size=8), min_size=1, max_size=4).map(lambda v: {"values": v}),
    )}),
)
regularization = st.one_of(
    st.fixed_dictionaries({}, optional=regularizer_keys),
    st.fixed_dictionaries({"regularizers": st.lists(st.fixed_dictionaries({}, optional={
        "dropout": _floats(0.0, 1.0, exclude_max=True), "l1": _floats(0.0, 1e3), "l2": _floats(0.0, 1e3)}),
        min_size=1, max_size=4).map(lambda v: {"values": v})}),
)
activations = st.fixed_dictionaries({}, optional={"activation": _param(st.sampled_from(ACTIVATIONS))})
models = st.tuples(shape_keys, regularization, activations).map(
    lambda parts: {k: v for p in parts for k, v in p.items()})
trains = st.fixed_dictionaries({}, optional={
    "optimizer": _param(st.sampled_from(OPTIMIZERS)),
    "learning_rate": _param(_floats(1e-12, 10.0), low=1e-12, high=10.0),
    "batch_size": _param(st.integers(1, 4096), low=1, high=4096, integer=True),
    "epochs": st.integers(1, 100_000), "early_stopping": st.none() | st.integers(1, 100_000),
})
tuners = st.fixed_dictionaries({}, optional={
    "algorithm": st.sampled_from(["random", "grid", "bayesian", "hyperband"]),
    "max_trials": st.integers(1, 1_000_000),
    "objective": st.sampled_from(["val_loss", "val_accuracy", "val_crossentropy"]),
    "executions_per_trial": st.integers(1, 100), "seed": seeds, "factor": st.integers(2, 100),
    "max_consecutive_failures": st.integers(1, 1_000_000),
})
def _selects_without_penalty(raw: dict[str, Any]) -> bool:
    """False for `val_loss` as objective in a sweep with L1/L2 penalties, which fitsweep refuses."""
    if raw["tuner"].get("objective") != "val_loss":
        return True
    return not parse_spec({**raw, "tuner": {**raw["tuner"], "objective": "val_accuracy"}}).model.can_penalise


valid_sweeps = st.builds(
    lambda name, source, common, model, train, tuner: {
        "name": name, "data": {**source, **common}, "model": model, "train": train, "tuner": tuner},
    names, sources, common_data, models, trains, tuners,
).filter(_selects_without_penalty)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


@SETTINGS
@given(raw=valid_sweeps)
def test_valid_sweep_round_trips_through_its_resolved_yaml(raw: dict[str, Any], scratch: Path) -> None:
    spec = parse_spec(raw, "generated.yaml")
    path = scratch / "resolved.yaml"
    path.write_text(spec.to_yaml(), encoding="utf-8")
    again = load_spec(path)
    assert again == spec
    assert again.to_yaml() == spec.to_yaml()
