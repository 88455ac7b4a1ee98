r"""Movement streams: what a window model sees of the joints, the standard of 2s-AGCN and PYSKL's skeleton work.

From the joint positions :math:`p_{t,v}` of a window (channels 0 and 1 of ``(N, C, T, V, M)``):

* ``joint``: :math:`p_{t,v}`;
* ``bone``: :math:`p_{t,v} - p_{t,\pi(v)}`, the vector from a joint's parent (one hop closer to the neck,
  :meth:`graphemo.skeleton.Layout.parents`) to the joint; 0 for the centre;
* ``joint_motion``: :math:`p_{t+1,v} - p_{t,v}` (0 in the last frame);
* ``bone_motion``: the same difference of bones.

A vector is 0 where a joint it needs is missing (visibility, channel 2 when the features have it, is 0), never a
difference with the ``(0, 0)`` of a missing joint. The other input channels (confidence, mask) follow the streams
once. :class:`MovementStreams` concatenates the chosen streams along channels (early fusion);
:class:`~graphemo.models.ensemble.StreamEnsemble` gives each its own network (late fusion).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from graphemo.skeleton import Layout

STREAMS = ("joint", "bone", "joint_motion", "bone_motion")


def check_streams(streams: Sequence[str]) -> list[str]:
    """``streams`` as a list, or ``ValueError`` for an empty list, an unknown stream or a repeated one."""
    streams = [streams] if isinstance(streams, str) else list(streams)
    bad = [s for s in streams if s not in STREAMS]
    if not streams or bad or len(set(streams)) != len(streams):
        raise ValueError(f"streams must be distinct names among {', '.join(STREAMS)}, got {streams}")
    return streams


def _motion(x: Tensor, visible: Tensor) -> Tensor:
    """Frame differences along T of ``(N, 2, T, V, M)``, 0 in the last frame and where a frame misses the joint."""
    moved = torch.zeros_like(x)
    moved[:, :, :-1] = (x[:, :, 1:] - x[:, :, :-1]) * (visible[:, :, 1:] * visible[:, :, :-1])
    return moved


class MovementStreams(nn.Module):
    """``(N, C, T, V, M)`` joint features -> ``(N, 2 S + C - 2, T, V, M)``: the ``S`` streams' vectors, then the
    other channels (see the module docstring).

    Args:
        layout: the skeleton (the parents of the bones).
        in_channels: ``C`` (x, y, then confidence and/or mask).
        streams: names among :data:`STREAMS`.
    """

    def __init__(self, layout: Layout, in_channels: int, streams: Sequence[str]) -> None:
        super().__init__()
        if in_channels < 2:
            raise ValueError(f"movement streams need x and y channels, got in_channels={in_channels}")
        self.streams = check_streams(streams)
        self.extra = in_channels - 2
        self.out_channels = 2 * len(self.streams) + self.extra
        self.register_buffer("parents", torch.from_numpy(layout.parents()), persistent=False)

    @property
    def identity(self) -> bool:
        """Whether this is the plain joint stream (the input passes unchanged)."""
        return self.streams == ["joint"]

    def forward(self, x: Tensor) -> Tensor:
        if self.identity:
            return x
        xy, extra = x[:, :2], x[:, 2:]
        visible = (x[:, 2:3] > 0).to(x.dtype) if self.extra else torch.ones_like(x[:, :1])
        parent_visible = visible.index_select(3, self.parents)
        bone = (xy - xy.index_select(3, self.parents)) * (visible * parent_visible)
        both = visible * parent_visible
        made = {
            "joint": lambda: xy,
            "bone": lambda: bone,
            "joint_motion": lambda: _motion(xy, visible),
            "bone_motion": lambda: _motion(bone, both),
        }
        return torch.cat([made[s]() for s in self.streams] + ([extra] if self.extra else []), dim=1)
