"""Properties of the command line over generated arguments to the commands that read a run.

Whatever a user types after `show`, `diagnose`, `compare`, `suggest`, `learning-curve`, `report`
or `import`, fitsweep either does its job (exit 0) or refuses in one line (exit 2): never a
traceback, never another exit code.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import invoke_cli

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Text a shell can pass as one argument: anything but NUL.
words = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=24)
numbers = st.sampled_from(["0", "1", "-1", "0.5", "1e309", "nan", "inf", "-0", "1,2", "0x10", "", " "]) | words
# Where a path argument points: placeholders filled in per test (see `_paths`).
PLACES = ["{run}", "{missing}", "{file}", "{folder}", "{long}", "{deep}", "{missing}/x.csv", "{run}/sweep.yaml"]
paths = st.sampled_from(PLACES) | words


def _options(pairs: dict[str, Any]) -> Any:
    """Any subset of `--option value` pairs, in any order."""
    return st.lists(st.sampled_from(list(pairs)), unique=True, max_size=len(pairs)).flatmap(
        lambda names: st.tuples(*(st.tuples(st.just(name), pairs[name]) for name in names)))


COMMANDS = {
    "show": st.tuples(st.just(["show"]), st.lists(paths, min_size=0, max_size=2), st.just(())),
    "diagnose": st.tuples(st.just(["diagnose"]), st.lists(paths, min_size=1, max_size=1),
                          _options({"--csv": paths, "--confidence": numbers, "--margin": numbers,
                                    "--accuracy-margin": numbers})),
    "compare": st.tuples(st.just(["compare"]), st.lists(paths, min_size=0, max_size=2),
                         _options({"--by": words | st.sampled_from(["layers", "run", "width", "regularizer_kind"]),
                                   "--csv": paths})),
    "suggest": st.tuples(st.just(["suggest"]), st.lists(paths, min_size=1, max_size=1),
                         _options({"--output": paths})),
    "report": st.tuples(st.just(["report"]), st.lists(paths, min_size=1, max_size=1),
                        _options({"--data-dir": paths})),
    # One epoch, one repeat: an argument that happens to be valid retrains a tiny model once.
    "learning-curve": st.tuples(st.just(["learning-curve", "--repeats", "1", "--epochs", "1"]),
                                st.lists(paths, min_size=1, max_size=1),
                                _options({"--trials": words | st.sampled_from(["best", "0", "00,best", ","]),
                                          "--sizes": numbers, "--metric": words, "--data-dir": paths})),
    "import": st.tuples(st.just(["import"]), st.lists(paths, min_size=1, max_size=1),
                        _options({"--tensorboard": paths, "--name": words, "--results-dir": paths})),
}


@pytest.fixture(scope="module")
def places(tiny_run: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A copy of a finished run (commands may add to it), and the other places a path argument points to."""
    root = tmp_path_factory.mktemp("arguments")
    run = root / "tiny"
    shutil.copytree(tiny_run.path, run)
    (root / "plain_file").write_text("not a run\n", encoding="utf-8")
    (root / "empty_folder").mkdir()
    return {"run": str(run), "missing": str(root / "missing"), "file": str(root / "plain_file"),
            "folder": str(root / "empty_folder"), "long": str(root / ("x" * 300)), "deep": str(root / ("a/" * 2100))}


def _filled(arguments: list[str], places: dict[str, str]) -> list[str]:
    filled = []
    for argument in arguments:
        try:
            filled.append(argument.format(**places))
        except (KeyError, ValueError, IndexError, AttributeError):  # generated text with braces of its own
            filled.append(argument)
    return filled


def _check(arguments: list[str], places: dict[str, str], monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(places["folder"])  # a default runs/ lands there, not in the repository
    code, output = invoke_cli(arguments, monkeypatch, capsys)
    assert "Traceback" not in output, output
    assert code in (0, 2), (arguments, output)
    if code == 2:
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("fitsweep: error: "), (arguments, output)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_any_arguments_give_exit_0_or_one_line_and_exit_2(command: str, places: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    @SETTINGS
    @given(COMMANDS[command])
    def check(generated: tuple[list[str], list[str], tuple[tuple[str, str], ...]]) -> None:
        head, positional, options = generated
        arguments = [*head, *positional, *(part for option in options for part in option)]
        _check(_filled(arguments, places), places, monkeypatch, capsys)

    check()
