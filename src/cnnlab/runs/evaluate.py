"""Inference over a split and the metrics of a classifier: accuracy, top-k, confusion matrix, per-class P/R/F1,
their macro and weighted averages and balanced accuracy (as scikit-learn defines them)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.training.augment.geometry import affine_matrices
from cnnlab.training.device import autocast, eval_batch
from cnnlab.training.optim import build_loss, probabilities
from cnnlab.data.preprocess import Preprocess


@torch.inference_mode()
def predict_logits(model: nn.Module, images: torch.Tensor, preprocess: Preprocess, device: torch.device,
                   dtype: torch.dtype | None = None, batch_size: int | None = None,
                   channels_last: bool = True, tta: str | None = None) -> torch.Tensor:
    """Logits (N, K) float32 on the CPU for inputs (N, ...), in eval mode, `batch_size` images at a time (None:
    64 on a CPU, 1024 on a GPU; see training.device.eval_batch).

    tta="flip" averages each image's logits with those of its left-right mirror image; tta="shift" with those
    of the image moved by one pixel left, right, up and down (edge pixels repeated into the gap); tta="multicrop"
    weighs the image, its mirror and two one-pixel translations of both; tta="rotate" the image, its mirror and
    both turned by ±TTA_DEGREES (see tta_views).
    """
    return _predict(model, images, preprocess, device, dtype, batch_size, channels_last,
                    lambda x: (tta_logits(model, x, tta),), 1)[0]


@torch.inference_mode()
def predict_logits_and_plain(model: nn.Module, images: torch.Tensor, preprocess: Preprocess, device: torch.device,
                             dtype: torch.dtype | None = None, batch_size: int | None = None,
                             channels_last: bool = True, tta: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(predict_logits(..., tta), predict_logits(..., None)), both (N, K) float32 on the CPU, from the forward
    passes of the TTA alone: its first view is the input itself, whose logits are the plain ones (a run's final
    report gives both figures; with flip this saves a third of the scoring, with multicrop a seventh)."""
    return _predict(model, images, preprocess, device, dtype, batch_size, channels_last,
                    lambda x: tta_and_plain_logits(model, x, tta), 2)


def _predict(model: nn.Module, images: torch.Tensor, preprocess: Preprocess, device: torch.device,
             dtype: torch.dtype | None, batch_size: int | None, channels_last: bool, logits_of,
             outputs: int) -> tuple[torch.Tensor, ...]:
    """The batched eval-mode loop of predict_logits*: `logits_of(x)` gives a tuple of `outputs` (n, K) logits
    per preprocessed batch x; each is concatenated over the batches ((0, 0) each for no inputs)."""
    batch_size = eval_batch(batch_size, device)
    was_training = model.training
    model.eval()
    out = []
    for lo in range(0, len(images), batch_size):
        x = preprocess(images[lo:lo + batch_size].to(device, non_blocking=True))
        if channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, dtype):
            out.append(tuple(logits.cpu() for logits in logits_of(x)))
    model.train(was_training)
    if not out:
        return (torch.zeros(0, 0),) * outputs
    return tuple(torch.cat(column) for column in zip(*out))


def tta_views(x: torch.Tensor, tta: str | None) -> tuple[list[torch.Tensor], list[float]]:
    """The test-time views of a preprocessed batch and their weights (summing to 1).

    flip: x and its mirror image, 1/2 each.  shift: x and its four one-pixel moves, 1/5 each.  multicrop
    (airbench's TTA level 2, Jordan 2024): x and its mirror (1/4 each), then the image moved one pixel up-left
    and one down-right (reflected edges), each with its mirror (1/8 each).  rotate: x, its mirror, x turned by
    +TTA_DEGREES and by −TTA_DEGREES and their mirrors, 1/6 each (for data trained with rotations, as the faces
    augmentation's ±10°).  Inputs other than images: x alone.
    """
    if tta == "flip" and x.dim() == 4:
        return [x, x.flip(3)], [0.5, 0.5]
    if tta == "shift" and x.dim() == 4:
        return [x, *shifted(x)], [0.2] * 5
    if tta == "multicrop" and x.dim() == 4:
        corners = translated(x)
        return [x, x.flip(3), *(v for c in corners for v in (c, c.flip(3)))], [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
    if tta == "rotate" and x.dim() == 4:
        return [v for c in (x, *rotated(x)) for v in (c, c.flip(3))], [1 / 6] * 6
    return [x], [1.0]


def tta_logits(model: nn.Module, x: torch.Tensor, tta: str | None, stacked: bool = False) -> torch.Tensor:
    """The model's float32 logits for a preprocessed batch, averaged over the test-time views of tta_views
    (None: x alone).  Traceable, so an ONNX export carries the same averaging; `stacked` runs the views as one
    batch (the model must treat samples independently, as in eval mode)."""
    views, weights = tta_views(x, tta)
    if len(views) == 1:
        return model(x).float()
    if stacked:  # one forward over all views: an exported graph holds each layer once
        logits = model(torch.cat(views)).float()
        logits = logits.reshape(len(views), -1, logits.shape[-1])
        return sum(w * logits[i] for i, w in enumerate(weights))
    return tta_and_plain_logits(model, x, tta)[0]  # one view after another: 2.3x faster than stacked on a CPU


def tta_and_plain_logits(model: nn.Module, x: torch.Tensor, tta: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(tta_logits(model, x, tta), model(x)'s float32 logits), the views run one after another; the first view
    of every TTA is x itself, so the plain logits cost no extra pass."""
    views, weights = tta_views(x, tta)
    plain = model(views[0]).float()
    if len(views) == 1:
        return plain, plain
    logits = weights[0] * plain
    for view, w in zip(views[1:], weights[1:]):
        logits = logits + w * model(view).float()
    return logits, plain


def _like(c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return c.contiguous(memory_format=torch.channels_last) if x.is_contiguous(memory_format=torch.channels_last) \
        else c.contiguous()


def shifted(x: torch.Tensor) -> list[torch.Tensor]:
    """x (N, C, H, W) moved by one pixel right, left, down and up; the edge row or column is repeated into
    the gap (black stays black on digits; faces keep their border)."""
    h, w = x.shape[-2:]
    padded = nn.functional.pad(x, (1, 1, 1, 1), mode="replicate")
    crops = [padded[..., 1:h + 1, 0:w], padded[..., 1:h + 1, 2:w + 2], padded[..., 0:h, 1:w + 1],
             padded[..., 2:h + 2, 1:w + 1]]
    return [_like(c, x) for c in crops]


def translated(x: torch.Tensor) -> list[torch.Tensor]:
    """x (N, C, H, W) moved one pixel down-right and one up-left, the gap filled by reflection."""
    h, w = x.shape[-2:]
    padded = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    return [_like(padded[..., 0:h, 0:w], x), _like(padded[..., 2:h + 2, 2:w + 2], x)]


TTA_DEGREES = 8.0  # tta="rotate": chosen on FER2013's validation split (5°: 70.88%, 8°: 71.10%, 11°: 70.84% mean)


def rotated(x: torch.Tensor, degrees: float = TTA_DEGREES) -> list[torch.Tensor]:
    """x (N, C, H, W) turned about its centre by +degrees (counter-clockwise) and by −degrees: bilinear
    resampling, the corners filled with the nearest edge pixel (the training augmentation's default fill).
    Traceable: the sampling grids are built from constants of the image size by plain broadcast arithmetic, so an
    ONNX export holds the same turns."""
    h, w = x.shape[-2:]
    zero, one, no = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64), torch.zeros(2) > 0
    angles = torch.tensor([math.radians(degrees), -math.radians(degrees)], dtype=torch.float64)
    theta = affine_matrices(angles, zero, one, one, zero, zero, no, no, h, w)  # (2, 2, 3), normalised units
    xs = (torch.arange(w, dtype=torch.float64) * 2 + 1) / w - 1  # pixel centres, as F.affine_grid places them
    ys = (torch.arange(h, dtype=torch.float64) * 2 + 1) / h - 1
    views = []
    for t in theta:
        grid = torch.stack([t[k, 0] * xs + t[k, 1] * ys[:, None] + t[k, 2] for k in (0, 1)], -1)  # (H, W, 2)
        grid = grid.to(x.device, x.dtype).expand(x.shape[0], h, w, 2)
        views.append(_like(nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                                                     align_corners=False), x))
    return views


def confusion_matrix(labels: torch.Tensor, preds: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K, K) counts: row = true class, column = predicted class."""
    index = labels * num_classes + preds
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def topk_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    k = min(k, logits.shape[1])
    return (logits.topk(k, 1).indices == labels[:, None]).any(1).sum().item() / len(labels)  # exact: hits / N


@dataclass
class Report:
    """Metrics of predictions on a labelled split."""

    classes: list[str]
    loss: float
    accuracy: float
    top_k: int
    top_k_accuracy: float
    confusion: torch.Tensor  # (K, K) int64, rows = true class

    @property
    def headline(self) -> dict[str, float]:
        """The figures a run's last lines print: loss and accuracy."""
        return {"loss": self.loss, "acc": self.accuracy}

    def metric(self, name: str) -> float | None:
        """A figure by the name a monitor gives it after its split (val_acc → "acc"): the headline's, or
        "balanced_acc"; None for another name."""
        return self.balanced_accuracy if name == "balanced_acc" else self.headline.get(name)

    @property
    def support(self) -> torch.Tensor:
        return self.confusion.sum(1)

    @property
    def recall(self) -> torch.Tensor:
        """(K,) float64 true positives / support; 0 for a class absent from the labels (sklearn's zero_division=0)."""
        return self.confusion.diag().double() / self.confusion.sum(1).clamp_min(1)

    @property
    def precision(self) -> torch.Tensor:
        """(K,) float64 true positives / predictions; 0 for a class never predicted (sklearn's zero_division=0)."""
        return self.confusion.diag().double() / self.confusion.sum(0).clamp_min(1)

    @property
    def f1(self) -> torch.Tensor:
        """(K,) float64 harmonic mean of precision and recall; 0 where both are 0."""
        p, r = self.precision, self.recall
        return torch.where(p + r > 0, 2 * p * r / (p + r).clamp_min(1e-12), torch.zeros_like(p))

    def average(self, kind: str) -> dict[str, float]:
        """Precision, recall and F1 averaged over the K classes as scikit-learn's precision_recall_fscore_support
        (labels=range(K), zero_division=0) does: 'macro' the unweighted mean (a class absent from the labels
        counts with its zeros), 'weighted' the mean weighted by support (0.0 when nothing is labelled).
        ValueError for another kind."""
        if kind not in ("macro", "weighted"):
            raise ValueError(f"average {kind!r}: expected macro or weighted")
        weights = torch.ones(len(self.classes), dtype=torch.float64) if kind == "macro" else self.support.double()
        total = weights.sum().item()
        scores = {"precision": self.precision, "recall": self.recall, "f1": self.f1}
        return {name: (v * weights).sum().item() / total if total > 0 else 0.0 for name, v in scores.items()}

    @property
    def balanced_accuracy(self) -> float:
        """The mean per-class recall over the classes present in the labels (scikit-learn's
        balanced_accuracy_score: a class with no support is left out); nan when nothing is labelled."""
        present = self.support > 0
        return self.recall[present].mean().item() if present.any() else math.nan

    def most_confused(self, n: int = 5) -> list[tuple[str, str, int]]:
        """The n largest off-diagonal cells: (true class, predicted class, count)."""
        off = self.confusion.clone()
        off.fill_diagonal_(0)
        values, index = off.flatten().topk(min(n, off.numel()))
        k = len(self.classes)
        return [(self.classes[i // k], self.classes[i % k], int(v))
                for v, i in zip(values.tolist(), index.tolist()) if v > 0]

    def to_dict(self) -> dict:
        return {"loss": self.loss, "acc": self.accuracy, f"top{self.top_k}_acc": self.top_k_accuracy,
                "n": int(self.confusion.sum()), "balanced_acc": self.balanced_accuracy,
                **{f"{kind}_avg": {k: round(v, 4) for k, v in self.average(kind).items()}
                   for kind in ("macro", "weighted")},
                "per_class": {c: {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                                  "support": int(s)}
                              for c, p, r, f, s in zip(self.classes, self.precision.tolist(), self.recall.tolist(),
                                                       self.f1.tolist(), self.support.tolist())},
                "confusion_matrix": self.confusion.tolist()}

    def figure(self):
        """The confusion matrix (counts and row-normalised rates) as a matplotlib Figure."""
        from cnnlab.explain.viz.plots import confusion_figure

        return confusion_figure(self.confusion, self.classes)

    def _repr_html_(self) -> str:
        """In a notebook: the per-class table and the confusion matrix."""
        from cnnlab.explain.viz.display import report_html

        return report_html(self)

    def text(self) -> str:
        """The report as a table, then the confusion matrix and the most confused pairs."""
        width = max(14, *(len(c) + 2 for c in self.classes))
        n = int(self.confusion.sum())
        lines = [f"loss {self.loss:.4f}   accuracy {self.accuracy:.4f}   top-{self.top_k} {self.top_k_accuracy:.4f}"
                 f"   ({n} images)",
                 f"balanced accuracy {self.balanced_accuracy:.4f}   (mean recall of the "
                 f"{int((self.support > 0).sum())} classes in the labels)", "",
                 f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
        for c, p, r, f, s in zip(self.classes, self.precision.tolist(), self.recall.tolist(), self.f1.tolist(),
                                 self.support.tolist()):
            lines.append(f"{c:<{width}}{p:>10.4f}{r:>10.4f}{f:>10.4f}{s:>10d}")
        lines.append("")
        for kind in ("macro", "weighted"):
            avg = self.average(kind)
            lines.append(f"{kind + ' avg':<{width}}{avg['precision']:>10.4f}{avg['recall']:>10.4f}"
                         f"{avg['f1']:>10.4f}{n:>10d}")
        lines += ["", "confusion matrix (rows: true, columns: predicted)"]
        cell = max(6, len(str(int(self.confusion.max()))) + 1)
        short = [c[:cell - 1] for c in self.classes]
        lines.append(" " * width + "".join(f"{s:>{cell}}" for s in short))
        for c, row in zip(self.classes, self.confusion.tolist()):
            lines.append(f"{c:<{width}}" + "".join(f"{v:>{cell}d}" for v in row))
        pairs = self.most_confused()
        if pairs:
            lines += ["", "most confused (true → predicted: count)"]
            lines += [f"  {t} → {p}: {n}" for t, p, n in pairs]
        return "\n".join(lines)


@dataclass
class RegressionReport:
    """Metrics of predicted numbers against float targets."""

    target: str
    loss: float  # mean squared error
    mae: float  # mean absolute error, in the target's units
    rmse: float
    n: int
    r2: float = float("nan")  # 1 − MSE / variance of the targets: 1 is perfect, 0 is no better than their mean

    @property
    def headline(self) -> dict[str, float]:
        return {"loss": self.loss, "mae": self.mae}

    def metric(self, name: str) -> float | None:
        """A headline figure by name ("loss", "mae"); None for another name."""
        return self.headline.get(name)

    def to_dict(self) -> dict:
        return {"target": self.target, "loss": self.loss, "mse": self.loss, "mae": self.mae, "rmse": self.rmse,
                "r2": self.r2, "n": self.n}

    def _repr_html_(self) -> str:
        """In a notebook: the errors as a one-row table."""
        from cnnlab.explain.viz.display import regression_html

        return regression_html(self)

    def text(self) -> str:
        return (f"{self.target}: mean squared error {self.loss:.4f}   mean absolute error {self.mae:.4f}   "
                f"RMSE {self.rmse:.4f}   R² {self.r2:.4f}   ({self.n} rows)")


def regression_report(outputs: torch.Tensor, targets: torch.Tensor, target: str) -> RegressionReport:
    """Metrics of the first output column (N,) against targets (N,)."""
    error = outputs.float()[:, 0] - targets.float()
    if not len(error):
        return RegressionReport(target, float("nan"), float("nan"), float("nan"), 0)
    mse = (error ** 2).mean().item()
    variance = targets.float().var(unbiased=False).item()
    r2 = 1 - mse / variance if variance > 0 else float("nan")
    return RegressionReport(target, mse, error.abs().mean().item(), mse ** 0.5, len(error), r2)


def report(logits: torch.Tensor, labels: torch.Tensor, classes: list[str], loss_kind: str = "cross_entropy",
           top_k: int = 5) -> Report | RegressionReport:
    """Metrics of logits (N, K) against labels (N,) (a regression report for float targets)."""
    if labels.is_floating_point():
        return regression_report(logits, labels, classes[0] if classes else "target")
    k = len(classes)
    loss = build_loss(loss_kind, k)(logits, labels).item() if len(labels) else float("nan")
    preds = logits.argmax(1)
    acc = (preds == labels).sum().item() / len(labels) if len(labels) else float("nan")  # exact: correct / N
    return Report(classes, loss, acc, min(top_k, k), topk_accuracy(logits, labels, top_k) if len(labels) else 0.0,
                  confusion_matrix(labels, preds, k))


def top_predictions(logits: torch.Tensor, classes: list[str], loss_kind: str, k: int) -> list[list[tuple[str, float]]]:
    """Per row, the k most probable (class, probability) pairs."""
    probs = probabilities(logits, loss_kind)
    values, index = probs.topk(min(k, probs.shape[1]), 1)
    return [[(classes[i], p) for i, p in zip(ri, rv)] for ri, rv in zip(index.tolist(), values.tolist())]
