"""Sweeps over a user's own KerasTuner `build(hp)` function (`model: {build: FILE.py:FUNCTION}`).

The build file below uses layers fitsweep does not know (LayerNormalization and a Layer subclass
defined beside the function), declares its space with hp.Int / hp.Choice / hp.Float and puts an
L2 penalty on a kernel, as a KerasTuner user writes it. Runs are tiny: moons, 3 epochs.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from conftest import invoke_cli as invoke
from fitsweep import cli
from fitsweep.families.user_build import BuildFamily
from fitsweep.spec import parse_spec

BUILD_FILE = '''
import keras
from keras import layers, regularizers


class Scale(layers.Layer):
    """Multiplies by one learned scalar: a layer fitsweep has never heard of."""

    def build(self, input_shape):
        self.factor = self.add_weight(shape=(), initializer="ones", name="factor")

    def call(self, x):
        return x * self.factor


def build(hp):
    learning_rate = hp.Float("learning_rate", 1e-3, 1e-2, step=10, sampling="log")
    units = hp.Choice("units", [4, 8])
    l2 = hp.Choice("l2", [0.0, 0.01])
    model = keras.Sequential([
        keras.Input(shape=(2,)),
        layers.Dense(units, activation="relu", kernel_regularizer=regularizers.l2(l2)),
        layers.LayerNormalization(),
        Scale(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model
'''


def build_sweep(**sections: Any) -> dict[str, Any]:
    """A sweep over models.py:build on 200 moons samples, every combination of units and l2 (grid)."""
    sweep: dict[str, Any] = {
        "name": "user",
        "data": {"source": "moons", "samples": 200, "noise": 0.2, "seed": 3},
        "model": {"build": "models.py:build"},
        "train": {"epochs": 3, "batch_size": 32},
        "tuner": {"algorithm": "grid", "max_trials": 4, "seed": 1},
    }
    for section, values in sections.items():
        sweep[section] = {**sweep[section], **values} if isinstance(values, dict) else values
    return sweep


def write_project(folder: Path, source: str = BUILD_FILE, file_name: str = "models.py", **sections: Any) -> Path:
    """A folder with the build file and sweep.yaml naming it; returns the sweep file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file_name).write_text(textwrap.dedent(source), encoding="utf-8")
    sweep = folder / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(build_sweep(**sections), sort_keys=False), encoding="utf-8")
    return sweep




def trials_of(run_dir: Path) -> Any:
    """A run folder's trials table, as `fitsweep.load` reads it."""
    from fitsweep import load

    return load(run_dir).trials


def files_under(folder: Path) -> list[str]:
    """Every path under `folder` but Python's own bytecode cache of an imported build file."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if "__pycache__" not in path.parts)


@pytest.fixture(scope="module")
def user_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`fitsweep run` of the four grid trials, from another working folder than the sweep file's."""
    from fitsweep import load

    root = tmp_path_factory.mktemp("user_build")
    sweep = write_project(root / "project")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "argv", ["fitsweep", "run", str(sweep), "--results-dir", str(root / "results"),
                                      "--quiet"])
    try:
        with pytest.raises(SystemExit) as exited:
            cli.main()
    finally:
        monkeypatch.undo()
    assert exited.value.code in (0, None)
    return load(root / "results" / "user")


# --- a run over the user's function ----------------------------------------------------------


def test_the_trials_table_has_the_functions_hyperparameters(user_run: Any) -> None:
    trials = user_run.trials
    columns = list(trials.columns)
    assert columns[columns.index("status") + 1:columns.index("epochs_run")] == [
        "learning_rate", "units", "l2", "batch_size"]
    assert (trials["status"] == "completed").all() and len(trials) == 4
    # Grid, the last declared varying fastest: every combination of the two choices once.
    assert sorted(zip(trials["units"], trials["l2"], strict=True)) == [(4, 0.0), (4, 0.01), (8, 0.0), (8, 0.01)]
    assert trials["test_accuracy"].notna().all()


def test_parameter_counts_are_the_built_models(user_run: Any) -> None:
    # Dense(2->u), LayerNormalization (2u), Scale (1), Dense(u->1).
    expected = {units: 2 * units + units + 2 * units + 1 + units + 1 for units in (4, 8)}
    assert {row.units: row.params for row in user_run.trials.itertuples()} == expected


def test_val_crossentropy_leaves_out_the_penalty_the_function_put_on(user_run: Any) -> None:
    trials = user_run.trials
    penalised, plain = trials[trials["l2"] > 0], trials[trials["l2"] == 0]
    assert (penalised["val_loss"] > penalised["val_crossentropy"] + 1e-6).all()
    assert (plain["val_loss"] - plain["val_crossentropy"]).abs().max() < 1e-6


def test_verdicts_and_report_cover_the_functions_trials(user_run: Any, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert user_run.trials["fit"].notna().all()
    code, output = invoke(["report", str(user_run.path)], monkeypatch, capsys)
    assert code == 0 and "failed" not in output, output  # every section drawn, the best model's figures too
    report = (user_run.path / "report.md").read_text(encoding="utf-8")
    assert "models.py:build" in report
    assert "units in {4, 8}" in report and "l2 in {0, 0.01}" in report
    assert "learning_rate from 0.001 to 0.01 (log, step 10)" in report


def test_the_best_model_loads_with_the_files_own_layer(user_run: Any) -> None:
    model = user_run.best_model
    assert "Scale" in [type(layer).__name__ for layer in model.layers]


def test_a_trial_retrained_for_the_report_matches_the_sweep(user_run: Any) -> None:
    from fitsweep.figures import load_splits, retrain_execution

    trial = user_run.trials[user_run.trials["l2"] > 0].iloc[0]
    model, val_loss = retrain_execution(user_run, load_splits(user_run), str(trial["trial_id"]), 0)
    epochs = user_run.epochs[user_run.epochs["trial_id"] == trial["trial_id"]]
    assert val_loss == pytest.approx(float(epochs.sort_values("epoch")["val_loss"].iloc[-1]), rel=1e-4)
    assert model.layers[0].units == trial["units"]


def test_the_recorded_sweep_names_the_file_by_absolute_path(user_run: Any) -> None:
    recorded = yaml.safe_load((user_run.path / "sweep.yaml").read_text(encoding="utf-8"))
    file, _, function = recorded["model"]["build"].rpartition(":")
    assert Path(file).is_absolute() and Path(file).is_file() and function == "build"
    assert "optimizer" not in recorded["train"] and "learning_rate" not in recorded["train"]


def test_compare_groups_by_a_hyperparameter_of_the_function(user_run: Any, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, output = invoke(["compare", str(user_run.path), "--by", "units"], monkeypatch, capsys)
    assert code == 0, output
    assert "units" in output


def test_importance_weighs_the_functions_hyperparameters(user_run: Any) -> None:
    from fitsweep.analysis import importance

    table = importance(user_run.trials, "val_crossentropy", min_configurations=4)
    assert set(table["hyperparameter"]) == {"units", "l2"}  # learning_rate stayed at its first grid value


def test_tensorboard_hparams_use_the_functions_names(user_run: Any) -> None:
    from fitsweep.tensorboard import experiment_summary

    experiment = experiment_summary(user_run.spec).value[0].metadata.plugin_data.content
    for name in (b"units", b"l2", b"learning_rate", b"batch_size"):
        assert name in experiment


@pytest.mark.slow
def test_resume_finishes_an_interrupted_run_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from fitsweep import run_sweep
    from fitsweep.search.engine import NullObserver
    from fitsweep.spec import load_spec

    class StopAtThirdTrial(NullObserver):
        def trial_started(self, trial_id: str, values: Any, epochs: int, executions: int) -> None:
            if trial_id == "2":
                raise KeyboardInterrupt

    # Random search: KerasTuner's grid cannot resume a run interrupted as a trial started.
    sweep = write_project(tmp_path / "project", tuner={"algorithm": "random", "max_trials": 3})
    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_spec(sweep), results_dir=tmp_path / "results", data_dir=sweep.parent,
                  observer=StopAtThirdTrial())
    run_dir = tmp_path / "results" / "user"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, output = invoke(["resume", str(run_dir), "--quiet"], monkeypatch, capsys)
    assert code == 0, output
    trials = trials_of(run_dir)
    assert sorted(trials["trial_id"]) == ["0", "1", "2"] and (trials["status"] == "completed").all()


@pytest.mark.slow
def test_one_worker_process_runs_the_functions_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_project(tmp_path / "project", tuner={"max_trials": 2})
    # The working folder stays: the worker process finds fitsweep as this one does.
    code, output = invoke(["run", str(sweep), "--workers", "1", "--quiet", "--results-dir", str(tmp_path / "results")],
                          monkeypatch, capsys)
    assert code == 0, output
    trials = trials_of(tmp_path / "results" / "user")
    assert len(trials) == 2 and (trials["status"] == "completed").all()
    assert trials["worker"].notna().all()


# --- the space the function declares -------------------------------------------------------------


CONDITIONAL = '''
import keras


def build(hp):
    kind = hp.Choice("kind", ["narrow", "wide"])
    units = 2
    with hp.conditional_scope("kind", ["wide"]):  # entered either way, as KerasTuner needs to see it
        if kind == "wide":
            units = hp.Int("wide_units", 8, 32, step=8)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model
'''


def test_a_conditional_hyperparameter_joins_the_space_as_kerastuner_finds_it(tmp_path: Path) -> None:
    from fitsweep.spec import Choice, Range, load_spec

    spec = load_spec(write_project(tmp_path, CONDITIONAL, train={"batch_size": {"values": [16, 32]}}))
    searched = BuildFamily(spec).searched_parameters()
    assert list(searched) == ["kind", "wide_units", "batch_size"]
    assert searched["kind"] == Choice(values=["narrow", "wide"])
    wide = searched["wide_units"]
    assert isinstance(wide, Range) and (wide.min, wide.max, wide.step) == (8, 32, 8)
    assert searched["batch_size"] == Choice(values=[16, 32])


def test_a_trial_gets_its_own_values_and_the_scopes_they_open(tmp_path: Path) -> None:
    from fitsweep.data import prepare_data
    from fitsweep.spec import load_spec

    spec = load_spec(write_project(tmp_path, CONDITIONAL))
    family, splits = BuildFamily(spec), prepare_data(spec.data)
    wide = family.build({"kind": "wide", "wide_units": 24, "batch_size": 32}, splits)
    narrow = family.build({"kind": "narrow", "batch_size": 32}, splits)
    assert wide.layers[0].units == 24 and narrow.layers[0].units == 2
    # Read back from a trials table: NumPy scalars, and NaN where the trial did not use a hyperparameter.
    from_table = family.build({"kind": np.str_("wide"), "wide_units": np.int64(16), "batch_size": np.int64(32)}, splits)
    unused = family.build({"kind": "narrow", "wide_units": np.nan, "batch_size": 32}, splits)
    assert from_table.layers[0].units == 16 and unused.layers[0].units == 2


LOOP = '''
import keras


def build(hp):
    model = keras.Sequential([keras.Input(shape=(2,))])
    for layer in range(hp.Int("num_layers", 1, 2)):  # units_1 exists only in trials of two layers
        model.add(keras.layers.Dense(hp.Choice(f"units_{layer}", [4, 8]), activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model
'''


def test_hyperparameters_a_trial_declares_as_it_builds_are_recorded_as_in_kerastuner(tmp_path: Path) -> None:
    from fitsweep import load_spec, run_sweep

    spec = load_spec(write_project(tmp_path, LOOP, train={"epochs": 1}, tuner={"max_trials": 3}))
    trials = run_sweep(spec, results_dir=tmp_path / "results").trials
    assert "units_1" in trials.columns
    two_layers = trials[trials["num_layers"] == 2]
    assert len(two_layers) and two_layers["units_1"].notna().all()
    # Its value is the one the trial's model was built with: its parameter count says so.
    for row in two_layers.itertuples():
        assert row.params == 2 * row.units_0 + row.units_0 + row.units_0 * row.units_1 + row.units_1 + row.units_1 + 1
    # The grid's first trial (one layer) ended before any trial declared units_1: it has no value.
    assert trials.loc[trials["trial_id"] == "0", "units_1"].isna().all()


def test_names_colliding_with_fitsweep_hyperparameters_are_the_functions(tmp_path: Path) -> None:
    source = BUILD_FILE.replace('"units"', '"width"').replace('"l2"', '"dropout"')
    spec = parse_spec({**build_sweep(), "model": {"build": str(tmp_path / "models.py:build")}})
    (tmp_path / "models.py").write_text(source, encoding="utf-8")
    assert BuildFamily(spec).hyperparameter_names() == ["learning_rate", "width", "dropout", "batch_size"]


# --- the sweep file ----------------------------------------------------------------------------


def test_model_build_is_a_family_of_its_own_resolved_from_the_sweep_files_folder(tmp_path: Path) -> None:
    from fitsweep import SpecError
    from fitsweep.spec import load_spec

    spec = load_spec(write_project(tmp_path / "project"))
    assert spec.model.family == "build"
    assert spec.model.build == f"{(tmp_path / 'project' / 'models.py').resolve()}:build"
    assert parse_spec({**build_sweep(), "model": {"family": "build", "build": "m.py:make"}}).model.function == "make"
    with pytest.raises(SpecError, match=r"model\.build: required key is missing"):
        parse_spec({**build_sweep(), "model": {"family": "build"}})
    # Overrides keep it, and leave train.optimizer out as the function's.
    again = spec.with_overrides(max_trials=2, epochs=1)
    assert again.model == spec.model and again.tuner.max_trials == 2


# --- bad input: exit 2, one line naming the file and function, nothing written -------------------


def _model(body: str) -> str:
    return f'''
import keras


def build(hp):
    units = hp.Int("units", 2, 4)
    {body}
'''


COMPILED = '''model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")'''

BAD_BUILDS = {
    "no such file": ({"model": {"build": "missing.py:build"}}, None, "no such file"),
    "not a python file": ({"model": {"build": "models.txt:build"}}, None, "is not a .py file"),
    "syntax error": ({}, "def build(hp):\n    return (\n", "is not valid Python"),
    "import raises": ({}, "import keras\nraise RuntimeError('no GPU here')\n", "RuntimeError: no GPU here"),
    "no such function": ({"model": {"build": "models.py:make"}}, None, "has no 'make'"),
    "not callable": ({}, "build = 3\n", "not a function"),
    "raises while declaring": ({}, _model("raise ValueError('bad units')"), "ValueError: bad units while declaring"),
    "returns no model": ({}, _model("return units"), "returned int, not a keras.Model"),
    "not compiled": ({}, _model('return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])'),
                     "not compiled"),
    "declares nothing": ({}, _model(COMPILED + "\n    return model").replace('units = hp.Int("units", 2, 4)', ""),
                         "declares no hyperparameters"),
    "declares batch_size": ({}, _model(COMPILED + "\n    hp.Choice('batch_size', [8, 16])\n    return model"),
                            "train.batch_size"),
    "declares a table column": ({}, _model(COMPILED + "\n    hp.Float('val_loss', 0, 1)\n    return model"),
                                "'val_loss'"),
    "input of another shape": ({}, _model(COMPILED.replace("shape=(2,)", "shape=(3,)") + "\n    return model"),
                               "takes inputs of shape (3,); the data have 2 features"),
    "output of another width": ({}, _model(COMPILED.replace("Dense(1,", "Dense(3,") + "\n    return model"),
                                "output has 3 units"),
    "a dense key": ({"model": {"build": "models.py:build", "dropout": 0.2}}, None, "model: dropout does not apply"),
    "train.optimizer": ({"train": {"optimizer": "sgd"}}, None, "train.optimizer: a model from model.build"),
    "train.learning_rate": ({"train": {"learning_rate": 0.1}}, None, "train.learning_rate"),
    "no function part": ({"model": {"build": "models.py"}}, None, "is not FILE.py:FUNCTION"),
    "val_loss objective": ({"tuner": {"objective": "val_loss"}}, None, "val_crossentropy"),
}


@pytest.mark.parametrize("case", list(BAD_BUILDS), ids=list(BAD_BUILDS))
def test_a_bad_build_function_is_one_line_and_writes_nothing(case: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    sections, source, expected = BAD_BUILDS[case]
    project = tmp_path / "project"
    sweep = write_project(project, source or _model(COMPILED + "\n    return model"), **sections)
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    code, output = invoke(["run", str(sweep), "--quiet"], monkeypatch, capsys)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, output
    assert len(lines) == 1 and "Traceback" not in output, output
    assert expected in lines[0], lines[0]
    if source is not None or case in ("no such function",):
        assert "models.py:" in lines[0]  # the file and function the message is about
    assert files_under(tmp_path) == before


# --- trials whose build fails later -------------------------------------------------------------


def test_a_trial_whose_model_the_data_cannot_feed_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    source = """
import keras


def build(hp):
    outputs = hp.Choice("outputs", [1, 3])
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(outputs, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model
"""
    sweep = write_project(tmp_path / "project", source, tuner={"max_trials": 2}, train={"epochs": 2})
    monkeypatch.chdir(tmp_path)
    code, output = invoke(["run", str(sweep), "--quiet"], monkeypatch, capsys)
    assert code == 0, output
    trials = trials_of(tmp_path / "runs" / "user").set_index("outputs")
    assert trials.loc[1, "status"] == "completed"
    assert trials.loc[3, "status"] == "failed"
    assert "models.py:build: the model's output has 3 units" in trials.loc[3, "error"]


def test_a_run_whose_every_build_raises_fails_naming_the_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source = "calls = []\n" + _model("calls.append(units)\n    if len(calls) > 1:\n        raise MemoryError("
                                     "'out of memory')\n    " + COMPILED + "\n    return model")
    sweep = write_project(tmp_path / "project", source, tuner={"max_trials": 2}, train={"epochs": 2})
    monkeypatch.chdir(tmp_path)
    code, output = invoke(["run", str(sweep), "--quiet"], monkeypatch, capsys)
    assert code == 1, output
    assert "models.py:build: raised MemoryError: out of memory" in output
    trials = trials_of(tmp_path / "runs" / "user")
    assert (trials["status"] == "failed").all() and len(trials) == 2


# --- the Python API: a function object ------------------------------------------------------------


def python_build(hp: Any) -> Any:
    import keras

    model = keras.Sequential([keras.Input(shape=(2,)),
                              keras.layers.Dense(hp.Choice("units", [3, 6]), activation="tanh"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_run_sweep_takes_a_build_function_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import fitsweep
    from fitsweep.families import user_build

    spec = fitsweep.parse_spec({"name": "notebook", "data": {"source": "moons", "samples": 200, "seed": 3},
                                "train": {"epochs": 2}, "tuner": {"algorithm": "grid", "max_trials": 2}})
    run = fitsweep.run_sweep(spec, build=python_build, results_dir=tmp_path)
    assert sorted(run.trials["units"]) == [3, 6] and (run.trials["status"] == "completed").all()
    assert run.spec.model.build == "python:python_build"
    # Another process cannot load a function object: resume and workers refuse in one line.
    monkeypatch.setattr(user_build, "_FUNCTIONS", {})
    code, output = invoke(["resume", str(run.path)], monkeypatch, capsys)
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "python:python_build" in output and "FILE.py:python_build" in output
    # Its report is still drawn from the tables, naming the function's hyperparameters.
    code, output = invoke(["report", str(run.path)], monkeypatch, capsys)
    assert code == 0, output
    swept = next(line for line in (run.path / "report.md").read_text().splitlines() if "**Swept**" in line)
    assert "units" in swept and "python:python_build" in swept


def test_a_function_object_is_refused_for_workers_and_beside_a_model_section(tmp_path: Path) -> None:
    import fitsweep
    from fitsweep.search.parallel import run_parallel

    spec = fitsweep.parse_spec({"name": "notebook", "data": {"source": "moons", "samples": 200}})
    with pytest.raises(fitsweep.SpecError, match=r"workers: model\.build python:python_build"):
        run_parallel(user_build_spec(spec), workers=1, results_dir=tmp_path)
    dense = fitsweep.parse_spec({"name": "n", "data": {"source": "moons"}, "model": {"depth": 1}})
    with pytest.raises(fitsweep.SpecError, match="also has a model section"):
        fitsweep.run_sweep(dense, build=python_build, results_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def user_build_spec(spec: Any) -> Any:
    from fitsweep.families.user_build import with_build_function

    return with_build_function(spec, python_build)
