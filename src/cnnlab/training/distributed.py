"""Several processes, one model: PyTorch's DistributedDataParallel, started by torchrun.

`torchrun --nproc_per_node N -m cnnlab train ...` sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR in the
environment; cnnlab then joins the process group (gloo on CPUs, NCCL on GPUs), gives each rank its shard of
every epoch and of every evaluation, all-reduces the metrics, and lets rank 0 alone write files and print.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 when not distributed)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def main(self) -> bool:
        """True for the one process that writes the run directory and reports."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def launched() -> bool:
    """True when started by torchrun (or another launcher that sets WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join(device_name: str = "auto") -> tuple[World, torch.device | None]:
    """Join the process group torchrun set up; returns the world and this rank's device (None: the default)."""
    if not launched():
        return SINGLE, None
    world = World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)),
                  int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])))
    use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    device = torch.device("cuda", world.local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return world, device


def leave(finished: bool = True) -> None:
    """Leave the process group; after a run that finished, wait for every rank first.

    A gloo worker thread drops its hold on a collective's tensors a moment after the collective completes, and
    dropping it takes the GIL.  A rank that went straight from its last collective to exiting could be shut
    down while that thread still needed the GIL, which aborts the process ("terminate called without an active
    exception").  Waiting in the barrier (GIL released) lets the threads finish, and the ranks leave together.
    After a failure the other ranks may never arrive, so there is no barrier then.
    """
    if dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def shard(index: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's share of an index list: every size-th item from position rank."""
    return index[world.rank::world.size] if world.distributed else index


def all_sum(values: torch.Tensor, world: World) -> torch.Tensor:
    """Sum a tensor over all ranks (in place; returned for convenience)."""
    if world.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast(value, world: World):
    """Rank 0's value of a small picklable object, on every rank."""
    if not world.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_rows(local: torch.Tensor, total: int, world: World) -> torch.Tensor:
    """Reassemble rows computed on shards (rank r holds rows r, r+size, ...) into the full (total, ...) tensor."""
    if not world.distributed:
        return local
    longest = -(-total // world.size)
    padded = torch.zeros(longest, *local.shape[1:], dtype=local.dtype, device=local.device)
    padded[:len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(world.size)]
    dist.all_gather(parts, padded)
    out = torch.empty(total, *local.shape[1:], dtype=local.dtype, device=local.device)
    for r, part in enumerate(parts):
        out[r::world.size] = part[:len(range(r, total, world.size))]
    return out
