"""Sweep-file validation: what users write, what they are told when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO, tiny_sweep, write_sweep
from fitsweep import SpecError, load_spec, parse_spec
from fitsweep.spec import Choice, Range


@pytest.mark.parametrize("path", sorted((REPO / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sweeps_validate(path: Path) -> None:
    assert load_spec(path).name == path.stem


def test_defaults_fill_every_section() -> None:
    spec = parse_spec({"name": "minimal", "data": {"source": "moons"}})
    assert spec.model.depth == 2 and spec.model.width == 64 and spec.model.dropout == 0.0
    assert spec.train.optimizer == "adam" and spec.train.epochs == 20 and spec.train.early_stopping is None
    assert spec.tuner.algorithm == "random" and spec.tuner.objective == "val_crossentropy"
    assert spec.tuner.direction == "min"
    accuracy_spec = parse_spec({"name": "m", "data": {"source": "moons"}, "tuner": {"objective": "val_accuracy"}})
    assert accuracy_spec.tuner.direction == "max"


def test_three_forms_of_a_hyperparameter() -> None:
    spec = parse_spec(tiny_sweep(model={"dropout": 0.2, "l1": {"values": [0.0, 0.01]},
                                        "l2": {"min": 1e-6, "max": 1e-2, "sampling": "log"}}))
    assert spec.model.dropout == 0.2
    assert isinstance(spec.model.l1, Choice) and spec.model.l1.values == [0.0, 0.01]
    assert isinstance(spec.model.l2, Range) and spec.model.l2.sampling == "log"


def test_explicit_layers_and_choices_of_layers() -> None:
    spec = parse_spec(tiny_sweep(model={"layers": {"values": [[], [200], [600, 400, 200]]}}))
    assert spec.model.layers.values == [[], [200], [600, 400, 200]]
    assert parse_spec(tiny_sweep(model={"layers": [25, 50, 50, 25]})).model.layers == [25, 50, 50, 25]


def test_resolved_yaml_reads_back_as_the_same_spec(tmp_path: Path) -> None:
    for model in ({"layers": {"values": [[8], [16, 8]]}}, {"depth": {"min": 1, "max": 3}}):
        spec = parse_spec(tiny_sweep(model=model))
        path = tmp_path / "resolved.yaml"
        path.write_text(spec.to_yaml(), encoding="utf-8")
        assert load_spec(path) == spec


def test_overrides_are_validated() -> None:
    spec = parse_spec(tiny_sweep())
    assert spec.with_overrides(max_trials=7, epochs=2).tuner.max_trials == 7
    with pytest.raises(SpecError, match="epochs"):
        spec.with_overrides(epochs=0)


def test_yaml_12_style_floats(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ndata: {source: moons}\ntrain: {learning_rate: 1e-3}\nmodel: {l2: 5E-4}\n")
    spec = load_spec(path)
    assert spec.train.learning_rate == pytest.approx(1e-3) and spec.model.l2 == pytest.approx(5e-4)


BAD_SPECS = {
    "unknown key with hint": ({"model": {"dropuot": 0.1}}, "model.dropuot: unknown key; did you mean 'dropout'?"),
    "unknown section": ({"tunner": {}}, "tunner: unknown key; did you mean 'tuner'?"),
    "unknown range key": ({"model": {"depth": {"min": 1, "max": 3, "stp": 1}}},
                          "model.depth.stp: unknown key; did you mean 'step'?"),
    "dropout of 1": ({"model": {"dropout": 1.0}}, "model.dropout: 1.0 is outside the allowed [0, 1)"),
    "dropout choice out of range": ({"model": {"dropout": {"values": [0.1, -0.2]}}}, "model.dropout: -0.2 is outside"),
    "negative penalty": ({"model": {"l1": -0.001}}, "model.l1: -0.001 is outside"),
    "min above max": ({"model": {"width": {"min": 64, "max": 8}}}, "model.width: min (64) must not exceed max (8)"),
    "log range touching 0": ({"model": {"l2": {"min": 0.0, "max": 0.1, "sampling": "log"}}},
                             "model.l2: a log range must stay above 0"),
    "empty choice": ({"model": {"dropout": {"values": []}}}, "model.dropout.values"),
    "fractional depth": ({"model": {"depth": 2.5}}, "model.depth"),
    "fractional range for an integer": ({"model": {"depth": {"min": 1, "max": 2.5}}},
                                        "model.depth: range bounds and step must be integers"),
    "string for a number": ({"train": {"batch_size": "32"}}, "train.batch_size"),
    "unknown activation": ({"model": {"activation": "relux"}}, "model.activation: 'relux' is not one of"),
    "unknown optimizer": ({"train": {"optimizer": "adamm"}}, "train.optimizer: 'adamm' is not one of"),
    "layers and depth": ({"model": {"layers": [8, 8], "depth": 2}}, "model: give either layers or depth and width"),
    "bad layer list": ({"model": {"layers": [8, 0]}}, "model.layers"),
    "unknown algorithm": ({"tuner": {"algorithm": "evolution"}}, "tuner.algorithm"),
    "test objective": ({"tuner": {"objective": "test_accuracy"}}, "tuner.objective"),
    "zero trials": ({"tuner": {"max_trials": 0}}, "tuner.max_trials"),
    "unknown source": ({"data": {"source": "mnist"}}, "data: unknown or missing source; allowed: moons"),
    "test_size of 1": ({"data": {"source": "moons", "test_size": 1.0}}, "data.test_size"),
    "name leaving the folder": ({"name": "../../etc"}, "name '../../etc' must be"),
}


@pytest.mark.parametrize("override, message", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_bad_specs_name_file_key_and_rule(tmp_path: Path, override: dict, message: str) -> None:
    sweep = tiny_sweep()
    for section, value in override.items():
        sweep[section] = {**sweep[section], **value} if isinstance(value, dict) and section in sweep else value
    path = write_sweep(tmp_path, sweep)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    text = str(error.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_missing_name(tmp_path: Path) -> None:
    sweep = tiny_sweep()
    del sweep["name"]
    with pytest.raises(SpecError, match=r"name: required key is missing"):
        load_spec(write_sweep(tmp_path, sweep))


def _alias_bomb(levels: int = 20) -> bytes:
    """Levels of lists of nine aliases to the level below: 9^21 strings once expanded (for 20 levels)."""
    lines = [b"a: &a [x, x, x, x, x, x, x, x, x]\n"]
    for level in range(levels):
        below = b"a" if level == 0 else b"b%d" % (level - 1)
        lines.append(b"b%d: &b%d [%s]\n" % (level, level, b", ".join([b"*" + below] * 9)))
    return b"".join(lines)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"name: [unclosed\n", "invalid YAML at line"),
        (b"name: s\ndata: {source: moons}\n\xff\xfe", "not UTF-8"),
        (b"- just\n- a list\n", "must be a mapping"),
        (b"", "must be a mapping"),
        (b"name: !!python/object/apply:os.system ['echo hi']\n", "invalid YAML"),
        (_alias_bomb(), "aliases"),
    ],
    ids=["syntax", "non-utf8", "list", "empty", "python-tag", "alias-bomb"],
)
def test_unreadable_sweep_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError, match=message):
        load_spec(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such sweep file"):
        load_spec(tmp_path / "absent.yaml")
    with pytest.raises(SpecError, match="not a file"):
        load_spec(tmp_path)


def test_val_loss_objective_with_a_penalty_is_refused_for_new_runs_but_recorded_runs_load() -> None:
    raw = {"name": "s", "data": {"source": "moons"}, "model": {"l1": {"values": [0.0, 1.0e-4]}},
           "tuner": {"objective": "val_loss"}}
    with pytest.raises(SpecError, match=r"tuner\.objective: val_loss .*val_crossentropy"):
        parse_spec(raw, "sweep.yaml")
    assert parse_spec(raw, "sweep.yaml", recorded=True).tuner.objective == "val_loss"
    unpenalised = {**raw, "model": {"dropout": 0.2}}
    assert parse_spec(unpenalised).tuner.objective == "val_loss"


KEYED_SPECS = {
    "a key's own check": ({"train": {"epochs": 0}}, "train.epochs", "Input should be greater than or equal to 1"),
    "an unknown key": ({"model": {"dropuot": 0.1}}, "model.dropuot", "unknown key; did you mean 'dropout'?"),
    "a check across sections": ({"model": {"l2": 0.1}, "tuner": {"objective": "val_loss"}}, "tuner.objective",
                                "val_loss includes the L1/L2 penalty"),
    "the whole file": ({"name": "no spaces"}, None, "(top level): name 'no spaces' must be"),
}


@pytest.mark.parametrize("override, key, problem", KEYED_SPECS.values(), ids=KEYED_SPECS.keys())
def test_a_spec_error_carries_its_source_and_key(override: dict, key: str | None, problem: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(tiny_sweep(**override), "sweep.yaml")
    error = raised.value
    assert error.source == "sweep.yaml" and error.key == key and error.problem.startswith(problem)
    assert str(error) == ": ".join(part for part in ("sweep.yaml", key, error.problem) if part)


def test_a_file_that_cannot_be_read_is_the_source_with_no_key(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as raised:
        load_spec(tmp_path / "absent.yaml")
    assert (raised.value.source, raised.value.key, raised.value.problem) == (
        str(tmp_path / "absent.yaml"), None, "no such sweep file")


def test_overrides_name_the_call_as_their_source() -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(tiny_sweep()).with_overrides(epochs=0, fused=False)
    assert (raised.value.source, raised.value.key) == ("with_overrides(fused=False, epochs=0)", "train.epochs")


def test_a_spec_error_keeps_its_fields_through_pickle() -> None:
    """Errors cross process boundaries (a run's workers) whole."""
    import pickle

    error = SpecError("Input should be greater than or equal to 1", source="sweep.yaml", key="train.epochs")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.source, copy.key, copy.problem) == (str(error), error.source, error.key, error.problem)
