"""whitenet (the colour recipes' network), its data-dependent first layer, the per-parameter learning-rate
scales it asks for, and the multicrop and rotate test-time augmentations."""
import pytest
import torch
from torch import nn

from cnnlab.models import build, count_macs, init_from_data
from cnnlab.models.whitenet import BIAS_LR_SCALE, PatchWhitening, ShiftBatchNorm
from cnnlab.runs.evaluate import tta_logits, tta_views
from cnnlab.training.config import TrainConfig
from cnnlab.training.optim import build_optimizer, build_scheduler


def test_whitening_layer_decorrelates_patches():
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(200, 3, 12, 12, generator=gen)
    x = base + 0.8 * base.roll(1, dims=1) + 0.5 * base.roll(1, dims=3)  # correlated channels and neighbours
    layer = PatchWhitening(3)
    assert not layer.weight.requires_grad and layer.bias.requires_grad
    layer.init_from_data(x)
    with torch.no_grad():
        out = nn.functional.conv2d(x, layer.weight)  # without the bias
    half = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12).double()  # the 12 eigen-directions (the rest: negatives)
    cov = half.T @ half / len(half)
    assert torch.allclose(cov, torch.diag(torch.diagonal(cov)), atol=0.05)  # decorrelated
    assert ((torch.diagonal(cov) > 0.5) & (torch.diagonal(cov) < 1.01)).all()  # unit variance, up to the ε
    assert torch.equal(layer.weight[12:], -layer.weight[:12])


def test_whitenet_shapes_params_and_data_init():
    model = build("whitenet-s", (3, 32, 32), 10)
    assert model(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    assert round(count_macs(model, (3, 32, 32)) / 1e6) == 33
    assert round(count_macs(build("whitenet", (3, 32, 32), 10), (3, 32, 32)) / 1e6) == 118
    norms = [m for m in model.modules() if isinstance(m, ShiftBatchNorm)]
    assert norms and all(not m.weight.requires_grad and m.bias.lr_scale == BIAS_LR_SCALE for m in norms)
    before = model[0].weight.clone()
    assert init_from_data(model, torch.randn(50, 3, 32, 32))
    assert not torch.equal(before, model[0].weight)
    assert not init_from_data(build("cnn", (3, 32, 32), 10), torch.randn(5, 3, 32, 32))  # nothing to initialise
    gray = build("whitenet-m", (1, 20, 20), 3)  # any channel count, down to 16 px
    assert gray(torch.randn(2, 1, 20, 20)).shape == (2, 3)


def test_whitenet_refuses_images_too_small():
    import pytest

    with pytest.raises(ValueError, match="at least 16×16"):
        build("whitenet", (3, 12, 12), 10)


def test_lr_scale_makes_groups_and_one_cycle_keeps_their_ratio():
    model = build("whitenet-s", (3, 32, 32), 10)
    cfg = TrainConfig(optimizer="sgd", lr=0.4, weight_decay=1e-3, epochs=2, schedule="onecycle")
    opt = build_optimizer(cfg, model)
    scaled = [g for g in opt.param_groups if g["lr"] != 0.4]
    assert len(opt.param_groups) == 2 and len(scaled) == 1
    assert scaled[0]["lr"] == 0.4 * BIAS_LR_SCALE and scaled[0]["weight_decay"] == 1e-3 / BIAS_LR_SCALE
    assert all(getattr(p, "lr_scale", 1.0) == BIAS_LR_SCALE for p in scaled[0]["params"])
    assert opt.param_groups[-1]["lr"] == 0.4  # the plain rate last: what the history reports
    sched = build_scheduler(cfg, opt, steps_per_epoch=10)
    for _ in range(7):
        opt.step()
        sched.step()
        plain, fast = (g["lr"] for g in sorted(opt.param_groups, key=lambda g: g["lr"]))
        assert abs(fast / plain - BIAS_LR_SCALE) < 1e-6
    assert len(build_optimizer(cfg, build("cnn", (1, 28, 28), 10)).param_groups) == 1  # no scales: one group


def test_multicrop_tta_views_and_weights():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).reshape(2, 3, 5, 5)
    views, weights = tta_views(x, "multicrop")
    assert len(views) == 6 and abs(sum(weights) - 1) < 1e-9
    assert torch.equal(views[1], x.flip(3))
    assert torch.equal(views[2][..., 1:, 1:], x[..., :-1, :-1])  # moved down-right by one pixel
    assert torch.equal(views[4][..., :-1, :-1], x[..., 1:, 1:])  # moved up-left
    model = nn.Sequential(nn.Flatten(), nn.Linear(75, 4)).eval()
    expected = sum(w * model(v) for v, w in zip(views, weights))
    assert torch.allclose(tta_logits(model, x, "multicrop"), expected, atol=1e-5)
    assert torch.allclose(tta_logits(model, x, "multicrop", stacked=True), expected, atol=1e-5)
    assert torch.allclose(tta_logits(model, x, "flip"), (model(x) + model(x.flip(3))) / 2, atol=1e-5)
    tokens = torch.zeros(2, 7, dtype=torch.long)
    assert tta_views(tokens, "multicrop")[0] == [tokens]  # not images: the input alone


def test_rotate_tta_turns_the_image_and_its_mirror_both_ways():
    from cnnlab.runs.evaluate import TTA_DEGREES, rotated

    x = torch.zeros(1, 1, 21, 21)
    x[0, 0, 10, 10:] = 1.0  # a bar from the centre to the right edge
    views, weights = tta_views(x, "rotate")
    assert len(views) == 6 and weights == [1 / 6] * 6
    assert torch.equal(views[0], x) and torch.equal(views[1], x.flip(3))
    assert torch.equal(views[3], views[2].flip(3)) and torch.equal(views[5], views[4].flip(3))
    up, down = views[2], views[4]  # counter-clockwise (y down): the bar's far end rises; clockwise: it sinks
    rows = torch.arange(21, dtype=torch.float32)
    end_row = lambda v: (v[0, 0, :, 19] * rows).sum() / v[0, 0, :, 19].sum()  # noqa: E731
    expected = 9 * torch.tan(torch.deg2rad(torch.tensor(TTA_DEGREES)))  # 9 px from the centre to column 19
    assert abs(10 - end_row(up) - expected) < 0.3 and abs(end_row(down) - 10 - expected) < 0.3
    flat = torch.full((2, 3, 9, 9), 0.3)
    assert all(torch.allclose(v, flat) for v in rotated(flat))  # corners take the edge pixels: no dark wedges
    assert rotated(x.contiguous(memory_format=torch.channels_last))[0].is_contiguous(memory_format=torch.channels_last)
    assert [v.device.type for v in rotated(x.to("meta"))] == ["meta"] * 2  # the grids follow the batch's device
    model = nn.Sequential(nn.Flatten(), nn.Linear(441, 4)).eval()
    expected_logits = sum(model(v) for v in views) / 6
    assert torch.allclose(tta_logits(model, x, "rotate"), expected_logits, atol=1e-5)
    assert torch.allclose(tta_logits(model, x, "rotate", stacked=True), expected_logits, atol=1e-5)


def test_the_figures_with_and_without_tta_come_from_the_tta_passes_alone():
    from cnnlab.data.preprocess import Preprocess
    from cnnlab.runs.evaluate import predict_logits, predict_logits_and_plain

    calls = []

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))

        def forward(self, x):
            calls.append(len(x))
            return self.body(x)

    torch.manual_seed(0)
    model, images, cpu = Counting(), torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8), torch.device("cpu")
    for tta, passes in (("flip", 2), ("shift", 5), ("multicrop", 6), ("rotate", 6), (None, 1)):
        calls.clear()
        with_tta, plain = predict_logits_and_plain(model, images, Preprocess("none"), cpu, batch_size=4, tta=tta)
        assert calls == [4] * passes + [4] * passes + [2] * passes  # 3 batches, the TTA's views and no extra pass
        assert torch.equal(with_tta, predict_logits(model, images, Preprocess("none"), cpu, batch_size=4, tta=tta))
        assert torch.equal(plain, predict_logits(model, images, Preprocess("none"), cpu, batch_size=4))
    assert [t.shape for t in predict_logits_and_plain(model, images[:0], Preprocess("none"), cpu)] == [(0, 0)] * 2


def test_every_tta_has_a_cost_and_epochs_score_multicrop_and_rotate_with_flip():
    from cnnlab.training.costs import TTA_PASSES
    from cnnlab.training.config import TTAS, epoch_tta

    assert set(TTAS) | {None} == set(TTA_PASSES)
    assert epoch_tta("multicrop") == "flip" and epoch_tta("shift") == "shift" and epoch_tta(None) is None
    assert epoch_tta("rotate") == "flip"


def test_the_faces_recipes_train_whitenet_with_muon_in_batches_of_1000():
    from cnnlab.data import Dataset, Split
    from cnnlab.training.recipes import apply_recipe

    faces = Dataset("f", [str(i) for i in range(7)],
                    {"train": Split(torch.zeros(28709, 1, 48, 48, dtype=torch.uint8), torch.arange(28709) % 7)})
    best = apply_recipe(TrainConfig(recipe="best"), faces)
    assert (best.model, best.epochs, best.optimizer, best.batch_size, best.micro_batch, best.lr, best.muon_lr) == (
        "whitenet", 26, "muon", 1000, 500, 0.83, 0.24)
    assert (best.augment, best.tta, best.schedule, best.label_smoothing, best.monitor, best.progressive_resize) == (
        "fer", "rotate", "linear", 0.2, "val_loss", 0.67)
    model = build(best.model, (1, 48, 48), 7)
    assert model(torch.zeros(2, 1, 48, 48)).shape == (2, 7)
    fast = apply_recipe(TrainConfig(recipe="fast"), faces)
    assert (fast.model, fast.epochs, fast.optimizer, fast.batch_size, fast.tta) == ("whitenet-m", 7, "muon", 1000,
                                                                                    "flip")


def test_colour_recipes_take_whitenet_and_smaller_batches_on_small_data():
    from cnnlab.data import Dataset, Split
    from cnnlab.training.recipes import apply_recipe, small_data_batch

    def colour(n):
        images = torch.zeros(n, 3, 32, 32, dtype=torch.uint8)
        return Dataset("c", [str(i) for i in range(10)], {"train": Split(images, torch.arange(n) % 10)})

    big = apply_recipe(TrainConfig(recipe="fast"), colour(18000))  # 16,200 after the validation split
    assert (big.model, big.batch_size, big.lr, big.tta, big.optimizer) == ("whitenet-m", 2000, 1.66, "multicrop",
                                                                          "muon")
    best = apply_recipe(TrainConfig(recipe="best"), colour(18000))
    assert (best.model, best.batch_size) == ("whitenet", 2000)
    small = apply_recipe(TrainConfig(recipe="fast"), colour(2000))
    assert (small.batch_size, small.lr) == (128, 1.66 * 128 / 2000)  # 2000 / 8 = 250 → 128: ≥ 8 steps
    assert small.muon_lr == 0.24  # Muon's step is in units of the filters' norm: not scaled with the batch
    assert small_data_batch({"batch_size": 1024, "lr": 1.0}, 100)["batch_size"] == 32  # never below 32
    assert small_data_batch({"batch_size": 1024, "lr": 1.0}, 8192) == {}
    chosen = apply_recipe(TrainConfig(recipe="fast", batch_size=64), colour(2000), explicit={"batch_size"})
    assert chosen.batch_size == 64
    # the images the run trains on, not the split as stored: less the validation split it carves, at most --limit
    carved = apply_recipe(TrainConfig(recipe="fast"), colour(16500))  # 10% held out: 14,850 < 8 × 2,000
    assert (carved.batch_size, carved.lr) == (1024, 1.66 * 1024 / 2000)
    assert apply_recipe(TrainConfig(recipe="fast", val_split=0.0), colour(16500),
                        explicit={"val_split"}).batch_size == 2000
    limited = apply_recipe(TrainConfig(recipe="fast", limit=2000), colour(16500), explicit={"limit"})
    assert limited.batch_size == 128


def test_evaluation_takes_small_batches_on_a_cpu_and_large_ones_on_a_gpu():
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.device import eval_batch

    assert eval_batch(None, torch.device("cpu")) == 64 and eval_batch(None, torch.device("cuda")) == 1024
    assert eval_batch(512, torch.device("cpu")) == 512  # --eval-batch-size wins
    assert TrainConfig().eval_batch_size is None
    with pytest.raises(ValueError, match="eval_batch_size must be at least 1"):
        TrainConfig(eval_batch_size=0)
