"""Labels from file names: `<label><separator><number>.<ext>` (dogs-vs-cats' `cat.0.jpg`, the Oxford-IIIT Pets'
`american_bulldog_10.jpg`) — the convention fastai's ImageDataLoaders.from_name_re reads with
`r'^(.*)_\\d+.jpg$'`.  Used only for folders of loose images that nothing else labels (no class folders, no
label CSV), and only when every name follows it: a folder of phone photos (`IMG_1234.jpg`) is not labelled by
its camera's prefix.
"""
from __future__ import annotations

import re
from pathlib import Path

NAMED = re.compile(r"^(?P<label>.*?[^\W\d_].*?)[ ._-]+\d+$")  # a label with a letter, a separator, a number
# the words cameras, phones and screenshot tools start file names with: no class names
DEVICE_WORDS = {"img", "image", "images", "dsc", "dscn", "dscf", "pxl", "mvimg", "vid", "photo", "pic", "pict",
                "picture", "screenshot", "screen", "scan", "gopr", "dji", "whatsapp", "p", "sam", "file", "frame",
                "untitled", "capture", "snapshot", "camera", "dcim", "imag", "wp"}


def name_labels(paths: list[Path], strict: bool = True) -> list[str] | None:
    """Each file's label from its name (see the module), or None when some name does not follow the pattern,
    there are fewer than 2 labels or fewer than 2 files per label on average (`strict`: a training split's
    names; a validation or test split's may hold one label or few files), or a label starts with a camera's
    word (IMG_20240101_1234.jpg) or holds a digit (clip1_0001.jpg, patient12_slice_003.png: sources, not
    classes)."""
    labels = []
    for path in paths:
        match = NAMED.match(path.stem)
        if match is None:
            return None
        label = match["label"]
        if re.split(r"[\W_]+", label.lower())[0] in DEVICE_WORDS or any(c.isdigit() for c in label):
            return None  # IMG_20240101_1234, clip1_0001, patient12_slice_003, 0_jackson_0: no class names
        labels.append(label)
    distinct = set(labels)
    return labels if not strict or 2 <= len(distinct) <= len(labels) / 2 else None
