"""CIFAR-10 in its python-batch form (pickled dicts, read without running any pickled code) or binary form."""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from cnnlab.data.dataset import DataError, Dataset, Split

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
RECORD = 1 + 3 * 32 * 32  # bytes per image in the binary form: label, then R, G, B planes


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain containers and refuses every other global."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how protocol-2 pickles store array bytes

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR batch holds only arrays")


def read_python_batch(path: Path) -> dict:
    """One pickled CIFAR batch as a dict with str keys."""
    try:
        raw = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: not a CIFAR python batch ({exc})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(raw).__name__}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def _python_split(folder: Path, names: list[str]) -> Split:
    images, labels = [], []
    for name in names:
        batch = read_python_batch(folder / name)
        if "data" not in batch or "labels" not in batch:
            raise DataError(f"{folder / name}: missing 'data' or 'labels' (found {', '.join(batch)})")
        data = np.asarray(batch["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise DataError(f"{folder / name}: 'data' has shape {data.shape}, expected N×3072")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    return Split(np.concatenate(images), np.concatenate(labels))


def _binary_split(folder: Path, names: list[str]) -> Split:
    images, labels = [], []
    for name in names:
        raw = (folder / name).read_bytes()
        if len(raw) % RECORD:
            raise DataError(f"{folder / name}: {len(raw)} bytes is not a whole number of {RECORD}-byte records")
        records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
        labels.append(records[:, 0].astype(np.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    return Split(np.concatenate(images), np.concatenate(labels))


def looks_like_cifar_folder(folder: Path) -> bool:
    return (folder / "data_batch_1").is_file() or (folder / "data_batch_1.bin").is_file() \
        or (folder / "cifar-10-batches-py").is_dir() or (folder / "cifar-10-batches-bin").is_dir()


def load_cifar10(folder: str | Path, name: str = "cifar10") -> Dataset:
    """CIFAR-10 from `cifar-10-batches-py/` (or `-bin/`), or a folder that holds the batch files."""
    folder = Path(folder)
    for sub in ("cifar-10-batches-py", "cifar-10-batches-bin"):
        if (folder / sub).is_dir():
            folder = folder / sub
            break
    if (folder / "data_batch_1").is_file():
        missing = [n for n in TRAIN_BATCHES + ["test_batch"] if not (folder / n).is_file()]
        if missing:
            raise DataError(f"{folder}: missing CIFAR-10 batch file(s) {', '.join(missing)}")
        splits = {"train": _python_split(folder, TRAIN_BATCHES), "test": _python_split(folder, ["test_batch"])}
    elif (folder / "data_batch_1.bin").is_file():
        names = [n + ".bin" for n in TRAIN_BATCHES]
        missing = [n for n in names + ["test_batch.bin"] if not (folder / n).is_file()]
        if missing:
            raise DataError(f"{folder}: missing CIFAR-10 batch file(s) {', '.join(missing)}")
        splits = {"train": _binary_split(folder, names), "test": _binary_split(folder, ["test_batch.bin"])}
    else:
        raise DataError(f"{folder}: expected CIFAR-10 batches (data_batch_1 ... data_batch_5, test_batch)")
    return Dataset(name, list(CIFAR10_CLASSES), splits, source=str(folder))
