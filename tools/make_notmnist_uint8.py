"""Re-encode the shared notMNIST_small HDF5 file as uint8 for bundling inside fitsweep.

The shared file stores pixels as float32 multiples of 1/255, so `round(pixel * 255)` is exact and
a uint8 copy loses nothing while compressing far better. Labels 0-9 fit uint8 too. Dataset names,
row layout and attributes are kept; `layout` and `encoding` say how to read the pixels back.

Usage (from the repository root, with `../shared` beside the checkout)::

    python tools/make_notmnist_uint8.py ../shared/data/notmnist_small.h5 \
        src/fitsweep/datasets/notmnist_small.h5

Needs numpy and h5py. Running it again gives a byte-identical file with the same versions.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import h5py
import numpy as np

# sha256 of shared/data/notmnist_small.h5 as documented in shared/data/README.md.
SOURCE_SHA256 = "75dad2604cbb283263d1f0e470a226b9f67e58b0bb0fdf755e6fabd32fa33f98"
DATASETS = ("trainData", "testData")
N_PIXELS = 784
# Rows per chunk: large enough to compress well, small enough to read a few rows cheaply.
CHUNK_ROWS = 1024


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_uint8(table: np.ndarray, name: str) -> np.ndarray:
    """Pixels times 255 and labels as they are, both as uint8; fails unless exact."""
    scaled = table.astype(np.float64)
    scaled[:, :N_PIXELS] *= 255.0
    rounded = np.round(scaled)
    if np.abs(scaled - rounded).max() > 1e-3 or rounded.min() < 0 or rounded.max() > 255:
        raise SystemExit(f"{name}: values are not multiples of 1/255 in [0, 1]; a uint8 copy would lose data")
    return rounded.astype(np.uint8)


def convert(source: Path, target: Path) -> None:
    """Write the uint8 copy of `source` to `target` and check it reads back equal."""
    with h5py.File(source, "r") as src, h5py.File(target, "w", libver="earliest") as dst:
        for name in DATASETS:
            table = src[name][()]
            dst.create_dataset(
                name, data=to_uint8(table, name), chunks=(min(CHUNK_ROWS, len(table)), table.shape[1]),
                compression="gzip", compression_opts=9, track_times=False,
            )
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        dst.attrs["layout"] = (
            "each row: 784 pixels (28x28, row-major) as uint8 0-255 (divide by 255 for [0, 1]), "
            "then the label 0-9 (A-J)"
        )
        dst.attrs["encoding"] = f"uint8 copy of a float32 file (sha256 {SOURCE_SHA256}): round(pixel * 255)"
    with h5py.File(source, "r") as src, h5py.File(target, "r") as dst:
        for name in DATASETS:
            original = src[name][()]
            copy = dst[name][()].astype(np.float32)
            copy[:, :N_PIXELS] /= 255.0
            if not np.array_equal(original, copy):
                raise SystemExit(f"{target}: {name} does not read back equal to {source}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the float32 notmnist_small.h5 from shared/data")
    parser.add_argument("target", type=Path, help="where to write the uint8 copy")
    parser.add_argument("--any-source", action="store_true", help="skip the sha256 check of the source")
    args = parser.parse_args(argv)
    digest = sha256_of(args.source)
    if digest != SOURCE_SHA256 and not args.any_source:
        print(f"{args.source}: sha256 {digest} is not the documented {SOURCE_SHA256}", file=sys.stderr)
        return 1
    args.target.parent.mkdir(parents=True, exist_ok=True)
    convert(args.source, args.target)
    print(f"wrote {args.target} ({args.target.stat().st_size:,} bytes), sha256 {sha256_of(args.target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
