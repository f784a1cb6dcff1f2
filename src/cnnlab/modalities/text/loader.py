"""Text data sets: a CSV with a text and a label column, or a folder of .txt files per class → token-id Dataset.

Splits: a `split`/`usage` column or train/ val/ test/ subfolders when present; otherwise a stratified
`test_split` fraction (20%, seed 0 by default) is held out as 'test'.  The tokenizer is fitted on the
training rows only and travels in `Dataset.meta`, so `encode_texts(meta, texts)` reads new text identically.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from cnnlab.data.base import (SPLIT_NAMES, UNLABELED, DataError, class_folders, class_names, files_with_suffix,
                              folder_layout, refuse_tag_sets, unlabelled_notes)
from cnnlab.data.io import FALLBACK, decode_text, head_text, read_bytes
from cnnlab.data.splits import stratified_indices
from cnnlab.data.pixelrows import LABEL_COLUMNS as PIXEL_LABEL_COLUMNS, PIXEL_COLUMNS
from cnnlab.modalities.text.tokenizer import Tokenizer, split_words

TEXT_COLUMNS = ("text", "content", "body", "sentence", "review", "document", "article", "message", "tweet",
                "comment_text", "comment", "review_text", "reviewtext", "headline")
LABEL_COLUMNS = PIXEL_LABEL_COLUMNS + ("topic", "sentiment", "labels", "genre")
SPLIT_COLUMNS = ("split", "usage", "subset")
SPLIT_VALUES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                "dev": "val", "publictest": "val", "test": "test", "testing": "test", "privatetest": "test"}
TEXT_SUFFIX = ".txt"
TOKENIZER_OPTIONS = ("max_words", "min_freq", "max_length", "lower")


@dataclass
class TextRows:
    """Raw texts with their string labels (None where the file has none) and split names (None = unsplit)."""

    texts: list[str]
    labels: list[str | None]
    splits: list[str | None]
    ids: list[str]
    source: str
    columns: dict = field(default_factory=dict)  # which header names were used
    notes: list[str] = field(default_factory=list)  # one line each: what was assumed or skipped while reading


# ── reading ──────────────────────────────────────────────────────────────────────────────────────────────
SHOWN_LINES = 10  # row numbers listed in a note about skipped rows


def fallback_note(paths: list[str]) -> str:
    """One line saying which files were read as Windows-1252 because they were not UTF-8."""
    what = paths[0] if len(paths) == 1 else f"{len(paths)} files (first {paths[0]})"
    return f"{what}: not UTF-8, read as Windows-1252 (cp1252, as Excel on Windows saves); save as UTF-8 to be sure"


def lines_list(lines: list, what: str = "lines") -> str:
    """'lines 3, 7, 9' (the first SHOWN_LINES, then '…')."""
    shown = ", ".join(map(str, lines[:SHOWN_LINES])) + (", …" if len(lines) > SHOWN_LINES else "")
    return f"{what} {shown}"


def _header(first_line: str) -> list[str]:
    try:
        return [name.strip().strip('"').strip().lower() for name in next(csv.reader([first_line]), [])]
    except csv.Error:  # e.g. a quote left open on the first line: not a header this reader knows
        return []


def _pick(names: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, where: str) -> int | None:
    """Index of column `wanted` (any case), else of the first candidate name present, else None."""
    if wanted is not None:
        if wanted.lower() not in names:
            raise DataError(f"{where}: no {what} column {wanted!r}; the header has {', '.join(names)}")
        return names.index(wanted.lower())
    return next((names.index(c) for c in candidates if c in names), None)


def looks_like_text_csv(head: bytes) -> bool:
    """True when the first line is a header with a text column (text, content, body...) and no pixel column."""
    first = head_text(head).replace("\r", "\n").split("\n", 1)[0]  # old Mac files end lines with \r
    names = _header(first)
    return any(n in TEXT_COLUMNS for n in names) and not any(n in PIXEL_COLUMNS for n in names)


def _records(reader, path: Path):
    """The reader's records; a malformed line (e.g. a NUL byte) raises a DataError naming it."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{path}, line {reader.line_num}: not CSV text ({exc})") from None


def read_text_csv(path: str | Path, text_column: str | None = None, label_column: str | None = None,
                  require_labels: bool = True) -> TextRows:
    """Rows of a CSV (plain or gzip) with a header: the text column, the label column, an optional split column."""
    path = Path(path)
    text, encoding = decode_text(read_bytes(path), path)
    if not text.strip():
        raise DataError(f"{path}: empty file")
    csv.field_size_limit(1 << 30)  # long articles: a field may exceed csv's 128 KB default
    reader = csv.reader(io.StringIO(text, newline=""))
    records = _records(reader, path)
    names = [n.strip().lower() for n in next(records)]
    where = f"{path}, line 1"
    text_col = _pick(names, text_column, TEXT_COLUMNS, "text", where)
    if text_col is None:
        raise DataError(f"{where}: no text column in the header ({', '.join(names)}); expected one of "
                        f"{', '.join(TEXT_COLUMNS)}, or name it with text_column")
    label_col = _pick(names, label_column, LABEL_COLUMNS, "label", where)
    if label_col is None and require_labels:
        raise DataError(f"{where}: no label column in the header ({', '.join(names)}); expected one of "
                        f"{', '.join(LABEL_COLUMNS)}, or name it with label_column")
    split_col = _pick(names, None, SPLIT_COLUMNS, "split", where)
    rows = TextRows([], [], [], [], str(path), {"text": names[text_col],
                                                "label": names[label_col] if label_col is not None else None})
    if encoding == FALLBACK:
        rows.notes.append(fallback_note([str(path)]))
    line, wordless = 1, []
    for record in records:
        start, line = line + 1, reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # blank line
        if len(record) != len(names):
            raise DataError(f"{path}, line {start}: {len(record)} fields, expected {len(names)} "
                            f"({', '.join(names)}); quote texts that contain commas")
        if not split_words(record[text_col]):  # nothing to learn from or to score: a blank or punctuation
            wordless.append(start)
            continue
        rows.texts.append(record[text_col])
        rows.ids.append(f"{path.name}:{start}")
        label = record[label_col].strip() if label_col is not None else None
        if label_col is not None and not label:
            raise DataError(f"{path}, line {start}: empty label in column {names[label_col]!r}")
        rows.labels.append(label)
        split = None
        if split_col is not None:
            value = record[split_col].strip().lower()
            split = SPLIT_VALUES.get(value)
            if split is None:
                raise DataError(f"{path}, line {start}: split {record[split_col]!r} in column "
                                f"{names[split_col]!r}; expected one of {', '.join(sorted(SPLIT_VALUES))}")
        rows.splits.append(split)
    if label_col is not None:
        refuse_tag_sets(path, [int(i.rsplit(":", 1)[1]) for i in rows.ids], rows.labels, "text")
    if wordless and not rows.texts:
        raise DataError(f"{path}: no row has any words in column {names[text_col]!r} "
                        f"({lines_list(wordless)}); expected text to classify")
    if not rows.texts:
        raise DataError(f"{path}: a header but no rows")
    if wordless:
        rows.notes.append(f"{path}: skipped {len(wordless)} row{'s' * (len(wordless) > 1)} with no words "
                          f"({lines_list(wordless)})")
    return rows


def looks_like_text_folder(folder: Path) -> bool:
    """True when the folder has class subfolders of .txt files (directly or under train/)."""
    train = folder_layout(folder, {TEXT_SUFFIX}).dirs["train"]
    return any(files_with_suffix(sub, TEXT_SUFFIX) for sub in class_folders(train))


def read_text_folder(folder: str | Path) -> TextRows:
    """`folder/<class>/*.txt`, or `folder/{train,val,test}/<class>/*.txt` for named splits (split folders named
    as image folders' are: cnnlab.data.base.split_folders)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    layout = folder_layout(folder, {TEXT_SUFFIX})
    dirs = layout.dirs if layout.named else {None: layout.root}
    rows = TextRows([], [], [], [], str(folder))
    fallback, wordless = [], []
    for split, base in dirs.items():
        for class_dir in class_folders(base):
            for file in files_with_suffix(class_dir, TEXT_SUFFIX):
                text, encoding = decode_text(read_bytes(file), file)
                name = str(file.relative_to(folder))
                if encoding == FALLBACK:
                    fallback.append(name)
                if not split_words(text):
                    wordless.append(name)
                    continue
                rows.texts.append(text)
                rows.labels.append(class_dir.name)
                rows.splits.append(split)
                rows.ids.append(name)
    if wordless and not rows.texts:
        raise DataError(f"{folder}: no .txt file has any words ({lines_list(wordless, 'files')})")
    if not rows.texts:
        raise DataError(f"{folder}: no text files found; expected one subfolder per class holding .txt files")
    if fallback:
        rows.notes.append(fallback_note([str(folder / f) for f in fallback]))
    rows.notes += unlabelled_notes(folder, layout)
    if wordless:
        rows.notes.append(f"{folder}: skipped {len(wordless)} file{'s' * (len(wordless) > 1)} with no words "
                          f"({lines_list(wordless, 'files')})")
    return rows


# ── splitting and encoding ───────────────────────────────────────────────────────────────────────────────
def stratified_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held-out) sorted row indices of NumPy labels: `stratified_indices`, checked and as arrays."""
    if not 0 <= fraction < 1:
        raise ValueError(f"test_split must be in [0, 1), got {fraction}")
    kept, held = stratified_indices(torch.as_tensor(labels), fraction, seed)
    return kept.numpy(), held.numpy()


def split_rows(splits: list[str | None], labels: np.ndarray, test_split: float, seed: int) -> dict[str, np.ndarray]:
    """Split name → row indices: the file's own splits, else a stratified `test_split` held out as 'test'."""
    if any(s is not None for s in splits):
        missing = [i for i, s in enumerate(splits) if s is None]
        if missing:
            raise DataError(f"row {missing[0] + 1} has no split while others do")
        names = np.asarray(splits)
        return {s: np.flatnonzero(names == s) for s in SPLIT_NAMES if (names == s).any()}
    if test_split <= 0:
        return {"train": np.arange(len(labels))}
    train, test = stratified_holdout(labels, test_split, seed)
    return {"train": train, "test": test}


def encode_rows(rows: TextRows, test_split: float = 0.2, seed: int = 0, classes: list[str] | None = None,
                tokenizer: Tokenizer | None = None, **tokenizer_options) -> tuple[dict, list[str], Tokenizer]:
    """Split, fit a tokenizer on the training rows (unless one is given), encode.

    Returns ({split: (tokens int64 (N, L), labels int64 (N,), ids)}, classes, tokenizer).
    """
    unknown = sorted(set(tokenizer_options) - set(TOKENIZER_OPTIONS))
    if unknown:
        raise ValueError(f"unknown text option(s) {', '.join(unknown)}; expected text_column, label_column, "
                         f"test_split, seed, {', '.join(TOKENIZER_OPTIONS)}")
    labeled = all(v is not None for v in rows.labels)
    classes = list(classes) if classes else (class_names(rows.labels) if labeled else [])
    index = {c: i for i, c in enumerate(classes)}
    label_ids = np.full(len(rows.texts), UNLABELED, dtype=np.int64)
    for i, label in enumerate(rows.labels):
        if label is not None:
            if label not in index:
                raise DataError(f"{rows.source}: {rows.ids[i]}: label {label!r} is not among the classes "
                                f"{', '.join(classes)}")
            label_ids[i] = index[label]
    if tokenizer is None:
        parts = split_rows(rows.splits, label_ids, test_split, seed)
        tokenizer = Tokenizer(**tokenizer_options).fit([rows.texts[i] for i in parts["train"]])
    else:  # reading more rows for a trained model: its tokenizer, every row in one split
        parts = {"train" if labeled else "test": np.arange(len(rows.texts))}
    out = {}
    for split, rows_index in parts.items():
        texts = [rows.texts[i] for i in rows_index]
        out[split] = (tokenizer.encode(texts), label_ids[rows_index], [rows.ids[i] for i in rows_index])
    return out, classes, tokenizer


def text_meta(tokenizer: Tokenizer, **extra) -> dict:
    """Dataset.meta of a text data set: the tokenizer and the model options it implies."""
    return {"kind": "text", "tokenizer": tokenizer.to_dict(),
            "model_options": {"vocab_size": tokenizer.vocab_size}, **extra}


def _dataset(name: str, rows: TextRows, options: dict, meta: dict | None, classes: list[str] | None):
    from cnnlab.data.dataset import Dataset, Split  # torch-backed containers

    test_split, seed = options.pop("test_split", 0.2), options.pop("seed", 0)
    tokenizer = tokenizer_of(meta) if meta else None
    if tokenizer is not None and options:
        raise ValueError(f"tokenizer option(s) {', '.join(options)} cannot change a trained model's tokenizer")
    parts, classes, tokenizer = encode_rows(rows, test_split, seed, classes, tokenizer, **options)
    splits = {s: Split(torch.from_numpy(t), torch.from_numpy(y), ids) for s, (t, y, ids) in parts.items()}
    split_note = "from the file" if any(rows.splits) else f"stratified {test_split:.0%} test, seed {seed}"
    return Dataset(name, classes, splits, source=rows.source,
                   meta=text_meta(tokenizer, columns=rows.columns, split=split_note, notes=rows.notes))


def load_text_csv(path: str | Path, text_column: str | None = None, label_column: str | None = None,
                  meta: dict | None = None, classes: list[str] | None = None, name: str | None = None,
                  **options):
    """A text CSV → Dataset of token ids (N, L).  `options`: test_split, seed, max_words, min_freq, max_length,
    lower.  With `meta` (a trained run's), its tokenizer encodes every row into one split, labels optional."""
    path = Path(path)
    rows = read_text_csv(path, text_column, label_column, require_labels=meta is None)
    stem = path.name.removesuffix(".gz").removesuffix(".csv")
    return _dataset(name or stem, rows, options, meta, classes)


def load_text_folder(folder: str | Path, meta: dict | None = None, classes: list[str] | None = None,
                     name: str | None = None, **options):
    """A folder of .txt files per class → Dataset of token ids; options as for load_text_csv."""
    folder = Path(folder)
    return _dataset(name or folder.name, read_text_folder(folder), options, meta, classes)


# ── predict ──────────────────────────────────────────────────────────────────────────────────────────────
def tokenizer_of(meta: dict) -> Tokenizer:
    """The tokenizer saved in a text data set's (or run's) meta."""
    if not meta or meta.get("kind") != "text" or "tokenizer" not in meta:
        raise ValueError("this model was not trained on text: its data meta has no tokenizer")
    return Tokenizer.from_dict(meta["tokenizer"])


def wordless_texts(texts: list[str]) -> list[int]:
    """Indices of the texts with no words (empty, spaces or punctuation only): nothing a model can score."""
    return [i for i, text in enumerate(texts) if not split_words(text)]


def encode_texts(meta: dict, texts: list[str]) -> torch.Tensor:
    """Raw texts → int64 token ids (N, L), exactly as the run's training data was encoded."""
    return torch.from_numpy(tokenizer_of(meta).encode(list(texts) if not isinstance(texts, str) else [texts]))
