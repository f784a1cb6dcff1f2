"""Training curves and confusion matrices as PNG files."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from cnnlab.runs.checkpoint import atomic_write  # noqa: E402


def save_figure(fig, path: Path, dpi: int = 110) -> None:
    """Write the figure atomically (PNG) and close it."""
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))
    plt.close(fig)


def plot_curves(history: list[dict], path: Path) -> None:
    """Loss and accuracy (or, for regression, mean absolute error) per epoch, train vs validation, side by
    side (the best validation accuracy marked)."""
    epochs = [row["epoch"] for row in history]
    many = len(epochs) > 20  # markers on every point would blur into a thick line
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    second = ("mae", "mean absolute error") if history and "train_mae" in history[0] else ("acc", "accuracy")
    for ax, metric, label in ((axes[0], "loss", "loss"), (axes[1], *second)):
        ax.plot(epochs, [r[f"train_{metric}"] for r in history], "-" if many else "o-", label="train")
        if any(f"val_{metric}" in r for r in history):
            ax.plot(epochs, [r.get(f"val_{metric}", float("nan")) for r in history], "-" if many else "s-",
                    label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(alpha=0.3)
        if len(epochs) < 15:
            ax.set_xticks(epochs)
    val_acc = [(r["val_acc"], r["epoch"]) for r in history if r.get("val_acc") is not None]
    if val_acc:
        best, epoch = max(val_acc, key=lambda t: (t[0], -t[1]))
        axes[1].axvline(epoch, color="gray", linestyle=":", linewidth=1)
        axes[1].plot([epoch], [best], "*", color="tab:red", markersize=11, label=f"best val {best:.4f} (epoch {epoch})")
    for ax in axes:
        ax.legend(fontsize=9)
    save_figure(fig, path)


def plot_confusion(confusion: torch.Tensor, classes: list[str], path: Path, title: str = "") -> None:
    """Raw counts and row-normalised rates (recall on the diagonal), with class names on both axes."""
    k = len(classes)
    counts = confusion.to(torch.float64)
    rates = counts / counts.sum(1, keepdim=True).clamp_min(1)
    size = min(max(4.5, 0.55 * k + 2), 13.0)  # inches per panel; capped so 30+ classes stay one screen wide
    tick_size = 9 if k <= 15 else 7 if k <= 40 else 5
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, values, name, fmt, top in ((axes[0], counts, "counts", "{:.0f}", None),
                                       (axes[1], rates, "row-normalised", "{:.2f}", 1.0)):
        image = ax.imshow(values.numpy(), cmap="Blues", vmin=0, vmax=top)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(k), classes, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center",
                      fontsize=tick_size)
        ax.set_yticks(range(k), classes, fontsize=tick_size)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{title} — {name}" if title else name)
        if k <= 20:  # numbers in the cells stay readable up to ~20 classes; empty cells stay blank
            high = float(values.max()) or 1.0
            for i in range(k):
                for j in range(k):
                    if counts[i, j] == 0 and i != j:
                        continue
                    v = float(values[i, j])
                    ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8 if k > 10 else 9,
                            color="white" if v > (top or high) / 2 else "black")
    fig.tight_layout()
    save_figure(fig, path)
