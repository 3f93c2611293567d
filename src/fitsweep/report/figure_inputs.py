"""What a report's figures are drawn from, as one digest: a figure whose inputs did not change is not drawn again.

A report stores the digest beside its figures (`RunPaths.figures_inputs`); the next report
computes it again and reads back each figure it finds there when the two are equal. The digest
covers everything a figure can depend on: the run's files (tables, run.json, sweep.yaml, the
best model, the learning curve), the data files a file source reads (their size and time),
the data folder, `retrain`, fitsweep's own code and templates (each file's size and time), and the
drawing libraries' versions and matplotlibrc.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from fitsweep.results import RunPaths, SweepRun

__all__ = ["figure_inputs", "read_figure_inputs", "write_figure_inputs"]

_PACKAGE = Path(__file__).resolve().parent.parent
_LIBRARIES = ("matplotlib", "seaborn", "numpy", "pandas", "scipy")


def figure_inputs(run: SweepRun, data_dir: str | Path, retrain: bool) -> str:
    """A digest of everything the report's figures are drawn from: equal digests, equal figures.

    Example:
        >>> figure_inputs(fitsweep.load("results/moons"), "sweeps", retrain=False)  # doctest: +SKIP
    """
    paths = RunPaths(run.path)
    digest = hashlib.sha256()
    # Not the stored predictions: they follow from the model and the data, and a report may store them.
    files = (paths.trials, paths.epochs, paths.run_info, paths.spec, paths.best_model, paths.learning_curve)
    for path in files:
        _add_file(digest, path)
    digest.update(f"retrain={retrain}\ndata_dir={Path(data_dir).resolve()}\n".encode())
    for data_file in _data_files(run, Path(data_dir)):
        stat = data_file.stat() if data_file.exists() else None
        digest.update(f"{data_file}:{stat and (stat.st_size, stat.st_mtime_ns)}\n".encode())
    digest.update(_code_digest().encode())
    return digest.hexdigest()


def _add_file(digest: Any, path: Path) -> None:
    digest.update(f"{path.name}:".encode())
    try:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    except FileNotFoundError:
        digest.update(b"missing")


def _data_files(run: SweepRun, data_dir: Path) -> Iterable[Path]:
    """The files a file source reads (hdf5, csv, npz), where the run's data_dir puts them."""
    for key in ("path", "test_path"):
        name = getattr(run.spec.data, key, None)
        if isinstance(name, str):
            yield data_dir / Path(name).expanduser()


@cache  # the code and libraries of this process do not change while it runs
def _code_digest() -> str:
    """fitsweep's code and templates, and the drawing libraries' versions: what turns inputs into pixels."""
    digest = hashlib.sha256()
    for pattern in ("**/*.py", "**/*.j2"):  # by size and time: reading every file costs more than a report's tables
        for path in sorted(_PACKAGE.glob(pattern)):
            stat = path.stat()
            digest.update(f"{path.relative_to(_PACKAGE).as_posix()}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={metadata.version(library)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none\n".encode())
    import matplotlib

    _add_file(digest, Path(matplotlib.matplotlib_fname()))  # a user's matplotlibrc changes every figure
    return digest.hexdigest()


def read_figure_inputs(paths: RunPaths) -> str | None:
    """The digest the figures under figures/ were drawn from (None: unknown, so none is reused)."""
    try:
        return paths.figures_inputs.read_text(encoding="ascii").strip() or None
    except (OSError, ValueError):
        return None


def write_figure_inputs(paths: RunPaths, digest: str | None) -> None:
    """Say what the figures under figures/ were drawn from; None forgets it (before they are rewritten)."""
    if digest is None:
        paths.figures_inputs.unlink(missing_ok=True)
        return
    from fitsweep.results import write_atomic

    write_atomic(paths.figures_inputs, lambda path: path.write_text(digest + "\n", encoding="ascii"))
