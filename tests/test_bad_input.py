"""The bad-input corpus, through the real command line: exit 2, one line, no traceback, nothing written.

Every case is listed in `tests/corpus/manifest.yaml` with the fragments its message must contain,
or, for a resource bomb that PyYAML or fitsweep may refuse, the time and memory budget its refusal
has (measured by `benchmarks/bad_input.py`; the tests check the refusal, not its speed).
Sweep files are committed under `tests/corpus/sweeps/`; the broken data files that the sweep files
under `tests/corpus/data/` name are written at test time by the maker of the same name below, so
no binary is committed. Errors are all caught before training, so no model is ever fitted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml

from conftest import invoke_cli as invoke
from conftest import tiny_sweep, write_sweep

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST: dict[str, list[dict[str, Any]]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
PREFIX = "fitsweep: error: "


# --- running the command line --------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, int]:
    """Every file and folder under `folder` with its size, to prove a command wrote nothing."""
    return {str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else -1) for p in sorted(folder.rglob("*"))}


def assert_one_line_error(code: int, output: str, expect: list[str]) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, output
    assert "Traceback" not in output, output
    assert len(lines) == 1, output
    assert lines[0].startswith(PREFIX), output
    for fragment in expect:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, so that a default `runs/` would land where the test sees it."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# --- data file makers (one per data case, named as the case's `make`) ------------------------------


def _table(rows: int = 40, features: int = 3, classes: int = 2) -> np.ndarray:
    """Rows of random features then a label column, every class present."""
    rng = np.random.default_rng(0)
    labels = (np.arange(rows) % classes).astype("float64")[:, None]
    return np.hstack([rng.normal(size=(rows, features)), labels])


def _h5(path: Path, **datasets: Any) -> None:
    with h5py.File(path, "w") as file:
        for name, values in datasets.items():
            if values is None:
                file.create_group(name)
            else:
                file.create_dataset(name, data=values)


def _garbage(path: Path, size: int = 4096) -> None:
    path.write_bytes(np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8).tobytes())


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _csv(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _rows(header: str, labels: list[Any], extra: str = "") -> str:
    return header + "\n" + "".join(f"{i % 7},{(i * 3) % 5}{extra},{label}\n" for i, label in enumerate(labels))


def _colours(folder: Path) -> None:
    """A table with a text column, 'colour', beside number columns 'a' and 'b'."""
    _csv(folder / "colours.csv", _rows("a,b,colour,target", TWO, extra=",red").replace(",red,1", ",blue,1"))


def _with_nan(table: np.ndarray) -> np.ndarray:
    table[3, 1] = np.nan
    return table


def _with_half_label(table: np.ndarray) -> np.ndarray:
    table[5, -1] = 0.5
    return table


def _with_inf(x: np.ndarray) -> np.ndarray:
    x[2, 0] = np.inf
    return x


TWO = [0, 1] * 10
MAKERS: dict[str, Callable[[Path], None]] = {
    "missing_file": lambda d: None,
    "folder_as_file": lambda d: (d / "a_folder").mkdir(),
    "nul_in_path": lambda d: None,
    "hdf5_missing_train_dataset": lambda d: _h5(d / "other_names.h5", features=_table()[:, :-1],
                                                labels=_table()[:, -1]),
    "hdf5_missing_test_dataset": lambda d: _h5(d / "train_only.h5", trainData=_table()),
    "hdf5_group_not_dataset": lambda d: _h5(d / "group.h5", trainData=None),
    "hdf5_one_dimensional": lambda d: _h5(d / "flat.h5", trainData=np.arange(20.0)),
    "hdf5_strings": lambda d: _h5(d / "strings.h5", trainData=np.array([[b"a", b"b", b"c"]] * 20)),
    "hdf5_label_column_outside": lambda d: _h5(d / "good.h5", trainData=_table()),
    "hdf5_garbage_bytes": lambda d: _garbage(d / "garbage.h5"),
    "hdf5_truncated": lambda d: (_h5(d / "truncated.h5", trainData=_table(2000, 9), testData=_table(500, 9)),
                                 _truncate(d / "truncated.h5")),
    "hdf5_nan_features": lambda d: _h5(d / "nan.h5", trainData=_with_nan(_table())),
    "hdf5_fractional_labels": lambda d: _h5(d / "half_labels.h5", trainData=_with_half_label(_table())),
    "hdf5_one_class": lambda d: _h5(d / "one_class.h5", trainData=_table(classes=1)),
    "hdf5_test_feature_mismatch": lambda d: _h5(d / "mismatch.h5", trainData=_table(), testData=_table(20, 4)),
    "hdf5_empty_table": lambda d: _h5(d / "empty_table.h5", trainData=np.zeros((0, 4))),
    "csv_no_target": lambda d: _csv(d / "no_target.csv", _rows("a,b,targets", TWO)),
    "csv_nan": lambda d: _csv(d / "missing_value.csv", _rows("a,b,target", TWO).replace("\n3,4,", "\n3,,", 1)),
    "csv_missing_target": lambda d: _csv(d / "no_label.csv", _rows("a,b,target", [*TWO[:5], "", *TWO[5:]])),
    "csv_mean_on_text": lambda d: _csv(d / "colour_gap.csv",
                                       _rows("a,b,colour,target", TWO, extra=",red").replace(",red,", ",,", 1)),
    "csv_numbers_with_text": lambda d: _csv(d / "numbers_with_text.csv",
                                            _rows("a,b,target", TWO).replace("\n3,4,", "\n3,?,", 1)),
    "csv_categorical_unknown_column": _colours,
    "csv_categorical_target": _colours,
    "csv_image_shape_with_text": _colours,
    "csv_negative_labels": lambda d: _csv(d / "negative_labels.csv", _rows("a,b,target", [-1, 1] * 10)),
    "csv_skipped_class": lambda d: _csv(d / "skipped_class.csv", _rows("a,b,target", [0, 2] * 10)),
    "csv_one_class": lambda d: _csv(d / "one_class.csv", _rows("a,b,target", [0] * 20)),
    "csv_empty": lambda d: _csv(d / "empty.csv", ""),
    "csv_header_only": lambda d: _csv(d / "header_only.csv", "a,b,target\n"),
    "csv_only_target": lambda d: _csv(d / "only_target.csv", "target\n" + "0\n1\n" * 10),
    "csv_header_too_long": lambda d: _csv(d / "million_columns.csv", ",".join(f"c{i}" for i in range(10**6)) + "\n"),
    "csv_too_many_columns": lambda d: _csv(d / "wide.csv", "a," * 100_001 + "target\n" + "0," * 100_001 + "1\n"),
    "csv_ragged_rows": lambda d: _csv(d / "ragged.csv", "a,b,target\n1,2,0\n1,2,3,4\n"),
    "csv_not_utf8": lambda d: (d / "latin1.csv").write_bytes(_rows("caf\xe9,b,target", TWO).encode("latin-1")),
    "csv_test_columns_differ": lambda d: (_csv(d / "good.csv", _rows("a,b,target", TWO)),
                                          _csv(d / "other_columns.csv", _rows("a,c,target", TWO))),
    "csv_too_few_per_class": lambda d: _csv(d / "lonely_class.csv", _rows("a,b,target", [*TWO, 2])),
    "npz_missing_arrays": lambda d: np.savez(d / "wrong_names.npz", features=np.ones((10, 2)),
                                             labels=np.arange(10) % 2),
    "npz_x_test_without_y_test": lambda d: np.savez(d / "half_test.npz", x_train=np.ones((10, 2)),
                                                    y_train=np.arange(10) % 2, x_test=np.ones((4, 2))),
    "npz_garbage_bytes": lambda d: _garbage(d / "garbage.npz"),
    "npz_truncated": lambda d: (np.savez(d / "truncated.npz", x_train=np.ones((500, 8)), y_train=np.arange(500) % 2),
                                _truncate(d / "truncated.npz")),
    "npz_single_array": lambda d: np.save(d / "single.npy", np.ones((10, 3))),
    "npz_object_array": lambda d: np.savez(d / "objects.npz", x_train=np.array([{"a": 1}] * 10, dtype=object),
                                           y_train=np.arange(10) % 2),
    "npz_row_mismatch": lambda d: np.savez(d / "rows.npz", x_train=np.ones((10, 2)), y_train=np.arange(9) % 2),
    "npz_one_hot": lambda d: np.savez(d / "one_hot.npz", x_train=np.ones((10, 2)),
                                      y_train=np.eye(2)[np.arange(10) % 2]),
    "npz_no_features": lambda d: np.savez(d / "no_features.npz", x_train=np.ones((10, 0)), y_train=np.arange(10) % 2),
    "npz_no_rows": lambda d: np.savez(d / "no_rows.npz", x_train=np.ones((0, 3)), y_train=np.zeros(0)),
    "npz_infinite": lambda d: np.savez(d / "infinite.npz", x_train=_with_inf(np.ones((10, 2))),
                                       y_train=np.arange(10) % 2),
    "npz_text": lambda d: np.savez(d / "text.npz", x_train=np.array([["a", "b"]] * 10), y_train=np.arange(10) % 2),
    # Sweep files that are not committed.
    "oversized": lambda d: (d / "oversized.yaml").write_text(
        "name: big\ndata: {source: moons}\n" + "# padding\n" * 120_000, encoding="utf-8"),
}


def place(case: dict[str, Any], folder: Path) -> Path:
    """Copy a case's sweep file into `folder` and write the files its maker makes beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    source = CORPUS / case["file"]
    target = folder / source.name
    if source.exists():
        shutil.copyfile(source, target)
    if "make" in case:
        MAKERS[case["make"]](folder)
    return target


def case_id(case: dict[str, Any]) -> str:
    return Path(case["file"]).stem if "file" in case else " ".join(case["args"])


# --- the manifest itself ---------------------------------------------------------------------------


def test_manifest_lists_every_corpus_file_once() -> None:
    listed = [case["file"] for kind in ("sweeps", "data") for case in MANIFEST[kind]]
    assert len(listed) == len(set(listed))
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.yaml")}
    made = {case["file"] for case in MANIFEST["sweeps"] if "make" in case}
    assert on_disk == set(listed) - made
    assert {case["make"] for kind in ("sweeps", "data") for case in MANIFEST[kind] if "make" in case} == set(MAKERS)
    assert sum(len(cases) for cases in MANIFEST.values()) >= 40
    assert all(case.get("expect") or case.get("budget") for cases in MANIFEST.values() for case in cases)


# --- sweep files: `run` and `validate` ------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", MANIFEST["sweeps"], ids=case_id)
def test_bad_sweep_file(case: dict[str, Any], command: str, tmp_path: Path, workdir: Path,
                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = place(case, tmp_path / "sweeps")
    results = tmp_path / "results"
    args = [command, str(sweep)]
    if command == "run":
        args += ["--results-dir", str(results), "--max-trials", "1", "--epochs", "1", "--quiet"]
    before = snapshot(tmp_path)
    line = assert_one_line_error(*invoke(args, monkeypatch, capsys), case.get("expect", []))
    assert f"{PREFIX}{sweep}: " in line  # the message starts with the sweep file
    assert snapshot(tmp_path) == before and not results.exists()


# --- data files a valid sweep file names -----------------------------------------------------------


@pytest.mark.parametrize("case", MANIFEST["data"], ids=case_id)
def test_bad_data_file(case: dict[str, Any], tmp_path: Path, workdir: Path,
                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = place(case, tmp_path / "sweeps")
    results = tmp_path / "results"
    before = snapshot(tmp_path)
    args = ["run", str(sweep), "--results-dir", str(results), "--max-trials", "1", "--epochs", "1", "--quiet"]
    assert_one_line_error(*invoke(args, monkeypatch, capsys), case.get("expect", []))
    assert snapshot(tmp_path) == before and not results.exists()


# --- command lines -------------------------------------------------------------------------------


def cli_placeholders(tmp_path: Path) -> dict[str, str]:
    """The files and folders the command-line cases refer to."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    good = write_sweep(scratch, tiny_sweep(), "good.yaml")
    plain_file = scratch / "plain_file"
    plain_file.write_text("not a folder\n", encoding="utf-8")
    fake_run = scratch / "fake_run"
    fake_run.mkdir()
    for name in ("sweep.yaml", "trials.parquet", "epochs.parquet", "run.json"):
        _garbage(fake_run / name, 256)
    return {"good": str(good), "tmp": str(scratch), "plain_file": str(plain_file), "fake_run": str(fake_run),
            "long": "x" * 300, "deep": "a/" * 2100}


@pytest.mark.parametrize("case", MANIFEST["cli"], ids=case_id)
def test_bad_command_line(case: dict[str, Any], tmp_path: Path, workdir: Path,
                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    placeholders = cli_placeholders(tmp_path)
    args = [arg.format(**placeholders) for arg in case["args"]]
    before = snapshot(tmp_path)
    assert_one_line_error(*invoke(args, monkeypatch, capsys), case["expect"])
    assert snapshot(tmp_path) == before  # no default runs/ in the working folder either


# --- the installed console script: no traceback leaks past the real entry point --------------------

SCRIPT = Path(sys.executable).with_name("fitsweep")
SUBPROCESS_CASES = [
    ("validate", "sweeps/python_object_apply.yaml"),
    ("run", "sweeps/billion_laughs.yaml"),
    ("run", "sweeps/deep_nesting.yaml"),
    ("run", "data/npz_text.yaml"),
]


@pytest.mark.skipif(not SCRIPT.exists(), reason="the fitsweep console script is not installed beside python")
@pytest.mark.parametrize("command, file", SUBPROCESS_CASES, ids=[f"{c} {f}" for c, f in SUBPROCESS_CASES])
def test_console_script(command: str, file: str, tmp_path: Path) -> None:
    case = next(c for kind in ("sweeps", "data") for c in MANIFEST[kind] if c["file"] == file)
    sweep = place(case, tmp_path / "sweeps")
    work = tmp_path / "work"
    work.mkdir()
    args = [str(SCRIPT), command, str(sweep)]
    if command == "run":
        args += ["--results-dir", str(tmp_path / "results"), "--max-trials", "1", "--epochs", "1", "--quiet"]
    before = snapshot(tmp_path)
    done = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=600,  # a safety net
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert_one_line_error(done.returncode, done.stdout + done.stderr, case["expect"])
    assert snapshot(tmp_path) == before


# --- resource bombs: refused whichever layer refuses them (their budgets: benchmarks/bad_input.py) -

BOMBS = [case for kind in ("sweeps", "data") for case in MANIFEST[kind] if "budget" in case]


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", BOMBS, ids=case_id)
def test_bomb_refused(case: dict[str, Any], command: str, tmp_path: Path, workdir: Path,
                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = place(case, tmp_path / "sweeps")
    args = [command, str(sweep)]
    if command == "run":
        args += ["--results-dir", str(tmp_path / "results"), "--max-trials", "1", "--epochs", "1", "--quiet"]
    before = snapshot(tmp_path)
    line = assert_one_line_error(*invoke(args, monkeypatch, capsys), case.get("expect", []))
    assert f"{PREFIX}{sweep}: " in line
    assert snapshot(tmp_path) == before
