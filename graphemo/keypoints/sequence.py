"""The keypoint sequence of one video: the unit every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphemo.skeleton import get_layout


@dataclass
class KeypointSequence:
    """Keypoints of one video, frame by frame.

    Attributes:
        keypoints: ``(T, M, V, 3)`` float32 ``(x, y, confidence)`` in pixels. Frame ``t`` is the
            file numbered ``t`` (gaps in the numbering are frames with nobody). Slot ``m = 0`` is the
            main person (most visible over the video), tracked across frames. A missing joint has
            ``confidence == 0`` and ``x = y = NaN``: it can never be read as a position at (0, 0).
        layout: registry name of the joint layout (see :func:`graphemo.skeleton.get_layout`).
        video_id: identifier of the video (its folder name or file prefix).
        fps: frames per second when known, else ``None``.
    """

    keypoints: np.ndarray
    layout: str
    video_id: str
    fps: float | None = None

    def __post_init__(self) -> None:
        kp = self.keypoints
        if kp.ndim != 4 or kp.shape[-1] != 3:
            raise ValueError(f"{self.video_id}: keypoints must be (T, M, V, 3), got {kp.shape}")
        v = get_layout(self.layout).num_joints
        if kp.shape[2] != v:
            raise ValueError(f"{self.video_id}: layout {self.layout} has {v} joints, keypoints have {kp.shape[2]}")

    @property
    def mask(self) -> np.ndarray:
        """``(T, M, V)`` bool: True where the joint was detected (confidence > 0)."""
        return self.keypoints[..., 2] > 0

    @property
    def present(self) -> np.ndarray:
        """``(T, M)`` bool: True where the person slot has at least one detected joint."""
        return self.mask.any(axis=-1)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    def __repr__(self) -> str:
        t, m, v, _ = self.keypoints.shape
        missing = 1.0 - float(self.mask[:, 0].mean()) if t else 0.0
        return (
            f"KeypointSequence(video_id={self.video_id!r}, layout={self.layout!r}, T={t}, M={m}, V={v}, "
            f"fps={self.fps}, main-person missing joints={missing:.1%})"
        )
