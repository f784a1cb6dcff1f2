"""Image folders labelled by a CSV (fastai's from_csv, Keras's flow_from_dataframe, most downloaded competitions):
file names with or without their suffix, Excel's semicolons and byte-order mark, one-hot columns, split columns,
submission templates beside the labels.  Each kind has generated members; a wrong reading must fail loudly."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnlab.data import DataError, load_data
from cnnlab.data.load import detect_format


def notes_of(data) -> list[str]:
    return data.meta.get("notes", [])


def images(folder, names, size=(10, 12)):
    """Small distinct gray PNG/JPEG files, by relative name (sub-folders created)."""
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full(size, (i * 41) % 256, np.uint8)).save(path)
    return folder


def labels_of(data, split="train") -> dict[str, str]:
    """image id (relative path) → class name."""
    part = data[split]
    return {i: data.classes[int(y)] for i, y in zip(part.ids, part.labels.tolist())}


def test_ids_without_suffix_and_a_submission_template(tmp_path):
    """dog-breed style: labels.csv id,breed; train/<id>.jpg; test/<id>.jpg; sample_submission.csv of probabilities."""
    root = tmp_path / "dogs"
    images(root, [f"train/{k}.jpg" for k in ("a1", "b2", "c3", "d4")] + ["test/e5.jpg", "test/f6.jpg"])
    (root / "labels.csv").write_text("id,breed\na1,pug\nb2,collie\nc3,pug\nd4,beagle\n")
    (root / "sample_submission.csv").write_text("id,beagle,collie,pug\ne5,0.33,0.33,0.33\nf6,0.33,0.33,0.33\n")
    assert detect_format(root) == "folder"
    data = load_data(root)
    assert data.classes == ["beagle", "collie", "pug"]
    assert labels_of(data) == {"train/a1.jpg": "pug", "train/b2.jpg": "collie", "train/c3.jpg": "pug",
                               "train/d4.jpg": "beagle"}
    assert notes_of(data) == ["labels from labels.csv: 4 images named there",
                              "ignored sample_submission.csv: a submission template",
                              "2 images under the folder named in no label CSV (e.g. test/e5.jpg) left out"]


def test_excel_semicolons_bom_crlf_and_numeric_labels(tmp_path):
    root = images(tmp_path / "cactus", [f"train/{i:03d}.jpg" for i in range(6)])
    rows = "".join(f"{i:03d}.jpg;{i % 2}\r\n" for i in range(6))
    (root / "train.csv").write_bytes(b"\xef\xbb\xbf" + f"id;has_cactus\r\n{rows}".encode())
    data = load_data(root)
    assert data.classes == ["0", "1"]
    assert data["train"].labels.tolist() == [0, 1, 0, 1, 0, 1]


def test_one_hot_columns_name_the_class(tmp_path):
    root = images(tmp_path / "plants", [f"images/Train_{i}.jpg" for i in range(4)])
    (root / "train.csv").write_text("image_id,healthy,rust,scab\nTrain_0,1,0,0\nTrain_1,0,1,0\nTrain_2,0,0,1\n"
                                    "Train_3,1,0,0\n")
    data = load_data(root)
    assert data.classes == ["healthy", "rust", "scab"]
    assert data["train"].labels.tolist() == [0, 1, 2, 0]


def test_split_column_and_split_csvs(tmp_path):
    root = images(tmp_path / "a", [f"img/{i}.png" for i in range(8)])
    (root / "meta.csv").write_text("filename,label,split\n" + "".join(
        f"img/{i}.png,{'xy'[i % 2]},{('train', 'train', 'test', 'valid')[i % 4]}\n" for i in range(8)))
    data = load_data(root)
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 4, "val": 2, "test": 2}
    root = images(tmp_path / "b", [f"{i}.png" for i in range(6)])
    for split, rows in (("train", "0,p\n1,q\n2,p\n3,q\n"), ("test", "4,p\n5,q\n")):
        (root / f"{split}.csv").write_text(f"file,label\n{rows}")
    data = load_data(root)
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 4, "test": 2}


def test_a_name_in_two_split_folders_is_taken_from_the_csvs_split(tmp_path):
    root = images(tmp_path / "d", ["train/1.jpg", "train/2.jpg", "test/1.jpg", "test/2.jpg"])
    (root / "train.csv").write_text("id,label\n1.jpg,a\n2.jpg,b\n")
    (root / "test.csv").write_text("id,label\n1.jpg,b\n2.jpg,a\n")
    data = load_data(root)
    assert labels_of(data) == {"train/1.jpg": "a", "train/2.jpg": "b"}
    assert labels_of(data, "test") == {"test/1.jpg": "b", "test/2.jpg": "a"}


def test_a_labelled_csv_wins_over_folders_that_are_not_classes(tmp_path):
    """HAM10000 style: images split across two part folders, the diagnosis in a metadata CSV."""
    root = images(tmp_path / "skin", ["part_1/ISIC_1.jpg", "part_1/ISIC_2.jpg", "part_2/ISIC_3.jpg"])
    (root / "metadata.csv").write_text("lesion_id,image_id,dx,age\nL1,ISIC_1,nv,40\nL2,ISIC_2,mel,55\n"
                                       "L3,ISIC_3,nv,61\n")
    data = load_data(root)
    assert data.classes == ["mel", "nv"] and data["train"].labels.tolist() == [1, 0, 1]


def test_class_folders_stay_when_a_csv_gives_no_labels(tmp_path):
    root = images(tmp_path / "pets", ["cat/1.png", "cat/2.png", "dog/3.png"])
    (root / "sizes.csv").write_text("file,width,height\ncat/1.png,12,10\ncat/2.png,12,10\ndog/3.png,12,10\n")
    data = load_data(root)
    assert data.classes == ["cat", "dog"]
    assert notes_of(data) == ["ignored sizes.csv: cannot tell which column is the label among width, height (name "
                              "it one of label, labels, class, classes, category)"]


@pytest.mark.parametrize("rows,message", [
    ("id,label\na,x\nzz,y\n", r"train.csv, line 3: 'zz' names no image file under"),
    ("id,label\na,x\nb,\n", r"train.csv, line 3: no label in column 'label'"),
    ("id,label,split\na,x,train\nb,y,holdout\n", r"train.csv, line 3: split 'holdout' in column 'split'"),
])
def test_bad_rows_name_their_line(tmp_path, rows, message):
    root = images(tmp_path / "d", ["a.png", "b.png"])
    (root / "train.csv").write_text(rows)
    with pytest.raises(DataError, match=message):
        load_data(root)


def test_two_files_for_one_name_is_an_error(tmp_path):
    root = images(tmp_path / "d", ["x/a.png", "y/a.png", "x/b.png"])
    (root / "labels.csv").write_text("file,label\nb,p\na,q\n")
    with pytest.raises(DataError, match=r"labels.csv, line 3: 'a' names 2 image files"):
        load_data(root)


def test_split_folders_of_loose_images_without_labels_stop_with_one_line(tmp_path, cli):
    """dogs-vs-cats: train/cat.0.jpg … and test1/1.jpg, the labels only in the file names."""
    root = images(tmp_path / "dvc", ["train/cat.0.jpg", "train/dog.0.jpg", "test1/1.jpg"])
    code, out, err = cli("data", root)
    assert code != 0 and err.count("\n") == 1
    assert "test1/, train/ hold their images directly, with no class folders" in err


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([",", ";", "\t", "jsonl"]), st.booleans(), st.booleans(),
       st.sampled_from(["", "images/", "a/b/"]), st.booleans(), st.integers(0, 10**6))
def test_unseen_label_csvs_read_the_same_labels(tmp_path_factory, sep, suffix, label_first, where, extra, seed):
    """Any delimiter (or JSON Lines), column order, id with or without its suffix, images at any depth, extra
    columns."""
    import json

    root = tmp_path_factory.mktemp("csv")
    rng = np.random.default_rng(seed)
    classes = ["ant", "bee", "cow"][:int(rng.integers(2, 4))]
    n = int(rng.integers(3, 9))
    truth = {f"img_{i}": classes[int(rng.integers(len(classes)))] for i in range(n)}
    truth[f"img_{n}"], truth[f"img_{n + 1}"] = classes[0], classes[1]  # at least two classes
    images(root, [f"{where}{k}.jpg" for k in truth])
    header = ["label", "file"] if label_first else ["file", "label"]
    header += ["notes"] * extra
    lines = [] if sep == "jsonl" else [sep.join(header)]
    for k, label in truth.items():
        cells = {"file": f"{k}.jpg" if suffix else k, "label": label, "notes": "seen"}
        row = {h: cells[h] for h in header}
        lines.append(json.dumps(row) if sep == "jsonl" else sep.join(row.values()))
    (root / ("labels.jsonl" if sep == "jsonl" else "labels.csv")).write_text("\n".join(lines) + "\n")
    data = load_data(root)
    assert labels_of(data) == {f"{where}{k}.jpg": v for k, v in truth.items()}


def test_pixel_csvs_win_over_a_stray_image_beside_them(tmp_path):
    root = tmp_path / "pix"
    root.mkdir()
    rows = "".join(f"{i % 2},{' '.join(['7'] * 64)}\n" for i in range(6))
    (root / "train.csv").write_text("label,feature\n" + rows)
    images(root, ["preview.png", "samples/0.png", "samples/1.png"])
    data = load_data(root)
    assert data.input_shape == (1, 8, 8) and len(data["train"]) == 6


def test_split_columns_by_other_names(tmp_path):
    """Kaggle's 100 Sports (`data set`: train/valid/test) and fastai's `is_valid`."""
    names = [f"{s}/{c}/{i}.jpg" for s in ("train", "valid", "test") for c in ("polo", "hockey") for i in range(2)]
    root = images(tmp_path / "sports", names)
    (root / "sports.csv").write_text("class id,filepaths,labels,data set\n" + "".join(
        f"{int(n.split('/')[1] == 'polo')},{n},{n.split('/')[1]},{n.split('/')[0]}\n" for n in names))
    assert {k: len(v) for k, v in load_data(root).splits.items()} == {"train": 4, "val": 4, "test": 4}
    root = images(tmp_path / "fa", [f"{i}.png" for i in range(6)])
    (root / "labels.csv").write_text("fname,label,is_valid\n" + "".join(
        f"{i}.png,{'ab'[i % 2]},{i >= 4}\n" for i in range(6)))
    assert {k: len(v) for k, v in load_data(root).splits.items()} == {"train": 4, "val": 2}


def test_rows_in_split_folders_take_the_folders_split(tmp_path):
    root = images(tmp_path / "d", ["train/a.png", "train/b.png", "val/c.png", "val/d.png"])
    (root / "labels.csv").write_text("file,label\ntrain/a.png,x\ntrain/b.png,y\nval/c.png,x\nval/d.png,y\n")
    assert {k: len(v) for k, v in load_data(root).splits.items()} == {"train": 2, "val": 2}


def test_boxes_with_one_class_count_once_and_with_two_stop(tmp_path):
    root = images(tmp_path / "bb", ["a.jpg", "b.jpg", "c.jpg"])
    (root / "_annotations.csv").write_text("filename,class,xmin\na.jpg,car,1\na.jpg,car,5\nb.jpg,bus,2\n"
                                           "c.jpg,car,3\n")
    data = load_data(root)
    assert len(data["train"]) == 3
    assert notes_of(data)[1] == ("1 row named an image again with the same label (e.g. a.jpg in _annotations.csv, "
                                 "line 3): each image counted once")
    (root / "_annotations.csv").write_text("filename,class,xmin\na.jpg,car,1\na.jpg,person,5\nb.jpg,bus,2\n")
    with pytest.raises(DataError, match=r"_annotations.csv, line 3: a.jpg is labelled 'person' here and 'car'"):
        load_data(root)


def test_the_earliest_label_name_wins_and_a_partition_is_no_label(tmp_path):
    root = images(tmp_path / "isic", ["train/ISIC_1.jpg", "train/ISIC_2.jpg", "train/ISIC_3.jpg"])
    (root / "train.csv").write_text("image_name,diagnosis,target\nISIC_1,nevus,0\nISIC_2,melanoma,1\n"
                                    "ISIC_3,unknown,0\n")
    assert load_data(root).classes == ["0", "1"]
    root = images(tmp_path / "celeba", ["cat/1.jpg", "dog/2.jpg"])
    (root / "list_eval_partition.csv").write_text("image_id,partition\n1.jpg,0\n2.jpg,2\n")
    data = load_data(root)
    assert data.classes == ["cat", "dog"] and notes_of(data) == ["ignored list_eval_partition.csv: no label column"]


def test_copies_of_an_image_folder_under_another_case_count_once(tmp_path):
    root = images(tmp_path / "ham", ["HAM_part_1/ISIC_1.jpg", "HAM_part_1/ISIC_2.jpg", "ham_part_1/ISIC_1.jpg",
                                     "ham_part_1/ISIC_2.jpg"])
    (root / "HAM_metadata.csv").write_text("lesion_id,image_id,dx\nL1,ISIC_1,nv\nL2,ISIC_2,mel\n")
    data = load_data(root)
    assert data["train"].ids == ["HAM_part_1/ISIC_1.jpg", "HAM_part_1/ISIC_2.jpg"]
    assert notes_of(data)[-1] == "2 copies of named images under another case (e.g. ham_part_1/ISIC_1.jpg) counted once"


def test_excel_zeros_absolute_paths_and_short_rows(tmp_path):
    root = images(tmp_path / "lz", ["0001.png", "0002.png"])
    (root / "labels.csv").write_text("id,label\n1,a\n2,b\n")
    assert load_data(root)["train"].ids == ["0001.png", "0002.png"]
    root = images(tmp_path / "ab", ["imgs/x/1.png", "imgs/y/2.png"])
    (root / "labels.csv").write_text("path,label\n/kaggle/input/ds/imgs/x/1.png,p\n/kaggle/input/ds/imgs/y/2.png,q\n")
    assert load_data(root).classes == ["p", "q"]
    root = images(tmp_path / "short", ["a.png", "b.png", "c.png"])
    (root / "labels.csv").write_text("label,file\nx,a.png\ny,b.png\nz\n")
    with pytest.raises(DataError, match=r"labels.csv, line 4: 1 cell\(s\), expected 2 \(label, file\)"):
        load_data(root)


def test_colliding_ids_in_train_and_test_folders(tmp_path):
    """Kaggle's CIFAR-10: trainLabels.csv ids 1..n, train/1.png and test/1.png, sampleSubmission.csv."""
    root = images(tmp_path / "kc", ["train/1.png", "train/2.png", "test/1.png", "test/2.png"])
    (root / "trainLabels.csv").write_text("id,label\n1,frog\n2,truck\n")
    (root / "sampleSubmission.csv").write_text("id,label\n1,cat\n2,cat\n")
    data = load_data(root)
    assert labels_of(data) == {"train/1.png": "frog", "train/2.png": "truck"}


def test_a_csv_whose_file_column_names_nothing_is_said(tmp_path):
    root = images(tmp_path / "d", ["cat/1.png", "dog/2.png"])
    (root / "labels.csv").write_text("filename,label\nIMG_001.jpg,cat\nIMG_002.jpg,dog\n")
    assert notes_of(load_data(root)) == ["ignored labels.csv: its 'filename' column names no image file under the "
                                         "folder (e.g. 'IMG_001.jpg')"]


def test_csvs_inside_split_folders(tmp_path):
    """Roboflow's CSV export (train/_classes.csv, one-hot, names as in its header) and Hugging Face's imagefolder
    (train/metadata.csv with a label column)."""
    root = tmp_path / "rf"
    for split, n in (("train", 4), ("valid", 2)):
        names = [f"IMG_{i}_jpg.rf.{split}{i}.jpg" for i in range(n)]
        images(root / split, names)
        (root / split / "_classes.csv").write_text("filename, Cat, Dog\n" + "".join(
            f"{name},{1 - i % 2},{i % 2}\n" for i, name in enumerate(names)))
    data = load_data(root)
    assert data.classes == ["Cat", "Dog"] and {k: len(v) for k, v in data.splits.items()} == {"train": 4, "val": 2}
    assert notes_of(data) == ["train/: labels from _classes.csv: 4 images named there",
                              "valid/: labels from _classes.csv: 2 images named there"]


def test_captions_are_no_classes(tmp_path):
    root = images(tmp_path / "hf", [f"{c}/{i}.png" for c in ("cat", "dog") for i in range(4)])
    (root / "metadata.csv").write_text("file_name,text\n" + "".join(
        f"{c}/{i}.png,a photo of {c} number {i}\n" for c in ("cat", "dog") for i in range(4)))
    data = load_data(root)
    assert data.classes == ["cat", "dog"]
    assert notes_of(data) == ["ignored metadata.csv: 8 different values in 8 rows: not classes (e.g. 'a photo of cat "
                              "number 0')"]


def test_masks_beside_the_images_are_not_images_of_the_class(tmp_path):
    """COVID-19 Radiography: <class>/images/ and <class>/masks/."""
    root = images(tmp_path / "covid", [f"{c}/{k}/{i}.png" for c in ("COVID", "Normal") for k in ("images", "masks")
                                       for i in range(2)])
    data = load_data(root)
    assert data.classes == ["COVID", "Normal"] and all("/masks/" not in i for i in data["train"].ids)
    assert len(data["train"]) == 4


def test_a_folder_evaluated_against_a_models_classes_keeps_each_images_class(tmp_path):
    from cnnlab.data.load import with_classes

    root = images(tmp_path / "new", ["beagle/1.png", "pug/2.png", "pug/3.png"])
    data = with_classes(load_data(root), ["beagle", "boxer", "pug"])
    assert data.classes == ["beagle", "boxer", "pug"] and data["train"].labels.tolist() == [0, 2, 2]
    assert load_data(root, classes=["beagle", "boxer", "pug"])["train"].labels.tolist() == [0, 2, 2]
    with pytest.raises(DataError, match=r"class\(es\) pug not among the model's classes \(beagle, boxer\)"):
        load_data(root, classes=["beagle", "boxer"])


def test_the_decoded_cache_key_follows_the_labels(tmp_path):
    from cnnlab.data import decoded
    from cnnlab.data.folder import list_image_folder

    root = images(tmp_path / "d", ["a.png", "b.png", "c.png", "d.png"])
    (root / "labels.csv").write_text("file,label\na.png,cat\nb.png,dog\nc.png,cat\nd.png,dog\n")
    listing = list_image_folder(root)
    swapped = {k: (paths, [1 - y for y in labels]) for k, (paths, labels) in listing.files.items()}
    assert decoded.cache_key(listing, listing.files, {}) != decoded.cache_key(listing, swapped, {})


def test_a_dangling_link_is_skipped(tmp_path):
    from cnnlab.data import decoded

    root = images(tmp_path / "bl", ["a/1.png", "b/2.png"])
    (root / "README.md").symlink_to(tmp_path / "nowhere")
    assert decoded.fingerprint(root)["files"] == 2
    assert load_data(root).classes == ["a", "b"]


def test_an_image_header_names_files_not_pixels(tmp_path):
    root = images(tmp_path / "d", ["train/t0.png", "train/t1.png", "train/t2.png", "train/t3.png", "test/e5.png"])
    (root / "train.csv").write_text("image,label\nt0.png,x\nt1.png,y\nt2.png,x\nt3.png,y\n")
    data = load_data(root)
    assert data.classes == ["x", "y"] and len(data["train"]) == 4
    assert notes_of(data)[-1] == "1 image under the folder named in no label CSV (e.g. test/e5.png) left out"


def test_windows_1252_labels_are_said(tmp_path):
    root = images(tmp_path / "d", ["a.png", "b.png", "c.png", "d.png"])
    (root / "labels.csv").write_bytes("file;label\na.png;Käse\nb.png;Brot\nc.png;Käse\nd.png;Brot\n".encode("cp1252"))
    data = load_data(root)
    assert data.classes == ["Brot", "Käse"]
    assert "labels.csv: not UTF-8, read as Windows-1252" in " ".join(notes_of(data))


def test_predict_takes_a_folder_of_unlabelled_images(tmp_path):
    from types import SimpleNamespace

    from cnnlab.modalities.image import ImageModality

    root = images(tmp_path / "test1", ["1.png", "2.png", "3.png"])
    run = SimpleNamespace(input_shape=(1, 10, 12), classes=["a", "b"])
    batch, ids, labels = ImageModality().read_inputs(run, [str(root)], [])
    assert tuple(batch.shape) == (3, 1, 10, 12) and labels.tolist() == [-1, -1, -1]
    assert ids == [str(root / f"{i}.png") for i in (1, 2, 3)]


@pytest.mark.parametrize("labels,message", [
    # Planet-style space-separated tags: each tag is also a label alone on another row
    (["clear", "haze", "clear primary", "haze", "clear", "haze primary", "primary", "clear"],
     "line 4: the label 'clear primary' is a set of tags ('clear', 'primary' are labels on their own too)"),
    (["cat", "dog", "cat|dog", "cat", "dog", "dog"], "line 4: the label 'cat|dog' is a set of tags"),
    (["cat dog", "dog cat", "cat dog", "dog cat", "cat dog", "dog cat"],
     "line 3: the label 'dog cat' is a set of tags (the same tags as 'cat dog' in another order)"),
    (["a;b", "a;c", "b;c", "a;b;c", "a;b", "c;a;b", "b;c", "a;c"], "is a set of tags"),
])
def test_sets_of_tags_are_multi_label_and_stop(tmp_path, labels, message):
    """A label column of tag sets would train one class per combination: refused in one line, with its line."""
    root = images(tmp_path / "planet", [f"train/{i}.jpg" for i in range(len(labels))])
    (root / "train.csv").write_text("image_name,tags\n" + "".join(f"{i},{t}\n" for i, t in enumerate(labels)))
    with pytest.raises(DataError) as err:
        load_data(root)
    assert message in str(err.value) and str(root / "train.csv") in str(err.value)
    assert "multi-label" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("labels", [
    ["golden retriever", "pug", "golden retriever", "border collie", "pug", "border collie"],
    ["Apple Braeburn", "Apple Golden 1", "Apple Golden 2", "Banana", "Apple Braeburn", "Banana"],
    ["red car", "blue car", "red bus", "blue bus", "green car", "green bus"],
    ["sea lion", "sea turtle", "lion", "sea lion", "turtle dove", "lion"],
])
def test_class_names_with_spaces_stay_classes(tmp_path, labels):
    root = images(tmp_path / "d", [f"{i}.jpg" for i in range(len(labels))])
    (root / "labels.csv").write_text("file,label\n" + "".join(f"{i}.jpg,{t}\n" for i, t in enumerate(labels)))
    assert load_data(root).classes == sorted(set(labels))


def test_multi_hot_columns_stop_with_the_line(tmp_path):
    root = images(tmp_path / "chest", [f"{i}.png" for i in range(4)])
    (root / "labels.csv").write_text("image,effusion,mass,nodule\n0.png,1,0,0\n1.png,0,1,1\n2.png,0,0,1\n"
                                     "3.png,1,0,0\n")
    with pytest.raises(DataError, match=r"labels\.csv, line 3: several label columns are 1 \(mass, nodule\), in 1 "
                                        r"of 4 rows: .*multi-label"):
        load_data(root)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.sampled_from(["water", "road", "cloud", "forest", "field"]), min_size=2, max_size=3, unique=True),
       st.sampled_from([" ", "|", ";", ", "]), st.integers(0, 10**6))
def test_unseen_tag_sets_stop(tmp_path_factory, combo, sep, seed):
    rng = np.random.default_rng(seed)
    tags = ["water", "road", "cloud", "forest", "field"]
    labels = [sep.join(combo)] + [str(rng.choice(tags)) for _ in range(5)] + list(combo)
    root = images(tmp_path_factory.mktemp("t") / "d", [f"{i}.jpg" for i in range(len(labels))])
    (root / "labels.csv").write_text("file,label\n" + "".join(f'{i}.jpg,"{t}"\n' for i, t in enumerate(labels)))
    with pytest.raises(DataError, match="multi-label"):
        load_data(root)


def test_hugging_face_metadata_jsonl_in_split_folders(tmp_path):
    """Hugging Face imagefolder: train/metadata.jsonl and test/metadata.jsonl beside the images."""
    import json

    root = tmp_path / "hf"
    for split, n in (("train", 6), ("test", 2)):
        images(root / split, [f"{i:04d}.png" for i in range(n)])
        lines = [json.dumps({"file_name": f"{i:04d}.png", "label": ["cat", "dog"][i % 2], "width": 10})
                 for i in range(n)]
        (root / split / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    data = load_data(root)
    assert data.classes == ["cat", "dog"] and {k: len(v) for k, v in data.splits.items()} == {"train": 6, "test": 2}
    assert labels_of(data, "test") == {"test/0000.png": "cat", "test/0001.png": "dog"}


def test_jsonl_at_the_top_with_a_split_key_and_bad_lines(tmp_path):
    import json

    root = images(tmp_path / "d", [f"img/{i}.jpg" for i in range(6)])
    rows = [{"image": f"img/{i}.jpg", "label": i % 3, "split": "test" if i == 5 else "train"} for i in range(6)]
    (root / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = load_data(root)
    assert data.classes == ["0", "1", "2"] and len(data["test"]) == 1
    (root / "labels.jsonl").write_text(json.dumps(rows[0]) + "\n" + "{'image': 'img/1.jpg'}\n")
    with pytest.raises(DataError, match=r"labels\.jsonl, line 2: not JSON .*expected one JSON object per line"):
        load_data(root)
    (root / "labels.jsonl").write_text(json.dumps(rows[0]) + "\n[1, 2]\n")
    with pytest.raises(DataError, match=r"labels\.jsonl, line 2: a JSON array, expected an object"):
        load_data(root)


def test_jsonl_captions_are_no_classes(tmp_path):
    import json

    root = images(tmp_path / "d", [f"train/{c}/{i}.png" for c in ("a", "b") for i in range(5)])
    (root / "metadata.jsonl").write_text("".join(
        json.dumps({"file_name": f"train/{c}/{i}.png", "text": f"a photo of thing {c}{i}"}) + "\n"
        for c in ("a", "b") for i in range(5)))
    data = load_data(root)
    assert data.classes == ["a", "b"]
    assert any(note.startswith("ignored metadata.jsonl: 10 different values in 10 rows") for note in notes_of(data))


def test_jsonl_lists_of_labels_are_tags(tmp_path):
    import json

    root = images(tmp_path / "d", [f"{i}.png" for i in range(6)])
    tags = [["cat"], ["dog"], ["cat", "dog"], ["dog"], ["cat"], "cat"]
    (root / "metadata.jsonl").write_text("".join(json.dumps({"file_name": f"{i}.png", "labels": t}) + "\n"
                                                 for i, t in enumerate(tags)))
    with pytest.raises(DataError, match=r"line 3: the label 'cat\|dog' is a set of tags .*multi-label"):
        load_data(root)
