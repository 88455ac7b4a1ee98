"""The multi-scale temporal convolution of ST-GCN++ and CTR-GCN (PYSKL's ``mstcn``), one home for both.

``(N, C_in, T, V) -> (N, C_out, T / stride, V)``. Parallel branches, each a 1x1 convolution to ``C_out / B``
channels then: a ``kernel x 1`` temporal convolution at one of ``dilations`` (so the receptive field grows without
a wide kernel), a ``3 x 1`` max-pool, or nothing (a 1x1 branch); the branches are concatenated, normalised and
(``transform``) mixed by a 1x1 convolution, as PYSKL does. Cheaper than ST-GCN's single ``9 x 1`` convolution on
every channel at the same width, with a longer reach.

Computed as PYSKL's function with fewer kernels: the branches' 1x1 convolutions and their BatchNorms are one
convolution to ``C_out`` channels and one BatchNorm, split afterwards; and each branch's closing BatchNorm is the
one BatchNorm over the concatenation (per channel, so the same function; PYSKL's closing branch BN followed by the
transform's BN is, in training, one BN).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def _branch_widths(out_channels: int, branches: int) -> list[int]:
    base = out_channels // branches
    return [out_channels - base * (branches - 1)] + [base] * (branches - 1)


class MultiScaleTCN(nn.Module):
    """Multi-scale temporal convolution (see the module docstring).

    Args:
        in_channels, out_channels: ``C_in``, ``C_out``.
        stride: temporal stride (2 halves ``T``).
        kernel: the dilated branches' temporal kernel.
        dilations: one dilated branch per entry.
        transform: mix the concatenated branches with ReLU-1x1-BN after their BN (ST-GCN++), or not (CTR-GCN).
        dropout: after the last BN.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, stride: int = 1, kernel: int = 3,
        dilations: Sequence[int] = (1, 2, 3, 4), transform: bool = True, dropout: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.widths = _branch_widths(out_channels, len(dilations) + 2)
        self.stride = stride
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        self.temporal = nn.ModuleList(
            nn.Conv2d(width, width, (kernel, 1), (stride, 1), ((kernel - 1) * dilation // 2, 0), (dilation, 1))
            for width, dilation in zip(self.widths, dilations, strict=False)
        )
        self.pool = nn.MaxPool2d((3, 1), (stride, 1), (1, 0))
        self.bn = nn.BatchNorm2d(out_channels)
        self.transform = (
            nn.Sequential(nn.ReLU(), nn.Conv2d(out_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            if transform else nn.Identity()
        )  # fmt: skip
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        parts = self.reduce(x).split(self.widths, dim=1)
        *dilated, pooled, plain = parts
        branches = [conv(part.relu()) for conv, part in zip(self.temporal, dilated, strict=True)]
        branches += [self.pool(pooled.relu()), plain[:, :, :: self.stride]]
        return self.drop(self.transform(self.bn(torch.cat(branches, dim=1))))
