"""ST-GCN (Yan et al., 2018): spatial graph convolution over the skeleton + temporal convolution, residual blocks.

The adjacency is built from the layout's PyG ``edge_index`` (:mod:`graphemo.models.adjacency`). Unlike the
paper's code, which applies its 1x1 convolution first and then sums over a dense ``(K, V, V)`` adjacency,
graphemo applies the adjacency first (both are linear, the result is the same) and, on a skeleton, sparsely:
each joint gathers its few neighbours (1 entry in 26 of the adjacency is non-zero at V = 25, 1 in 132 at
V = 137; :func:`prefer_sparse` keeps dense products for denser graphs). A 1x1 convolution over each joint's
``K * C_in`` aggregated features then mixes channels and subsets. Activations are channels-last,
``(N, T, V, C)`` in memory, so a gather moves whole channel vectors and every convolution runs on oneDNN's
channels-last kernels. See :class:`SpatialGraphConv`. Equality with the paper's dense einsum form (outputs and
gradients) is tested against :mod:`graphemo.models.stgcn_reference`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphemo.graphs.windows import WINDOW
from graphemo.models.adjacency import partitioned_adjacency
from graphemo.models.heads import TaskHeads
from graphemo.models.registry import register_model
from graphemo.models.streams import MovementStreams
from graphemo.skeleton import Layout

PAPER_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
AGGREGATIONS = ("auto", "sparse", "dense")


def neighbour_lists(adjacency: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Index lists that apply a ``(K, V, V)`` adjacency by gathering joints (see :class:`SpatialGraphConv`).

    The outputs are ``V * K`` columns ``j = w * K + k`` (joint ``w``, subset ``k``), column ``j`` being
    ``sum_v A[k, v, w] x[v]``. Each column gathers its first neighbour (in joint order) and the few columns with
    more than one neighbour add the rest. A column without neighbours gathers joint ``w`` with the entry
    ``A[k, w, w]``, which is zero there (so its edge-importance gradient is zero too).

    Returns:
        ``first_source`` (V*K,) int64: the joint each column gathers first; ``first_entry`` (V*K,): the index of
        its weight in ``A.reshape(-1)``; ``extra_source``, ``extra_target``, ``extra_entry`` (E,): the other
        (joint, column, weight index) triples, ``E`` = the non-zero entries minus the non-empty columns.
    """
    k, v, _ = adjacency.shape
    column_joint, column_subset = torch.arange(v * k) // k, torch.arange(v * k) % k
    columns, sources = torch.nonzero(adjacency.permute(2, 0, 1).reshape(v * k, v), as_tuple=True)  # by column
    is_first = torch.ones_like(columns, dtype=torch.bool)
    is_first[1:] = columns[1:] != columns[:-1]
    first_source = column_joint.clone()
    first_source[columns[is_first]] = sources[is_first]

    def entry(column: Tensor, source: Tensor) -> Tensor:
        return (column_subset[column] * v + source) * v + column_joint[column]

    extra_source, extra_target = sources[~is_first], columns[~is_first]
    first_entry = entry(torch.arange(v * k), first_source)
    return first_source, first_entry, extra_source, extra_target, entry(extra_target, extra_source)


def prefer_sparse(adjacency: Tensor) -> bool:
    """Whether gathering neighbours should beat the dense product for a ``(K, V, V)`` adjacency (a cost model).

    Gathering moves ``rows`` = one row per column (``K * V``) plus one per further neighbour
    (:func:`neighbour_lists`); the dense product costs ``K * V * V`` multiply-adds per channel. Gathering is
    chosen when the dense product costs at least 16 multiply-adds per gathered row and there are at most 3.5 rows
    per column: every spatial-partition skeleton and the whole body's uniform partition, while BODY_25's uniform
    partition and random graphs with 1 entry in 16 or more stay dense (the thresholds come from the CPU
    measurements in the README's ST-GCN section).
    """
    k, v, _ = adjacency.shape
    columns = adjacency.permute(2, 0, 1).reshape(v * k, v) != 0
    rows = k * v + int(columns.sum()) - int(columns.any(dim=1).sum())
    return rows * 16 <= k * v * v and rows * 2 <= 7 * k * v


def _pointwise(x: Tensor, weight: Tensor) -> Tensor:
    """``F.conv2d(x, weight)`` for a 1x1 ``weight``, run by oneDNN on CPU.

    Dilation does nothing to a 1x1 kernel, but it makes PyTorch's CPU dispatch choose oneDNN, which it otherwise
    skips for 1x1 kernels on one thread below batch 16, for a GEMM that took twice as long here.
    """
    return F.conv2d(x, weight, dilation=2)


class SpatialGraphConv(nn.Module):
    """``(N, C_in, T, V) -> (N, C_out, T, V)``: ``out[w] = sum_k sum_v A_k[v, w] (W_k x[v] + b_k)``, edge importance.

    The parameters are the paper's (``conv``: a 1x1 convolution to ``K * C_out`` channels, channel ``k * C_out + c``
    for subset ``k``; ``importance``: ``(K, V, V)``, multiplied into ``A``), so checkpoints and the reference load
    either way, but the computation is reordered. On channels-last memory ``(N, T, V, C_in)``, first
    ``z[n, t, w, k] = sum_v A_k[v, w] x[n, t, v]``: sparse, each ``(w, k)`` gathers its neighbours' channel vectors
    (:func:`neighbour_lists`); or dense, one ``(V*K, V)`` matrix product. Either way the importance gets gradient
    on the graph's entries only. Then a 1x1 convolution over each joint's ``K * C_in`` features of ``z``, with the
    same weights, mixes channels and subsets; the biases pass through the adjacency as
    ``sum_k b_k * sum_v A_k[v, w]``. The neighbourhood sum runs over ``C_in`` channels rather than ``K * C_out``.
    The output is channels-last.

    Args:
        sparse: gather neighbours (True) or multiply by the dense adjacency (False); both give the same result.
            None: :func:`prefer_sparse`.
    """

    def __init__(
        self, in_channels: int, out_channels: int, adjacency: Tensor, edge_importance: bool = True,
        sparse: bool | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.num_subsets, self.num_joints = adjacency.shape[:2]
        self.in_channels, self.out_channels = in_channels, out_channels
        self.conv = nn.Conv2d(in_channels, self.num_subsets * out_channels, kernel_size=1)  # holds the parameters
        self.register_buffer("adjacency", adjacency)
        self.importance = nn.Parameter(torch.ones_like(adjacency)) if edge_importance else None
        self.sparse = prefer_sparse(adjacency) if sparse is None else sparse
        names = ("first_source", "first_entry", "extra_source", "extra_target", "extra_entry")
        for name, index in zip(names, neighbour_lists(adjacency), strict=True):
            self.register_buffer(name, index, persistent=False)  # derived from the adjacency: not in state dicts

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v = x.shape
        k, c_in, c_out = self.num_subsets, self.in_channels, self.out_channels
        a = self.adjacency if self.importance is None else self.adjacency * self.importance  # (K, V, W)
        x = x.permute(0, 2, 3, 1)  # (N, T, V, C_in): contiguous when x is channels-last
        if self.sparse:
            entries = a.reshape(-1)
            z = x.index_select(2, self.first_source) * entries.index_select(0, self.first_entry)[:, None]
            if self.extra_source.numel():
                extra = x.index_select(2, self.extra_source) * entries.index_select(0, self.extra_entry)[:, None]
                z = z.index_add_(2, self.extra_target, extra)
        else:
            m = a.permute(2, 0, 1).reshape(self.num_joints * k, self.num_joints)  # (W*K, V)
            # A few frames (streaming): a batched matrix product. Training batches: a 1x1 convolution with the
            # joints as channels, 1.5x faster there.
            few = n * t < 64
            z = torch.matmul(m, x) if few else _pointwise(x.reshape(n * t, v, c_in, 1), m[:, :, None, None])
        z = z.view(n, t, v, k * c_in).permute(0, 3, 1, 2)  # (N, K*C_in, T, V), channels-last
        weight = self.conv.weight.view(k, c_out, c_in).transpose(0, 1).reshape(c_out, k * c_in, 1, 1)
        out = _pointwise(z, weight)
        if self.conv.bias is not None:
            bias = a.sum(dim=1).t() @ self.conv.bias.view(k, c_out)  # (W, C_out), laid out like out
            out = out.add_(bias.t()[:, None, :])
        return out


class STGCNBlock(nn.Module):
    """Spatial graph conv -> BN, ReLU, temporal conv (kernel x 1, stride), BN, dropout; + residual; ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, adjacency: Tensor, *, stride: int = 1, kernel: int = 9,
        dropout: float = 0.0, residual: bool = True, edge_importance: bool = True, sparse: bool | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.gcn = SpatialGraphConv(in_channels, out_channels, adjacency, edge_importance, sparse)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (kernel, 1), (stride, 1), ((kernel - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout, inplace=True),
        )
        if not residual:
            self.residual: nn.Module | None = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, (stride, 1)), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y.add_(self.residual(x))  # in place: nothing else reads the tcn's output
        return y.relu_()


@register_model("stgcn")
class STGCN(nn.Module):
    """ST-GCN on (N, C, T, V, M) windows: spatial-partition graph conv + temporal conv blocks, edge importance."""

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
        aggregation: str = "auto",
        streams: Sequence[str] = ("joint",),
    ) -> None:
        """``channels``: one entry per block; a block that widens the channels (after the first) has temporal
        stride 2, as in the paper, whose ten blocks are :data:`PAPER_CHANNELS`. ``aggregation``: how the adjacency
        is applied, ``"sparse"`` (gather the neighbours), ``"dense"`` (matrix product) or ``"auto"``
        (:func:`prefer_sparse`: sparse on every spatial-partition skeleton); the same function either way.
        ``streams``: the movement streams fed in (:mod:`graphemo.models.streams`; default the joints)."""
        super().__init__()
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must list one positive width per block, got {list(channels)}")
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be odd (it keeps T unchanged), got {temporal_kernel}")
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        sparse = None if aggregation == "auto" else aggregation == "sparse"
        adjacency = partitioned_adjacency(layout, partition)
        self.streams = MovementStreams(layout, in_channels, streams)
        in_channels = self.streams.out_channels
        self.data_bn = nn.BatchNorm1d(in_channels * layout.num_joints)
        blocks, width = [], in_channels
        for i, out in enumerate(channels):
            stride = 2 if i > 0 and out > width else 1
            blocks.append(STGCNBlock(width, out, adjacency, stride=stride, kernel=temporal_kernel,
                                     dropout=dropout, residual=i > 0, edge_importance=edge_importance,
                                     sparse=sparse))  # fmt: skip
            width = out
        # Convolution weights laid out like the activations, so oneDNN need not reorder them on every call.
        self.blocks = nn.Sequential(*blocks).to(memory_format=torch.channels_last)
        self.heads = TaskHeads(width, task, num_classes, head_dropout)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``x`` (N, C, T, V, M) -> heads on features averaged over frames, joints and persons."""
        x = self.streams(x)
        n, c, t, v, m = x.shape
        x = self.data_bn(x.permute(0, 4, 2, 3, 1).reshape(n * m * t, v * c))  # per joint-and-channel BN
        x = x.view(n * m, t, v, c).permute(0, 3, 1, 2)  # (N*M, C, T, V), channels-last memory
        x = self.blocks(x)
        return self.heads(x.mean(dim=(2, 3)).view(n, m, -1).mean(dim=1))
