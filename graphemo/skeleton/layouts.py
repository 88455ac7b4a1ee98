"""Skeleton layouts: joint names, bones, mirror permutation and render colours.

A :class:`Layout` describes the joints of one keypoint array axis ``V``. The part
layouts follow OpenPose's own definitions (``poseParameters.cpp`` / ``faceParameters.hpp``
/ ``handParameters.hpp``): ``body25``, ``coco18``, ``face70`` and ``hand21``. Whole-body
layouts are concatenations in OpenPose's key order (pose, face, left hand, right hand)
with bones joining the parts (nose to the face's nose tip, each wrist to its hand root).

Registered names (see :func:`get_layout`)::

    body25, coco18, face70, hand21,
    body25_face (95 joints), body25_hands (67), wholebody (= body25_face_hands, 137),
    coco18_face (88), coco18_hands (60), coco18_face_hands (130)
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Layout:
    """A skeleton layout.

    Attributes:
        name: registry name, e.g. ``"body25"``.
        joints: joint names, length ``V``.
        bones: undirected joint pairs ``(i, j)`` that OpenPose draws, in its render order.
        mirror: permutation of ``range(V)`` that swaps left and right joints.
        bone_colors: RGB colour of each bone (OpenPose's render palette).
        parts: part name -> ``(start, stop)`` joint range (``body``, ``face``, ``hand_left``, ``hand_right``).
        neck: index of the neck joint (centre for normalisation, ST-GCN's gravity centre), or -1.
        hips: joints whose mean is the mid-hip (a single joint for BODY_25), empty if none.
        shoulders: ``(right, left)`` shoulder indices, or ``(-1, -1)``.
        links: extra graph edges that are not drawn: they join the face's islands (jaw, brows,
            eyes, nose, lips, pupils) and the parts of a whole-body layout into one connected graph.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    mirror: tuple[int, ...]
    bone_colors: tuple[RGB, ...]
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)
    neck: int = -1
    hips: tuple[int, ...] = ()
    shoulders: tuple[int, int] = (-1, -1)
    links: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        v = len(self.joints)
        if sorted(self.mirror) != list(range(v)):
            raise ValueError(f"layout {self.name}: mirror is not a permutation of range({v})")
        if len(self.bone_colors) != len(self.bones):
            raise ValueError(f"layout {self.name}: {len(self.bones)} bones but {len(self.bone_colors)} colours")
        for i, j in self.bones + self.links:
            if not (0 <= i < v and 0 <= j < v) or i == j:
                raise ValueError(f"layout {self.name}: bad bone ({i}, {j})")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def center(self) -> int:
        """The joint the ST-GCN spatial partition measures distances from (neck, else 0)."""
        return self.neck if self.neck >= 0 else 0

    def edge_array(self) -> np.ndarray:
        """Graph edges (bones then links) as an ``(E, 2)`` int64 array, one row per undirected edge."""
        return np.asarray(self.bones + self.links, dtype=np.int64).reshape(-1, 2)

    def edge_index(self) -> torch.Tensor:
        """Graph edges as a PyG ``edge_index`` of shape ``(2, 2E)``: both directions, no self-loops, sorted."""
        import torch
        from torch_geometric.utils import to_undirected

        return to_undirected(torch.from_numpy(self.edge_array().T.copy()), num_nodes=self.num_joints)

    def hop_distance(self) -> np.ndarray:
        """Shortest-path hop count between all joint pairs, ``(V, V)`` float (``inf`` if unconnected)."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import shortest_path

        e = self.edge_array()
        v = self.num_joints
        adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(v, v))
        return shortest_path(adj, directed=False, unweighted=True)

    def parents(self) -> np.ndarray:
        """``(V,)`` int64: each joint's neighbour one hop closer to the centre (the neck), the end of its bone; the
        centre (and a joint not connected to it) is its own parent. The tree of bone vectors of movement
        streams."""
        hops = self.hop_distance()[:, self.center] if self.center >= 0 else np.zeros(self.num_joints)
        out = np.arange(self.num_joints, dtype=np.int64)
        for a, b in self.edge_array():
            for child, parent in ((a, b), (b, a)):
                if out[child] == child and hops[parent] == hops[child] - 1:
                    out[child] = parent
        return out

    def part_slice(self, part: str) -> slice:
        """Joint slice of a part (``body``, ``face``, ``hand_left``, ``hand_right``)."""
        if part not in self.parts:
            raise KeyError(f"layout {self.name} has no part {part!r} (has {sorted(self.parts)})")
        start, stop = self.parts[part]
        return slice(start, stop)


def _chain(*idx: int) -> list[tuple[int, int]]:
    return [(a, b) for a, b in itertools.pairwise(idx)]


def _flat_pairs(flat: list[int]) -> tuple[tuple[int, int], ...]:
    return tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))


def _rgb(flat: list[int]) -> list[RGB]:
    return [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]


# --- BODY_25 ---------------------------------------------------------------------------
BODY25_JOINTS = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
    "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)  # fmt: skip
_BODY25_PAIRS = _flat_pairs([
    1, 8, 1, 2, 1, 5, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10, 10, 11, 8, 12, 12, 13, 13, 14, 1, 0,
    0, 15, 15, 17, 0, 16, 16, 18, 14, 19, 19, 20, 14, 21, 11, 22, 22, 23, 11, 24,
])  # fmt: skip
# OpenPose's per-keypoint colours; a bone takes the colour of its second joint.
_BODY25_COLORS = _rgb([
    255, 0, 85, 255, 0, 0, 255, 85, 0, 255, 170, 0, 255, 255, 0, 170, 255, 0, 85, 255, 0, 0, 255, 0,
    255, 0, 0, 0, 255, 85, 0, 255, 170, 0, 255, 255, 0, 170, 255, 0, 85, 255, 0, 0, 255, 255, 0, 170,
    170, 0, 255, 255, 0, 255, 85, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 255, 255, 0, 255, 255,
    0, 255, 255,
])  # fmt: skip


def _mirror_from_names(joints: tuple[str, ...]) -> tuple[int, ...]:
    index = {n: i for i, n in enumerate(joints)}
    out = []
    for n in joints:
        if n.startswith("left_"):
            out.append(index["right_" + n[5:]])
        elif n.startswith("right_"):
            out.append(index["left_" + n[6:]])
        else:
            out.append(index[n])
    return tuple(out)


BODY25 = Layout(
    name="body25",
    joints=BODY25_JOINTS,
    bones=_BODY25_PAIRS,
    mirror=_mirror_from_names(BODY25_JOINTS),
    bone_colors=tuple(_BODY25_COLORS[j] for _, j in _BODY25_PAIRS),
    parts={"body": (0, 25)},
    neck=1,
    hips=(8,),
    shoulders=(2, 5),
)

# --- COCO-18 (OpenPose's COCO model) ---------------------------------------------------------
COCO18_JOINTS = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
_COCO18_PAIRS = _flat_pairs([
    1, 2, 1, 5, 2, 3, 3, 4, 5, 6, 6, 7, 1, 8, 8, 9, 9, 10, 1, 11, 11, 12, 12, 13, 1, 0, 0, 14, 14, 16,
    0, 15, 15, 17,
])  # fmt: skip
_COCO18_COLORS = _rgb([
    255, 0, 85, 255, 0, 0, 255, 85, 0, 255, 170, 0, 255, 255, 0, 170, 255, 0, 85, 255, 0, 0, 255, 0,
    0, 255, 85, 0, 255, 170, 0, 255, 255, 0, 170, 255, 0, 85, 255, 0, 0, 255, 255, 0, 170, 170, 0, 255,
    255, 0, 255, 85, 0, 255,
])  # fmt: skip
COCO18 = Layout(
    name="coco18",
    joints=COCO18_JOINTS,
    bones=_COCO18_PAIRS,
    mirror=_mirror_from_names(COCO18_JOINTS),
    bone_colors=tuple(_COCO18_COLORS[j] for _, j in _COCO18_PAIRS),
    parts={"body": (0, 18)},
    neck=1,
    hips=(8, 11),
    shoulders=(2, 5),
)

# --- FACE_70 (iBUG-68 + two pupils) ------------------------------------------------------------
FACE70_JOINTS = tuple(
    [f"jaw_{i}" for i in range(17)]
    + [f"right_brow_{i}" for i in range(5)]
    + [f"left_brow_{i}" for i in range(5)]
    + [f"nose_bridge_{i}" for i in range(4)]
    + [f"nose_base_{i}" for i in range(5)]
    + [f"right_eye_{i}" for i in range(6)]
    + [f"left_eye_{i}" for i in range(6)]
    + [f"outer_lip_{i}" for i in range(12)]
    + [f"inner_lip_{i}" for i in range(8)]
    + ["right_pupil", "left_pupil"]
)
FACE_NOSE_TIP = 30
_FACE70_PAIRS = tuple(
    _chain(*range(0, 17))
    + _chain(*range(17, 22))
    + _chain(*range(22, 27))
    + _chain(*range(27, 31))
    + _chain(*range(31, 36))
    + _chain(*range(36, 42), 36)
    + _chain(*range(42, 48), 42)
    + _chain(*range(48, 60), 48)
    + _chain(*range(60, 68), 60)
)


def _face_mirror() -> tuple[int, ...]:
    m = list(range(70))
    pairs = [(i, 16 - i) for i in range(8)]
    pairs += [(17 + i, 26 - i) for i in range(5)]
    pairs += [(31, 35), (32, 34)]
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]
    pairs += [(60, 64), (61, 63), (65, 67), (68, 69)]
    for a, b in pairs:
        m[a], m[b] = b, a
    return tuple(m)


# Links that join the face's drawn islands: brows-eyes, eyes-nose bridge, nose bridge-base,
# nose-upper lip, outer-inner lip, chin-lower lip, jaw ends-brows, pupils-eye corners.
_FACE70_LINKS = (
    (19, 37), (24, 44), (21, 27), (22, 27), (39, 27), (42, 27), (30, 33), (33, 51),
    (48, 60), (54, 64), (8, 57), (0, 17), (16, 26), (68, 36), (69, 45),
)  # fmt: skip
FACE70 = Layout(
    name="face70",
    joints=FACE70_JOINTS,
    bones=_FACE70_PAIRS,
    mirror=_face_mirror(),
    bone_colors=tuple((255, 255, 255) for _ in _FACE70_PAIRS),
    parts={"face": (0, 70)},
    links=_FACE70_LINKS,
)

# --- HAND_21 -------------------------------------------------------------------------------
_FINGERS = ("thumb", "index", "middle", "ring", "pinky")
HAND21_JOINTS = ("wrist", *tuple(f"{f}_{k}" for f in _FINGERS for k in range(1, 5)))
_HAND21_PAIRS = tuple(pair for f in range(5) for pair in _chain(0, 4 * f + 1, 4 * f + 2, 4 * f + 3, 4 * f + 4))
_HAND21_COLORS = _rgb([
    100, 100, 100, 100, 0, 0, 150, 0, 0, 200, 0, 0, 255, 0, 0, 100, 100, 0, 150, 150, 0, 200, 200, 0,
    255, 255, 0, 0, 100, 50, 0, 150, 75, 0, 200, 100, 0, 255, 125, 0, 50, 100, 0, 75, 150, 0, 100, 200,
    0, 125, 255, 100, 0, 100, 150, 0, 150, 200, 0, 200, 255, 0, 255,
])  # fmt: skip
HAND21 = Layout(
    name="hand21",
    joints=HAND21_JOINTS,
    bones=_HAND21_PAIRS,
    mirror=tuple(range(21)),
    bone_colors=tuple(_HAND21_COLORS[j] for _, j in _HAND21_PAIRS),
    parts={"hand": (0, 21)},
)


# --- Whole-body compositions -----------------------------------------------------------------
def compose(body: Layout, *, face: bool, hands: bool) -> Layout:
    """Concatenate ``body`` with the face and/or both hands, in OpenPose's key order.

    Args:
        body: ``BODY25`` or ``COCO18``.
        face: append the 70 face points (bone nose -> face nose tip).
        hands: append left then right hand (bones left wrist -> left hand root, right wrist -> right hand root).

    Returns:
        A new :class:`Layout`; the left hand swaps with the right hand under ``mirror``. The bones
        joining the parts are ``links`` (graph edges, not drawn).
    """
    joints = list(body.joints)
    bones = list(body.bones)
    links = list(body.links)
    colors = list(body.bone_colors)
    mirror = list(body.mirror)
    parts = dict(body.parts)
    name = body.name
    body_index = {n: i for i, n in enumerate(body.joints)}

    def append(part: Layout, part_name: str, prefix: str, mirror_offset_of_twin: int | None) -> int:
        off = len(joints)
        joints.extend(f"{prefix}{n}" for n in part.joints)
        bones.extend((a + off, b + off) for a, b in part.bones)
        links.extend((a + off, b + off) for a, b in part.links)
        colors.extend(part.bone_colors)
        twin = off if mirror_offset_of_twin is None else mirror_offset_of_twin
        mirror.extend(twin + m for m in part.mirror)
        parts[part_name] = (off, off + part.num_joints)
        return off

    if face:
        f_off = append(FACE70, "face", "face_", None)
        links.append((body_index["nose"], f_off + FACE_NOSE_TIP))
        name += "_face"
    if hands:
        left = len(joints)
        right = left + HAND21.num_joints
        append(HAND21, "hand_left", "left_hand_", right)
        append(HAND21, "hand_right", "right_hand_", left)
        links.append((body_index["left_wrist"], left))
        links.append((body_index["right_wrist"], right))
        name += "_hands"
    return Layout(
        name=name,
        joints=tuple(joints),
        bones=tuple(bones),
        mirror=tuple(mirror),
        bone_colors=tuple(colors),
        parts=parts,
        neck=body.neck,
        hips=body.hips,
        shoulders=body.shoulders,
        links=tuple(links),
    )


_BASE = {"body25": BODY25, "coco18": COCO18, "face70": FACE70, "hand21": HAND21}
_ALIASES = {"wholebody": "body25_face_hands", "body_25": "body25", "coco": "coco18", "coco_18": "coco18"}
LAYOUT_NAMES = (
    "body25",
    "coco18",
    "face70",
    "hand21",
    "body25_face",
    "body25_hands",
    "body25_face_hands",
    "wholebody",
    "coco18_face",
    "coco18_hands",
    "coco18_face_hands",
)


@cache
def get_layout(name: str) -> Layout:
    """Return the registered layout called ``name`` (see the module docstring for the names).

    Raises:
        KeyError: unknown name, with the closest registered name suggested.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key in _BASE:
        return _BASE[key]
    body, _, rest = key.partition("_")
    if body in ("body25", "coco18") and rest in ("face", "hands", "face_hands"):
        return compose(_BASE[body], face="face" in rest, hands="hands" in rest)
    close = difflib.get_close_matches(name, LAYOUT_NAMES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"unknown skeleton layout {name!r}{hint} (known: {', '.join(LAYOUT_NAMES)})")


def layout_name(body: str, *, face: bool, hands: bool) -> str:
    """Registry name of ``body`` (``body25``/``coco18``) with the given parts, e.g. ``body25_face``."""
    return body + ("_face" if face else "") + ("_hands" if hands else "")


def select_parts(layout: Layout, parts: Sequence[str]) -> tuple[Layout, np.ndarray]:
    """The sub-layout of ``layout`` made of some of its parts, and where its joints are in ``layout``.

    Lets a model see only the body (or body and face) of a whole-body store.

    Args:
        layout: a body layout with optional face/hands (e.g. ``body25_face_hands``).
        parts: a subset of ``body``, ``face``, ``hands``; ``body`` is required (the graph's centre is the neck).

    Returns:
        ``(sub_layout, joints)``: the registered layout (e.g. ``body25_face``) and ``(V',)`` int64 indices of its
        joints in ``layout``, so that ``keypoints[..., joints, :]`` is in ``sub_layout`` order.

    Raises:
        ValueError: unknown part, no body, or a part ``layout`` lacks.
    """
    wanted = set(parts)
    unknown = wanted - {"body", "face", "hands"}
    if unknown or "body" not in wanted:
        raise ValueError(f"parts must include 'body' and be among body, face, hands; got {sorted(parts)}")
    have = set(layout.parts) | ({"hands"} if {"hand_left", "hand_right"} <= set(layout.parts) else set())
    missing = wanted - have
    if missing:
        raise ValueError(f"layout {layout.name} has no {sorted(missing)} (it has {sorted(layout.parts)})")
    body = layout.name.split("_")[0]
    sub = get_layout(layout_name(body, face="face" in wanted, hands="hands" in wanted))
    joints = np.concatenate([np.arange(*layout.parts[p]) for p in sub.parts]).astype(np.int64)
    return sub, joints
