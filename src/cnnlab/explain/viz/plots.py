"""Training curves and confusion matrices as matplotlib Figures, and the helpers every figure shares.

Figures are built on `matplotlib.figure.Figure` directly: no pyplot, no global figure list, and the user's
backend is never switched, so a notebook's inline display keeps working.  A Figure renders itself to PNG with
its own Agg canvas whatever the backend; the CLI saves it with save_figure, a notebook displays it inline.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch
from matplotlib.figure import Figure

from cnnlab.explain.viz.fonts import drawing, escaped, shown_names
from cnnlab.runs.checkpoint import atomic_write


class InlineFigure(Figure):
    """A Figure that shows itself as a PNG when it is the last expression of a notebook cell: a Figure made
    without pyplot has no display hook of its own (Jupyter's inline backend shows only pyplot's figures)."""

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def new_figure(figsize: tuple[float, float]) -> InlineFigure:
    """An empty Figure (inches), not registered with pyplot: it is freed like any object once unreferenced."""
    return InlineFigure(figsize=figsize)


def save_figure(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write the figure as a PNG, atomically (a reader never sees half a file); returns the path."""
    path = Path(path)
    with drawing():
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))
    return path


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """The figure as PNG bytes (for _repr_png_ and web pages)."""
    buffer = io.BytesIO()
    with drawing():
        fig.savefig(buffer, dpi=dpi, bbox_inches="tight", format="png")
    return buffer.getvalue()


def curves_figure(history: list[dict], kept: int | None = None) -> Figure:
    """Loss and accuracy (or, for regression, mean absolute error) per epoch, train vs validation, side by
    side, with the epoch `kept` marked (the run's best epoch, whatever its monitor chose it by; default: the best
    validation accuracy).  history: one dict per epoch with epoch, train_loss, train_acc / train_mae and, when
    validated, val_loss, val_acc / val_mae."""
    epochs = [row["epoch"] for row in history]
    many = len(epochs) > 20  # markers on every point would blur into a thick line
    with drawing():
        fig = new_figure((10, 3.8))
        axes = fig.subplots(1, 2)
        second = ("mae", "mean absolute error") if history and "train_mae" in history[0] else ("acc", "accuracy")
        for ax, metric, label in ((axes[0], "loss", "loss"), (axes[1], *second)):
            ax.plot(epochs, [r.get(f"train_{metric}", float("nan")) for r in history], "-" if many else "o-",
                    label="train")
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
        if kept is not None:
            val_acc = [(value, epoch) for value, epoch in val_acc if epoch == kept]
        if val_acc:
            best, epoch = max(val_acc, key=lambda t: (t[0], -t[1]))
            axes[1].axvline(epoch, color="gray", linestyle=":", linewidth=1)
            axes[1].plot([epoch], [best], "*", color="tab:red", markersize=11,
                         label=f"{'kept' if kept is not None else 'best'} val {best:.4f} (epoch {epoch})")
        for ax in axes:
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=9)
    return fig


def confusion_figure(confusion: torch.Tensor, classes: list[str], title: str = "") -> Figure:
    """Raw counts and row-normalised rates (recall on the diagonal) of a (K, K) confusion matrix (rows = true
    class), with class names on both axes (by index, spelled out in a note, when no font can draw a name)."""
    k = len(classes)
    counts = torch.as_tensor(confusion).to(torch.float64)
    rates = counts / counts.sum(1, keepdim=True).clamp_min(1)
    names, note = shown_names([str(c) for c in classes])
    size = min(max(4.5, 0.55 * k + 2), 13.0)  # inches per panel; capped so 30+ classes stay one screen wide
    tick_size = 9 if k <= 15 else 7 if k <= 40 else 5
    with drawing():
        fig = new_figure((2 * size + 1, size))
        axes = fig.subplots(1, 2)
        for ax, values, name, fmt, top in ((axes[0], counts, "counts", "{:.0f}", None),
                                           (axes[1], rates, "row-normalised", "{:.2f}", 1.0)):
            image = ax.imshow(values.numpy(), cmap="Blues", vmin=0, vmax=top)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
            ax.set_xticks(range(k), names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center",
                          fontsize=tick_size)
            ax.set_yticks(range(k), names, fontsize=tick_size)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(f"{escaped(title)} — {name}" if title else name)
            if k <= 20:  # numbers in the cells stay readable up to ~20 classes; empty cells stay blank
                _cell_numbers(ax, counts, values, fmt, top)
        if note:
            fig.text(0.01, 0.0, note, fontsize=8, va="top", wrap=True)
        fig.tight_layout()
    return fig


def _cell_numbers(ax, counts: torch.Tensor, values: torch.Tensor, fmt: str, top: float | None) -> None:
    """Each non-empty cell's value, white on dark cells."""
    k = len(counts)
    high = float(values.max()) or 1.0
    for i in range(k):
        for j in range(k):
            if counts[i, j] == 0 and i != j:
                continue
            v = float(values[i, j])
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8 if k > 10 else 9,
                    color="white" if v > (top or high) / 2 else "black")


def plot_curves(history: list[dict], path: str | Path, kept: int | None = None) -> Path:
    """curves_figure written to path (PNG)."""
    return save_figure(curves_figure(history, kept), path)


def plot_confusion(confusion: torch.Tensor, classes: list[str], path: str | Path, title: str = "") -> Path:
    """confusion_figure written to path (PNG)."""
    return save_figure(confusion_figure(confusion, classes, title), path)
