"""Images: IDX files, CIFAR-10 batches, pixel CSVs and folders of image files → uint8 (N, C, H, W).

The readers live in cnnlab.data (idx, cifar, pixelcsv, folder); this object says which one a path needs, how
a trained run reads new image files or CSV rows, which recipe fits the images' size, and what the web lab and
ONNX export do with them.  Pixel CSVs with a numeric `target` column are regression data sets: images with
float labels (meta {"task": "regression"}), handled here because everything about their inputs is an image's.
"""
from __future__ import annotations

from pathlib import Path

from cnnlab.data.base import DataError
from cnnlab.modalities.base import Modality

EMOTIONS = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}  # FER2013's classes
# The largest images of the whitenet kinds (training/recipes.py): whitenet keeps full resolution through its first
# block, so its cost grows with the pixels (64×64 colour: 4× CIFAR-10's), where resnet-photo's strided stem (5×5/2
# and a 3×3/2 pool) divides it by 16.  Default runs (3 minutes, 2-core CPU without bf16, 2026-12-03), CIFAR-10's
# images (4,500 training, 500 validation) resized: at 64×64 whitenet-m 61.2% (3 epochs), resnet-photo 71.8% (18);
# at 48×48 73.6% and 72.4%, a tie; FER2013 at 48×48 (the faces recipe, 58.2-58.5%) resnet-photo 55.3%.
COLOR_MAX_SIDE = 48
FACES_MAX_SIDE = 64


def csv_splits(folder: Path) -> dict[str, Path]:
    """train.csv / val.csv / test.csv (plain or .gz) in a folder, as in the course's layout."""
    found = {}
    for split in ("train", "val", "test"):
        for name in (f"{split}.csv", f"{split}.csv.gz"):
            if (folder / name).is_file():
                found[split] = folder / name
                break
    return found if "train" in found else {}


def is_regression(meta: dict | None) -> bool:
    """True for a data set (or run) whose labels are numbers to predict."""
    return (meta or {}).get("task") == "regression"


def _expanded(paths: list[str]) -> list[str]:
    """`paths` with each folder of loose images that nothing labels (an unlabelled test/) replaced by its
    image files, sorted: those are predicted one by one."""
    from cnnlab.data.labelled import has_loose_images, labelled_files, loose_images

    out = []
    for item in paths:
        path = Path(item)
        if path.is_dir() and has_loose_images(path):
            try:
                labelled_files(path)
            except DataError:
                out += [str(p) for p in loose_images(path)]
                continue
        out.append(item)
    return out


class ImageModality(Modality):
    """uint8 images (N, C, H, W) in 0-255, normalised per channel or per pixel from the training split."""

    name = "image"
    formats = ("idx", "csv", "folder", "cifar10")
    unit = items = "images"
    folder_hint = ("IDX files (train-images-idx3-ubyte...), CIFAR-10 batches, train.csv, "
                   "one subfolder of images per class, images with a CSV of file names and labels")
    file_hint = "a CSV with a header such as label,feature or emotion,pixels,Usage"

    def detect(self, path: Path, head: bytes | None) -> str | None:
        from cnnlab.data.cifar import looks_like_cifar_folder
        from cnnlab.data.labelled import has_loose_images, looks_like_image_folder
        from cnnlab.data.idx import is_idx, looks_like_idx_folder
        from cnnlab.data.filelist import names_images
        from cnnlab.data.io import head_bytes
        from cnnlab.data.pixelrows import looks_like_pixel_csv

        if path.is_dir():
            if looks_like_cifar_folder(path):
                return "cifar10"
            if looks_like_idx_folder(path):
                return "idx"
            splits = csv_splits(path)
            if splits and looks_like_pixel_csv(head_bytes(splits["train"])) \
                    and not names_images(splits["train"], path):
                return "csv"
            if looks_like_image_folder(path) or splits and has_loose_images(path):  # a train.csv naming images
                return "folder"
            return "csv" if splits else None
        if is_idx(head):
            raise DataError(f"{path}: an IDX file alone has no labels; pass the folder holding "
                            "train-images-idx3-ubyte and train-labels-idx1-ubyte")
        return "csv" if looks_like_pixel_csv(head) else None

    def guess(self, path: Path, head: bytes | None) -> str | None:
        from cnnlab.data.labelled import has_loose_images

        if path.is_dir():  # loose images, once no modality claimed the folder (FSDD's clips beside a picture)
            return "folder" if has_loose_images(path) else None
        # any other *.csv is read as pixel rows: its parser names the line and what is wrong with it
        return "csv" if path.name.lower().endswith((".csv", ".csv.gz")) else None

    def load(self, path: Path, fmt: str, image_size=None, channels=None, **options):
        from cnnlab.data.cifar import load_cifar10
        from cnnlab.data.folder import load_image_folder
        from cnnlab.data.idx import load_idx_folder
        from cnnlab.data.load import add_split, resized, with_classes
        from cnnlab.data.pixelcsv import load_pixel_csv

        target = options.pop("target", None) if fmt == "csv" else None  # pixel CSVs: a numeric column to regress on
        # pixel CSVs: class names ("a,b,c" or a list, in label order), or a trained model's classes to map labels to
        names = options.pop("class_names", None) if fmt == "csv" else None
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
        classes = options.pop("classes", None)  # image folders and IDX name their own classes
        if options:
            raise ValueError(f"option(s) {', '.join(sorted(options))} apply to text and audio data, "
                             f"not to {fmt} data")
        if fmt == "idx":
            return resized(load_idx_folder(path), image_size, channels)
        if fmt == "cifar10":
            return resized(load_cifar10(path, path.name), image_size, channels)
        if fmt == "folder":
            data = load_image_folder(path, image_size, channels)
            return with_classes(data, classes) if classes else data
        if path.is_dir():
            files = csv_splits(path)
            if not files:
                raise DataError(f"{path}: expected train.csv (and optionally val.csv, test.csv)")
            data = load_pixel_csv(files.pop("train"), image_size, channels, classes, path.name, target, names)
            for split, file in files.items():
                add_split(data, split, load_pixel_csv(file, image_size, channels, classes=data.classes,
                                                      target=target))
            return data
        return load_pixel_csv(path, image_size, channels, classes, target=target, class_names=names)

    def loader_options(self, cfg, fmt: str) -> dict:
        if cfg.class_names and fmt != "csv":
            raise ValueError(f"--class-names names a pixel CSV's classes; {cfg.data} is {fmt} data")
        if cfg.target:
            if fmt != "csv":
                raise ValueError(f"--target names a numeric column of a pixel CSV; {cfg.data} is {fmt} data")
            return {"target": cfg.target}
        return {"class_names": cfg.class_names} if cfg.class_names else {}

    def extra_split_options(self, data, cfg, size) -> dict:
        # resized to the training images' size and channels unless --image-size says otherwise
        return {"data_dir": cfg.data_dir, "image_size": size or data.input_shape[1:],
                "channels": data.input_shape[0], "classes": data.classes}

    def read_inputs(self, run, paths: list[str], texts: list[str]):
        import torch

        from cnnlab.data.folder import IMAGE_SUFFIXES, load_image
        from cnnlab.data.load import load_data

        c, h, w = run.input_shape
        images, ids, labels = [], [], []
        for item in _expanded(paths):
            path = Path(item)
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images.append(torch.from_numpy(load_image(path, c, (h, w)).copy())[None])
                ids.append(str(path))
                labels.append(torch.tensor([-1]))
                continue
            data = load_data(path, image_size=(h, w), channels=c, classes=list(run.classes))
            for split_name, split in data.splits.items():
                images.append(split.images)
                ids += split.ids or [f"{path.name}:{split_name}:{i}" for i in range(len(split))]
                labels.append(split.labels)
        if not images:
            raise DataError("no inputs given: pass image files or a CSV of pixel rows")
        return torch.cat(images), ids, torch.cat(labels)

    def recipe_kind(self, data) -> str:
        """digits | tiny | faces | color | photo | other, from the channels and size (see recipes.VALUES)."""
        from cnnlab.models.fast import DIGITNET_MIN_SIDE
        from cnnlab.models.whitenet import WHITENET_MIN_SIDE

        shape = data.input_shape
        if len(shape) != 3:
            return "other"
        c, h, w = shape
        if c == 1 and max(h, w) <= 32:
            return "digits" if min(h, w) >= DIGITNET_MIN_SIDE else "tiny"
        if c in (1, 3) and max(h, w) <= (FACES_MAX_SIDE if c == 1 else COLOR_MAX_SIDE):  # whitenet's sizes
            if min(h, w) < WHITENET_MIN_SIDE:
                return "tiny"  # colour icons, thin gray strips: too small for whitenet (fastcnn takes them)
            return "faces" if c == 1 else "color"
        # colour above 48 px, gray above 64 px (photos, scans, X-rays; 128 px in image folders), and large images
        # of other channel counts
        return "photo" if c in (1, 3) or max(h, w) > FACES_MAX_SIDE else "other"

    def lab_kind(self, input_shape, classes: list[str], dataset: str = "", meta: dict | None = None) -> str:
        if is_regression(meta) or not input_shape or len(input_shape) != 3:
            return "other"  # a regressor's one output is not a class to show
        if list(input_shape) == [1, 28, 28] and [str(c) for c in classes] == [str(i) for i in range(10)]:
            return "digits"
        if "fer" in dataset.lower() or (len(classes) > 2 and {str(c).lower() for c in classes} <= EMOTIONS):
            return "faces"
        return "images"

    def exports_onnx(self, run) -> bool:
        return not is_regression(run.input_meta) and len(run.input_shape) == 3
