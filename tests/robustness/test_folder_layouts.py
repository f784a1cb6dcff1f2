"""Folder layouts as downloaded archives leave them: split folders under other names (Training/ Testing/, valid/,
seg_train/), lone wrapper folders (archive/dataset/, training_set/training_set/), macOS leftovers, unlabelled test
folders.  A layout read wrongly trains on the wrong classes, so each kind has generated members."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnlab.data import DataError, load_data
from cnnlab.data.base import split_of

from .robust_cases import class_folder, review_folder

CLASSES = {"cat": ["1.png", "2.png"], "dog": ["3.png", "sub/4.png", "5.png"]}
ALIASES = {"train": ["train", "training"], "val": ["val", "valid", "validation", "dev"], "test": ["test", "testing"]}


def notes_of(data) -> list[str]:
    return data.meta.get("notes", [])


def sizes(data) -> dict[str, int]:
    return {name: len(split) for name, split in data.splits.items()}


@pytest.mark.parametrize("names", [("Training", "Validation", "Testing"), ("train", "valid", "test"),
                                   ("TRAIN", "Dev", "TEST"), ("training_set", "validation_set", "test_set"),
                                   ("seg_train", "seg_val", "seg_test"), ("train-images", "val-images",
                                                                          "test-images")])
def test_split_folders_go_by_their_usual_names(tmp_path, names):
    for name in names:
        class_folder(tmp_path / "d" / name, CLASSES)
    data = load_data(tmp_path / "d")
    assert data.classes == ["cat", "dog"]  # not the split folders' names
    assert sizes(data) == {"train": 5, "val": 5, "test": 5}
    if names != ("train", "val", "test"):
        assert notes_of(data)[0] == (f"splits from the folders: {names[0]}/ as train, {names[1]}/ as val, "
                                     f"{names[2]}/ as test")


def test_a_plain_layout_says_nothing_about_it(tmp_path):
    for name in ("train", "val", "test"):
        class_folder(tmp_path / "d" / name, CLASSES)
    assert notes_of(load_data(tmp_path / "d")) == []
    assert notes_of(load_data(tmp_path / "d" / "train")) == []


@pytest.mark.parametrize("wrappers", [("archive",), ("archive", "dataset"), ("x", "x", "x")])
def test_lone_wrapper_folders_are_looked_through(tmp_path, wrappers):
    inner = tmp_path / "d"
    for name in wrappers:
        inner = inner / name
    class_folder(inner, CLASSES)
    (tmp_path / "d" / "README.txt").write_text("downloaded from somewhere")
    data = load_data(tmp_path / "d")
    assert data.classes == ["cat", "dog"]
    assert notes_of(data) == [f"the class folders are in {'/'.join(wrappers)}/"]
    assert data["train"].ids[0] == "/".join(wrappers) + "/cat/1.png"


def test_kaggle_training_set_training_set(tmp_path):
    class_folder(tmp_path / "d" / "training_set" / "training_set", CLASSES)
    class_folder(tmp_path / "d" / "test_set" / "test_set", {"cat": ["9.png"], "dog": ["8.png"]})
    data = load_data(tmp_path / "d")
    assert (data.classes, sizes(data)) == (["cat", "dog"], {"train": 5, "test": 2})


def test_macos_leftovers_are_not_a_class(tmp_path):
    class_folder(tmp_path / "d" / "pets", CLASSES)
    (tmp_path / "d" / "__MACOSX" / "pets" / "cat").mkdir(parents=True)
    (tmp_path / "d" / "__MACOSX" / "pets" / "cat" / "._1.png").write_bytes(b"\0\5\26\7")
    data = load_data(tmp_path / "d")
    assert data.classes == ["cat", "dog"] and len(data["train"]) == 5


def test_an_unlabelled_test_folder_is_left_out_with_a_note(tmp_path):
    class_folder(tmp_path / "d" / "train", CLASSES)
    (tmp_path / "d" / "test").mkdir()
    Image.new("L", (12, 12)).save(tmp_path / "d" / "test" / "0001.png")
    data = load_data(tmp_path / "d")
    assert sizes(data) == {"train": 5}
    assert notes_of(data) == [f"ignored test/: no class folders, so its images have no labels; `cnnlab predict RUN "
                              f"{tmp_path / 'd' / 'test'}` labels them"]


def test_a_folder_beside_the_splits_is_named_as_ignored(tmp_path):
    class_folder(tmp_path / "d" / "seg_train" / "seg_train", CLASSES)
    class_folder(tmp_path / "d" / "seg_pred", {"seg_pred": ["a.png"]})
    data = load_data(tmp_path / "d")
    assert sizes(data) == {"train": 5}
    assert notes_of(data) == ["splits from the folders: seg_train/seg_train/ as train",
                              "ignored seg_pred/: not a split folder of class folders (train/ val/ test/)"]


def test_a_class_named_train_is_a_class(tmp_path):
    class_folder(tmp_path / "vehicles", {"bus": ["1.png"], "car": ["2.png"], "train": ["3.png", "4.png"]})
    data = load_data(tmp_path / "vehicles")
    assert data.classes == ["bus", "car", "train"] and sizes(data) == {"train": 4}


def test_two_folders_for_one_split_is_an_error(tmp_path):
    for name in ("train", "test", "Testing"):
        class_folder(tmp_path / "d" / name, CLASSES)
    with pytest.raises(DataError, match="name the test split; keep one"):
        load_data(tmp_path / "d")


def test_splits_under_unknown_names_get_a_note(tmp_path):
    for name in ("part1", "part2"):
        class_folder(tmp_path / "d" / name, CLASSES)
    data = load_data(tmp_path / "d")
    assert data.classes == ["part1", "part2"]
    assert notes_of(data) == ["every class folder (part1, part2) holds the same subfolders (cat, dog): read as 2 "
                              "classes; if those subfolders are the classes, name the top folders train/ val/ test/ "
                              "or point at one of them"]


def test_classes_with_their_own_subfolders_get_no_note(tmp_path):
    class_folder(tmp_path / "d", {"cat": ["2024/1.png", "2025/2.png"], "dog": ["indoor/3.png", "2024/4.png"]})
    assert notes_of(load_data(tmp_path / "d")) == []


@pytest.mark.parametrize("name,split", [("Training", "train"), ("seg_test", "test"), ("validation_set", "val"),
                                        ("dev", "val"), ("train_val", None), ("trainer", None), ("cat", None),
                                        ("Test Images", "test"), ("contest", None), ("test_tube", None),
                                        ("training_shoes", None), ("trainingSet", "train"), ("testSet", "test"),
                                        ("chest_xray_test", "test"), ("train2017", "train"), ("test1", "test"),
                                        ("trainLabels", "train"), ("test-multiple_fruits", None)])
def test_split_of(name, split):
    assert split_of(name) == split


def spelled(alias: str, draw_case: int, form: int) -> str:
    """An alias as archives spell it: lower/upper/title case, alone or with a word before or after."""
    word = (alias.lower(), alias.upper(), alias.title())[draw_case]
    return (word, f"{word}_set", f"seg_{word}", f"{word}-images", f"{word} data")[form]


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(ALIASES["train"]), st.sampled_from(ALIASES["val"] + [None]),
       st.sampled_from(ALIASES["test"] + [None]), st.integers(0, 2), st.integers(0, 4), st.integers(0, 2),
       st.booleans(), st.integers(0, 10**6))
def test_unseen_layouts_read_the_same_classes(tmp_path_factory, train, val, test, case, form, wrap, leftover, seed):
    """Any spelling of the split folders, wrapped 0–2 deep inside each, gives the same classes and split sizes."""
    root = tmp_path_factory.mktemp("layout")
    rng = np.random.default_rng(seed)
    classes = sorted(rng.choice(["ant", "bee", "cow", "owl", "yak"], size=int(rng.integers(2, 5)), replace=False))
    expected = {}
    for split, alias in (("train", train), ("val", val), ("test", test)):
        if alias is None:
            continue
        name = spelled(alias, case, form)
        folder = root / "data" / name
        for _ in range(wrap):
            folder = folder / name
        layout = {c: [f"{i}.png" for i in range(int(rng.integers(1, 4)))] for c in classes}
        class_folder(folder, layout)
        expected[split] = sum(len(v) for v in layout.values())
    if leftover:
        (root / "data" / "__MACOSX" / "x").mkdir(parents=True)
    data = load_data(root / "data")
    assert data.classes == list(classes)
    assert sizes(data) == expected


def test_text_folders_read_split_folders_and_wrappers_alike(tmp_path):
    from cnnlab.modalities.text.loader import read_text_folder

    for split, n in (("Training", 3), ("Testing", 1)):
        for label in ("neg", "pos"):
            folder = tmp_path / "reviews" / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                (folder / f"{i}.txt").write_text(f"{label} words number {i}")
    rows = read_text_folder(tmp_path / "reviews")
    assert sorted(set(rows.labels)) == ["neg", "pos"]
    assert rows.splits.count("train") == 6 and rows.splits.count("test") == 2
    assert load_data(tmp_path / "reviews").classes == ["neg", "pos"]


def test_audio_folders_read_split_folders_alike(tmp_path):
    from cnnlab.modalities.audio.loader import list_clips, split_clips
    from cnnlab.modalities.audio.wav import write_wav

    rate = 8000
    t = np.arange(rate // 4) / rate
    for split, n in (("train", 3), ("valid", 1), ("test", 1)):
        for label, freq in (("high", 900), ("low", 300)):
            folder = tmp_path / "sounds" / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                write_wav(folder / f"{i}.wav", (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    clips = list_clips(tmp_path / "sounds")
    assert sorted(set(clips.labels)) == ["high", "low"]
    splits, how = split_clips(clips, np.asarray(clips.labels))
    assert how == "from the folders" and {k: len(v) for k, v in splits.items()} == {"train": 6, "val": 2, "test": 2}


def test_classes_named_with_split_words_stay_classes(tmp_path):
    class_folder(tmp_path / "shop", {"training_shoes": ["nike/1.png", "adidas/2.png"], "training_mat": ["3.png"],
                                     "boots": ["4.png"]})
    class_folder(tmp_path / "lab", {"test_tube": ["1.png"], "test_strip": ["2.png"], "beaker": ["3.png"]})
    assert load_data(tmp_path / "shop").classes == ["boots", "training_mat", "training_shoes"]
    assert load_data(tmp_path / "lab").classes == ["beaker", "test_strip", "test_tube"]


def test_classes_sharing_a_train_folders_subfolders_stay_classes(tmp_path):
    class_folder(tmp_path / "veh", {"bus": ["2019/1.png"], "car": ["2019/2.png"], "train": ["2019/3.png",
                                                                                         "2020/4.png"]})
    assert load_data(tmp_path / "veh").classes == ["bus", "car", "train"]


def test_a_loose_folder_does_not_compete_for_a_split(tmp_path):
    """Fruits-360: Training/ Test/ and test-multiple_fruits/ of loose images; MNIST as JPEGs: testSet/testSet/."""
    class_folder(tmp_path / "fr" / "Training", CLASSES)
    class_folder(tmp_path / "fr" / "Test", CLASSES)
    class_folder(tmp_path / "fr", {"test-multiple_fruits": ["m1.png"], "testing": ["loose.png"]})
    data = load_data(tmp_path / "fr")
    assert sizes(data) == {"train": 5, "test": 5}
    assert "ignored test-multiple_fruits/: not a split folder of class folders (train/ val/ test/)" in notes_of(data)
    class_folder(tmp_path / "mj" / "trainingSet" / "trainingSet", CLASSES)
    class_folder(tmp_path / "mj" / "testSet", {"testSet": ["img_1.png"]})
    data = load_data(tmp_path / "mj")
    assert sizes(data) == {"train": 5} and data.classes == ["cat", "dog"]


def test_splits_one_folder_down_beside_a_test_folder(tmp_path):
    """New Plant Diseases: data/Dataset(Augmented)/Dataset(Augmented)/{train,valid}/<class>/ beside test/test/."""
    inner = tmp_path / "npd" / "Dataset (Augmented)" / "Dataset (Augmented)"
    class_folder(inner / "train", CLASSES)
    class_folder(inner / "valid", CLASSES)
    class_folder(tmp_path / "npd" / "test", {"test": ["AppleScab1.png"]})
    data = load_data(tmp_path / "npd")
    assert data.classes == ["cat", "dog"] and sizes(data) == {"train": 5, "val": 5}


def test_a_link_back_up_the_tree_is_not_walked_again(tmp_path):
    root = class_folder(tmp_path / "sl", CLASSES)
    (root / "cat" / "up").symlink_to(root)
    (root / "dog" / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    class_folder(tmp_path / "elsewhere", {"x": ["9.png"]})
    data = load_data(root)
    assert np.bincount(data["train"].labels.numpy()).tolist() == [2, 4]


def test_a_stray_file_in_a_split_folder_keeps_it_a_split(tmp_path):
    class_folder(tmp_path / "d" / "train", CLASSES)
    class_folder(tmp_path / "d" / "val", CLASSES)
    Image.new("L", (12, 12)).save(tmp_path / "d" / "train" / "preview.png")
    data = load_data(tmp_path / "d")
    assert data.classes == ["cat", "dog"] and sizes(data) == {"train": 5, "val": 5}


def test_aclimdb_with_its_url_lists(tmp_path):
    from cnnlab.modalities.text.loader import read_text_folder

    for split in ("train", "test"):
        for label in ("neg", "pos"):
            folder = tmp_path / "aclImdb" / split / label
            folder.mkdir(parents=True)
            (folder / "0_1.txt").write_text(f"a {label} review")
        (tmp_path / "aclImdb" / split / "urls_pos.txt").write_text("http://example.com\n")
    rows = read_text_folder(tmp_path / "aclImdb")
    assert sorted(set(rows.labels)) == ["neg", "pos"] and rows.splits.count("test") == 2


def test_a_picture_beside_audio_or_text_keeps_their_kind(tmp_path):
    from cnnlab.data.load import detect_format
    from cnnlab.modalities.audio.wav import write_wav

    tone = (0.5 * np.sin(np.arange(2000) / 5)).astype(np.float32)
    for name in ("0_ann_0.wav", "1_ann_7.wav"):
        (tmp_path / "fsdd").mkdir(exist_ok=True)
        write_wav(tmp_path / "fsdd" / name, tone, 8000)
    Image.new("L", (8, 8)).save(tmp_path / "fsdd" / "spectrogram.png")
    for label in ("yes", "no"):
        (tmp_path / "aud" / label).mkdir(parents=True)
        write_wav(tmp_path / "aud" / label / "a.wav", tone, 8000)
        (tmp_path / "txt" / label).mkdir(parents=True)
        (tmp_path / "txt" / label / "a.txt").write_text(f"{label} words")
    Image.new("L", (8, 8)).save(tmp_path / "aud" / "waveforms.png")
    Image.new("L", (8, 8)).save(tmp_path / "txt" / "wordcloud.png")
    assert [detect_format(tmp_path / d) for d in ("fsdd", "aud", "txt")] == ["audio", "audio", "text"]


def test_split_folders_beside_nested_ones_join_them(tmp_path):
    inner = tmp_path / "npd" / "Dataset (Augmented)" / "Dataset (Augmented)"
    class_folder(inner / "train", CLASSES)
    class_folder(inner / "valid", CLASSES)
    class_folder(tmp_path / "npd" / "test", {"cat": ["t1.png"], "dog": ["t2.png"]})
    data = load_data(tmp_path / "npd")
    assert sizes(data) == {"train": 5, "val": 5, "test": 2}


def test_a_dangling_link_named_like_an_image_is_skipped(tmp_path):
    root = class_folder(tmp_path / "links", CLASSES)
    (root / "dog" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    assert sizes(load_data(root)) == {"train": 5}


UNLABELLED_NAMES = ["unsup", "unlabeled", "Unlabelled", "unlabeled_images", "Unlabelled Images", "unsupervised",
                    "unlabelled-data", "UNLABELED_SET"]


@pytest.mark.parametrize("name", UNLABELLED_NAMES)
def test_a_folder_of_unlabelled_images_is_no_class(tmp_path, name):
    """STL-10's unlabeled/ beside train/ test/, and one among the training class folders: left out, said."""
    class_folder(tmp_path / "d" / "train", {**CLASSES, name: ["u1.png", "u2.png", "u3.png"]})
    class_folder(tmp_path / "d" / "test", CLASSES)
    class_folder(tmp_path / "d", {name: ["u4.png"]})
    data = load_data(tmp_path / "d")
    assert data.classes == ["cat", "dog"] and sizes(data) == {"train": 5, "test": 5}
    notes = notes_of(data)
    for where in (f"{name}/", f"train/{name}/"):
        assert any(note.startswith(f"left out {where}: its name says its examples have no labels") for note in notes)


def test_aclimdb_unsup_is_no_class(tmp_path):
    """aclImdb's train/unsup/ (50,000 reviews without labels) beside train/neg/ and train/pos/."""
    from cnnlab.modalities.text.loader import read_text_folder

    rows = read_text_folder(review_folder(tmp_path / "aclImdb", 2))
    assert sorted(set(rows.labels)) == ["neg", "pos"] and len(rows.labels) == 8
    assert rows.notes == [f"left out train/unsup/: its name says its examples have no labels, so it is no class; "
                          f"`cnnlab predict RUN {tmp_path / 'aclImdb' / 'train' / 'unsup'}` labels them"]
    assert load_data(tmp_path / "aclImdb").classes == ["neg", "pos"]


def test_audio_unlabelled_clips_are_no_class(tmp_path):
    from cnnlab.modalities.audio.loader import list_clips
    from cnnlab.modalities.audio.wav import write_wav

    rate = 8000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(rate // 8) / rate)).astype(np.float32)
    for label in ("high", "low", "unlabeled"):
        (tmp_path / "s" / label).mkdir(parents=True)
        write_wav(tmp_path / "s" / label / "0.wav", tone, rate)
    clips = list_clips(tmp_path / "s")
    assert sorted(set(clips.labels)) == ["high", "low"]
    assert clips.notes[0].startswith("left out unlabeled/: its name says")


@pytest.mark.parametrize("name", ["unknown", "unlabeled_cats", "unsupported", "supervised", "unsup_birds"])
def test_classes_that_only_resemble_unlabelled_stay_classes(tmp_path, name):
    class_folder(tmp_path / "d", {**CLASSES, name: ["x.png"]})
    assert name in load_data(tmp_path / "d").classes


def test_a_lone_unlabelled_folder_is_still_read(tmp_path):
    """Where it is the only folder, a name is no reason to find nothing: unlabeled/<class>/ stays readable."""
    class_folder(tmp_path / "d" / "unlabeled", CLASSES)
    assert load_data(tmp_path / "d").classes == ["cat", "dog"]


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["unsup", "unsupervised", "unlabeled", "unlabelled", "unannotated"]),
       st.sampled_from(["", "images", "data", "set", "imgs"]), st.sampled_from(["_", "-", " ", ""]),
       st.sampled_from(["lower", "upper", "title"]), st.booleans())
def test_unseen_unlabelled_folder_names_are_left_out(tmp_path_factory, word, filler, sep, case, first):
    from cnnlab.data.base import unlabelled_folder

    parts = [word, filler] if first else [filler, word]
    name = getattr((sep or "_").join(p for p in parts if p), case)()
    assert unlabelled_folder(name)
    root = tmp_path_factory.mktemp("u") / "d"
    class_folder(root / "train", {**CLASSES, name: ["u.png"]})
    data = load_data(root)
    assert data.classes == ["cat", "dog"]
    assert any(note.startswith(f"left out train/{name}/") for note in notes_of(data))


@pytest.mark.parametrize("inner", ["old", "2019", "side views"])
def test_a_class_named_train_with_a_subfolder_of_its_own_is_a_class(tmp_path, inner):
    """bus/ car/ train/ each holding images, train/ also a subfolder: three classes, not a split of one class."""
    class_folder(tmp_path / "vehicles", {"bus": ["1.png", "2.png"], "car": ["3.png"],
                                         "train": ["4.png", f"{inner}/5.png", f"{inner}/6.png"]})
    data = load_data(tmp_path / "vehicles")
    assert data.classes == ["bus", "car", "train"]
    assert sum(sizes(data).values()) == 6 and data["train"].labels.bincount().tolist()[2] >= 2


def test_a_training_split_with_a_stray_image_beside_a_test_split_stays_a_split(tmp_path):
    class_folder(tmp_path / "d" / "train", {**CLASSES, ".": []})
    Image.new("L", (12, 12)).save(tmp_path / "d" / "train" / "stray.png")
    class_folder(tmp_path / "d" / "test", CLASSES)
    class_folder(tmp_path / "d", {"extra": ["e.png"]})
    data = load_data(tmp_path / "d")
    assert data.classes == ["cat", "dog"] and sizes(data)["test"] == 5
