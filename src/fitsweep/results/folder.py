"""The results folder: the one module that knows its layout.

    results/<name>/
        sweep.yaml        the resolved sweep file (every key, defaults included)
        run.json          versions, seed, start and end, status, host
        trials.parquet    one row per trial and execution (also trials.csv)
        epochs.parquet    one row per trial, execution and epoch
        best_model.keras  the best trial's model, at its best epoch
        best_predictions.npz  that model's outputs the report draws (`fitsweep.predictions`)
        learning_curve.parquet  trials retrained on shares of the training split (`fitsweep learning-curve`)
        tuner/            KerasTuner's own state (oracle.json, trial_*/trial.json)
        tensorboard/      TensorBoard event files: trial_*/execution_*/ (`fitsweep.tensorboard`)
        report.html       the report, one self-contained file (`fitsweep report`)
        report.md         the same report as Markdown, its figures under figures/
        figures/inputs.sha256  what the figures were drawn from (`fitsweep report` redraws when it changes)

Every file is written atomically (a temporary file, then a rename), so a reader never sees a
half-written table.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.errors import ResultsError
from fitsweep.spec import SweepSpec, load_spec

__all__ = [
    "RunPaths", "SweepRun", "check_recorded_sweep", "file_digest", "load", "load_best_model", "prepare_run_dir",
    "read_arrays", "read_run_info", "run_lock", "sweep_fingerprint", "write_arrays", "write_atomic", "write_tables",
    "write_run_info", "write_spec",
]

log = logging.getLogger(__name__)

TUNER_PROJECT = "tuner"
_OLD_COMPLETED = "complete"  # run.json's status for a finished run before fitsweep spelled it "completed"
_UMASK = os.umask(0)
os.umask(_UMASK)


@dataclass(frozen=True)
class RunPaths:
    """Where each file of one run lives."""

    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "sweep.yaml"

    @property
    def run_info(self) -> Path:
        return self.root / "run.json"

    @property
    def trials(self) -> Path:
        return self.root / "trials.parquet"

    @property
    def trials_csv(self) -> Path:
        return self.root / "trials.csv"

    @property
    def epochs(self) -> Path:
        return self.root / "epochs.parquet"

    @property
    def best_model(self) -> Path:
        return self.root / "best_model.keras"

    @property
    def predictions(self) -> Path:
        """The best model's outputs on the test split and over the feature plane: figures without TensorFlow."""
        return self.root / "best_predictions.npz"

    @property
    def learning_curve(self) -> Path:
        """One row per trial, training-set size and repeat: `fitsweep.learning_curve`'s table."""
        return self.root / "learning_curve.parquet"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def tuner_dir(self) -> Path:
        return self.root / TUNER_PROJECT

    @property
    def report_html(self) -> Path:
        return self.root / "report.html"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @property
    def figures_dir(self) -> Path:
        """The report's figures as PNG files, linked from report.md."""
        return self.root / "figures"

    @property
    def figures_inputs(self) -> Path:
        """The digest of everything the figures under `figures_dir` were drawn from."""
        return self.figures_dir / "inputs.sha256"

    @property
    def tensorboard_dir(self) -> Path:
        """TensorBoard's log folder: `tensorboard --logdir` opens the run's HParams sessions there."""
        return self.root / "tensorboard"

    @property
    def tensorboard_staging(self) -> Path:
        """Where event files are written before they move into `tensorboard_dir` whole (outside it)."""
        return self.root / ".tensorboard-staging"

    def tensorboard_trial(self, trial_id: str) -> Path:
        """One trial's TensorBoard folder: a session per execution."""
        return self.tensorboard_dir / f"trial_{trial_id}"

    def trial_model(self, trial_id: str, file_name: str) -> Path:
        return self.tuner_dir / f"trial_{trial_id}" / file_name


def prepare_run_dir(root: Path, overwrite: bool) -> RunPaths:
    """Claim a folder for a new run: refuse an existing run unless `overwrite`.

    Only a fitsweep run folder (one holding run.json) or an empty folder is ever replaced, so a
    mistyped path cannot wipe unrelated files.
    """
    paths = RunPaths(root)
    if root.exists() and not root.is_dir():
        raise ResultsError(f"{root}: exists and is not a folder; choose another --results-dir")
    # Hidden entries alone (a lock or temporary file of a run killed while starting) hold no run.
    if root.exists() and any(not entry.name.startswith(".") for entry in root.iterdir()):
        if not overwrite:
            raise ResultsError(f"{root}: a run already exists here; to keep it, give another --results-dir (the new "
                               f"run goes to DIR/{root.name}); to replace it, pass --overwrite")
        if not paths.run_info.exists():
            raise ResultsError(f"{root}: is not empty and holds no fitsweep run; refusing to overwrite it")
        holder = _lock_holder(paths)
        if _holder_alive(holder):
            raise ResultsError(f"{root}: another fitsweep process ({holder}) is writing this run")
        shutil.rmtree(root)
    elif root.exists() and _holder_alive(_lock_holder(paths)):
        raise ResultsError(f"{root}: another fitsweep process ({_lock_holder(paths)}) is starting a run here")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ResultsError(f"{root}: cannot create the results folder ({error.strerror})") from None
    return paths


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write a file through `write(temporary_path)`, then rename it into place.

    A reader sees the old file or the new one, never half of one; on error the old file stays.

    Example:
        >>> write_atomic(Path("/tmp/x.txt"), lambda p: p.write_text("hello"))  # doctest: +SKIP
    """
    # The name shortened, so that the temporary file's fits wherever the file's own does.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide results from other readers
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_spec(paths: RunPaths, spec: SweepSpec) -> None:
    """Save the resolved sweep file."""
    write_atomic(paths.spec, lambda p: p.write_text(spec.to_yaml(), encoding="utf-8"))


def write_run_info(paths: RunPaths, info: dict[str, Any]) -> None:
    """Save run.json."""
    write_atomic(paths.run_info, lambda p: p.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8"))


def write_tables(paths: RunPaths, trials: pd.DataFrame, epochs: pd.DataFrame) -> None:
    """Save both tables (trials also as CSV)."""
    write_atomic(paths.trials, lambda p: trials.to_parquet(p, index=False))
    write_atomic(paths.trials_csv, lambda p: trials.to_csv(p, index=False))
    write_atomic(paths.epochs, lambda p: epochs.to_parquet(p, index=False))


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Save named arrays as one compressed .npz file (such as `RunPaths.predictions`)."""

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:  # a file object: np.savez would append .npz to a path
            np.savez_compressed(handle, allow_pickle=False, **arrays)

    write_atomic(path, write)


def read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays `write_arrays` saved, or None when the file is missing or unreadable (an older fitsweep's)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


def file_digest(path: Path) -> str | None:
    """The SHA-256 of a file's bytes, or None when there is no such file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def keep_best_model(paths: RunPaths, best_trial_id: str | None, file_name: str,
                    trial_ids: Iterable[str] | None = None, copy: bool = True) -> None:
    """Copy the best trial's model to best_model.keras and delete every other trial's model.

    Args:
        paths: The run's files.
        best_trial_id: The trial whose model is kept (None: none is).
        file_name: The model's file name in a trial's folder.
        trial_ids: Only these trials' models are deleted (those that ended since the last call);
            None looks in every trial's folder.
        copy: Copy the best model (False when best_model.keras already holds it).
    """
    if best_trial_id is not None and copy:
        source = paths.trial_model(best_trial_id, file_name)
        if source.exists():
            write_atomic(paths.best_model, lambda p: shutil.copyfile(source, p))
    if trial_ids is None:
        model_files = list(paths.tuner_dir.glob(f"trial_*/{file_name}"))
    else:
        model_files = [paths.trial_model(trial_id, file_name) for trial_id in trial_ids]
    for model_file in model_files:
        if best_trial_id is None or model_file.parent.name != f"trial_{best_trial_id}":
            model_file.unlink(missing_ok=True)


@dataclass(repr=False)
class SweepRun:
    """A finished (or running) sweep as tables: what `fitsweep.load` returns."""

    path: Path
    spec: SweepSpec
    trials: pd.DataFrame
    epochs: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line, as a notebook shows the run: its folder, size, status and best trial, not its tables."""
        trials = self.trials["trial_id"].nunique() if "trial_id" in self.trials else 0
        best, score = self.info.get("best_trial"), self.info.get("best_score")
        objective = self.spec.tuner.objective
        best_text = f", best trial {best} ({objective} {score:.4g})" if best and score is not None else ""
        return (f"SweepRun('{self.path}': {trials} trials, {len(self.trials)} executions, {len(self.epochs)} epoch "
                f"rows, {self.info.get('status', 'status unknown')}{best_text})")

    def _repr_html_(self) -> str | None:
        """As a notebook shows the run: status, verdicts, best trials and findings (`fitsweep.report.notebook`)."""
        return self._summary_html

    @cached_property
    def _summary_html(self) -> str | None:
        """Made once (verdicts and findings take a second or two on a large run); None, and so the
        one-line repr, when it cannot be made: a display never fails a cell."""
        try:
            from fitsweep.report.notebook import run_html

            return run_html(self)
        except Exception as error:  # noqa: BLE001 - see above; the reason is logged
            log.debug("no HTML summary of %s: %s", self.path, error)
            return None

    @property
    def best_model(self) -> Any:
        """The best trial's Keras model, restored at its best epoch (None if none was kept)."""
        return load_best_model(RunPaths(self.path), self.spec)


def load_best_model(paths: RunPaths, spec: SweepSpec) -> Any:
    """The run's best_model.keras as a Keras model (None if none was kept); imports Keras."""
    if not paths.best_model.exists():
        return None
    from fitsweep.quiet_tensorflow import import_tensorflow

    import_tensorflow()
    import keras

    from fitsweep.families.user_build import custom_objects

    return keras.saving.load_model(paths.best_model, custom_objects=custom_objects(spec))


def read_run_info(paths: RunPaths) -> dict[str, Any]:
    """run.json as a dict (empty when the file is missing); an older "complete" status reads "completed"."""
    if not paths.run_info.exists():
        return {}
    try:
        info = json.loads(paths.run_info.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ResultsError(f"{paths.run_info}: cannot be read ({error})") from None
    if not isinstance(info, dict):
        raise ResultsError(f"{paths.run_info}: is not a JSON object")
    if info.get("status") == _OLD_COMPLETED:
        info["status"] = "completed"
    return info


def sweep_fingerprint(text: str) -> str:
    """A digest of sweep.yaml's text as the run wrote it, kept in run.json to recognise the run's own file.

    The text, not the spec it parses to: a later fitsweep that adds a key with its default reads
    the same file as a different resolved spec.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_recorded_sweep(paths: RunPaths, spec: SweepSpec, info: dict[str, Any]) -> None:
    """Refuse a run folder whose sweep.yaml is not the sweep its run.json records (another sweep's, copied in).

    Runs recorded before run.json kept the digest are compared by the fields it always held.
    """
    recorded = {"name": spec.name, "seed": spec.tuner.seed, "algorithm": spec.tuner.algorithm,
                "objective": spec.tuner.objective}
    differing = [f"{key} {info[key]!r} there, {value!r} here" for key, value in recorded.items()
                 if key in info and info[key] != value]
    digest = info.get("sweep_sha256")
    if not differing and digest is not None and digest != sweep_fingerprint(paths.spec.read_text(encoding="utf-8")):
        differing = ["the file is not the one the run wrote"]
    if differing:
        raise ResultsError(
            f"{paths.spec}: sweep '{spec.name}' is not the sweep '{info.get('name')}' that {paths.run_info} records "
            f"({'; '.join(differing)}); put the run's own sweep.yaml back, or start this sweep with `fitsweep run`")


def load(path: str | Path) -> SweepRun:
    """Load a results folder as DataFrames.

    Args:
        path: A run's folder, such as "results/moons".

    Returns:
        A `SweepRun` with `.trials`, `.epochs`, `.spec`, `.info` and `.best_model`.

    Example:
        >>> run = load("results/moons")  # doctest: +SKIP
        >>> run.trials.sort_values("val_loss").head()  # doctest: +SKIP
    """
    paths = RunPaths(Path(path))
    if paths.root.is_file():
        raise ResultsError(f"{paths.root}: is a file, not a results folder; give a run's folder (results/<name>)")
    if not paths.root.is_dir():
        raise ResultsError(f"{paths.root}: no such results folder")
    missing = [p.name for p in (paths.spec, paths.trials, paths.epochs) if not p.exists()]
    if missing:
        raise ResultsError(f"{paths.root}: not a fitsweep results folder (missing {', '.join(missing)})")
    try:
        info = read_run_info(paths)
        trials = pd.read_parquet(paths.trials)
        epochs = pd.read_parquet(paths.epochs)
    except (OSError, ValueError) as error:
        raise ResultsError(f"{paths.root}: cannot read the run's files ({error})") from None
    return SweepRun(path=paths.root, spec=load_spec(paths.spec, recorded=True), trials=trials, epochs=epochs, info=info)


@contextmanager
def run_lock(paths: RunPaths) -> Iterator[None]:
    """Hold the one-writer lock of a run folder for the duration of a `run` or `resume`.

    The lock is a file naming the holder's host and process. A lock whose process is gone (a
    killed run on this host) is stale and taken over; a live one is an error.
    """
    lock = paths.lock
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            with open(lock, "x", encoding="utf-8") as handle:
                handle.write(me)
            break
        except FileExistsError:
            holder = _lock_holder(paths)
            if _holder_alive(holder):
                raise ResultsError(f"{paths.root}: another fitsweep process ({holder}) is writing this run") from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
    else:
        raise ResultsError(f"{paths.root}: could not take the run's lock ({lock})")
    try:
        yield
    finally:
        if lock.exists() and lock.read_text(encoding="utf-8").strip() == me:
            lock.unlink()


def _lock_holder(paths: RunPaths) -> str:
    try:
        return paths.lock.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _holder_alive(holder: str) -> bool:
    host, _, pid = holder.partition(" ")
    if host != socket.gethostname() or not pid.isdecimal():
        return bool(holder)  # another host's lock cannot be checked from here; trust it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
