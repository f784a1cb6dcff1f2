import csv

import pytest
import torch

from cnnlab.runs.checkpoint import load_checkpoint
from cnnlab.training.config import TrainConfig
from cnnlab.data import Dataset, Split
from cnnlab.runs.evaluate import predict_logits
from cnnlab.models import build
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.recipes import apply_recipe, data_kind, recipe_values
from cnnlab.training.callbacks import Callback
from cnnlab.training.pipeline import train

FAST = dict(data="mnist-mini", model="mnist-2conv", batch_size=64, limit=600, eval_batch_size=512)


def fake(shape, splits=("train", "test")):
    n = 4
    return Dataset("fake", ["a", "b"], {s: Split(torch.zeros(n, *shape, dtype=torch.uint8), torch.zeros(n)) for s in splits})


def test_kinds_and_values():
    assert data_kind(fake((1, 28, 28))) == "digits"
    assert data_kind(fake((1, 8, 8))) == "tiny" and data_kind(fake((1, 13, 13))) == "digits"
    assert recipe_values("best", fake((1, 28, 28)))["model"] == "digitnet"
    assert data_kind(fake((1, 48, 48))) == "faces"
    assert data_kind(fake((3, 32, 32))) == "color"
    # whitenet's kinds stop where its full-resolution first block costs more than resnet-photo's strided stem
    assert data_kind(fake((3, 48, 48))) == "color" and data_kind(fake((3, 49, 48))) == "photo"
    assert data_kind(fake((1, 64, 64))) == "faces" and data_kind(fake((1, 64, 65))) == "photo"
    assert data_kind(fake((1, 200, 200))) == "photo" and data_kind(fake((4, 32, 32))) == "other"
    assert data_kind(fake((4, 100, 100))) == "photo"  # large images of other channel counts: the strided stem
    assert data_kind(fake((3, 8, 8))) == "tiny" and data_kind(fake((1, 12, 60))) == "tiny"  # whitenet needs 16 px
    assert data_kind(fake((3, 16, 16))) == "color" and data_kind(fake((1, 16, 60))) == "faces"
    assert recipe_values("fast", fake((1, 28, 28)))["val_split"] == 0.0
    assert "val_split" not in recipe_values("fast", fake((1, 28, 28), splits=("train",)))  # keep a val split
    with pytest.raises(ValueError, match="unknown recipe 'quick'"):
        recipe_values("quick", fake((1, 28, 28)))


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 12, 12), (1, 13, 13), (1, 32, 32), (1, 33, 33), (1, 64, 64),
                                   (1, 65, 65), (1, 12, 60), (1, 16, 60), (3, 8, 8), (3, 15, 40), (3, 16, 16),
                                   (3, 48, 48), (3, 49, 49), (3, 64, 64)])
def test_every_image_recipe_fits_the_smallest_and_largest_images_of_its_kind(shape):
    for recipe in ("fast", "best"):
        model = build(recipe_values(recipe, fake(shape)).get("model", TrainConfig().model), shape, 2).eval()
        assert model(torch.zeros(1, *shape)).shape == (1, 2)


def test_explicit_options_win_over_the_recipe():
    cfg = TrainConfig(recipe="fast", epochs=7)
    applied = apply_recipe(cfg, fake((1, 28, 28)))  # epochs differs from the default: the user chose it
    assert applied.epochs == 7 and applied.model == recipe_values("fast", fake((1, 28, 28)))["model"]
    cfg = TrainConfig(recipe="fast", epochs=5)  # 5 is the default, but the CLI says it was given
    assert apply_recipe(cfg, fake((1, 28, 28)), explicit={"epochs"}).epochs == 5


def test_track_test_records_test_accuracy_and_time_each_epoch(tmp_path):
    result = train(TrainConfig(**FAST, epochs=2, track_test=True, runs_dir=str(tmp_path)))
    rows = list(csv.DictReader(open(result.run_dir / "history.csv")))
    assert all(float(r["test_acc"]) > 0 for r in rows) and float(rows[1]["time"]) > float(rows[0]["time"])


def test_ema_weights_are_scored_saved_and_resumed(tmp_path):
    class StopAfterFirst(Callback):
        def on_epoch_end(self, state, metrics):
            if state.epoch == 1:
                raise KeyboardInterrupt

    straight = train(TrainConfig(**FAST, epochs=2, ema=0.9, runs_dir=str(tmp_path), run_name="a", precision="fp32"))
    last = load_checkpoint(straight.run_dir / "last.pt")
    assert "train_state" in last and last["ema_steps"] > 0
    assert not torch.equal(last["train_state"]["0.weight"], last["model_state"]["0.weight"])
    with pytest.raises(KeyboardInterrupt):
        train(TrainConfig(**FAST, epochs=2, ema=0.9, runs_dir=str(tmp_path), run_name="b", precision="fp32"),
              [StopAfterFirst()])
    cfg = TrainConfig.from_dict(load_checkpoint(tmp_path / "b" / "last.pt")["config"])
    resumed = train(cfg, resume_dir=tmp_path / "b")
    assert resumed.fit.history[-1]["val_acc"] == pytest.approx(straight.fit.history[-1]["val_acc"])


def test_flip_tta_averages_an_image_with_its_mirror():
    model = build("mnist-2conv", (1, 28, 28), 10).eval()
    images = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    pre = Preprocess("none")
    plain = predict_logits(model, images, pre, torch.device("cpu"))
    mirrored = predict_logits(model, images.flip(3), pre, torch.device("cpu"))
    tta = predict_logits(model, images, pre, torch.device("cpu"), tta="flip")
    assert torch.allclose(tta, (plain + mirrored) / 2, atol=1e-5)


def test_tta_run_reports_with_and_without(tmp_path):
    result = train(TrainConfig(**FAST, epochs=1, tta="flip", runs_dir=str(tmp_path)))
    assert {"val", "val_no_tta", "test", "test_no_tta"} <= set(result.reports)
