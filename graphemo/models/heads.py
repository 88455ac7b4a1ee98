"""Task heads shared by every model: 7 (or 8) emotion logits and/or valence/arousal in [-1, 1]."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphemo.labels.tasks import check_task


def validate_task(task: str, num_classes: int = 7) -> None:
    """Raise ``ValueError`` unless ``task`` is a task (:data:`graphemo.labels.tasks.TASKS`) and ``num_classes`` is
    at least 2."""
    check_task(task)
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")


class TaskHeads(nn.Module):
    """Linear heads on a pooled feature vector.

    ``task="both"`` is one network with two heads (multi-task). The VA head ends in ``tanh``.
    """

    def __init__(self, in_features: int, task: str, num_classes: int = 7, dropout: float = 0.0) -> None:
        super().__init__()
        validate_task(task, num_classes)
        self.task = task
        self.dropout = nn.Dropout(dropout)
        self.expr = nn.Linear(in_features, num_classes) if task in ("expr", "both") else None
        self.va = nn.Linear(in_features, 2) if task in ("va", "both") else None

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        """``features`` (N, in_features) -> ``{"expr": (N, num_classes), "va": (N, 2)}`` (the task's keys)."""
        h = self.dropout(features)
        out: dict[str, Tensor] = {}
        if self.expr is not None:
            out["expr"] = self.expr(h)
        if self.va is not None:
            out["va"] = torch.tanh(self.va(h))
        return out
