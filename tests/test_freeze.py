"""Two-phase fine-tuning pieces: freeze all but the head, BatchNorm as fastai or Keras, discriminative rates."""
import io
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from cnnlab.cli import main
from cnnlab.data.preprocess import Preprocess
from cnnlab.models import build
from cnnlab.runs.checkpoint import load_checkpoint
from cnnlab.training.callbacks import Callback
from cnnlab.training.config import TrainConfig
from cnnlab.training.console import Console
from cnnlab.training.loop import fit
from cnnlab.training.pipeline import seed_everything
from cnnlab.training.freeze import (discriminative_groups, freeze, head_prefix, keep_frozen_bn, layer_groups,
                                    unfreeze)


def _step(model, lr=0.1, frozen_bn=False):
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    if frozen_bn:  # what the loop does after its model.train() when BatchNorm is frozen (Keras)
        keep_frozen_bn(model)
    nn.functional.cross_entropy(model(torch.rand(4, 3, 32, 32)), torch.tensor([0, 1, 2, 0])).backward()
    opt.step()


def test_frozen_body_keeps_its_weights_and_the_head_learns():
    model = build("mobilenet_v3_small", (3, 32, 32), 3)
    assert head_prefix(model) == "classifier.3"
    before = {k: v.clone() for k, v in model.state_dict().items()}
    freeze(model, train_bn=False)
    _step(model, frozen_bn=True)
    after = model.state_dict()
    assert not torch.equal(after["classifier.3.weight"], before["classifier.3.weight"])
    changed = [k for k in after if not k.startswith("classifier.3.") and not torch.equal(after[k], before[k])]
    assert changed == []  # Keras: weights and BatchNorm statistics fixed


def test_fastai_train_bn_keeps_batchnorm_learning_while_frozen():
    model = build("resnet18-imagenet", (3, 32, 32), 3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    freeze(model)  # train_bn=True
    _step(model)
    after = model.state_dict()
    assert torch.equal(after["conv1.weight"], before["conv1.weight"])
    assert not torch.equal(after["bn1.weight"], before["bn1.weight"])
    assert not torch.equal(after["bn1.running_mean"], before["bn1.running_mean"])
    unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())


def test_discriminative_rates_spread_geometrically_from_body_to_head():
    model = build("resnet18-imagenet", (3, 32, 32), 3)
    groups = layer_groups(model, body_groups=3)
    assert len(groups) == 4 and groups[-1] == [model.fc.weight, model.fc.bias]
    assert sum(len(g) for g in groups) == len(list(model.parameters()))
    assert groups[0][0] is model.conv1.weight  # earliest layers first
    rates = [g["lr"] for g in discriminative_groups(groups, 1e-3, lr_mult=100)]
    assert rates[0] == 1e-5 and rates[-1] == 1e-3
    assert abs(rates[1] / rates[0] - rates[2] / rates[1]) < 1e-9


# ── --freeze-epochs in the loop ──────────────────────────────────────────────────────────────────────────
def _fit(mini, run_dir=None, callbacks=None, resume=None, **options):
    """fit() of fastcnn (BatchNorm inside) on 128 mnist-mini digits, 4 steps of 32 per epoch."""
    cfg = TrainConfig(**{**dict(epochs=4, freeze_epochs=2, batch_size=32, model="fastcnn", precision="fp32",
                                schedule="onecycle", optimizer="adamw", lr=2e-3), **options})
    split = mini["train"].subset(torch.arange(128))
    seed_everything(cfg.seed)
    model = build(cfg.model, mini.input_shape, len(mini.classes))
    result = fit(model, split, mini["test"].subset(torch.arange(64)), cfg, Preprocess.fit(split.images, "standardize"),
                 mini.classes, run_dir=run_dir, callbacks=callbacks, resume=resume)
    return result, model


class _Watch(Callback):
    """Copies of the weights and the optimizer's rates at the end of each epoch (raises after `stop_after`)."""

    def __init__(self, stop_after=None):
        self.weights, self.rates, self.stop_after = {}, {}, stop_after

    def on_train_begin(self, state):
        self.weights[0] = {k: v.clone() for k, v in state.model.state_dict().items()}

    def on_epoch_end(self, state, metrics):
        self.weights[state.epoch] = {k: v.clone() for k, v in state.model.state_dict().items()}
        self.rates[state.epoch] = [g["lr"] for g in state.optimizer.param_groups]
        if state.epoch == self.stop_after:
            raise KeyboardInterrupt


def test_freeze_epochs_trains_the_head_alone_then_everything_at_discriminative_rates(mini):
    watch = _Watch()
    _fit(mini, callbacks=[watch])
    head = head_prefix(build("fastcnn", mini.input_shape, 10))
    body = [k for k in watch.weights[0] if not k.startswith(head + ".")]
    assert any("running_mean" in k for k in body)  # BatchNorm in the body: its statistics are kept too (Keras)
    for epoch in (1, 2):
        assert all(torch.equal(watch.weights[epoch][k], watch.weights[0][k]) for k in body)
        assert not torch.equal(watch.weights[epoch][head + ".weight"], watch.weights[epoch - 1][head + ".weight"])
    assert sum(not torch.equal(watch.weights[3][k], watch.weights[2][k]) for k in body) > len(body) // 2
    rates = watch.rates[3]  # in the middle of the second one-cycle: rates spread by lr_mult, earliest lowest
    assert len(rates) >= 3 and rates == sorted(rates) and rates[-1] / rates[0] == pytest.approx(100)
    assert watch.rates[4][-1] == pytest.approx(1e-3 / 10 / 100, rel=0.05)  # the phase's one-cycle ends at lr/2/1000


@pytest.mark.parametrize("stop_after", [1, 3])  # in the frozen phase, and in the unfrozen one
def test_resume_in_either_phase_continues_exactly(mini, tmp_path, stop_after):
    straight = _Watch()
    _fit(mini, callbacks=[straight])
    with pytest.raises(KeyboardInterrupt):
        _fit(mini, run_dir=tmp_path, callbacks=[_Watch(stop_after)])
    saved = load_checkpoint(tmp_path / "last.pt")
    resumed = _Watch()
    _fit(mini, resume=saved, callbacks=[resumed])
    assert resumed.rates[4] == straight.rates[4]
    assert all(torch.equal(v, straight.weights[4][k]) for k, v in resumed.weights[4].items())


def test_console_says_when_the_head_only_phase_ends(mini):
    out = io.StringIO()
    _fit(mini, callbacks=[Console(out, bar=False)])
    lines = out.getvalue().splitlines()
    assert any(line.startswith("frozen    only the head (") for line in lines)
    model = build("fastcnn", mini.input_shape, 10)
    groups = len(layer_groups(model))
    line = next(i for i, text in enumerate(lines) if text.startswith(f"unfrozen: all {groups} layer groups train, lr "))
    assert lines[line - 1].startswith("epoch   2") and lines[line + 1].startswith("epoch   3")
    assert "lr from 1e-05 to 0.001" in lines[line]


def test_freeze_epochs_must_leave_epochs_to_fine_tune(capsys):
    with pytest.raises(ValueError, match=r"^freeze_epochs 3 leaves no epoch to train the whole model; give fewer "
                                         r"than epochs \(3\)"):
        TrainConfig(epochs=3, freeze_epochs=3)
    assert main(["train", "mnist-mini", "--epochs", "2", "--freeze-epochs", "2"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: freeze_epochs 2 leaves no epoch") and err.count("\n") == 1


_RANKS = """
import sys, torch
from cnnlab.data import load_data
from cnnlab.data.preprocess import Preprocess
from cnnlab.models import build
from cnnlab.training import distributed
from cnnlab.training.config import TrainConfig
from cnnlab.training.loop import fit
from cnnlab.training.pipeline import seed_everything
world, device = distributed.join("cpu")
mini = load_data("mnist-mini")
cfg = TrainConfig(epochs=2, freeze_epochs=1, batch_size=32, model="fastcnn", precision="fp32", schedule="constant",
                  optimizer="adamw", lr=2e-3)
split = mini["train"].subset(torch.arange(128))
seed_everything(cfg.seed + world.rank)  # different starting weights: DDP must make them rank 0's
model = build(cfg.model, mini.input_shape, len(mini.classes))
fit(model, split, None, cfg, Preprocess.fit(split.images, "standardize"), mini.classes, world=world, device=device)
torch.save(model.state_dict(), f"{sys.argv[1]}/rank{world.rank}.pt")
distributed.leave(True)
"""


@pytest.mark.slow  # ~20 s: two processes start torch
def test_under_torchrun_the_ranks_stay_identical_through_both_phases(tmp_path):
    script = tmp_path / "ranks.py"
    script.write_text(_RANKS)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script), str(tmp_path)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    # each rank trains on its own shard: without DDP syncing the body's gradients once unfrozen, they would drift
    # (BatchNorm's running statistics differ by the last batch each rank saw: DDP broadcasts rank 0's before each
    # forward pass, and rank 0 alone saves them)
    weights = [k for k in ranks[0] if "running_" not in k and "num_batches" not in k]
    assert weights and all(torch.equal(ranks[0][k], ranks[1][k]) for k in weights)


# ── parameters a model keeps fixed stay fixed through fine-tuning ─────────────────────────────────────────
def test_unfreeze_leaves_the_parameters_a_model_keeps_fixed():
    model = build("whitenet-s", (3, 32, 32), 10)
    fixed = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert "0.weight" in fixed and any(name.endswith(".weight") and ".2." in f".{name}" for name in fixed)
    freeze(model)
    unfreeze(model)
    assert {name for name, p in model.named_parameters() if not p.requires_grad} == fixed
