"""The private parts of KerasTuner that `fitsweep.kerastuner` relies on still behave as it expects.

Each test names the part it checks; when one fails after a KerasTuner upgrade, the adapter
(`src/fitsweep/kerastuner/`) is the one package to revisit.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from concurrent import futures
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import keras_tuner
import pytest
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.distribute.oracle_chief import OracleServicer

from conftest import REPO, tiny_sweep
from fitsweep import kerastuner as adapter
from fitsweep.kerastuner import TrialStatus

INSTALLED = metadata.version("keras-tuner")
OBJECTIVE = keras_tuner.Objective("val_loss", direction="min")


def changed(member: str) -> str:
    return (f"fitsweep's KerasTuner adapter was written against keras-tuner {adapter.WRITTEN_AGAINST}; "
            f"{member} changed in {INSTALLED}")


class _NoTraining(keras_tuner.Tuner):
    """A tuner that only attaches an oracle to a folder (and reloads it from there), as SweepTuner does."""

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        return {"val_loss": 1.0}


def make_oracle(directory: Path, oracle_class: type = keras_tuner.oracles.RandomSearchOracle) -> Any:
    """An oracle over one 3-point choice, attached to `directory` (reloading what is there)."""
    space = keras_tuner.HyperParameters()
    space.Choice("width", [4, 8, 16])
    oracle = oracle_class(objective=OBJECTIVE, hyperparameters=space, max_trials=3, seed=1)
    oracle.verbose = 0
    tuner = _NoTraining(oracle=oracle, directory=str(directory), project_name="tuner", overwrite=False)
    tuner.save()  # a later tuner on this folder reloads it, as `fitsweep resume` does
    return oracle


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_lock_pins_the_keras_tuner_the_adapter_was_written_against() -> None:
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    assert f"keras-tuner=={adapter.WRITTEN_AGAINST}\n" in lock, (
        f"requirements.lock pins another keras-tuner than the {adapter.WRITTEN_AGAINST} that "
        "src/fitsweep/kerastuner/ was written against: check its contract tests, then update WRITTEN_AGAINST "
        "(src/fitsweep/kerastuner/_version.py)"
    )


def test_save_json_is_the_one_writer_of_oracle_and_trial_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parameters(getattr(kt_utils, "save_json", None) or (lambda: None)) == ["path", "obj"], changed(
        "keras_tuner.src.utils.save_json(path, obj)")
    oracle = make_oracle(tmp_path)
    adapter.install_atomic_saves()
    renamed: list[str] = []
    replace = os.replace

    def recording_replace(source: str, target: str) -> None:
        renamed.append(Path(target).name)
        replace(source, target)

    monkeypatch.setattr(os, "replace", recording_replace)
    trial = oracle.create_trial("tuner0")
    oracle.save()
    written = {"oracle.json", "trial.json"}
    assert written <= set(renamed), changed("the saving of oracle.json and trial.json through utils.save_json")
    saved = json.loads((tmp_path / "tuner" / f"trial_{trial.trial_id}" / "trial.json").read_text())
    assert saved["status"] == "RUNNING"


def test_atomic_saves_install_once_and_a_failed_save_leaves_the_old_file(tmp_path: Path) -> None:
    adapter.install_atomic_saves()
    adapter.install_atomic_saves()
    assert kt_utils.save_json is adapter.save_json_atomically
    path = tmp_path / "oracle.json"
    assert kt_utils.save_json(str(path), {"trials": 1}) == '{"trials": 1}'
    with pytest.raises(TypeError):
        kt_utils.save_json(str(path), {"trials": object()})
    assert json.loads(path.read_text()) == {"trials": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["oracle.json"]


def test_importing_the_engine_patches_nothing_until_an_oracle_is_built() -> None:
    """Neither KerasTuner's JSON writer nor the process' warnings filters change at import."""
    script = (
        "import json, sys, warnings\n"
        "from keras_tuner.src import utils\n"
        "filters = list(warnings.filters)\n"
        "import fitsweep.search.engine as engine\n"
        "from fitsweep import parse_spec\n"
        "print(utils.save_json.__module__, warnings.filters == filters)\n"
        "engine.build_oracle(parse_spec(json.loads(sys.argv[1])))\n"
        "print(utils.save_json.__module__)\n"
    )
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, json.dumps(tiny_sweep())], capture_output=True,
                            text=True, env=environment, timeout=120, check=True)
    assert result.stdout.split() == ["keras_tuner.src.utils", "True", "fitsweep.kerastuner._saves"]


def test_a_reloaded_oracle_queues_its_running_trials_in_retry_queue(tmp_path: Path) -> None:
    oracle = make_oracle(tmp_path)
    running = oracle.create_trial("tuner0")
    reloaded = make_oracle(tmp_path)
    queue = getattr(reloaded, "_retry_queue", None)
    assert isinstance(queue, list) and queue == [running.trial_id], changed("Oracle._retry_queue after reload")
    assert reloaded.trials[running.trial_id].status == TrialStatus.RUNNING


def test_get_trial_dir_is_the_folder_of_trial_json(tmp_path: Path) -> None:
    oracle = make_oracle(tmp_path)
    trial = oracle.create_trial("tuner0")
    folder = getattr(oracle, "_get_trial_dir", lambda trial_id: None)(trial.trial_id)
    assert folder is not None and Path(folder) == tmp_path / "tuner" / f"trial_{trial.trial_id}", changed(
        "Oracle._get_trial_dir(trial_id)")
    assert (Path(folder) / "trial.json").is_file()


def test_recovery_reruns_exactly_the_trials_a_kill_left_unfinished(tmp_path: Path) -> None:
    oracle = make_oracle(tmp_path)
    cut_short = oracle.create_trial("tuner0")
    oracle.update_trial(cut_short.trial_id, {"val_loss": 0.5}, step=0)
    finished = oracle.create_trial("tuner1")
    finished.status = TrialStatus.COMPLETED
    oracle._save_trial(finished)  # killed after trial.json was saved, before oracle.json
    oracle_json = (tmp_path / "tuner" / "oracle.json").read_text()
    unrecorded = oracle.create_trial("tuner2")
    (tmp_path / "tuner" / "oracle.json").write_text(oracle_json)  # killed before oracle.json listed it

    reloaded = make_oracle(tmp_path)
    adapter.recover_interrupted_trials(reloaded)
    assert reloaded._retry_queue == [cut_short.trial_id]
    assert not reloaded.trials[cut_short.trial_id].metrics.metrics
    assert unrecorded.trial_id not in reloaded.trials
    assert not (tmp_path / "tuner" / f"trial_{unrecorded.trial_id}").exists()
    assert reloaded.trials[finished.trial_id].status == TrialStatus.COMPLETED


def test_quick_reports_record_every_step_and_save_the_trial(tmp_path: Path) -> None:
    for member in ("_check_objective_found", "_save_trial"):
        assert callable(getattr(keras_tuner.Oracle, member, None)), changed(f"Oracle.{member}")
    oracle = make_oracle(tmp_path, adapter.RandomSearchOracle)
    trial = oracle.create_trial("tuner0")
    with pytest.raises(ValueError, match="val_loss"):
        oracle.update_trial(trial.trial_id, {"loss": 0.5})
    for step, value in enumerate([0.9, 0.4, 0.6]):
        oracle.update_trial(trial.trial_id, {"val_loss": value, "loss": value / 2}, step=step)
    history = trial.metrics.get_history("val_loss")
    assert [(o.step, o.value) for o in history] == [(0, [0.9]), (1, [0.4]), (2, [0.6])]
    assert trial.metrics.get_best_value("val_loss") == 0.4, changed("MetricsTracker's best value of a 'min' metric")
    saved = json.loads((tmp_path / "tuner" / f"trial_{trial.trial_id}" / "trial.json").read_text())
    assert "val_loss" in saved["metrics"]["metrics"], changed("Oracle._save_trial(trial)")


def test_metrics_tracker_has_what_quick_reports_write_to() -> None:
    tracker = adapter.MetricsTracker()
    assert tracker.metrics == {} and not tracker.exists("loss"), changed("MetricsTracker()")
    tracker.register("loss", direction="min")
    tracker.metrics["loss"].update(0.25, step=3)
    assert tracker.get_last_value("loss") == 0.25 and tracker.get_best_step("loss") == 3, changed(
        "MetricsTracker.metrics[name].update(value, step)")


def test_trial_status_has_the_states_fitsweep_reads() -> None:
    states = {name: getattr(TrialStatus, name, None) for name in
              ("RUNNING", "IDLE", "INVALID", "STOPPED", "COMPLETED", "FAILED")}
    assert states == {name: name for name in states}, changed("TrialStatus")


def test_grid_oracle_hands_out_points_before_results_in_the_order_of_one_process(tmp_path: Path) -> None:
    grid = make_oracle(tmp_path / "base", keras_tuner.oracles.GridSearchOracle)
    assert getattr(grid, "_populate_next", None) == [], changed("GridSearchOracle._populate_next")
    one_process = []
    for _ in range(3):
        trial = grid.create_trial("tuner0")
        one_process.append(trial.hyperparameters.values["width"])
        grid.update_trial(trial.trial_id, {"val_loss": 1.0})
        trial.status = TrialStatus.COMPLETED
        grid.end_trial(trial)
    oracle = make_oracle(tmp_path / "fitsweep", adapter.GridSearchOracle)
    trials = [oracle.create_trial(f"tuner{index}") for index in range(3)]  # none ends meanwhile
    assert [t.status for t in trials] == [TrialStatus.RUNNING] * 3
    assert [t.hyperparameters.values["width"] for t in trials] == one_process == [4, 8, 16]


def test_the_grid_oracle_keeps_its_order_in_the_members_recovery_rebuilds(tmp_path: Path) -> None:
    from keras_tuner.src.tuners.gridsearch import LinkedList

    grid = make_oracle(tmp_path, adapter.GridSearchOracle)
    assert isinstance(getattr(grid, "_ordered_ids", None), LinkedList), changed("GridSearchOracle._ordered_ids")
    assert parameters(grid._compare) == ["a", "b"], changed("GridSearchOracle._compare")
    first, second = grid.create_trial("tuner0"), grid.create_trial("tuner1")
    assert grid._ordered_ids.next(first.trial_id) == second.trial_id, changed("LinkedList.next")
    assert grid._compare(first.hyperparameters.values, second.hyperparameters.values) == -1


def test_the_servicer_base_has_the_methods_the_chief_serves() -> None:
    for method in ("GetSpace", "UpdateSpace", "CreateTrial", "UpdateTrial", "EndTrial", "GetTrial", "GetBestTrials"):
        assert parameters(getattr(OracleServicer, method, None) or (lambda: None)) == ["self", "request", "context"], \
            changed(f"OracleServicer.{method}")
    servicer = OracleServicer(oracle=None)
    assert servicer.oracle is None and servicer.stop_triggered is False, changed("OracleServicer(oracle)")


def test_report_servicer_answers_a_report_with_the_trials_status_only(tmp_path: Path) -> None:
    oracle = make_oracle(tmp_path, adapter.RandomSearchOracle)
    trial = oracle.create_trial("tuner0")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    try:
        servicer = adapter.serve_oracle(oracle, server)
    finally:
        server.stop(grace=None)
    request = SimpleNamespace(trial_id=trial.trial_id, metrics={"val_loss": 0.5}, step=0)
    response = servicer.UpdateTrial(request, context=None)
    answered = keras_tuner.engine.trial.Trial.from_proto(response.trial)
    assert (answered.trial_id, answered.status) == (trial.trial_id, TrialStatus.RUNNING), changed(
        "protos.get_service().UpdateTrialResponse")
    assert not answered.metrics.metrics
    assert oracle.trials[trial.trial_id].metrics.get_last_value("val_loss") == 0.5
    assert servicer.stop_triggered is False


def test_an_oracle_hands_one_trial_to_each_tuner_id_and_stops_each_id_it_has_seen(tmp_path: Path) -> None:
    """fitsweep's fused groups ask `Oracle.create_trial` under one tuner id per slot (public API, relied on)."""
    from fitsweep.search.engine import slot_tuner_id, slots_of

    oracle = make_oracle(tmp_path)
    slots = [slot_tuner_id("tuner0", slot) for slot in range(3)]
    trials = [oracle.create_trial(slot) for slot in slots]
    assert len({trial.trial_id for trial in trials}) == 3 and set(oracle.ongoing_trials) == set(slots), changed(
        "Oracle.create_trial per tuner id")
    assert sorted(slots_of(oracle.tuner_ids, "tuner0")) == sorted(slots) and not slots_of(oracle.tuner_ids, "tuner")
    for trial in trials:
        trial.status = TrialStatus.COMPLETED
        oracle.update_trial(trial.trial_id, {"val_loss": 1.0})
        oracle.end_trial(trial)
    assert all(oracle.create_trial(slot).status == TrialStatus.STOPPED for slot in slots)
    assert not oracle.tuner_ids, changed("Oracle.create_trial's STOPPED answer forgetting the tuner id")


def test_a_worker_of_a_chief_is_told_by_kerastuners_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not adapter.works_for_a_chief()
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8470")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    assert adapter.works_for_a_chief(), changed("keras_tuner.src.distribute.utils")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert not adapter.works_for_a_chief()



def _reaches_kerastuner_internals(node: ast.AST) -> bool:
    """An import of `keras_tuner.src` (or of `src` from `keras_tuner`), or `keras_tuner.src` read as an attribute."""
    def private(name: str) -> bool:
        return name == "keras_tuner.src" or name.startswith("keras_tuner.src.")

    if isinstance(node, ast.Import):
        return any(private(alias.name) for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return private(module) or (module == "keras_tuner" and any(alias.name == "src" for alias in node.names))
    return (isinstance(node, ast.Attribute) and node.attr == "src" and isinstance(node.value, ast.Name)
            and node.value.id == "keras_tuner")


def test_only_the_adapter_imports_kerastuners_internals() -> None:
    """`keras_tuner.src` is imported under src/fitsweep/kerastuner/ only, the one door to KerasTuner's internals."""
    package = REPO / "src" / "fitsweep"
    outside, inside = [], []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found = [f"{path.relative_to(REPO)}:{node.lineno}" for node in ast.walk(tree)
                 if _reaches_kerastuner_internals(node)]
        (inside if package / "kerastuner" in path.parents else outside).extend(found)
    assert not outside, (f"keras_tuner.src is reached outside src/fitsweep/kerastuner/ at {outside}: "
                         "give that package a function for it")
    assert inside, "the scan found no keras_tuner.src import in src/fitsweep/kerastuner/ either: it is blind"
