"""Two training processes on loopback with torchrun (gloo on the CPU) against one process."""
import contextlib
import os
import subprocess
import sys

import torch

from cnnlab.training.distributed import SINGLE, World, gather_rows, shard

COMMON = ["mnist-mini", "--limit", "1200", "--epochs", "3", "--model", "mnist-2conv", "--batch-size", "64",
          "--seed", "1"]


def cnnlab(args, tmp_path, nproc=1):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] \
        if nproc > 1 else [sys.executable]
    done = subprocess.run([*launcher, "-m", "cnnlab", "train", *args, "--runs-dir", str(tmp_path), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def test_two_processes_match_one(tmp_path):
    # pieces of 16 (no batch norm in mnist-2conv: the same steps): under DDP the first piece stays local (no_sync)
    one = cnnlab(COMMON + ["--micro-batch", "16", "--run-name", "one"], tmp_path)
    two = cnnlab(COMMON + ["--micro-batch", "16", "--run-name", "two"], tmp_path, nproc=2)
    assert abs(float(one["test_acc"]) - float(two["test_acc"])) < 0.04  # same global batch and seed: within noise
    assert float(two["test_acc"]) > 0.85
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # rank 1 wrote no run directory of its own
    history = (tmp_path / "two" / "history.csv").read_text().splitlines()
    assert len(history) == 4  # one header and one line per epoch, written once


def test_resume_under_torchrun(tmp_path):
    first = cnnlab(COMMON[:4] + ["1", "--schedule", "constant", "--run-name", "r"], tmp_path, nproc=2)
    assert "test_acc" in first
    resumed = cnnlab(["--resume", str(tmp_path / "r"), "--epochs", "2"], tmp_path, nproc=2)
    lines = (tmp_path / "r" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2"] and "test_acc" in resumed


def test_shards_cover_everything_once_and_gather_restores_order():
    index = torch.arange(11)
    parts = [shard(index, World(r, 3)) for r in range(3)]
    assert sorted(torch.cat(parts).tolist()) == list(range(11))
    assert gather_rows(index[:, None], 11, SINGLE).flatten().tolist() == list(range(11))


def test_leave_waits_for_every_rank_only_after_a_finished_run(monkeypatch):
    import cnnlab.training.distributed as d

    calls = []
    monkeypatch.setattr(d.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(d.dist, "barrier", lambda: calls.append("barrier"))
    monkeypatch.setattr(d.dist, "destroy_process_group", lambda: calls.append("destroy"))
    d.leave(finished=True)
    assert calls == ["barrier", "destroy"]
    calls.clear()
    d.leave(finished=False)  # a failed rank must not wait for ranks that may never come
    assert calls == ["destroy"]


def test_micro_batches_keep_gradients_local_until_the_last_piece():
    """Gradient accumulation under DDP: the pieces before the last run inside the wrapper's no_sync (their
    gradients stay local), the last one outside it (its backward pass all-reduces the sum), and the gradients are
    those of the whole batch.  The wrapper here stands in for DistributedDataParallel, whose no_sync it mimics."""
    from torch import nn

    from cnnlab.training.steps import forward_backward

    class Wrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module, self.synced, self.local = module, 0, False

        @contextlib.contextmanager
        def no_sync(self):
            self.local = True
            try:
                yield
            finally:
                self.local = False

        def forward(self, x):
            out = self.module(x)
            if not self.local:
                out.register_hook(lambda g: setattr(self, "synced", self.synced + 1) or g)  # a backward that syncs
            return out

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    net = Wrapper(model)
    x, y = torch.randn(8, 1, 3, 4), torch.randint(0, 3, (8,))
    loss_fn = nn.CrossEntropyLoss()
    _, loss = forward_backward(net, x, y, loss_fn, lambda t: t, 2, contextlib.nullcontext)
    assert net.synced == 1  # 4 pieces, one synchronising backward pass
    whole = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    whole.load_state_dict(model.state_dict())
    loss_fn(whole(x), y).backward()
    for p, q in zip(model.parameters(), whole.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6)
    assert torch.isclose(loss, loss_fn(whole(x), y).detach(), atol=1e-6)
