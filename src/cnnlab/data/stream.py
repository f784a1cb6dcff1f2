"""Image folders bigger than memory: decode once into memory-mapped uint8 files, then train from them.

The decoded cache lives in <cache>/decoded/<key>/ — one `<split>.u8` file of N×C×H×W bytes and one
`<split>.labels.npy` per split, and `meta.json`, written last, that marks the cache complete.  The key hashes
the folder's file count, total size and newest modification time with the decoding options, so a changed
folder is decoded again and an unchanged one opens instantly.  Training reads such splits through a
DataLoader with worker processes (see cnnlab.training.loop); evaluation reads them in order.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from cnnlab.runs.checkpoint import write_json
from cnnlab.data.base import available_memory, size_text  # noqa: F401  (available_memory: re-exported)
from cnnlab.data.dataset import DataError, Dataset, Split
from cnnlab.data.folder import FolderListing, list_image_folder, transparency_note
from cnnlab.data.image_file import read_image
from cnnlab.data.named import cache_dir
from cnnlab.data.splits import limit_indices, stratified_indices

FORMAT = 2  # 2: EXIF orientation, 16-bit scaling, transparency on white, working size, notes in meta.json
CHUNK = 512  # images decoded per step: bounds the memory used while decoding


def should_stream(decoded_bytes: int, mode: str) -> bool:
    """on / off, or auto: stream when the decoded images would fill more than half the available memory."""
    if mode in ("on", "off"):
        return mode == "on"
    free = available_memory()
    return bool(free) and decoded_bytes > free // 2


def fingerprint(folder: Path) -> dict:
    """File count, total bytes and newest modification time under `folder`: changes when its images do."""
    count = size = newest = 0
    for root, _, files in os.walk(folder):
        for name in files:
            stat = os.stat(os.path.join(root, name))
            count, size, newest = count + 1, size + stat.st_size, max(newest, stat.st_mtime_ns)
    return {"files": count, "bytes": size, "mtime_ns": newest}


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


def check_disk(listing: FolderListing, where: Path) -> None:
    """Refuse, before decoding, a folder whose decoded images would not fit on the cache's disk."""
    root = next((p for p in (where, *where.parents) if p.exists()), Path("/"))
    need, free = listing.bytes_needed(), shutil.disk_usage(root).free
    if need > free:
        c, (h, w) = listing.channels, listing.image_size
        raise DataError(f"{listing.folder}: {listing.count} images at {c}×{h}×{w} need {size_text(need)}, more than "
                        f"the {size_text(free)} free on the cache disk ({root}); choose a smaller --image-size or "
                        "set CNNLAB_CACHE to a bigger disk")


def open_split(folder: Path, name: str, shape: tuple[int, ...], ids: list[str]) -> Split:
    """A split whose images are a copy-on-write memory map of `<name>.u8` (pages are read as they are used)."""
    labels = np.load(folder / f"{name}.labels.npy")
    n = len(labels)
    images = np.memmap(folder / f"{name}.u8", dtype=np.uint8, mode="c", shape=(n, *shape)) if n else \
        np.zeros((0, *shape), dtype=np.uint8)
    return Split(torch.from_numpy(images), torch.from_numpy(labels), ids, streamed=True)


def load_folder_streamed(folder: str | Path, image_size: tuple[int, int] | None = None, channels: int | None = None,
                         val_split: float = 0.0, seed: int = 0, limit: int | None = None) -> Dataset:
    """An image folder as memory-mapped splits, with the validation split and `limit` sample already taken."""
    listing = list_image_folder(folder, image_size, channels)
    files = dict(listing.files)
    paths, labels = files["train"]
    if "val" not in files and val_split > 0:  # the same stratified, seeded carve as the in-memory path
        kept, held = stratified_indices(torch.tensor(labels), val_split, seed)
        files["val"] = ([paths[i] for i in held.tolist()], [labels[i] for i in held.tolist()])
        files["train"] = paths, labels = [paths[i] for i in kept.tolist()], [labels[i] for i in kept.tolist()]
    if limit and limit < len(paths):
        sample = limit_indices(torch.tensor(labels), limit, seed).tolist()
        files["train"] = [paths[i] for i in sample], [labels[i] for i in sample]
    listing.files = files
    shape = (listing.channels, *listing.image_size)
    recipe = {"format": FORMAT, "folder": str(listing.folder.resolve()), "shape": shape,
              "splits": {k: [str(p) for p in v[0]] for k, v in files.items()}, **fingerprint(listing.folder)}
    key = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:20]
    where = cache_dir() / "decoded" / key
    if not (where / "meta.json").is_file():
        check_disk(listing, where)
        where.mkdir(parents=True, exist_ok=True)
        transparent = False
        for name, (split_paths, split_labels) in files.items():
            transparent |= _decode_into(where / f"{name}.u8", split_paths, listing.channels, listing.image_size)
            np.save(where / f"{name}.labels.npy", np.asarray(split_labels, dtype=np.int64))
        write_json(where / "meta.json", {"format": FORMAT, "source": recipe["folder"], "shape": shape,
                                         "classes": listing.classes, "transparent": transparent,
                                         "splits": {k: len(v[0]) for k, v in files.items()}})
    splits = {name: open_split(where, name, shape, [str(p.relative_to(listing.folder)) for p in files[name][0]])
              for name in ("train", "val", "test") if name in files}
    transparent = json.loads((where / "meta.json").read_text()).get("transparent", False)
    notes = listing.notes + [f"streaming {size_text(listing.bytes_needed())} of decoded images from {where}"] \
        + ([transparency_note()] if transparent else [])
    return Dataset(listing.folder.name, listing.classes, splits, source=str(listing.folder), meta={"notes": notes})


def estimated_bytes(folder: str | Path, image_size: tuple[int, int] | None, channels: int | None) -> int:
    """Decoded size of an image folder (N × C × H × W bytes at its working size), from its listing alone."""
    return list_image_folder(folder, image_size, channels).bytes_needed()
