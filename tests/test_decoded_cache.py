"""Image folders loaded into memory go through the decoded cache when they are big enough: the same pixels, decoded
once, renewed when the folder changes, and a cache that cannot be written costs nothing but the copy."""
import numpy as np
import pytest
from conftest import write_digit_folder
from PIL import Image

from cnnlab.data import DataError, decoded
from cnnlab.data.folder import load_image_folder


@pytest.fixture
def digits(tmp_path, mini, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(decoded, "CACHE_FILES", 100)  # these 300 small PNGs count as a big folder
    return write_digit_folder(tmp_path / "digits", mini, {"train": 200, "test": 100})


def counting(monkeypatch):
    """Record the splits the cache decodes (by file name)."""
    calls, real = [], decoded._decode_into
    monkeypatch.setattr(decoded, "_decode_into", lambda path, *a: (calls.append(path.name), real(path, *a))[1])
    return calls


def test_a_big_folder_is_decoded_once_and_read_back_unchanged(digits, tmp_path, monkeypatch):
    direct = load_image_folder(digits, cache=False)
    calls = counting(monkeypatch)
    first = load_image_folder(digits)
    assert sorted(calls) == ["test.u8", "train.u8"]
    assert any(n.startswith("decoded images cached in ") for n in first.meta["notes"])
    calls.clear()
    second = load_image_folder(digits)
    assert calls == []  # read back, not decoded
    assert any(n.startswith("decoded images read from the cache in ") for n in second.meta["notes"])
    for split in ("train", "test"):
        for loaded in (first, second):
            assert np.array_equal(np.asarray(loaded[split].images), np.asarray(direct[split].images))
            assert np.array_equal(np.asarray(loaded[split].labels), np.asarray(direct[split].labels))
            assert loaded[split].ids == direct[split].ids
    entries = list((tmp_path / "cache" / "decoded").iterdir())
    assert len(entries) == 1 and not any(".part-" in e.name for e in entries)  # one complete cache, no leftovers


def test_a_changed_folder_or_size_is_decoded_again(digits, monkeypatch):
    load_image_folder(digits)
    calls = counting(monkeypatch)
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(digits / "train" / "3" / "new.png")
    again = load_image_folder(digits)
    assert "train.u8" in calls and len(again["train"]) == 201
    calls.clear()
    load_image_folder(digits, image_size=(20, 20))  # other decoding options: another cache
    assert "train.u8" in calls


def test_small_folders_are_not_cached(digits, tmp_path, monkeypatch):
    monkeypatch.setattr(decoded, "CACHE_FILES", 10_000)
    data = load_image_folder(digits)
    assert not (tmp_path / "cache" / "decoded").exists()
    assert not any("decoded images" in n for n in data.meta.get("notes", []))


def test_a_cache_that_cannot_be_written_falls_back_to_decoding(digits, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go")
    monkeypatch.setenv("CNNLAB_CACHE", str(blocked))
    data = load_image_folder(digits)
    direct = load_image_folder(digits, cache=False)
    assert np.array_equal(np.asarray(data["train"].images), np.asarray(direct["train"].images))
    assert any(n.startswith("decoded images not cached (") for n in data.meta["notes"])
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "full"))
    monkeypatch.setattr(decoded.shutil, "disk_usage", lambda p: type("U", (), {"free": 1000})())
    full = load_image_folder(digits)
    assert any("free on the cache disk" in n for n in full.meta["notes"]) and len(full["train"]) == 200


def test_an_unreadable_image_is_reported_as_without_a_cache_and_nothing_is_kept(digits, tmp_path):
    bad = digits / "train" / "5" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match="broken.png: unreadable image"):
        load_image_folder(digits)
    assert list((tmp_path / "cache" / "decoded").iterdir()) == []  # the half-written cache was removed


def test_a_damaged_cache_file_is_named(digits, tmp_path):
    load_image_folder(digits)
    (cache,) = (tmp_path / "cache" / "decoded").iterdir()
    with open(cache / "train.u8", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(DataError, match=r"train\.u8: 1000 bytes, expected 200 images of 1×28×28; .* delete"):
        load_image_folder(digits)


def test_the_streamed_path_shares_the_cache(digits, monkeypatch):
    from cnnlab.data.stream import load_folder_streamed

    load_image_folder(digits)
    calls = counting(monkeypatch)
    streamed = load_folder_streamed(digits)  # no validation split carved, no limit: the same splits
    assert calls == [] and streamed["train"].streamed and len(streamed["train"]) == 200
