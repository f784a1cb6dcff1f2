"""Two-phase fine-tuning pieces: freeze all but the head, BatchNorm as fastai or Keras, discriminative rates."""
import torch
from torch import nn

from cnnlab.models import build
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
