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
    one = cnnlab(COMMON + ["--run-name", "one"], tmp_path)
    two = cnnlab(COMMON + ["--run-name", "two"], tmp_path, nproc=2)
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


def test_micro_batches_all_reduce_once_per_step(tmp_path):
    """Gradient accumulation under DDP: the pieces before the last keep their gradients local (no_sync), so a
    batch of 4 pieces costs one all-reduce per bucket, not four, and the gradients are those of the whole batch."""
    import torch.distributed as dist
    from torch import nn
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
    from torch.nn.parallel import DistributedDataParallel

    from cnnlab.training.steps import forward_backward

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
        net = DistributedDataParallel(model)
        calls = []

        def counting_hook(state, bucket):
            calls.append(bucket.index())
            return allreduce_hook(state, bucket)

        net.register_comm_hook(None, counting_hook)
        x, y = torch.randn(8, 1, 3, 4), torch.randint(0, 3, (8,))
        loss_fn = nn.CrossEntropyLoss()
        _, loss = forward_backward(net, x, y, loss_fn, lambda t: t, 2, contextlib.nullcontext)
        assert len(calls) == 1  # one bucket, reduced once for the 4 pieces
        whole = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
        whole.load_state_dict(model.state_dict())
        loss_fn(whole(x), y).backward()
        for p, q in zip(model.parameters(), whole.parameters()):
            assert torch.allclose(p.grad, q.grad, atol=1e-6)
        assert torch.isclose(loss, loss_fn(whole(x), y).detach(), atol=1e-6)
    finally:
        dist.destroy_process_group()
