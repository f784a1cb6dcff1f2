import gzip

import numpy as np
import pytest

from cnnlab.data import DataError, load_data
from cnnlab.data.idx import read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_bundled_mnist_mini_has_the_documented_sizes(mini):
    assert mini.input_shape == (1, 28, 28)
    assert len(mini["train"]) == 6000 and len(mini["test"]) == 1000
    assert mini.classes == [str(i) for i in range(10)]
    assert min(mini["train"].class_counts(10)) > 500  # every digit well represented
    assert mini["train"].images.dtype.is_floating_point is False


def test_plain_and_gzip_idx_read_the_same(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    assert (read_idx(tmp_path / "a") == array).all()
    assert (read_idx(tmp_path / "a.gz") == array).all()


def test_truncated_idx_names_the_file_and_the_counts(tmp_path):
    array = np.zeros((10, 28, 28), dtype=np.uint8)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(array)[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated IDX file: header says 10 items"):
        read_idx(path)


def test_not_idx_is_refused(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_label_count_mismatch(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((4, 2, 2), np.uint8)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="3 labels for 4 images"):
        load_data(tmp_path)


def test_full_mnist_from_the_data_folder(data_dir):
    data = load_data(data_dir / "mnist")
    assert len(data["train"]) == 60000 and len(data["test"]) == 10000
    assert data["train"].class_counts(10) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    mean = data["train"].images.float().mean().item() / 255
    assert abs(mean - 0.1307) < 1e-3


def test_named_and_idx_sets_take_image_size_and_channels(mini, tmp_path):
    """--image-size / --channels resize and convert a named or IDX data set as image files would be."""
    import shutil
    from pathlib import Path

    import torch
    from PIL import Image

    import cnnlab.data

    small = load_data("mnist-mini", image_size=(20, 16))
    assert small.input_shape == (1, 20, 16) and set(small.splits) == set(mini.splits)
    assert torch.equal(small["train"].labels, mini["train"].labels)
    digit = Image.fromarray(mini["train"].images[5, 0].numpy())
    expected = np.asarray(digit.resize((16, 20), Image.Resampling.BILINEAR))
    assert np.array_equal(small["train"].images[5, 0].numpy(), expected)
    rgb = load_data("mnist-mini", channels=3)
    assert rgb.input_shape == (3, 28, 28)
    assert all(torch.equal(rgb["test"].images[:, c], mini["test"].images[:, 0]) for c in range(3))
    same = load_data("mnist-mini", image_size=(28, 28), channels=1)
    assert torch.equal(same["test"].images, mini["test"].images)
    folder = shutil.copytree(Path(cnnlab.data.__file__).parent / "bundled" / "mnist-mini", tmp_path / "idx")
    assert load_data(folder, image_size=(32, 32))["test"].images.shape == (1000, 1, 32, 32)
