"""Which joint of a motion-capture rig is which BODY_25 joint: a mapping table per rig family, found by name.

A table maps BODY_25 joint names to the rig's joint names (the first name a rig has wins). BODY_25 joints a rig
lacks are missing in every frame, never invented: no rig here has eyes, ears, small toes or heels, so those are
missing. The rig's head joint stands in for BODY_25's only head joint in the chain, the nose; the upper-arm
joint is the shoulder (the clavicle joint is not), the thigh joint the hip. Joint names are compared without
case and without a namespace prefix (``mixamorig:LeftArm`` is ``LeftArm``).

A rig whose joints match no table gets an error that lists its joints and how to give a mapping of its own:
a YAML file of ``<body25 joint>: <rig joint>`` lines (``--joint-map`` / ``joint_map:``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from graphemo.skeleton import get_layout

BODY25_JOINTS: tuple[str, ...] = get_layout("body25").joints
REQUIRED = ("neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
            "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")  # fmt: skip


def _sides(table: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Expand ``{side}`` / ``{Side}`` / ``{s}`` in a table into the left and right entries."""
    out: dict[str, tuple[str, ...]] = {}
    for key, names in table.items():
        if "{side}" not in key:
            out[key] = tuple(names)
            continue
        for side, cap, s in (("left", "Left", "L"), ("right", "Right", "R")):
            out[key.format(side=side)] = tuple(n.format(side=side, Side=cap, s=s) for n in names)
    return out


RIGS: dict[str, dict[str, tuple[str, ...]]] = {
    # Bandai Namco Research motion dataset (../shared/mocap/bandai-styles): joint_Root, Hips, Spine, Chest, Neck,
    # Head, Shoulder_L, UpperArm_L, LowerArm_L, Hand_L, ..., UpperLeg_L, LowerLeg_L, Foot_L, Toes_L, ...
    "bandai": _sides({
        "nose": ["Head"], "neck": ["Neck"], "mid_hip": ["Hips"],
        "{side}_shoulder": ["UpperArm_{s}"], "{side}_elbow": ["LowerArm_{s}"], "{side}_wrist": ["Hand_{s}"],
        "{side}_hip": ["UpperLeg_{s}"], "{side}_knee": ["LowerLeg_{s}"], "{side}_ankle": ["Foot_{s}"],
        "{side}_big_toe": ["Toes_{s}"],
    }),
    # CMU (cgspeed's BVH conversion) and Mixamo: Hips, Spine..., Neck, Head, LeftShoulder, LeftArm, LeftForeArm,
    # LeftHand, LeftUpLeg, LeftLeg, LeftFoot, LeftToeBase, ...
    "cmu_mixamo": _sides({
        "nose": ["Head"], "neck": ["Neck"], "mid_hip": ["Hips"],
        "{side}_shoulder": ["{Side}Arm"], "{side}_elbow": ["{Side}ForeArm"], "{side}_wrist": ["{Side}Hand"],
        "{side}_hip": ["{Side}UpLeg"], "{side}_knee": ["{Side}Leg"], "{side}_ankle": ["{Side}Foot"],
        "{side}_big_toe": ["{Side}ToeBase", "{Side}Toe"],
    }),
}  # fmt: skip


class RigError(ValueError):
    """A rig that no table maps (or a bad mapping file); the message lists the joints and what to do."""


def _key(name: str) -> str:
    return name.rpartition(":")[2].lower()


def body25_joints(names: Sequence[str], table: Mapping[str, Sequence[str]]) -> np.ndarray:
    """``(25,)`` int64: the rig joint of each BODY_25 joint under ``table`` (-1: the rig lacks it)."""
    index = {_key(n): i for i, n in enumerate(names)}
    out = np.full(len(BODY25_JOINTS), -1, dtype=np.int64)
    for j, joint in enumerate(BODY25_JOINTS):
        found = [index[_key(n)] for n in table.get(joint, ()) if _key(n) in index]
        out[j] = found[0] if found else -1
    return out


def read_joint_map(path: str | os.PathLike[str]) -> dict[str, tuple[str, ...]]:
    """A mapping file: YAML ``<body25 joint>: <rig joint>`` (or a list of candidate rig joints).

    Raises:
        RigError: not a mapping of BODY_25 joint names to joint names.
    """
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RigError(f"{path}: cannot read the joint map: {exc}") from None
    if not isinstance(data, dict):
        raise RigError(f"{path}: a joint map is a mapping of BODY_25 joints to rig joints, e.g. 'neck: Neck'")
    out = {}
    for key, value in data.items():
        if key not in BODY25_JOINTS:
            raise RigError(f"{path}: {key!r} is not a BODY_25 joint (known: {', '.join(BODY25_JOINTS)})")
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RigError(f"{path}: {key}: expected a rig joint name or a list of them, got {value!r}")
        out[key] = tuple(names)
    return out


def match_rig(
    names: Sequence[str], *, rig: str = "auto", joint_map: Mapping[str, Sequence[str]] | None = None, source: str = ""
) -> tuple[str, np.ndarray]:
    """The rig family of a skeleton and its BODY_25 joints.

    Args:
        names: the skeleton's joint names.
        rig: ``"auto"`` (the first table whose required joints the skeleton has) or a table's name.
        joint_map: a mapping of one's own (:func:`read_joint_map`); it wins over ``rig``.
        source: the file, for messages.

    Returns:
        ``(rig name, (25,) int64 rig joint per BODY_25 joint, -1 where missing)``.

    Raises:
        RigError: no table fits (the message lists the rig's joints, what each table lacks, and how to map).
    """
    if joint_map is not None:
        found = body25_joints(names, joint_map)
        lacking = [BODY25_JOINTS[j] for j in range(len(found)) if found[j] < 0 and BODY25_JOINTS[j] in joint_map]
        if lacking:
            raise RigError(f"{source}: the joint map names rig joints this skeleton lacks, for {', '.join(lacking)} "
                           f"(its joints: {', '.join(names)})")  # fmt: skip
        return "custom", found
    if rig != "auto" and rig not in RIGS:
        raise RigError(f"unknown rig {rig!r} (known: auto, {', '.join(RIGS)})")
    reasons = []
    for name in [rig] if rig != "auto" else list(RIGS):
        found = body25_joints(names, RIGS[name])
        missing = [j for j in REQUIRED if found[BODY25_JOINTS.index(j)] < 0]
        if not missing:
            return name, found
        reasons.append(f"{name}: no joint for {', '.join(missing)}")
    raise RigError(
        f"{source}: the skeleton's joints match no known rig ({'; '.join(reasons)}). Its joints: {', '.join(names)}. "
        "Map them yourself with a YAML file of '<body25 joint>: <rig joint>' lines (e.g. 'left_shoulder: LeftArm') "
        f"given as --joint-map (graphemo mocap) or joint_map: (data.mocap); BODY_25 joints: {', '.join(BODY25_JOINTS)}"
    )
