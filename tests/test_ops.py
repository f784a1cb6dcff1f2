"""The NumPy reference ops against torch.nn.functional, the worked examples, the size formula and `shapes`."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlab.cli import main
from cnnlab.models import MODELS, build, count_parameters
from cnnlab.explain.ops import (avg_pool2d, conv2d, dense, flatten, max_pool2d, output_size, relu, same_padding,
                                softmax)
from cnnlab.explain.ops.examples import EXAMPLES, compute
from cnnlab.explain.shapes import size_path, walk

FAST = settings(max_examples=50, deadline=None)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


# ── convolution ─────────────────────────────────────────────────────────────────────────────────────────
@FAST
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(1, 11), w=st.integers(1, 11),
       kh=st.integers(1, 4), kw=st.integers(1, 4), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       dilation=st.integers(1, 2), padding=st.integers(0, 2), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_matches_torch(n, c, o, h, w, kh, kw, stride, dilation, padding, bias, seed):
    assume(h + 2 * padding >= dilation * (kh - 1) + 1 and w + 2 * padding >= dilation * (kw - 1) + 1)
    rng = np.random.default_rng(seed)
    x, weight = rng.normal(size=(n, c, h, w)), rng.normal(size=(o, c, kh, kw))
    b = rng.normal(size=o) if bias else None
    ours = conv2d(x, weight, b, stride, padding, dilation)
    ref = F.conv2d(t(x), t(weight), t(b) if bias else None, stride, padding, dilation).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@FAST
@given(h=st.integers(1, 12), w=st.integers(1, 12), k=st.integers(1, 5), stride=st.integers(1, 3),
       dilation=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_same_padding_gives_ceil_n_over_s_and_matches_torch(h, w, k, stride, dilation, seed):
    rng = np.random.default_rng(seed)
    x, weight = rng.normal(size=(1, 2, h, w)), rng.normal(size=(3, 2, k, k))
    ours = conv2d(x, weight, stride=stride, padding="same", dilation=dilation)
    assert ours.shape[2:] == (-(-h // stride), -(-w // stride))
    (top, bottom), (left, right) = same_padding(h, k, stride, dilation), same_padding(w, k, stride, dilation)
    ref = F.conv2d(F.pad(t(x), (left, right, top, bottom)), t(weight), stride=stride, dilation=dilation)
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-10)
    if stride == 1:  # PyTorch's own 'same' (stride 1 only)
        np.testing.assert_allclose(ours, F.conv2d(t(x), t(weight), padding="same", dilation=dilation).numpy(),
                                   atol=1e-10)


def test_conv2d_keeps_the_input_form_and_integers():
    image, kernel = np.arange(25).reshape(5, 5), np.array([[1, 0], [0, -1]])
    out = conv2d(image, kernel)
    assert out.shape == (4, 4) and out.dtype.kind == "i"
    assert conv2d(np.zeros((3, 6, 6)), np.zeros((4, 3, 3, 3))).shape == (4, 4, 4)
    with pytest.raises(ValueError, match="channel"):
        conv2d(np.zeros((3, 6, 6)), np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        conv2d(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="padding"):
        conv2d(np.zeros((4, 4)), np.zeros((3, 3)), padding="full")


# ── pooling, ReLU, flatten, dense ───────────────────────────────────────────────────────────────────────
@FAST
@given(c=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12), k=st.integers(1, 4),
       stride=st.integers(1, 3), padding=st.integers(0, 2), ceil_mode=st.booleans(), include=st.booleans(),
       seed=st.integers(0, 2**16))
def test_pooling_matches_torch(c, h, w, k, stride, padding, ceil_mode, include, seed):
    assume(padding <= k // 2 and h + 2 * padding >= k and w + 2 * padding >= k)
    x = np.random.default_rng(seed).normal(size=(2, c, h, w))
    ref_max = F.max_pool2d(t(x), k, stride, padding, ceil_mode=ceil_mode).numpy()
    ref_avg = F.avg_pool2d(t(x), k, stride, padding, ceil_mode, include).numpy()
    np.testing.assert_allclose(max_pool2d(x, k, stride, padding, ceil_mode), ref_max, atol=1e-12)
    np.testing.assert_allclose(avg_pool2d(x, k, stride, padding, ceil_mode, include), ref_avg, atol=1e-12)


def test_relu_flatten_dense_softmax_match_torch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5, 6))
    np.testing.assert_array_equal(relu(x), F.relu(t(x)).numpy())
    np.testing.assert_array_equal(flatten(x), nn.Flatten()(t(x)).numpy())
    weight, bias = rng.normal(size=(7, 120)), rng.normal(size=7)
    np.testing.assert_allclose(dense(flatten(x), weight, bias), F.linear(t(flatten(x)), t(weight), t(bias)).numpy())
    logits = dense(flatten(x), weight)
    np.testing.assert_allclose(softmax(logits), torch.softmax(t(logits), 1).numpy())


def test_a_whole_small_cnn_in_numpy_matches_the_torch_model():
    torch.manual_seed(0)
    model = build("mnist-1conv", (1, 28, 28), 10).eval().double()
    x = np.random.default_rng(1).random((2, 1, 28, 28))
    conv, fc1, fc2 = model[0], model[5], model[8]
    h = max_pool2d(relu(conv2d(x, conv.weight.detach().numpy(), conv.bias.detach().numpy())), 2)
    h = relu(dense(flatten(h), fc1.weight.detach().numpy(), fc1.bias.detach().numpy()))
    logits = dense(h, fc2.weight.detach().numpy(), fc2.bias.detach().numpy())
    with torch.no_grad():
        np.testing.assert_allclose(logits, model(t(x)).numpy(), atol=1e-9)


# ── the output-size formula ─────────────────────────────────────────────────────────────────────────────
@FAST
@given(n=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3),
       ceil_mode=st.booleans())
def test_output_size_matches_real_layers(n, k, s, p, d, ceil_mode):
    assume(n + 2 * p >= d * (k - 1) + 1)
    x = torch.zeros(1, 1, n, n)
    assert output_size(n, k, s, p, d) == nn.Conv2d(1, 1, k, s, p, d)(x).shape[-1]
    if p <= k // 2:
        assert output_size(n, k, s, p, d, ceil_mode) == nn.MaxPool2d(k, s, p, d, ceil_mode=ceil_mode)(x).shape[-1]


def test_output_size_examples():
    assert output_size(28, 3) == 26 and output_size(26, 2, 2) == 13
    assert output_size(5, 2, 2) == 2 and output_size(5, 2, 2, ceil_mode=True) == 3
    assert output_size(32, 5, padding=2) == 32 and output_size(7, 3, 2, 1) == 4


# ── the course's worked examples ────────────────────────────────────────────────────────────────────────
def test_worked_examples_compute_as_the_course_says():
    for example in EXAMPLES.values():
        worked = compute(example)
        assert worked.matches, example.name
        ref = F.conv2d(t(np.pad(example.image, example.padding))[None, None].double(),
                       t(example.kernel)[None, None].double()).numpy()[0, 0]
        np.testing.assert_array_equal(worked.feature_map, ref)
    fd = compute(EXAMPLES["feature-detector"])
    assert fd.feature_map[2, 2] == 0  # the slide prints 1 here
    assert fd.pooled.tolist() == [[1, 1, 0], [4, 2, 1], [0, 2, 1]]
    assert compute(EXAMPLES["sharpen"]).feature_map[0, 0] == 320


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_conv_command_lists_and_prints_examples(capsys):
    code, out, _ = cli(capsys, "conv", "--list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == list(EXAMPLES)
    code, out, _ = cli(capsys, "conv", "--example", "feature-detector")
    assert code == 0
    assert "  0 1 0 0 0\n  0 1 1 1 0\n  1 0 0 2 1\n  1 4 2 1 0\n  0 0 1 2 1" in out
    assert "  1 1 0\n  4 2 1\n  0 2 1" in out and "gives 0" in out
    code, out, _ = cli(capsys, "conv", "--example", "diagonal")
    assert "   3 -1 -3 -1\n  -3  1  0 -3\n  -3 -3  0  1\n   3 -2 -2 -1" in out
    code, out, _ = cli(capsys, "conv", "--example", "multiply-sum")
    assert "  12 12 17\n  10 17 19\n   9  6 14" in out
    code, out, _ = cli(capsys, "conv", "--example", "sharpen")
    assert ("out[0, 0] = 0·0 + 0·(-1) + 0·0 + 0·(-1) + 105·5 + 102·(-1) + 0·0 + 103·(-1) + 99·0 = 320") in out
    assert "check: matches the course's result" in out
    code, out, _ = cli(capsys, "conv", "--image", "0110/1001", "--kernel", "1,-1")
    assert code == 0 and "  -1  0  1\n   1  0 -1" in out
    code, _, err = cli(capsys, "conv", "--example", "nope")
    assert code == 2 and "feature-detector" in err


# ── shapes ──────────────────────────────────────────────────────────────────────────────────────────────
def test_shapes_walk_gets_the_slides_numbers_right():
    steps = walk(build("mnist-1conv", (1, 28, 28), 10), (1, 28, 28), "mnist-1conv")
    flat = next(s for s in steps if s.kind == "Flatten")
    assert flat.out_shape == (5408,) and "6,272" in flat.slide
    assert steps[0].params == (3 * 3 * 1 + 1) * 32 and steps[0].params_how == "(3·3·1 + 1)·32 = 320"
    assert next(s for s in steps if s.kind == "MaxPool2d").out_shape == (32, 13, 13)
    steps = walk(build("mnist-2conv", (1, 28, 28), 10), (1, 28, 28), "mnist-2conv")
    assert next(s for s in steps if s.kind == "Flatten").out_shape == (1600,)
    steps = walk(build("cnn3", (1, 120, 160), 10), (1, 120, 160), "cnn3")
    assert size_path(steps, (1, 120, 160)) == \
        "120×160 → 116×156 → 58×78 → 54×74 → 27×37 → 24×34 → 12×17 → flatten 4,080"
    assert "204" in next(s for s in steps if s.kind == "Flatten").slide


@pytest.mark.parametrize("name", sorted(n for n, spec in MODELS.items() if spec.inputs == "image"))
def test_shapes_walk_works_for_every_registered_model(name):
    shape = (1, 48, 48) if name != "cnn3" else (1, 120, 160)
    model = build(name, shape, 7)
    steps = walk(model, shape, name)
    assert steps and steps[-1].out_shape == (7,)
    for s in steps:  # the formula predicts what each conv/pool layer really outputs
        assert s.predicted is None or s.predicted == s.out_shape[1:], (s.name, s.how)
    names = [s.name for s in steps]
    if len(set(names)) == len(names):  # no module called twice: each leaf's parameters listed exactly once
        leaves = sum(p.numel() for m in model.modules() if not list(m.children()) for p in m.parameters(False))
        assert sum(s.params for s in steps) == leaves <= count_parameters(model)


def test_shapes_command_prints_corrections(capsys):
    code, out, _ = cli(capsys, "shapes", "mnist-1conv", "--input", "1x28x28")
    assert code == 0 and "13·13·32 = 5,408" in out and "6,272" in out and "693,962" in out
    code, out, _ = cli(capsys, "shapes", "mnist-2conv")
    assert "5·5·64 = 1,600" in out and "3,136" in out
    code, out, _ = cli(capsys, "shapes", "cnn3")
    assert "12·17·20 = 4,080" in out and "the slide says 204" in out
    assert "116×156 → 58×78 → 54×74 → 27×37 → 24×34 → 12×17" in out
    code, _, err = cli(capsys, "shapes", "cnn3", "--input", "1x8x8")
    assert code == 2 and "cannot take" in err
