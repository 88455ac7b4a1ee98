"""The distance between two frames of one person, shared by every strategy and by the redundancy report.

Definition (poses normalised by :meth:`graphemo.subsampling.SubsampleSpec.distance_pose`, so in shoulder
widths)::

    d(a, b) = sqrt( mean over joints j visible in both a and b of |p_a[j] - p_b[j]|² )

i.e. the root-mean-square joint displacement over the joints the two frames share. A joint is visible
when its confidence is > 0 (its coordinates are then never read otherwise, so 0, NaN or garbage are all
fine). Two frames that share no joint are at distance ``+inf``. A frame with no visible joint has no
person: no strategy ever keeps it and the report does not count it.

It is computed through the expansion ``|p - q|² = |p|² + |q|² - 2 p·q`` so that a whole block of frames
against another is two matrix products (BLAS), in float64 after centring each joint on its mean
position over the video (the distance does not change; the cancellation error does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphemo.skeleton import Layout, get_layout

# Parts that name several layout parts at once.
PART_ALIASES: dict[str, tuple[str, ...]] = {"hands": ("hand_left", "hand_right")}


def part_joints(layout: Layout | str, parts: Sequence[str]) -> np.ndarray:
    """``(V',)`` int64 joint indices of some parts of a layout, concatenated in the order given.

    Args:
        layout: the layout (or its registry name).
        parts: part names in the layout (``body``, ``face``, ``hand_left``, ``hand_right``, ``hand``, or
            ``hands`` for both hands).

    Raises:
        ValueError: no part, or a part the layout does not have.
    """
    spec = get_layout(layout) if isinstance(layout, str) else layout
    if isinstance(parts, str):
        raise TypeError(f"parts must be a sequence of part names, e.g. ({parts!r},), not a string")
    names = [name for part in parts for name in PART_ALIASES.get(part, (part,))]
    if not names:
        raise ValueError("parts is empty: name at least one part, or pass parts=None for every joint")
    missing = [name for name in names if name not in spec.parts]
    if missing:
        raise ValueError(f"layout {spec.name} has no part {missing[0]!r} (it has {', '.join(spec.parts)})")
    return np.concatenate([np.arange(spec.num_joints)[spec.part_slice(name)] for name in names]).astype(np.int64)


def pose_features(pose: np.ndarray, layout: Layout | str, parts: Sequence[str] | None = ("body",)) -> np.ndarray:
    """Restrict poses to some parts of their layout (the joints the distance is measured on).

    Args:
        pose: ``(..., V, 3)`` normalised ``(x, y, confidence)`` with ``V = layout.num_joints``.
        layout: the layout of ``V`` (or its registry name).
        parts: part names in the layout (see :func:`part_joints`), concatenated in this order; ``None`` keeps
            every joint. Note that the face's 70 points outnumber the body's 25 and dominate an RMS over both.

    Returns:
        ``(..., V', 3)`` float32 with the selected joints.
    """
    spec = get_layout(layout) if isinstance(layout, str) else layout
    pose = np.asarray(pose, dtype=np.float32)
    if pose.ndim < 2 or pose.shape[-1] != 3 or pose.shape[-2] != spec.num_joints:
        raise ValueError(f"pose must be (..., {spec.num_joints}, 3) for layout {spec.name}, got {pose.shape}")
    if parts is None:
        return pose
    return pose[..., part_joints(spec, parts), :]


def check_pose(pose: np.ndarray) -> np.ndarray:
    """Validate one person's pose sequence.

    Args:
        pose: ``(T, V, 3)`` ``(x, y, confidence)``.

    Returns:
        The pose as a float64 array.

    Raises:
        ValueError: wrong shape, or a visible joint (confidence > 0) with a non-finite coordinate.
    """
    arr = np.asarray(pose, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        hint = " (several people? pass one person slot, e.g. keypoints[:, 0])" if arr.ndim == 4 else ""
        raise ValueError(f"pose must be (T, V, 3), got {arr.shape}{hint}")
    visible = arr[..., 2] > 0
    bad = visible & ~np.isfinite(arr[..., :2]).all(axis=-1)
    if bad.any():
        t, j = np.argwhere(bad)[0]
        raise ValueError(f"pose: frame {t}, joint {j} is visible (confidence > 0) but has a non-finite coordinate")
    return arr


def has_person(pose: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: True where the frame has at least one visible joint (confidence > 0)."""
    return (np.asarray(pose)[..., 2] > 0).any(axis=-1)


@dataclass(frozen=True)
class PoseEmbedding:
    """One video's frames in the form that makes the masked distance two matrix products.

    With ``m`` the visibility mask, ``p`` the centred position and ``s = m |p|²`` (all ``(T, V)``)::

        terms[i]   = [m_i, s_i,  x_i,   y_i]     (T, 4V)
        partner[j] = [s_j, m_j, -2x_j, -2y_j]    (T, 4V)
        terms[i] · partner[j] = Σ_joints m_i m_j |p_i - p_j|²,    mask[i] · mask[j] = shared joints.

    Attributes:
        terms, partner: ``(T, 4V)`` float64 (coordinates zero where not visible).
        mask: ``(T, V)`` float64, 1 where visible.
    """

    terms: np.ndarray
    partner: np.ndarray
    mask: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.mask.shape[0])

    def sq_distances(self, rows: np.ndarray | slice, cols: np.ndarray | slice) -> np.ndarray:
        """Squared distances ``(R, C)`` between frames ``rows`` and frames ``cols`` (``inf``: no shared joint)."""
        num = self.terms[rows] @ self.partner[cols].T
        shared = self.mask[rows] @ self.mask[cols].T
        return _ratio(num, shared)

    def sq_distances_to(self, col: int, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Squared distances ``(R,)`` from frames ``rows`` to the single frame ``col``."""
        return _ratio(self.terms[rows] @ self.partner[col], self.mask[rows] @ self.mask[col])


def _ratio(num: np.ndarray, shared: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(shared > 0, np.maximum(num, 0.0) / shared, np.inf)


def embed_pose(pose: np.ndarray) -> PoseEmbedding:
    """Precompute the distance terms of a pose sequence.

    Args:
        pose: ``(T, V, 3)`` ``(x, y, confidence)``; a joint is visible when confidence > 0.

    Returns:
        The :class:`PoseEmbedding` of the ``T`` frames.
    """
    arr = check_pose(pose)
    visible = arr[..., 2] > 0
    mask = visible.astype(np.float64)
    t, v = mask.shape
    x = np.where(visible, arr[..., 0], 0.0)
    y = np.where(visible, arr[..., 1], 0.0)
    seen = np.maximum(mask.sum(axis=0), 1.0)
    x -= x.sum(axis=0) / seen
    y -= y.sum(axis=0) / seen
    x *= mask
    y *= mask
    terms, partner = np.empty((t, 4 * v)), np.empty((t, 4 * v))
    s = terms[:, v : 2 * v]
    np.multiply(x, x, out=s)
    s += y * y
    terms[:, :v], terms[:, 2 * v : 3 * v], terms[:, 3 * v :] = mask, x, y
    partner[:, :v], partner[:, v : 2 * v] = s, mask
    np.multiply(x, -2.0, out=partner[:, 2 * v : 3 * v])
    np.multiply(y, -2.0, out=partner[:, 3 * v :])
    return PoseEmbedding(terms, partner, mask)


def frame_distances(pose: np.ndarray, rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> np.ndarray:
    """The distance (see the module docstring) between frames of one pose sequence.

    Args:
        pose: ``(T, V, 3)`` ``(x, y, confidence)``.
        rows, cols: frame indices (default: all ``T`` frames).

    Returns:
        ``(R, C)`` float64 distances in the pose's units; ``inf`` where two frames share no visible joint.
    """
    emb = embed_pose(pose)
    every = np.arange(emb.num_frames)
    r = every if rows is None else np.asarray(rows, dtype=np.int64)
    c = every if cols is None else np.asarray(cols, dtype=np.int64)
    return np.sqrt(emb.sq_distances(r, c))
