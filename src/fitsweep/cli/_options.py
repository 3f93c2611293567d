"""What the commands take: click parameter types, the arguments and options several commands share,
and the sweep-file overrides given as flags.

The library names an override by its parameter (`SweepSpec.with_overrides(epochs=0)`); the command
line names it by the flag a user typed (`--epochs 0`). `OVERRIDE_FLAGS` is the one table between them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from fitsweep.spec import SweepSpec

_Command = TypeVar("_Command", bound=Callable[..., Any])

# What a file system holds when it cannot say (Linux's limits: bytes in one name, in a whole path).
_NAME_MAX, _PATH_MAX = 255, 4096


class UsablePath(click.Path):
    """click's Path that refuses a name too long for the file system, and a file to write with no folder.

    Checked here, at the edge, so that no command gets as far as the operating system's
    "File name too long" (or writes half its files first).
    """

    def __init__(self, *, to_write: bool = False, **kwargs: Any) -> None:
        super().__init__(path_type=Path, **kwargs)
        self.to_write = to_write

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        too_long = _too_long(os.fsdecode(value))
        if too_long:
            self.fail(f"{os.fsdecode(value)!r}: {too_long}", param, ctx)
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        if self.to_write and path.is_dir():
            self.fail(f"'{path}' is a folder; give a file name", param, ctx)
        if self.to_write and not path.parent.is_dir():
            self.fail(f"'{path}': its folder {path.parent} does not exist; create it first", param, ctx)
        return path


def _too_long(path: str) -> str | None:
    """Why `path` is longer than its file system allows, or None when it fits."""
    name_max, path_max = _file_system_limits(Path(path))
    longest = max((len(os.fsencode(part)) for part in Path(path).parts), default=0)
    if longest > name_max:
        return f"a name of {longest} bytes is longer than the file system allows (at most {name_max} bytes a name)"
    if len(os.fsencode(path)) >= path_max:
        return f"a path of {len(os.fsencode(path))} bytes is longer than the file system allows (under {path_max})"
    return None


def _file_system_limits(path: Path) -> tuple[int, int]:
    """NAME_MAX and PATH_MAX of the file system that holds `path` (its nearest existing folder)."""
    folder = Path(os.path.abspath(path)).parent
    try:
        while not os.path.isdir(folder) and folder != folder.parent:
            folder = folder.parent
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError):  # a platform or file system that does not say
        return _NAME_MAX, _PATH_MAX


# --- arguments and options several commands share ------------------------------------------------


def sweep_argument(function: _Command) -> _Command:
    return click.argument("sweep", type=UsablePath())(function)


def run_dir_argument(function: _Command) -> _Command:
    return click.argument("run_dir", type=UsablePath())(function)


def results_dir_option(help_text: str) -> Callable[[_Command], _Command]:
    """`--results-dir`, the parent of a run's folder; each command says in `help_text` who shares it.

    Its default, runs/, is kept out of version control; the committed studies live in results/.
    """
    return click.option("--results-dir", type=UsablePath(), default=Path("runs"), show_default=True,
                        help=help_text)


quiet_option = click.option("--quiet", is_flag=True, help="Print only the final summary.")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace an earlier run of the same name.")
max_trials_option = click.option("--max-trials", type=click.IntRange(min=1), help="Override tuner.max_trials.")
data_dir_option = click.option(
    "--data-dir", type=UsablePath(file_okay=False),
    help="Folder the sweep's relative data paths start at (default: the one the run recorded).")
csv_option = click.option("--csv", "csv_path", type=UsablePath(to_write=True), help="Also write the table as CSV.")


def epochs_option(help_text: str) -> Callable[[_Command], _Command]:
    """`--epochs` overriding train.epochs; each command says in `help_text` what the override means for it."""
    return click.option("--epochs", type=click.IntRange(min=1), help=help_text)


# --- overrides of the sweep file -----------------------------------------------------------------

# Each `SweepSpec.with_overrides` parameter and its flag (a switch: its flag on, its flag off), in the
# order an error lists them.
OVERRIDE_FLAGS: dict[str, str | tuple[str, str]] = {
    "tensorboard": ("--tensorboard", "--no-tensorboard"),
    "fused": ("--fuse", "--no-fuse"),
    "fused_trials": "--fused-trials",
    "max_trials": "--max-trials",
    "epochs": "--epochs",
}


def with_options(spec: SweepSpec, **overrides: Any) -> SweepSpec:
    """The sweep file with a command's overrides (`with_overrides` parameters, None: not given).

    An error names them as typed, its source `command line (--epochs 0)`.
    """
    given = [_as_typed(OVERRIDE_FLAGS[name], overrides[name]) for name in OVERRIDE_FLAGS
             if overrides.get(name) is not None]
    source = f"command line ({', '.join(given)})" if given else "command line"
    return spec.with_overrides(**overrides, source=source)


def _as_typed(flag: str | tuple[str, str], value: Any) -> str:
    if isinstance(flag, tuple):
        return flag[0] if value else flag[1]
    return f"{flag} {value}"
