"""Pixel CSV rows → NumPy arrays, without PyTorch (the ONNX inference path reads CSVs with this alone).

The file layouts are described in cnnlab.data.pixelcsv, which turns the result into a Dataset.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data.base import UNLABELED, DataError
from cnnlab.data.io import BOMS, head_text, read_bytes

# Kaggle FER2013's Usage column.  Nothing is tuned on a reported split: PublicTest is the test split, the validation
# split is carved from Training (data.rundata.split_data); PrivateTest (the challenge's final test) is the test
# split only in a file without PublicTest, and is left out of one that has both (a split holds one test set).
USAGE_SPLITS = {"training": "train", "publictest": "test", "privatetest": "test"}
LABEL_COLUMNS = ("label", "emotion", "class", "category", "target", "y")
PIXEL_COLUMNS = ("feature", "features", "pixels", "pixel", "image")
ID_COLUMNS = ("id", "index", "name")
USAGE_COLUMNS = ("usage", "split")
CHUNK_ROWS = 4096  # rows parsed per vectorised step; bounds the temporary memory to ~100 MB


def looks_like_pixel_csv(head: bytes) -> bool:
    """True when the first line is a known header or a label followed by a run of numbers."""
    first = head_text(head).replace("\r", "\n").split("\n", 1)[0].strip().lower()
    names = [f.strip().strip('"') for f in first.split(",")]
    if any(n in PIXEL_COLUMNS for n in names):
        return True
    return len(names) == 2 and names[0].lstrip("-").isdigit() and len(names[1].split()) > 1


def _plain_bytes(data: bytes) -> bytes:
    """The file's bytes as UTF-8 without a byte-order mark, with "\n" line ends (a UTF-16/32 file, as saved
    by "Unicode text" options, is re-encoded; old Mac "\r" line ends become "\n"; "\r\n" is stripped later)."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                data = data[len(bom):].decode(encoding).encode("utf-8")
            except UnicodeDecodeError:
                pass  # left as it is: the parser then names the line with the bad bytes
            break
    head = data[:1 << 16]
    if b"\r" in head and b"\n" not in head:
        data = data.replace(b"\r", b"\n")
    return data


def label_index(values: np.ndarray, names: list[str] | None, path: Path, lines: list[int]
                ) -> tuple[np.ndarray, list[str], bool]:
    """(class index per row, class names, True when label values are not the indices themselves).

    Label values are class indices 0..K-1 or any integers.  Without names, the classes are the distinct
    values, smallest first, named by them.  Names are given in label order: names that are all integers
    are the label values themselves; else labels below len(names) index them; else as many names as
    distinct values name those values, smallest first.  A label no class stands for raises a DataError.
    """
    distinct = np.unique(values)
    if names is None:
        names = [str(int(v)) for v in distinct]
    keys = np.arange(len(names))  # label value of each class index
    if names and all(n.strip().lstrip("-").isdigit() for n in names):
        keys = np.array([int(n) for n in names])
    elif len(distinct) and distinct.max() >= len(names) and len(distinct) == len(names):
        keys = distinct
    order = np.argsort(keys, kind="stable")
    pos = np.minimum(np.searchsorted(keys[order], values), len(keys) - 1) if len(keys) else np.zeros_like(values)
    known = (keys[order][pos] == values) if len(keys) else np.zeros(len(values), bool)
    if not known.all():
        i = int(np.argmin(known))
        raise DataError(f"{path}, line {lines[i]}: label {values[i]} has no class among the {len(names)} class "
                        f"names ({', '.join(names)}); give one name per label value, in label order")
    return order[pos].astype(np.int64), list(names), not np.array_equal(keys, np.arange(len(keys)))


def _column(names: list[str], candidates: tuple[str, ...]) -> int | None:
    for i, name in enumerate(names):
        if name in candidates:
            return i
    return None


def _shape_for(count: int, image_size: tuple[int, int] | None, channels: int | None,
               where: str) -> tuple[int, int, int]:
    """(C, H, W) for rows of `count` values, from the options or as a square gray (or RGB) image."""
    c = channels or 1
    if image_size is not None:
        h, w = image_size
        if h * w * c != count:
            raise DataError(f"{where}: found {count} pixel values, expected {h}×{w}×{c} = {h * w * c} "
                            "(from --image-size/--channels)")
        return c, h, w
    side = math.isqrt(count // c) if count % c == 0 else 0
    if side * side * c != count:
        raise DataError(f"{where}: {count} pixel values do not make a square {c}-channel image; "
                        "pass --image-size HxW (and --channels)")
    return c, side, side


def parse_pixel_rows(rows: list[bytes], lines: list[int], path: Path, expected: int | None) -> np.ndarray:
    """Parse space-separated integers 0-255, `expected` per row (or as many as the first row has).

    Vectorised over chunks of rows: digits are found with NumPy, and each number is assembled
    from its last three digits.  Anything unexpected is located and reported with its line.
    """
    if expected is None:
        expected = len(rows[0].split()) if rows else 0
    out = np.empty((len(rows), expected), dtype=np.uint8)
    for lo in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[lo:lo + CHUNK_ROWS]
        joined = b" ".join(chunk)
        buf = np.frombuffer(joined, dtype=np.uint8)
        shifted = buf - np.uint8(48)  # digits become 0-9, everything else wraps to >= 10
        digit = shifted < 10
        row_starts = np.cumsum([0] + [len(r) + 1 for r in chunk[:-1]])
        if np.count_nonzero(digit) + np.count_nonzero(buf == 32) != len(buf):  # not only digits and spaces
            bad = ~(digit | (buf == 32) | (buf == 9))
            if bad.any():
                row = int(np.searchsorted(row_starts, int(np.argmax(bad)), "right") - 1)
                _raise_bad_token(chunk[row], path, lines[lo + row])
        edges = np.flatnonzero(digit[1:] != digit[:-1]) + 1
        if len(buf) and digit[0]:
            edges = np.concatenate(([0], edges))
        if len(buf) and digit[-1]:
            edges = np.concatenate((edges, [len(buf)]))
        starts, ends = edges[0::2], edges[1::2]
        if not _rows_have(expected, starts, ends, row_starts):
            counts = np.bincount(np.searchsorted(row_starts, starts, "right") - 1, minlength=len(chunk))
            row = int(np.flatnonzero(counts != expected)[0])
            raise DataError(f"{path}, line {lines[lo + row]}: found {counts[row]} pixel values, expected {expected}")
        lengths = ends - starts
        if lengths.max(initial=0) > 3:  # e.g. 1000: find and report it
            row = int(np.searchsorted(row_starts, starts[lengths > 3][0], "right") - 1)
            _raise_bad_token(chunk[row], path, lines[lo + row])
        values = shifted[ends - 1].astype(np.int16)
        two = lengths >= 2
        values[two] += 10 * shifted[ends[two] - 2]
        three = lengths == 3
        values[three] += 100 * shifted[ends[three] - 3].astype(np.int16)
        if values.max(initial=0) > 255:
            row = int(np.searchsorted(row_starts, starts[int(np.argmax(values > 255))], "right") - 1)
            _raise_bad_token(chunk[row], path, lines[lo + row])
        out[lo:lo + len(chunk)] = values.reshape(len(chunk), expected)
    return out


def _rows_have(expected: int, starts: np.ndarray, ends: np.ndarray, row_starts: np.ndarray) -> bool:
    """True when each row holds exactly `expected` numbers: row k's first number is number k·expected."""
    if len(starts) != expected * len(row_starts):
        return False
    if expected == 0:
        return True
    firsts = starts[::expected]
    lasts_before = ends[expected - 1::expected][:-1]
    return bool((firsts >= row_starts).all() and (lasts_before < row_starts[1:]).all())


def _raise_bad_token(row: bytes, path: Path, line: int) -> None:
    """Find the first value in `row` that is not an integer 0-255 and raise a DataError about it."""
    for position, token in enumerate(row.split(), start=1):
        text = token.decode("utf-8", "replace")
        if text.isdigit() and int(text) <= 255 and len(text) <= 3:
            continue
        try:
            number = float(text)
        except ValueError:
            raise DataError(f"{path}, line {line}: pixel {position} is {text!r}, not a number "
                            "(expected integers 0-255 separated by spaces)") from None
        if number != int(number):
            raise DataError(f"{path}, line {line}: pixel {position} is {text}, expected an integer 0-255")
        if not 0 <= number <= 255:
            raise DataError(f"{path}, line {line}: pixel {position} is {text}, outside 0-255")
        raise DataError(f"{path}, line {line}: pixel {position} is {text!r}, expected an integer 0-255")
    raise DataError(f"{path}, line {line}: unexpected character in the pixel values")


@dataclass
class PixelRows:
    """A parsed pixel CSV: one image per data row, in file order."""

    path: Path
    images: np.ndarray  # (N, C, H, W) uint8
    labels: np.ndarray  # (N,) int64; UNLABELED everywhere when the file has no label column
    header: list[str]  # lower-cased column names
    label_col: int | None  # index of the label column, None for id,feature files
    lines: list[int]  # the file line of each row, for messages
    ids: list[str] | None  # the id column, when there is one
    usages: list[bytes]  # the raw Usage column (empty when there is none)
    targets: np.ndarray | None = None  # (N,) float32: the numeric `target` column, for regression

    @property
    def labeled(self) -> bool:
        return self.label_col is not None

    def split_of_row(self) -> np.ndarray | None:
        """'train' | 'test' | None (left out) per row from the Usage column (see USAGE_SPLITS), or None when the
        file has no Usage column."""
        return _split_per_row(self.usages, self.lines, self.path) if self.usages else None


def read_pixel_rows(path: str | Path, image_size: tuple[int, int] | None = None,
                    channels: int | None = None, target: str | None = None) -> PixelRows:
    """Parse a FER-style CSV: pixels, labels (integers ≥ 0), ids and Usage, with errors naming the line;
    with `target`, also that column's numbers (a regression target)."""
    path = Path(path)
    data = _plain_bytes(read_bytes(path))
    if not data.strip():
        raise DataError(f"{path}: empty file, expected a header such as label,feature and one row per image")
    lines = data.split(b"\n")
    header = [f.strip().strip('"').lower() for f in lines[0].strip().decode("utf-8", "replace").split(",")]
    pixel_col = _column(header, PIXEL_COLUMNS)
    if pixel_col is None:
        if len(header) == 2 and header[0].lstrip("-").isdigit():  # no header: label,pixels
            label_col, pixel_col, usage_col, id_col, first = 0, 1, None, None, 0
        else:
            raise DataError(f"{path}, line 1: no pixel column in header {','.join(header)!r}; "
                            f"expected one of {', '.join(PIXEL_COLUMNS)} (e.g. label,feature or emotion,pixels,Usage)")
    else:
        label_col, usage_col = _column(header, LABEL_COLUMNS), _column(header, USAGE_COLUMNS)
        id_col, first = _column(header, ID_COLUMNS), 1
    ncols = len(header)
    target_col = None
    if target is not None:
        target_col = header.index(target.lower()) if target.lower() in header else None
        if target_col is None:
            raise DataError(f"{path}, line 1: no column {target!r} to regress on (columns: {','.join(header)})")

    labels, pixels, usages, ids, line_numbers, raw_targets = [], [], [], [], [], []
    for number, line in enumerate(lines[first:], start=first + 1):
        line = line.strip()
        if not line:
            continue
        fields = line.split(b",")
        if len(fields) != ncols:
            raise DataError(f"{path}, line {number}: found {len(fields)} comma-separated fields, "
                            f"expected {ncols} ({','.join(header)})")
        fields = [f.strip().strip(b'"') for f in fields]
        pixels.append(fields[pixel_col])
        line_numbers.append(number)
        if label_col is not None:
            labels.append(fields[label_col])
        if usage_col is not None:
            usages.append(fields[usage_col])
        if id_col is not None:
            ids.append(fields[id_col].decode("utf-8", "replace"))
        if target_col is not None:
            raw_targets.append(fields[target_col])
    if not pixels:
        raise DataError(f"{path}: no data rows after the header")

    expected = None
    if image_size is not None:
        expected = image_size[0] * image_size[1] * (channels or 1)
    values = parse_pixel_rows(pixels, line_numbers, path, expected)
    c, h, w = _shape_for(values.shape[1], image_size, channels, f"{path}, line {line_numbers[0]}")
    images = values.reshape(len(values), h, w, c).transpose(0, 3, 1, 2)

    label_array = np.full(len(pixels), UNLABELED, dtype=np.int64)
    if labels:
        label_array[:] = _numbers(labels, int, np.int64, path, line_numbers, "label", "an integer class index")
    if labels and (label_array < 0).any():
        i = int(np.argmax(label_array < 0))
        raise DataError(f"{path}, line {line_numbers[i]}: label {label_array[i]} is negative, expected 0 or more")
    targets = None
    if target_col is not None:
        targets = _numbers(raw_targets, float, np.float32, path, line_numbers, target, "a number")
    return PixelRows(path, images, label_array, header, label_col, line_numbers, ids or None, usages, targets)


def _numbers(raws: list[bytes], convert, dtype, path: Path, line_numbers: list[int], what: str,
             expected: str) -> np.ndarray:
    """One CSV column's cells as numbers; the first bad cell is named with its line."""
    out = np.empty(len(raws), dtype=dtype)
    for i, raw in enumerate(raws):
        try:
            out[i] = convert(raw)
        except ValueError:
            raise DataError(f"{path}, line {line_numbers[i]}: {what} {raw.decode('utf-8', 'replace')!r} "
                            f"is not {expected}") from None
    return out


def _split_per_row(usages: list[bytes], lines: list[int], path: Path) -> np.ndarray:
    """Each row's split by USAGE_SPLITS; PrivateTest rows are None (left out) when PublicTest rows are present."""
    names = np.array([u.decode("utf-8", "replace").strip().lower() for u in usages], dtype=object)
    i = next((i for i, name in enumerate(names) if name not in USAGE_SPLITS), None)
    if i is not None:
        raise DataError(f"{path}, line {lines[i]}: Usage {usages[i].decode('utf-8', 'replace')!r}, "
                        "expected Training, PublicTest or PrivateTest")
    out = np.array([USAGE_SPLITS[n] for n in names], dtype=object)
    if (names == "publictest").any():
        out[names == "privatetest"] = None
    return out
