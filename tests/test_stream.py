"""Image folders through the memory-mapped cache and DataLoader workers give what the in-memory path gives."""
import numpy as np
import pytest
from conftest import write_digit_folder
from PIL import Image

from cnnlab.training.config import TrainConfig
from cnnlab.data import decoded as cache, stream
from cnnlab.training.pipeline import prepare_data, train


@pytest.fixture
def digits_folder(tmp_path, mini, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    return write_digit_folder(tmp_path / "digits", mini, {"train": 700, "test": 200})


def test_streamed_training_equals_in_memory_training(digits_folder, tmp_path):
    # alternating flips follow each image's index in the split: the workers' batches carry the same indices
    common = dict(data=str(digits_folder), model="mnist-2conv", epochs=2, batch_size=64, precision="fp32",
                  runs_dir=str(tmp_path / "runs"), workers=2, augment="flip=alt,crop=1")
    memory = train(TrainConfig(**common, stream="off"))
    streamed = train(TrainConfig(**common, stream="on"))
    assert [r["train_loss"] for r in streamed.fit.history] == pytest.approx(
        [r["train_loss"] for r in memory.fit.history], rel=1e-5)
    assert streamed.reports["test"].accuracy == memory.reports["test"].accuracy


def mapped(tensor) -> bool:
    """True when the tensor's memory is a memory-mapped .u8 file (not a copy in RAM), per /proc/self/maps."""
    pointer = tensor.data_ptr()
    for line in open("/proc/self/maps"):
        parts = line.split()
        start, end = (int(v, 16) for v in parts[0].split("-"))
        if start <= pointer < end:
            return len(parts) > 5 and parts[5].endswith(".u8")
    return False


def test_cache_is_reused_and_renewed_when_the_folder_changes(digits_folder, monkeypatch):
    decoded = []
    real = cache._decode_into
    monkeypatch.setattr(cache, "_decode_into", lambda path, *a: (decoded.append(path.name), real(path, *a))[1])
    first = prepare_data(TrainConfig(data=str(digits_folder), stream="on"))
    assert first["train"].streamed and mapped(first["train"].images)
    assert sorted(decoded) == ["test.u8", "train.u8", "val.u8"]
    decoded.clear()
    prepare_data(TrainConfig(data=str(digits_folder), stream="on"))
    assert decoded == []  # the second run opens the cache instantly
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(digits_folder / "train" / "3" / "new.png")
    again = prepare_data(TrainConfig(data=str(digits_folder), stream="on"))
    assert "train.u8" in decoded and len(again["train"]) + len(again["val"]) == 701


def test_auto_streams_only_when_memory_is_short(monkeypatch):
    monkeypatch.setattr(stream, "available_memory", lambda: 8 * 2**30)
    assert not stream.should_stream(2**30, "auto") and stream.should_stream(5 * 2**30, "auto")
    assert stream.should_stream(1, "on") and not stream.should_stream(10**12, "off")
