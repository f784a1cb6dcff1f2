"""Inside a model: feature maps, kernels and Grad-CAM found with hooks, checked against direct computation;
and the explain, top-losses and show-batch commands on tiny trained runs."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from cnnlab.cli import main
from cnnlab.training.config import TrainConfig
from cnnlab.data import DataError
from cnnlab.explain.inside import class_index_of, explain, feature_maps, first_layer_kernels, grad_cam, top_losses
from cnnlab.models import build
from cnnlab.runs.rundir import load_run
from cnnlab.explain.samples import read_input, sample_batch
from cnnlab.training.pipeline import train

from conftest import write_pixel_csv


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """mnist-2conv trained one epoch on 400 mnist-mini digits."""
    cfg = TrainConfig(data="mnist-mini", model="mnist-2conv", limit=400, epochs=1, batch_size=64,
                      runs_dir=str(tmp_path_factory.mktemp("runs")))
    return train(cfg).run_dir


@pytest.fixture(scope="module")
def face_run(tmp_path_factory):
    """cnnlab's default cnn (batch norm, in-place ReLU) on 70 random 48×48 'faces' in a FER-style CSV."""
    tmp = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    csv = write_pixel_csv(tmp / "faces.csv", rng.integers(0, 256, (70, 48, 48), dtype=np.uint8), np.arange(70) % 7)
    cfg = TrainConfig(data=str(csv), model="cnn", epochs=1, batch_size=32, runs_dir=str(tmp / "runs"))
    return train(cfg).run_dir, csv


class Block(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv, self.bn, self.act = nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Nested(nn.Module):
    """Nested blocks, an in-place ReLU, and a last convolution activated functionally (no module to hook)."""

    def __init__(self):
        super().__init__()
        self.stem = Block(1, 4)
        self.body = nn.Sequential(Block(4, 6), nn.MaxPool2d(2))
        self.last = nn.Conv2d(6, 5, 3)
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        return self.head(F.relu(self.last(self.body(self.stem(x)))).mean((2, 3)))


def reference_cam(features, head, x, index):
    """Grad-CAM written out directly: activations A = features(x), weights = mean gradient per map."""
    a = features(x)
    a.retain_grad()
    head(a)[0, index].backward()
    cam = F.relu((a.grad[0].mean((1, 2))[:, None, None] * a[0]).sum(0)).detach()
    cam = cam / cam.max() if cam.max() > 0 else cam
    return F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0].numpy()


def test_feature_maps_and_kernels_of_a_nested_model_match_direct_computation():
    torch.manual_seed(0)
    model = Nested().eval()
    for m in model.modules():  # non-trivial batch-norm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2)
    x = torch.randn(1, 1, 12, 12)
    maps = feature_maps(model, x)
    assert [m.layer for m in maps] == ["stem.conv", "body.0.conv", "last"]
    assert maps[0].label == "Conv2d 1→4 3×3 → BatchNorm2d → ReLU" and "no activation" in maps[2].label
    with torch.no_grad():
        stem = model.stem(x)
        np.testing.assert_allclose(maps[0].maps, stem[0].numpy(), atol=1e-6)  # after the in-place ReLU
        np.testing.assert_allclose(maps[1].maps, model.body[0](stem)[0].numpy(), atol=1e-6)
        np.testing.assert_allclose(maps[2].maps, model.last(model.body(stem))[0].numpy(), atol=1e-6)
    np.testing.assert_array_equal(first_layer_kernels(model), model.stem.conv.weight.detach().numpy())
    cam = grad_cam(model, x, 2)
    assert not any(p.grad is not None for p in model.parameters())  # no gradients left on the weights
    ref = reference_cam(lambda v: model.last(model.body(model.stem(v))),
                        lambda a: model.head(F.relu(a).mean((2, 3))), x, 2)
    np.testing.assert_allclose(cam.heatmap, ref, atol=1e-5)
    assert cam.layer == "last" and cam.coarse.shape == (4, 4)
    model.train()
    feature_maps(model, x), grad_cam(model, x)
    assert model.training  # put back in the mode it was in


@pytest.mark.parametrize("name, shape", [("mnist-2conv", (1, 28, 28)), ("cnn", (1, 48, 48)), ("cnn", (3, 32, 32))])
def test_grad_cam_on_sequential_models_matches_direct_computation(name, shape):
    torch.manual_seed(1)
    model = build(name, shape, 7).eval()
    x = torch.randn(1, *shape)
    # the last convolution's activated output is read after its ReLU: split the Sequential there
    relus = [i for i, m in enumerate(model) if isinstance(m, nn.ReLU) and isinstance(model[i - 1 - (
        isinstance(model[i - 1], nn.BatchNorm2d))], nn.Conv2d)]
    cut = relus[-1] + 1
    for index in (0, 3):
        cam = grad_cam(model, x, index)
        assert cam.heatmap.shape == shape[1:] and 0 <= cam.heatmap.min() and cam.heatmap.max() <= 1
        np.testing.assert_allclose(cam.heatmap, reference_cam(model[:cut], model[cut:], x, index), atol=1e-5)
    assert grad_cam(model, x).class_index == int(model(x).argmax())
    with pytest.raises(ValueError, match="outside"):
        grad_cam(model, x, 7)


def test_models_without_convolutions():
    model = build("dnn", (1, 28, 28), 10).eval()
    assert feature_maps(model, torch.zeros(1, 1, 28, 28)) == [] and first_layer_kernels(model) is None
    with pytest.raises(ValueError, match="convolution"):
        grad_cam(model, torch.zeros(1, 1, 28, 28))


def test_explain_a_trained_mnist_run(mnist_run, mini):
    run = load_run(mnist_run)
    item = read_input(run, index=7)
    assert item.source == "test[7]" and torch.equal(item.image, mini["test"].images[7])
    result = explain(run, item)
    assert abs(result.probabilities.sum() - 1) < 1e-5 and result.predicted == int(result.probabilities.argmax())
    assert [m.maps.shape for m in result.feature_maps] == [(32, 26, 26), (64, 11, 11)]
    assert (result.feature_maps[0].maps >= 0).all()  # read after the ReLU
    assert result.kernels.shape == (32, 1, 3, 3) and result.cam.heatmap.shape == (28, 28)
    assert result.top(3)[0] == (result.predicted, pytest.approx(result.probabilities.max()))


def test_read_input_from_files_rows_and_indices(mnist_run, mini, tmp_path):
    run = load_run(mnist_run)
    digit = mini["test"].images[3, 0].numpy()
    Image.fromarray(digit).resize((56, 56)).save(tmp_path / "digit.png")  # resized back to 28×28
    item = read_input(run, str(tmp_path / "digit.png"))
    assert item.image.shape == (1, 28, 28) and item.label is None and item.source == "digit.png"
    csv = write_pixel_csv(tmp_path / "rows.csv", mini["test"].images[:5, 0].numpy(), mini["test"].labels[:5].numpy())
    item = read_input(run, f"{csv}:4")
    assert torch.equal(item.image, mini["test"].images[4]) and item.label == int(mini["test"].labels[4])
    with pytest.raises(DataError, match="5 data rows"):
        read_input(run, f"{csv}:5")
    with pytest.raises(DataError, match="ROW"):
        read_input(run, str(csv))
    with pytest.raises(DataError, match="no such"):
        read_input(run, str(tmp_path / "missing.png"))
    with pytest.raises(ValueError, match="1000 images"):
        read_input(run, index=1000)
    assert class_index_of(run, "3") == 3 and class_index_of(run, None) is None
    with pytest.raises(ValueError, match="class"):
        class_index_of(run, "cat")


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_explain_command_writes_readable_figures(mnist_run, face_run, capsys, tmp_path, mini):
    Image.fromarray(mini["test"].images[0, 0].numpy()).save(tmp_path / "digit.png")
    code, out, err = cli(capsys, "explain", mnist_run, tmp_path / "digit.png")
    assert code == 0, err
    folder = mnist_run / "explain"
    summary = json.loads((folder / "explanation.json").read_text())
    assert len(summary["top"]) == 5 and summary["conv_layers"][0].startswith("0: Conv2d 1→32 3×3 → ReLU")
    for name in ("input.png", "prediction.png", "kernels.png", "feature_maps_1_0.png", "feature_maps_2_4.png",
                 "grad_cam.png"):
        with Image.open(folder / name) as img:
            assert min(img.size) >= 150, name
    # a 48×48 face from a CSV row, Grad-CAM for a chosen class, into another folder
    run_dir, csv = face_run
    code, out, err = cli(capsys, "explain", run_dir, f"{csv}:4", "--class", "Happy", "--out", tmp_path / "face")
    assert code == 0, err
    summary = json.loads((tmp_path / "face" / "explanation.json").read_text())
    assert summary["grad_cam_class"] == "Happy" and summary["label"] is not None
    assert len(summary["conv_layers"]) == 6 and (tmp_path / "face" / "feature_maps_6_17.png").is_file()
    code, _, err = cli(capsys, "explain", run_dir)
    assert code == 2 and "no input" in err


def test_top_losses(mnist_run, mini, capsys, tmp_path):
    run = load_run(mnist_run)
    losses = top_losses(run, mini["test"], 5)
    assert [x.loss for x in losses] == sorted((x.loss for x in losses), reverse=True)
    with torch.no_grad():
        logits = run.model(run.preprocess(mini["test"].images))
    everyone = F.cross_entropy(logits, mini["test"].labels, reduction="none")
    assert losses[0].loss == pytest.approx(float(everyone.max()), rel=1e-4)
    assert losses[0].index == int(everyone.argmax())
    code, out, _ = cli(capsys, "top-losses", mnist_run, "--k", 6, "--out", tmp_path / "top.png")
    assert code == 0 and out.count("test[") == 6 and (tmp_path / "top.png").is_file()


def test_show_batch(capsys, tmp_path, mini):
    images, labels = sample_batch(mini["train"], 10, seed=3)
    assert images.shape == (10, 1, 28, 28) and len(set(labels.tolist())) > 1
    code, out, _ = cli(capsys, "show-batch", "mnist-mini", "--n", 12, "--out", tmp_path / "batch.png")
    assert code == 0 and "12 images" in out
    with Image.open(tmp_path / "batch.png") as img:
        assert img.size[0] > 600


def test_show_batch_with_augmentation(capsys, tmp_path):
    pytest.importorskip("cnnlab.training.augment")
    code, out, err = cli(capsys, "show-batch", "mnist-mini", "--n", 8, "--augment", "rotation=20,shift=0.1",
                         "--out", tmp_path / "aug.png")
    assert code == 0, err
    assert "with augmentation" in out and (tmp_path / "aug.png").is_file()
    code, _, err = cli(capsys, "show-batch", "mnist-mini", "--augment", "wobble=3", "--out", tmp_path / "x.png")
    assert code == 2 and "wobble" in err


@pytest.mark.slow
def test_explain_is_fast_on_cpu(mnist_run, face_run, capsys, tmp_path, mini):
    Image.fromarray(mini["test"].images[0, 0].numpy()).save(tmp_path / "digit.png")
    for run_dir, source in ((mnist_run, tmp_path / "digit.png"), (face_run[0], f"{face_run[1]}:2")):
        code, out, _ = cli(capsys, "explain", run_dir, source, "--out", tmp_path / "fast")
        assert code == 0 and float(out.split("seconds ")[-1]) < 5


def test_a_model_without_convolutions_is_explained_without_maps(tmp_path, capsys, mini):
    run_dir = train(TrainConfig(data="mnist-mini", model="dnn", limit=200, epochs=1, runs_dir=str(tmp_path))).run_dir
    code, out, err = cli(capsys, "explain", run_dir, "--index", 0, "--out", tmp_path / "dnn")
    assert code == 0, err
    assert "no convolution layers" in out and not list((tmp_path / "dnn").glob("feature_maps_*"))


def test_figures_for_colour_kernels_and_many_maps(tmp_path):
    from cnnlab.explain.viz.maps import plot_feature_maps, plot_kernels

    rng = np.random.default_rng(0)
    plot_kernels(rng.normal(size=(8, 3, 5, 5)), "rgb", tmp_path / "rgb.png")
    plot_kernels(rng.normal(size=(4, 2, 3, 3)), "two channels", tmp_path / "two.png")
    maps = np.maximum(rng.normal(size=(100, 6, 6)), 0)
    maps[7] = 0  # a dead map
    plot_feature_maps(maps, "many", tmp_path / "many.png", max_maps=64)
    for name in ("rgb.png", "two.png", "many.png"):
        with Image.open(tmp_path / name) as img:
            assert img.size[0] >= 320 and img.mode == "RGB"
