"""cnnlab.explain.inside's results as JSON for the page, and the dot product behind one feature-map pixel."""
from __future__ import annotations

import base64

import cv2
import numpy as np
import torch
from torch import nn

from cnnlab.explain.inside import InputImage, conv_sites, explain, trace
from cnnlab.runs.rundir import LoadedRun
from cnnlab.serve.images import png_data_url, to_uint8_range

MAX_MAPS = 64  # feature maps sent per layer: the most active ones, in channel order
OVERLAY_SIZE = 224  # pixels: the Grad-CAM overlay is drawn about this large
TOP_CHANNELS = 8  # input channels listed one by one in a dot product (the rest are summed)


def _maps_json(maps: np.ndarray, max_maps: int = MAX_MAPS) -> dict:
    """(C, H, W) float maps → the shown channels as uint8 bytes (each map scaled to its own range), base64."""
    c, h, w = maps.shape
    chosen = np.arange(c)
    if c > max_maps:
        chosen = np.sort(np.argsort(-maps.reshape(c, -1).mean(1), kind="stable")[:max_maps])
    data, lows, highs = [], [], []
    for i in chosen:
        scaled, low, high = to_uint8_range(maps[i])
        data.append(scaled)
        lows.append(round(low, 5))
        highs.append(round(high, 5))
    blob = np.stack(data).tobytes() if data else b""
    return {"channels": chosen.tolist(), "count": c, "height": h, "width": w, "min": lows, "max": highs,
            "dead": int((maps.reshape(c, -1).max(1) <= 0).sum()),
            "data": base64.b64encode(blob).decode("ascii")}


def cam_overlay(image: np.ndarray, coarse: np.ndarray, size: int = OVERLAY_SIZE) -> str:
    """The input (C, H, W) uint8 in gray with the Grad-CAM heat (jet colours) laid over it, as a PNG data URL."""
    c, h, w = image.shape
    scale = max(1, size // max(h, w))
    big = (w * scale, h * scale)
    base = image[0] if c == 1 else cv2.cvtColor(image.transpose(1, 2, 0), cv2.COLOR_RGB2GRAY)
    base = cv2.resize(base, big, interpolation=cv2.INTER_NEAREST)
    heat = cv2.resize(coarse.astype(np.float32), big, interpolation=cv2.INTER_CUBIC)
    heat = np.clip(heat, 0, 1)
    colour = cv2.applyColorMap(np.round(heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]  # BGR → RGB
    alpha = 0.25 + 0.5 * heat[..., None]  # cold areas stay readable, hot ones glow
    mixed = np.round(base[..., None] * (1 - alpha) + colour * alpha).astype(np.uint8)
    return png_data_url(mixed)


def explanation_json(run: LoadedRun, image: torch.Tensor, class_index: int | None = None,
                     max_maps: int = MAX_MAPS) -> dict:
    """Probabilities, every convolution layer's feature maps, the first layer's kernels and Grad-CAM."""
    ex = explain(run, InputImage(image, None, "upload"), class_index)
    kernels = None
    if ex.kernels is not None:
        k = ex.kernels
        kernels = {"layer": ex.kernels_layer, "shape": list(k.shape), "values": np.round(k, 5).tolist(),
                   "limit": float(np.abs(k).max())}
    cam = None
    if ex.cam is not None:
        cam = {"class": run.classes[ex.cam.class_index], "class_index": ex.cam.class_index, "layer": ex.cam.layer,
               "overlay": cam_overlay(image.numpy(), ex.cam.coarse),
               "coarse": np.round(ex.cam.coarse, 4).tolist()}
    return {"top": [{"class": run.classes[i], "index": i, "p": p} for i, p in ex.top(5)],
            "predicted": run.classes[ex.predicted],
            "input": png_data_url(image.numpy()), "input_shape": list(image.shape),
            "layers": [{"index": i, "layer": fm.layer, "label": fm.label, **_maps_json(fm.maps, max_maps)}
                       for i, fm in enumerate(ex.feature_maps)],
            "kernels": kernels, "cam": cam}


def _padded_input(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """The convolution's input (C, H, W) with its zero padding added, as the kernel slides over it."""
    left, right, top, bottom = conv._reversed_padding_repeated_twice
    return torch.nn.functional.pad(x, (left, right, top, bottom))


@torch.no_grad()
def dot_product(run: LoadedRun, image: torch.Tensor, layer: int, channel: int, row: int, col: int) -> dict:
    """How feature map `channel` of convolution `layer` gets its value at (row, col): the input window under
    the kernel, the kernel, Σ window·kernel + bias, and the value after the layers that follow (BN, ReLU)."""
    model = run.model.cpu().eval()
    x = run.preprocess(image[None])  # (1, C, H, W) normalised as in training
    calls, _ = trace(model, x)
    sites = conv_sites(calls)
    if not 0 <= layer < len(sites):
        raise ValueError(f"layer {layer}: this model has {len(sites)} convolution layers (0..{len(sites) - 1})")
    site = sites[layer]
    conv: nn.Conv2d = site.conv.module
    out = site.conv.output[0]  # (O, h, w)
    if not 0 <= channel < out.shape[0]:
        raise ValueError(f"channel {channel}: layer {layer} has {out.shape[0]} maps (0..{out.shape[0] - 1})")
    if not (0 <= row < out.shape[1] and 0 <= col < out.shape[2]):
        raise ValueError(f"position ({row}, {col}) is outside the {out.shape[1]}×{out.shape[2]} map")

    inputs: list[torch.Tensor] = []
    handle = conv.register_forward_pre_hook(lambda _m, args: inputs.append(args[0].detach().clone()))
    try:
        model(x)
    finally:
        handle.remove()
    conv_input = inputs[site.conv.occurrence - 1][0]  # (C_in, H, W)
    padded = _padded_input(conv, conv_input)
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    per_group = conv.in_channels // conv.groups
    group = channel // (conv.out_channels // conv.groups)
    first = group * per_group
    r0, c0 = row * sh, col * sw
    window = padded[first:first + per_group, r0:r0 + dh * (kh - 1) + 1:dh, c0:c0 + dw * (kw - 1) + 1:dw]
    kernel = conv.weight[channel].float()  # (C_in / groups, kh, kw)
    products = (window * kernel).sum((1, 2))  # (C_in / groups,) one partial sum per input channel
    bias = float(conv.bias[channel]) if conv.bias is not None else 0.0
    total = float(products.sum()) + bias
    order = torch.argsort(products.abs(), descending=True)[:TOP_CHANNELS].tolist()
    pad_top = conv._reversed_padding_repeated_twice[2]
    pad_left = conv._reversed_padding_repeated_twice[0]
    return {"layer": layer, "label": site.label, "channel": channel, "row": row, "col": col,
            "in_channels": per_group, "first_in_channel": first, "kernel_size": [kh, kw], "stride": [sh, sw],
            "dilation": [dh, dw], "padding": [pad_top, pad_left],
            "input_size": list(conv_input.shape[1:]), "output_size": list(out.shape[1:]),
            # where the window lies in the (unpadded) input: rows r0 - pad_top ... (may start above row 0)
            "window_origin": [r0 - pad_top, c0 - pad_left],
            "window": np.round(window.numpy(), 4).tolist() if per_group <= 4 else None,
            "kernel": np.round(kernel.numpy(), 4).tolist() if per_group <= 4 else None,
            "channels": [{"in_channel": first + i, "sum": round(float(products[i]), 5),
                          "window": np.round(window[i].numpy(), 4).tolist(),
                          "kernel": np.round(kernel[i].numpy(), 4).tolist()} for i in order],
            "bias": round(bias, 5), "sum": round(total, 5), "conv_output": round(float(out[channel, row, col]), 5),
            "activated": round(float(site.read_at.output[0, channel, row, col]), 5),
            "after": site.label.split(" → ", 1)[1] if " → " in site.label else ""}
