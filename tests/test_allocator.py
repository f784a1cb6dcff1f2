"""reuse_freed_memory: big tensors freed during training are handed out again by malloc, not mmap'ed afresh."""
import ctypes
import platform

import pytest
import torch

from cnnlab.training import device

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")


class MallInfo2(ctypes.Structure):  # glibc ≥ 2.33
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                       "fsmblks", "uordblks", "fordblks", "keepcost")]


def mallinfo() -> MallInfo2:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2()


def mmapped_bytes() -> int:
    return mallinfo().hblkhd


def big_tensor_mmapped() -> int:
    """Bytes mmap'ed for one big block: over glibc's largest mmap threshold (32 MiB) and over all the free memory
    in the heap, which an earlier test's freed blocks may hold where malloc_trim cannot return it (below a block
    still in use): such a hole would serve a smaller block from the heap whatever the settings."""
    size = max(64 << 20, mallinfo().fordblks + (64 << 20))
    before = mmapped_bytes()
    x = torch.empty(size, dtype=torch.uint8)  # never touched: address space, not memory
    grown = mmapped_bytes() - before
    del x
    return grown


@glibc
def test_big_blocks_come_from_the_heap_within_the_block_and_from_mmap_again_after():
    assert big_tensor_mmapped() >= 64 << 20  # glibc's default: a fresh mapping per big block
    with device.reuse_freed_memory() as active:
        assert active
        assert big_tensor_mmapped() == 0
        assert big_tensor_mmapped() == 0
    assert big_tensor_mmapped() >= 64 << 20  # defaults back


@glibc
def test_nested_blocks_keep_it_until_the_outermost_ends():
    with device.reuse_freed_memory():
        with device.reuse_freed_memory() as inner:  # train() around fit()
            assert inner
        assert big_tensor_mmapped() == 0  # the inner exit did not restore the defaults
    assert big_tensor_mmapped() >= 64 << 20


@glibc
def test_a_training_run_restores_the_defaults(tmp_path):
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.pipeline import train

    train(TrainConfig(data="mnist-mini", model="mnist-2conv", batch_size=64, limit=600, eval_batch_size=512,
                      epochs=1, runs_dir=str(tmp_path)))
    assert big_tensor_mmapped() >= 64 << 20


@glibc
def test_the_same_training_step_gives_the_same_numbers_with_and_without():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(4))
    x, y = torch.randn(16, 3, 12, 12), torch.randint(0, 4, (16,))

    def grads():
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        return [p.grad.clone() for p in model.parameters()]

    plain = grads()
    with device.reuse_freed_memory():
        kept = grads()
    assert all(torch.equal(a, b) for a, b in zip(plain, kept))


def test_disabled_or_without_glibc_it_does_nothing(monkeypatch):
    with device.reuse_freed_memory(enabled=False) as active:
        assert not active
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    with device.reuse_freed_memory() as active:
        assert not active


@glibc
def test_the_defaults_are_back_even_with_a_hole_left_in_the_heap():
    with device.reuse_freed_memory():
        hole = torch.empty(200 << 20, dtype=torch.uint8)
        hole.fill_(1)
        kept = torch.empty(1 << 10, dtype=torch.uint8)  # above the hole: malloc_trim cannot give it back
        del hole
    assert big_tensor_mmapped() >= 64 << 20
    del kept
