"""Torch-free basics of the data package: the error class, the label and split conventions, folder listing."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SPLIT_NAMES = ("train", "val", "test")
# the names split folders go by (any case, alone or as a word of the name: Training, valid, seg_train, test_set)
SPLIT_ALIASES = {"train": ("train", "training"), "val": ("val", "valid", "validation", "dev"),
                 "test": ("test", "testing")}
# words that may stand beside a split's name in a split folder's name without making it a class's
SPLIT_FILLER = {"set", "sets", "data", "dataset", "datasets", "image", "images", "img", "imgs", "split", "subset",
                "files", "samples", "photos", "pictures", "pics", "folder", "dir", "all", "full", "original",
                "resized", "cropped", "raw", "clean", "final", "small", "large", "label", "labels", "list",
                "annotations", "meta", "metadata", "info", "index"}
ARCHIVE_LEFTOVERS = ("__MACOSX",)  # what unzipping a macOS archive leaves beside the data
# folders of segmentation masks or annotations beside the images (COVID-19 Radiography's <class>/masks/, Oxford-IIIT
# Pets' annotations/trimaps/): skipped where other folders stand beside them
MASK_FOLDERS = {"mask", "masks", "trimaps", "annotations", "segmentation", "segmentations", "ground_truth",
                "groundtruth", "gt", "gt_masks", "labels_masks"}
# folders of unlabelled examples among the class folders (aclImdb's train/unsup/, STL-10's unlabeled/): their name
# alone or beside SPLIT_FILLER words (unlabeled_images) says so; left out with a note (unlabelled_notes)
UNLABELLED_WORDS = {"unsup", "unsupervised", "unlabeled", "unlabelled", "unannotated", "nolabel", "nolabels"}
UNLABELED = -1  # label value of rows that carry no label (prediction CSVs)


class DataError(ValueError):
    """Bad input data; the message names the file, the row or line, what was found and what was expected."""


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in ARCHIVE_LEFTOVERS


def class_names(labels: list[str]) -> list[str]:
    """Sorted distinct labels; numerically when they are all integers ('2' before '10')."""
    distinct = set(labels)
    if all(v.lstrip("-").isdigit() for v in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


def class_folders(folder: Path) -> list[Path]:
    """The visible subfolders of `folder`, sorted: one per class (or train/ val/ test/).  Hidden folders,
    macOS archives' __MACOSX and, beside other folders, segmentation masks' folders (MASK_FOLDERS) and folders of
    unlabelled examples (UNLABELLED_WORDS: train/unsup/) are skipped."""
    found = _without_masks(_subfolders(folder))
    labelled = [p for p in found if not unlabelled_folder(p.name)]
    return labelled if labelled else found


def _subfolders(folder: Path) -> list[Path]:
    """The visible subfolders of `folder`, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p.name))


def unlabelled_folder(name: str) -> bool:
    """True for a folder named as one of unlabelled examples (unsup, unlabeled, Unlabelled_Images; UNLABELLED_WORDS,
    alone or beside SPLIT_FILLER words), which a class folder's name is not."""
    words = [word for word in re.split(r"[\W_]+", name.lower()) if word]
    return bool(set(words) & UNLABELLED_WORDS) and set(words) - UNLABELLED_WORDS <= SPLIT_FILLER


def unlabelled_notes(folder: Path, layout: FolderLayout) -> list[str]:
    """A note for each folder of unlabelled examples that class_folders leaves out in `folder` or in the folders
    of its `layout` (those whose subfolders were read as classes or splits), named relative to `folder`."""
    notes = []
    for parent in dict.fromkeys([folder, layout.root, *layout.dirs.values()]):
        kept = set(class_folders(parent))
        for sub in (p for p in _subfolders(parent) if p not in kept and unlabelled_folder(p.name)):
            notes.append(f"left out {sub.relative_to(folder).as_posix()}/: its name says its examples have no "
                         f"labels, so it is no class; `cnnlab predict RUN {sub}` labels them")
    return notes


TAG_SEPARATORS = re.compile(r"\s*[|;,]\s*|\s+")  # between the tags of a multi-label value: 'haze primary'


def refuse_tag_sets(path: Path, lines: list[int], labels: list[str], item: str = "image") -> None:
    """Raise DataError naming the file's line when the labels (read from `path`, each from its line in `lines`)
    are sets of tags (multi-label: Planet's 'clear primary water', 'cat|dog') rather than class names that hold a
    space ('golden retriever'): a label whose tags are all labels on their own, two labels of the same tags in
    another order, or more distinct labels than twice the tags they use.  `item`: what a row labels (image, text)."""
    tags = {label: [t for t in TAG_SEPARATORS.split(label) if t] for label in set(labels)}
    several = sorted(label for label, parts in tags.items() if len(parts) > 1)
    if not several:
        return
    alone = {label for label, parts in tags.items() if len(parts) == 1}
    combined = [label for label in several if set(tags[label]) <= alone]
    first: dict[frozenset, str] = {}  # each set of tags → the first label written with it
    reordered = []  # (that label, a later one with the same tags in another order)
    for label in several:
        seen = first.setdefault(frozenset(tags[label]), label)
        if seen != label:
            reordered.append((seen, label))
    used = {t for parts in tags.values() for t in parts}
    if not (combined or reordered or len(tags) > 2 * len(used)):
        return
    example = combined[0] if combined else reordered[0][1] if reordered else several[0]
    line = next(line for line, label in zip(lines, labels) if label == example)
    why = (f"{', '.join(map(repr, tags[example]))} are labels on their own too" if combined else
           f"the same tags as {reordered[0][0]!r} in another order" if reordered else
           f"{len(tags)} different labels made of {len(used)} tags")
    raise DataError(f"{path}, line {line}: the label {example!r} is a set of tags ({why}): labels for several "
                    f"classes per {item} (multi-label), where cnnlab trains one class per {item}; expected one label "
                    f"per {item}")


def _without_masks(folders: list):
    """`folders` (paths or names) less those named like segmentation masks' folders, when others remain."""
    kept = [f for f in folders if Path(f).name.lower() not in MASK_FOLDERS]
    return kept if kept else folders


def split_of(name: str) -> str | None:
    """'train', 'val' or 'test' for a split folder's name, in any case (SPLIT_ALIASES): the alias alone, or as
    the last word of the name (seg_train, chest_xray_test, Images_Train), or beside words that only say "data"
    (training_set, test-images, Test Data; SPLIT_FILLER); trailing digits are dropped (test1, val2017).  None for
    any other name — a class such as test_tube or training_shoes — or one that names two splits (train_val)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)  # trainingSet → training Set
    words = [re.sub(r"\d+$", "", word) for word in re.split(r"[\W_]+", spaced.lower())]
    words = [word for word in words if word]
    hits = {split for split, aliases in SPLIT_ALIASES.items() for word in words if word in aliases}
    if len(hits) != 1:
        return None
    aliases = SPLIT_ALIASES[next(iter(hits))]
    rest = [word for word in words if word not in aliases]
    return next(iter(hits)) if words[-1] in aliases or set(rest) <= SPLIT_FILLER else None


def has_files(folder: Path, suffixes: frozenset[str] | set[str]) -> bool:
    """True when `folder` itself (not its subfolders) holds a visible file with one of `suffixes` (any case)."""
    return any(p.suffix.lower() in suffixes and _visible(p.name) and p.is_file() for p in folder.iterdir())


def unwrap(folder: Path, suffixes: frozenset[str] | set[str]) -> Path:
    """`folder`, or the folder at the end of a chain of lone wrappers below it: a folder with one visible
    subfolder, itself holding subfolders or named as the folder is, and no data file (`suffixes`) of its own —
    what unzipping often leaves (archive/dataset/..., Kaggle's training_set/training_set/<class>/, testSet/testSet/)."""
    while not has_files(folder, suffixes):
        subs = class_folders(folder)
        if len(subs) != 1 or not (class_folders(subs[0]) or subs[0].name.lower() == folder.name.lower()):
            break
        folder = subs[0]
    return folder


def split_folders(folder: Path, suffixes: frozenset[str] | set[str]) -> dict[str, Path]:
    """Split name → its folder (unwrapped) when `folder` is laid out in split folders holding class folders
    (train/ val/ test/ or any SPLIT_ALIASES name: Training/ Testing/, train/ valid/ test/, seg_train/seg_train/);
    {} when it is not (no training split holding class folders: a class named 'train' of loose files).

    Of two folders for one split, one holding class folders is taken over one holding loose images; two
    holding class folders (test/ and testing/) raise a DataError.
    """
    found: dict[str, list[Path]] = {}
    for sub in class_folders(folder):
        split = split_of(sub.name)
        if split is not None:
            found.setdefault(split, []).append(unwrap(sub, suffixes))
    for split, paths in found.items():  # of two folders for a split, the one holding class folders
        held = [p for p in paths if class_folders(p)]
        found[split] = held or paths[:1]
    train = found.get("train")
    if not train or not class_folders(train[0]):
        return {}
    classes = {p.name for p in class_folders(train[0])}
    others = [sub for sub in class_folders(folder) if split_of(sub.name) is None]
    for sub in others:  # bus/{2019,2020} beside train/{2019,2020}: bus, car and train are classes
        if {p.name for p in class_folders(unwrap(sub, suffixes))} & classes:
            return {}
    if len(found) == 1 and has_files(train[0], suffixes) and any(has_files(sub, suffixes) for sub in others):
        return {}  # bus/ car/ train/ holding their own images, train/ a subfolder too (train/old/): classes
    for split, paths in found.items():
        if len(paths) > 1:
            names = [p.relative_to(folder).parts[0] for p in paths]
            raise DataError(f"{folder}: both {names[0]}/ and {names[1]}/ name the {split} split; keep one (or "
                            "rename the other)")
    return {split: found[split][0] for split in SPLIT_NAMES if split in found}


@dataclass
class FolderLayout:
    """How a data folder is laid out: split → the folder of its class folders, and where the split folders are."""

    dirs: dict[str, Path]
    named: bool  # the splits come from split folders (else one 'train' split: the class folders' parent)
    root: Path  # the folder holding the split folders (or the class folders), below any lone wrappers


def folder_layout(folder: Path, suffixes: frozenset[str] | set[str]) -> FolderLayout:
    """Split folders in `folder` (split_folders), else in the folder below its lone wrappers (unwrap), else in
    the one subfolder of that which holds split folders, else that folder's class folders as the one training
    split.  `suffixes`: the data files' (image, .txt, .wav)."""
    inner = unwrap(folder, suffixes)
    for root in dict.fromkeys([folder, inner]):
        named = split_folders(root, suffixes)
        if named:
            return FolderLayout(named, True, root)
    nested = [(sub, named) for sub in class_folders(inner) if split_of(sub.name) is None
              for named in [split_folders(unwrap(sub, suffixes), suffixes)] if named]
    if len(nested) == 1:  # data/Dataset(Augmented)/{train,valid}/ beside data/test/: the splits one level down
        sub, named = nested[0]
        for top in class_folders(inner):  # ... and the split folders beside it
            split = split_of(top.name)
            if split is not None and split not in named:
                named[split] = unwrap(top, suffixes)
        return FolderLayout({split: named[split] for split in SPLIT_NAMES if split in named}, True, inner)
    return FolderLayout({"train": inner}, False, inner)


def files_with_suffix(folder: Path, suffix: str) -> list[Path]:
    """The visible files of `folder` whose suffix is `suffix` (any case), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == suffix
                  and not p.name.startswith("."))


def expand_folders(paths: list[str], suffix: str) -> list[str]:
    """`paths` (as given to `cnnlab predict`) with each folder replaced by its files with `suffix` (.txt, .wav),
    sorted; DataError for a folder holding none."""
    out = []
    for item in paths:
        if not Path(item).is_dir():
            out.append(item)
            continue
        found = files_with_suffix(Path(item), suffix)
        if not found:
            raise DataError(f"{item}: a folder with no {suffix} files in it; expected {suffix} files to predict")
        out += [str(p) for p in found]
    return out


def visible_files(folder: Path) -> list[Path]:
    """Every visible file under `folder`, in sub-folders too (hidden files and folders skipped), sorted by path —
    the walk torchvision's ImageFolder and Keras's image_dataset_from_directory do inside a class folder."""
    found = []
    for root, _, _ in walk(folder):
        with os.scandir(root) as entries:  # a DirEntry knows a plain file without a stat call
            found += [entry.path for entry in entries if not entry.name.startswith(".") and
                      (os.path.exists(entry.path) if entry.is_symlink() else entry.is_file(follow_symlinks=False))]
    return [Path(path) for path in sorted(found, key=lambda path: path.split(os.sep))]  # Path's order: by parts


def walk(folder: Path):
    """os.walk of the visible folders under `folder`, following links to folders, each real folder once (a link
    back up the tree, `cat/up -> ..`, is not walked again)."""
    seen = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = _without_masks([d for d in dirs if _visible(d) and not _loops(os.path.join(root, d), real)])
        yield root, dirs, files


def _loops(path: str, parent_real: str) -> bool:
    """True for a link to a folder that holds the walk's current folder (`cat/up -> ..`): walking it repeats."""
    if not os.path.islink(path):
        return False
    target = os.path.realpath(path)
    return parent_real == target or parent_real.startswith(target.rstrip(os.sep) + os.sep)


def available_memory() -> int:
    """Bytes of memory available to new allocations (MemAvailable), or 0 when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def size_text(n: int) -> str:
    """Bytes as a short human figure: 1.2 GB, 340 MB, 12 kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def cache_dir() -> Path:
    """Where downloads and decoded images go: $CNNLAB_CACHE, else ~/.cache/cnnlab."""
    return Path(os.environ.get("CNNLAB_CACHE") or Path.home() / ".cache" / "cnnlab")
