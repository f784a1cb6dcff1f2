"""Progressive resizing (`--progressive-resize S`): the sizes of the ramp, the warp and resize that make the smaller
batches, the training loop's sizes (validation at full size), time budgets that count each epoch's cost, and the
one-line refusals."""
from __future__ import annotations

import math
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.cli import main
from cnnlab.data import Dataset, Split
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.augment import Augmenter
from cnnlab.training.augment.geometry import warp
from cnnlab.training.budget import SAFETY, TimeBudget
from cnnlab.training.costs import RESULTS_SECONDS
from cnnlab.training.config import TrainConfig
from cnnlab.training.pipeline import train
from cnnlab.training.resize import (RAMP_END, SIZE_STEP, check_resizable, epoch_cost, epoch_size,
                                    resize)
from cnnlab.training.steps import make_batch


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ── the ramp ─────────────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("epochs, full, start", [(26, (48, 48), 0.67), (23, (48, 48), 0.67), (10, (28, 28), 0.5),
                                                 (7, (40, 64), 0.6), (40, (96, 96), 0.25)])
def test_sizes_grow_in_steps_of_4_px_to_full_size_at_three_quarters_of_the_epochs(epochs, full, start):
    sizes = [epoch_size(e, epochs, full, start) for e in range(1, epochs + 1)]
    ramp = round(RAMP_END * epochs)
    assert sizes[0] == tuple(math.floor(s * start / SIZE_STEP) * SIZE_STEP for s in full)
    assert all(size == full for size in sizes[ramp - 1:])  # the last quarter at full size
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(sizes, sizes[1:]))  # never shrinking
    assert all(h % SIZE_STEP == 0 and w % SIZE_STEP == 0 for h, w in sizes[:ramp - 1])
    assert all(epoch_cost(e, epochs, full, start) == pytest.approx(h * w / (full[0] * full[1]))
               for e, (h, w) in enumerate(sizes, start=1))


def test_the_best_faces_ramp_is_32_to_48_px():
    sizes = [epoch_size(e, 26, (48, 48), 0.67)[0] for e in range(1, 27)]
    assert sizes == [32] * 5 + [36] * 5 + [40] * 5 + [44] * 4 + [48] * 7
    assert sum(epoch_cost(e, 26, (48, 48), 0.67) for e in range(1, 27)) == pytest.approx(18.87, abs=0.01)


@pytest.mark.parametrize("start", [None, 0, 1.0, 1.5])
def test_no_ramp_keeps_the_full_size(start):
    assert all(epoch_size(e, 5, (28, 28), start) == (28, 28) for e in range(1, 6))


def test_one_epoch_and_tiny_images_keep_a_size():
    assert epoch_size(1, 1, (28, 28), 0.5) == (28, 28)  # a one-epoch plan is all last quarter
    assert epoch_size(1, 20, (6, 6), 0.2) == (4, 4)  # never below SIZE_STEP
    assert epoch_size(1, 20, (3, 3), 0.2) == (3, 3)  # nor above the full size


# ── the smaller batches ──────────────────────────────────────────────────────────────────────────────────
def test_an_identity_warp_to_a_smaller_size_is_a_bilinear_resize():
    x = torch.rand(3, 2, 12, 12, generator=gen())
    theta = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(3, 2, 3)
    for fill in ("nearest", "reflect", "constant", "wrap"):
        out = warp(x, theta, fill, size=(8, 8))
        assert out.shape == (3, 2, 8, 8)
        expected = F.interpolate(x, size=(8, 8), mode="bilinear", align_corners=False)
        assert torch.allclose(out, expected, atol=1e-5), fill
    assert torch.equal(warp(x, theta, "nearest"), warp(x, theta, "nearest", size=(12, 12)))


def test_a_wrapped_shift_reads_the_input_s_pixels_at_any_output_size():
    x = torch.rand(1, 1, 8, 8, generator=gen(1))
    shift = torch.tensor([[[1.0, 0, 2 * 2 / 8], [0, 1.0, 0]]])  # reads 2 px to the right: the image moved 2 px left
    full = warp(x, shift, "wrap")
    assert torch.allclose(full, torch.roll(x, -2, dims=3), atol=1e-5)
    half = warp(x, shift, "wrap", size=(4, 4))
    assert torch.allclose(half, F.interpolate(torch.roll(x, -2, dims=3), size=(4, 4), mode="bilinear"), atol=1e-5)


@pytest.mark.parametrize("spec", ["fer", "crop=2,flip=h,fill=reflect", "flip=h", "flip=h,erasing=1",
                                  "rotation=10,brightness=0.2,erasing=0.5,cutmix=1"])
def test_augmented_batches_come_out_at_the_epoch_s_size(spec):
    x = torch.rand(16, 1, 24, 24, generator=gen())
    out = Augmenter(spec, gen(3))(x, torch.arange(16), 1, (16, 16))
    assert out.shape == (16, 1, 16, 16) and out.min() >= 0 and out.max() <= 1
    assert Augmenter(spec, gen(3))(x, torch.arange(16), 1).shape == x.shape  # no size: as stored
    same = Augmenter(spec, gen(3))(x, torch.arange(16), 1, (24, 24))
    assert torch.equal(same, Augmenter(spec, gen(3))(x, torch.arange(16), 1))


def test_erased_boxes_are_drawn_in_the_output_s_pixels():
    x = torch.ones(64, 1, 32, 32)
    out = Augmenter("erasing=1", gen(2))(x, None, 1, (8, 8))
    assert out.shape == (64, 1, 8, 8)
    erased = (out == 0).float().mean((1, 2, 3))  # the share of each image erased: 2-33% of its area, as at full size
    assert erased.min() > 0 and erased.max() <= 0.5


def test_make_batch_resizes_with_and_without_augmentation():
    raw = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8, generator=gen())
    pre = Preprocess.fit(raw, "standardize")
    y = torch.arange(4)
    x, _ = make_batch(raw, y, pre, None, 4, True, size=(12, 12))
    assert x.shape == (4, 3, 12, 12) and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(x, resize(pre(raw), (12, 12)))
    x, _ = make_batch(raw, y, pre, Augmenter("flip=h", gen()), 4, False, torch.arange(4), 1, (16, 16))
    assert x.shape == (4, 3, 16, 16)
    full = pre(raw)
    assert resize(full, (20, 20)) is full


# ── training ─────────────────────────────────────────────────────────────────────────────────────────────
class Sizes(nn.Module):
    """A global-pooling model that records the size of every batch it sees, training and scoring."""

    def __init__(self, channels, classes):
        super().__init__()
        self.conv = nn.Conv2d(channels, 8, 3, padding=1)
        self.head = nn.Linear(8, classes)
        self.seen: list[tuple[bool, tuple[int, int]]] = []

    def forward(self, x):
        self.seen.append((self.training, tuple(x.shape[2:])))
        return self.head(self.conv(x).amax((2, 3)))


def _faces(n=64, side=24):
    images = torch.randint(0, 256, (n, 1, side, side), dtype=torch.uint8, generator=gen())
    labels = torch.arange(n) % 4
    return Dataset("faces", list("abcd"), {"train": Split(images, labels), "val": Split(images[:16], labels[:16]),
                                           "test": Split(images[:16], labels[:16])})


def test_training_follows_the_ramp_and_scores_at_full_size(tmp_path, monkeypatch):
    model = Sizes(1, 4)
    monkeypatch.setattr("cnnlab.training.pipeline.build", lambda *a, **k: model)
    cfg = TrainConfig(data="faces", epochs=4, batch_size=32, model="sizes", progressive_resize=0.5,
                      augment="rotation=5,flip=h", runs_dir=str(tmp_path), threads=1, precision="fp32")
    result = train(cfg, data=_faces())
    trained = [size for training, size in model.seen if training]
    assert trained == [(12, 12)] * 2 + [(16, 16)] * 2 + [(24, 24)] * 4  # 2 steps per epoch; ramp to epoch 3 of 4
    first = next(i for i, (training, _) in enumerate(model.seen) if training)
    assert {size for _, size in model.seen[:first]} == {(12, 12)}  # the check that the model takes the size
    assert {size for training, size in model.seen[first:] if not training} == {(24, 24)}  # validation and test
    assert result.reports["test"].accuracy is not None


def test_a_model_that_needs_its_own_size_is_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(ValueError) as err:
        check_resizable(nn.Sequential(nn.Flatten(), nn.Linear(24 * 24, 4)), (1, 24, 24), (12, 12), "dense")
    message = str(err.value)
    assert "model dense cannot take 12×12 images" in message and "global pooling" in message and "\n" not in message
    check_resizable(Sizes(1, 4), (1, 24, 24), (12, 12), "sizes")  # global pooling: any size
    assert main(["train", "mnist-mini", "--model", "mnist-1conv", "--progressive-resize", "0.5", "--epochs", "4",
                 "--limit", "100", "--runs-dir", str(tmp_path)]) == 2
    assert "cannot take 12×12 images" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before the run directory was made


@pytest.mark.parametrize("values, words", [(dict(progressive_resize=0.0), "(0, 1]"),
                                           (dict(progressive_resize=1.2), "(0, 1]"),
                                           (dict(progressive_resize=0.5, normalize="featurewise"), "featurewise")])
def test_bad_settings_are_refused_in_one_line(values, words):
    with pytest.raises(ValueError) as err:
        TrainConfig(**values)
    assert words in str(err.value) and "\n" not in str(err.value)


# ── time budgets ─────────────────────────────────────────────────────────────────────────────────────────
def test_a_budget_plans_with_each_epoch_s_cost():
    """Epochs of a ramp cost less: a plan fits more of them than of full-size epochs, and sums them at their
    sizes; a pace measured on small epochs is converted to a full-size epoch's."""
    cost = lambda e, n: epoch_cost(e, n, (48, 48), 0.67)  # noqa: E731
    budget = TimeBudget("100s", 100.0, time.perf_counter(), steps_per_epoch=10, batch_size=10, scored_images=0,
                        final_images=0, cost=cost)
    budget.epoch_seconds = 4.0  # a full-size epoch
    margin = RESULTS_SECONDS + SAFETY * 100
    planned = budget._plan(budget.started, 0, 0.0)
    whole = sum(4.0 * cost(e, planned) for e in range(1, planned + 1))
    assert whole <= 100 - margin < sum(4.0 * cost(e, planned + 1) for e in range(1, planned + 2))
    assert planned > int((100 - margin) // 4)  # more than full-size epochs would give
    assert budget.ends == pytest.approx(whole + margin, abs=0.01)
    budget.costs = {1: cost(1, planned), 2: cost(2, planned)}  # epochs 1 and 2 at 32 px, 2 s in all
    budget.planned_at, budget.planned_done = time.perf_counter() - 2 * 4.0 * cost(1, planned), 0
    assert budget.pace(2) == pytest.approx(4.0, rel=0.01)


def test_a_timed_run_with_a_ramp_ends_within_its_budget(tmp_path):
    result = train(TrainConfig(data="mnist-mini", limit=500, batch_size=32, model="whitenet-s", threads=1,
                               val_split=0.1, time="10s", progressive_resize=0.5, runs_dir=str(tmp_path)))
    assert result.seconds <= 10 and result.fit.epochs >= 2


def test_the_ramp_is_one_console_line():
    from cnnlab.training.resize import ramp_note

    assert ramp_note(26, (48, 48), 0.67) == ("progressive resizing: epochs 1-19 train on 32×32 growing to 44×44 "
                                             "images, epochs 20-26 on 48×48 (scored at 48×48)")
    assert ramp_note(2, (24, 24), 0.5) == "progressive resizing: epoch 1 trains on 12×12 images, epoch 2 on 24×24 " \
                                          "(scored at 24×24)"
    assert ramp_note(1, (24, 24), 0.5) == "" and ramp_note(5, (24, 24), None) == ""
    assert ramp_note(None, (48, 48), 0.67) == ("progressive resizing: from 32×32 to 48×48 images over the first 75% "
                                               "of the epochs the time budget plans (scored at 48×48)")
    assert ramp_note(None, (48, 48), None) == ""
