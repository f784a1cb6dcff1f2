"""Text front end: tokenizer, text data sets (CSV or folders of .txt), pretrained vectors, n-gram explanations.

Names are imported on first use, so `import cnnlab.modalities.text` stays light.
"""
from __future__ import annotations

import importlib

_EXPORTS = {"Tokenizer": "tokenizer", "split_words": "tokenizer", "load_text_csv": "loader",
            "load_text_folder": "loader", "encode_texts": "loader", "tokenizer_of": "loader",
            "load_word_vectors": "vectors", "fill_embedding": "vectors", "vector_dim": "vectors", "explain_text": "ngrams",
            "render_explanation": "ngrams"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
