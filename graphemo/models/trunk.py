"""The trunk that ST-GCN++ and CTR-GCN share: movement streams -> per joint-and-channel BatchNorm -> a stack of
spatio-temporal blocks -> features averaged over frames, joints and persons -> task heads.

A model built on it only says what one block is (``make_block(in, out, stride, first)``) and which options it
takes; the streams, the strides (2 where a block widens the channels, after the first, as in ST-GCN) and the
pooling are here once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from graphemo.models.heads import TaskHeads
from graphemo.models.streams import MovementStreams
from graphemo.skeleton import Layout

MakeBlock = Callable[[int, int, int, bool], nn.Module]  # (in_channels, out_channels, stride, first) -> block


def block_strides(channels: Sequence[int], in_channels: int) -> list[int]:
    """Temporal stride of each block: 2 where a block (after the first) widens the channels."""
    strides, width = [], in_channels
    for i, out in enumerate(channels):
        strides.append(2 if i > 0 and out > width else 1)
        width = out
    return strides


class SkeletonTrunk(nn.Module):
    """``(N, C, T, V, M)`` windows -> ``{"expr", "va"}`` through ``make_block`` blocks (see the module docstring)."""

    def __init__(
        self, layout: Layout, in_channels: int, task: str, num_classes: int, *, channels: Sequence[int],
        streams: Sequence[str], head_dropout: float, make_block: MakeBlock,
    ) -> None:  # fmt: skip
        super().__init__()
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must list one positive width per block, got {list(channels)}")
        self.streams = MovementStreams(layout, in_channels, streams)
        width = self.streams.out_channels
        self.data_bn = nn.BatchNorm1d(width * layout.num_joints)
        blocks = []
        for i, (out, stride) in enumerate(zip(channels, block_strides(channels, width), strict=True)):
            blocks.append(make_block(width, out, stride, i == 0))
            width = out
        self.blocks = nn.Sequential(*blocks)
        self.heads = TaskHeads(width, task, num_classes, head_dropout)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``x`` (N, C, T, V, M) -> heads on features averaged over frames, joints and persons."""
        x = self.streams(x)
        n, c, t, v, m = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t))  # per joint-and-channel BN
        x = x.view(n * m, v, c, t).permute(0, 2, 3, 1)  # (N*M, C, T, V)
        x = self.blocks(x)
        return self.heads(x.mean(dim=(2, 3)).view(n, m, -1).mean(dim=1))


def residual_path(in_channels: int, out_channels: int, stride: int, enabled: bool = True) -> nn.Module | None:
    """A block's shortcut: none, the identity, or a strided 1x1 convolution with BN where the shape changes."""
    if not enabled:
        return None
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, (stride, 1)), nn.BatchNorm2d(out_channels))


class GraphTemporalBlock(nn.Module):
    """``ReLU(tcn(gcn(x)) + residual(x))``: a graph unit, then a temporal module (carrying the stride), plus a
    shortcut (:func:`residual_path`; none in a first block)."""

    def __init__(self, gcn: nn.Module, tcn: nn.Module, residual: nn.Module | None) -> None:
        super().__init__()
        self.gcn, self.tcn, self.residual = gcn, tcn, residual

    def forward(self, x: Tensor) -> Tensor:
        y = self.tcn(self.gcn(x))
        return (y + self.residual(x) if self.residual is not None else y).relu()
