"""mkdocs hook: the reference pages' tables, generated from fitsweep's code at build time.

A page asks for a table with a marker on a line of its own, `<!-- reference: KIND [ARGUMENT] -->`:

- `sweep-keys SECTION`: the keys of a sweep-file section (`sweep`, `data`, `model.dense`,
  `model.conv`, `model.build`, `regularization`, `train`, `tuner`, `report`), from its pydantic model;
- `data-sources`: each data source, what it is and its own keys;
- `columns TABLE`: the columns of the `trials`, `epochs` or `derived` table, from
  `fitsweep.results.columns`;
- `cli`: every command of the `fitsweep` command line and its options, from its click help.

An unknown marker fails the build, as does any warning under `mkdocs build --strict`. The code
documented is this checkout's (`src/`), whatever fitsweep the environment has installed.

The figures the pages show are the committed studies' own (`FIGURES`), copied in at build time
rather than kept twice.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[2]
# This checkout's code, ahead of any installed fitsweep (as mkdocstrings' `paths: [src]` reads it).
sys.path.insert(0, str(REPO / "src"))

import _cli_reference  # noqa: E402 - after the path above
import _column_reference  # noqa: E402
import _sweep_file_reference  # noqa: E402

MARKER = re.compile(r"^<!-- reference: (?P<kind>[a-z-]+)(?: (?P<argument>[a-z.]+))? -->$", re.MULTILINE)

# Where a figure appears in the site, and the committed study figure it is.
FIGURES = {
    "img/notmnist-regularizers-learning-curves.png": "results/notmnist-regularizers/figures/learning_curves.png",
}
RENDERERS = {
    "sweep-keys": _sweep_file_reference.section_table,
    "data-sources": lambda _: _sweep_file_reference.data_sources(),
    "columns": _column_reference.columns_table,
    "cli": lambda _: _cli_reference.commands(),
}


def render(kind: str, argument: str | None) -> str:
    """The markdown a marker stands for."""
    if kind not in RENDERERS:
        raise ValueError(f"unknown reference marker {kind!r}; known: {', '.join(RENDERERS)}")
    return str(RENDERERS[kind](argument))


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Replace every marker of a page with its generated markdown."""
    try:
        return MARKER.sub(lambda match: render(match["kind"], match["argument"]), markdown)
    except (KeyError, ValueError) as error:
        raise ValueError(f"{page.file.src_path}: {error}") from error


def on_files(files: Files, config: Any) -> Files:
    """Add the study figures the pages show, from the results folders that hold them."""
    for site_path, source in FIGURES.items():
        files.append(File.generated(config, site_path, abs_src_path=str(REPO / source)))
    return files
