"""Sweep files in: PyYAML's safe loader, hardened, and `load_spec`, which reads and validates a file.

A sweep file may come from anyone (a shared folder, a pull request), so reading it has limits
that no sweep file reaches, and every problem (a missing file, bad bytes, invalid YAML) is a
`SpecError` of one line that names the file and, for YAML, the line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from fitsweep.errors import SpecError
from fitsweep.spec._messages import shown
from fitsweep.spec._model import BuildModelSpec
from fitsweep.spec._sweep import SweepSpec, parse_spec
from fitsweep.spec._writer import YAML12_FLOAT, YAML12_FLOAT_FIRST

MAX_SWEEP_FILE_BYTES = 1_000_000
MAX_YAML_ALIASES = 100
# Deeper nesting is no sweep file, and would exhaust Python's recursion limit while parsing.
MAX_YAML_DEPTH = 32
# Keys a mapping may collect through `<<` merges: merges of merges grow exponentially per alias.
MAX_YAML_MERGED_KEYS = 1000


class SweepLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats (`1e-3`) and limits a sweep file never reaches.

    Limits: aliases, nesting depth and keys gathered by `<<` merges (so no alias bomb expands),
    no duplicate keys (the later one would silently win), and a scalar its tag cannot build
    (`!!int abc`, a 5000-digit number) is a YAML error with its line, not a Python exception.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def _next_mark(self) -> Any:
        """Where the next event starts, for an error's line."""
        return self.peek_event().start_mark  # type: ignore[no-untyped-call]  # unannotated in types-PyYAML

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise ComposerError(None, None, f"more than {MAX_YAML_ALIASES} aliases (&/*) in one file",
                                    self._next_mark())
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ComposerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                                    self._next_mark())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if (key.tag, key.value) in seen:
                    raise ComposerError(None, None, f"duplicate key {shown(key.value)}", key.start_mark)
                seen.add((key.tag, key.value))
        return node

    def flatten_mapping(self, node: Any) -> None:
        super().flatten_mapping(node)
        if len(node.value) > MAX_YAML_MERGED_KEYS:
            raise ConstructorError(None, None, f"more than {MAX_YAML_MERGED_KEYS} keys merged with <<",
                                   node.start_mark)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError, OverflowError):
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            raise ConstructorError(None, None, f"cannot read {shown(node.value)} as {tag}",
                                   node.start_mark) from None


SweepLoader.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_FLOAT, YAML12_FLOAT_FIRST)


def load_spec(path: str | Path, *, recorded: bool = False) -> SweepSpec:
    """Read and validate a sweep file.

    Args:
        path: The YAML sweep file.
        recorded: The file is a results folder's record of a run that already ran (its
            `sweep.yaml`): checks that concern how a new run would select are skipped.

    Returns:
        The validated `SweepSpec`.

    Raises:
        SpecError: With one line naming the file, the key and what is allowed (its `source` and `key`).

    Example:
        >>> spec = load_spec("sweeps/moons.yaml")  # doctest: +SKIP
        >>> spec.tuner.algorithm  # doctest: +SKIP
        'random'
    """
    path = Path(path)
    spec = parse_spec(_read_yaml(path), str(path), recorded=recorded)
    if isinstance(spec.model, BuildModelSpec):  # recorded absolute, so a resumed run or a worker finds it
        spec = spec.model_copy(update={"model": spec.model.located(path.parent)})
    return spec


def _read_yaml(path: Path) -> Any:
    """The YAML document of a sweep file, or a `SpecError` naming the file and what is wrong."""
    return _parsed(_read_text(path), path)


def _read_text(path: Path) -> str:
    """A sweep file's text: it exists, is a file, is small enough and is UTF-8."""
    try:
        exists = path.exists()
    except (OSError, ValueError) as error:
        raise SpecError(f"not a usable file name ({shown(str(error))})", source=str(path)) from None
    if not exists:
        raise SpecError("no such sweep file", source=str(path))
    if not path.is_file():
        raise SpecError("not a file; give the path of a YAML sweep file", source=str(path))
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SpecError(f"cannot be read ({error.strerror})", source=str(path)) from None
    if len(raw) > MAX_SWEEP_FILE_BYTES:
        raise SpecError(f"{len(raw)} bytes is too large for a sweep file (limit {MAX_SWEEP_FILE_BYTES})",
                        source=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"not UTF-8 text (bad byte at offset {error.start})", source=str(path)) from None


def _parsed(text: str, path: Path) -> Any:
    """`text` read by `SweepLoader`; a YAML error becomes one line with its line and column."""
    try:
        return yaml.load(text, Loader=SweepLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (control codes)
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "\0")
        character = f"U+{code:04X}"
        raise SpecError(f"invalid YAML at line {line}, column {column}: character {character} is not allowed "
                        "in YAML", source=str(path)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SpecError(f"invalid YAML{where}: {' '.join(problem.split())}", source=str(path)) from None


def parse_spec_text(text: str, source: str = "<sweep>") -> SweepSpec:
    """Validate sweep-file YAML text, read as `load_spec` reads a file (for text fitsweep wrote itself)."""
    return parse_spec(yaml.load(text, Loader=SweepLoader), source)  # noqa: S506 - a SafeLoader subclass
