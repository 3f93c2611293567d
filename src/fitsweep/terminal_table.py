"""Tables that fit the terminal: columns chosen by the console's width, no cell cut short.

A rich table squeezed into a narrow terminal cuts every cell to `0.0…`. A `FittedTable` instead
keeps whole the columns it shows, in their order of importance, leaves out the ones that do not
fit and says so in one line. Numbers never wrap; text wraps at its spaces; a header too wide for
its column breaks after the underscores of its name (`val_` above `accuracy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

__all__ = ["Cell", "FittedTable", "TableColumn"]

Cell = str | Text

_GAP = 2  # between two columns: one space of padding and the (blank) rule
_PROSE_WIDTH = 24  # a wrapping column gets at least this width (or its longest cell), not one word a line


@dataclass(frozen=True, eq=False)  # a column is itself, not its cells: compared by identity
class TableColumn:
    """One column: its name (the header), its cells, and whether they are numbers (right-aligned, never wrapped)."""

    name: str
    cells: Sequence[Cell]
    numeric: bool = False

    @property
    def cells_width(self) -> int:
        """The width that shows every cell on one line."""
        return max((_width(cell) for cell in self.cells), default=0)

    @property
    def least_width(self) -> int:
        """The narrowest width that cuts nothing: numbers whole, text wrapped at spaces, the header broken."""
        header = max(cell_len(part.rstrip()) for part in _header_parts(self.name))
        if self.numeric:
            return max(header, self.cells_width)
        longest_word = max((cell_len(word) for cell in self.cells for word in _plain(cell).split()), default=1)
        return max(header, longest_word, min(_PROSE_WIDTH, self.cells_width))

    def header(self, width: int) -> str:
        """The name on as few lines of `width` as its underscores allow."""
        lines = [""]
        for part in _header_parts(self.name):
            if lines[-1] and cell_len((lines[-1] + part).rstrip()) > width:
                lines.append("")
            lines[-1] += part
        return "\n".join(line.rstrip() for line in lines)


@dataclass
class FittedTable:
    """A table whose columns are chosen, at render time, by the width it is given.

    Columns are kept in `priority` order (their table order by default) while they fit; those
    left out are named in a line below the table, with `hint` saying where to see them (`{columns}`
    in it becomes their names, comma-separated). The first column in priority is always shown.
    `notes` are printed below the table as well.

    Example:
        >>> columns = [TableColumn("trial_id", ["00", "01"]), TableColumn("val_loss", ["0.05", "0.06"], True)]
        >>> Console(width=80).print(FittedTable(columns, title="Best trials"))  # doctest: +SKIP
    """

    columns: list[TableColumn]
    title: str | None = None
    priority: Sequence[str] | None = None
    hint: str = "a wider terminal shows them"
    notes: list[str] = field(default_factory=list)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        shown = self.fitting(options.max_width)
        widths = _widths(shown, options.max_width)
        yield _table(shown, widths, self.title)
        left_out = [column.name for column in self.columns if column not in shown]
        if left_out:
            names = ",".join(left_out)
            yield Text(f"Left out at {options.max_width} characters wide: {names.replace(',', ', ')} "
                       f"({self.hint.replace('{columns}', names)}).", style="italic")
        for note in self.notes:
            yield Text(note, style="italic")

    def fitting(self, width: int) -> list[TableColumn]:
        """The columns shown at `width`, in table order: by priority, each while it still fits."""
        by_name = {column.name: column for column in self.columns}
        order = [by_name[name] for name in (self.priority or []) if name in by_name]
        order += [column for column in self.columns if column not in order]
        chosen: list[TableColumn] = []
        used = -_GAP
        for column in order:
            if not chosen or used + _GAP + column.least_width <= width:
                chosen.append(column)
                used += _GAP + column.least_width
        return [column for column in self.columns if column in chosen]


def _widths(columns: list[TableColumn], width: int) -> list[int]:
    """Each column's width: its least, then the room left unbreaks headers, then widens text that wraps."""
    widths = [column.least_width for column in columns]
    room = width - sum(widths) - _GAP * (len(columns) - 1)
    for index, column in enumerate(columns):  # a header on one line, where the room allows it whole
        wider = cell_len(column.name) - widths[index]
        if 0 < wider <= room:
            room -= wider
            widths[index] += wider
    # Then the text still wrapping, in proportion to what each lacks: its rows take about as many lines.
    lacking = [max(column.cells_width - width, 0) for column, width in zip(columns, widths, strict=True)]
    given = [min(short, room * short // sum(lacking)) for short in lacking] if sum(lacking) > room else lacking
    return [width + extra for width, extra in zip(widths, given, strict=True)]


def _table(columns: list[TableColumn], widths: list[int], title: str | None) -> Table:
    # Rows that wrap are kept apart by a blank line; one space and the blank rule between columns.
    wraps = any(width < column.cells_width for column, width in zip(columns, widths, strict=True))
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, collapse_padding=True, show_lines=wraps)
    for column, width in zip(columns, widths, strict=True):
        table.add_column(column.header(width), justify="right" if column.numeric else "left", width=width,
                         no_wrap=column.numeric, overflow="fold")
    for row in zip(*(column.cells for column in columns), strict=True):
        table.add_row(*row)
    return table


def _header_parts(name: str) -> list[str]:
    """A header's pieces that may stand on lines of their own: `val_accuracy` -> `val_`, `accuracy`."""
    parts = [piece + "_" for piece in name.split("_")]
    parts[-1] = parts[-1][:-1]
    return [piece for part in parts for piece in _words(part)]


def _words(text: str) -> Iterable[str]:
    words = text.split(" ")
    return [word + " " for word in words[:-1]] + words[-1:]


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _width(cell: Cell) -> int:
    return max((cell_len(line) for line in _plain(cell).splitlines()), default=0)
