"""The layout's promises, read from fitsweep's own source: short modules, and one door per concept."""

from __future__ import annotations

import ast
import importlib.resources
from pathlib import Path

import pytest

import fitsweep

PACKAGE = Path(fitsweep.__file__).parent
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _calls(path: Path, function: str) -> int:
    """How many times the code of `path` (not its docstrings) calls `function`, by name or attribute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sum(
        isinstance(node, ast.Call)
        and function in (getattr(node.func, "id", None), getattr(node.func, "attr", None))
        for node in ast.walk(tree)
    )


def _callers(function: str) -> set[str]:
    return {_name(path) for path in _modules() if _calls(path, function)}


@pytest.mark.parametrize("module", _modules(), ids=_name)
def test_no_module_is_longer_than_a_reader_can_hold(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(module)}: {lines} lines; split it by responsibility"


def test_op_determinism_is_set_in_one_place() -> None:
    assert _callers("enable_op_determinism") == {"training/_models.py"}


def test_a_runs_verdicts_are_computed_in_one_module() -> None:
    """Outside the analysis package (pure functions over tables), only fitsweep.verdicts calls diagnose."""
    outside = {name for name in _callers("diagnose") if not name.startswith("analysis/")}
    assert outside == {"verdicts.py"}


def test_training_has_one_door() -> None:
    """The fused-or-alone choice is made in one function; everything else trains through it."""
    assert _callers("train_alone") == {"training/__init__.py"}
    assert _callers("train_fused") <= {"training/__init__.py"}


def test_the_package_declares_its_annotations_to_type_checkers():
    # PEP 561: without the marker a type checker ignores every annotation a user's code imports from fitsweep.
    assert importlib.resources.files("fitsweep").joinpath("py.typed").is_file()
