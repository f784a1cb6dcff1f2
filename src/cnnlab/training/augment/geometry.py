"""Per-sample affine warps of a batch: one 2×3 matrix per image → a sampling grid (plus, for elastic distortion, a
smoothed random displacement field) → F.grid_sample, with Keras fills."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def affine_matrices(angle: torch.Tensor, shear: torch.Tensor, zoom_x: torch.Tensor, zoom_y: torch.Tensor,
                    shift_x: torch.Tensor, shift_y: torch.Tensor, flip_x: torch.Tensor, flip_y: torch.Tensor,
                    height: int, width: int) -> torch.Tensor:
    """(B, 2, 3) matrices for F.affine_grid (output → input, normalised coordinates, align_corners=False).

    All arguments are (B,) tensors: angle and shear in radians (positive angle turns the picture
    counter-clockwise as shown, y pointing down), zoom factors as in Keras (the input is read at zoom × the
    output offset, so zoom < 1 magnifies), shifts in pixels (positive moves the content right / down), flips
    as booleans.  The content is zoomed, sheared, turned, flipped, then shifted, about the image centre.
    """
    cos, sin, tan = angle.cos(), angle.sin(), shear.tan()
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)

    def mat(a, b, c, d):  # (B, 2, 2) from four (B,) entries, row by row
        return torch.stack([a, b, c, d], 1).reshape(-1, 2, 2)

    unflip = mat(torch.where(flip_x, -one, one), zero, zero, torch.where(flip_y, -one, one))
    unturn = mat(cos, -sin, sin, cos)  # inverse of the turn [[cos, sin], [−sin, cos]] (y down)
    unshear = mat(one, -tan, zero, one)  # inverse of x ← x + tan(shear)·y
    zoom = mat(zoom_x, zero, zero, zoom_y)
    m = zoom @ unshear @ unturn @ unflip  # (B, 2, 2): output offset from the centre → input offset, pixels
    t = -(m @ torch.stack([shift_x, shift_y], 1)[:, :, None])  # (B, 2, 1) pixels
    # pixels → normalised units: x·2/W, y·2/H (with align_corners=False the image spans [−1, 1] edge to edge)
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=m.dtype)
    linear = m * scale[None, :, None] / scale[None, None, :]
    return torch.cat([linear, t * scale[None, :, None]], 2)


def displacement_field(noise: torch.Tensor, sigma: float, alpha: float, source: tuple[int, int]) -> torch.Tensor:
    """Elastic distortion's displacements (Simard, Steinkraus & Platt 2003, "Best practices for convolutional
    neural networks applied to visual document analysis"; torchvision's ElasticTransform): noise (B, 2, h, w)
    uniform in [−1, 1] at the output's size, each component smoothed by a Gaussian of `sigma` pixels (zeros beyond
    the edge, as Simard's scipy.ndimage.gaussian_filter with mode="constant") and scaled by `alpha` pixels;
    sigma and alpha are in the input's pixels (`source` (H, W)).  Returns (B, h, w, 2) x, y offsets in the
    normalised units of sampling_grid."""
    b, _, h, w = noise.shape
    sigma = sigma * h / source[0]  # the field is drawn at the output's size
    radius = max(1, int(3 * sigma + 0.5))  # scipy.ndimage.gaussian_filter's with truncate=3
    taps = torch.arange(-radius, radius + 1, dtype=noise.dtype, device=noise.device)
    kernel = torch.exp(-taps ** 2 / (2 * sigma ** 2))
    kernel /= kernel.sum()
    field = noise.reshape(b * 2, 1, h, w)
    field = F.conv2d(field, kernel.view(1, 1, 1, -1), padding=(0, radius))
    field = F.conv2d(field, kernel.view(1, 1, -1, 1), padding=(radius, 0))
    scale = torch.tensor([2.0 * alpha / source[1], 2.0 * alpha / source[0]], dtype=noise.dtype, device=noise.device)
    return field.reshape(b, 2, h, w).permute(0, 2, 3, 1) * scale


def sampling_grid(theta: torch.Tensor, height: int, width: int, wrap: bool = False,
                  source: tuple[int, int] | None = None, offset: torch.Tensor | None = None) -> torch.Tensor:
    """(B, H, W, 2) input x, y per output pixel: F.affine_grid(theta, align_corners=False) computed as two
    broadcast sums per coordinate (about 10× faster on a CPU than its batched matmul).  The coordinates are
    normalised, so an output of another size than the input's reads the same picture at that resolution.  With
    wrap, each coordinate is folded into [−1, 1) and rescaled for the input (`source` (H, W), default the output's
    size) padded by one pixel on every side.  `offset` (B, H, W, 2): normalised x, y displacements added to each
    output pixel's input position before that (elastic distortion, displacement_field)."""
    grid = torch.empty(theta.shape[0], height, width, 2, dtype=theta.dtype, device=theta.device)
    xs = (torch.arange(width, dtype=theta.dtype, device=theta.device) * 2 + 1) / width - 1  # pixel centres
    ys = (torch.arange(height, dtype=theta.dtype, device=theta.device) * 2 + 1) / height - 1
    for k, size in enumerate(tuple(reversed(source)) if source else (width, height)):
        a, b, c = (theta[:, k, j, None, None] for j in range(3))  # (B, 1, 1) each
        coord = torch.add(a * xs + c, b * ys[:, None], out=grid[..., k])  # (B, 1, W) + (B, H, 1)
        if offset is not None:
            coord.add_(offset[..., k].to(coord.dtype))
        if wrap:
            coord.sub_(2 * torch.floor((coord + 1) / 2)).mul_(size / (size + 2))
    return grid


def warp(x: torch.Tensor, theta: torch.Tensor, fill: str = "nearest", cval: float = 0.0,
         size: tuple[int, int] | None = None, offset: torch.Tensor | None = None) -> torch.Tensor:
    """Bilinear resampling of x (B, C, H, W) through theta (B, 2, 3) into (B, C, *size) (default: H × W, the
    warp and a resize in one pass), each output pixel's position moved by `offset` (B, *size, 2) when given
    (normalised units: displacement_field); outside pixels per the fill mode.

    constant: cval; nearest: the edge pixel (aaa|abcd|ddd); reflect: mirrored about the edge (cba|abcd|dcb,
    as scipy/Keras 'reflect'); wrap: the image tiled (bcd|abcd|abc).
    """
    height, width = size or x.shape[2:]
    grid = sampling_grid(theta.to(x.dtype), height, width, wrap=fill == "wrap", source=tuple(x.shape[2:]),
                         offset=offset)
    if fill == "wrap":  # one circular pixel of padding lets bilinear interpolation blend across the seam
        return F.grid_sample(F.pad(x, (1, 1, 1, 1), mode="circular"), grid, mode="bilinear",
                             padding_mode="border", align_corners=False)
    if fill == "constant":  # grid_sample pads with zeros: shift the values so that zero stands for cval
        if cval:
            return F.grid_sample(x - cval, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + cval
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    padding = {"nearest": "border", "reflect": "reflection"}[fill]
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=False)
