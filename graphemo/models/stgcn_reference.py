"""A straightforward dense ST-GCN in the original paper's formulation, to check and time :mod:`graphemo.models.stgcn`.

This follows the authors' code (yysijie/st-gcn, ``net/st_gcn.py``): a 1x1 convolution to ``K * C_out``
channels, ``view(N, K, C, T, V)``, then ``einsum("nkctv,kvw->nctw", x, A * importance)`` on contiguous
``(N, C, T, V)`` tensors; the temporal unit, residuals and pooling as there. It is not registered as a
model. Its parameter and buffer names are those of :class:`~graphemo.models.stgcn.STGCN`, so
``reference.load_state_dict(stgcn.state_dict())`` gives the two identical weights (tests and
``tools/bench_models.py`` compare them).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphemo.graphs.windows import WINDOW
from graphemo.models.adjacency import partitioned_adjacency
from graphemo.models.heads import TaskHeads
from graphemo.skeleton import Layout


class ReferenceGraphConv(nn.Module):
    """The paper's ``ConvTemporalGraphical`` (temporal kernel 1) with the edge importance kept beside ``A``."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: Tensor, edge_importance: bool = True) -> None:
        super().__init__()
        self.kernel_size = adjacency.size(0)
        self.conv = nn.Conv2d(in_channels, out_channels * self.kernel_size, kernel_size=(1, 1))
        self.register_buffer("adjacency", adjacency)
        self.importance = nn.Parameter(torch.ones_like(adjacency)) if edge_importance else None

    def forward(self, x: Tensor) -> Tensor:
        """``x`` (N, C_in, T, V) -> (N, C_out, T, V)."""
        a = self.adjacency if self.importance is None else self.adjacency * self.importance
        x = self.conv(x)
        n, kc, t, v = x.size()
        x = x.view(n, self.kernel_size, kc // self.kernel_size, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, a).contiguous()


class ReferenceBlock(nn.Module):
    """The paper's ``st_gcn`` unit: graph conv, then BN-ReLU-temporal conv-BN-dropout, + residual, ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, adjacency: Tensor, *, stride: int, kernel: int, dropout: float,
        residual: bool, edge_importance: bool,
    ) -> None:  # fmt: skip
        super().__init__()
        padding = ((kernel - 1) // 2, 0)
        self.gcn = ReferenceGraphConv(in_channels, out_channels, adjacency, edge_importance)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (kernel, 1), (stride, 1), padding),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout, inplace=True),
        )
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        res = 0 if self.residual is None else self.residual(x)
        return F.relu(self.tcn(self.gcn(x)) + res)


class ReferenceSTGCN(nn.Module):
    """Dense ST-GCN with :class:`~graphemo.models.stgcn.STGCN`'s arguments and state-dict names."""

    input_kind = WINDOW

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        channels: Sequence[int] = (32, 32, 64, 64, 128, 128),
        temporal_kernel: int = 9,
        partition: str = "spatial",
        edge_importance: bool = True,
        dropout: float = 0.1,
        head_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        adjacency = partitioned_adjacency(layout, partition)
        self.data_bn = nn.BatchNorm1d(in_channels * layout.num_joints)
        blocks, width = [], in_channels
        for i, out in enumerate(channels):
            blocks.append(
                ReferenceBlock(
                    width, out, adjacency, stride=2 if i > 0 and out > width else 1, kernel=temporal_kernel,
                    dropout=dropout, residual=i > 0, edge_importance=edge_importance,
                )
            )  # fmt: skip
            width = out
        self.blocks = nn.ModuleList(blocks)
        self.heads = TaskHeads(width, task, num_classes, head_dropout)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``x`` (N, C, T, V, M) -> the task heads' outputs."""
        n, c, t, v, m = x.size()
        x = x.permute(0, 4, 3, 1, 2).contiguous().view(n * m, v * c, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).contiguous().view(n * m, c, t, v)
        for block in self.blocks:
            x = block(x)
        x = F.avg_pool2d(x, x.size()[2:])
        return self.heads(x.view(n, m, -1).mean(dim=1))
