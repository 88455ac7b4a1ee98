"""The ANN baseline: an MLP over one frame's flattened normalised keypoints (the report's four linear layers)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torch_geometric.nn import MLP

from graphemo.graphs.dataset import GRAPH
from graphemo.models.heads import TaskHeads
from graphemo.models.registry import register_model
from graphemo.skeleton import Layout


@register_model("mlp")
class KeypointMLP(nn.Module):
    """ANN on the flattened keypoints of a frame (V x F inputs, hidden Linear-Norm-ReLU-Dropout layers, linear head)."""

    input_kind = GRAPH

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        hidden: Sequence[int] = (512, 256, 128),
        dropout: float = 0.3,
        norm: str | None = "batch_norm",
    ) -> None:
        super().__init__()
        self.num_inputs = layout.num_joints * in_channels
        # plain_last=False: the last hidden layer also gets norm, ReLU and dropout before the heads.
        self.body = MLP([self.num_inputs, *hidden], dropout=dropout, norm=norm, plain_last=False)
        self.heads = TaskHeads(hidden[-1], task, num_classes)

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor) -> dict[str, Tensor]:
        """``x`` (N*V, F) joints of N frames in layout order; ``edge_index`` and ``batch`` are not used."""
        return self.heads(self.body(x.reshape(-1, self.num_inputs)))
