"""Training losses with masks for unannotated frames (class -1, NaN valence/arousal): they contribute nothing.

* classes: cross-entropy, optionally weighted by inverse class frequency (the emotion classes are imbalanced:
  neutral and happiness dominate Aff-Wild2);
* valence/arousal: ``1 - CCC`` per dimension (the ABAW metric, a batch-level loss) or masked MSE.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from graphemo.training.config import LossConfig


def balanced_class_weights(labels: np.ndarray, num_classes: int) -> Tensor:
    """``(C,)`` float32 weights ``n / (C_present * n_c)`` (scikit-learn's "balanced"); absent classes get 0.

    Args:
        labels: ``(N,)`` training labels (negative = unannotated, ignored).
        num_classes: ``C``.
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels[labels >= 0].astype(np.int64), minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)


def ccc_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``1 - CCC`` averaged over the columns of ``(N, D)`` tensors; NaN targets are masked per column.

    A column with fewer than two annotated rows contributes 0 (and no gradient).
    """
    losses = []
    for d in range(pred.shape[1]):
        keep = torch.isfinite(target[:, d])
        if int(keep.sum()) < 2:
            continue
        p, t = pred[keep, d].float(), target[keep, d].float()
        mp, mt = p.mean(), t.mean()
        cov = ((p - mp) * (t - mt)).mean()
        ccc = 2 * cov / (p.var(unbiased=False) + t.var(unbiased=False) + (mp - mt) ** 2 + 1e-8)
        losses.append(1 - ccc)
    return torch.stack(losses).mean() if losses else pred.sum() * 0.0


def masked_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over the finite entries of ``target`` (0 with no gradient when there are none)."""
    keep = torch.isfinite(target)
    if not keep.any():
        return pred.sum() * 0.0
    return F.mse_loss(pred[keep].float(), target[keep].float())


class MultiTaskLoss(nn.Module):
    """The loss of one batch: ``expr_weight * CE + va_weight * VA loss`` for the heads the model has.

    Returns from ``forward`` the total and its parts (``{"loss", "loss_expr", "loss_va"}``, detached parts).
    """

    def __init__(self, config: LossConfig, class_weights: Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("class_weights", class_weights if class_weights is not None else None)

    def forward(self, outputs: dict[str, Tensor], y: Tensor, va: Tensor) -> dict[str, Tensor]:
        """The loss parts of one batch; a model's ``aux`` outputs (the streams of a late-fusion ensemble) are each
        scored alone and averaged instead of scoring the fused outputs."""
        members = outputs.get("aux")
        if members:
            scored = [self._parts(member, y, va) for member in members]
            return {key: torch.stack([s[key] for s in scored]).mean() for key in scored[0]}
        return self._parts(outputs, y, va)

    def _parts(self, outputs: dict[str, Tensor], y: Tensor, va: Tensor) -> dict[str, Tensor]:
        parts: dict[str, Tensor] = {}
        total = None
        if "expr" in outputs and (y >= 0).any():
            ce = F.cross_entropy(
                outputs["expr"].float(),
                y,
                weight=self.class_weights,
                ignore_index=-1,
                label_smoothing=self.config.label_smoothing,
            )
            parts["loss_expr"] = ce.detach()
            total = self.config.expr_weight * ce
        if "va" in outputs and torch.isfinite(va).any():
            fn = ccc_loss if self.config.va == "ccc" else masked_mse
            va_loss = fn(outputs["va"], va)
            parts["loss_va"] = va_loss.detach()
            total = self.config.va_weight * va_loss if total is None else total + self.config.va_weight * va_loss
        # Every head stays in the graph even when the batch has no label for it (DDP needs all parameters used).
        untouched = sum(o.float().sum() for o in outputs.values()) * 0.0
        parts["loss"] = untouched if total is None else total + untouched
        return parts
