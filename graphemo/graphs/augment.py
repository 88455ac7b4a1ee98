"""Training-time augmentation of normalised poses.

All functions take and return normalised poses ``(..., V, 3)`` (x, y, confidence; missing joints have
confidence 0 and stay missing) and a numpy ``Generator``. They act the same on one frame ``(V, 3)`` and
on a window ``(T, M, V, 3)``: one draw per call, so a window is transformed consistently over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from graphemo.skeleton import Layout
from graphemo.specs import check_spec, option


def mirror(pose: np.ndarray, layout: Layout) -> np.ndarray:
    """Left-right mirror: negate x and swap left/right joints (``layout.mirror``, hands swap whole)."""
    out = pose[..., list(layout.mirror), :].copy()
    out[..., 0] = -out[..., 0]
    return out


def rotate_scale(pose: np.ndarray, angle_deg: float, factor: float) -> np.ndarray:
    """Rotate by ``angle_deg`` about the origin (the body centre after normalisation) and scale by ``factor``."""
    a = np.deg2rad(angle_deg)
    rot = factor * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], dtype=np.float32)
    out = pose.copy()
    out[..., :2] = pose[..., :2] @ rot.T
    return _zero_missing(out)


def jitter(pose: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian noise of std ``sigma`` (shoulder widths) to every visible joint."""
    out = pose.copy()
    out[..., :2] += rng.normal(0.0, sigma, size=pose[..., :2].shape).astype(np.float32)
    return _zero_missing(out)


def drop_joints(pose: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Mark each joint missing with probability ``rate`` (for a window ``(T, M, V, 3)``, the same joints in
    every frame)."""
    joint_shape = pose.shape[1:-1] if pose.ndim == 4 else pose.shape[:-1]
    dropped = rng.random(joint_shape) < rate
    out = pose.copy()
    out[..., 2] = np.where(dropped, 0.0, out[..., 2])
    return _zero_missing(out)


def _zero_missing(pose: np.ndarray) -> np.ndarray:
    pose[..., :2] = np.where(pose[..., 2:3] > 0, pose[..., :2], 0.0)
    return pose


@dataclass(frozen=True)
class Augment:
    """A random augmentation policy (the ``data.augment`` section); each field 0 disables its transform.

    Attributes:
        enabled: ``false`` turns the whole policy off.
        mirror: probability of a left-right mirror.
        rotate: maximum rotation in degrees (uniform in ``[-rotate, rotate]``).
        scale: maximum relative scale change (uniform in ``[1 - scale, 1 + scale]``).
        jitter: std of per-joint Gaussian noise, in scale units.
        joint_dropout: probability that a joint is hidden.
        speed: windows only: maximum relative change of the motion's speed (the window's frames are read
            ``1 / f`` as far apart, ``f`` uniform in ``[1 / (1 + speed), 1 + speed]``: faster or slower motion).
        time_shift: windows only: the window moves by up to this many frames from its anchor (a random crop).
    """

    SECTION: ClassVar[str] = "data.augment"

    enabled: bool = True
    mirror: float = option(0.5, min=0.0, max=1.0)
    rotate: float = option(10.0, min=0.0, max=180.0)
    scale: float = option(0.1, min=0.0, max=0.9)
    jitter: float = option(0.01, min=0.0, max=1.0)
    joint_dropout: float = option(0.05, min=0.0, max=0.9)
    speed: float = option(0.0, min=0.0, max=2.0)
    time_shift: int = option(0, min=0, max=10_000)

    def __post_init__(self) -> None:
        check_spec(self)

    def __call__(self, pose: np.ndarray, layout: Layout, rng: np.random.Generator) -> np.ndarray:
        """Apply the policy to ``pose`` ``(..., V, 3)``; returns a new array of the same shape."""
        if not self.enabled:
            return pose
        if self.mirror and rng.random() < self.mirror:
            pose = mirror(pose, layout)
        if self.rotate or self.scale:
            angle = rng.uniform(-self.rotate, self.rotate)
            factor = rng.uniform(1 - self.scale, 1 + self.scale)
            pose = rotate_scale(pose, angle, factor)
        if self.jitter:
            pose = jitter(pose, self.jitter, rng)
        if self.joint_dropout:
            pose = drop_joints(pose, self.joint_dropout, rng)
        return pose

    def window_offsets(self, offsets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A window's ``(T,)`` frame offsets from its anchor, shifted and stretched as ``time_shift`` and ``speed``
        say (nearest frames: no joint is interpolated); unchanged when both are 0."""
        if not self.enabled or not (self.speed or self.time_shift):
            return offsets
        factor = rng.uniform(1.0 / (1.0 + self.speed), 1.0 + self.speed) if self.speed else 1.0
        shift = int(rng.integers(-self.time_shift, self.time_shift + 1)) if self.time_shift else 0
        return np.round(offsets * factor).astype(np.int64) + shift
