"""Labels from a CSV that names the image files: `folder/labels.csv` with a file column and a label column, the
images anywhere under `folder` — what fastai's ImageDataLoaders.from_csv and Keras's flow_from_dataframe read,
and how many downloaded data sets come (`labels.csv` + `train/<id>.jpg`).

Rules (the README's *Folder layouts* states them for users):
- a CSV directly in the folder (plain or .gz; comma, semicolon or tab) is a label table when one column's values
  name image files under the folder: a relative path, a file name, or a name without its suffix (`id` →
  `train/id.jpg`); a name found twice is taken from the split folder whose split the CSV is for;
- the label column is the one named like a label (label, class, category, target, y, …), else the only other
  column, else one-hot columns (0/1, exactly one 1 per row: the column's name is the class);
- the CSV's split is its name's (train.csv, val.csv, test.csv, train_labels.csv; other names: train), or a
  split/usage/set column's value per row; a CSV with no label column (a Kaggle test.csv) or one label value
  only (sample_submission.csv) is left out with a note;
- a row naming no image file, or two files it cannot choose between, is an error naming its line.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.data.base import DataError, class_names, split_of, visible_files
from cnnlab.data.image_file import IMAGE_SUFFIXES
from cnnlab.data.io import decode_text, read_bytes

LABEL_COLUMNS = ("label", "labels", "class", "classes", "category", "target", "y", "class_name", "classname",
                 "species", "breed", "emotion", "diagnosis", "dx", "level", "tag")
FILE_COLUMNS = ("file", "filename", "file_name", "fname", "path", "filepath", "file_path", "image", "image_id",
                "image_name", "img", "id", "name")
SPLIT_COLUMNS = ("split", "usage", "set", "subset")
PROBE = 20  # rows of which half must name image files in one column for a CSV to be a label table
DELIMITERS = ",;\t"


@dataclass
class LabelTables:
    """What the label CSVs of a folder hold: split → (image paths, class indices), the classes, notes."""

    files: dict[str, tuple[list[Path], list[int]]]
    classes: list[str]
    notes: list[str] = field(default_factory=list)


class _Index:
    """The image files under a folder, found by relative path, by name or by name without its suffix."""

    def __init__(self, root: Path):
        self.root = root
        self.by_key: dict[str, list[Path]] = {}
        self.images = [p for p in visible_files(root) if p.suffix.lower() in IMAGE_SUFFIXES]
        for path in self.images:
            rel = path.relative_to(root).as_posix()
            for key in {rel, path.name, path.stem, rel.rsplit(".", 1)[0]}:
                self.by_key.setdefault(key, []).append(path)

    def find(self, value: str, split: str | None) -> list[Path]:
        """The files `value` may name; a name found in several folders narrowed to the split's folder."""
        found = self.by_key.get(value.strip().replace("\\", "/").removeprefix("./"), [])
        if len(found) > 1 and split is not None:
            inside = [p for p in found if any(split_of(part) == split
                                              for part in p.relative_to(self.root).parts[:-1])]
            found = inside or found
        return found


def _rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line, cells)]) of a CSV in the encoding its bytes say, with its delimiter sniffed."""
    text, _ = decode_text(read_bytes(path), path)
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: not CSV text ({exc})") from None
    if not rows:
        return [], []
    return [name.strip().lower() for name in rows[0][1]], rows[1:]


def _file_column(header: list[str], rows: list[tuple[int, list[str]]], index: _Index) -> int | None:
    """The column where at least half the first PROBE values name image files (a file-like name first), or
    None."""
    probe = [cells for _, cells in rows[:PROBE]]
    if not probe:
        return None
    order = sorted(range(len(header)), key=lambda i: header[i] not in FILE_COLUMNS)
    for i in order:
        if 2 * sum(i < len(cells) and bool(index.find(cells[i], None)) for cells in probe) >= len(probe):
            return i
    return None


class _Unlabelled(Exception):
    """A CSV that names image files but gives them no label this reader can tell (why in the message)."""


def _labels(path: Path, header: list[str], rows: list[tuple[int, list[str]]], file_col: int,
            split_col: int | None) -> list[str]:
    """Each row's label: the label column's, or the one-hot columns' name.  Raises _Unlabelled when there is no
    label column or it cannot be told, DataError for a row without a label."""
    others = [i for i in range(len(header)) if i not in (file_col, split_col)]
    named = [i for i in others if header[i] in LABEL_COLUMNS]
    if named or len(others) == 1:
        col = (named or others)[0]
        labels = [cells[col].strip() if col < len(cells) else "" for _, cells in rows]
        empty = [line for (line, _), label in zip(rows, labels) if not label]
        if empty:
            raise DataError(f"{path}, line {empty[0]}: no label in column {header[col]!r}")
        return labels
    if len(others) >= 2:
        values = [[cells[i].strip() if i < len(cells) else "" for i in others] for _, cells in rows]
        if all(set(row) <= {"0", "1", "0.0", "1.0"} and sum(float(v) for v in row) == 1 for row in values):
            return [header[others[[float(v) for v in row].index(1.0)]] for row in values]
        raise _Unlabelled(f"cannot tell which column is the label among {', '.join(header[i] for i in others)} "
                          f"(name it one of {', '.join(LABEL_COLUMNS[:5])})")
    raise _Unlabelled("no label column")


def read_label_tables(folder: Path) -> LabelTables | None:
    """The images and labels the label CSVs directly in `folder` name (see the module's rules), or None when no
    CSV there names image files (no files, and notes saying why, when CSVs name them but give no labels).  Raises DataError for a row naming no image file (or two), a row without a
    label, a split value or a test label unknown, and CSVs naming images none of which labels training ones."""
    csvs = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz"))
                  and not p.name.startswith("."))
    if not csvs:
        return None
    index = _Index(folder)
    paths: dict[str, list[Path]] = {}
    labels: dict[str, list[str]] = {}
    notes, tables, used = [], 0, []
    for path in csvs:
        header, rows = _rows(path)
        file_col = _file_column(header, rows, index) if header else None
        if file_col is None:
            continue
        tables += 1
        split_col = next((i for i, name in enumerate(header) if name in SPLIT_COLUMNS), None)
        name = path.name.lower().removesuffix(".gz").removesuffix(".csv")
        try:
            if "submission" in name:
                raise _Unlabelled("a submission template")
            row_labels = _labels(path, header, rows, file_col, split_col)
            if len(set(row_labels)) < 2:
                raise _Unlabelled(f"every row has the label {row_labels[0]!r}")
        except _Unlabelled as exc:
            notes.append(f"ignored {path.name}: {exc}")
            continue
        used.append(path.name)
        for (line, cells), label in zip(rows, row_labels):
            split = split_of(name) or "train"
            if split_col is not None and split_col < len(cells):
                split = split_of(cells[split_col])
                if split is None:
                    raise DataError(f"{path}, line {line}: split {cells[split_col]!r} in column "
                                    f"{header[split_col]!r}; expected train, val or test")
            found = index.find(cells[file_col], split)
            if len(found) != 1:
                what = "no image file" if not found else f"{len(found)} image files ({found[0]}, {found[1]})"
                raise DataError(f"{path}, line {line}: {cells[file_col]!r} names {what} under {folder}")
            paths.setdefault(split, []).append(found[0])
            labels.setdefault(split, []).append(label)
    if not tables:
        return None
    if not labels:
        return LabelTables({}, [], notes)
    if "train" not in labels:
        raise DataError(f"{folder}: no CSV there gives training images labels ({'; '.join(notes)})")
    classes = class_names(labels["train"])
    position = {name: i for i, name in enumerate(classes)}
    files = {}
    for split in ("train", "val", "test"):
        if split not in labels:
            continue
        unknown = sorted(set(labels[split]) - set(position))
        if unknown:
            raise DataError(f"{folder}: the {split} rows have label(s) {', '.join(unknown[:5])} that no training row "
                            f"has (training classes: {', '.join(classes[:10])})")
        files[split] = (paths[split], [position[label] for label in labels[split]])
    named = sum(len(p) for p, _ in files.values())
    notes.insert(0, f"labels from {', '.join(used)}: {named} images named there")
    others = sorted(set(index.images) - {p for split_paths, _ in files.values() for p in split_paths})
    if others:
        notes.append(f"{len(others)} image{'s' * (len(others) > 1)} under the folder named in no label CSV (e.g. "
                     f"{others[0].relative_to(folder)}) left out")
    return LabelTables(files, classes, notes)
