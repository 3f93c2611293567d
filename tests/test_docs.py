"""The documentation site: it builds strictly, offline, and its reference says what the code does.

The reference pages are generated from the code (docs/hooks), so these tests check that what a
user reads names every sweep-file key, table column, command and option the code has.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from conftest import REPO
from fitsweep.cli import app
from fitsweep.results.columns import DERIVED_MEANINGS, EPOCH_MEANINGS, HYPERPARAMETER_COLUMNS, TRIAL_MEANINGS
from fitsweep.spec import MODEL_FAMILIES, Regularization, ReportSpec, SweepSpec, TrainSpec, TunerSpec
from fitsweep.spec._data import DATA_SOURCES

SECTIONS = (SweepSpec, *DATA_SOURCES, *MODEL_FAMILIES, Regularization, TrainSpec, TunerSpec, ReportSpec)
# Keys that choose a section's class; the reference documents them with the classes they choose.
CHOOSERS = ("source", "family")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as `make docs` builds it (strictly), from this checkout's code, into a temporary folder."""
    pytest.importorskip("mkdocs", reason="the docs extra builds the site")
    pytest.importorskip("mkdocstrings", reason="the docs extra builds the site")
    site_dir = tmp_path_factory.mktemp("site")
    paths = [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    return site_dir


def _text(site: Path, page: str) -> str:
    """A built page's text, tags and spaces removed (so a table row reads as its cells run together)."""
    page_html = (site / page / "index.html").read_text(encoding="utf-8")
    return _squeezed(html.unescape(re.sub(r"<[^>]+>", "", page_html)))


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _code_words(site: Path, page: str) -> set[str]:
    """The `code` spans of a built page."""
    page_html = (site / page / "index.html").read_text(encoding="utf-8")
    return {html.unescape(word) for word in re.findall(r"<code>([^<]+)</code>", page_html)}


@pytest.mark.parametrize("section", SECTIONS, ids=lambda section: section.__name__)
def test_every_sweep_file_key_says_what_it_does(section: type) -> None:
    undescribed = [name for name, field in section.model_fields.items()
                   if name not in CHOOSERS and not field.description]
    assert undescribed == [], f"{section.__name__}: give these keys a Field(description=...)"


def test_the_sweep_file_reference_lists_every_key_of_every_section(site: Path) -> None:
    documented = _code_words(site, "reference/sweep-file")
    sections = [section for section in SECTIONS if getattr(section, "kind", "") != "kerastuner"]
    keys = {name for section in sections for name in section.model_fields if name not in CHOOSERS}
    assert keys - documented == set()
    assert {f"source: {source.kind}" for source in DATA_SOURCES if source.kind != "kerastuner"} <= documented


def test_the_sweep_file_reference_gives_defaults_and_allowed_values_from_the_schema(site: Path) -> None:
    text = _text(site, "reference/sweep-file")
    assert "|`optimizer`|" not in text  # rendered as tables, not left as markdown
    # Row by row: key, type, default, allowed, what it does.
    assert _squeezed("early_stopping int or null null 1 to 100,000 Patience in epochs") in text
    assert _squeezed("algorithm string random random, grid, bayesian, hyperband") in text
    assert _squeezed("dropout number, searchable 0.0 [0, 1)") in text


def test_the_results_reference_describes_every_column_from_the_registry(site: Path) -> None:
    documented = _code_words(site, "reference/results-folder")
    assert set(TRIAL_MEANINGS) | set(EPOCH_MEANINGS) | set(DERIVED_MEANINGS) <= documented
    text = _text(site, "reference/results-folder")
    assert all(_squeezed(f"{name}{meaning}".replace("`", "")) in text for name, meaning in EPOCH_MEANINGS.items())


def test_the_command_line_reference_has_every_command_and_option(site: Path) -> None:
    text = _text(site, "reference/cli")
    for name, command in app.commands.items():
        assert f"fitsweep{name}" in text
        for option in command.params:
            if isinstance(option, click.Option):
                assert all(flag in text for flag in (*option.opts, *option.secondary_opts)), (name, option.opts)


def test_the_python_api_reference_renders_the_entry_points_docstrings(site: Path) -> None:
    text = _text(site, "reference/python-api")
    for function in ("run_sweep", "load", "run_learning_curve", "load_learning_curve", "diagnose", "compare",
                     "plot_learning_curves", "write_report", "verdicts_of"):
        assert f"{function}(" in text, function
    assert "SweepRun" in text and "best_model" in text
    assert _squeezed("Run a sweep with KerasTuner and write its results folder.") in text


def test_every_hyperparameter_column_has_a_meaning() -> None:
    assert tuple(name for name in TRIAL_MEANINGS if name in HYPERPARAMETER_COLUMNS) == HYPERPARAMETER_COLUMNS


def test_the_readme_links_only_to_pages_that_exist() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?:docs|results)/[^)#]+)(?:#[^)]*)?\)", readme)
    assert targets, "the README links into the docs"
    assert [target for target in targets if not (REPO / target).is_file()] == []
