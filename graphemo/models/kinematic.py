r"""Kinematic descriptors: the classic body-emotion features (the Laban-analysis tradition) of a window, into a
linear or small MLP head, trained by the same trainer: every experiment's honest non-deep baseline.

For each joint :math:`v` of a normalised window (positions :math:`p_t`, visible frames only):

* posture and range: the mean and standard deviation of :math:`x` and :math:`y`;
* effort: speed :math:`\lVert p_{t+1} - p_t \rVert` (mean, standard deviation), acceleration and jerk (mean
  norms of the second and third differences);
* how often it is seen.

For the whole body: expansiveness (the visible joints' bounding box, width and height, mean and standard
deviation), travel (the centroid's net and mean speed), posture (trunk inclination, mid-hip to neck, and head
inclination, neck to nose, as mean sine and cosine when the layout has those joints), symmetry (the mean relative
speed difference of left/right joint pairs, :attr:`graphemo.skeleton.Layout.mirror`) and periodicity (the
normalised autocorrelation of the vertical positions at lags 2, 4, 8 and 16 frames, averaged over joints).

The descriptors are standardised (BatchNorm without scale) and go to the heads directly (``hidden: 0``, a
logistic regression) or through one hidden layer.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphemo.graphs.windows import WINDOW
from graphemo.models.heads import TaskHeads
from graphemo.models.registry import register_model
from graphemo.skeleton import Layout

PER_JOINT = 9
LAGS = (2, 4, 8, 16)
GLOBAL = 4 + 2 + 4 + 1 + len(LAGS)
EPS = 1e-6


def _masked_mean(values: Tensor, mask: Tensor, dim: int) -> Tensor:
    return (values * mask).sum(dim) / mask.sum(dim).clamp_min(1.0)


def _masked_std(values: Tensor, mask: Tensor, dim: int) -> Tensor:
    mean = _masked_mean(values, mask, dim).unsqueeze(dim)
    return _masked_mean((values - mean) ** 2, mask, dim).clamp_min(0.0).sqrt()


def _differences(p: Tensor, seen: Tensor, order: int) -> tuple[Tensor, Tensor]:
    """The ``order``-th difference's norm along T of ``(B, 2, T, V)`` and where every frame it needs is seen."""
    for _ in range(order):
        p = p[:, :, 1:] - p[:, :, :-1]
        seen = seen[:, :, 1:] * seen[:, :, :-1]
    return p.norm(dim=1, keepdim=True), seen


def _inclination(p: Tensor, seen: Tensor, lower: int, upper: int) -> Tensor:
    """``(B, 2)`` mean sine and cosine of the angle between ``lower -> upper`` and the image's up direction."""
    d = p[:, :, :, upper] - p[:, :, :, lower]  # (B, 2, T)
    both = seen[:, 0, :, upper] * seen[:, 0, :, lower]
    length = d.norm(dim=1).clamp_min(EPS)
    sine, cosine = d[:, 0] / length, -d[:, 1] / length  # image y points down
    return torch.stack([_masked_mean(sine, both, 1), _masked_mean(cosine, both, 1)], dim=1)


class KinematicFeatures(nn.Module):
    """``(N, C, T, V, M)`` -> ``(N, V * 9 + 15)`` descriptors (see the module docstring), averaged over persons."""

    def __init__(self, layout: Layout, in_channels: int) -> None:
        super().__init__()
        self.has_visibility = in_channels >= 3
        self.num_joints = layout.num_joints
        self.out_features = layout.num_joints * PER_JOINT + GLOBAL
        names = {name: i for i, name in enumerate(layout.joints)}
        hips = layout.hips[0] if len(layout.hips) == 1 else names.get("mid_hip", -1)
        self.trunk = (hips, layout.neck) if hips >= 0 and layout.neck >= 0 else None
        self.head = (layout.neck, names["nose"]) if "nose" in names and layout.neck >= 0 else None
        pairs = [(v, m) for v, m in enumerate(layout.mirror) if v < m]
        self.register_buffer("left", torch.tensor([a for a, _ in pairs], dtype=torch.long), persistent=False)
        self.register_buffer("right", torch.tensor([b for _, b in pairs], dtype=torch.long), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v, m = x.shape
        x = x.permute(0, 4, 1, 2, 3).reshape(n * m, -1, t, v)  # persons into the batch: (B, C, T, V)
        p = x[:, :2]
        seen = (x[:, 2:3] > 0).to(x.dtype) if self.has_visibility else torch.ones_like(x[:, :1])
        speed, moving = _differences(p, seen, 1)
        acceleration, accelerating = _differences(p, seen, 2)
        jerk, jerking = _differences(p, seen, 3)
        joint_speed = _masked_mean(speed, moving, 2)[:, 0]  # (B, V)
        per_joint = torch.cat([
            _masked_mean(p, seen, 2), _masked_std(p, seen, 2), joint_speed[:, None], _masked_std(speed, moving, 2),
            _masked_mean(acceleration, accelerating, 2), _masked_mean(jerk, jerking, 2), seen.mean(dim=2),
        ], dim=1)  # fmt: skip
        features = [per_joint.flatten(1), self._body(p, seen, joint_speed)]
        return torch.cat(features, dim=1).view(n, m, -1).mean(dim=1)

    def _body(self, p: Tensor, seen: Tensor, joint_speed: Tensor) -> Tensor:
        """``(B, 15)`` whole-body descriptors."""
        big = torch.finfo(p.dtype).max / 4
        mask = seen.bool()
        high = torch.where(mask, p, torch.full_like(p, -big)).amax(dim=3)  # (B, 2, T)
        low = torch.where(mask, p, torch.full_like(p, big)).amin(dim=3)
        frame_seen = mask.any(dim=3).to(p.dtype)  # (B, 1, T)
        extent = torch.where(frame_seen.bool(), high - low, torch.zeros_like(high))
        box = torch.cat([_masked_mean(extent, frame_seen, 2), _masked_std(extent, frame_seen, 2)], dim=1)
        centre = _masked_mean(p, seen, 3)  # (B, 2, T)
        step, stepping = _differences(centre[..., None], frame_seen[..., None], 1)
        travel = torch.stack([
            (centre[:, :, -1] - centre[:, :, 0]).norm(dim=1) / max(p.shape[2] - 1, 1),
            _masked_mean(step[:, 0, :, 0], stepping[:, 0, :, 0], 1),
        ], dim=1)  # fmt: skip
        zeros = torch.zeros_like(travel)
        posture = torch.cat([_inclination(p, seen, *self.trunk) if self.trunk else zeros,
                             _inclination(p, seen, *self.head) if self.head else zeros], dim=1)  # fmt: skip
        if len(self.left):
            left, right = joint_speed.index_select(1, self.left), joint_speed.index_select(1, self.right)
            symmetry = ((left - right).abs() / (left + right + EPS)).mean(dim=1, keepdim=True)
        else:
            symmetry = travel[:, :1] * 0
        return torch.cat([box, travel, posture, symmetry, self._periodicity(p[:, 1], seen[:, 0])], dim=1)

    def _periodicity(self, y: Tensor, seen: Tensor) -> Tensor:
        """``(B, len(LAGS))`` normalised autocorrelation of the vertical positions ``(B, T, V)``."""
        centred = (y - _masked_mean(y, seen, 1).unsqueeze(1)) * seen
        energy = (centred * centred).sum(dim=1).clamp_min(EPS)  # (B, V)
        t = y.shape[1]
        out = []
        for lag in LAGS:
            lag = min(lag, max(t - 1, 1))
            product = (centred[:, lag:] * centred[:, :-lag]).sum(dim=1) if t > 1 else energy * 0
            out.append((product / energy).mean(dim=1))
        return torch.stack(out, dim=1)


@register_model("kinematic")
class KinematicModel(nn.Module):
    """Kinematic descriptors of a window (speed, acceleration, jerk, expansiveness, posture, symmetry, periodicity)
    into a linear or one-hidden-layer head: the non-deep baseline."""

    input_kind = WINDOW

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        hidden: int = 0,
        dropout: float = 0.2,
    ) -> None:
        """``hidden``: 0 for a linear head on the standardised descriptors (a logistic regression), else the width
        of one hidden layer; ``dropout``: on the descriptors."""
        super().__init__()
        if hidden < 0:
            raise ValueError(f"hidden must be >= 0, got {hidden}")
        self.features = KinematicFeatures(layout, in_channels)
        width = self.features.out_features
        self.norm = nn.BatchNorm1d(width, affine=False)
        self.body: nn.Module = nn.Identity()
        if hidden:
            self.body = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, hidden), nn.ReLU(inplace=True))
            width = hidden
        self.heads = TaskHeads(width, task, num_classes, dropout)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``x`` (N, C, T, V, M) -> heads on the window's standardised descriptors."""
        return self.heads(self.body(self.norm(self.features(x))))
