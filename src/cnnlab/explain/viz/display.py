"""What objects show as the last expression of a notebook cell: HTML tables with figures embedded as PNG.

Jupyter calls an object's `_repr_html_` / `_repr_png_` (IPython's rich display protocol); the methods on
History, Report, Explanation, Dataset and Summary call the functions here, so that the data classes stay free
of drawing code and matplotlib is imported only when something is displayed.
"""
from __future__ import annotations

import base64
import html
import io

from cnnlab.explain.viz.plots import figure_png


def png_bytes(picture) -> bytes:
    """PNG bytes of a matplotlib Figure or a PIL Image."""
    if hasattr(picture, "savefig"):
        return figure_png(picture)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def img_tag(picture, alt: str = "") -> str:
    """An <img> with the picture inlined as a base64 PNG data URI (a notebook keeps it in the saved file)."""
    data = base64.b64encode(png_bytes(picture)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def table(header: list[str], rows: list[list], caption: str = "") -> str:
    """An HTML table; numbers right-aligned, every cell escaped."""
    def cell(tag: str, value) -> str:
        align = ' style="text-align:right"' if isinstance(value, (int, float)) else ""
        text = f"{value:.4f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)
        return f"<{tag}{align}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", h) for h in header)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    top = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{top}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(report) -> str:
    """A classification report: headline, per-class precision/recall/F1/support, then the confusion matrix."""
    from cnnlab.explain.viz.plots import confusion_figure

    n = int(report.confusion.sum())
    head = (f"<p><b>loss</b> {report.loss:.4f} &nbsp; <b>accuracy</b> {report.accuracy:.4f} &nbsp; "
            f"<b>top-{report.top_k}</b> {report.top_k_accuracy:.4f} &nbsp; ({n} images)</p>")
    rows = [[c, p, r, f, int(s)] for c, p, r, f, s in zip(report.classes, report.precision.tolist(),
                                                             report.recall.tolist(), report.f1.tolist(),
                                                             report.support.tolist())]
    per_class = table(["class", "precision", "recall", "f1", "support"], rows)
    matrix = img_tag(confusion_figure(report.confusion, report.classes), "confusion matrix")
    return f"<div>{head}{per_class}{matrix}</div>"


def regression_html(report) -> str:
    """A regression report as a one-row table."""
    return table(["target", "MSE", "MAE", "RMSE", "R²", "rows"],
                 [[report.target, report.loss, report.mae, report.rmse, report.r2, report.n]])


def explanation_html(explanation, max_layers: int = 6, max_maps: int = 32) -> str:
    """An explanation: the top-5 probabilities, Grad-CAM over the input, then each conv layer's feature maps."""
    from cnnlab.explain.viz.maps import feature_maps_image, grad_cam_figure, prediction_figure

    item = explanation.input
    classes = explanation.classes or [str(i) for i in range(len(explanation.probabilities))]
    parts = [img_tag(prediction_figure(item.image, explanation.top(5), classes, item.source, item.label),
                     "top-5 probabilities")]
    cam = explanation.cam
    if cam is not None:
        title = f"Grad-CAM for class {classes[cam.class_index]!r} on module {cam.layer!r}"
        parts.append(img_tag(grad_cam_figure(item.image, cam.heatmap, title), "Grad-CAM"))
    maps = explanation.feature_maps
    for i, fm in enumerate(maps[:max_layers], 1):
        parts.append(img_tag(feature_maps_image(fm.maps, f"conv layer {i} of {len(maps)} (module {fm.layer!r}): "
                                                         f"{fm.label}", max_maps), f"feature maps {i}"))
    if len(maps) > max_layers:
        parts.append(f"<p>(the first {max_layers} of {len(maps)} conv layers shown)</p>")
    return "<div>" + "<br/>".join(parts) + "</div>"


def dataset_html(data, n: int = 16) -> str:
    """A data set: its description (shape, classes, split sizes) and a grid of sample images."""
    from cnnlab.explain.viz.batch import show_batch

    text = f"<pre>{html.escape(data.describe())}</pre>"
    first = next((s for s in data.splits.values() if len(s)), None)
    if first is None or first.images.dim() != 4 or first.images.dtype.is_floating_point:
        return text  # token ids or audio features: no picture
    return text + img_tag(show_batch(data, n=n), "sample images")


def summary_html(summary) -> str:
    """A model summary: the Keras table (layer, output shape, parameters) and the totals."""
    rows = [[r.name, str((None, *r.output_shape)), r.params] for r in summary.rows]
    totals = (f"<p>Total params: {summary.total:,} &nbsp; Trainable params: {summary.trainable:,} &nbsp; "
              f"Non-trainable params: {summary.total - summary.trainable:,}</p>")
    return table(["Layer (type)", "Output shape", "Param #"], rows) + totals
