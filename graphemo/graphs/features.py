"""Per-joint features: how a pose is normalised and which channels each joint carries (the ``data.features``
section of an experiment, and the ``features`` record of a model bundle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from graphemo.graphs.normalize import Center, Scale
from graphemo.specs import check_spec


@dataclass(frozen=True)
class FeatureSpec:
    """What each joint carries.

    Attributes:
        center, scale: normalisation (see :func:`graphemo.graphs.normalize.normalize_pose`).
        confidence: add OpenPose's confidence as a channel.
        mask: add a 0/1 "joint detected" channel.
    """

    SECTION: ClassVar[str] = "data.features"

    center: Center = "neck"
    scale: Scale = "body"
    confidence: bool = True
    mask: bool = False

    def __post_init__(self) -> None:
        check_spec(self)

    @property
    def channels(self) -> int:
        """Number of feature channels per joint: 2 + confidence + mask."""
        return 2 + int(self.confidence) + int(self.mask)

    def encode(self, pose: np.ndarray) -> np.ndarray:
        """Normalised ``(..., V, 3)`` pose -> ``(..., V, channels)`` float32 features."""
        parts = [pose[..., :2]]
        if self.confidence:
            parts.append(pose[..., 2:3])
        if self.mask:
            parts.append((pose[..., 2:3] > 0).astype(np.float32))
        return np.concatenate(parts, axis=-1).astype(np.float32, copy=False)
