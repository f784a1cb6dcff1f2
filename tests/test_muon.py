"""The muon optimizer: Newton-Schulz orthogonalisation, Muon steps on conv filters beside SGD steps on the rest,
its parameter groups, schedules and a whole training run that resumes."""
import copy

import pytest
import torch
from torch import nn

from cnnlab.models import build
from cnnlab.models.whitenet import BIAS_LR_SCALE
from cnnlab.training.config import TrainConfig
from cnnlab.training.muon import MUON_MOMENTUM, MuonSGD, orthogonalize
from cnnlab.training.optim import build_optimizer, build_scheduler


@pytest.mark.parametrize("shape", [(16, 72), (72, 16), (32, 32)])
def test_orthogonalize_brings_every_singular_value_near_one(shape):
    gen = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(shape[0], min(shape), generator=gen))
    v, _ = torch.linalg.qr(torch.randn(shape[1], min(shape), generator=gen))
    singular = torch.logspace(0, 2, min(shape))  # 1 to 100: a plain gradient step would follow the largest
    g = u @ torch.diag(singular) @ v.T
    s = torch.linalg.svdvals(orthogonalize(g, steps=5).float())
    assert s.min() > 0.5 and s.max() < 1.5, s  # Jordan's quintic: U·S'·Vᵀ with S' in ~[0.5, 1.5]
    assert orthogonalize(g).dtype == g.dtype and orthogonalize(g).shape == g.shape


def test_sgd_groups_step_exactly_as_torch_nesterov_sgd():
    torch.manual_seed(0)
    a = nn.Linear(5, 3)
    b = copy.deepcopy(a)
    mine = MuonSGD(a.parameters(), lr=0.1, momentum=0.85, weight_decay=0.01)
    ref = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.85, nesterov=True, weight_decay=0.01)
    x = torch.randn(8, 5)
    for _ in range(4):
        for model, opt in ((a, mine), (b, ref)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_muon_group_rescales_the_filters_and_moves_them_by_an_orthogonal_step():
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 8, 3, bias=False)
    opt = MuonSGD([{"params": [conv.weight], "muon": True, "momentum": 0.0}], lr=0.05)
    conv(torch.randn(2, 4, 6, 6)).square().sum().backward()
    before = conv.weight.detach().clone()
    opt.step()
    rescaled = before * (8 ** 0.5 / before.norm())  # the filters' norm is set to √C_out before the step
    step = (rescaled - conv.weight.detach()).reshape(8, -1) / 0.05
    s = torch.linalg.svdvals(step)
    assert s.min() > 0.4 and s.max() < 1.6  # orthogonalised: no direction dominates, whatever the gradient
    with pytest.raises(ValueError, match="not biases"):
        MuonSGD([{"params": [nn.Parameter(torch.zeros(3))], "muon": True}], lr=0.1)


def test_muon_groups_filters_first_biases_keep_their_scale_and_schedules_leave_muon_momentum():
    model = build("whitenet-s", (3, 32, 32), 10)
    cfg = TrainConfig(optimizer="muon", lr=1.5, muon_lr=0.2, momentum=0.85, weight_decay=2e-3, epochs=2,
                      schedule="linear")
    opt = build_optimizer(cfg, model)
    muon = [g for g in opt.param_groups if g["muon"]]
    assert muon and opt.param_groups[:len(muon)] == muon  # filters first: the last group is the plain rate
    filters = {id(p) for g in muon for p in g["params"]}
    convs = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert filters == {id(w) for w in convs}  # every conv's filters (the fixed whitening ones get no gradient)
    assert all(g["lr"] == 0.2 and g["momentum"] == MUON_MOMENTUM and g["weight_decay"] == 0 for g in muon)
    sgd = opt.param_groups[len(muon):]
    assert sorted(g["lr"] for g in sgd) == [1.5, 1.5 * BIAS_LR_SCALE] and opt.param_groups[-1]["lr"] == 1.5
    assert all(g["momentum"] == 0.85 for g in sgd)
    sched = build_scheduler(cfg, opt, steps_per_epoch=5)
    rates = []
    for _ in range(10):
        opt.step()
        sched.step()
        rates.append((opt.param_groups[0]["lr"], opt.param_groups[-1]["lr"]))
    assert rates[-1] == (0.0, 0.0) and rates[4][0] / rates[4][1] == pytest.approx(0.2 / 1.5)  # linear, in step
    onecycle = build_optimizer(TrainConfig(optimizer="muon", lr=1.0, epochs=2), model)
    sched = build_scheduler(TrainConfig(optimizer="muon", lr=1.0, epochs=2), onecycle, steps_per_epoch=5)
    onecycle.step()
    sched.step()
    assert [g["momentum"] for g in onecycle.param_groups if g["muon"]] == [MUON_MOMENTUM]


def test_a_muon_run_learns_and_resumes_exactly(tmp_path):
    from test_train import InterruptAfterFirstEpoch, cfg as mini_cfg
    from cnnlab.runs.checkpoint import load_checkpoint
    from cnnlab.training.pipeline import train

    options = dict(optimizer="muon", lr=0.05, muon_lr=0.05, momentum=0.9, schedule="linear", precision="fp32",
                   micro_batch=24)
    straight = train(mini_cfg(tmp_path, epochs=2, run_name="straight", **options))
    assert straight.reports["test"].accuracy > 0.5
    assert straight.fit.history[-1]["train_loss"] < straight.fit.history[0]["train_loss"]
    with pytest.raises(KeyboardInterrupt):
        train(mini_cfg(tmp_path, epochs=2, run_name="split", **options), [InterruptAfterFirstEpoch()])
    run_dir = tmp_path / "runs" / "split"
    resumed = train(TrainConfig.from_dict(load_checkpoint(run_dir / "last.pt")["config"]), resume_dir=run_dir)
    assert resumed.fit.history[1]["train_loss"] == pytest.approx(straight.fit.history[1]["train_loss"], rel=1e-5)
