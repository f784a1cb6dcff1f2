"""Pretrained word vectors (word2vec or GloVe text format, plain or gzip) → the rows of an embedding matrix.

File format: one word per line followed by its D numbers, separated by spaces; word2vec text files start
with a "count D" line, GloVe files do not.  Only the tokenizer's words are kept, so huge files stream through.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnlab.data.base import DataError
from cnnlab.data.io import GZIP_MAGIC
from cnnlab.modalities.text.tokenizer import PAD_ID, Tokenizer


def _lines(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == GZIP_MAGIC
    with (gzip.open(path, "rt", encoding="utf-8", errors="replace") if gz
          else open(path, encoding="utf-8", errors="replace")) as fh:
        yield from fh


def vector_dim(path: str | Path) -> int:
    """D of a word-vector file (from its first vector line): the embed_dim a model needs to take its vectors."""
    for number, line in enumerate(_lines(Path(path)), 1):
        parts = line.split()
        if number == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[1])  # word2vec header: "count dim"
        if len(parts) >= 2:
            return len(parts) - 1
    raise DataError(f"{path}: no word vectors found; expected lines of a word followed by its numbers")


def load_word_vectors(path: str | Path, vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(vectors float32 (V, D), found bool (V,)) for the words of `vocab` in the file; rows not found are zero.

    A word matches exactly, else through its lower-cased form (so "Paris" fills "paris" when the file has no
    "paris"); the first line of a word wins.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such word-vector file")
    index = {w: i for i, w in enumerate(vocab)}
    vectors: np.ndarray | None = None
    found = np.zeros(len(vocab), dtype=bool)
    exact = np.zeros(len(vocab), dtype=bool)  # filled by an exact match: a lower-cased one may not replace it
    dim = None
    for number, line in enumerate(_lines(path), 1):
        parts = line.rstrip("\n").rstrip(" ").split(" ")
        if number == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            continue  # word2vec header: "count dim"
        if len(parts) < 2:
            continue  # blank line
        if dim is None:
            dim = len(parts) - 1
            vectors = np.zeros((len(vocab), dim), dtype=np.float32)
        if len(parts) - 1 != dim:
            raise DataError(f"{path}, line {number}: {len(parts) - 1} numbers after the word, expected {dim}")
        word = parts[0]
        i = index.get(word)
        is_exact = i is not None
        if i is None:
            i = index.get(word.lower())
        if i is None or exact[i] or (found[i] and not is_exact):
            continue
        try:
            vectors[i] = np.asarray(parts[1:], dtype=np.float32)
        except ValueError:
            raise DataError(f"{path}, line {number}: the vector of {word!r} holds a value that is not a number"
                            ) from None
        found[i] = True
        exact[i] |= is_exact
    if vectors is None:
        raise DataError(f"{path}: no word vectors found; expected lines of a word followed by its numbers")
    return vectors, found


def fill_embedding(embedding: nn.Embedding | nn.EmbeddingBag, path: str | Path, tokenizer: Tokenizer) -> int:
    """Copy the file's vectors into the rows of `embedding` for the tokenizer's words; returns how many were
    found.  Words not in the file keep their initial vectors; the padding row stays zero."""
    vectors, found = load_word_vectors(path, tokenizer.vocab)
    if vectors.shape[1] != embedding.embedding_dim:
        raise ValueError(f"{path}: {vectors.shape[1]}-dimensional vectors, but the embedding has "
                         f"{embedding.embedding_dim} dimensions (build the model with embed_dim={vectors.shape[1]})")
    if embedding.num_embeddings != tokenizer.vocab_size:
        raise ValueError(f"the embedding has {embedding.num_embeddings} rows but the vocabulary "
                         f"{tokenizer.vocab_size} words")
    found[PAD_ID] = False
    rows = torch.from_numpy(np.flatnonzero(found))
    with torch.no_grad():
        embedding.weight[rows] = torch.from_numpy(vectors[found]).to(embedding.weight.dtype)
    return int(found.sum())
