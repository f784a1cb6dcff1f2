"""Image folders: one subfolder per class (optionally inside train/ val/ test/), any size and mode.

Rules (the README's Data section states them for users):
- a class is a top-level subfolder; its images are found in its sub-folders too (`cat/2024/a.jpg`), as
  torchvision's ImageFolder and Keras's image_dataset_from_directory do; a training class with no image is an error;
- split folders go by their usual names (cnnlab.data.base.SPLIT_ALIASES: Training/, valid/, seg_train/), and lone
  wrapper folders are looked through (cnnlab.data.base.folder_layout); how a layout that is not plain was read
  is said in a note;
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

from cnnlab.data.base import (FolderLayout, available_memory, class_folders, class_names, folder_layout,
                              has_files, size_text, split_of, unwrap, visible_files, walk)
from cnnlab.data import decoded
from cnnlab.data.filelist import read_label_tables
from cnnlab.data.namelabels import name_labels
from cnnlab.data.dataset import SPLIT_NAMES, DataError, Dataset, Split
from cnnlab.data.image_file import (BACKGROUND, IMAGE_SUFFIXES, UNREADABLE_SUFFIXES, is_gray, load_image,  # noqa: F401
                               open_image, read_errors, read_image, unreadable, upright)

WORKING_SIDE = 128  # px: images larger than this on their longest side are trained at WORKING_SIDE²
SAMPLE = 48  # images (spread over the classes) whose size and pixels settle the working size and channels
FOUND_SUFFIXES = frozenset(IMAGE_SUFFIXES) | frozenset(UNREADABLE_SUFFIXES)  # files that make a folder hold images
MEMORY_SHARE = 0.8  # decoded images may fill at most this share of the available memory in the in-memory path


def image_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The image files under `folder`, in its sub-folders too, sorted by path; and the HEIC and camera-raw files
    there (photos Pillow cannot decode)."""
    found = visible_files(folder) if folder.is_dir() else []
    return ([p for p in found if p.suffix.lower() in IMAGE_SUFFIXES],
            [p for p in found if p.suffix.lower() in UNREADABLE_SUFFIXES])


def unreadable_text(files: list[Path]) -> str:
    """'3 HEIC files (e.g. cat/IMG_1.heic)': what was skipped, for notes and errors."""
    kinds = "/".join(sorted({UNREADABLE_SUFFIXES[p.suffix.lower()] for p in files}))
    return f"{len(files)} {kinds} file{'s' if len(files) > 1 else ''} (e.g. {files[0]})"


def _has_images(folder: Path) -> bool:
    """True as soon as one image file (or HEIC / raw photo, reported later) is found under `folder` (any depth)."""
    for root, dirs, files in walk(folder):
        if any(Path(f).suffix.lower() in FOUND_SUFFIXES and not f.startswith(".") for f in files):
            return True
    return False


def looks_like_image_folder(folder: Path) -> bool:
    """True when the folder has class subfolders holding images (at any depth; directly or under train/)."""
    return any(_has_images(sub) for sub in class_folders(folder_layout(folder, FOUND_SUFFIXES).dirs["train"]))


def has_loose_images(folder: Path) -> bool:
    """True when the folder holds images directly (that a CSV or their names may label: cnnlab.data.filelist,
    cnnlab.data.namelabels)."""
    return has_files(folder, FOUND_SUFFIXES)


def _split_like_note(top: Path) -> str | None:
    """A note when every class folder holds the same two or more subfolders and no image of its own
    (part1/{cat,dog}, part2/{cat,dog}): those are more likely the classes, and the top folders splits."""
    classes = class_folders(top)
    if len(classes) < 2 or any(has_files(c, FOUND_SUFFIXES) for c in classes):
        return None
    inner = {tuple(p.name for p in class_folders(c)) for c in classes}
    if len(inner) != 1 or len(next(iter(inner))) < 2:
        return None
    names = ", ".join(next(iter(inner))[:4]) + (", …" if len(next(iter(inner))) > 4 else "")
    return (f"every class folder ({', '.join(c.name for c in classes[:4])}{', …' if len(classes) > 4 else ''}) "
            f"holds the same subfolders ({names}): read as {len(classes)} classes; if those subfolders are the "
            "classes, name the top folders train/ val/ test/ or point at one of them")


def _list_split(folder: Path, classes: list[str] | None, skipped: list[Path]
                ) -> tuple[list[Path], list[int], list[str]]:
    """(paths, labels, classes) of one split; the training split (classes None) names the classes.  HEIC and raw
    files found are added to `skipped`."""
    found = [p.name for p in class_folders(folder)]
    training = classes is None
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(f"{folder}: class folder(s) {', '.join(unknown)} not among the training classes "
                        f"{', '.join(classes)}")
    paths, labels = [], []
    for label, name in enumerate(classes):
        files, others = image_files(folder / name)
        skipped += others
        if training and not files and others:
            raise DataError(f"{folder / name}: class {name!r} has no image Pillow can read, only "
                            f"{unreadable_text(others)}; convert them to JPEG or PNG (e.g. with ImageMagick: "
                            "magick mogrify -format jpg *.heic)")
        if training and not files:
            raise DataError(f"{folder / name}: class {name!r} has no images (sub-folders searched too); expected "
                            "image files such as .jpg, .png, .webp, .bmp, .gif or .tif — add some or remove the "
                            "folder")
        paths += files
        labels += [label] * len(files)
    return paths, labels, classes


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


def _layout_notes(folder: Path, layout: FolderLayout, used: list[str]) -> list[str]:
    """What the listing read the folder's layout as, where it is not plain `<class>/` or `train/ val/ test/`."""
    dirs = layout.dirs
    where = {split: dirs[split].relative_to(folder).as_posix() for split in used}
    notes = []
    if not layout.named:
        notes += [] if where["train"] == "." else [f"the class folders are in {where['train']}/"]
        notes += [note] if (note := _split_like_note(dirs["train"])) else []
    else:
        if any(path != split for split, path in where.items()):
            notes.append("splits from the folders: " + ", ".join(f"{path}/ as {split}"
                                                                 for split, path in where.items()))
        used = {path.relative_to(layout.root).parts[0] for path in dirs.values()}
        notes += [f"ignored {top.relative_to(folder)}/: not a split folder of class folders (train/ val/ test/)"
                  for top in class_folders(layout.root) if top.name not in used and _has_images(top)]
    return notes


def _flat_splits(layout: FolderLayout) -> list[Path]:
    """The split folders (unwrapped) when the folder's layout is no split layout of class folders but its
    folders holding images are split folders, or two of them are (Kaggle's train/cat.0.jpg + test1/1.jpg, with
    examples/ beside them); [] for classes, one of them named `train` (bus/ car/ train/)."""
    if layout.named:
        return []
    tops = [p for p in class_folders(layout.root) if _has_images(p)]
    splits = [p for p in tops if split_of(p.name)]
    if not splits or len(splits) < len(tops) and len(splits) < 2:  # bus/ car/ train/: classes
        return []
    return [unwrap(p, FOUND_SUFFIXES) for p in splits]  # train/train/cat.0.jpg: the folder holding the images


def _loose_labels(folder: Path, top: Path, split: str, said: list[str]) -> tuple[list[Path], list[str], str] | None:
    """(images, their label names, how they were labelled) for one folder of loose images: a label CSV inside it
    (Roboflow's `_classes.csv`), else their file names (cnnlab.data.namelabels; a training split needs two
    labels or more); None when neither labels them.  Notes on CSVs left out go to `said`."""
    if top != folder:  # the folder's own CSVs were read already
        tables = read_label_tables(top)
        if tables is not None and tables.files:
            said += tables.notes[1:]
            return ([p for paths, _ in tables.files.values() for p in paths],
                    [tables.classes[i] for _, labels in tables.files.values() for i in labels],
                    f"{top.relative_to(folder).as_posix()}/: {tables.notes[0]}")
        said += tables.notes if tables is not None else []
    loose = [p for p in sorted(top.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
             and not p.name.startswith(".")]
    names = name_labels(loose, strict=split == "train") if loose else None
    if names is None:
        return None
    return loose, names, f"labels from the file names ({loose[0].relative_to(folder)} → {names[0]})"


def _flat_labelled(folder: Path, root: Path, tops: list[Path]):
    """(split → (paths, labels), classes, [], notes) when the loose images of `tops` (split folders in `root`, or
    the folder itself) are labelled by a CSV inside each or by their names, else None.  A split folder of class
    folders beside them (val/<class>/) is read as such; one that nothing labels is left out with a note."""
    said: list[str] = []
    found = {top: _loose_labels(folder, top, split_of(top.name) or "train", said) for top in tops}
    train = next((top for top in tops if (split_of(top.name) or "train") == "train" and found[top]), None)
    if train is None:
        return None
    classes = class_names(found[train][1])
    position = {name: i for i, name in enumerate(classes)}
    listed, hows = {}, []
    for top in tops:
        split = "train" if top == train else split_of(top.name)
        labelled = found[top]
        if split not in listed and labelled is None and class_folders(top):
            paths, labels, _ = _list_split(top, classes, [])
            listed[split] = (paths, labels)
        elif split not in listed and labelled is not None:
            unknown = sorted(set(labelled[1]) - set(position))
            if unknown:
                raise DataError(f"{top}: label(s) {', '.join(unknown[:5])} that no training image has (training "
                                f"classes: {', '.join(classes[:10])})")
            listed[split] = (labelled[0], [position[name] for name in labelled[1]])
            by_names = labelled[2].startswith("labels from the file names")
            hows += [f"{labelled[2]}: {len(classes)} classes" if by_names else labelled[2]] if top == train or \
                not by_names else []
        else:
            said.append(f"ignored {top.relative_to(folder).as_posix()}/: nothing labels its images with training "
                        f"classes; `cnnlab predict RUN {top}/*` labels them")
    others = [p for p in class_folders(root) if split_of(p.name) is None and _has_images(p)] if len(tops) > 1 else []
    said += [f"ignored {p.relative_to(folder).as_posix()}/: not a split folder" for p in others]
    return {split: listed[split] for split in SPLIT_NAMES if split in listed}, classes, [], hows + said


def _class_images(layout: FolderLayout) -> bool:
    """True when some class folder of the training split holds an image."""
    return any(_has_images(sub) for sub in class_folders(layout.dirs["train"]))


def _list_classes(folder: Path, layout: FolderLayout
                  ) -> tuple[dict[str, tuple[list[Path], list[int]]], list[str], list[Path], list[str]]:
    """(split → (paths, labels), classes, HEIC/raw files skipped, notes) from the class folders of each split."""
    dirs = layout.dirs
    listed, classes, skipped, said = {}, None, [], []
    for split, path in dirs.items():
        paths, labels, classes = _list_split(path, classes, skipped)
        if paths or split == "train":
            listed[split] = (paths, labels)
        elif _has_images(path):
            said.append(f"ignored {path.relative_to(folder)}/: no class folders, so its images have no labels; "
                        f"`cnnlab predict RUN {path}/*` labels them")
    said = _layout_notes(folder, layout, [s for s in dirs if s in listed]) + said
    loose = [p for split in listed for p in sorted(dirs[split].iterdir())
             if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()]
    if loose:  # ImageFolder and Keras ignore them too, but silently
        said.append(f"ignored {len(loose)} image{'s' if len(loose) > 1 else ''} outside the class folders "
                    f"(e.g. {loose[0]}); put each in its class's folder to use it")
    return listed, classes, skipped, said


def list_image_folder(folder: str | Path, image_size: tuple[int, int] | None = None,
                      channels: int | None = None) -> FolderListing:
    """List `folder/<class>/**` (split 'train') or `folder/{train,val,test}/<class>/**`; settle size and channels.

    Split folders go by any of cnnlab.data.base.SPLIT_ALIASES' names (Training/ Testing/, valid/, seg_train/);
    lone wrapper folders (archive/dataset/, training_set/training_set/) are looked through; a split folder with
    no class folders (unlabelled test images) is left out.  Notes say how the layout was read where it is not
    plain.  A CSV in the folder that names its image files and their labels (cnnlab.data.filelist) gives the
    labels instead of class folders; loose images that nothing else labels may be labelled by their file names
    (cnnlab.data.namelabels).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    layout = folder_layout(folder, FOUND_SUFFIXES)
    tables = read_label_tables(folder)
    if tables is None and layout.root != folder:
        tables = read_label_tables(layout.root)
    if tables is not None and tables.files:
        listed, classes, skipped, said = tables.files, tables.classes, [], tables.notes
    else:
        unlabelled = f" ({'; '.join(tables.notes)})" if tables else ""
        flat = _flat_splits(layout) or ([layout.root] if not _class_images(layout) else [])
        lone = [] if layout.named else [p for p in class_folders(layout.root) if _has_images(p)]
        named = _flat_labelled(folder, layout.root, flat or (lone if len(lone) == 1 else []))  # Oxford pets' images/
        if named is not None:
            listed, classes, skipped, said = named
        elif flat and flat != [layout.root]:
            raise DataError(f"{folder}: {', '.join(f'{p.name}/' for p in flat)} hold their images directly, with no "
                            "class folders; expected one subfolder per class (train/<class>/…), a CSV naming "
                            "each image file and its label (labels.csv with a file and a label column) or file "
                            f"names that start with their label (cat.0.jpg, cat_12.jpg){unlabelled}")
        else:
            listed, classes, skipped, said = _list_classes(folder, layout)
        said += tables.notes if tables else []
        loose = [p for p in sorted(layout.root.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not listed["train"][0] and loose:
            raise DataError(f"{folder}: {len(loose)} loose image(s) (e.g. {loose[0].name}) and nothing that labels "
                            "them; expected one subfolder per class, a CSV naming each image file and its label, "
                            f"or file names that start with their label (cat.0.jpg, cat_12.jpg){unlabelled}")
        if not listed["train"][0]:
            raise DataError(f"{folder}: no images found; expected one subfolder per class holding image files "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))}) or a CSV naming each image file and its label"
                            f"{unlabelled}")
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
