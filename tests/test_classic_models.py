"""The case-study architectures (LeNet-5, AlexNet, VGG, GoogLeNet, ResNet) and the FLOP counter.

Every image model (the course's and the case studies) runs forward and backward on 1×28×28, 1×48×48 and
3×32×32 in fp32 and under the trainer's bf16 autocast + channels_last, and memorises 256 training digits;
parameter and MAC counts match hand formulas; the papers' building blocks behave as described.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.cli import main
from cnnlab.models import MODELS, build, count_flops, count_macs, count_parameters, layer_macs, layer_rows
from cnnlab.models.alexnet import LocalResponseNorm
from cnnlab.models.googlenet import Inception
from cnnlab.models.resnet import BasicBlock, PadShortcut

SHAPES = [(1, 28, 28), (1, 48, 48), (3, 32, 32)]
CLASSIC = ["lenet5", "alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet20"]
IMAGE_MODULES = {f"cnnlab.models.{m}" for m in ("course", "lenet", "alexnet", "vgg", "googlenet", "resnet")}
UNIQUE = [name for name, spec in MODELS.items()  # the image models; aliases (vgg, resnet) are tested once
          if spec.builder.__module__ in IMAGE_MODULES
          and next(n for n, s in MODELS.items() if s.builder is spec.builder) == name]


@pytest.fixture(autouse=True)
def one_thread():
    """Small batches of small images: one thread is about as fast as two, and does not stall on shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def conv_params(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def kinds(model: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, kind)]


# ── the registry ─────────────────────────────────────────────────────────────────────────────────────────
def test_registry_has_the_case_studies_and_their_aliases():
    assert set(CLASSIC) | {"vgg", "resnet"} <= set(MODELS)
    assert MODELS["resnet"].builder is MODELS["resnet20"].builder
    assert MODELS["vgg"].builder is MODELS["vgg11"].builder
    for name in CLASSIC:  # each builder and module class cites its paper
        assert MODELS[name].builder.__doc__
        assert type(build(name, (1, 28, 28), 10)).__doc__


@pytest.mark.parametrize("name", UNIQUE)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_forward_and_backward(name, shape, precision):
    """fp32, and the trainer's CPU path: a channels_last model and batch under torch.autocast('cpu', bfloat16)."""
    if name == "cnn3" and shape == (1, 28, 28):
        with pytest.raises(ValueError, match="'cnn3' cannot take 1x28x28"):  # the slide's model for 120×160
            build(name, shape, 7)
        return
    torch.manual_seed(0)
    model = build(name, shape, 7)
    x = torch.randn(3, *shape)
    if precision == "bf16":
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        out = model(x)
    assert out.shape == (3, 7) and out.dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)
    F.cross_entropy(out.float(), torch.tensor([0, 6, 3])).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(g.abs().sum() > 0 for g in grads[-2:])  # the output layer learns from this batch


@pytest.mark.parametrize("name", CLASSIC)
@pytest.mark.parametrize("shape", [(3, 17, 23), (1, 64, 40), (2, 15, 15)])
def test_any_channels_size_and_classes(name, shape):
    """Odd, non-square and larger inputs: the heads adapt (global pooling or a dry-run flat size)."""
    model = build(name, shape, 3).eval()
    with torch.no_grad():
        assert model(torch.randn(1, *shape)).shape == (1, 3)


def test_alexnet_refuses_images_its_pools_cannot_take():
    with pytest.raises(ValueError, match="'alexnet' cannot take 1x14x14"):
        build("alexnet", (1, 14, 14), 10)


# ── parameter counts ─────────────────────────────────────────────────────────────────────────────────────
def test_lenet5_has_61706_parameters_in_the_classic_layout():
    c1, c3 = conv_params(1, 6, 5), conv_params(6, 16, 5)
    c5, f6, out = 400 * 120 + 120, 120 * 84 + 84, 84 * 10 + 10
    assert (c1, c3, c5, f6, out) == (156, 2_416, 48_120, 10_164, 850)
    model = build("lenet5", (1, 32, 32), 10)
    per_layer = [sum(p.numel() for p in m.parameters()) for m in kinds(model, (nn.Conv2d, nn.Linear))]
    assert per_layer == [c1, c3, c5, f6, out]
    assert count_parameters(model) == 61_706
    # 28×28 digits are padded to the paper's 32×32 field: same network, same maps
    assert count_parameters(build("lenet5", (1, 28, 28), 10)) == 61_706
    rows = layer_rows(build("lenet5", (1, 28, 28), 10), (1, 28, 28))
    shapes = [r.output_shape for r in rows]
    assert shapes[:7] == [(1, 32, 32), (6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5)]
    assert (400,) in shapes  # C5 is a dense 400 → 120
    assert len(kinds(model, nn.Tanh)) == 4 and len(kinds(model, nn.AvgPool2d)) == 2  # C1 C3 C5 F6; S2 S4


def test_resnet_parameter_counts():
    def bn(c):
        return 2 * c

    def block(c_in, c_out, projection):
        own = conv_params(c_in, c_out, 3, False) + bn(c_out) + conv_params(c_out, c_out, 3, False) + bn(c_out)
        return own + (conv_params(c_in, c_out, 1, False) + bn(c_out) if projection else 0)

    def resnet(widths, blocks, projection, c=3, classes=10):
        total, c_in = conv_params(c, widths[0], 3, False) + bn(widths[0]), widths[0]
        for w, n in zip(widths, blocks):
            for _ in range(n):
                total += block(c_in, w, projection and c_in != w)
                c_in = w
        return total + c_in * classes + classes

    # ResNet-20 with the paper's parameter-free option A shortcuts: its Table 6 says 0.27M
    assert resnet((16, 32, 64), (3, 3, 3), False) == 269_722
    assert count_parameters(build("resnet20", (3, 32, 32), 10)) == 269_722
    assert count_parameters(build("resnet18", (3, 32, 32), 10)) == resnet((64, 128, 256, 512), (2, 2, 2, 2), True)
    assert count_parameters(build("resnet18", (3, 32, 32), 10)) == 11_173_962


# ── the papers' building blocks ──────────────────────────────────────────────────────────────────────────
def test_layer_counts_match_the_names():
    """Weight layers: AlexNet 5 conv + 3 FC, VGG-11 8 + 3, VGG-16 13 + 3, ResNet-20 19 + 1 (6n+2),
    ResNet-18 17 + 1 plus three 1×1 projection shortcuts."""
    def count(name):
        model = build(name, (3, 32, 32), 10)
        return len(kinds(model, nn.Conv2d)), len(kinds(model, nn.Linear))

    assert count("alexnet") == (5, 3) and len(kinds(build("alexnet", (3, 32, 32), 10), LocalResponseNorm)) == 2
    assert count("vgg11") == (8, 3) and count("vgg16") == (13, 3)
    assert count("resnet20") == (19, 1) and count("resnet18") == (17 + 3, 1)
    googlenet = build("googlenet", (3, 32, 32), 10)
    inceptions = kinds(googlenet, Inception)
    assert len(inceptions) == 9  # 3a 3b 4a…4e 5a 5b
    assert [m.out_channels for m in inceptions] == [c // 4 for c in (256, 480, 512, 512, 512, 528, 832, 832, 1024)]


def test_inception_concatenates_its_four_branches():
    torch.manual_seed(0)
    block = Inception(12, 4, 6, 8, 2, 3, 5).eval()
    x = torch.randn(2, 12, 9, 9)
    with torch.no_grad():
        out = block(x)
        parts = [block.branch1(x), block.branch3(x), block.branch5(x), block.branch_pool(x)]
    assert out.shape == (2, 4 + 8 + 3 + 5, 9, 9)
    assert torch.equal(out, torch.cat(parts, 1))
    kernels = [[m.kernel_size for m in kinds(b, nn.Conv2d)] for b in (block.branch1, block.branch3, block.branch5)]
    assert kernels == [[(1, 1)], [(1, 1), (3, 3)], [(1, 1), (5, 5)]]
    assert isinstance(block.branch_pool[0], nn.MaxPool2d) and block.branch_pool[1][0].kernel_size == (1, 1)


def test_residual_blocks_add_their_shortcut():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 7, 7).relu()  # a block's input is a ReLU output: non-negative
    for shortcut in ("projection", "pad"):
        same = BasicBlock(8, 8, 1, shortcut).eval()
        nn.init.zeros_(same.bn2.weight)  # F(x) = 0 → the block is relu(x + 0) = x
        with torch.no_grad():
            assert torch.allclose(same(x), x)
    down = BasicBlock(8, 16, 2, "pad").eval()
    nn.init.zeros_(down.bn2.weight)
    with torch.no_grad():
        out = down(x)
    assert out.shape == (2, 16, 4, 4)  # 7 → ⌈7/2⌉ = 4, as the strided conv
    assert torch.allclose(out[:, :8], x[:, :, ::2, ::2]) and not out[:, 8:].any()  # option A: zeros appended
    assert not list(PadShortcut(16, 2).parameters())
    projection = BasicBlock(8, 16, 2, "projection")
    assert projection.shortcut[0].kernel_size == (1, 1) and projection.shortcut[0].stride == (2, 2)


def test_local_response_norm_is_the_papers_formula():
    torch.manual_seed(0)
    a = torch.randn(2, 7, 3, 4) * 30  # large activations, so the normalisation matters
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    expected = torch.empty_like(a)
    for i in range(7):  # b_i = a_i / (k + α Σ_{j=max(0,i−n/2)}^{min(N−1,i+n/2)} a_j²)^β, as written in the paper
        window = a[:, max(0, i - n // 2):min(7, i + n // 2 + 1)]
        expected[:, i] = a[:, i] / (k + alpha * (window ** 2).sum(1)) ** beta
    assert torch.allclose(LocalResponseNorm(7)(a), expected, rtol=1e-5)
    assert torch.allclose(nn.LocalResponseNorm(n, alpha * n, beta, k)(a), expected, rtol=1e-5)
    assert "band" not in LocalResponseNorm(7).state_dict()  # checkpoints hold weights only


# ── MACs and FLOPs ───────────────────────────────────────────────────────────────────────────────────────
def test_flop_counter_against_hand_computed_layers():
    conv = nn.Conv2d(3, 8, 3, padding=1)  # 10×10 out, 8 maps, each value a 3·3·3 dot product
    assert count_macs(conv, (3, 10, 10)) == 10 * 10 * 8 * 27 == 21_600
    assert count_flops(conv, (3, 10, 10)) == 43_200  # 1 MAC = 2 FLOPs
    strided = nn.Conv2d(4, 8, 3, stride=2, groups=2)  # 9×9 → 4×4; each output sees 4/2 channels
    assert count_macs(strided, (4, 9, 9)) == 4 * 4 * 8 * (2 * 9)
    assert count_macs(nn.Linear(20, 5), (20,)) == 100
    transposed = nn.ConvTranspose2d(4, 6, 2, stride=2)  # each input value spreads over a 6·2·2 patch
    assert count_macs(transposed, (4, 5, 5)) == 4 * 5 * 5 * 6 * 4
    assert count_macs(nn.Conv1d(16, 32, 5, padding=2), (16, 50)) == 50 * 32 * 16 * 5
    tokens = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3))  # token ids (L,): a lookup, then 6 dense calls
    assert count_macs(tokens, (6,), dtype=torch.long) == 6 * 3 * 4
    model = nn.Sequential(conv, nn.ReLU(), nn.BatchNorm2d(8), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(200, 10))
    rows = layer_macs(model, (3, 10, 10))
    assert [(r.name, r.kind, r.macs) for r in rows] == [("0", "Conv2d", 21_600), ("5", "Linear", 2_000)]
    assert model.training  # the dry run leaves the mode as it found it


def test_macs_of_lenet5_and_resnet18():
    # LeNet-5 on 32×32: C1 28·28·6·25, C3 10·10·16·150, C5 400·120, F6 120·84, output 84·10
    assert count_macs(build("lenet5", (1, 28, 28), 10), (1, 28, 28)) == 117_600 + 240_000 + 48_000 + 10_080 + 840
    # ResNet-18 on 3×32×32: the usual ~0.56 GMACs of the CIFAR variant
    stem = 32 * 32 * 64 * 27
    stage1 = 4 * 32 * 32 * 64 * 64 * 9
    later = sum(s * s * c * (c // 2) * 9 + 3 * s * s * c * c * 9 + s * s * c * (c // 2)  # + 1×1 projection
                for s, c in ((16, 128), (8, 256), (4, 512)))
    assert count_macs(build("resnet18", (3, 32, 32), 10), (3, 32, 32)) == stem + stage1 + later + 512 * 10
    assert stem + stage1 + later + 5120 == 555_422_720


def test_models_command_lists_params_and_mflops(capsys):
    assert main(["models", "--input", "3x32x32", "--classes", "10"]) == 0
    out = capsys.readouterr().out
    assert "MFLOPs" in out and "2 × multiply-adds" in out.splitlines()[0]
    line = next(line for line in out.splitlines() if line.startswith("resnet20 "))
    assert line.split()[1:3] == ["269,722", f"{2 * count_macs(build('resnet20', (3, 32, 32), 10), (3, 32, 32)) / 1e6:.2f}"]
    assert main(["models", "--input", "1x10x10"]) == 0
    rows = {line.split()[0]: line.split()[1:3] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["alexnet"] == ["n/a", "-"] and rows["lenet5"] == ["61,706", "0.83"]  # 10×10 is padded to 32×32



def test_catalog_rows_are_what_the_models_command_prints():
    from cnnlab.models import MODELS
    from cnnlab.models.catalog import catalog

    rows = {row.name: row for row in catalog((1, 10, 10), 10)}
    assert list(rows) == list(MODELS)
    assert rows["alexnet"].parameters is None and rows["alexnet"].flops is None
    lenet_macs = count_macs(build("lenet5", (1, 10, 10), 10), (1, 10, 10))
    assert rows["lenet5"].parameters == 61_706 and rows["lenet5"].flops == 2 * lenet_macs
    assert rows["resnet18-imagenet"].pretrained and not rows["lenet5"].pretrained and not rows["lenet5"].cached

# ── memorising 256 digits ────────────────────────────────────────────────────────────────────────────────
HEAVY = {"alexnet", "vgg11", "vgg16", "googlenet", "resnet18"}  # 20 s to minutes of CPU each: -m slow
MAX_EPOCHS = {"alexnet": 60, "vgg11": 60, "vgg16": 60}  # dropout-heavy dense heads: ~25-30 epochs
OVERFIT_CASES = [pytest.param(name, marks=pytest.mark.slow) if name in HEAVY else name for name in UNIQUE]


@pytest.mark.parametrize("name", OVERFIT_CASES)
def test_memorises_256_training_digits(name, mini):
    """Adam (its default lr 1e-3, batch 32) reaches ≥ 95% accuracy, in eval mode, on the 256 digits it trains on."""
    images, labels = mini["train"].images[:256].float() / 255, mini["train"].labels[:256]
    x = (images - images.mean()) / images.std()  # (256, 1, 28, 28)
    if name == "cnn3":  # the slide's model needs 32×32 or more
        x = F.pad(x, (2, 2, 2, 2))
    torch.manual_seed(0)
    model = build(name, tuple(x.shape[1:]), 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    accuracy = 0.0
    for epoch in range(MAX_EPOCHS.get(name, 30)):
        model.train()
        for idx in torch.randperm(256, generator=gen).split(32):
            loss = F.cross_entropy(model(x[idx]), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x).argmax(1) == labels).float().mean().item()
        if accuracy >= 0.95:
            break
    assert accuracy >= 0.95, f"{name}: {accuracy:.3f} after {epoch + 1} epochs"
