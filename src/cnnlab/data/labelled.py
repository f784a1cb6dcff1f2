"""Which image files a folder holds and how they are labelled and split — before any is decoded.

In order (the README's *Folder layouts*, *Labels from a CSV* and *Labels from file names* state the rules):
- a CSV in the folder that names its image files and their labels (cnnlab.data.filelist);
- else split folders, or the folder itself, of loose images: a label CSV inside each (Roboflow's
  `_classes.csv`), else their file names (cnnlab.data.namelabels: `cat.0.jpg`);
- else class folders (`<class>/**`), in split folders under their usual names (cnnlab.data.base.folder_layout:
  Training/, valid/, seg_train/; lone wrappers looked through), as torchvision's ImageFolder and Keras's
  image_dataset_from_directory read them.
What was read, and what was left out, comes back as notes; bad layouts raise a DataError in one line.
"""
from __future__ import annotations

from pathlib import Path

from cnnlab.data.base import (DataError, FolderLayout, class_folders, class_names, folder_layout, has_files,
                              split_of, unlabelled_notes, unwrap, visible_files, walk)
from cnnlab.data.dataset import SPLIT_NAMES
from cnnlab.data.filelist import read_label_tables
from cnnlab.data.image_file import IMAGE_SUFFIXES, UNREADABLE_SUFFIXES
from cnnlab.data.namelabels import name_labels

FOUND_SUFFIXES = frozenset(IMAGE_SUFFIXES) | frozenset(UNREADABLE_SUFFIXES)  # files that make a folder hold images
Listed = dict[str, tuple[list[Path], list[int]]]  # split → (image paths, class indices)


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


def has_images(folder: Path) -> bool:
    """True as soon as one image file (or HEIC / raw photo, reported later) is found under `folder` (any depth)."""
    for root, dirs, files in walk(folder):
        if any(Path(f).suffix.lower() in FOUND_SUFFIXES and not f.startswith(".") for f in files):
            return True
    return False


def looks_like_image_folder(folder: Path) -> bool:
    """True when the folder has class subfolders holding images (at any depth; directly or under train/)."""
    return _class_images(folder_layout(folder, FOUND_SUFFIXES))


def has_loose_images(folder: Path) -> bool:
    """True when the folder holds images directly (that a CSV or their names may label: cnnlab.data.filelist,
    cnnlab.data.namelabels)."""
    return has_files(folder, FOUND_SUFFIXES)


def loose_images(folder: Path) -> list[Path]:
    """The visible image files directly in `folder` (not in its subfolders), sorted."""
    return [p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            and not p.name.startswith(".")]


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
                  for top in class_folders(layout.root) if top.name not in used and has_images(top)]
    return notes


def _flat_splits(layout: FolderLayout) -> list[Path]:
    """The split folders (unwrapped) when the folder's layout is no split layout of class folders but its
    folders holding images are split folders, or two of them are (Kaggle's train/cat.0.jpg + test1/1.jpg, with
    examples/ beside them); [] for classes, one of them named `train` (bus/ car/ train/)."""
    if layout.named:
        return []
    tops = [p for p in class_folders(layout.root) if has_images(p)]
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
    loose = loose_images(top)
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
            by_names = labelled[2].startswith("labels from the file names")  # said once, for the training split
            if top == train:
                hows.append(f"{labelled[2]}: {len(classes)} classes" if by_names else labelled[2])
            elif not by_names:
                hows.append(labelled[2])
        else:
            said.append(f"ignored {top.relative_to(folder).as_posix()}/: nothing labels its images with training "
                        f"classes; `cnnlab predict RUN {top}` labels them")
    others = [p for p in class_folders(root) if split_of(p.name) is None and has_images(p)] if len(tops) > 1 else []
    said += [f"ignored {p.relative_to(folder).as_posix()}/: not a split folder" for p in others]
    return {split: listed[split] for split in SPLIT_NAMES if split in listed}, classes, [], hows + said


def _class_images(layout: FolderLayout) -> bool:
    """True when some class folder of the training split holds an image."""
    return any(has_images(sub) for sub in class_folders(layout.dirs["train"]))


def _list_classes(folder: Path, layout: FolderLayout) -> tuple[Listed, list[str], list[Path], list[str]]:
    """(split → (paths, labels), classes, HEIC/raw files skipped, notes) from the class folders of each split."""
    dirs = layout.dirs
    listed, classes, skipped, said = {}, None, [], []
    for split, path in dirs.items():
        paths, labels, classes = _list_split(path, classes, skipped)
        if paths or split == "train":
            listed[split] = (paths, labels)
        elif has_images(path):
            said.append(f"ignored {path.relative_to(folder)}/: no class folders, so its images have no labels; "
                        f"`cnnlab predict RUN {path}` labels them")
    said = _layout_notes(folder, layout, [s for s in dirs if s in listed]) + said
    loose = [p for split in listed for p in loose_images(dirs[split])]
    if loose:  # ImageFolder and Keras ignore them too, but silently
        said.append(f"ignored {len(loose)} image{'s' if len(loose) > 1 else ''} outside the class folders "
                    f"(e.g. {loose[0]}); put each in its class's folder to use it")
    return listed, classes, skipped, said


def labelled_files(folder: Path) -> tuple[Listed, list[str], list[Path], list[str]]:
    """(split → (image paths, class indices), class names, HEIC/raw files skipped, notes) of an image folder, by
    the first of the module's rules that labels it.

    Raises DataError for a layout nothing labels (loose images, split folders of loose images, no images), a
    class folder with no image, and the label CSVs' and file names' own errors (cnnlab.data.filelist).
    """
    layout = folder_layout(folder, FOUND_SUFFIXES)
    tables = read_label_tables(folder)
    if tables is None and layout.root != folder:
        tables = read_label_tables(layout.root)
    if tables is not None and tables.files:
        listed, classes, skipped, said = tables.files, tables.classes, [], tables.notes
    else:
        unlabelled = f" ({'; '.join(tables.notes)})" if tables else ""
        flat = _flat_splits(layout) or ([layout.root] if not _class_images(layout) else [])
        lone = [] if layout.named else [p for p in class_folders(layout.root) if has_images(p)]
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
        said += unlabelled_notes(folder, layout)
        loose = loose_images(layout.root)
        if not listed["train"][0] and loose:
            raise DataError(f"{folder}: {len(loose)} loose image(s) (e.g. {loose[0].name}) and nothing that labels "
                            "them; expected one subfolder per class, a CSV naming each image file and its label, "
                            f"or file names that start with their label (cat.0.jpg, cat_12.jpg){unlabelled}")
        if not listed["train"][0]:
            raise DataError(f"{folder}: no images found; expected one subfolder per class holding image files "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))}) or a CSV naming each image file and its label"
                            f"{unlabelled}")
    return listed, classes, skipped, said
