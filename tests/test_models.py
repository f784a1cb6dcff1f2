import pytest
import torch

from cnnlab.models import MODELS, build, count_parameters, layer_rows, summary_table
from conftest import save_as_older_version

SHAPES = [(1, 28, 28), (1, 48, 48), (3, 32, 32)]
IMAGE_MODELS = [name for name, spec in MODELS.items() if spec.inputs == "image"]


@pytest.mark.parametrize("name", IMAGE_MODELS)
@pytest.mark.parametrize("shape", SHAPES)
def test_every_model_runs_forward_and_backward(name, shape):
    try:
        model = build(name, shape, 7)
    except ValueError as exc:  # cnn3 is the slide's 120×160 model: too deep for 28×28; ConvNeXt needs 32×32
        assert name in ("cnn3", "convnext_tiny") and shape == (1, 28, 28) and "28x28 input" in str(exc)
        return
    x = torch.randn(4, *shape)
    out = model(x)
    assert out.shape == (4, 7)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)  # whitenet fixes some


def test_parameter_counts_of_the_slide_models():
    # Keras's model.summary() for the slide networks on 28×28×1, 10 classes
    assert count_parameters(build("mnist-1conv", (1, 28, 28), 10)) == 320 + 13 * 13 * 32 * 128 + 128 + 1290
    assert count_parameters(build("mnist-2conv", (1, 28, 28), 10)) == 225_034
    assert count_parameters(build("dnn", (1, 48, 48), 7)) == 2304 * 32 + 32 + 32 * 7 + 7
    # 120×160×1 → flatten 12·17·20 = 4,080 (the slide's comment says 204)
    rows = layer_rows(build("cnn3", (1, 120, 160), 4), (1, 120, 160))
    assert [r.output_shape for r in rows if "Flatten" in r.name] == [(4080,)]


def test_summary_table_lists_shapes_and_totals():
    text = summary_table(build("mnist-2conv", (1, 28, 28), 10), (1, 28, 28))
    assert "(None, 32, 26, 26)" in text and "(None, 1600)" in text
    assert "Total params: 225,034" in text


def test_unknown_model_and_bad_classes():
    with pytest.raises(ValueError, match="unknown model 'vgg99'"):
        build("vgg99", (1, 28, 28), 10)
    with pytest.raises(ValueError, match="num_classes"):
        build("cnn", (1, 28, 28), 0)


def test_digitnet_shrinks_28px_digits_to_one_pixel_and_names_too_small_inputs():
    from cnnlab.models import count_macs
    model = build("digitnet", (1, 28, 28), 10)
    rows = layer_rows(model, (1, 28, 28))
    # 28 → 26 → 24 → 12 (5×5 stride 2) → 10 → 8 → 4 → the 4×4 conv leaves 1×1×128
    assert [r.output_shape for r in rows if "Flatten" in r.name] == [(128,)]
    assert 14e6 < count_macs(model, (1, 28, 28)) < 16e6  # twice fastcnn-wide's 7.4M
    assert build("digitnet", (1, 13, 13), 10)(torch.zeros(2, 1, 13, 13)).shape == (2, 10)
    with pytest.raises(ValueError, match="'digitnet' cannot take 1x12x12 input"):
        build("digitnet", (1, 12, 12), 10)


@pytest.mark.parametrize("name", ["textcnn", "bow-dnn"])
def test_summary_of_a_text_model_feeds_token_ids(name):
    model = build(name, (40,), 5, vocab_size=100)
    rows = layer_rows(model, (40,))
    assert rows[0].name.startswith("embedding") and rows[0].params == 100 * 64
    assert rows[-1].output_shape == (5,)
    assert "Total params" in summary_table(model, (40,))


def test_a_fastcnn_patch_run_saved_at_32_64_filters_still_loads_and_resumes(tmp_path, tiny_csv):
    """Checkpoints before version 3 were saved when fastcnn-patch's convs had 32/64 filters: they rebuild so."""
    from cnnlab.runs.checkpoint import load_checkpoint
    from cnnlab.runs.rundir import load_run
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.pipeline import train

    def widths(model):
        return [m.out_channels for m in model if isinstance(m, torch.nn.Conv2d)]

    run = train(TrainConfig(data=str(tiny_csv), model="fastcnn-patch", epochs=1, batch_size=64, threads=1,
                            schedule="constant", runs_dir=str(tmp_path / "runs")))
    assert widths(load_run(run.run_dir).model) == [16, 24, 48]  # today's
    old = build("fastcnn-patch", (1, 28, 28), 10, widths=(16, 32, 64))
    save_as_older_version(run.run_dir, old, 2, torch.optim.AdamW)
    loaded = load_run(run.run_dir)
    assert widths(loaded.model) == [16, 32, 64]
    assert loaded.model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    config = TrainConfig.from_dict({**load_checkpoint(run.run_dir / "last.pt")["config"], "epochs": 2})
    resumed = train(config, resume_dir=run.run_dir)  # as `cnnlab train --resume RUN --epochs 2` does
    assert len(resumed.fit.history) == 2
