import dataclasses
import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from cnnlab.training.augment import PRESETS, AugmentConfig, Augmenter, affine_matrices, parse_augment, warp
from cnnlab.training.augment.geometry import sampling_grid
from cnnlab.runs.checkpoint import load_checkpoint
from cnnlab.training.config import TrainConfig
from cnnlab.models import build
from cnnlab.training.optim import build_loss
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.callbacks import Callback
from cnnlab.training.loop import fit
from cnnlab.training.pipeline import seed_everything, train


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def theta(n=1, h=8, w=8, angle=0.0, shear=0.0, zoom_x=1.0, zoom_y=1.0, shift_x=0.0, shift_y=0.0,
          flip_x=False, flip_y=False):
    """Matrices with the same exact parameters for n images."""
    f = lambda v: torch.full((n,), float(v), dtype=torch.float64)  # noqa: E731
    b = lambda v: torch.full((n,), bool(v))  # noqa: E731
    return affine_matrices(f(math.radians(angle)), f(math.radians(shear)), f(zoom_x), f(zoom_y), f(shift_x),
                           f(shift_y), b(flip_x), b(flip_y), h, w)


@pytest.fixture
def image():
    """An asymmetric batch (2, 3, 8, 8) of values in [0.1, 1] (no exact zeros, no symmetry)."""
    return 0.1 + 0.9 * torch.rand(2, 3, 8, 8, generator=gen(7))


# ── the spec ─────────────────────────────────────────────────────────────────────────────────────────────
def test_parse_names_presets_and_aliases():
    cfg = parse_augment("rotation=20, shift=0.2, flip=vh, zoom_range=0.1, fill-mode=WRAP, cval=0.5, crop=4")
    assert (cfg.rotation, cfg.width_shift, cfg.height_shift, cfg.zoom) == (20, 0.2, 0.2, 0.1)
    assert (cfg.flip, cfg.fill, cfg.cval, cfg.crop) == ("hv", "wrap", 0.5, 4)
    fer = parse_augment("fer")
    assert (fer.rotation, fer.width_shift, fer.height_shift, fer.zoom, fer.flip) == (10, 0.1, 0.1, 0.1, "h")
    assert "h" not in parse_augment("light").flip and "v" not in parse_augment("light").flip  # never flip digits
    assert parse_augment("none") == AugmentConfig() and not AugmentConfig().active
    # a preset sets everything; items after it override
    assert parse_augment("rotation=30,fer,erasing=0.5") == dataclasses.replace(fer, erasing=0.5)
    assert parse_augment("width_shift=0.1,height_shift=3").height_shift == 3.0  # ≥ 1: pixels, as in Keras


@pytest.mark.parametrize("spec, match", [
    ("rotation=20,sheer=5", r"augment item 'sheer=5': unknown option 'sheer'"),
    ("rotation=-5", r"'rotation=-5': expected a value in \[0, 180\]"),
    ("zoom=1", r"'zoom=1': expected a value in \[0, 1\)"),
    ("shift=abc", r"'shift=abc': expected a number"),
    ("flip=d", r"'flip=d': expected h, v, hv or alt"),
    ("fill=mirror", r"'fill=mirror': expected one of constant, nearest, reflect, wrap"),
    ("crop=2.5", r"'crop=2.5': expected a whole number of pixels"),
    ("mixup=nan", r"'mixup=nan': expected a value at least 0"),
    ("heavy", r"'heavy': not a preset \(none, light, fer\)"),
    ("featurewise_center=1", r"use --normalize featurewise"),
    ("  ", r"empty augment spec"),
])
def test_bad_specs_name_the_offending_item(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_augment(spec)


def test_train_config_validates_and_saves_the_spec():
    with pytest.raises(ValueError, match="augment item 'rotate=10'"):
        TrainConfig(augment="rotate=10")
    cfg = TrainConfig(augment="fer")
    assert json.loads(json.dumps(cfg.to_dict()))["augment"] == "fer"


configs = st.builds(
    AugmentConfig, rotation=st.floats(0, 180), width_shift=st.floats(0, 50), height_shift=st.floats(0, 50),
    zoom=st.floats(0, 0.99), shear=st.floats(0, 89), crop=st.integers(0, 8), flip=st.sampled_from(["", "h", "v", "hv"]),
    fill=st.sampled_from(["constant", "nearest", "reflect", "wrap"]), cval=st.floats(0, 1),
    brightness=st.floats(0, 1), erasing=st.floats(0, 1), mixup=st.floats(0, 10), cutmix=st.floats(0, 10))


@settings(max_examples=200, deadline=None)
@given(configs)
def test_to_spec_round_trips(cfg):
    assert parse_augment(cfg.to_spec()) == cfg


def test_presets_round_trip():
    for name in PRESETS:
        assert parse_augment(parse_augment(name).to_spec()) == parse_augment(name)


# ── each option does what it says ────────────────────────────────────────────────────────────────────────
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**31))
def test_sampling_grid_is_affine_grid(n, height, width, seed):
    theta = torch.randn(n, 2, 3, generator=gen(seed))
    torch.testing.assert_close(sampling_grid(theta, height, width),
                               F.affine_grid(theta, [n, 1, height, width], align_corners=False))


def test_identity_matrix_leaves_images_alone(image):
    for fill in ("constant", "nearest", "reflect", "wrap"):
        torch.testing.assert_close(warp(image, theta(2), fill), image)


def test_horizontal_flip_is_torch_flip_per_sample(image):
    batch = image.repeat(16, 1, 1, 1)  # 32 images: both outcomes occur
    out = Augmenter("flip=h", gen())(batch)
    flipped = (out == batch.flip(-1)).flatten(1).all(1)
    kept = (out == batch).flatten(1).all(1)
    assert (flipped ^ kept).all() and 4 < flipped.sum() < 28
    # folded into the affine matrix (when there is a warp anyway) it is the same, up to rounding
    torch.testing.assert_close(warp(image, theta(2, flip_x=True)), image.flip(-1))
    torch.testing.assert_close(warp(image, theta(2, flip_y=True)), image.flip(-2))


def test_alternating_flip_turns_each_image_every_other_epoch(image):
    assert parse_augment("flip=alt,crop=2").flip == "alt" == parse_augment("flip=Alternating").flip
    assert parse_augment("flip=alt").to_spec() == "flip=alt"
    batch, index = image.repeat(64, 1, 1, 1), torch.randperm(1000, generator=gen(3))[:128]
    for spec in ("flip=alt", "flip=alt,crop=1"):  # flips alone, and folded into the warp's matrices
        aug, seen = Augmenter(spec, gen()), []
        for epoch in (1, 2, 3, 4):
            out = aug(batch, index, epoch)
            if spec == "flip=alt":
                kept, flipped = ((out == ref).flatten(1).all(1) for ref in (batch, batch.flip(-1)))
                assert (kept ^ flipped).all()
            seen.append(aug.draw(128, 8, 8, index, epoch))
        flips = [p.flip_x if p.flip_x is not None else p.theta[:, 0, 0] < 0 for p in seen]
        assert 40 < flips[0].sum() < 88  # about half of the images start flipped
        assert (flips[0] ^ flips[1]).all() and (flips[0] == flips[2]).all() and (flips[1] == flips[3]).all()
    # an image's flips follow its index, not its place in the batch (shuffled batches of other epochs)
    aug, order = Augmenter("flip=alt", gen()), torch.randperm(128, generator=gen(4))
    assert (aug.draw(128, 8, 8, index[order], 1).flip_x == aug.draw(128, 8, 8, index, 1).flip_x[order]).all()
    halves = aug.draw(4096, 8, 8, torch.arange(4096), 1).flip_x.reshape(8, -1).float().mean(1)
    assert ((halves - 0.5).abs() < 0.05).all()  # balanced along the split (class-ordered folders)
    without = Augmenter("flip=alt", gen()).draw(256, 8, 8).flip_x  # no indices (e.g. a preview): coins
    assert 80 < without.sum() < 176
    with pytest.raises(ValueError, match="expected 128 image indices, got 3"):
        aug.draw(128, 8, 8, index[:3], 1)


def test_shift_by_whole_pixels_with_nearest_fill(image):
    out = warp(image, theta(2, shift_x=3, shift_y=-2), "nearest")  # content 3 right, 2 up
    rows = (torch.arange(8) + 2).clamp(0, 7)  # out[i, j] = x[i + 2, j − 3], edges repeated
    cols = (torch.arange(8) - 3).clamp(0, 7)
    torch.testing.assert_close(out, image[:, :, rows][:, :, :, cols])


def test_wrap_fill_wraps_around(image):
    out = warp(image, theta(2, shift_x=3, shift_y=-2), "wrap")
    torch.testing.assert_close(out, image.roll((3, -2), (-1, -2)))
    half = warp(image, theta(2, shift_x=0.5), "wrap")  # blends across the seam: column 0 mixes 7 and 0
    torch.testing.assert_close(half[..., 0], (image[..., 7] + image[..., 0]) / 2)


def test_reflect_fill_mirrors_about_the_edge(image):
    out = warp(image, theta(2, shift_x=2), "reflect")  # cba|abcd: column −1 is column 0, −2 is column 1
    torch.testing.assert_close(out, image[..., [1, 0, 0, 1, 2, 3, 4, 5]])


def test_constant_fill_uses_cval(image):
    out = warp(image, theta(2, shift_x=3), "constant", cval=0.25)
    assert (out[..., :3] - 0.25).abs().max() < 1e-6
    torch.testing.assert_close(out[..., 3:], image[..., :5])
    aug = Augmenter("shift=0.4,fill=constant", gen())
    moved = aug(torch.ones(64, 1, 10, 10))
    assert (moved < 1 - 1e-6).flatten(1).any(1).float().mean() > 0.9  # zeros came in from outside


def test_rotation_180_is_both_flips_and_90_is_rot90(image):
    torch.testing.assert_close(warp(image, theta(2, angle=180)), image.flip(-1, -2))
    torch.testing.assert_close(warp(image, theta(2, angle=90)), torch.rot90(image, 1, (-2, -1)))  # counter-clockwise


def test_shear_and_zoom_about_the_centre():
    ramp = torch.arange(9.0).expand(1, 1, 9, 9)  # value = column; bilinear reads a ramp exactly
    zoomed = warp(ramp, theta(1, 9, 9, zoom_x=0.5))  # Keras: zoom < 1 magnifies
    torch.testing.assert_close(zoomed[0, 0, 0], 4 + (torch.arange(9.0) - 4) / 2)
    x = torch.rand(1, 1, 9, 9, generator=gen(1))
    sheared = warp(x, theta(1, 9, 9, shear=45), "constant")  # row i moves right by i − 4 pixels
    for i in range(9):
        for j in range(9):
            src = j - (i - 4)
            assert sheared[0, 0, i, j].item() == pytest.approx(x[0, 0, i, src].item() if 0 <= src < 9 else 0,
                                                                abs=1e-5)


def test_drawn_parameters_stay_in_range():
    aug = Augmenter("width_shift=0.25,height_shift=3,crop=2", gen())
    t = aug.draw(2000, 20, 40).theta
    shift_x, shift_y = -t[:, 0, 2] * 20, -t[:, 1, 2] * 10  # normalised → pixels (W/2, H/2)
    assert shift_x.abs().max() <= 12 + 1e-4 and shift_x.abs().max() > 11  # 0.25 × 40 + crop 2
    assert shift_y.abs().max() <= 5 + 1e-4 and shift_y.abs().max() > 4.5  # 3 pixels + crop 2
    crop_only = Augmenter("crop=2", gen()).draw(500, 20, 40).theta
    pixels = -crop_only[:, 0, 2] * 20
    torch.testing.assert_close(pixels, pixels.round())  # pad-and-crop: whole pixels
    assert set(pixels.round().int().tolist()) == {-2, -1, 0, 1, 2}


def test_brightness_scales_each_image(image):
    aug = Augmenter("brightness=0.5", gen())
    params = aug.draw(2, 8, 8)
    assert ((params.brightness >= 0.5) & (params.brightness <= 1.5)).all()
    out = aug.apply(image, params)
    torch.testing.assert_close(out, (image * params.brightness[:, None, None, None]).clamp(0, 1))


def test_erasing_sets_one_rectangle_to_cval(image):
    batch = image.repeat(50, 1, 1, 1)
    aug = Augmenter("erasing=1,cval=0", gen())
    params = aug.draw(100, 8, 8)
    out = aug.apply(batch, params)
    for k, (top, left, h, w) in enumerate(params.erase.tolist()):
        assert h >= 1 and w >= 1 and top + h <= 8 and left + w <= 8
        inside = torch.zeros(8, 8, dtype=torch.bool)
        inside[top:top + h, left:left + w] = True
        assert (out[k][:, inside] == 0).all() and (out[k][:, ~inside] == batch[k][:, ~inside]).all()
    half = Augmenter("erasing=0.5", gen()).draw(1000, 8, 8).erase
    assert 0.4 < (half[:, 2] > 0).float().mean() < 0.6


def test_each_sample_gets_its_own_parameters():
    out = Augmenter("rotation=30,shift=0.1,zoom=0.2", gen())(torch.rand(1, 1, 16, 16).repeat(8, 1, 1, 1))
    assert len({tuple(o.flatten().tolist()) for o in out}) == 8


# ── mixing ───────────────────────────────────────────────────────────────────────────────────────────────
def test_mixup_targets_sum_to_one_and_match_lambda():
    x, y = torch.rand(32, 1, 6, 6, generator=gen(2)), torch.arange(32)  # every image its own class
    mixed, targets = Augmenter("mixup=0.4", gen()).mix(x, y, 32)
    torch.testing.assert_close(targets.sum(1), torch.ones(32))
    for i in range(32):
        lam = targets[i, i].item()
        others = [j for j in range(32) if j != i and targets[i, j] > 0]
        partner = others[0] if others else i
        torch.testing.assert_close(mixed[i], lam * x[i] + (1 - lam) * x[partner])


def test_cutmix_pastes_a_box_whose_area_matches_lambda():
    x, y = torch.rand(32, 1, 10, 10, generator=gen(3)), torch.arange(32)
    mixed, targets = Augmenter("cutmix=1", gen()).mix(x, y, 32)
    torch.testing.assert_close(targets.sum(1), torch.ones(32))
    for i in range(32):
        pasted = (mixed[i] != x[i]).float().mean().item()  # fraction of pixels from the partner
        if targets[i, i] < 1:
            assert pasted == pytest.approx(1 - targets[i, i].item(), abs=1e-6)


def test_mixup_and_cutmix_together_and_one_hot_when_off():
    x, y = torch.rand(64, 1, 8, 8), torch.randint(0, 5, (64,))
    _, targets = Augmenter("mixup=0.2,cutmix=1", gen()).mix(x, y, 5)
    torch.testing.assert_close(targets.sum(1), torch.ones(64))
    same, one_hot = Augmenter("rotation=5", gen()).mix(x, y, 5)
    assert same is x and torch.equal(one_hot, F.one_hot(y, 5).float())


def test_beta_draws_have_the_beta_mean_and_variance():
    aug = Augmenter("mixup=0.4", gen())
    lam = aug._beta(0.4, 40000)
    assert ((lam >= 0) & (lam <= 1)).all()
    assert lam.mean().item() == pytest.approx(0.5, abs=0.01)
    assert lam.var().item() == pytest.approx(1 / (4 * (2 * 0.4 + 1)), abs=0.005)


def test_soft_targets_give_the_same_loss_as_labels():
    logits, y = torch.randn(16, 4, generator=gen(4)), torch.randint(0, 4, (16,), generator=gen(5))
    soft = F.one_hot(y, 4).float()
    weights = torch.tensor([0.5, 1.0, 2.0, 1.5])
    for kind, w, smoothing in [("cross_entropy", None, 0.0), ("cross_entropy", weights, 0.0),
                               ("cross_entropy", None, 0.1), ("bce", weights, 0.0), ("mse", None, 0.0)]:
        loss = build_loss(kind, 4, w, smoothing)
        torch.testing.assert_close(loss(logits, soft), loss(logits, y))


def test_preprocess_normalize_is_the_same_path():
    images = torch.randint(0, 256, (8, 1, 5, 5), dtype=torch.uint8)
    for mode in ("none", "standardize", "featurewise"):
        pre = Preprocess.fit(images, mode)
        torch.testing.assert_close(pre.normalize(images.float() / 255), pre(images))


# ── seeds and devices ────────────────────────────────────────────────────────────────────────────────────
FULL = "rotation=20,shift=0.1,zoom=0.1,shear=5,flip=hv,brightness=0.2,erasing=0.5,mixup=0.3,cutmix=1"


def test_same_seed_same_batch_other_seed_other_batch():
    x, y = torch.rand(16, 3, 12, 12, generator=gen(9)), torch.randint(0, 3, (16,), generator=gen(9))
    runs = []
    for seed in (5, 5, 6):
        aug = Augmenter(FULL, gen(seed))
        runs.append(aug.mix(aug(x), y, 3))
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    assert not torch.equal(runs[0][0], runs[2][0])


def test_parameters_are_drawn_on_the_cpu_whatever_the_device(monkeypatch):
    """The 'meta' device stands in for a GPU: same draws, same generator state afterwards."""
    drawn = []
    original = Augmenter.apply
    monkeypatch.setattr(Augmenter, "apply", lambda self, x, p, size=None: drawn.append(p) or original(self, x, p, size))
    states = []
    for device in ("cpu", "meta"):
        aug = Augmenter(FULL, gen(11))
        x = torch.rand(8, 1, 10, 10).to(device)
        out, targets = aug.mix(aug(x), torch.zeros(8, dtype=torch.long, device=device), 4)
        assert out.device.type == device and targets.shape == (8, 4)
        states.append(aug.generator.get_state())
    cpu, meta = drawn
    assert torch.equal(states[0], states[1])
    for f in dataclasses.fields(cpu):
        a, b = getattr(cpu, f.name), getattr(meta, f.name)
        assert (a is None and b is None) or (a.device.type == "cpu" and torch.equal(a, b))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cpu_and_cuda_give_the_same_images():
    x = torch.rand(16, 3, 12, 12, generator=gen(9))
    cpu, cuda = Augmenter(FULL, gen(5)), Augmenter(FULL, gen(5))
    torch.testing.assert_close(cpu(x), cuda(x.cuda()).cpu(), atol=1e-5, rtol=0)


def test_generator_must_live_on_the_cpu():
    with pytest.raises(ValueError, match="CPU torch.Generator"):
        Augmenter("rotation=5", SimpleNamespace(device=torch.device("cuda")))


# ── training with augmentation ───────────────────────────────────────────────────────────────────────────
def fit_digits(mini, augment, epochs=1, n=256, val=None, run_dir=None, callbacks=None, resume=None):
    """fit() on n mnist-mini digits (no run directory unless given)."""
    cfg = TrainConfig(augment=augment, epochs=epochs, batch_size=64, model="mnist-2conv", precision="fp32",
                      lr=2e-3, schedule="constant")
    split = mini["train"].subset(torch.arange(n))
    seed_everything(cfg.seed)
    model = build(cfg.model, mini.input_shape, len(mini.classes))
    return fit(model, split, val, cfg, Preprocess.fit(split.images, cfg.normalize), mini.classes, run_dir=run_dir,
               callbacks=callbacks, resume=resume)


def test_training_with_augmentation_is_seeded(mini):
    a, b = fit_digits(mini, "fer,erasing=0.5,mixup=0.2"), fit_digits(mini, "fer,erasing=0.5,mixup=0.2")
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]
    assert a.history[0]["train_loss"] != fit_digits(mini, None).history[0]["train_loss"]  # the batches changed


def test_resume_with_augmentation_continues_exactly(mini, tmp_path):
    spec = "rotation=10,shift=0.1,cutmix=1"
    straight = fit_digits(mini, spec, epochs=2)

    class InterruptAfterFirstEpoch(Callback):
        def on_epoch_end(self, state, metrics):
            if state.epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_digits(mini, spec, epochs=2, run_dir=tmp_path, callbacks=[InterruptAfterFirstEpoch()])
    state = load_checkpoint(tmp_path / "last.pt")
    assert "augment" in state["rng"]
    resumed = fit_digits(mini, spec, epochs=2, resume=state)
    assert resumed.history[1]["train_loss"] == pytest.approx(straight.history[1]["train_loss"], rel=1e-6)


def test_mixup_and_cutmix_training_learns(mini):
    result = fit_digits(mini, "light,mixup=0.2,cutmix=1", epochs=2, n=640, val=mini["test"].subset(torch.arange(500)))
    assert all(math.isfinite(r["train_loss"]) and 0 <= r["train_acc"] <= 1 for r in result.history)
    assert result.history[-1]["val_acc"] > 0.4  # chance is 0.1


def test_a_short_augmented_run_writes_its_spec(tmp_path):
    result = train(TrainConfig(data="mnist-mini", limit=600, epochs=1, augment="rotation=10,shift=0.1",
                               model="mnist-2conv", runs_dir=str(tmp_path)))
    assert json.loads((result.run_dir / "config.json").read_text())["augment"] == "rotation=10,shift=0.1"
    assert result.reports["test"].accuracy > 0.1
