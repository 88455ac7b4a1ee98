r"""CTR-GCN (Chen et al., "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action
Recognition", ICCV 2021), as PYSKL builds it.

Each graph unit refines the skeleton's topology per sample and per channel. For subset :math:`k`, from the
input :math:`X` (``N, C, T, V``) averaged over time, two embeddings :math:`\phi_k(X), \psi_k(X)` (``R`` channels)
give joint-pair relations :math:`M_k = \tanh(\phi_k(X)_u - \psi_k(X)_v)`, lifted to the output channels and added to
a shared learnable topology :math:`A_k` (initialised with the spatial partition):

.. math::
    Y = \mathrm{ReLU}\big(\mathrm{BN}(\textstyle\sum_k (\alpha\, \xi_k(M_k) + A_k) \star W_k X) + \mathrm{down}(X)\big)

where :math:`\star` aggregates over joints channel by channel and :math:`\alpha` starts at 0 (the unit begins as a
plain graph convolution). The aggregation is one batched matrix product per sample, subset and channel on the
layout the convolutions produce, so nothing is permuted or copied. The temporal module is
:class:`~graphemo.models.tcn.MultiScaleTCN` with kernel 5, dilations 1 and 2, a max-pool and a 1x1 branch. The
``K`` subsets' embeddings run as one convolution each.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from graphemo.graphs.windows import WINDOW
from graphemo.models.adjacency import partitioned_adjacency
from graphemo.models.registry import register_model
from graphemo.models.tcn import MultiScaleTCN
from graphemo.models.trunk import GraphTemporalBlock, SkeletonTrunk, residual_path
from graphemo.skeleton import Layout


class ChannelTopologyConv(nn.Module):
    """``(N, C_in, T, V) -> (N, C_out, T, V)``: the channel-wise topology refinement unit (module docstring)."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: Tensor, reduction: int = 8) -> None:
        super().__init__()
        self.num_subsets = k = adjacency.shape[0]
        self.out_channels = out_channels
        self.rel = rel = 8 if in_channels <= 16 else in_channels // reduction
        self.embed = nn.Conv2d(in_channels, 2 * k * rel, 1)  # phi_k and psi_k of every subset
        self.lift = nn.Conv2d(k * rel, k * out_channels, 1, groups=k)  # xi_k
        self.value = nn.Conv2d(in_channels, k * out_channels, 1)  # W_k
        self.adjacency = nn.Parameter(adjacency.clone())
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(out_channels)
        self.down: nn.Module = nn.Identity() if in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v = x.shape
        k, rel, c_out = self.num_subsets, self.rel, self.out_channels
        phi, psi = self.embed(x.mean(dim=2, keepdim=True)).view(n, 2, k * rel, 1, v).unbind(1)
        relation = torch.tanh(phi.view(n, k * rel, v, 1) - psi.view(n, k * rel, 1, v))  # (N, K R, V, V)
        refined = self.lift(relation).view(n, k, c_out, v, v)  # xi_k(M_k) per sample, subset and channel
        topology = torch.addcmul(self.adjacency[None, :, None], refined, self.alpha).view(n * k * c_out, v, v)
        values = self.value(x)  # (N, K C_out, T, V): W_k X, already one (T, V) matrix per sample, subset, channel
        y = torch.bmm(values.view(n * k * c_out, t, v), topology).view(n, k, c_out * t, v)
        return torch.relu(self.bn(y.sum(dim=1).view(n, c_out, t, v)) + self.down(x))


@register_model("ctrgcn")
class CTRGCN(SkeletonTrunk):
    """CTR-GCN on (N, C, T, V, M) windows: per-sample, per-channel refined topologies, multi-scale TCNs."""

    input_kind = WINDOW

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        channels: Sequence[int] = (32, 32, 64, 64, 128, 128),
        streams: Sequence[str] = ("joint",),
        dropout: float = 0.0,
        head_dropout: float = 0.0,
    ) -> None:
        """``channels``: one entry per block (stride 2 where it widens, after the first); ``streams``: the
        movement streams fed in (:mod:`graphemo.models.streams`)."""
        adjacency = partitioned_adjacency(layout, "spatial")

        def block(c_in: int, c_out: int, stride: int, first: bool) -> nn.Module:
            tcn = MultiScaleTCN(c_out, c_out, stride=stride, kernel=5, dilations=(1, 2), transform=False,
                                dropout=dropout)  # fmt: skip
            return GraphTemporalBlock(ChannelTopologyConv(c_in, c_out, adjacency), tcn,
                                      residual_path(c_in, c_out, stride, not first))  # fmt: skip

        super().__init__(layout, in_channels, task, num_classes, channels=channels, streams=streams,
                         head_dropout=head_dropout, make_block=block)  # fmt: skip
