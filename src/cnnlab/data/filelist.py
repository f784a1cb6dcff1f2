"""Labels from a CSV that names the image files: `folder/labels.csv` with a file column and a label column, the
images anywhere under `folder` — what fastai's ImageDataLoaders.from_csv and Keras's flow_from_dataframe read,
and how many downloaded data sets come (`labels.csv` + `train/<id>.jpg`).

Rules (the README's *Labels from a CSV* states them for users):
- a CSV directly in the folder (plain or .gz; comma, semicolon or tab), or JSON Lines (`.jsonl`: Hugging Face
  imagefolder's metadata.jsonl, one object per line, its keys the columns) is a label table when, in its first
  PROBE rows, half the values of one column name image files under the folder: a relative path (or an absolute one
  ending in one), a file name, or a name without its suffix (`id` → `train/id.jpg`; `1` → `0001.png` where Excel
  dropped the zeros); a name found in several folders is taken from the row's split folder, and copies of one
  file (the same path but for case) count once; CSVs of pixel rows name no files, so are never label tables;
- the label column is the header earliest in LABEL_COLUMNS, else the only other column, else one-hot columns
  (0/1, exactly one 1 per row: the column's name is the class);
- a row's split: a split column's value (SPLIT_COLUMNS; `is_valid` True/False), else the CSV's name's
  (train.csv, val.csv, test.csv, train_labels.csv), else the split folder the image lies in, else train;
- a CSV with no label column (a Kaggle test.csv, sample_submission.csv, a partition list), one label value
  only, or a different value on more than half its rows (every row, from 8 rows; captions: Hugging Face's
  metadata.csv `file_name,text`) is left out with a note; so is one whose file column names no image;
- an image named twice with the same label counts once (a note says so: CSVs of boxes, folds); with two labels,
  a row naming no image file (or two different ones), a row without a label or too short, is an error naming
  its line.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.data.base import DataError, class_names, refuse_tag_sets, split_of, visible_files
from cnnlab.data.image_file import IMAGE_SUFFIXES
from cnnlab.data.io import FALLBACK, decode_text, head_bytes, read_bytes
from cnnlab.data.pixelrows import PIXEL_COLUMNS

LABEL_COLUMNS = ("label", "labels", "class", "classes", "category", "target", "y", "class_name", "classname",
                 "class id", "species", "breed", "emotion", "diagnosis", "dx", "level", "tag")
FILE_COLUMNS = ("file", "filename", "file_name", "fname", "path", "filepath", "filepaths", "file_path", "image",
                "image_id", "image_name", "img", "id", "name")
SPLIT_COLUMNS = ("split", "usage", "set", "subset", "data set", "dataset", "partition", "fold_split")
VALID_FLAGS = ("is_valid", "is_val", "valid", "is_validation")  # True/False columns: True → val, else train
PROBE = 20  # rows of which half must name image files in one column for a CSV to be a label table
HEAD = 1 << 16  # bytes read to decide whether a CSV is a label table (the rest only when it is)
DELIMITERS = ",;\t"
TRUE = {"true", "1", "yes", "y", "t"}
BINARY = {"0", "1", "0.0", "1.0"}  # the values of one-hot label columns


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
        self.images = [p for p in visible_files(root) if p.suffix.lower() in IMAGE_SUFFIXES]
        self.by_key: dict[str, list[Path]] = {}
        self.by_number: dict[str, list[Path]] = {}  # digit stems without their leading zeros
        for path in self.images:
            rel = path.relative_to(root).as_posix()
            for key in {rel, path.name, path.stem, rel.rsplit(".", 1)[0]}:
                self.by_key.setdefault(key, []).append(path)
            if path.stem.isdigit():
                self.by_number.setdefault(str(int(path.stem)), []).append(path)

    def _candidates(self, value: str) -> list[Path]:
        value = value.strip().replace("\\", "/").removeprefix("./")
        found = self.by_key.get(value)
        parts = value.strip("/").split("/")
        for start in range(1, len(parts)):  # /kaggle/input/ds/imgs/a/1.png → imgs/a/1.png
            found = found or self.by_key.get("/".join(parts[start:]))
        if not found and value.isdigit():
            found = self.by_number.get(str(int(value)))
        return found or []

    def find(self, value: str, split: str | None) -> list[Path]:
        """The files `value` may name: narrowed to those inside the split's folder, and to one of several
        copies of a file (the same path but for case) — more than one only when it is ambiguous."""
        found = self._candidates(value)
        if len(found) > 1 and split is not None:
            inside = [p for p in found if _folder_split(p, self.root) == split]
            found = inside or found
        if len(found) > 1 and len({p.relative_to(self.root).as_posix().lower() for p in found}) == 1:
            found = found[:1]  # HAM10000_images_part_1/x.jpg and its copy ham10000_images_part_1/x.jpg
        return found


def _folder_split(path: Path, root: Path) -> str | None:
    """The split of the innermost split-named folder an image lies in (train/x/a.jpg → train), else None."""
    for part in reversed(path.relative_to(root).parts[:-1]):
        split = split_of(part)
        if split is not None:
            return split
    return None


def _parse(text: str, path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line, cells)]) of CSV text, its delimiter sniffed from the header line, or of JSON Lines text
    (`_parse_json_lines`); header names are matched against the *_COLUMNS lists in lower case."""
    if _is_json_lines(path):
        return _parse_json_lines(text, path)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=max(DELIMITERS, key=first.count))
    try:
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: not CSV text ({exc})") from None
    if not rows:
        return [], []
    return [name.strip() for name in rows[0][1]], rows[1:]


def _is_json_lines(path: Path) -> bool:
    return path.name.lower().endswith((".jsonl", ".jsonl.gz"))


def _parse_json_lines(text: str, path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(line, cells)]) of JSON Lines (Hugging Face imagefolder's metadata.jsonl: one object per line,
    `{"file_name": "0001.png", "label": "cat"}`): the header is the keys in the order first seen, a cell the
    value as text (`_cell_text`; a missing key empty).  DataError for a line that is not a JSON
    object."""
    objects = []
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise DataError(f"{path}, line {line}: not JSON ({exc.args[0].split(':')[0]}); expected one JSON object "
                            "per line") from None
        if not isinstance(value, dict):
            kind = {list: "array", str: "string", bool: "true/false", type(None): "null"}.get(type(value), "number")
            raise DataError(f"{path}, line {line}: a JSON {kind}, expected an object such as "
                            '{"file_name": "0001.png", "label": "cat"}')
        objects.append((line, value))
    header = list(dict.fromkeys(key for _, value in objects for key in value))
    return header, [(line, [_cell_text(value.get(key)) for key in header]) for line, value in objects]


def _cell_text(value) -> str:
    """A JSON value as a cell: a string as it is, a number or true/false as written, null as empty, a list of
    strings or numbers as its items joined by '|' (tags: `["cat", "dog"]` → `cat|dog`), anything else as JSON."""
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return "|".join(_cell_text(v) for v in value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _head(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the first PROBE rows, from the file's first HEAD bytes."""
    raw = head_bytes(path, HEAD)
    if len(raw) == HEAD:
        raw = raw[:raw.rfind(b"\n") + 1] or raw  # a cut last line is not a row
    header, rows = _parse(decode_text(raw, path)[0], path)
    return header, rows[:PROBE]


def _pixel_rows(header: list[str], probe: list[tuple[int, list[str]]]) -> bool:
    """True for a pixel-row CSV: a pixel column (label,feature; emotion,pixels) holding runs of numbers."""
    cols = [i for i, name in enumerate(header) if name.lower() in PIXEL_COLUMNS]
    return any(i < len(cells) and len(cells[i].split()) >= 4 for i in cols for _, cells in probe[:1])


def names_images(path: Path, folder: Path) -> bool:
    """True when the CSV at `path` is a label table of images under `folder` (its first rows name image files,
    whatever its header says: `image,label` is no pixel CSV, but `label,feature` rows of pixels are)."""
    header, probe = _head(path)
    return bool(header) and not _pixel_rows(header, probe) and _file_column(header, probe, _Index(folder)) is not None


def _file_column(header: list[str], rows: list[tuple[int, list[str]]], index: _Index) -> int | None:
    """The column where at least half the probed values name image files (a file-like name first), or None."""
    if not rows:
        return None
    order = sorted(range(len(header)), key=lambda i: header[i].lower() not in FILE_COLUMNS)
    for i in order:
        if 2 * sum(i < len(cells) and bool(index.find(cells[i], None)) for _, cells in rows) >= len(rows):
            return i
    return None


class _Unlabelled(Exception):
    """A CSV that names image files but gives them no label this reader can tell (why in the message)."""


def _labels(path: Path, header: list[str], rows: list[tuple[int, list[str]]], used: set[int]) -> list[str]:
    """Each row's label: the label column's, or the one-hot columns' name.  Raises _Unlabelled when there is no
    label column or it cannot be told, DataError for a row without a label."""
    others = [i for i in range(len(header)) if i not in used]
    named = sorted((i for i in others if header[i].lower() in LABEL_COLUMNS),
                   key=lambda i: LABEL_COLUMNS.index(header[i].lower()))
    if named or len(others) == 1:
        col = (named or others)[0]
        labels = [cells[col].strip() if col < len(cells) else "" for _, cells in rows]
        empty = [line for (line, _), label in zip(rows, labels) if not label]
        if empty:
            raise DataError(f"{path}, line {empty[0]}: no label in column {header[col]!r}")
        return labels
    if len(others) >= 2:
        values = [[cells[i].strip() if i < len(cells) else "" for i in others] for _, cells in rows]
        binary = all(set(row) <= BINARY for row in values)
        if binary and all(sum(float(v) for v in row) == 1 for row in values):
            return [header[others[[float(v) for v in row].index(1.0)]] for row in values]
        several = [(line, row) for (line, _), row in zip(rows, values) if sum(float(v) for v in row) > 1] \
            if binary else []
        if several:
            line, row = several[0]
            tags = [header[i] for i, v in zip(others, row) if float(v) == 1]
            raise DataError(f"{path}, line {line}: several label columns are 1 ({', '.join(tags)}), in "
                            f"{len(several)} of {len(rows)} rows: labels for several classes per image "
                            f"(multi-label), where cnnlab trains one class per image; expected one 1 per row")
        raise _Unlabelled(f"cannot tell which column is the label among {', '.join(header[i] for i in others)} "
                          f"(name it one of {', '.join(LABEL_COLUMNS[:5])})")
    raise _Unlabelled("no label column")


def _row_split(path: Path, header: list[str], line: int, cells: list[str], split_col: int | None,
               flag_col: int | None) -> str | None:
    """The split a row's split or is_valid column gives, else None."""
    if split_col is not None and split_col < len(cells):
        split = split_of(cells[split_col])
        if split is None:
            raise DataError(f"{path}, line {line}: split {cells[split_col]!r} in column {header[split_col]!r}; "
                            "expected train, val or test")
        return split
    if flag_col is not None and flag_col < len(cells):
        return "val" if cells[flag_col].strip().lower() in TRUE else "train"
    return None


@dataclass
class _Row:
    csv: str
    line: int
    label: str
    split: str


def _table_rows(path: Path, index: _Index, notes: list[str]) -> list[tuple[Path, _Row]] | None:
    """(image, row) for each row of one CSV; None when the CSV is no label table (a note says why where it
    looked like one)."""
    header, probe = _head(path)
    if not header or _pixel_rows(header, probe):
        return None
    file_col = _file_column(header, probe, index)
    if file_col is None:
        named = next((i for i, name in enumerate(header) if name.lower() in FILE_COLUMNS), None)
        if named is not None and probe and named < len(probe[0][1]):
            notes.append(f"ignored {path.name}: its {header[named]!r} column names no image file under the folder "
                         f"(e.g. {probe[0][1][named]!r})")
        return None
    text, encoding = decode_text(read_bytes(path), path)
    if encoding == FALLBACK:
        notes.append(f"{path.name}: not UTF-8, read as Windows-1252 (cp1252, as Excel on Windows saves); save as "
                     "UTF-8 to be sure")
    header, rows = _parse(text, path)
    split_col = next((i for i, name in enumerate(header) if name.lower() in SPLIT_COLUMNS), None)
    flag_col = next((i for i, name in enumerate(header) if name.lower() in VALID_FLAGS), None)
    stem = re.sub(r"\.(csv|jsonl)(\.gz)?$", "", path.name, flags=re.IGNORECASE)
    try:
        if "submission" in stem.lower():
            raise _Unlabelled("a submission template")
        labels = _labels(path, header, rows, {file_col, split_col, flag_col})
        distinct = len(set(labels))
        if distinct < 2:
            raise _Unlabelled(f"every row has the label {labels[0]!r}")
        if distinct == len(labels) >= 8 or distinct > len(labels) / 2 and len(labels) >= 20:  # captions, ids
            raise _Unlabelled(f"{distinct} different values in {len(labels)} rows: not classes (e.g. {labels[0]!r})")
        refuse_tag_sets(path, [line for line, _ in rows], labels)
    except _Unlabelled as exc:
        notes.append(f"ignored {path.name}: {exc}")
        return None
    out = []
    for (line, cells), label in zip(rows, labels):
        if file_col >= len(cells):
            raise DataError(f"{path}, line {line}: {len(cells)} cell(s), expected {len(header)} "
                            f"({', '.join(header)})")
        split = _row_split(path, header, line, cells, split_col, flag_col) or split_of(stem)
        found = index.find(cells[file_col], split)
        if len(found) != 1:
            what = "no image file" if not found else f"{len(found)} image files ({found[0]}, {found[1]})"
            raise DataError(f"{path}, line {line}: {cells[file_col]!r} names {what} under {index.root}")
        out.append((found[0], _Row(path.name, line, label, split or _folder_split(found[0], index.root) or "train")))
    return out


def _once(named: list[tuple[Path, _Row]], folder: Path, notes: list[str]) -> dict[Path, _Row]:
    """Image → its row, each image once: rows naming an image again with the same label are dropped (a note
    counts them); with another label they are an error."""
    rows: dict[Path, _Row] = {}
    again: list[tuple[Path, _Row]] = []
    for image, row in named:
        first = rows.setdefault(image, row)
        if first is row:
            continue
        if first.label != row.label:
            raise DataError(f"{folder / row.csv}, line {row.line}: {image.relative_to(folder)} is labelled "
                            f"{row.label!r} here and {first.label!r} in {first.csv}, line {first.line}; expected one "
                            "label per image (a CSV of boxes or of several labels per image is not a label table)")
        again.append((image, row))
    if again:
        image, row = again[0]
        notes.append(f"{len(again)} row{'s' * (len(again) > 1)} named an image again with the same label (e.g. "
                     f"{image.relative_to(folder)} in {row.csv}, line {row.line}): each image counted once")
    return rows


def read_label_tables(folder: Path) -> LabelTables | None:
    """The images and labels the label CSVs directly in `folder` name (see the module's rules), or None when no
    CSV there names image files (no files, and notes saying why, when CSVs name them but give no labels).
    Raises DataError for a row naming no image file (or two), a row without a label or too short, an image with
    two labels, a split value or a test label unknown, and CSVs labelling only val/test images."""
    csvs = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.name.lower().endswith((".csv", ".csv.gz", ".jsonl", ".jsonl.gz")))
    if not csvs:
        return None
    index = _Index(folder)
    notes: list[str] = []
    named, used = [], []
    for path in csvs:
        rows = _table_rows(path, index, notes)
        if rows:
            named += rows
            used.append(path.name)
    if not named:
        return LabelTables({}, [], notes) if notes else None
    rows = _once(named, folder, notes)
    by_split: dict[str, list[tuple[Path, str]]] = {}
    for image, row in rows.items():
        by_split.setdefault(row.split, []).append((image, row.label))
    if "train" not in by_split:
        raise DataError(f"{folder}: {', '.join(used)} label no training images (only "
                        f"{', '.join(sorted(by_split))})")
    classes = class_names([label for _, label in by_split["train"]])
    position = {name: i for i, name in enumerate(classes)}
    files = {}
    for split in ("train", "val", "test"):
        if split not in by_split:
            continue
        unknown = sorted({label for _, label in by_split[split]} - set(position))
        if unknown:
            raise DataError(f"{folder}: the {split} rows have label(s) {', '.join(unknown[:5])} that no training row "
                            f"has (training classes: {', '.join(classes[:10])})")
        files[split] = ([image for image, _ in by_split[split]], [position[label] for _, label in by_split[split]])
    notes.insert(0, f"labels from {', '.join(used)}: {len(rows)} images named there")
    named_keys = {image.relative_to(folder).as_posix().lower() for image in rows}
    others = sorted(set(index.images) - set(rows))
    copies = [p for p in others if p.relative_to(folder).as_posix().lower() in named_keys]
    others = [p for p in others if p not in set(copies)]
    if copies:
        notes.append(f"{len(copies)} cop{'ies' if len(copies) > 1 else 'y'} of named images under another case "
                     f"(e.g. {copies[0].relative_to(folder)}) counted once")
    if others:
        notes.append(f"{len(others)} image{'s' * (len(others) > 1)} under the folder named in no label CSV (e.g. "
                     f"{others[0].relative_to(folder)}) left out")
    return LabelTables(files, classes, notes)
