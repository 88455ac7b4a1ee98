"""Multi-GPU training with ``torchrun`` (DDP): process group set-up, device choice, gathering predictions.

``torchrun --nproc_per_node N -m graphemo run EXPERIMENT.yaml`` starts N processes with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set; each trains on its shard of the data (``DistributedSampler``) and DDP
averages the gradients. Only rank 0 tracks to MLflow and writes checkpoints. Without ``torchrun`` everything
here is a no-op for a single process. The backend is NCCL on GPUs and Gloo on CPUs (so DDP also runs, slowly,
on a CPU-only machine: that is how it is tested).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size`` (0 of 1 without torchrun)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(requested: str, info: DistInfo) -> torch.device:
    """``"auto"`` -> this process's GPU when there is one, else the CPU; ``"cuda"`` takes ``cuda:<local_rank>``.

    Raises:
        RuntimeError: a CUDA device was asked for on a machine without one.
    """
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"train.device is {requested!r} but CUDA is not available here (use 'auto' or 'cpu')")
        if requested == "cuda":
            requested = f"cuda:{info.local_rank}"
        torch.cuda.set_device(torch.device(requested))
    return torch.device(requested)


def init_distributed(requested_device: str = "auto") -> DistInfo:
    """Join the ``torchrun`` process group when ``WORLD_SIZE > 1`` (idempotent); returns this process's info."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)
    if not dist.is_initialized():
        gpu = requested_device != "cpu" and torch.cuda.is_available()
        if gpu:
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend="nccl" if gpu else "gloo")
    return info


def shutdown_distributed() -> None:
    """Leave the process group, if any."""
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_reduce_mean(value: float, info: DistInfo) -> float:
    """The mean of a number over all processes."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return float(t.item()) / info.world_size


def gather_arrays(arrays: dict[str, np.ndarray | None], info: DistInfo) -> dict[str, np.ndarray | None]:
    """Concatenate each process's arrays (same keys everywhere) in rank order; identity for one process."""
    if not info.enabled:
        return arrays
    parts: list[dict[str, np.ndarray | None]] = [{} for _ in range(info.world_size)]
    dist.all_gather_object(parts, arrays)
    return {k: None if parts[0][k] is None else np.concatenate([p[k] for p in parts]) for k in arrays}
