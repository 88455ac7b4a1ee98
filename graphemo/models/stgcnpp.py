r"""ST-GCN++ (PYSKL; Duan et al., "PYSKL: Towards Good Practices for Skeleton Action Recognition", 2022).

ST-GCN with three changes that PYSKL found to matter:

* a **learnable adjacency** :math:`A_k` (``(K, V, V)``), initialised with ST-GCN's spatial partition and free to
  grow edges the skeleton does not have (ST-GCN only reweights its edges);
* a **residual inside the graph unit**: :math:`\mathrm{ReLU}(\mathrm{BN}(\sum_k W_k X A_k) + \mathrm{down}(X))`;
* a **multi-scale temporal convolution** (:class:`~graphemo.models.tcn.MultiScaleTCN`, dilations 1-4, a max-pool
  and a 1x1 branch) instead of one ``9 x 1`` convolution.

The graph unit aggregates before it mixes channels (:math:`\sum_k W_k (X A_k)`, the same function as PYSKL's
:math:`\sum_k (W_k X) A_k`, on ``C_in`` instead of ``K C_out`` channels), as graphemo's ST-GCN does.
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


class AdaptiveGraphConv(nn.Module):
    """``(N, C_in, T, V) -> (N, C_out, T, V)``: ``ReLU(BN(sum_k W_k X A_k) + down(X))``, ``A`` learnable."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: Tensor) -> None:
        super().__init__()
        self.num_subsets = adjacency.shape[0]
        self.adjacency = nn.Parameter(adjacency.clone())
        self.conv = nn.Conv2d(self.num_subsets * in_channels, out_channels, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.down: nn.Module = nn.Identity() if in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape
        z = torch.einsum("nctv,kvw->nkctw", x, self.adjacency).reshape(n, self.num_subsets * c, t, v)
        return torch.relu(self.bn(self.conv(z)) + self.down(x))


@register_model("stgcnpp")
class STGCNPlusPlus(SkeletonTrunk):
    """ST-GCN++ on (N, C, T, V, M) windows: learnable adjacency, residual graph units, multi-scale TCNs (PYSKL)."""

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
        dilations: Sequence[int] = (1, 2, 3, 4),
        dropout: float = 0.0,
        head_dropout: float = 0.0,
    ) -> None:
        """``channels``: one entry per block (stride 2 where it widens, after the first); ``streams``: the
        movement streams fed in (:mod:`graphemo.models.streams`); ``dilations``: of the temporal branches."""
        adjacency = partitioned_adjacency(layout, "spatial")

        def block(c_in: int, c_out: int, stride: int, first: bool) -> nn.Module:
            tcn = MultiScaleTCN(c_out, c_out, stride=stride, dilations=dilations, dropout=dropout)
            return GraphTemporalBlock(AdaptiveGraphConv(c_in, c_out, adjacency), tcn,
                                      residual_path(c_in, c_out, stride, not first))  # fmt: skip

        super().__init__(layout, in_channels, task, num_classes, channels=channels, streams=streams,
                         head_dropout=head_dropout, make_block=block)  # fmt: skip
