r"""Late fusion of movement streams (2s-AGCN, PYSKL's 4-stream ensembles): one network per stream, fused.

Each stream (:mod:`graphemo.models.streams`: joint, bone, joint motion, bone motion) gets its own copy of a window
backbone (``stgcn``, ``stgcnpp``, ``ctrgcn``, ...). The ensemble's class scores are the mean of the streams' logits
and its valence/arousal the mean of theirs. In training each stream is also scored alone (the outputs carry an
``aux`` list the loss adds, :class:`~graphemo.training.losses.MultiTaskLoss`), so every stream learns as if trained
on its own, as PYSKL's separately trained streams do, in one run, one bundle and one exported model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from graphemo.graphs.windows import WINDOW
from graphemo.models.registry import build_model, model_input_kind, model_options, register_model
from graphemo.models.streams import STREAMS, check_streams
from graphemo.skeleton import Layout


@register_model("stream_ensemble")
class StreamEnsemble(nn.Module):
    """Late fusion of movement streams: one window backbone per stream (joint, bone, motion), logits averaged."""

    input_kind = WINDOW

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        backbone: str = "stgcn",
        streams: Sequence[str] = STREAMS,
        backbone_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``backbone``: a registered window model with a ``streams`` option; ``streams``: one copy per stream;
        ``backbone_options``: the copies' other options (checked against the backbone)."""
        super().__init__()
        options = dict(backbone_options or {})
        if model_input_kind(backbone) is not WINDOW or "streams" not in model_options(backbone):
            raise ValueError(f"backbone {backbone!r} is not a window model with a streams option")
        if "streams" in options:
            raise ValueError("backbone_options.streams: the ensemble's streams option says which streams")
        self.stream_names = check_streams(streams)
        self.members = nn.ModuleList(
            build_model(backbone, layout=layout, in_channels=in_channels, task=task, num_classes=num_classes,
                        streams=[s], **options)
            for s in self.stream_names
        )  # fmt: skip

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``x`` (N, C, T, V, M) -> the streams' mean outputs (and, in training, each stream's as ``aux``)."""
        outputs = [member(x) for member in self.members]
        fused = {key: torch.stack([o[key] for o in outputs]).mean(dim=0) for key in outputs[0]}
        if self.training:
            fused["aux"] = outputs  # type: ignore[assignment]
        return fused
