"""Torch-free basics of the data package: the error class and the label and split conventions."""
from __future__ import annotations

SPLIT_NAMES = ("train", "val", "test")
UNLABELED = -1  # label value of rows that carry no label (prediction CSVs)


class DataError(ValueError):
    """Bad input data; the message names the file, the row or line, what was found and what was expected."""
