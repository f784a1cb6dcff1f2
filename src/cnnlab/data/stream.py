"""Image folders bigger than memory: decode once into memory-mapped uint8 files, then train from them.

The decoded images live in the decoded cache (cnnlab.data.decoded: <cache>/decoded/<key>/, one `<split>.u8` file
of N×C×H×W bytes per split), keyed by the folder's contents and the decoding options, so a changed folder is
decoded again and an unchanged one opens instantly.  Training reads such splits through a DataLoader with worker
processes (see cnnlab.training.loop); evaluation reads them in order.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cnnlab.data.base import available_memory, size_text  # noqa: F401  (available_memory: re-exported)
from cnnlab.data.dataset import Dataset, Split
from cnnlab.data.decoded import cached_transparency, decode_cached
from cnnlab.data.folder import list_image_folder, transparency_note
from cnnlab.data.splits import limit_indices, stratified_indices


def should_stream(decoded_bytes: int, mode: str) -> bool:
    """on / off, or auto: stream when the decoded images would fill more than half the available memory."""
    if mode in ("on", "off"):
        return mode == "on"
    free = available_memory()
    return bool(free) and decoded_bytes > free // 2


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
    where, _ = decode_cached(listing, files)
    splits = {name: open_split(where, name, shape, [str(p.relative_to(listing.folder)) for p in files[name][0]])
              for name in ("train", "val", "test") if name in files}
    transparent = cached_transparency(where)
    notes = listing.notes + [f"streaming {size_text(listing.bytes_needed())} of decoded images from {where}"] \
        + ([transparency_note()] if transparent else [])
    return Dataset(listing.folder.name, listing.classes, splits, source=str(listing.folder), meta={"notes": notes})


def estimated_bytes(folder: str | Path, image_size: tuple[int, int] | None, channels: int | None) -> int:
    """Decoded size of an image folder (N × C × H × W bytes at its working size), from its listing alone."""
    return list_image_folder(folder, image_size, channels).bytes_needed()
