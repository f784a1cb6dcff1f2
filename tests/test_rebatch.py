"""Batches sized to a time budget (training/rebatch.py): the candidates, the choice, the measured probe, and a
budgeted run of the colour recipe that halves its batch and says so."""
from __future__ import annotations

import dataclasses
import json
import time

import pytest
import torch

from cnnlab.data import Dataset, Split
from cnnlab.data.preprocess import Preprocess
from cnnlab.models import build
from cnnlab.training import rebatch
from cnnlab.training.budget import SAFETY
from cnnlab.training.costs import FINAL_NOISE, RESULTS_SECONDS
from cnnlab.training.callbacks import Callback
from cnnlab.training.config import TrainConfig
from cnnlab.training.pipeline import train
from cnnlab.training.recipes import MIN_BUDGET_STEPS, apply_recipe


def test_candidates_halve_down_to_an_eighth_and_never_below_32():
    assert rebatch.candidates(2000) == [2000, 1000, 500, 250]
    assert rebatch.candidates(1000) == [1000, 500, 250, 125]
    assert rebatch.candidates(128) == [128, 64, 32]  # 16 would be an eighth, but is under 32
    assert rebatch.candidates(32) == [32]
    assert rebatch.candidates(20) == [20]  # a batch already under the floor stays


@pytest.mark.parametrize("images, chosen", [(1e6, 2000), (90_000, 2000), (89_999, 1000), (45_000, 1000),
                                            (44_999, 500), (22_500, 500), (22_499, 250), (100, 250), (0, 250)])
def test_the_largest_batch_that_holds_the_steps_else_the_smallest(images, chosen):
    assert rebatch.choose_batch(2000, images, 45) == chosen


def test_trainable_images_leave_the_scoring_results_and_safety_share():
    probe = rebatch.Probe(250, train_per_image=0.002, score_per_image=0.0005)
    # 180 s left of 180: scoring 0.0005 × (10,000 + 1.2 × 30,000 × 2.5) = 50 s, results 1.5 s, safety 3.6 s
    left = 180 - 0.0005 * (10_000 + FINAL_NOISE * 30_000 * 2.5) - RESULTS_SECONDS - SAFETY * 180
    assert rebatch.trainable_images(probe, 180, 180, 10_000, 30_000, 2.5) == pytest.approx(left / 0.002)
    assert rebatch.trainable_images(probe, 10, 180, 10_000, 30_000, 2.5) == 0  # the scoring alone overruns


def colour(n: int, seed: int = 0) -> Dataset:
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen)
    return Dataset("c", [str(i) for i in range(10)], {"train": Split(images, torch.arange(n) % 10)})


def test_the_probe_times_a_copy_and_leaves_the_model_and_random_streams_alone():
    data = colour(64)
    model = build("whitenet-m", (3, 32, 32), 10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = TrainConfig(model="whitenet-m", batch_size=64)
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    probe = rebatch.probe_speed(model, data["train"], cfg, Preprocess.fit(data["train"].images, "standardize"), 10,
                                torch.device("cpu"), None, 32)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BN statistics included
    assert all(p.grad is None for p in model.parameters())
    assert probe.batch == 32 and 0 < probe.score_per_image < probe.train_per_image


def test_scoring_seconds_times_eval_passes_and_leaves_the_model_in_its_mode():
    data = colour(64)
    model = build("whitenet-m", (3, 32, 32), 10).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = TrainConfig(model="whitenet-m")
    preprocess = Preprocess.fit(data["train"].images, "standardize")
    start = time.perf_counter()
    per_image = rebatch.scoring_seconds(model, data["train"].images[:32], preprocess, cfg, torch.device("cpu"), None)
    assert 0 < per_image * 32 * 2 <= time.perf_counter() - start  # the fastest of two passes, per image
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_fit_batch_halves_the_batch_and_its_sgd_rate_when_the_budget_holds_too_few_steps(monkeypatch):
    data = colour(64)
    model = build("whitenet-m", (3, 32, 32), 10)
    cfg = TrainConfig(model="whitenet-m", batch_size=2000, lr=1.66, time="3m", min_steps=45, tta="multicrop")
    prep = Preprocess.fit(data["train"].images, "standardize")
    probe = rebatch.Probe(250, train_per_image=1 / 300, score_per_image=1 / 3000)  # 300 images/s trained
    monkeypatch.setattr(rebatch, "probe_speed", lambda *args: probe)
    fitted, notes, per_image = rebatch.fit_batch(cfg, model, data["train"], 5000, 0, prep, 10, torch.device("cpu"),
                                                 None, time.perf_counter(), keep_tta=True)
    note = notes[-1]
    # 180 s less (2 × 5,000 + 6 × 5,000) / 3,000 of scoring, 1.5 and 5.4 ≈ 159.8 s: ~47,900 images, 24 steps of
    # 2,000, 48 of 1,000
    assert (fitted.batch_size, fitted.lr, fitted.muon_lr) == (1000, pytest.approx(0.83), cfg.muon_lr)
    assert per_image == 1 / 3000  # the scoring speed measured, for the budget's first plan
    assert note.startswith("time budget 3m: batches of 1000 instead of 2000, SGD rate 0.83 (the ")
    assert "~24 steps of 2000 at 300 images/s measured; --min-steps 45)" in note
    slow = rebatch.Probe(250, train_per_image=1 / 100, score_per_image=1 / 1000)  # 27 steps of 500
    monkeypatch.setattr(rebatch, "probe_speed", lambda *args: slow)
    assert rebatch.fit_batch(cfg, model, data["train"], 5000, 0, prep, 10, torch.device("cpu"), None,
                             time.perf_counter(), keep_tta=True)[0].batch_size == 250
    fast = rebatch.Probe(250, train_per_image=1e-5, score_per_image=1e-6)
    monkeypatch.setattr(rebatch, "probe_speed", lambda *args: fast)
    assert rebatch.fit_batch(cfg, model, data["train"], 5000, 0, prep, 10, torch.device("cpu"), None,
                             time.perf_counter()) == (cfg, [], 1e-6)  # multicrop's extra views: 0.02 s, kept
    for unchanged in (dict(time=None), dict(min_steps=None)):  # no budget, or no minimum: nothing is timed
        other = dataclasses.replace(cfg, **unchanged)
        monkeypatch.setattr(rebatch, "probe_speed", lambda *args: pytest.fail("timed"))
        assert rebatch.fit_batch(other, model, data["train"], 5000, 0, prep, 10, torch.device("cpu"), None,
                                 time.perf_counter()) == (other, [], None)
    scoring = rebatch.Probe(250, train_per_image=1 / 300, score_per_image=1 / 1000)
    monkeypatch.setattr(rebatch, "probe_speed", lambda *args: scoring)  # multicrop's 4 more views: 20 s of 180
    fitted, notes, _ = rebatch.fit_batch(cfg, model, data["train"], 5000, 0, prep, 10, torch.device("cpu"), None,
                                         time.perf_counter())
    assert fitted.tta == "flip" and notes[0] == (
        "time budget 3m: the final scoring with flip TTA instead of multicrop (its 4 more views would take ~20 s, "
        "11% of the budget, better spent training; --tta multicrop keeps them)")
    # the budget then keeps 2 × 5,000 / 1,000 s for the epoch's and the final scoring each: ~46 steps of 1,000
    assert fitted.batch_size == 1000 and notes[1].startswith("time budget 3m: batches of 1000")
    kept = rebatch.fit_batch(cfg, model, data["train"], 5000, 0, prep, 10, torch.device("cpu"), None,
                             time.perf_counter(), keep_tta=True)[0]
    assert kept.tta == "multicrop" and kept.batch_size == 500  # 6 views: 20 s less training, 42 steps of 1,000


def test_budget_tta_drops_multicrop_for_flip_when_its_extra_views_outweigh_a_share_of_the_budget():
    # CIFAR-10's 5,000 validation images at 1 ms per view: 4 more views, 20 s, 11% of 3 minutes; 3% of 10
    assert rebatch.budget_tta("multicrop", 1e-3, 5000, 1.0, 180) == "flip"
    assert rebatch.budget_tta("multicrop", 1e-3, 5000, 1.0, 600) == "multicrop"
    assert rebatch.budget_tta("multicrop", 1e-3, 5000, 2.5, 600) == "flip"  # fp32 scoring after bf16 training
    assert rebatch.budget_tta("rotate", 1e-3, 5000, 1.0, 180) == "flip"
    for kept in ("flip", "shift", None):  # as cheap already, or views that keep images the right way round
        assert rebatch.budget_tta(kept, 1e-3, 5000, 1.0, 180) == kept


def test_the_colour_and_faces_recipes_set_min_steps_and_a_chosen_batch_size_drops_it():
    big = colour(18000)
    assert apply_recipe(TrainConfig(recipe="fast"), big).min_steps == MIN_BUDGET_STEPS
    assert apply_recipe(TrainConfig(recipe="best"), big).min_steps == MIN_BUDGET_STEPS
    mine = apply_recipe(TrainConfig(recipe="fast", batch_size=500, time="3m"), big, explicit={"batch_size", "time"})
    assert (mine.batch_size, mine.min_steps) == (500, None)
    both = apply_recipe(TrainConfig(recipe="fast", batch_size=500, min_steps=10), big,
                        explicit={"batch_size", "min_steps"})
    assert (both.batch_size, both.min_steps) == (500, 10)
    faces = Dataset("f", [str(i) for i in range(7)],
                    {"train": Split(torch.zeros(28709, 1, 48, 48, dtype=torch.uint8), torch.arange(28709) % 7)})
    assert apply_recipe(TrainConfig(recipe="fast"), faces).min_steps == MIN_BUDGET_STEPS
    with pytest.raises(ValueError, match="min_steps must be at least 1"):
        TrainConfig(min_steps=0)


def test_a_budgeted_run_takes_the_smaller_batch_says_so_and_records_it(tmp_path):
    notes = []

    class Notes(Callback):
        def on_run_begin(self, info):
            notes.extend(info.notes)

    data = colour(600)
    cfg = TrainConfig(recipe="fast", time="6s", threads=1, runs_dir=str(tmp_path), val_split=0.2,
                      min_steps=1000)  # more steps than 6 s hold at any batch: the smallest candidate
    run = train(cfg, callbacks=[Notes()], data=data, explicit={"time", "threads", "runs_dir", "val_split",
                                                                "min_steps"})
    config = json.loads((run.run_dir / "config.json").read_text())
    # 600 images: the small-data batch is 32 (8 steps of 480 training images), already the floor: nothing to halve
    assert config["batch_size"] == 32 and not any("batches of" in n for n in notes)
    data = colour(4000)  # 3,200 training images: 256 per batch (small-data), then 128, 64, 32 for the budget
    run = train(cfg, callbacks=[Notes()], data=data, explicit={"time", "threads", "runs_dir", "val_split",
                                                                "min_steps"})
    config = json.loads((run.run_dir / "config.json").read_text())
    assert config["batch_size"] == 32 and config["lr"] == pytest.approx(1.66 * 32 / 2000)
    assert any(n.startswith("time budget 6s: batches of 32 instead of 256, SGD rate 0.0266") for n in notes)
