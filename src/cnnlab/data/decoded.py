"""Decoded image folders kept on disk, so that a folder is decoded once and later runs read raw pixels.

The cache lives in <cache>/decoded/<key>/ (<cache>: $CNNLAB_CACHE, else ~/.cache/cnnlab) — one `<split>.u8` file of
N×C×H×W bytes and one `<split>.labels.npy` per split, and `meta.json`, written last, that marks the cache
complete.  The key hashes the folder, the split's file lists and the decoding options (working size, channels,
FORMAT) with the folder's file count, total size and newest modification time, so a changed folder is decoded
again and an unchanged one opens at disk speed.  Streamed folders (cnnlab.data.stream) train from memory maps of
these files; folders loaded into memory read them whole when the folder is big enough for decoding to take a
while (CACHE_FILES / CACHE_BYTES).  Delete the folder to reclaim the space.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from cnnlab.data.base import cache_dir, size_text
from cnnlab.data.dataset import DataError
from cnnlab.data.image_file import read_image
from cnnlab.runs.checkpoint import write_json

FORMAT = 2  # 2: EXIF orientation, 16-bit scaling, transparency on white, working size, notes in meta.json
CHUNK = 512  # images decoded per step: bounds the memory used while decoding
# Folders loaded into memory are cached from this many files or bytes: CIFAR-10's 50,000 JPEGs (32×32, 60 MB) took
# 19-42 s to decode on 2 cores, and phone photos ~50 ms each; a few thousand small files decode in seconds.
CACHE_FILES = 10_000
CACHE_BYTES = 16 << 20


class CacheDiskFull(DataError):
    """The decoded images would not fit on the cache's disk (raised before anything is written)."""


def fingerprint(folder: Path) -> dict:
    """File count, total bytes and newest modification time under `folder`: changes when its images do."""
    count = size = newest = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:  # a dangling link
                continue
            count, size, newest = count + 1, size + stat.st_size, max(newest, stat.st_mtime_ns)
    return {"files": count, "bytes": size, "mtime_ns": newest}


def worth_caching(stamp: dict) -> bool:
    """Whether a folder with this fingerprint takes long enough to decode for a disk copy to pay."""
    return stamp["files"] >= CACHE_FILES or stamp["bytes"] >= CACHE_BYTES


def _decode_into(path: Path, files: list[Path], channels: int, size: tuple[int, int]) -> bool:
    """Append the decoded images of `files` to `path` (via a temporary file renamed when complete); True when
    some had transparency."""
    part = path.with_name(path.name + ".part")
    transparent = False
    with open(part, "wb") as out, ThreadPoolExecutor(max_workers=4) as pool:
        for lo in range(0, len(files), CHUNK):
            for array, alpha in pool.map(lambda p: read_image(p, channels, size), files[lo:lo + CHUNK]):
                out.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
                transparent |= alpha
    os.replace(part, path)
    return transparent


def check_disk(listing, where: Path) -> None:
    """Refuse, before decoding, a folder whose decoded images would not fit on the cache's disk."""
    root = next((p for p in (where, *where.parents) if p.exists()), Path("/"))
    need, free = listing.bytes_needed(), shutil.disk_usage(root).free
    if need > free:
        c, (h, w) = listing.channels, listing.image_size
        raise CacheDiskFull(f"{listing.folder}: {listing.count} images at {c}×{h}×{w} need {size_text(need)}, more "
                            f"than the {size_text(free)} free on the cache disk ({root}); choose a smaller "
                            "--image-size or set CNNLAB_CACHE to a bigger disk")


def cache_key(listing, files: dict[str, tuple[list[Path], list[int]]], stamp: dict) -> str:
    """The cache folder's name for these splits of `listing` (a FolderListing) at its working size."""
    shape = (listing.channels, *listing.image_size)
    recipe = {"format": FORMAT, "folder": str(listing.folder.resolve()), "shape": shape,
              "splits": {k: [str(p) for p in v[0]] for k, v in files.items()},
              "labels": {k: hashlib.sha1(np.asarray(v[1], dtype=np.int64).tobytes()).hexdigest()
                         for k, v in files.items()},
              **stamp}
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:20]


def decode_cached(listing, files: dict[str, tuple[list[Path], list[int]]],
                  stamp: dict | None = None) -> tuple[Path, bool]:
    """The cache folder holding `files` (split → (paths, labels)) of `listing` decoded, decoding them first if no
    complete cache exists; and whether it was there already.  The files are written to a folder of their own and
    renamed into place when complete, so processes decoding the same folder at once (torchrun's ranks) never read
    or write each other's halves: the first to finish wins.  Raises CacheDiskFull (a DataError) when they would
    not fit on the cache disk (nothing written), an OSError when writing fails (nothing is left behind), and the
    DataError of the first unreadable image."""
    key = cache_key(listing, files, stamp or fingerprint(listing.folder))
    where = cache_dir() / "decoded" / key
    if (where / "meta.json").is_file():
        return where, True
    check_disk(listing, where)
    where.parent.mkdir(parents=True, exist_ok=True)
    part = Path(tempfile.mkdtemp(prefix=f"{key}.part-", dir=where.parent))
    try:
        transparent = False
        for name, (split_paths, split_labels) in files.items():
            transparent |= _decode_into(part / f"{name}.u8", split_paths, listing.channels, listing.image_size)
            np.save(part / f"{name}.labels.npy", np.asarray(split_labels, dtype=np.int64))
        shape = (listing.channels, *listing.image_size)
        write_json(part / "meta.json", {"format": FORMAT, "source": str(listing.folder.resolve()), "shape": shape,
                                        "classes": listing.classes, "transparent": transparent,
                                        "splits": {k: len(v[0]) for k, v in files.items()}})
        if where.exists() and not (where / "meta.json").is_file():
            shutil.rmtree(where, ignore_errors=True)  # an unfinished cache of an earlier version
        try:
            os.rename(part, where)
        except OSError:
            if not (where / "meta.json").is_file():
                raise
            # another process completed the same cache first: its files are the same
    finally:
        shutil.rmtree(part, ignore_errors=True)  # nothing left after the rename
    return where, False


def cached_transparency(where: Path) -> bool:
    """Whether some of the cached images had transparent pixels (composited when decoded)."""
    return bool(json.loads((where / "meta.json").read_text(encoding="utf-8")).get("transparent", False))


def read_decoded(where: Path, name: str, shape: tuple[int, ...], n: int) -> np.ndarray:
    """Split `name`'s n decoded images (n, *shape) uint8, read whole into memory.  Raises DataError when the file
    does not hold exactly that many (a cache damaged after it was written)."""
    path = where / f"{name}.u8"
    images = np.fromfile(path, dtype=np.uint8)
    if images.size != n * int(np.prod(shape)):
        raise DataError(f"{path}: {images.size} bytes, expected {n} images of {'×'.join(map(str, shape))}; the "
                        f"decoded cache is damaged: delete {where} and run again")
    return images.reshape(n, *shape)
