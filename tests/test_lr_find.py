"""The learning-rate range test: the sweep, the suggestion, the untouched model, the plot and `cnnlab lr-find`."""
import math

import pytest
import torch
from matplotlib.figure import Figure

from cnnlab.cli import main
from cnnlab.data.preprocess import Preprocess
from cnnlab.models import build
from cnnlab.training.config import TrainConfig
from cnnlab.training.lr_find import BETA, lr_find, lr_find_figure, suggest


def test_suggestion_is_the_steepest_descent_before_the_minimum():
    lrs = [10 ** (-7 + 8 * i / 99) for i in range(100)]
    # a loss falling fastest at lr 1e-3 (a logistic step in log10 lr), bottoming out at 1e-1, then rising
    smoothed = [2 - 1.5 / (1 + math.exp(-3 * (math.log10(lr) + 3))) + max(0.0, math.log10(lr) + 1) ** 2
                for lr in lrs]
    steepest, minimum = suggest(lrs, smoothed)
    assert abs(math.log10(steepest) + 3) < 0.1
    assert abs(math.log10(minimum) + 1) < 0.3
    noisy = [2 + 0.02 * math.sin(7 * i) for i in range(100)]  # flat but noisy, then a dip at 1e-2 … 1e-1
    noisy = [v - (1.0 if 1e-2 <= lr <= 1e-1 else 0.0) * (math.log10(lr) + 2) for v, lr in zip(noisy, lrs)]
    assert 1e-3 <= suggest(lrs, noisy)[0] <= 1e-1  # not a wiggle at the start of the range
    with pytest.raises(ValueError, match="only 2 steps"):
        suggest(lrs[:2], smoothed[:2])


def _split(mini):
    from cnnlab.data.splits import stratified_split

    return stratified_split(mini["train"], 0.05, 0)[1]  # 300 digits


def test_range_test_sweeps_exponentially_and_leaves_the_model_as_it_was(mini):
    train = _split(mini)
    model = build("mnist-2conv", (1, 28, 28), 10).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    cfg = TrainConfig(model="mnist-2conv", batch_size=16, precision="fp32")
    result = lr_find(model, train, cfg, Preprocess.fit(train.images, "standardize"), 10, steps=12)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert not model.training and torch.equal(torch.get_rng_state(), rng)
    assert 3 <= len(result.lrs) <= 12 and result.lrs[0] == pytest.approx(1e-7)
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:])]
    assert max(ratios) == pytest.approx(min(ratios)) and ratios[0] == pytest.approx((10 / 1e-7) ** (1 / 11))
    assert result.smoothed[0] == pytest.approx(result.losses[0])  # bias correction: no pull towards 0
    assert result.smoothed[1] == pytest.approx((BETA * (1 - BETA) * result.losses[0] + (1 - BETA) *
                                                result.losses[1]) / (1 - BETA ** 2))
    assert result.suggestion in result.lrs and result.minimum_lr in result.lrs
    fig = lr_find_figure(result)
    assert isinstance(fig, Figure) and fig.axes[0].get_xscale() == "log"


def test_range_test_stops_when_the_loss_diverges(mini):
    train = _split(mini)
    cfg = TrainConfig(model="mnist-2conv", batch_size=16, optimizer="sgd", precision="fp32")
    result = lr_find(build("mnist-2conv", (1, 28, 28), 10), train, cfg, Preprocess.fit(train.images, "standardize"),
                     10, steps=20, start_lr=1e-1, end_lr=1e12)
    assert result.stopped == "diverged" and len(result.lrs) < 20
    last = result.smoothed[-1]
    assert not math.isfinite(last) or last > 4 * min(result.smoothed[:-1])


def test_cli_writes_the_plot_and_prints_the_lr(tmp_path, capsys):
    out = tmp_path / "lr.png"
    code = main(["lr-find", "mnist-mini", "--model", "mnist-2conv", "--limit", "200", "--batch-size", "16",
                 "--steps", "10", "--precision", "fp32", "--out", str(out)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = out.with_suffix(".csv").read_text().splitlines()
    assert rows[0] == "step,lr,loss,smoothed_loss" and 3 <= len(rows) - 1 <= 10
    assert lines[-1].startswith("--lr ") and float(lines[-1].split()[1]) > 0
    assert "steps of 16 images" in lines[0]
