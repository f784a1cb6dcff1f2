"""Image folders as users keep them: nested class folders, empty or rare classes, phone-photo sizes, memory."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnlab.data import DataError, load_data
from cnnlab.data import folder as folder_mod
from cnnlab.data import decoded, stream
from cnnlab.data.folder import WORKING_SIDE, list_image_folder
from cnnlab.data.splits import limit_indices

from .robust_cases import class_folder, photo, transparent_drawing

def notes_of(data) -> list[str]:
    """What the loader said it decided (the lines the CLI prints as notes)."""
    return data.meta.get("notes", [])


NESTED = {"bird": ["2024/a.png", "2024/b.png", "2025/spring/deep/c.png"],
          "cat": ["top.png", "session1/x.png", "session1/y.png", "session2/more/z.png"],
          "dog": ["d.png"]}


def test_class_folders_are_walked_at_every_depth(tmp_path):
    root = class_folder(tmp_path / "pets", NESTED)
    (root / "cat" / "session1" / "notes.txt").write_text("not an image")
    (root / "cat" / ".hidden").mkdir()
    Image.new("L", (12, 12)).save(root / "cat" / ".hidden" / "skip.png")
    Image.new("L", (12, 12)).save(root / "dog" / "._d.png")  # macOS resource fork
    data = load_data(root)
    assert data.classes == ["bird", "cat", "dog"]
    assert data["train"].ids == [f"{c}/{f}" for c in NESTED for f in sorted(NESTED[c])]  # ImageFolder's order
    assert data["train"].labels.tolist() == [0, 0, 0, 1, 1, 1, 1, 2]


def test_images_outside_the_class_folders_are_counted_in_a_note(tmp_path):
    root = class_folder(tmp_path / "d", {"a": ["1.png"], "b": ["2.png"]})
    Image.new("L", (12, 12)).save(root / "stray.png")
    Image.new("L", (12, 12)).save(root / "zz.jpg")
    data = load_data(root)
    assert len(data["train"]) == 2
    assert notes_of(data) == [f"ignored 2 images outside the class folders (e.g. {root / 'stray.png'}); put each "
                              "in its class's folder to use it"]


def test_nested_folders_inside_train_val_test_splits(tmp_path):
    class_folder(tmp_path / "d" / "train", {"a": ["x/1.png", "2.png"], "b": ["y/z/3.png"]})
    class_folder(tmp_path / "d" / "test", {"a": ["deep/4.png"], "b": ["5.png"]})
    data = load_data(tmp_path / "d")
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 3, "test": 2}


def test_folder_whose_images_are_only_in_subfolders_is_detected(tmp_path):
    class_folder(tmp_path / "d", {"a": ["2024/1.png"], "b": ["2024/2.png"]})
    assert load_data(tmp_path / "d").num_classes == 2


@pytest.mark.parametrize("content", [[], ["sub/readme.txt"], ["empty/"]])
def test_a_class_without_images_is_an_error_naming_it(tmp_path, content):
    root = class_folder(tmp_path / "d", {"cat": ["a.png", "b/c.png"], "bird": []})
    for rel in content:
        target = root / "bird" / rel
        target.mkdir(parents=True) if rel.endswith("/") else (target.parent.mkdir(parents=True), target.write_text("x"))
    with pytest.raises(DataError) as info:
        load_data(root)
    assert str(info.value) == (f"{root / 'bird'}: class 'bird' has no images (sub-folders searched too); expected "
                               "image files such as .jpg, .png, .webp, .bmp, .gif or .tif — add some or remove the "
                               "folder")


def test_heic_and_raw_photos_are_named_not_silently_missing(tmp_path):
    root = class_folder(tmp_path / "d", {"cat": ["a.png", "b.png"], "dog": ["c.png"]})
    (root / "dog" / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    data = load_data(root)
    assert data["train"].class_counts(2) == [2, 1]
    assert notes_of(data) == [f"skipped 1 HEIC file (e.g. {root / 'dog' / 'IMG_0001.HEIC'}): Pillow cannot decode "
                              "them; convert them to JPEG or PNG to use them"]
    (root / "fox" / "2024").mkdir(parents=True)
    for name in ("x.heic", "y.dng"):
        (root / "fox" / "2024" / name).write_bytes(b"\0")
    with pytest.raises(DataError, match=r"fox: class 'fox' has no image Pillow can read, only 2 HEIC/raw files "
                                        r"\(e\.g\. .*x\.heic\); convert them to JPEG or PNG"):
        load_data(root)


def test_a_folder_of_iphone_photos_only_says_to_convert_them(tmp_path, cli):
    for cls in ("cat", "dog"):
        (tmp_path / "d" / cls).mkdir(parents=True)
        (tmp_path / "d" / cls / "IMG_0001.HEIC").write_bytes(b"\0")
    code, out, err = cli("train", tmp_path / "d", "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 2 and err == (f"error: {tmp_path / 'd' / 'cat'}: class 'cat' has no image Pillow can read, only "
                                 f"1 HEIC file (e.g. {tmp_path / 'd' / 'cat' / 'IMG_0001.HEIC'}); convert them to "
                                 "JPEG or PNG (e.g. with ImageMagick: magick mogrify -format jpg *.heic)\n")


def test_cli_stops_with_one_line_for_an_empty_class(tmp_path, cli):
    root = class_folder(tmp_path / "d", {"cat": ["a.png"], "dog": ["b.png"], "fox": []})
    code, out, err = cli("train", root, "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {root / 'fox'}: class 'fox' has no images")
    assert not (tmp_path / "runs").exists()


def test_cli_stops_with_one_line_for_a_corrupt_image(tmp_path, cli):
    root = class_folder(tmp_path / "d", {"cat": ["a.png", "b.png"], "dog": ["c.png", "deep/d.png"]})
    data = (root / "dog" / "deep" / "d.png").read_bytes()
    (root / "dog" / "deep" / "d.png").write_bytes(data[:len(data) // 2])
    code, out, err = cli("train", root, "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"error: {root / 'dog' / 'deep' / 'd.png'}: unreadable image (")


# ── --limit keeps every class ────────────────────────────────────────────────────────────────────────────────────
def test_limit_keeps_the_one_image_of_a_rare_class(tmp_path):
    from cnnlab.data.rundata import prepare_data
    from cnnlab.training.config import TrainConfig
    root = class_folder(tmp_path / "d", {"common": [f"{i}.png" for i in range(40)], "rare": ["only.png"]})
    data = prepare_data(TrainConfig(data=str(root), limit=10, val_split=0.0))
    assert data["train"].class_counts(2) == [10, 1]
    streamed = prepare_data(TrainConfig(data=str(root), limit=10, val_split=0.0, stream="on"))
    assert streamed["train"].class_counts(2) == [10, 1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=200), st.integers(1, 250), st.integers(0, 3))
def test_limit_sample_has_every_class_and_about_limit_rows(labels, limit, seed):
    labels = torch.tensor(labels)
    classes = len(labels.unique())
    if limit < classes:
        with pytest.raises(DataError, match=rf"--limit {limit} is fewer than the {classes} classes"):
            limit_indices(labels, limit, seed)
        return
    picked = limit_indices(labels, min(limit, len(labels)), seed)
    assert set(labels[picked].tolist()) == set(labels.tolist())
    assert len(picked.unique()) == len(picked) <= min(limit, len(labels)) + classes


def test_cli_limit_below_the_class_count_is_one_line(tmp_path, cli):
    root = class_folder(tmp_path / "d", {"a": ["1.png", "2.png"], "b": ["3.png", "4.png"], "c": ["5.png", "6.png"]})
    code, out, err = cli("train", root, "--limit", "2", "--val-split", "0", "--epochs", "1",
                         "--runs-dir", tmp_path / "runs")
    assert code == 2 and err == ("error: --limit 2 is fewer than the 3 classes of the training split; every class "
                                 "keeps at least one image, so use --limit 3 or more\n")


# ── working size ─────────────────────────────────────────────────────────────────────────────────────────────────
def test_small_images_keep_their_size(tmp_path):
    root = class_folder(tmp_path / "d", {"a": ["1.png"], "b": ["2.png"]}, size=(28, 28))
    data = load_data(root)
    assert data.input_shape == (1, 28, 28) and notes_of(data) == []


def test_small_images_of_mixed_sizes_take_the_most_common(tmp_path):
    root = class_folder(tmp_path / "d", {"a": ["1.png", "2.png"], "b": ["3.png"]}, size=(20, 30))
    Image.new("L", (5, 5)).save(root / "a" / "0_first_and_tiny.png")
    data = load_data(root)
    assert data.input_shape == (1, 20, 30)
    assert notes_of(data) == ["images differ in size; all resized to 20×30 (the most common); choose with "
                              "--image-size HxW"]


@pytest.mark.parametrize("w,h", [(1600, 1200), (4000, 3000), (300, 129)])
def test_photo_sizes_train_at_the_working_size(tmp_path, w, h):
    for cls, hue in (("cat", 0), ("dog", 2)):
        (tmp_path / "d" / cls).mkdir(parents=True)
        photo(tmp_path / "d" / cls / "land.jpg", w, h, hue)
        photo(tmp_path / "d" / cls / "port.jpg", h, w, hue)
    data = load_data(tmp_path / "d")
    assert data.input_shape == (3, WORKING_SIDE, WORKING_SIDE)
    assert notes_of(data) == [f"images up to {w}×{h} px: training at 128×128 (each image squashed to it, aspect "
                              "ratio not kept); change with --image-size HxW"]
    assert load_data(tmp_path / "d", image_size=(64, 48)).input_shape == (3, 64, 48)


def test_sideways_photos_count_by_their_upright_size(tmp_path):
    from .robust_cases import oriented_file, quadrant_scene
    class_folder(tmp_path / "d", {"a": [], "b": []})
    for cls in ("a", "b"):
        oriented_file(tmp_path / "d" / cls / "1.png", quadrant_scene(40, 60), 6)
    assert load_data(tmp_path / "d").input_shape == (3, 40, 60)


def test_transparency_is_said_once(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / "d" / cls).mkdir(parents=True)
        for i in range(3):
            transparent_drawing(tmp_path / "d" / cls / f"{i}.png", "RGBA")
    data = load_data(tmp_path / "d")
    assert data.input_shape == (1, 16, 16)  # RGBA files of a gray drawing: one channel
    assert notes_of(data) == ["some images have transparent pixels: composited onto a white background"]
    assert int(data["train"].images.float().mean()) > 200  # white paper, not black


def test_opaque_rgba_files_are_not_said_to_be_transparent(tmp_path):
    from .robust_cases import gray_as
    for cls in ("a", "b"):
        (tmp_path / "d" / cls).mkdir(parents=True)
        gray_as(tmp_path / "d" / cls / "screenshot.png", "RGBA")
    assert notes_of(load_data(tmp_path / "d")) == []


# ── memory: estimate before decoding, stream or refuse ───────────────────────────────────────────────────────────
def test_estimate_uses_the_working_size_not_the_stored_one(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / "d" / cls).mkdir(parents=True)
        photo(tmp_path / "d" / cls / "1.jpg", 4000, 3000)
    assert stream.estimated_bytes(tmp_path / "d", None, None) == 2 * 3 * 128 * 128


def test_folder_too_big_for_memory_is_refused_before_decoding(tmp_path, monkeypatch):
    root = class_folder(tmp_path / "d", {"a": ["1.png", "2.png"], "b": ["3.png"]}, size=(100, 100))
    monkeypatch.setattr(folder_mod, "available_memory", lambda: 20_000)
    monkeypatch.setattr(folder_mod, "load_images", lambda *a: pytest.fail("decoded anyway"))
    with pytest.raises(DataError) as info:
        load_data(root)
    assert str(info.value) == (f"{root}: 3 images at 1×100×100 need 30.0 kB, more than the 20.0 kB of memory "
                               "available; use --stream on (decode once to a disk cache) or a smaller --image-size")


def test_big_folder_streams_in_auto_mode(tmp_path, monkeypatch):
    from cnnlab.data.rundata import prepare_data
    from cnnlab.training.config import TrainConfig
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    root = class_folder(tmp_path / "d", {"a": ["1.png", "2.png"], "b": ["3.png", "4.png"]}, size=(100, 100))
    monkeypatch.setattr(stream, "available_memory", lambda: 50_000)  # 40 kB of images > half of it
    data = prepare_data(TrainConfig(data=str(root), val_split=0.0))
    assert data["train"].streamed and notes_of(data)[-1].startswith("streaming 40.0 kB of decoded images from ")


def test_stream_refuses_when_the_cache_disk_is_too_small(tmp_path, monkeypatch):
    import collections
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    root = class_folder(tmp_path / "d", {"a": ["1.png"], "b": ["2.png"]}, size=(100, 100))
    monkeypatch.setattr(decoded.shutil, "disk_usage", lambda p: collections.namedtuple("u", "total used free")(0, 0, 9))
    with pytest.raises(DataError, match=r"2 images at 1×100×100 need 20\.0 kB, more than the 9 bytes free on the "
                                        r"cache disk"):
        stream.load_folder_streamed(root)


def test_listing_reads_headers_and_a_small_sample_only(tmp_path, monkeypatch):
    class_folder(tmp_path / "d", {"a": [f"{i}.png" for i in range(60)], "b": [f"{i}.png" for i in range(60)]})
    opened = []
    real = Image.open
    monkeypatch.setattr(Image, "open", lambda p, *a, **k: (opened.append(p), real(p, *a, **k))[1])
    listing = list_image_folder(tmp_path / "d")
    assert listing.count == 120 and len(set(opened)) == folder_mod.SAMPLE
    assert len({str(p).split("/")[-2] for p in set(opened)}) == 2  # the sample sees both classes


def test_every_decoded_array_is_written_in_place(tmp_path):
    root = class_folder(tmp_path / "d", {"a": ["1.png"], "b": ["2.png", "3/4.png"]}, size=(9, 7))
    images, transparent = folder_mod.load_images(sorted(root.rglob("*.png")), 1, (9, 7))
    assert images.shape == (3, 1, 9, 7) and not transparent
    assert np.unique(images.reshape(3, -1), axis=0).shape[0] == 3  # three distinct files, three distinct rows


def test_tiny_images_and_one_huge_one_share_the_working_size(tmp_path):
    root = class_folder(tmp_path / "d", {"a": ["dot.png"], "b": ["line.png"]}, size=(1, 1))
    Image.new("RGB", (3, 1), (200, 10, 10)).save(root / "b" / "line.png")
    assert load_data(root).input_shape == (3, 1, 1)
    photo(root / "a" / "big.jpg", 3000, 2000)
    data = load_data(root)
    assert data.input_shape == (3, 128, 128) and data["train"].class_counts(2) == [2, 1]


def test_cli_refuses_a_folder_too_big_for_memory_without_streaming(tmp_path, monkeypatch, cli):
    root = class_folder(tmp_path / "d", {"a": ["1.png"], "b": ["2.png"]}, size=(100, 100))
    monkeypatch.setattr(folder_mod, "available_memory", lambda: 10_000)
    code, out, err = cli("train", root, "--stream", "off", "--epochs", "1", "--runs-dir", tmp_path / "runs")
    assert code == 2 and err == (f"error: {root}: 2 images at 1×100×100 need 20.0 kB, more than the 10.0 kB of "
                                 "memory available; use --stream on (decode once to a disk cache) or a smaller "
                                 "--image-size\n")


def test_streamed_and_in_memory_folders_read_odd_files_alike(tmp_path, monkeypatch):
    from .robust_cases import gray16_png, oriented_file, quadrant_scene
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "d"
    for cls in ("a", "b"):
        (root / cls / "deep").mkdir(parents=True)
        oriented_file(root / cls / "sideways.png", quadrant_scene(24, 32), 6)
        transparent_drawing(root / cls / "deep" / "clear.png", "RGBA")
        gray16_png(root / cls / "g16.png", np.linspace(0, 65535, 24 * 32).reshape(24, 32))
    memory = load_data(root)
    streamed = stream.load_folder_streamed(root)
    assert memory.input_shape == streamed.input_shape == (3, 24, 32)
    np.testing.assert_array_equal(memory["train"].images.numpy(), streamed["train"].images.numpy())
    assert notes_of(memory)[-1] == "some images have transparent pixels: composited onto a white background"
    assert [n for n in notes_of(streamed) if not n.startswith("streaming ")] == notes_of(memory)
