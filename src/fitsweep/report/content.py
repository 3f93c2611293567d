"""What a report holds, as the templates read it: its sections, their tables and figures."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fitsweep.report.text import cell

__all__ = ["Finding", "Report", "ReportFiles", "Section", "Table"]


@dataclass(frozen=True)
class ReportFiles:
    """What `write_report` wrote."""

    html: Path
    markdown: Path
    figures: list[Path]


@dataclass(frozen=True)
class Finding:
    """One key finding: a sentence, and what it lists (configurations, gaps), one per bullet."""

    text: str
    items: tuple[str, ...] = ()

    def __str__(self) -> str:
        return " ".join([self.text, *(f"- {item}" for item in self.items)])


@dataclass
class Table:
    """A small table of formatted cells, rendered by both templates."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Table:
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
                   for c in frame.columns]
        rows = [[cell(value) for value in row] for row in frame.itertuples(index=False)]
        return cls([str(c) for c in frame.columns], rows, numeric)


@dataclass
class Section:
    """One part of the report. `note` replaces what a section cannot show, and says why."""

    key: str
    title: str
    lead: str = ""
    items: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None
    details: Table | None = None  # a long table, folded away in HTML
    details_summary: str = "Every execution's verdict and reason"  # what the folded table holds
    png: bytes | None = None
    note: str | None = None

    @property
    def figure_name(self) -> str:
        return f"{self.key}.png"

    @property
    def png_base64(self) -> str:
        return base64.b64encode(self.png or b"").decode("ascii")


@dataclass
class Report:
    """Everything the templates show."""

    title: str
    status: str
    recommendation: str  # the first line: what to use and what to change, in plain words
    headline: list[Finding]
    sections: list[Section]
    generated: str
    diagnosis: pd.DataFrame | None = None  # what the verdicts were read from, for the terminal summary
    figure_inputs: str | None = None  # the digest of what its figures were drawn from (`report.figure_inputs`)
