"""--log tensorboard: event files read back with TensorBoard's own reader, the missing-package error, the CLI."""
import csv
import io
import os
import subprocess
import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.cli import main
from cnnlab.training.config import TrainConfig
from cnnlab.training.pipeline import train
from cnnlab.training.tensorboard import (INSTALL_HINT, TensorBoardLogger, display_images, experiment_loggers,
                                         hparam_values)

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

STEP_TAGS = {"step/loss", "step/acc", "step/lr", "step/images_per_s"}
EPOCH_TAGS = {"epoch/train_loss", "epoch/train_acc", "epoch/val_loss", "epoch/val_acc", "epoch/lr",
              "epoch/train_images_per_s"}


def read_events(logdir):
    """Everything in a run's tensorboard/ folder, loaded as `tensorboard --logdir` loads it."""
    return EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0, "tensors": 0}).Reload()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-epoch run of 300 mnist-mini digits with --log tensorboard (batches of 16: ~19 steps per epoch)."""
    cfg = TrainConfig(data="mnist-mini", limit=300, epochs=2, batch_size=16, model="mnist-2conv", log="tensorboard",
                      runs_dir=str(tmp_path_factory.mktemp("runs")), run_name="tb", threads=1)
    result = train(cfg)
    return result, read_events(result.run_dir / "tensorboard")


def test_scalars_per_step_and_per_epoch_match_the_history(run):
    result, events = run
    tags = set(events.Tags()["scalars"])
    assert STEP_TAGS | EPOCH_TAGS <= tags
    steps = [e.step for e in events.Scalars("step/loss")]
    n = steps[1]  # steps per epoch: on_batch_end runs every 10 steps and at each epoch's last step
    assert n > 10 and steps == [10, n, n + 10, 2 * n]  # numbered over the run, not per epoch
    assert all(0 <= e.value <= 1 for e in events.Scalars("step/acc"))
    assert all(e.value > 0 for e in events.Scalars("step/lr"))
    with open(result.run_dir / "history.csv", newline="") as f:
        history = list(csv.DictReader(f))  # written as before, beside the event file
    for tag in EPOCH_TAGS:
        points = events.Scalars(tag)
        assert [e.step for e in points] == [1, 2]
        column = tag.split("/", 1)[1]
        assert [e.value for e in points] == pytest.approx([float(row[column]) for row in history], rel=1e-4)
    assert (result.run_dir / "metrics.json").exists()


def test_hparams_hold_the_config_and_the_final_metrics(run):
    result, events = run
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["model"].string_value == "mnist-2conv"
    assert hparams["epochs"].number_value == 2
    assert hparams["log"].string_value == "tensorboard"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    metric_tags = {m.name.tag for m in experiment.metric_infos}
    assert {"final/val_acc", "final/val_loss", "final/test_acc", "final/best_epoch"} <= metric_tags
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert events.Scalars("final/test_acc")[0].value == pytest.approx(metrics["test"]["acc"], rel=1e-5)
    assert events.Scalars("final/best_epoch")[0].value == metrics["best"]["epoch"]
    assert "config/text_summary" in events.Tags()["tensors"]


def test_confusion_matrices_and_a_sample_batch_are_images(run):
    _, events = run
    assert set(events.Tags()["images"]) == {"confusion/test", "images/train_batch"}  # test, else val
    for tag in ("confusion/test", "images/train_batch"):
        (image,) = events.Images(tag)
        pixels = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)))
        assert pixels.shape[:2] == (image.height, image.width)
        assert pixels.std() > 0  # drawn, not blank
    batch = events.Images("images/train_batch")[0]
    assert batch.width > 28 and batch.height > 28  # a grid of several 28×28 digits


def test_missing_tensorboard_stops_before_training_with_the_install_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # `import` now raises ImportError
    cfg = TrainConfig(data="mnist-mini", limit=300, epochs=1, log="tensorboard", runs_dir=str(tmp_path / "runs"))
    with pytest.raises(ValueError, match=r"pip install 'cnnlab\[tensorboard\]'"):
        train(cfg)
    assert not (tmp_path / "runs").exists()  # nothing was started
    code = main(["train", "mnist-mini", "--limit", "300", "--epochs", "1", "--log", "tensorboard",
                 "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and INSTALL_HINT in err


def test_cli_train_log_tensorboard_and_resume(tiny_csv, tmp_path, capsys):
    code = main(["train", str(tiny_csv), "--model", "mnist-2conv", "--epochs", "1", "--batch-size", "64",
                 "--schedule", "constant", "--log", "tensorboard", "--runs-dir", str(tmp_path / "runs"),
                 "--run-name", "cli", "--quiet"])
    assert code == 0, capsys.readouterr().err
    events = read_events(tmp_path / "runs" / "cli" / "tensorboard")
    assert STEP_TAGS | EPOCH_TAGS <= set(events.Tags()["scalars"])
    assert "confusion/val" in events.Tags()["images"]  # a CSV without a test split: val's
    first = [e.step for e in events.Scalars("step/loss")]
    # --resume keeps logging (cfg.log is in the run's config); the curves continue in the same folder
    assert main(["train", "--resume", str(tmp_path / "runs" / "cli"), "--epochs", "2", "--quiet"]) == 0
    events = read_events(tmp_path / "runs" / "cli" / "tensorboard")
    assert [e.step for e in events.Scalars("epoch/val_acc")] == [1, 2]
    steps = [e.step for e in events.Scalars("step/loss")]
    assert steps[:len(first)] == first and steps == sorted(set(steps)) and len(steps) == 2 * len(first)


def test_log_choices_and_default():
    assert experiment_loggers(TrainConfig()) == []
    assert isinstance(experiment_loggers(TrainConfig(log="tensorboard"))[0], TensorBoardLogger)
    with pytest.raises(ValueError, match="log 'wandb' is not one of tensorboard"):
        TrainConfig(log="wandb")


def test_hparam_values_are_what_the_hparams_plugin_takes():
    values = hparam_values({"lr": None, "epochs": 3, "image_size": [32, 32], "extra": {}, "model": "cnn",
                            "nesterov": False, "_dataset": {"name": "x"}})
    assert values == {"epochs": 3, "image_size": "[32, 32]", "model": "cnn", "nesterov": False}


def test_display_images_rescales_each_image_to_0_1():
    x = torch.stack([torch.linspace(-3, 5, 16).view(1, 4, 4), torch.full((1, 4, 4), 2.0)])
    shown = display_images(x)
    assert shown.shape == x.shape
    assert shown[0].min() == 0 and shown[0].max() == 1
    assert torch.isfinite(shown[1]).all() and shown[1].max() <= 1  # a flat image does not divide by zero


@pytest.mark.slow  # two processes: ~15 s
def test_only_rank_0_writes_under_torchrun(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # `--` before train: torchrun's parser takes --log for --log-dir
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "cnnlab", "--", "train", "mnist-mini", "--limit", "300", "--epochs", "1", "--model",
                           "mnist-2conv", "--batch-size", "64", "--log", "tensorboard", "--runs-dir", str(tmp_path),
                           "--run-name", "ddp", "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list((tmp_path / "ddp" / "tensorboard").iterdir())) == 1  # one event file: rank 1 wrote none
    events = read_events(tmp_path / "ddp" / "tensorboard")
    assert [e.step for e in events.Scalars("epoch/val_acc")] == [1]
