"""Image folders: their images decoded into memory at one working size, gray or colour.

Rules (the README's Data section states them for users):
- which files are images of which class and split: cnnlab.data.labelled (class folders at any depth, split
  folders under their usual names, label CSVs, file names);
- working size: when every sampled image is at most WORKING_SIDE px on its longest side, all are resized to
  the most common size among them (after EXIF orientation); otherwise all are squashed to WORKING_SIDE ×
  WORKING_SIDE (Keras's default is 256×256; 128 trains in reasonable time on a laptop CPU); `image_size` (the
  CLI's --image-size HxW) overrides;
- gray or colour is decided from the pixels of a sample (not the file's mode: palette and RGBA files are often gray);
- before decoding, the N×C×H×W bytes needed are compared with the memory available (see cnnlab.data.stream).
The decisions come back as Dataset.meta["notes"] for the CLI to print; nothing here prints.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.data.base import available_memory, size_text
from cnnlab.data import decoded
from cnnlab.data.dataset import DataError, Dataset, Split
from cnnlab.data.image_file import (BACKGROUND, IMAGE_SUFFIXES, is_gray, load_image,  # noqa: F401
                               open_image, read_errors, read_image, unreadable, upright)
from cnnlab.data.labelled import labelled_files, unreadable_text

WORKING_SIDE = 128  # px: images larger than this on their longest side are trained at WORKING_SIDE²
SAMPLE = 48  # images (spread over the classes) whose size and pixels settle the working size and channels
MEMORY_SHARE = 0.8  # decoded images may fill at most this share of the available memory in the in-memory path


@dataclass
class FolderListing:
    """What an image folder holds, before any image is decoded."""

    folder: Path
    classes: list[str]
    files: dict[str, tuple[list[Path], list[int]]]  # split → (sorted paths, labels)
    channels: int
    image_size: tuple[int, int]  # (H, W) every image is resized to
    notes: list[str] = field(default_factory=list)  # what was decided for the user (working size, ...)
    size_note: str | None = None  # the working size's note (first of `notes`) where the folder chose the size

    @property
    def count(self) -> int:
        return sum(len(p) for p, _ in self.files.values())

    def bytes_needed(self) -> int:
        """N × C × H × W: the decoded uint8 images of every split."""
        return self.count * self.channels * self.image_size[0] * self.image_size[1]


def sample_paths(paths: list[Path], labels: list[int], n: int = SAMPLE) -> list[Path]:
    """Up to n paths taken in turn from each class (first files first): a sample that sees every class."""
    by_class: dict[int, list[Path]] = {}
    for path, label in zip(paths, labels):
        by_class.setdefault(label, []).append(path)
    sample, depth = [], 0
    while len(sample) < min(n, len(paths)):
        sample += [files[depth] for files in by_class.values() if depth < len(files)][:n - len(sample)]
        depth += 1
    return sample


def _stored_size(path: Path) -> tuple[int, int]:
    """(H, W) after EXIF orientation, from the file's header alone."""
    try:
        with open_image(path) as img:
            w, h = img.size
            if img.getexif().get(0x0112) in (5, 6, 7, 8):  # rotated a quarter turn
                w, h = h, w
            return h, w
    except read_errors() as exc:
        raise unreadable(path, exc) from None


def working_size(sample: list[Path], image_size: tuple[int, int] | None) -> tuple[tuple[int, int], str | None]:
    """The (H, W) every image is resized to, and a note saying why when it was chosen here (see the rules)."""
    if image_size is not None:
        return tuple(image_size), None
    sizes = [_stored_size(p) for p in sample]
    largest = max(sizes, key=max)
    if max(largest) <= WORKING_SIDE:  # small images: keep their most common size (the first one's on a tie)
        if len(set(sizes)) == 1:
            return sizes[0], None
        common = max(sizes, key=sizes.count)
        return common, (f"images differ in size; all resized to {common[0]}×{common[1]} (the most common); "
                        f"choose with --image-size HxW")
    side = WORKING_SIDE
    return (side, side), (f"images up to {largest[1]}×{largest[0]} px: training at {side}×{side} (each image "
                          f"squashed to it, aspect ratio not kept); change with --image-size HxW")


def guess_channels(sample: list[Path]) -> int:
    """1 when every sampled image's pixels are gray (whatever the file's mode: L, palette, RGBA ...), else 3."""
    for path in sample:
        try:
            with open_image(path) as img:
                img.draft(None, (64, 64))  # a JPEG's colour is as clear at 1/8 scale
                img = upright(img, path)
                img.thumbnail((64, 64))
                if not is_gray(img):
                    return 3
        except DataError:
            raise
        except read_errors() as exc:
            raise unreadable(path, exc) from None
    return 1


def list_image_folder(folder: str | Path, image_size: tuple[int, int] | None = None,
                      channels: int | None = None) -> FolderListing:
    """List the images of a folder with their labels and splits (cnnlab.data.labelled.labelled_files: class
    folders, split folders, label CSVs, file names) and settle their working size and channels, from a sample
    of their headers and pixels.  Raises DataError for a layout nothing labels."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    listed, classes, skipped, said = labelled_files(folder)
    sample = sample_paths(*listed["train"])
    size, note = working_size(sample, image_size)
    notes = ([note] if note else []) + said
    if skipped:
        notes.append(f"skipped {unreadable_text(skipped)}: Pillow cannot decode them; convert them to JPEG or PNG "
                     "to use them")
    return FolderListing(folder, classes, listed, channels or guess_channels(sample), tuple(size), notes, note)


def transparency_note() -> str:
    """The one line said when some images had transparent pixels."""
    name = "white" if BACKGROUND == (255, 255, 255) else f"RGB {BACKGROUND}"
    return f"some images have transparent pixels: composited onto a {name} background"


def load_images(paths: list[Path], channels: int, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """Decode many images (in threads: Pillow releases the GIL while decoding) into one preallocated N×C×H×W
    array, and whether any had transparency.  Peak memory: the array plus a few decoded files."""
    out = np.empty((len(paths), channels, *size), dtype=np.uint8)
    transparent = False
    with ThreadPoolExecutor(max_workers=4) as pool:
        for i, (array, alpha) in enumerate(pool.map(lambda p: read_image(p, channels, size), paths)):
            out[i] = array
            transparent |= alpha
    return out, transparent


def cached_images(listing: FolderListing) -> tuple[dict[str, np.ndarray], bool, str] | None:
    """The listing's splits decoded through the decoded cache — (split → N×C×H×W uint8 array in memory, whether
    some images had transparency, a note saying where the cache is) — or None when the folder is too small to be
    worth it or the cache cannot be written (DataError for the first unreadable image, as when decoding directly)."""
    stamp = decoded.fingerprint(listing.folder)
    if not decoded.worth_caching(stamp):
        return None
    try:
        where, reused = decoded.decode_cached(listing, listing.files, stamp)
    except (OSError, decoded.CacheDiskFull) as exc:  # an unreadable image's DataError goes on, as without a cache
        listing.notes.append(f"decoded images not cached ({str(exc).splitlines()[0]}); they are decoded on every load")
        return None
    shape = (listing.channels, *listing.image_size)
    arrays = {split: decoded.read_decoded(where, split, shape, len(paths))
              for split, (paths, _) in listing.files.items()}
    note = (f"decoded images read from the cache in {where}" if reused else
            f"decoded images cached in {where}: later loads of this folder skip decoding")
    return arrays, decoded.cached_transparency(where), note


def check_memory(listing: FolderListing) -> None:
    """Refuse, before decoding, a folder whose decoded images would not fit in the available memory."""
    need, free = listing.bytes_needed(), available_memory()
    if free and need > free * MEMORY_SHARE:
        c, (h, w) = listing.channels, listing.image_size
        raise DataError(f"{listing.folder}: {listing.count} images at {c}×{h}×{w} need {size_text(need)}, more than "
                        f"the {size_text(free)} of memory available; use --stream on (decode once to a disk "
                        f"cache) or a smaller --image-size")


def load_image_folder(folder: str | Path, image_size: tuple[int, int] | None = None, channels: int | None = None,
                      name: str | None = None, cache: bool = True) -> Dataset:
    """Load `folder/<class>/**` (one split 'train') or `folder/{train,val,test}/<class>/**` (named splits).

    With `cache`, a folder big enough for decoding to take a while (cnnlab.data.decoded.worth_caching) is decoded
    once into the decoded cache and later loads read its raw pixels (CIFAR-10's 50,000 JPEGs: 19-42 s of decoding
    on 2 cores, then 1.3-1.8 s); a cache disk that is full or read-only only costs the copy (a note says so).
    """
    listing = list_image_folder(folder, image_size, channels)
    check_memory(listing)
    cached = cached_images(listing) if cache else None  # may add a note to the listing's
    notes = list(listing.notes)
    splits, transparent = {}, False
    for split, (paths, labels) in listing.files.items():
        if cached is not None:
            images, alpha = cached[0][split], cached[1]
        else:
            images, alpha = load_images(paths, listing.channels, listing.image_size)
        transparent |= alpha
        splits[split] = Split(images, np.asarray(labels, dtype=np.int64),
                              [str(p.relative_to(listing.folder)) for p in paths])
    if cached is not None:
        notes.append(cached[2])
    notes += [transparency_note()] if transparent else []
    return Dataset(name or listing.folder.name, listing.classes, splits, source=str(listing.folder),
                   meta={"notes": notes} if notes else {})
