"""Text classifiers over token ids (B, L): Kim's (2014) text CNN and a bag-of-words baseline without convolution."""
from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.registry import register

POOLS = ("max", "meanmax")  # TextCNN pooling over time: Kim's max, or max and mean side by side
PAD_ID, UNK_ID = 0, 1  # the tokenizer's padding and unknown-word ids (cnnlab.modalities.text.tokenizer)
EMBED_INIT = 0.05  # word vectors start uniform in ±0.05 (as Keras's Embedding), not N(0, 1): Adam moves a row
# by about lr per step, so small vectors let words find their place in a few epochs (at lr 1e-2: 3-5 epochs)


def small_init(embedding: nn.Embedding | nn.EmbeddingBag) -> None:
    """Uniform ±EMBED_INIT word vectors, the padding row zero."""
    with torch.no_grad():
        embedding.weight.uniform_(-EMBED_INIT, EMBED_INIT)
        embedding.weight[PAD_ID] = 0


def _check(input_shape: tuple[int, ...], vocab_size: int | None, name: str, min_length: int = 1) -> int:
    """The sequence length L, after checking the model gets token ids and a vocabulary size."""
    if len(input_shape) != 1:
        raise ValueError(f"model {name!r} takes token ids of shape (L,), got {'x'.join(map(str, input_shape))}: "
                         "train it on a text data set")
    if not vocab_size or vocab_size < 2:
        raise ValueError(f"model {name!r} needs vocab_size (set by a text data set's tokenizer), got {vocab_size}")
    if input_shape[0] < min_length:
        raise ValueError(f"model {name!r} needs texts of at least {min_length} tokens, got length {input_shape[0]}")
    return input_shape[0]


class TextCNN(nn.Module):
    """Embedding → parallel Conv1d of several widths (n-gram detectors) → max over time (Kim 2014; with pool
    "meanmax", the default, also the mean over the windows that start on a word) → dropout → dense."""

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 64, filters: int = 128,
                 widths: tuple[int, ...] = (3, 4, 5), dropout: float = 0.5, word_dropout: float = 0.0,
                 pool: str = "meanmax"):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        self.pool = pool
        self.word_dropout = word_dropout
        self.widths = tuple(int(w) for w in widths)
        self.filters = int(filters)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        small_init(self.embedding)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, filters, w) for w in self.widths)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(filters * len(self.widths) * (2 if pool == "meanmax" else 1), num_classes)

    def feature_maps(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Per width w: ReLU activations (B, filters, L − w + 1); position t covers words t..t+w−1."""
        x = self.embedding(tokens).transpose(1, 2)  # (B, L, E) → (B, E, L): channels = embedding dimensions
        return [torch.relu(conv(x)) for conv in self.convs]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.training and self.word_dropout > 0:  # hide random words (as unknown): no single word decides
            hide = (torch.rand(tokens.shape, device=tokens.device) < self.word_dropout) & (tokens != PAD_ID)
            tokens = tokens.masked_fill(hide, UNK_ID)
        maps = self.feature_maps(tokens)
        pooled = [m.amax(dim=2) for m in maps]  # max over time: (B, filters) each
        if self.pool == "meanmax":  # and the mean over the windows that start on a word (padding left out)
            words = (tokens != PAD_ID).to(maps[0].dtype)
            for m in maps:
                mask = words[:, None, :m.shape[2]]
                pooled.append((m * mask).sum(2) / mask.sum(2).clamp_min(1))
        return self.fc(self.dropout(torch.cat(pooled, 1)))  # (B, classes)


class BagOfWords(nn.Module):
    """Mean of the word embeddings (order ignored, padding skipped) → Dense hidden → ReLU → dropout → Dense."""

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 64, hidden: int = 128,
                 dropout: float = 0.5):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=PAD_ID)
        small_init(self.embedding)
        self.head = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, num_classes))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedding(tokens))  # (B, L) → (B, E) → (B, classes)


@register("textcnn", "Kim 2014 text CNN: embedding 64 → Conv1d widths 3/4/5 × 128 → max and mean over time → dropout "
          "→ dense",
          inputs="tokens")
def textcnn(input_shape: tuple[int, ...], num_classes: int, vocab_size: int | None = None, embed_dim: int = 64,
            filters: int = 128, widths: tuple[int, ...] = (3, 4, 5), dropout: float = 0.5,
            word_dropout: float = 0.0, pool: str = "meanmax") -> nn.Module:
    """Kim's sentence CNN on token ids (L,); the embedding is learned from scratch (or filled with
    pretrained vectors by cnnlab.modalities.text.vectors.fill_embedding)."""
    _check(input_shape, vocab_size, "textcnn", max(widths))
    return TextCNN(vocab_size, num_classes, embed_dim, filters, widths, dropout, word_dropout, pool)


@register("bow-dnn", "bag-of-words baseline: mean of word embeddings 64 → Dense 128 → dropout → dense (no convolution)",
          inputs="tokens")
def bow_dnn(input_shape: tuple[int, ...], num_classes: int, vocab_size: int | None = None, embed_dim: int = 64,
            hidden: int = 128, dropout: float = 0.5) -> nn.Module:
    """The baseline that shows what convolution adds: word order and n-grams are thrown away."""
    _check(input_shape, vocab_size, "bow-dnn")
    return BagOfWords(vocab_size, num_classes, embed_dim, hidden, dropout)
