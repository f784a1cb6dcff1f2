"""`--recipe fast|best` on photos: mobilenet_v3_small from its ImageNet weights with one head-only epoch when the
weight file is in the cache, resnet-photo from scratch with a note saying how to get the weights when it is not.
The weight file is generated and placed in a temporary cache: no network."""
import dataclasses
import json

import pytest
import torch

from cnnlab.cli import main
from photo_helpers import two_class_photos
from cnnlab.data import Dataset, Split
from cnnlab.data.download import file_sha256
from cnnlab.models import build
from cnnlab.models.registry import MODELS
from cnnlab.runs.pretrained import cached_weights, weights_dir
from cnnlab.training.config import TrainConfig
from cnnlab.training.recipes import PHOTO_BACKBONE, apply_recipe, describe, recipe_notes


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty weights cache in tmp_path; call the result to put a generated mobilenet_v3_small file in it
    (registered under its own SHA-256)."""
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNLAB_WEIGHTS_MIRROR", raising=False)

    def put():
        entry = MODELS[PHOTO_BACKBONE]
        weights_dir().mkdir(parents=True)
        file = weights_dir() / entry.pretrained.file
        torch.manual_seed(0)
        torch.save(build(PHOTO_BACKBONE, (3, 224, 224), 1000).state_dict(), file)
        monkeypatch.setitem(MODELS, PHOTO_BACKBONE, dataclasses.replace(
            entry, pretrained=dataclasses.replace(entry.pretrained, sha256=file_sha256(file),
                                                  base_url="http://127.0.0.1:9")))  # never reached
        return file
    return put


def _photo_data(side=96):
    images = torch.zeros(4, 3, side, side, dtype=torch.uint8)
    return Dataset("photos", ["a", "b"], {"train": Split(images, torch.tensor([0, 1, 0, 1]))})


def test_with_cached_weights_the_photo_recipes_fine_tune_the_backbone(cache):
    assert cached_weights(PHOTO_BACKBONE) is None
    file = cache()
    assert cached_weights(PHOTO_BACKBONE) == file
    for recipe in ("fast", "best"):
        cfg = apply_recipe(TrainConfig(recipe=recipe), _photo_data())
        assert (cfg.model, cfg.pretrained, cfg.freeze_epochs) == (PHOTO_BACKBONE, True, 1)
        assert recipe_notes(cfg, _photo_data()) == []
    cfg = apply_recipe(TrainConfig(recipe="fast", epochs=1), _photo_data(), explicit={"epochs"})
    assert cfg.freeze_epochs == 0  # one epoch: nothing left after a frozen one
    chosen = apply_recipe(TrainConfig(recipe="fast", model="resnet-photo"), _photo_data(), explicit={"model"})
    assert (chosen.model, chosen.pretrained, chosen.freeze_epochs) == ("resnet-photo", False, 0)
    small = apply_recipe(TrainConfig(recipe="fast"), _photo_data(side=32))  # colour at 32 px: not a photo
    assert small.model == "whitenet-m" and not small.pretrained
    assert f"with {PHOTO_BACKBONE}'s weights cached: model={PHOTO_BACKBONE} pretrained=True" in describe()


def test_without_weights_the_photo_recipe_trains_from_scratch_and_says_how_to_get_them(cache):
    cfg = apply_recipe(TrainConfig(recipe="fast"), _photo_data())
    assert (cfg.model, cfg.pretrained, cfg.freeze_epochs) == ("resnet-photo", False, 0)
    [note] = recipe_notes(cfg, _photo_data())
    assert f"no {PHOTO_BACKBONE} ImageNet weights in {weights_dir()}" in note
    assert MODELS[PHOTO_BACKBONE].pretrained.file in note and f"--model {PHOTO_BACKBONE} --pretrained" in note
    assert recipe_notes(apply_recipe(TrainConfig(), _photo_data()), _photo_data()) == []  # no recipe: no note



def _train(tmp_path, capsys, epochs):
    photos = two_class_photos(tmp_path / "photos", side=72)
    code = main(["train", str(photos), "--recipe", "fast", "--epochs", str(epochs),
                 "--image-size", "72x72", "--val-split", "0.25", "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0, out
    run = next((tmp_path / "runs").iterdir())
    return out, json.loads((run / "config.json").read_text())


def test_photo_recipe_without_weights_says_so_when_training(cache, tmp_path, capsys):
    out, config = _train(tmp_path, capsys, epochs=1)
    assert config["model"] == "resnet-photo" and "note      recipe fast: no mobilenet_v3_small" in out


@pytest.mark.slow  # ~15-30 s on a loaded 2-core CPU: two epochs of mobilenet_v3_small
def test_photo_recipe_with_weights_fine_tunes_end_to_end(cache, tmp_path, capsys):
    cache()
    out, config = _train(tmp_path, capsys, epochs=2)
    assert (config["model"], config["pretrained"], config["freeze_epochs"]) == (PHOTO_BACKBONE, True, 1)
    assert "note      recipe fast" not in out and "newly initialised: classifier.3.weight" in out
    assert "frozen    only the head (classifier.3)" in out and "unfrozen: all " in out
