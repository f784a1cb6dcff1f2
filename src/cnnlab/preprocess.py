"""uint8 batch → normalised float batch.  The statistics come from the training split and travel with the model."""
from __future__ import annotations

from dataclasses import dataclass

import torch

STATS_BATCH = 4096  # images per step when computing statistics (bounds the float copy)


@dataclass
class Preprocess:
    """x ↦ (x/255 − mean) / std, with mean/std per channel (C,1,1), per pixel (C,H,W), or none."""

    mode: str = "standardize"  # none | standardize | featurewise
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None

    @classmethod
    def fit(cls, images: torch.Tensor, mode: str) -> Preprocess:
        """Statistics of uint8 images (N, C, H, W) in [0, 1] units."""
        if mode == "none" or len(images) == 0:
            return cls("none")
        n = len(images)
        total = torch.zeros(images.shape[1:], dtype=torch.float64)
        total_sq = torch.zeros_like(total)
        for lo in range(0, n, STATS_BATCH):
            x = images[lo:lo + STATS_BATCH].to(torch.float64) / 255
            total += x.sum(0)
            total_sq += (x * x).sum(0)
        if mode == "standardize":
            pixels = n * images.shape[2] * images.shape[3]
            mean = total.sum((1, 2)) / pixels
            var = total_sq.sum((1, 2)) / pixels - mean ** 2
            mean, var = mean[:, None, None], var[:, None, None]
        else:  # featurewise: every pixel position its own mean/std, like sklearn's preprocessing.scale
            mean = total / n
            var = total_sq / n - mean ** 2
        std = var.clamp_min(1e-12).sqrt().clamp_min(1e-3)  # constant pixels (e.g. borders) stay finite
        return cls(mode, mean.float(), std.float())

    def __call__(self, batch: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """uint8 (B, C, H, W) on any device → float (B, C, H, W), normalised."""
        return self.normalize(batch.to(dtype) / 255)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """float (B, C, H, W) in [0, 1] pixel units (e.g. after augmentation) → normalised, same dtype."""
        if self.mode == "none":
            return x
        return (x - self.mean.to(x.device, x.dtype)) / self.std.to(x.device, x.dtype)

    def state(self) -> dict:
        """JSON/tensor-only form for checkpoints."""
        return {"mode": self.mode, "mean": self.mean, "std": self.std}

    @classmethod
    def from_state(cls, state: dict) -> Preprocess:
        return cls(state["mode"], state.get("mean"), state.get("std"))

    def describe(self) -> str:
        if self.mode == "none":
            return "x/255"
        if self.mode == "standardize":
            return f"(x/255 − {[round(v, 4) for v in self.mean.flatten().tolist()]}) / " \
                   f"{[round(v, 4) for v in self.std.flatten().tolist()]}"
        return "(x/255 − per-pixel mean) / per-pixel std"
