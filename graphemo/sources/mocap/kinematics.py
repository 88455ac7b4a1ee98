r"""Forward kinematics of a BVH skeleton, its unit, and frame-rate resampling.

A joint's local transform is a translation followed by a rotation. The translation is its position channels
when it has them (they replace the ``OFFSET``, as BVH exporters write them), else its ``OFFSET``. The rotation
is the product of its rotation channels **in the order the file lists them**, each about the joint's own
(already rotated) axes: ``CHANNELS 3 Zrotation Xrotation Yrotation`` is :math:`R = R_z(z) R_x(x) R_y(y)`.
Down the tree,

.. math::
    R^w_j = R^w_{p(j)} R_j, \qquad p^w_j = p^w_{p(j)} + R^w_{p(j)} t_j

with :math:`t_j` the local translation. Angles are in degrees. The result is in the file's unit;
:func:`unit_scale` finds metres per unit from the skeleton's size.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from graphemo.sources.mocap.bvh import BVHClip, Skeleton

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "dm": 0.1}
_AXIS = {"x": 0, "y": 1, "z": 2}


def local_transforms(skeleton: Skeleton, motion: np.ndarray) -> tuple[list[Rotation | None], np.ndarray]:
    """Per joint, its local rotation over the frames (None without rotation channels) and ``(F, J, 3)`` local
    translations."""
    frames = len(motion)
    translations = np.broadcast_to(skeleton.offsets, (frames, *skeleton.offsets.shape)).copy()
    rotations: list[Rotation | None] = []
    for j, channels in enumerate(skeleton.channels):
        start = skeleton.columns[j]
        order, angles = "", []
        for k, channel in enumerate(channels):
            axis = channel[0]
            if channel.endswith("position"):
                translations[:, j, _AXIS[axis]] = motion[:, start + k]
            else:
                order += axis.upper()  # upper case: intrinsic rotations, applied in the listed order
                angles.append(motion[:, start + k])
        rotations.append(Rotation.from_euler(order, np.stack(angles, axis=1), degrees=True) if order else None)
    return rotations, translations


def forward_kinematics(clip: BVHClip) -> np.ndarray:
    """World positions ``(F, J, 3)`` float64 of every joint (end sites included), in the file's unit."""
    skeleton = clip.skeleton
    rotations, translations = local_transforms(skeleton, clip.motion)
    frames, joints = len(clip.motion), len(skeleton.names)
    positions = np.zeros((frames, joints, 3))
    world: list[Rotation | None] = [None] * joints
    for j in range(joints):
        parent = int(skeleton.parents[j])
        if parent < 0:
            positions[:, j] = translations[:, j]
            world[j] = rotations[j]
            continue
        parent_rotation = world[parent]
        step = translations[:, j] if parent_rotation is None else parent_rotation.apply(translations[:, j])
        positions[:, j] = positions[:, parent] + step
        own = rotations[j]
        world[j] = own if parent_rotation is None else parent_rotation if own is None else parent_rotation * own
    return positions


def skeleton_size(skeleton: Skeleton) -> float:
    """The longest path between two joints along the bones (the tree's diameter, weighted by bone length), in
    the file's unit: about the body's height (head to toe, or hand to hand in a T-pose) for a human rig."""
    lengths = np.linalg.norm(skeleton.offsets, axis=1)
    n = len(lengths)
    children: list[list[int]] = [[] for _ in range(n)]
    for j, p in enumerate(skeleton.parents):
        if p >= 0:
            children[int(p)].append(j)
    depth = np.zeros(n)  # longest path down from each joint
    best = 0.0
    for j in reversed(range(n)):  # children come after their parents
        down = sorted((depth[c] + lengths[c] for c in children[j]), reverse=True)
        depth[j] = down[0] if down else 0.0
        best = max(best, sum(down[:2]))
    return float(best)


def unit_scale(skeleton: Skeleton, unit: str = "auto") -> tuple[float, str]:
    """Metres per file unit, and the unit's name.

    ``unit="auto"`` reads it from the skeleton's size (:func:`skeleton_size`, a human being 1.2-2.2 m): metres,
    decimetres, centimetres, millimetres or inches, whichever makes the size most human.

    Raises:
        ValueError: an unknown unit name, or (auto) a skeleton no unit makes human-sized.
    """
    if unit != "auto":
        if unit not in UNITS:
            raise ValueError(f"unit must be auto or one of {', '.join(UNITS)}, got {unit!r}")
        return UNITS[unit], unit
    size = skeleton_size(skeleton)
    candidates = [(abs(np.log(size * scale / 1.7)), name) for name, scale in UNITS.items() if size > 0]
    error, name = min(candidates, default=(np.inf, ""))
    if error > np.log(2.0):  # more than a factor 2 from 1.7 m in every unit
        raise ValueError(f"cannot tell the unit: the skeleton spans {size:.3g} units, human-sized in none of "
                         f"{', '.join(UNITS)}; give the unit")  # fmt: skip
    return UNITS[name], name


def resample(positions: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Positions ``(F, J, 3)`` at ``fps`` -> linearly interpolated at ``target_fps`` over the same duration."""
    if abs(fps - target_fps) < 1e-6 or len(positions) < 2:
        return positions
    duration = (len(positions) - 1) / fps
    times = np.arange(int(np.floor(duration * target_fps + 1e-9)) + 1) / target_fps
    source = times * fps
    low = np.clip(np.floor(source).astype(np.int64), 0, len(positions) - 2)
    weight = (source - low)[:, None, None]
    return (1.0 - weight) * positions[low] + weight * positions[low + 1]
