"""Per-frame graph neural networks on the joint graph: GCN, GAT or GIN layers from PyG, then global pooling."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool
from torch_geometric.nn.models import GAT, GCN, GIN

from graphemo.graphs.dataset import GRAPH
from graphemo.models.heads import TaskHeads
from graphemo.models.registry import register_model
from graphemo.skeleton import Layout

_CONVS = {"gcn": GCN, "gat": GAT, "gin": GIN}
_POOLS = {"mean": global_mean_pool, "max": global_max_pool, "add": global_add_pool}


@register_model("gin", conv="gin", description="Per-frame GIN on the joint graph (PyG GIN), global pooling")
@register_model("gat", conv="gat", description="Per-frame GATv2 on the joint graph (PyG GAT), global pooling")
@register_model("gcn", conv="gcn", description="Per-frame GCN on the joint graph (PyG GCN), global pooling")
@register_model("gnn")
class FrameGNN(nn.Module):
    """Per-frame GNN on the joint graph (conv: gcn | gat | gin from PyG), learnable joint embedding, global pooling."""

    input_kind = GRAPH

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        conv: str = "gcn",
        hidden: int = 64,
        num_layers: int = 3,
        heads: int = 4,
        dropout: float = 0.2,
        norm: str | None = "batch_norm",
        jk: str | None = "cat",
        pool: str = "mean",
        joint_embedding: bool = True,
    ) -> None:
        super().__init__()
        if conv not in _CONVS:
            raise ValueError(f"conv must be one of {sorted(_CONVS)}, got {conv!r}")
        if pool not in _POOLS:
            raise ValueError(f"pool must be one of {sorted(_POOLS)}, got {pool!r}")
        self.num_joints = layout.num_joints
        self.embed = nn.Linear(in_channels, hidden)
        # Every graph has the same V joints in layout order, so a joint's identity is its position in the graph.
        self.joint_embedding = nn.Parameter(torch.zeros(layout.num_joints, hidden)) if joint_embedding else None
        extra = {"heads": heads, "v2": True} if conv == "gat" else {}
        self.gnn = _CONVS[conv](hidden, hidden, num_layers, dropout=dropout, norm=norm, jk=jk, **extra)
        self.pool = _POOLS[pool]
        self.heads = TaskHeads(hidden, task, num_classes, dropout)

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor) -> dict[str, Tensor]:
        """``x`` (N*V, F), ``edge_index`` (2, E) and ``batch`` (N*V,) of a PyG batch of N frame graphs."""
        h = self.embed(x)
        if self.joint_embedding is not None:
            h = (h.view(-1, self.num_joints, h.size(-1)) + self.joint_embedding).view(-1, h.size(-1))
        h = self.gnn(h, edge_index, batch=batch)
        return self.heads(self.pool(h, batch, h.size(0) // self.num_joints))
