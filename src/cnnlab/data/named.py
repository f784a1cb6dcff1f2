"""Data sets known by name: looked for in a local data folder, then a cache, else downloaded and verified."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cnnlab.data.base import cache_dir  # noqa: F401  (re-exported: where downloads go)
from cnnlab.data.cifar import load_cifar10
from cnnlab.data.dataset import DataError, Dataset
from cnnlab.data.download import Progress, RemoteFile, extract_tar, fetch
from cnnlab.data.idx import load_idx_folder
from cnnlab.data.folder import load_image_folder
from cnnlab.data.pixelcsv import load_pixel_csv

BUNDLED = Path(__file__).parent / "bundled"


def _idx_files(md5s: dict[str, str], md5_of: str) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, md5, md5_of) for name, md5 in md5s.items())


@dataclass(frozen=True)
class NamedDataset:
    """Where a named data set lives and how to read it."""

    name: str
    loader: Callable[[Path], Dataset]
    files: tuple[RemoteFile, ...] = ()  # what must be present (or downloaded) in its folder
    mirrors: tuple[str, ...] = ()  # base URLs, tried in order
    archive: RemoteFile | None = None  # downloaded and unpacked instead of `files`
    local_names: tuple[str, ...] = field(default=())  # files whose presence marks a local copy
    how_to_get: str = ""  # said when it can be neither found nor downloaded


NAMED: dict[str, NamedDataset] = {
    "mnist-mini": NamedDataset(
        "mnist-mini", lambda p: load_idx_folder(p, "mnist-mini"),
        how_to_get="it ships inside the cnnlab package; reinstall cnnlab"),
    "mnist": NamedDataset(
        "mnist", lambda p: load_idx_folder(p, "mnist"),
        # MD5 of the uncompressed contents, so a re-compressed copy verifies too
        files=_idx_files({"train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
                          "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
                          "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
                          "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637"}, "content"),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")),
    "fashion-mnist": NamedDataset(
        "fashion-mnist", lambda p: load_idx_folder(p, "fashion-mnist"),
        files=_idx_files({"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                          "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                          "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                          "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}, "file"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")),
    "kmnist": NamedDataset(
        "kmnist", lambda p: load_idx_folder(p, "kmnist"),
        files=_idx_files({"train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
                          "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
                          "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
                          "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134"}, "file"),
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)),
    "cifar10": NamedDataset(
        "cifar10", lambda p: load_cifar10(p, "cifar10"),
        archive=RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),
        local_names=("cifar-10-batches-py/data_batch_1", "data_batch_1", "cifar-10-batches-bin/data_batch_1.bin"),
        mirrors=("https://www.cs.toronto.edu/~kriz/",)),
    # the same images as JPEG files in class folders (train/<class>/*.jpg, a test/ beside it when there is one)
    "cifar10-jpg": NamedDataset(
        "cifar10-jpg", lambda p: load_image_folder(p),
        local_names=("train",),
        how_to_get="put a CIFAR-10 image folder there (train/<class>/*.jpg, optionally test/<class>/*.jpg), or use "
                   "'cifar10', which downloads the official batches"),
    "fer2013": NamedDataset(
        "fer2013", lambda p: load_pixel_csv(_fer_file(p), name="fer2013"),
        local_names=("fer2013.csv", "fer2013.csv.gz"),
        how_to_get="FER2013 has no public mirror: download fer2013.csv from Kaggle's "
                   "'Challenges in Representation Learning: Facial Expression Recognition' and put it in "
                   "<data-dir>/fer2013/"),
}


def _fer_file(folder: Path) -> Path:
    for name in ("fer2013.csv", "fer2013.csv.gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: expected fer2013.csv or fer2013.csv.gz")


def _present(spec: NamedDataset, folder: Path) -> bool:
    if not folder.is_dir():
        return False
    names = spec.local_names or tuple(f.name for f in spec.files)
    if spec.local_names:  # files, or a folder such as an image folder's train/
        return any((folder / n).exists() for n in names)
    # IDX copies may be stored uncompressed as well
    return all((folder / n).is_file() or (folder / n.removesuffix(".gz")).is_file() for n in names)


def mirrors_for(spec: NamedDataset) -> list[str]:
    """The data set's mirrors, after $CNNLAB_MIRROR/<name>/ when that is set (a local or private mirror)."""
    extra = os.environ.get("CNNLAB_MIRROR")
    return ([extra.rstrip("/") + "/" + spec.name + "/"] if extra else []) + list(spec.mirrors)


def locate(name: str, data_dir: str | Path | None = None, download: bool = True,
           progress: Progress | None = None) -> Path:
    """The folder holding data set `name`: data_dir (or $CNNLAB_DATA), the cache, or a fresh download."""
    spec = NAMED[name]
    if name == "mnist-mini":
        return BUNDLED / "mnist-mini"
    roots = [Path(d) for d in (data_dir, os.environ.get("CNNLAB_DATA")) if d]
    for root in roots:
        if _present(spec, root / name):
            return root / name
    cached = cache_dir() / name
    if spec.archive is None and spec.files and all((cached / f.name).is_file() for f in spec.files):
        return cached
    if spec.archive is not None and _present(spec, cached):
        return cached
    if not (spec.files or spec.archive) or not download:
        looked = ", ".join(str(r / name) for r in roots) or "no data folder given (--data-dir or CNNLAB_DATA)"
        raise DataError(f"data set {name!r} not found (looked in {looked}); {spec.how_to_get or 'pass --download'}")
    if spec.archive is not None:
        fetch((spec.archive,), mirrors_for(spec), cached, progress)
        extract_tar(cached / spec.archive.name, cached)
        (cached / spec.archive.name).unlink()
        return cached
    return fetch(spec.files, mirrors_for(spec), cached, progress)


def load_named(name: str, data_dir: str | Path | None = None, download: bool = True,
               progress: Progress | None = None) -> Dataset:
    """Load a named data set (see NAMED)."""
    return NAMED[name].loader(locate(name, data_dir, download, progress))
