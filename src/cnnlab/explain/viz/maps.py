"""Figures of a model's insides: feature maps, first-layer kernels, Grad-CAM, top-k probabilities."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnlab.runs.checkpoint import atomic_write
from cnnlab.explain.viz.fonts import drawing, escaped, shown_names
from cnnlab.explain.viz.plots import new_figure

TILE_PIXELS = 96  # drawn size of one feature map / kernel (whole multiples of its pixels, so they stay crisp)


def as_display(image) -> np.ndarray:
    """uint8 (C, H, W) (tensor or array) → (H, W) gray or (H, W, 3) RGB for imshow."""
    image = np.asarray(image)
    return image[0] if image.shape[0] != 3 else image.transpose(1, 2, 0)


def show_image(ax, image, title: str = "", fontsize: int = 9) -> None:
    """An image without axes; gray images in gray, 0-255."""
    shown = as_display(image)
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def _save_png(image: Image.Image, path: Path) -> None:
    atomic_write(Path(path), lambda tmp: image.save(tmp, format="PNG"))


def save_input(image, path: Path, min_size: int = 192) -> None:
    """The input image as a PNG, enlarged by a whole factor (pixels stay crisp) to at least min_size."""
    shown = as_display(image)
    scale = max(1, -(-min_size // max(shown.shape[:2])))
    big = Image.fromarray(shown).resize((shown.shape[1] * scale, shown.shape[0] * scale), Image.Resampling.NEAREST)
    _save_png(big, path)


def _font(size: int):
    """DejaVu Sans (shipped with matplotlib; it has ×, → and −), else Pillow's own font."""
    import matplotlib

    try:
        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"), size)
    except OSError:
        return ImageFont.load_default()


def tile_grid(tiles: np.ndarray, names: list[str], title: list[str], cols: int | None = None,
              legend: tuple[np.ndarray, str, str] | None = None) -> Image.Image:
    """RGB tiles (N, h, w, 3) uint8 → one image: a title, then the tiles enlarged and named in their corner.

    Drawn with Pillow rather than matplotlib: a model can have dozens of convolution layers, and this is
    ~20× faster per figure.  `legend` (an RGB strip (1, W, 3), its left and right labels) goes under the title.
    """
    n, h, w, _ = tiles.shape
    cols = cols or (n if n <= 4 else int(np.ceil(np.sqrt(n) * 1.25)))
    rows = -(-n // cols)
    scale = max(1, round(TILE_PIXELS / max(h, w)))
    th, tw, gap = h * scale, w * scale, 6
    title_font, name_font = _font(14), _font(10)
    top = 12 + 20 * len(title) + (26 if legend is not None else 0)
    text_width = max(title_font.getlength(line) for line in title) if title else 0
    width = int(max(cols * (tw + gap) + gap, text_width + 2 * gap, 320))
    canvas = Image.new("RGB", (width, top + rows * (th + gap) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(title):
        draw.text((gap, 8 + 20 * i), line, fill="black", font=title_font)
    if legend is not None:
        strip, left, right = legend
        canvas.paste(Image.fromarray(strip).resize((200, 12), Image.Resampling.NEAREST), (gap + 50, top - 20))
        draw.text((gap, top - 21), left, fill="black", font=name_font)
        draw.text((gap + 256, top - 21), right, fill="black", font=name_font)
    big = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    for i in range(n):
        r, c = divmod(i, cols)
        x, y = gap + c * (tw + gap), top + r * (th + gap)
        canvas.paste(Image.fromarray(big[i]), (x, y))
        box = draw.textbbox((x + 2, y + 1), names[i], font=name_font)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        draw.text((x + 2, y + 1), names[i], fill="white", font=name_font)
    return canvas


def _colormap(name: str, values: np.ndarray) -> np.ndarray:
    """values in [0, 1] → uint8 RGB through a matplotlib colormap."""
    from matplotlib import colormaps

    return (colormaps[name](values)[..., :3] * 255).astype(np.uint8)


def feature_maps_image(maps: np.ndarray, label: str, max_maps: int = 64) -> Image.Image:
    """The maps (C, H, W) of one layer as a grid, each scaled to its own range; at most max_maps, the most active."""
    c, h, w = maps.shape
    chosen = np.arange(c)
    if c > max_maps:  # keep the most active maps, in channel order
        chosen = np.sort(np.argsort(-maps.reshape(c, -1).mean(1), kind="stable")[:max_maps])
    shown = maps[chosen]
    low, high = shown.min(axis=(1, 2), keepdims=True), shown.max(axis=(1, 2), keepdims=True)
    scaled = np.where(high > low, (shown - low) / np.where(high > low, high - low, 1), 0.0)
    dead = int((maps.reshape(c, -1).max(1) <= 0).sum())
    which = f"the {len(chosen)} most active of {c} maps" if c > max_maps else f"{c} maps"
    notes = f"{which}, {h}×{w} each, each scaled to its own range (dark = low, yellow = high)"
    notes += f"; {dead} of {c} all zero" if dead else ""
    return tile_grid(_colormap("viridis", scaled), [str(i) for i in chosen], [label, notes])


def plot_feature_maps(maps: np.ndarray, label: str, path: Path, max_maps: int = 64) -> None:
    """feature_maps_image written to path (PNG)."""
    _save_png(feature_maps_image(maps, label, max_maps), path)


def kernels_image(kernels: np.ndarray, layer: str) -> Image.Image:
    """First-layer kernels (O, C, kh, kw): gray inputs on a blue–white–red scale around 0, RGB inputs as colours."""
    o, c, kh, kw = kernels.shape
    title = f"{layer}: the {o} learned {kh}×{kw} kernels of the first convolution layer"
    if c == 3:  # each kernel as a small colour image, scaled to its own range
        tiles = kernels.transpose(0, 2, 3, 1)
        low, high = tiles.min(axis=(1, 2, 3), keepdims=True), tiles.max(axis=(1, 2, 3), keepdims=True)
        rgb = ((tiles - low) / np.maximum(high - low, 1e-12) * 255).astype(np.uint8)
        image = tile_grid(rgb, [str(i) for i in range(o)], [title, "RGB kernels, each scaled to its own range"],
                          cols=min(o, 8 if o <= 32 else 16))
    else:
        tiles = kernels.mean(1)  # (O, kh, kw); with one input channel, the kernel itself
        top = float(np.abs(tiles).max()) or 1.0
        how = f"blue = negative, white = 0, red = positive weight (scale ±{top:.3g})"
        how += "" if c == 1 else f"; mean over the {c} input channels"
        legend = (_colormap("RdBu_r", np.linspace(0, 1, 200))[None], f"{-top:.2g}", f"+{top:.2g}")
        image = tile_grid(_colormap("RdBu_r", (tiles / top + 1) / 2), [str(i) for i in range(o)], [title, how],
                          cols=min(o, 8 if o <= 32 else 16), legend=legend)
    return image


def plot_kernels(kernels: np.ndarray, layer: str, path: Path) -> None:
    """kernels_image written to path (PNG)."""
    _save_png(kernels_image(kernels, layer), path)


def prediction_figure(image, top: list[tuple[int, float]], classes: list[str], source: str = "",
                      label: int | None = None):
    """The input uint8 (C, H, W) next to a bar chart of its top-k (class index, probability) pairs (true class
    in green, a wrong guess red); returns a matplotlib Figure."""
    names, note = shown_names([str(c) for c in classes])
    with drawing():
        fig = new_figure((8.4, 3.2))
        ax_img, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
        truth = f"   true class: {names[label]}" if label is not None else ""
        show_image(ax_img, image, f"{escaped(source)}{truth}", 9)
        values = [p for _, p in top][::-1]
        colors = ["tab:green" if i == label else "tab:red" if (j == 0 and label is not None) else "tab:blue"
                  for j, (i, _) in enumerate(top)][::-1]
        bars = ax_bar.barh(range(len(top)), values, color=colors)
        ax_bar.set_yticks(range(len(top)), [names[i] for i, _ in top][::-1])
        for bar, v in zip(bars, values):
            ax_bar.text(min(v + 0.02, 0.86), bar.get_y() + bar.get_height() / 2, f"{v:.3f}", va="center", fontsize=9)
        ax_bar.set_xlim(0, 1)
        ax_bar.set_xlabel("probability")
        ax_bar.set_title(f"top {len(top)}: predicted {names[top[0][0]]} ({top[0][1]:.1%})", fontsize=10)
        ax_bar.grid(axis="x", alpha=0.3)
        if note:
            fig.text(0.01, 0.0, note, fontsize=7, va="top", wrap=True)
        fig.tight_layout()
    return fig


def grad_cam_figure(image, heatmap: np.ndarray, title: str):
    """Input uint8 (C, H, W) | Grad-CAM heat map (H, W) in [0, 1] | the heat map over the input; a Figure."""
    with drawing():
        fig = new_figure((9.6, 3.6))
        axes = fig.subplots(1, 3)
        show_image(axes[0], image, "input")
        shown = axes[1].imshow(heatmap, cmap="jet", vmin=0, vmax=1, interpolation="bilinear")
        axes[1].set_title("Grad-CAM (1 = strongest evidence)", fontsize=9)
        fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.03)
        base = as_display(image)
        gray = base if base.ndim == 2 else base.mean(2)
        axes[2].imshow(gray, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        axes[2].imshow(heatmap, cmap="jet", alpha=0.45, vmin=0, vmax=1, interpolation="bilinear")
        axes[2].set_title("overlay", fontsize=9)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(escaped(title), fontsize=10)
        fig.tight_layout()
    return fig
