"""A skeleton transformer: factorised self-attention over joints (within a frame) and over time (per joint).

Tokens are one joint over ``patch_frames`` consecutive frames (a strided temporal convolution embeds
them), plus learnable joint and time position embeddings. Each block is a pre-norm transformer layer over
the V joints of every time step, then one over the time steps of every joint (as in ViViT's factorised
encoder / STTFormer), so attention costs ``T*V^2 + V*T^2`` rather than ``(T*V)^2``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from graphemo.graphs.windows import WINDOW
from graphemo.models.heads import TaskHeads
from graphemo.models.registry import register_model
from graphemo.models.streams import MovementStreams
from graphemo.skeleton import Layout


class FactorisedBlock(nn.Module):
    """Transformer layer over joints, then over time, on tokens ``(B, T, V, D)``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()

        def layer() -> nn.TransformerEncoderLayer:
            return nn.TransformerEncoderLayer(
                dim, heads, int(dim * mlp_ratio), dropout, activation="gelu", batch_first=True, norm_first=True
            )

        self.spatial = layer()
        self.temporal = layer()

    def forward(self, x: Tensor) -> Tensor:
        b, t, v, d = x.shape
        x = self.spatial(x.reshape(b * t, v, d)).view(b, t, v, d)
        x = self.temporal(x.transpose(1, 2).reshape(b * v, t, d)).view(b, v, t, d)
        return x.transpose(1, 2)


@register_model("skeleton_transformer")
class SkeletonTransformer(nn.Module):
    """Skeleton transformer on (N, C, T, V, M) windows: factorised attention over joints and time, mean pooling."""

    input_kind = WINDOW

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        patch_frames: int = 4,
        max_frames: int = 256,
        dropout: float = 0.1,
        streams: Sequence[str] = ("joint",),
    ) -> None:
        """``streams``: the movement streams fed in (:mod:`graphemo.models.streams`; default the joints)."""
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.patch_frames = patch_frames
        self.max_frames = max_frames
        self.streams = MovementStreams(layout, in_channels, streams)
        self.embed = nn.Conv2d(self.streams.out_channels, dim, (patch_frames, 1), (patch_frames, 1))
        self.joint_position = nn.Parameter(torch.zeros(1, 1, layout.num_joints, dim))
        self.time_position = nn.Parameter(torch.zeros(1, max_frames // patch_frames, 1, dim))
        nn.init.trunc_normal_(self.joint_position, std=0.02)
        nn.init.trunc_normal_(self.time_position, std=0.02)
        self.blocks = nn.Sequential(*(FactorisedBlock(dim, heads, mlp_ratio, dropout) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.heads = TaskHeads(dim, task, num_classes, dropout)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``x`` (N, C, T, V, M), ``patch_frames <= T <= max_frames`` (trailing ``T % patch_frames`` frames dropped)."""
        x = self.streams(x)
        n, c, t, v, m = x.shape
        if not self.patch_frames <= t <= self.max_frames:
            raise ValueError(f"window of {t} frames: need {self.patch_frames} <= T <= max_frames={self.max_frames}")
        tokens = self.embed(x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)).permute(0, 2, 3, 1)  # (NM, T', V, D)
        tokens = tokens + self.joint_position + self.time_position[:, : tokens.size(1)]
        features = self.norm(self.blocks(tokens)).mean(dim=(1, 2))
        return self.heads(features.view(n, m, -1).mean(dim=1))
