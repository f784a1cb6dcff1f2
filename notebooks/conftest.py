"""The labs that need real data sets skip, as the tests do, when $CNNLAB_DATA does not hold them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

NEEDS = {  # notebook → the files under $CNNLAB_DATA it reads (the others use bundled or generated data)
    "03-fer2013-homework.ipynb": ["fer2013"],
    "05-text-and-speech.ipynb": ["bbc/bbc-text.csv.gz", "fsdd/recordings"],
}


def pytest_collection_modifyitems(config, items):
    root = Path(os.environ.get("CNNLAB_DATA", "../shared/data"))
    for item in items:
        missing = [p for p in NEEDS.get(Path(str(item.fspath)).name, []) if not (root / p).exists()]
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"needs {', '.join(missing)} under $CNNLAB_DATA ({root})"))
