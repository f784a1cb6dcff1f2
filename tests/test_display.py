"""Figures are matplotlib Figure objects (no pyplot, no backend switch), and the objects a notebook shows as a
cell's last expression render themselves: history curves, reports, explanations, data sets, model summaries.
Class names in any script draw without empty boxes or warnings."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from cnnlab.data import Dataset, Split
from cnnlab.explain.viz.fonts import drawable, shown_names
from cnnlab.explain.viz.plots import confusion_figure, curves_figure, figure_png, save_figure

PNG = b"\x89PNG\r\n\x1a\n"
NAMES = ["猫", "강아지", "Äpfel"]


def tiny_dataset(n: int = 12, classes=("zero", "one", "two")) -> Dataset:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 10, 10), dtype=torch.uint8, generator=gen)
    labels = torch.arange(n) % len(classes)
    return Dataset("tiny", list(classes), {"train": Split(images, labels)})


def is_png(data: bytes) -> bool:
    from PIL import Image
    import io

    if not data.startswith(PNG):
        return False
    with Image.open(io.BytesIO(data)) as image:
        return image.size[0] > 10 and image.size[1] > 10


def png_in_html(text: str) -> bool:
    import base64
    import re

    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    return bool(found) and all(is_png(base64.b64decode(f)) for f in found)


HISTORY = [{"epoch": 1, "train_loss": 1.2, "train_acc": 0.6, "val_loss": 1.0, "val_acc": 0.7},
           {"epoch": 2, "train_loss": 0.8, "train_acc": 0.8, "val_loss": 0.9, "val_acc": 0.75}]


def test_figures_are_figures_and_save_atomically(tmp_path):
    fig = curves_figure(HISTORY)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    path = save_figure(fig, tmp_path / "curves.png")
    assert is_png(path.read_bytes()) and [p.name for p in tmp_path.iterdir()] == ["curves.png"]
    assert is_png(figure_png(confusion_figure(torch.tensor([[3, 1], [0, 4]]), ["a", "b"])))
    assert is_png(fig._repr_png_())  # shows itself in a notebook, with no pyplot involved


def test_gallery_and_audio_figures_are_figures(tmp_path):
    from cnnlab.explain.ops.filters import gallery
    from cnnlab.explain.viz.gallery import gallery_figure, read_image
    from cnnlab.modalities.audio.figures import clip_figure
    from cnnlab.modalities.audio.wav import write_wav

    fig = gallery_figure(gallery(read_image(max_size=48), ["sobel-x", "sharpen"]), "猫 gallery")
    assert isinstance(fig, Figure) and is_png(fig._repr_png_())
    write_wav(tmp_path / "tone.wav", 0.5 * np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000), 8000)
    fig = clip_figure(tmp_path / "tone.wav", prediction="강아지 (0.9)")
    assert isinstance(fig, Figure) and len(fig.axes) == 5 and is_png(fig._repr_png_())  # 3 panels, 2 colour bars


def test_figure_modules_never_import_pyplot_or_switch_the_backend():
    """In a fresh process: importing every figure module and drawing leaves the user's backend and pyplot alone."""
    code = """
import sys, matplotlib
matplotlib.use("svg")
import cnnlab.explain.viz.plots as plots, cnnlab.explain.viz.maps, cnnlab.explain.viz.batch
import cnnlab.explain.viz.gallery, cnnlab.explain.viz.display, cnnlab.modalities.audio.figures, cnnlab.training.loop
plots.figure_png(plots.curves_figure([{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5}]))
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules, "library code imported pyplot"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_training_run_keeps_the_users_backend(tmp_path):
    """cnnlab.train(TrainConfig(...)) after `import cnnlab.api`, as in a notebook: PNGs written, backend kept."""
    import matplotlib

    import cnnlab.api  # noqa: F401
    import cnnlab
    from cnnlab import TrainConfig

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        result = cnnlab.train(TrainConfig(data="mnist-mini", model="mnist-2conv", limit=100, epochs=1, batch_size=50,
                                          runs_dir=str(tmp_path)))
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    assert is_png((result.run_dir / "curves.png").read_bytes())
    assert is_png((result.run_dir / "confusion_matrix.png").read_bytes())


def test_classifier_fit_keeps_the_backend_and_returns_a_history(mini):
    import matplotlib

    from cnnlab import Classifier, History

    before = matplotlib.get_backend()
    clf = Classifier("mnist-2conv")
    history = clf.fit(mini["train"].images[:120], mini["train"].labels[:120], epochs=1, validation_split=0.25)
    assert matplotlib.get_backend() == before
    assert isinstance(history, History) and isinstance(history, list) and len(history) == 1
    assert history[0]["epoch"] == 1 and history.metric("val_acc") == [r["val_acc"] for r in history]
    assert isinstance(clf.history, History) and len(clf.history) == 1
    assert is_png(history._repr_png_())
    summary = clf.summary()
    assert "Total params" in str(summary) and "conv2d_1 (Conv2d)" in summary._repr_html_()


def test_history_of_nothing_shows_no_picture():
    from cnnlab.runs.history import History

    assert History()._repr_png_() is None and History(HISTORY) == HISTORY


def test_report_shows_a_table_and_the_confusion_matrix():
    from cnnlab.runs.evaluate import regression_report, report

    logits = torch.tensor([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0], [3.0, 0, 0]])
    rep = report(logits, torch.tensor([0, 1, 2, 1]), NAMES)
    page = rep._repr_html_()
    assert "<table>" in page and "precision" in page and "강아지" in page and png_in_html(page)
    assert isinstance(rep.figure(), Figure)
    reg = regression_report(torch.tensor([[1.0], [2.0]]), torch.tensor([1.5, 2.0]), "age")
    assert "<table>" in reg._repr_html_() and "age" in reg._repr_html_()


def test_dataset_shows_its_description_and_sample_images():
    from cnnlab import show_batch

    data = tiny_dataset()
    page = data._repr_html_()
    assert "tiny: 1×10×10 images" in page and png_in_html(page)
    fig = show_batch(data, n=6, augment="shift=0.1")
    assert isinstance(fig, Figure) and len(fig.axes) == 12  # 6 images, then the same 6 augmented
    token_ids = Split(torch.zeros(4, 5, dtype=torch.int64), torch.tensor([0, 1, 0, 1]))
    tokens = Dataset("words", ["a", "b"], {"train": token_ids})
    assert "<pre>" in tokens._repr_html_() and "data:image/png" not in tokens._repr_html_()
    with pytest.raises(ValueError, match="uint8 images"):
        show_batch(tokens)


def test_explanation_shows_probabilities_grad_cam_and_feature_maps(mini):
    from cnnlab import build
    from cnnlab.explain.inside import Explanation, feature_maps, grad_cam
    from cnnlab.explain.samples import InputImage

    torch.manual_seed(0)
    model = build("mnist-2conv", (1, 28, 28), 10)
    image = mini["test"].images[0]
    x = image[None].float() / 255
    maps = feature_maps(model, x)
    probs = torch.softmax(model.eval()(x), 1)[0].detach().numpy()
    result = Explanation(InputImage(image, int(mini["test"].labels[0]), "test[0]"), probs, int(probs.argmax()), maps,
                         None, None, grad_cam(model, x), [str(i) for i in range(10)])
    page = result._repr_html_()
    assert len(maps) == 2 and page.count("data:image/png") == 2 + len(maps) and png_in_html(page)


def test_model_summary_text_is_the_cli_table():
    from cnnlab import build, model_summary
    from cnnlab.models import summary_table

    model = build("mnist-2conv", (1, 28, 28), 10)
    summary = model_summary(model, (1, 28, 28))
    assert str(summary) == summary_table(model, (1, 28, 28))
    assert summary.total == sum(p.numel() for p in model.parameters())
    page = summary._repr_html_()
    assert page.startswith("<table>") and f"{summary.total:,}" in page and page.count("<tr>") == len(summary.rows) + 1


# ── class names in any script ──────────────────────────────────────────────────────────────────────────────
def test_class_names_in_any_script_draw_without_warnings(tmp_path):
    confusion = torch.tensor([[5, 1, 0], [2, 3, 0], [0, 0, 4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (a missing glyph above all) fails the test
        fig = confusion_figure(confusion, NAMES, title="猫 vs 강아지")
        save_figure(fig, tmp_path / "cm.png")
        figure_png(fig)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[2] == "Äpfel"  # DejaVu Sans, always present, has it
    for i, name in enumerate(NAMES[:2]):
        # drawn by name where a font has the glyphs (e.g. fonts-noto-cjk), else by index with a note
        assert labels[i] == (name if drawable(name) else f"[{i}]")
    notes = " ".join(t.get_text() for t in fig.texts)
    assert all(drawable(text) for text in labels + [notes, fig.axes[0].get_title()])


def test_shown_names_spell_out_what_no_font_has(monkeypatch):
    import cnnlab.explain.viz.fonts as fonts

    monkeypatch.setattr(fonts, "_coverage", lambda family: frozenset(range(0x250)))  # Latin only
    names, note = fonts.shown_names(NAMES)
    assert names == ["[0]", "[1]", "Äpfel"]
    assert "[0] = \\u732b" in note and "fonts-noto-cjk" in note
    assert fonts.shown_names(["cat", "dog"]) == (["cat", "dog"], "")
    assert fonts.escaped("猫 cat") == "\\u732b cat"


def test_figures_with_foreign_names_in_every_kind_draw_without_warnings():
    from cnnlab.explain.viz.batch import batch_figure, top_losses_figure
    from cnnlab.explain.viz.maps import prediction_figure

    images = np.random.default_rng(0).integers(0, 256, (3, 1, 8, 8), dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = [batch_figure(images, NAMES, "猫"), prediction_figure(images[0], [(0, 0.7), (1, 0.2)], NAMES, "猫.png", 1),
                top_losses_figure(images, [f"true {n}" for n in NAMES], [True, False, True], "강아지")]
        for fig in figs:
            assert is_png(figure_png(fig))
    assert shown_names(NAMES)[0][2] == "Äpfel"
    # a name shown by index uses its class index, as in the confusion matrix
    fig = batch_figure(images, ["강아지", "Äpfel", "?"], classes=NAMES)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [("강아지" if drawable("강아지") else "[1]"), "Äpfel", "?"]


@pytest.mark.slow
def test_objects_render_inline_in_a_fresh_jupyter_kernel(tmp_path):
    """Each object as a cell's last expression in a real kernel: a picture or HTML, and the backend untouched."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cells = ["import matplotlib\nbackend = matplotlib.get_backend()\nimport cnnlab\n"
             "from cnnlab import Classifier, load_data, show_batch, model_summary, build",
             "data = load_data('mnist-mini')\ndata",
             "show_batch(data, n=8)",
             "clf = Classifier('mnist-2conv')\nhistory = clf.fit(data['train'].images[:100], "
             "data['train'].labels[:100], epochs=1)\nhistory",
             "clf.summary()",
             "from cnnlab.runs.evaluate import report\n"
             "report(clf._logits(data['test'].images[:50]), data['test'].labels[:50], data.classes)",
             "print(matplotlib.get_backend() == backend)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    shown = [c.outputs[-1] for c in nb.cells[1:-1]]
    assert all(o.output_type == "execute_result" for o in shown)
    kinds = [sorted(set(o.data) - {"text/plain"}) for o in shown]
    assert kinds == [["text/html"], ["image/png"], ["image/png"], ["text/html"], ["text/html"]]
    assert nb.cells[-1].outputs[0].text.strip() == "True"


def test_the_curves_mark_the_epoch_the_run_kept():
    history = [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 0.9, "val_acc": 0.6},
               {"epoch": 2, "train_loss": 0.8, "train_acc": 0.6, "val_loss": 1.1, "val_acc": 0.7}]
    labels = lambda fig: fig.axes[1].get_legend_handles_labels()[1]  # noqa: E731
    assert "best val 0.7000 (epoch 2)" in labels(curves_figure(history))
    assert "kept val 0.6000 (epoch 1)" in labels(curves_figure(history, kept=1))  # e.g. chosen by val_loss
