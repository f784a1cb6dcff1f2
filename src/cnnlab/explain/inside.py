"""Inside a trained model: feature maps, first-layer kernels, Grad-CAM, probabilities and top losses.

Everything here returns arrays and dataclasses (no drawing, no files), so the CLI and a web server can share
it.  Convolution layers are found with forward hooks in call order, so plain nn.Sequential models and models
with nested blocks work alike.  The drawing lives in cnnlab.explain.viz.maps.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.data import Split
from cnnlab.runs.evaluate import predict_logits
from cnnlab.training.optim import probabilities
from cnnlab.runs.rundir import LoadedRun
from cnnlab.explain.samples import InputImage

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish,
               nn.Hardtanh, nn.PReLU, nn.Sigmoid, nn.Tanh, nn.Softplus)
# modules that keep a feature map's shape, so they still belong to the convolution before them
POINTWISE = ACTIVATIONS + (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm,
                           nn.modules.dropout._DropoutNd, nn.Dropout, nn.Identity)


@contextmanager
def single_thread():
    """Run one-image work on one CPU thread: for a single small image, starting and syncing threads costs more
    than it saves (on a busy 2-core machine a Grad-CAM took 1.9 s with 2 threads, 0.03 s with 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def evaluating(model: nn.Module):
    """The model in eval mode (batch-norm statistics, no dropout), put back in its previous mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


# ── hooks ────────────────────────────────────────────────────────────────────────────────────────────────
@dataclass
class Call:
    """One leaf-module call of a forward pass, with a copy of its output (later in-place ops cannot change it)."""

    name: str  # module path, e.g. "features.3"
    module: nn.Module
    occurrence: int  # 1 for the module's first call in the pass (a module may be called more than once)
    output: torch.Tensor


@dataclass
class ConvSite:
    """A convolution layer and the call whose output is its activated feature map (its ReLU, if it has one)."""

    conv: Call
    read_at: Call
    label: str  # e.g. "Conv2d 1→32 3×3 → BatchNorm2d → ReLU"


@torch.no_grad()
def trace(model: nn.Module, x: torch.Tensor) -> tuple[list[Call], torch.Tensor]:
    """Every leaf-module call of model(x) in order, with its output; and the model's output."""
    names = {module: name for name, module in model.named_modules()}
    calls: list[Call] = []
    counts: dict[nn.Module, int] = {}

    def hook(module, _inputs, output):
        if isinstance(output, torch.Tensor):
            counts[module] = counts.get(module, 0) + 1
            calls.append(Call(names[module], module, counts[module], output.detach().clone()))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return calls, out


def conv_sites(calls: list[Call]) -> list[ConvSite]:
    """Each 2-D convolution call and where to read its activation: the last activation among the shape-keeping
    layers right after it (batch norm, ReLU, dropout...), else the convolution's own output."""
    sites = []
    for i, call in enumerate(calls):
        if not isinstance(call.module, nn.Conv2d):
            continue
        chain = []  # the shape-keeping calls right after the convolution
        for after in calls[i + 1:]:
            if not isinstance(after.module, POINTWISE) or after.output.shape != call.output.shape:
                break
            chain.append(after)
        activations = [j for j, c in enumerate(chain) if isinstance(c.module, ACTIVATIONS)]
        chain = chain[:activations[-1] + 1] if activations else []
        m = call.module
        parts = [f"Conv2d {m.in_channels}→{m.out_channels} {'×'.join(map(str, m.kernel_size))}"]
        parts += [type(c.module).__name__ for c in chain] or ["(no activation layer)"]
        sites.append(ConvSite(call, chain[-1] if chain else call, " → ".join(parts)))
    return sites


# ── what the model computes ──────────────────────────────────────────────────────────────────────────────
@dataclass
class FeatureMap:
    """The activated output of one convolution layer for one image."""

    layer: str  # module path of the convolution
    label: str  # e.g. "Conv2d 32→64 3×3 → ReLU"
    maps: np.ndarray  # (C, H, W) float32


@single_thread()
def feature_maps(model: nn.Module, x: torch.Tensor) -> list[FeatureMap]:
    """The feature maps of every 2-D convolution layer (after its activation) for the first image of x."""
    with evaluating(model):
        calls, _ = trace(model, x)
    return [FeatureMap(s.conv.name, s.label, s.read_at.output[0].float().cpu().numpy()) for s in conv_sites(calls)]


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d] | None:
    """(path, module) of the first 2-D convolution in definition order, or None."""
    return next(((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), None)


def first_layer_kernels(model: nn.Module) -> np.ndarray | None:
    """The learned kernels of the first convolution layer, (C_out, C_in, kh, kw); None without a convolution."""
    found = first_conv(model)
    return None if found is None else found[1].weight.detach().float().cpu().numpy()


@dataclass
class GradCam:
    """Where the last convolution layer's evidence for a class lies."""

    heatmap: np.ndarray  # (H, W) in [0, 1], at the input's resolution
    coarse: np.ndarray  # (h, w) in [0, 1], at the layer's resolution
    class_index: int
    layer: str  # module path of the convolution layer


@single_thread()
def grad_cam(model: nn.Module, x: torch.Tensor, class_index: int | None = None) -> GradCam:
    """Grad-CAM on the last convolution layer for the first image of x and `class_index` (default: predicted).

    The layer's activations A (C, h, w) are weighted by the mean gradient of the class score over each map,
    w_c = mean(∂score/∂A_c), then cam = ReLU(Σ_c w_c·A_c), upsampled to the input size and scaled to [0, 1].
    """
    with evaluating(model):
        return _grad_cam(model, x[:1].detach(), class_index)


def _grad_cam(model: nn.Module, x: torch.Tensor, class_index: int | None) -> GradCam:
    """grad_cam for one image x (1, C, H, W), the model already in eval mode."""
    sites = conv_sites(trace(model, x)[0])
    if not sites:
        raise ValueError("Grad-CAM needs a convolution layer, and this model has none")
    site = sites[-1]
    target, wanted = site.read_at.module, site.read_at.occurrence
    captured: dict[str, torch.Tensor] = {}
    seen = [0]

    def keep(_module, _inputs, output):
        seen[0] += 1
        if seen[0] == wanted:
            captured["a"] = output.clone()  # a tensor of its own: later in-place ops cannot change it
            return captured["a"]

    handle = target.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = model(x.requires_grad_(True))
            index = int(logits[0].argmax()) if class_index is None else int(class_index)
            if not 0 <= index < logits.shape[1]:
                raise ValueError(f"class index {index} is outside 0..{logits.shape[1] - 1}")
            grads, = torch.autograd.grad(logits[0, index], captured["a"])
    finally:
        handle.remove()
    a, g = captured["a"][0].detach().float(), grads[0].float()  # (C, h, w) each
    weights = g.mean(dim=(1, 2))  # (C,) how much each map matters for the class
    cam = F.relu((weights[:, None, None] * a).sum(0))  # (h, w)
    top = float(cam.max())
    cam = cam / top if top > 0 else cam
    heat = F.interpolate(cam[None, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)[0, 0]
    return GradCam(heat.clamp(0, 1).cpu().numpy(), cam.cpu().numpy(), index, site.conv.name)


# ── one input, explained ─────────────────────────────────────────────────────────────────────────────────
@dataclass
class Explanation:
    """All explain computes for one input."""

    input: InputImage
    probabilities: np.ndarray  # (K,)
    predicted: int
    feature_maps: list[FeatureMap]
    kernels: np.ndarray | None  # (C_out, C_in, kh, kw) of the first convolution
    kernels_layer: str | None
    cam: GradCam | None  # None for models without a convolution
    classes: list[str] | None = None  # class names, for display

    def _repr_html_(self) -> str:
        """In a notebook: the top-5 probabilities, Grad-CAM and every conv layer's feature maps."""
        from cnnlab.explain.viz.display import explanation_html

        return explanation_html(self)

    def top(self, k: int = 5) -> list[tuple[int, float]]:
        """The k most probable (class index, probability) pairs."""
        order = np.argsort(-self.probabilities)[:k]
        return [(int(i), float(self.probabilities[i])) for i in order]


@single_thread()
def explain(run: LoadedRun, item: InputImage, class_index: int | None = None) -> Explanation:
    """Probabilities, feature maps, first-layer kernels and Grad-CAM of a run's model for one input."""
    model = run.model.cpu()
    x = run.preprocess(item.image[None])  # (1, C, H, W) float, normalised as in training
    with evaluating(model):
        calls, logits = trace(model, x)
    probs = probabilities(logits, run.config.loss)[0].numpy()
    maps = [FeatureMap(s.conv.name, s.label, s.read_at.output[0].float().numpy()) for s in conv_sites(calls)]
    cam = grad_cam(model, x, class_index) if maps else None
    found = first_conv(model)
    return Explanation(item, probs, int(probs.argmax()), maps, first_layer_kernels(model),
                       found[0] if found else None, cam, list(run.classes))


def class_index_of(run: LoadedRun, value: str | int | None) -> int | None:
    """A class given by index ('3') or name ('happy') → its index; None stays None."""
    if value is None:
        return None
    text = str(value)
    if text in run.classes:
        return run.classes.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(run.classes):
        return int(text)
    raise ValueError(f"class {text!r}: expected a name ({', '.join(run.classes)}) or an index "
                     f"0..{len(run.classes) - 1}")


# ── predictions over a split ─────────────────────────────────────────────────────────────────────────────
@dataclass
class Loss:
    """One image's loss, for `top-losses`."""

    index: int  # position in the split
    label: int
    predicted: int
    p_predicted: float
    p_label: float
    loss: float  # −log p(true class)


def top_losses(run: LoadedRun, split: Split, k: int = 16) -> list[Loss]:
    """The k images of a labelled split the model gets most confidently wrong (highest −log p(true class))."""
    if not split.labeled:
        raise ValueError("top losses need labelled images")
    logits = predict_logits(run.model, split.images, run.preprocess, torch.device("cpu"), None, 1024, False)
    probs = probabilities(logits, run.config.loss)
    p_true = probs.gather(1, split.labels[:, None])[:, 0]
    loss = -torch.log(p_true.clamp_min(1e-12))
    order = loss.argsort(descending=True)[:k]
    p_pred, pred = probs.max(1)
    return [Loss(int(i), int(split.labels[i]), int(pred[i]), float(p_pred[i]), float(p_true[i]), float(loss[i]))
            for i in order]
