import pickle

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import DataError, load_data
from cnnlab.data.cifar import CIFAR10_CLASSES


def make_folder(root, layout):
    """layout: {relative dir: [(size, mode), ...]} → image files."""
    rng = np.random.default_rng(0)
    for rel, specs in layout.items():
        (root / rel).mkdir(parents=True, exist_ok=True)
        for i, (size, mode) in enumerate(specs):
            shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(root / rel / f"{i:02d}.png")
    return root


def test_image_folder_any_size_and_mode_resized_sorted(tmp_path):
    root = make_folder(tmp_path / "pets", {"cat": [((30, 20), "RGB"), ((64, 64), "L")],
                                           "dog": [((30, 20), "RGB")]})
    (root / "dog" / "notes.txt").write_text("not an image")
    data = load_data(root, image_size=(16, 16))
    assert data.classes == ["cat", "dog"]
    assert data.input_shape == (3, 16, 16)
    assert data["train"].labels.tolist() == [0, 0, 1]
    assert data["train"].ids == ["cat/00.png", "cat/01.png", "dog/00.png"]
    gray = load_data(root, image_size=(8, 12), channels=1)
    assert gray.input_shape == (1, 8, 12)


def test_image_folder_with_split_subfolders(tmp_path):
    root = make_folder(tmp_path / "d", {"train/a": [((8, 8), "L")] * 2, "train/b": [((8, 8), "L")],
                                        "test/a": [((8, 8), "L")], "test/b": [((8, 8), "L")]})
    data = load_data(root)
    assert list(data.splits) == ["train", "test"] and data.input_shape == (1, 8, 8)


def test_unreadable_image_names_the_file(tmp_path):
    root = make_folder(tmp_path / "d", {"a": [((8, 8), "L")], "b": [((8, 8), "L")]})
    (root / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"broken.png: unreadable image"):
        load_data(root)


def write_cifar(root, n=4):
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, n))}
        batch[b"labels"] = [int(v) for v in batch[b"labels"]]
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def test_cifar10_python_batches(tmp_path):
    write_cifar(tmp_path)
    data = load_data(tmp_path)
    assert data.classes == CIFAR10_CLASSES
    assert len(data["train"]) == 20 and len(data["test"]) == 4 and data.input_shape == (3, 32, 32)


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_batch_with_code_is_refused(tmp_path):
    folder = write_cifar(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(DataError, match="data_batch_3: not a CIFAR python batch .refusing to load builtins.print"):
        load_data(tmp_path)


def test_unknown_path_and_format(tmp_path):
    with pytest.raises(DataError, match="not a known data set name"):
        load_data(tmp_path / "nope")
    (tmp_path / "x.bin").write_bytes(b"\x01\x02garbage")
    with pytest.raises(DataError, match="cannot tell the data format"):
        load_data(tmp_path / "x.bin")
