"""A model walked layer by layer: each output shape with the size formula, each parameter count with its
formula, and the course slides' hand-written numbers corrected where they are wrong.

Works for any nn.Module: forward hooks record every leaf module in call order (nested blocks included);
convolution, pooling, flatten and dense layers get their formulas, other layers just their shapes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnlab.explain.ops.sizes import formula_text, output_size


@dataclass
class Step:
    """One layer call: what it is, its output shape (per image), how that shape and its parameters come about."""

    name: str  # module path, e.g. "0" or "features.3"
    kind: str  # class name, e.g. "Conv2d"
    description: str  # e.g. "Conv2d 32 3×3"
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int
    how: list[str] = field(default_factory=list)  # the size formula(s) with the numbers in
    params_how: str = ""  # e.g. "(3·3·1 + 1)·32 = 320"
    slide: str = ""  # what the course's slide says, when it differs
    predicted: tuple[int, ...] | None = None  # spatial size by the formula (conv and pooling layers)


@dataclass(frozen=True)
class SlideClaim:
    """A number a slide prints for a model's layer, and why the right one differs."""

    kind: str  # layer class, e.g. "Flatten"
    occurrence: int  # 1 for the first layer of that kind
    says: str
    why: str


# The slides' hand-written shape comments, per registered model, for the input they were written for.
SLIDE_CLAIMS: dict[str, tuple[tuple[int, int, int], list[SlideClaim]]] = {
    "mnist-1conv": ((1, 28, 28), [
        SlideClaim("MaxPool2d", 1, "14×14", "the 3×3 conv has no padding: 28 → 26, and 26/2 = 13"),
        SlideClaim("Flatten", 1, "6,272 (14·14·32)", "13·13·32 = 5,408"),
    ]),
    "mnist-2conv": ((1, 28, 28), [
        SlideClaim("Flatten", 1, "3,136 (7·7·64)", "unpadded 3×3 convs: 28 → 26 → 13 → 11 → 5, so 5·5·64 = 1,600"),
    ]),
    "cnn3": ((1, 120, 160), [
        SlideClaim("Flatten", 1, "204", "12·17 = 204 forgets the 20 channels: 12·17·20 = 4,080"),
    ]),
}


def _spatial(value, dims: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def _dims_text(shape: tuple[int, ...]) -> str:
    return f"{shape[0]:,}" if len(shape) == 1 else "×".join(str(d) for d in shape)


def _size_lines(module: nn.Module, in_shape: tuple, out_shape: tuple) -> tuple[list[str], tuple[int, ...]]:
    """The formula for each spatial axis of a convolution or pooling layer (one line when all axes agree),
    and the spatial size it predicts."""
    dims = len(in_shape) - 1
    k = _spatial(module.kernel_size, dims)
    s = _spatial(module.stride if module.stride is not None else module.kernel_size, dims)
    d = _spatial(getattr(module, "dilation", 1), dims)
    ceil = bool(getattr(module, "ceil_mode", False))
    padding = module.padding
    if isinstance(padding, str):  # 'valid' or 'same' (stride 1): read the real padding off the shapes
        if padding == "valid":
            p = (0,) * dims
        else:
            p = tuple(((o - 1) * st + dl * (kk - 1) + 1 - n) for n, o, kk, st, dl in
                      zip(in_shape[1:], out_shape[1:], k, s, d))
            p = tuple((t // 2, t - t // 2) for t in p)
    else:
        p = _spatial(padding, dims)
    axes = "HWD"[:dims] if dims > 1 else "L"
    lines = [f"{axis}: {formula_text(n, kk, st, pp, dl, ceil)}"
             for axis, n, kk, st, pp, dl in zip(axes, in_shape[1:], k, s, p, d)]
    predicted = tuple(output_size(n, kk, st, pp, dl, ceil) for n, kk, st, pp, dl in zip(in_shape[1:], k, s, p, d))
    if predicted != tuple(out_shape[1:]):  # e.g. a layer type whose arithmetic differs: say so, do not hide it
        lines.append(f"(the layer actually gives {_dims_text(tuple(out_shape[1:]))})")
    if dims > 1 and len({(n, kk, st, str(pp), dl) for n, kk, st, pp, dl in zip(in_shape[1:], k, s, p, d)}) == 1:
        return [lines[0][3:]] + lines[len(axes):], predicted
    return lines, predicted


def _describe(kind: str, module: nn.Module, in_shape: tuple, out_shape: tuple, params: int) -> tuple:
    """(description, size formula lines, parameter formula, predicted spatial size or None) of one layer."""
    if isinstance(module, nn.modules.conv._ConvNd):
        k = _spatial(module.kernel_size, len(in_shape) - 1)
        c_in, c_out, groups = module.in_channels, module.out_channels, module.groups
        per_filter = "·".join(map(str, k)) + f"·{c_in // groups}"
        bias = module.bias is not None
        how = f"({per_filter} + 1)·{c_out} = {params:,}" if bias else f"{per_filter}·{c_out} = {params:,} (no bias)"
        stride = _spatial(module.stride, len(k))
        extra = f", stride {stride[0]}" if max(stride) > 1 else ""
        return (f"{kind} {c_out} {_dims_text(k)}{extra}", *_size_lines(module, in_shape, out_shape), how)
    if isinstance(module, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        k = _spatial(module.kernel_size, len(in_shape) - 1)
        return (f"{kind} {_dims_text(k)}", *_size_lines(module, in_shape, out_shape), "")
    if isinstance(module, nn.Flatten) and len(in_shape) >= 2:
        spatial_first = (*in_shape[1:], in_shape[0])  # the slides' H·W·C order
        return kind, [f"{'·'.join(map(str, spatial_first))} = {math.prod(in_shape):,}"], None, ""
    if isinstance(module, nn.Linear):
        how = f"({module.in_features:,} + 1)·{module.out_features:,} = {params:,}" if module.bias is not None \
            else f"{module.in_features:,}·{module.out_features:,} = {params:,}"
        return f"{kind} {module.out_features}", [], None, how
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and params:
        return kind, [], None, f"2·{module.num_features} = {params:,} (scale and shift)"
    return kind, [], None, ""


def walk(model: nn.Module, input_shape: tuple[int, ...], model_name: str | None = None) -> list[Step]:
    """Run one zero image through the model and describe every leaf module call in order."""
    names = {module: name for name, module in model.named_modules()}
    steps: list[Step] = []

    def hook(module: nn.Module, inputs, output) -> None:
        if not isinstance(output, torch.Tensor) or not inputs or not isinstance(inputs[0], torch.Tensor):
            return
        kind = type(module).__name__
        in_shape, out_shape = tuple(inputs[0].shape[1:]), tuple(output.shape[1:])
        params = sum(p.numel() for p in module.parameters(recurse=False))
        description, how, predicted, params_how = _describe(kind, module, in_shape, out_shape, params)
        steps.append(Step(names.get(module, "?"), kind, description, in_shape, out_shape, params, how, params_how,
                          predicted=predicted))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    except RuntimeError as exc:
        raise ValueError(f"the model cannot take {_dims_text(tuple(input_shape))} input "
                         f"({str(exc).splitlines()[0]})") from None
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    if model_name in SLIDE_CLAIMS and SLIDE_CLAIMS[model_name][0][1:] == tuple(input_shape)[1:]:
        _attach_claims(steps, SLIDE_CLAIMS[model_name][1])
    return steps


def _attach_claims(steps: list[Step], claims: list[SlideClaim]) -> None:
    seen: dict[str, int] = {}
    for step in steps:
        seen[step.kind] = seen.get(step.kind, 0) + 1
        for claim in claims:
            if claim.kind == step.kind and claim.occurrence == seen[step.kind]:
                step.slide = f"the slide says {claim.says}: wrong, {claim.why}"


def size_path(steps: list[Step], input_shape: tuple[int, ...]) -> str:
    """How the image size changes, e.g. '28×28 → 26×26 → 13×13 → flatten 5,408'."""
    path = ["×".join(map(str, input_shape[1:]))]
    for s in steps:
        if s.kind == "Flatten":
            path.append(f"flatten {math.prod(s.out_shape):,}")
            break
        if len(s.out_shape) >= 2 and s.out_shape[1:] != s.in_shape[1:]:
            path.append("×".join(map(str, s.out_shape[1:])))
    return " → ".join(path)


def walk_text(steps: list[Step], title: str = "", total_params: int | None = None) -> str:
    """The walk as a table: layer, output shape, parameters, and the formulas underneath each layer."""
    width = max([len(s.description) for s in steps] + [14]) + 2
    lines = [title] if title else []
    lines += [f"{'#':>3}  {'layer':<{width}}{'output (C×H×W)':<18}{'params':>10}"]
    for i, s in enumerate(steps, 1):
        lines.append(f"{i:>3}  {s.description:<{width}}{_dims_text(s.out_shape):<18}{s.params:>10,}")
        pad = " " * 7
        lines += [f"{pad}size   {h}" for h in s.how]
        if s.params_how:
            lines.append(f"{pad}params {s.params_how}")
        if s.slide:
            lines.append(f"{pad}!! {s.slide}")
    total = total_params if total_params is not None else sum(s.params for s in steps)
    lines.append(f"total parameters: {total:,}")
    return "\n".join(lines)
