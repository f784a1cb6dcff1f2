"""Images whose classes are not mirror-symmetric (digits, letters, numbers, arrows) at a size whose recipe mirrors
them (faces, colour photos): the recipe's flips and mirroring TTA are dropped, with a note; photos and faces keep
them.  Each kind is generated: random class templates, asymmetric or made symmetric, under noise."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.data import Dataset, Split
from cnnlab.data.symmetry import MIN_PER_CLASS, mirror_symmetry
from cnnlab.training import recipes
from cnnlab.training.config import TrainConfig


def _images(seed: int, classes: int, per_class: int, shape: tuple[int, int, int], symmetric: bool,
            noise: float = 40.0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, C, H, W) images: one smooth random template per class (made mirror-symmetric on request; the
    symmetric kind also mirrors half its images at random, as photos are taken either way) plus pixel noise."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    coarse = rng.uniform(0, 255, (classes, c, max(2, h // 6), max(2, w // 6)))
    templates = torch.nn.functional.interpolate(torch.tensor(coarse, dtype=torch.float32), size=(h, w),
                                                mode="bilinear", align_corners=False)
    if symmetric:
        templates = (templates + templates.flip(-1)) / 2
    labels = torch.arange(classes).repeat_interleave(per_class)
    x = templates[labels] + torch.tensor(rng.normal(0, noise, (len(labels), c, h, w)), dtype=torch.float32)
    if symmetric:
        flip = torch.tensor(rng.random(len(labels)) < 0.5)
        x[flip] = x[flip].flip(-1)
    return x.clamp(0, 255).to(torch.uint8), labels


def _dataset(images, labels, classes) -> Dataset:
    return Dataset("generated", [str(i) for i in range(classes)], {"train": Split(images, labels)},
                   meta={"kind": "image"})


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), classes=st.integers(2, 6), noise=st.floats(10, 80),
       shape=st.sampled_from([(1, 28, 28), (1, 48, 48), (3, 32, 32), (1, 28, 56)]))
def test_asymmetric_classes_measure_low_and_symmetric_ones_near_1(seed, classes, noise, shape):
    asym = mirror_symmetry(*_images(seed, classes, MIN_PER_CLASS, shape, False, noise))
    sym = mirror_symmetry(*_images(seed, classes, MIN_PER_CLASS, shape, True, noise))
    assert asym is not None and sym is not None
    assert asym < recipes.MIRROR_SYMMETRY <= sym, (asym, sym)


def test_unknown_labels_are_left_out():
    images, labels = _images(4, 3, MIN_PER_CLASS, (1, 32, 32), False)
    noise, _ = _images(5, 1, 300, (1, 32, 32), True)  # unlabelled, mirror-symmetric images
    both = mirror_symmetry(torch.cat([images, noise]), torch.cat([labels, torch.full((300,), -1)]))
    assert both == mirror_symmetry(images, labels)


def test_too_few_images_per_class_say_nothing():
    images, labels = _images(0, 3, MIN_PER_CLASS - 1, (1, 40, 40), False)
    assert mirror_symmetry(images, labels) is None


def test_a_faces_sized_set_of_asymmetric_classes_trains_and_scores_without_mirrors():
    images, labels = _images(1, 4, 120, (1, 40, 40), False)
    data = _dataset(images, labels, 4)
    cfg = recipes.apply_recipe(TrainConfig(recipe="fast"), data, explicit={"recipe"})
    assert (cfg.augment, cfg.tta) == ("fer", "flip")  # the faces recipe mirrors
    dropped, notes = recipes.drop_mirrors(cfg, data, explicit={"recipe"})
    assert dropped.augment == "rotation=10,shift=0.1,zoom=0.1" and dropped.tta is None
    assert dataclasses.replace(dropped, augment=cfg.augment, tta=cfg.tta) == cfg  # nothing else changes
    assert len(notes) == 1 and notes[0].startswith("mirror images: these classes do not look the same in a mirror "
                                                   "(symmetry ") and "augment fer → rotation=10,shift=0.1,zoom=0.1, " \
        "tta flip → none (--augment / --tta to choose)" in notes[0]
    # the user's own choices stay
    own = dataclasses.replace(cfg, augment="flip=h")
    assert recipes.drop_mirrors(own, data, explicit={"recipe", "augment", "tta"}) == (own, [])
    kept_tta, _ = recipes.drop_mirrors(cfg, data, explicit={"recipe", "tta"})
    assert (kept_tta.augment, kept_tta.tta) == ("rotation=10,shift=0.1,zoom=0.1", "flip")


def test_colour_photos_keep_the_recipe_s_flips_and_multicrop():
    images, labels = _images(2, 3, 120, (3, 32, 32), True)
    data = _dataset(images, labels, 3)
    cfg = recipes.apply_recipe(TrainConfig(recipe="fast"), data, explicit={"recipe"})
    assert (cfg.augment, cfg.tta) == ("crop=2,flip=h,fill=reflect", "multicrop")
    assert recipes.drop_mirrors(cfg, data, explicit={"recipe"}) == (cfg, [])
    images, labels = _images(2, 3, 120, (3, 32, 32), False)  # numbers in colour: the same recipe without mirrors
    cfg2, notes = recipes.drop_mirrors(cfg, _dataset(images, labels, 3), explicit={"recipe"})
    assert (cfg2.augment, cfg2.tta, len(notes)) == ("crop=2,fill=reflect", None, 1)


def test_a_run_on_asymmetric_classes_says_so_and_records_the_unmirrored_recipe(tmp_path):
    import json

    from cnnlab.training.callbacks import Callback
    from cnnlab.training.pipeline import train

    notes = []

    class Notes(Callback):
        def on_run_begin(self, info):
            notes.extend(info.notes)

    images, labels = _images(3, 3, 140, (1, 40, 40), False)
    val = torch.arange(len(labels)) % 7 == 0  # 20 of each class's 140
    data = Dataset("generated", ["0", "1", "2"], {"train": Split(images[~val], labels[~val]),
                                                  "val": Split(images[val], labels[val])}, meta={"kind": "image"})
    cfg = TrainConfig(recipe="fast", epochs=1, threads=1, runs_dir=str(tmp_path))
    run = train(cfg, callbacks=[Notes()], data=data)
    config = json.loads((run.run_dir / "config.json").read_text())
    assert (config["augment"], config["tta"]) == ("rotation=10,shift=0.1,zoom=0.1", None)
    assert sum(n.startswith("mirror images: ") for n in notes) == 1
    assert "val_no_tta" not in run.reports and "val" in run.reports  # scored once, the right way round
