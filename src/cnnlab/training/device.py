"""Device, precision and thread choices."""
from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch


def pick_device(name: str = "auto") -> torch.device:
    """'auto' → CUDA, then Apple MPS, then CPU; otherwise the named device (checked to exist)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but this PyTorch build or machine has no CUDA GPU")
    return device


def read_cpuinfo() -> str:
    """The text of /proc/cpuinfo, or "" where there is none (macOS, Windows)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_bf16_pays(cpuinfo: str | None = None) -> bool:
    """True when bf16 autocast makes training and scoring faster on this CPU, from `/proc/cpuinfo` (`cpuinfo`: its
    text, for tests): CPUs with AMX (`amx_bf16`: Intel Sapphire Rapids and later), and AMD CPUs with AVX-512 BF16
    (Zen 4 and later).

    Measured with torch 2.13's oneDNN on 2 cores (README, "bf16 where it pays"): with AMX a whitenet-m training step
    ran 2.3x faster in bf16; on an AMD EPYC with AVX-512 BF16 the fast MNIST recipe 1.16x faster; on an Intel Xeon
    with AVX-512 BF16 but no AMX, bf16 trained about as fast (whitenet, whitenet-m, fastcnn-patch) or slower
    (digitnet 1.1x, resnet20 1.2x, cnn 1.4x, resnet-photo 1.5x) and scored 1.2-1.4x slower (fastcnn-patch 1.09x
    faster), and a whole CIFAR-10 epoch ran 1.36x faster in fp32, so there it stays in fp32.  Other CPUs (ARM
    included): fp32.
    """
    flags = set((read_cpuinfo() if cpuinfo is None else cpuinfo).split())
    return "amx_bf16" in flags or ("avx512_bf16" in flags and "AuthenticAMD" in flags)


def pick_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for 'auto' | 'fp32' | 'bf16' | 'fp16'; None means plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type == "cpu":
            raise ValueError("fp16 autocast is for GPUs; use bf16 or fp32 on the CPU")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_bf16_pays():
        return torch.bfloat16
    return None


def eval_batch(size: int | None, device: torch.device) -> int:
    """Images per evaluation step: `size` if given, else 64 on a CPU and 1024 on a GPU.  On a 2-core CPU (torch
    2.13, oneDNN) inference over 64 images at a time ran 1.2-3x faster than over 1,024 for cnn, whitenet,
    whitenet-m, digitnet and resnet20 (batch-1024 activations overflow the caches); GPUs want large batches."""
    return size or (64 if device.type == "cpu" else 1024)


def autocast(device: torch.device, dtype: torch.dtype | None):
    """An autocast context for `dtype`, or a no-op for fp32."""
    if dtype is None or device.type not in ("cpu", "cuda"):
        return nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def cpu_count() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def set_threads(threads: int | None) -> int:
    """Use `threads` CPU threads (default: the cores this process may run on)."""
    n = threads or cpu_count()
    torch.set_num_threads(n)
    return n


# glibc's mallopt parameters (malloc.h) and their defaults
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_MAX = 128 * 1024, 65536
_reuse_depth = 0  # reuse_freed_memory blocks open (nested: train() around fit()); the outermost sets and restores


def _glibc():
    """The C library when it is glibc (Linux), else None (macOS, Windows, musl)."""
    import ctypes
    import ctypes.util
    import platform

    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


@contextmanager
def reuse_freed_memory(enabled: bool = True):
    """Within the block, glibc's malloc keeps the memory that tensors free and hands it out again, instead of
    giving blocks over 32 MiB back to the kernel on every free (they are mmap'ed, so each new batch's activations
    are fresh pages, zero-filled by the kernel at one page fault per 4 KiB).  A whitenet-m training step on 1,000
    32×32 images frees and takes ~0.6 GB this way: ~146,000 page faults per step, 12% of a CIFAR-10 run's CPU
    time spent in the kernel (README, CIFAR-10).  The same remedy as preloading jemalloc or tcmalloc
    (PyTorch's CPU performance tuning guide), without a library: mallopt(M_MMAP_MAX, 0) serves every block from
    the heap, mallopt(M_TRIM_THRESHOLD, …) stops the heap from shrinking while the block runs.  On exit the
    defaults are set again and malloc_trim(0) returns the free memory to the kernel (the outermost block's exit,
    when blocks nest).  Yields whether it is in effect: False without glibc or when `enabled` is False.
    Measured on CIFAR-10 (`cnnlab train cifar10-jpg --recipe fast --epochs 2`, 2 cores): 12.5M page faults → 0.38M,
    134-137 s of wall time instead of 162-182 s, the same numbers to the last digit, peak RSS +11%."""
    global _reuse_depth
    libc = _glibc() if enabled else None
    if libc is None:
        yield _reuse_depth > 0
        return
    if _reuse_depth == 0:
        libc.mallopt(M_MMAP_MAX, 0)
        libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
    _reuse_depth += 1
    try:
        yield True
    finally:
        _reuse_depth -= 1
        if _reuse_depth == 0:
            libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
            libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
            libc.malloc_trim(0)
