"""Data: every source becomes one in-memory form (uint8 N×C×H×W images, int64 labels, classes, splits)."""
from .dataset import SPLIT_NAMES, UNLABELED, DataError, Dataset, Split
from .load import FORMATS, add_split, detect_format, load_data
from .named import NAMED, load_named, locate

__all__ = ["SPLIT_NAMES", "UNLABELED", "DataError", "Dataset", "Split", "FORMATS", "add_split",
           "detect_format", "load_data", "NAMED", "load_named", "locate"]
