"""Input batch → model input: uint8 images (or float features) become normalised floats; token ids pass through.
The statistics come from the training split and travel with the model."""
from __future__ import annotations

from dataclasses import dataclass

import torch

STATS_BATCH = 4096  # images per step when computing statistics (bounds the float copy)


def _channel_moments(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and variance (C,1,1) float64, in units of x/255, of uint8 images (N, C, H, W), exact:
    from each channel's histogram of the 256 pixel values (one bincount pass, ~15× faster than summing x and x²)."""
    values = torch.arange(256, dtype=torch.float64) / 255
    counts = torch.stack([torch.bincount(images[:, c].reshape(-1), minlength=256)
                          for c in range(images.shape[1])]).double()
    pixels = counts.sum(1)
    mean = counts @ values / pixels
    var = counts @ values ** 2 / pixels - mean ** 2
    return mean[:, None, None], var[:, None, None]


def _sums_moments(images: torch.Tensor, mode: str, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance float64 in units of x/scale: per channel (C,1,1) for "standardize", per pixel (C,H,W)
    for "featurewise" (like sklearn's preprocessing.scale), from sums of x and x² over batches of images."""
    n = len(images)
    # uint8 pixels: exact integer sums (x ≤ 255, x² ≤ 65,025 fit int32 per image; totals in int64)
    exact = images.dtype == torch.uint8
    total = torch.zeros(images.shape[1:], dtype=torch.int64 if exact else torch.float64)
    total_sq = torch.zeros_like(total)
    for lo in range(0, n, STATS_BATCH):
        x = images[lo:lo + STATS_BATCH].to(torch.int32 if exact else torch.float64)
        total += x.sum(0)
        total_sq += (x * x).sum(0)
    total, total_sq = total.double() / scale, total_sq.double() / scale ** 2
    if mode == "standardize":
        pixels = n * images.shape[2] * images.shape[3]
        mean = total.sum((1, 2)) / pixels
        var = total_sq.sum((1, 2)) / pixels - mean ** 2
        return mean[:, None, None], var[:, None, None]
    mean = total / n  # featurewise: every pixel position its own mean/std
    return mean, total_sq / n - mean ** 2


@dataclass
class Preprocess:
    """x ↦ (x/scale − mean) / std, with mean/std per channel (C,1,1), per pixel (C,H,W), or none.

    scale is 255 for uint8 images (pixel units [0, 1]) and 1 for float features such as log-Mel spectrograms;
    mode "tokens" leaves integer token ids untouched.
    """

    mode: str = "standardize"  # none | standardize | featurewise | tokens
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    scale: float = 255.0

    @classmethod
    def fit(cls, images: torch.Tensor, mode: str) -> Preprocess:
        """Statistics of the training inputs (N, C, H, W), in units of x/scale."""
        if not images.is_floating_point() and images.dtype != torch.uint8:
            return cls("tokens", scale=1.0)
        scale = 255.0 if images.dtype == torch.uint8 else 1.0
        if mode == "none" or len(images) == 0:
            return cls("none", scale=scale)
        if mode == "standardize" and images.dtype == torch.uint8:
            mean, var = _channel_moments(images)
        else:
            mean, var = _sums_moments(images, mode, scale)
        std = var.clamp_min(1e-12).sqrt().clamp_min(1e-3)  # constant pixels (e.g. borders) stay finite
        return cls(mode, mean.float(), std.float(), scale)

    def __call__(self, batch: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """uint8 (B, C, H, W) on any device → float (B, C, H, W), normalised; token ids are returned as they are."""
        if self.mode == "tokens":
            return batch
        return self.normalize(batch.to(dtype) / self.scale)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """float (B, C, H, W) in [0, 1] pixel units (e.g. after augmentation) → normalised, same dtype."""
        if self.mode in ("none", "tokens"):
            return x
        return (x - self.mean.to(x.device, x.dtype)) / self.std.to(x.device, x.dtype)

    def state(self) -> dict:
        """JSON/tensor-only form for checkpoints."""
        return {"mode": self.mode, "mean": self.mean, "std": self.std, "scale": self.scale}

    @classmethod
    def from_state(cls, state: dict) -> Preprocess:
        return cls(state["mode"], state.get("mean"), state.get("std"), state.get("scale", 255.0))

    def describe(self) -> str:
        """What the model's input is, in one line: the formula with this run's scale and statistics."""
        if self.mode == "tokens":
            return "none: integer token ids go to the embedding as they are"
        x = "x/255" if self.scale == 255 else "x" if self.scale == 1 else f"x/{self.scale:g}"
        if self.mode == "none":
            return x
        if self.mode == "standardize":
            return f"({x} − {[round(v, 4) for v in self.mean.flatten().tolist()]}) / " \
                   f"{[round(v, 4) for v in self.std.flatten().tolist()]}"
        return f"({x} − per-position mean) / per-position std"
