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
HUMAN_SIZE = 1.5  # metres: wrist to wrist, or head joint to ankle, of an adult
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


def skeleton_size(skeleton: Skeleton, joints: np.ndarray | None = None) -> float:
    """The longest path along the bones between two of ``joints`` (default: every joint), in the file's unit.

    For a human rig's BODY_25 joints that is wrist to wrist through the shoulders, or head to ankle: about 0.9
    of the body's height. Bones above the joints (a root's offset that places the body in the room) do not count.
    """
    lengths = np.linalg.norm(skeleton.offsets, axis=1)
    parents = skeleton.parents
    depth = np.zeros(len(lengths))
    for j, p in enumerate(parents):  # parents come first
        depth[j] = depth[p] + lengths[j] if p >= 0 else 0.0
    chosen = np.unique(np.asarray(joints)[np.asarray(joints) >= 0]) if joints is not None else np.arange(len(lengths))

    def ancestors(j: int) -> list[int]:
        out = [j]
        while parents[out[-1]] >= 0:
            out.append(int(parents[out[-1]]))
        return out

    chains = {int(j): ancestors(int(j)) for j in chosen}
    best = 0.0
    for i, a in enumerate(chosen):
        above_a = set(chains[int(a)])
        for b in chosen[i + 1 :]:
            common = next((c for c in chains[int(b)] if c in above_a), None)
            if common is not None:
                best = max(best, depth[a] + depth[b] - 2 * depth[common])
    return float(best)


def unit_scale(skeleton: Skeleton, unit: str = "auto", joints: np.ndarray | None = None) -> tuple[float, str]:
    """Metres per file unit, and the unit's name.

    ``unit="auto"`` reads it from the size of the body (:func:`skeleton_size` over ``joints``, the rig's BODY_25
    joints; a human's is 1.0-2.2 m): metres, decimetres, centimetres, millimetres or inches, whichever makes it
    most human.

    Raises:
        ValueError: an unknown unit name, or (auto) a skeleton no unit makes human-sized.
    """
    if unit != "auto":
        if unit not in UNITS:
            raise ValueError(f"unit must be auto or one of {', '.join(UNITS)}, got {unit!r}")
        return UNITS[unit], unit
    size = skeleton_size(skeleton, joints)
    candidates = [(abs(np.log(size * scale / HUMAN_SIZE)), name) for name, scale in UNITS.items() if size > 0]
    error, name = min(candidates, default=(np.inf, ""))
    if error > np.log(1.8):  # more than a factor 1.8 from a human in every unit
        raise ValueError(f"cannot tell the unit: the body spans {size:.3g} units, human-sized in none of "
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
