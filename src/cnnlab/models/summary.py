"""A Keras-style model summary: each layer's output shape and parameter count, from one forward pass."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayerRow:
    name: str  # e.g. "conv2d_1 (Conv2d)"
    output_shape: tuple[int, ...]  # per image, without the batch axis
    params: int


def layer_rows(model: nn.Module, input_shape: tuple[int, int, int]) -> list[LayerRow]:
    """One row per leaf module, in call order, with its output shape for a single input: (C, H, W) images or
    features, or (L,) token ids for a model with an embedding."""
    rows: list[LayerRow] = []
    counters: dict[str, int] = {}
    hooks = []

    def hook(module: nn.Module, _inputs, output) -> None:
        kind = type(module).__name__
        counters[kind] = counters.get(kind, 0) + 1
        params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(LayerRow(f"{kind.lower()}_{counters[kind]} ({kind})", tuple(output.shape[1:]), params))

    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    # a model that starts with an embedding reads token ids (1, L), int64: a float zero input would not do
    takes_ids = any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape, dtype=torch.int64 if takes_ids else torch.float32))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return rows


@dataclass
class Summary:
    """A Keras-style model summary: print it for the text table; a notebook shows it as an HTML table."""

    rows: list[LayerRow]
    total: int  # parameters
    trainable: int

    def __str__(self) -> str:
        width = max([len(r.name) for r in self.rows] + [20]) + 2
        line = "─" * (width + 40)
        out = [line, f"{'Layer (type)':<{width}}{'Output shape':<26}{'Param #':>14}", line]
        for r in self.rows:
            out.append(f"{r.name:<{width}}{str((None, *r.output_shape)):<26}{r.params:>14,}")
        out += [line, f"Total params: {self.total:,}", f"Trainable params: {self.trainable:,}",
                f"Non-trainable params: {self.total - self.trainable:,}", line]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        from cnnlab.explain.viz.display import summary_html

        return summary_html(self)


def model_summary(model: nn.Module, input_shape: tuple[int, ...]) -> Summary:
    """Each leaf layer's output shape (one (C, H, W) input, batch axis as None) and parameter count, and totals."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return Summary(layer_rows(model, input_shape), total, trainable)


def summary_table(model: nn.Module, input_shape: tuple[int, int, int]) -> str:
    """The table as text: layer, output shape, parameters, then totals."""
    return str(model_summary(model, input_shape))
