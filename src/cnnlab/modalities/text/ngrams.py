"""Which n-grams made a text CNN decide: per filter width, the strongest filters, the words they fired on,
and the class each pushes towards (max-over-time keeps one position per filter, so each filter's whole
contribution to a logit comes from one n-gram: activation × that filter's dense weight)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from cnnlab.models.text import TextCNN
from cnnlab.modalities.text.loader import tokenizer_of
from cnnlab.modalities.text.tokenizer import split_words


@dataclass
class NGram:
    """One filter's strongest n-gram in the text."""

    width: int  # words per n-gram (the filter's width)
    filter: int  # index of the filter among those of its width
    words: list[str]  # the n-gram; out-of-vocabulary words in [brackets], padding as ·
    position: int  # index of its first word in the (lower-cased, truncated) text
    activation: float  # the filter's max-over-time value (after ReLU)
    contribution: float  # activation × dense weight towards the predicted class (logit units)
    pushes: str  # the class this filter's activation raises most


@dataclass
class TextExplanation:
    """A text's prediction and, per filter width, its top n-grams (largest contribution first)."""

    text: str
    classes: list[str]
    probabilities: list[float]
    predicted: str
    ngrams: dict[int, list[NGram]] = field(default_factory=dict)


@torch.inference_mode()
def explain_text(model: torch.nn.Module, meta: dict, text: str, classes: list[str] | None = None,
                 top: int = 5) -> TextExplanation:
    """Top `top` n-grams per filter width of a trained `textcnn` (with its data `meta` and class names)
    for `text`, ranked by their contribution to the predicted class's logit."""
    if not isinstance(model, TextCNN):
        raise ValueError(f"text explanations need a textcnn model, got {type(model).__name__}")
    tokenizer = tokenizer_of(meta)
    classes = list(classes) if classes else [str(i) for i in range(model.fc.out_features)]
    was_training = model.training
    model.eval()
    device = model.fc.weight.device
    ids = torch.from_numpy(tokenizer.encode([text])).to(device)  # (1, L)
    maps = model.feature_maps(ids)  # per width: (1, filters, L − w + 1)
    logits = model(ids)[0]  # (K,), whatever the pooling (max, or max and mean)
    model.train(was_training)
    probs = torch.softmax(logits.float(), 0)
    pred = int(probs.argmax())
    words = split_words(text, tokenizer.lower)[:tokenizer.length]
    shown = [w if i != 1 else f"[{w}]" for w, i in zip(words, tokenizer.ids(words))]  # 1 = UNK_ID
    out = TextExplanation(text, list(classes), probs.tolist(), classes[pred])
    weight = model.fc.weight.float()  # (K, filters × widths), then as many for the means with pool "meanmax"
    for k, (width, fmap) in enumerate(zip(model.widths, maps)):
        value, where = fmap[0].float().max(1)  # (filters,) strongest activation and its position
        w = weight[:, k * model.filters:(k + 1) * model.filters]  # (K, filters)
        contribution = value * w[pred]
        rows = []
        for f in contribution.argsort(descending=True)[:top].tolist():
            start = int(where[f])
            gram = shown[start:start + width]
            gram += ["·"] * (width - len(gram))  # the window reached into the padding
            rows.append(NGram(width, f, gram, start, float(value[f]), float(contribution[f]),
                              classes[int(w[:, f].argmax())]))
        out.ngrams[width] = rows
    return out


def render_explanation(exp: TextExplanation, preview: int = 160) -> str:
    """Plain-text report: the prediction, then per width the top n-grams with contribution and class."""
    ranked = sorted(zip(exp.classes, exp.probabilities), key=lambda cp: -cp[1])
    text = " ".join(exp.text.split())
    lines = [f"text: {text[:preview]}{'…' if len(text) > preview else ''}",
             f"predicted: {exp.predicted}  (" + ", ".join(f"{c} {p:.2f}" for c, p in ranked) + ")",
             "n-grams that fired the strongest filters (contribution = activation × dense weight "
             f"towards {exp.predicted}; [word] = out of vocabulary):"]
    for width, rows in exp.ngrams.items():
        lines.append(f"  width {width}:")
        for r in rows:
            lines.append(f"    {r.contribution:+7.2f}  {' '.join(r.words):<40s}  activation {r.activation:5.2f}  "
                         f"filter {r.filter:3d}  pushes towards {r.pushes}")
    return "\n".join(lines)
