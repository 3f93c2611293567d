"""The command line as a user drives it: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import tiny_sweep, write_sweep
from fitsweep.cli import app
from fitsweep.errors import SpecError
from helpers import invoke


def test_run_writes_tables_and_show_prints_them(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep())
    results = tmp_path / "results"
    result = invoke("run", str(sweep), "--results-dir", str(results), "--max-trials", "2", "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "trial 0 (1/2) completed" in result.output and f"Results in {results / 'tiny'}" in result.output
    import pandas as pd

    trials = pd.read_parquet(results / "tiny" / "trials.parquet")
    assert len(trials) == 2 and (trials["epochs_run"] == 2).all()
    shown = invoke("show", str(results / "tiny"))
    assert shown.exit_code == 0 and "Best 2 of 2 completed trials" in shown.output


def test_run_refuses_to_overwrite_without_the_flag(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep())
    args = ["run", str(sweep), "--results-dir", str(tmp_path / "r"), "--max-trials", "1", "--epochs", "1", "--quiet"]
    assert invoke(*args).exit_code == 0
    before = (tmp_path / "r" / "tiny" / "trials.parquet").read_bytes()
    refused = invoke(*args)
    assert refused.exit_code == 2 and str(tmp_path / "r" / "tiny") in refused.output
    assert "another --results-dir" in refused.output and "pass --overwrite" in refused.output  # both ways out
    assert (tmp_path / "r" / "tiny" / "trials.parquet").read_bytes() == before
    assert invoke(*args, "--overwrite").exit_code == 0


def test_run_without_a_results_dir_writes_under_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default folder is runs/<name>, apart from the committed studies in results/."""
    sweep = write_sweep(tmp_path, tiny_sweep())
    monkeypatch.chdir(tmp_path)
    result = invoke("run", str(sweep), "--max-trials", "1", "--epochs", "1", "--quiet", "--no-tensorboard")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "tiny" / "trials.parquet").is_file() and not (tmp_path / "results").exists()
    assert f"Results in {Path('runs') / 'tiny'}" in result.output


def test_run_ends_with_its_findings_once(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep())
    result = invoke("run", str(sweep), "--results-dir", str(tmp_path), "--max-trials", "2", "--epochs", "2",
                    "--quiet", "--no-tensorboard")
    assert result.exit_code == 0, result.output
    assert result.output.count("key findings") == 1 and result.output.count("Best 2 trials") == 1
    output = " ".join(result.output.split())  # a long path may start a line of its own
    assert output.index("key findings") < output.index(f"report in {tmp_path / 'tiny' / 'report.html'}")


def test_show_prints_the_columns_asked_for(tiny_run) -> None:  # type: ignore[no-untyped-def]
    shown = invoke("show", str(tiny_run.path), "--columns", "params,train_accuracy")
    assert shown.exit_code == 0, shown.output
    header = next(line for line in shown.output.splitlines() if line.startswith("trial_id"))
    assert header.split() == ["trial_id", "params", "train_accuracy"]


def test_show_refuses_a_column_it_cannot_show(tiny_run) -> None:  # type: ignore[no-untyped-def]
    refused = invoke("show", str(tiny_run.path), "--columns", "params,colour")
    assert refused.exit_code == 2
    assert refused.output.startswith("fitsweep: error: --columns colour: not a column")
    assert "train_accuracy" in refused.output  # what is allowed


def test_validate_prints_the_resolved_file(tmp_path: Path) -> None:
    result = invoke("validate", str(write_sweep(tmp_path, tiny_sweep())))
    assert result.exit_code == 0 and "early_stopping: null" in result.output and "valid" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "{sweep_dir}/absent.yaml"], "absent.yaml: no such sweep file"),
        (["run", "{bad}"], "model.dropuot: unknown key; did you mean 'dropout'?"),
        (["run", "{good}", "--epochs", "0"], "Invalid value for '--epochs'"),
        (["run", "{good}", "--max-trials", "many"], "Invalid value for '--max-trials'"),
        (["run", "{good}", "--bogus"], "No such option '--bogus'"),
        (["run", "{good}", "--fused-trials", "0"], "Invalid value for '--fused-trials'"),
        (["run"], "Missing argument 'SWEEP'"),
        (["validate", "{sweep_dir}"], "not a file"),
        (["show", "{sweep_dir}/nothing"], "no such results folder"),
        (["show", "{sweep_dir}"], "not a fitsweep results folder"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    sweeps = tmp_path / "sweeps"
    sweeps.mkdir()
    good = write_sweep(sweeps, tiny_sweep(), "good.yaml")
    bad = write_sweep(sweeps, tiny_sweep(model={"dropuot": 0.1}), "bad.yaml")
    filled = [a.format(sweep_dir=sweeps, good=good, bad=bad) for a in args]
    results = tmp_path / "results"
    runs_somewhere = filled[0] == "run" and len(filled) > 1 and "--bogus" not in filled
    result = invoke(*filled, *(["--results-dir", str(results)] if runs_somewhere else []))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fitsweep: error: ") and message in lines[0], result.output
    assert "Traceback" not in result.output
    assert not results.exists()


def test_a_run_that_completes_no_trial_exits_1(tmp_path: Path, monkeypatch) -> None:
    import fitsweep.search.engine

    def broken(*args, **kwargs):
        raise RuntimeError("no trial can run")

    monkeypatch.setattr(fitsweep.search.engine, "train_executions", broken)
    sweep = write_sweep(tmp_path, tiny_sweep())
    result = invoke("run", str(sweep), "--results-dir", str(tmp_path / "r"), "--quiet")
    assert result.exit_code == 1
    assert "no trial completed" in result.output and "RuntimeError: no trial can run" in result.output


def test_help_has_an_example_for_every_command() -> None:
    for command in ["run", "validate", "show"]:
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output and f"fitsweep {command}" in result.output


def test_diagnose_and_compare_print_tables_and_write_csv(tiny_run, tmp_path: Path) -> None:
    import pandas as pd

    verdicts = tmp_path / "verdicts.csv"
    result = invoke("diagnose", str(tiny_run.path), "--csv", str(verdicts))
    assert result.exit_code == 0, result.output
    written = pd.read_csv(verdicts)
    assert len(written) == len(tiny_run.trials) and set(written["fit"]) <= {"overfit", "underfit", "good", "diverged"}
    comparison = tmp_path / "by-depth.csv"
    result = invoke("compare", str(tiny_run.path), str(tiny_run.path), "--by", "run", "--by", "depth",
                    "--csv", str(comparison))
    assert result.exit_code == 0, result.output
    assert {"run", "depth", "test_accuracy_mean", "p_value"} <= set(pd.read_csv(comparison).columns)


def test_compare_names_an_unknown_column(tiny_run) -> None:
    result = invoke("compare", str(tiny_run.path), "--by", "colour")
    assert result.exit_code == 2 and "colour" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("option", "value"), [("--margin", "-0.1"), ("--accuracy-margin", "2"),
                                               ("--confidence", "1"), ("--confidence", "0.2")])
def test_diagnose_rejects_thresholds_out_of_range_in_one_line(tmp_path: Path, option: str, value: str) -> None:
    csv = tmp_path / "fit.csv"
    result = invoke("diagnose", "results/moons", option, value, "--csv", str(csv))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in result.output
    assert not csv.exists()


def test_diagnose_prints_every_verdict_with_its_reason(tmp_path: Path) -> None:
    csv = tmp_path / "fit.csv"
    result = invoke("diagnose", "results/moons", "--confidence", "0.99", "--csv", str(csv))
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(csv)
    assert set(table["fit"]) <= {"overfit", "underfit", "good", "diverged"} and table["fit_reason"].notna().all()
    assert {"high_bias", "high_variance", "reachable_error", "train_error"} <= set(table.columns)


def test_no_cli_module_imports_tensorflow_or_keras() -> None:
    """Commands import what they need when they run: `fitsweep --help` stays fast."""
    import subprocess
    import sys

    script = ("import importlib, pkgutil, sys; import fitsweep.cli as cli\n"
              "for module in pkgutil.iter_modules(cli.__path__):\n"
              "    importlib.import_module(f'fitsweep.cli.{module.name}')\n"
              "print(sorted(name for name in ('tensorflow', 'keras', 'keras_tuner') if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.strip() == "[]", done.stderr


def test_every_override_has_its_flag() -> None:
    import inspect

    from fitsweep.cli._options import OVERRIDE_FLAGS
    from fitsweep.spec import SweepSpec

    parameters = set(inspect.signature(SweepSpec.with_overrides).parameters) - {"self", "source"}
    assert set(OVERRIDE_FLAGS) == parameters


def test_an_override_flag_out_of_range_names_the_command_line_and_the_key(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep())
    result = CliRunner().invoke(app, ["run", str(sweep), "--no-fuse", "--max-trials", "5000000"])
    error = result.exception
    assert (error.source, error.key) == ("command line (--no-fuse, --max-trials 5000000)", "tuner.max_trials")


def test_a_flag_given_a_wrong_value_is_the_error_key() -> None:
    result = CliRunner().invoke(app, ["compare", "results/moons", "--by", "colour"])
    assert (result.exception.key, result.exception.value) == ("--by", "colour")
    assert str(result.exception).startswith("--by colour: not a column of these trials")


@pytest.mark.parametrize("raised", [SpecError("conv needs images", key="model.family"),
                                    SpecError("model.family: conv needs images")], ids=["keyed", "text"])
def test_a_key_found_wrong_once_the_data_are_loaded_names_the_sweep_file(raised: SpecError) -> None:
    from fitsweep.cli._errors import naming_the_sweep_file

    with pytest.raises(SpecError) as named, naming_the_sweep_file(Path("moons.yaml")):
        raise raised
    assert str(named.value) == "moons.yaml: model.family: conv needs images"
    assert named.value.source == "moons.yaml"
