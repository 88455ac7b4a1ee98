"""Choosing and tracking people across the frames of a video.

OpenPose detects people independently per frame and, without ``--tracking``, writes
``person_id: [-1]``. :func:`track_people` turns the per-frame detections into fixed person
slots: by ``person_id`` when OpenPose tracked them, else by matching each frame's people to
the previous positions (Hungarian assignment on root-joint distance, gated by body size).
Slot 0 is the main person: the track with the largest visibility score over the whole video.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from graphemo.skeleton import Layout

# A track that has been unmatched for this many frames may be taken over by a new person.
LOST_AFTER_FRAMES = 15
# A person may move at most this many body sizes between two observations of the same track.
MAX_STEP_IN_BODY_SIZES = 0.5
MAX_TRACKS = 8


def person_scores(people: np.ndarray, layout: Layout) -> np.ndarray:
    """Visibility score of each person: body bounding-box diagonal times mean body confidence.

    Args:
        people: ``(P, V, 3)`` keypoints of one frame (missing joints have confidence 0).
        layout: their layout (only the body part is scored).

    Returns:
        ``(P,)`` float64 scores, 0 for a person with no detected body joint.
    """
    body = people[:, layout.part_slice("body")] if "body" in layout.parts else people
    conf = body[..., 2]
    valid = conf > 0
    xy = np.where(valid[..., None], body[..., :2], np.nan)
    with np.errstate(invalid="ignore"), _quiet_nan():
        span = np.nanmax(xy, axis=1) - np.nanmin(xy, axis=1)
    diag = np.nan_to_num(np.hypot(span[:, 0], span[:, 1]))
    return diag * conf.mean(axis=1)


def _roots_and_sizes(people: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Root position ``(P, 2)`` (mean of detected body joints) and body size ``(P,)`` (bbox diagonal)."""
    body = people[:, layout.part_slice("body")] if "body" in layout.parts else people
    valid = body[..., 2] > 0
    xy = np.where(valid[..., None], body[..., :2], np.nan)
    with _quiet_nan():
        root = np.nanmean(xy, axis=1)
        span = np.nanmax(xy, axis=1) - np.nanmin(xy, axis=1)
    size = np.nan_to_num(np.hypot(span[:, 0], span[:, 1]))
    return root, np.maximum(size, 1.0)


class _quiet_nan:
    """Silence numpy's all-NaN-slice warnings (a person with no detected joint is expected)."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def track_people(
    frames: list[np.ndarray],
    person_ids: list[np.ndarray],
    layout: Layout,
    max_people: int = 1,
) -> np.ndarray:
    """Assign the people of every frame to ``max_people`` consistent slots.

    Args:
        frames: per frame, ``(P_t, V, C)`` keypoints (``C = 3``: x, y, confidence; missing joints have
            confidence 0). ``P_t`` may be 0.
        person_ids: per frame, ``(P_t,)`` OpenPose ``person_id`` values (-1 = untracked).
        layout: the joint layout of ``V``.
        max_people: number of slots ``M`` to return.

    Returns:
        ``(T, M, V, C)`` float32; empty slots have confidence 0 and NaN coordinates. Slots are ordered
        by total visibility score, so slot 0 is the main person.
    """
    t_len = len(frames)
    v = layout.num_joints
    c = frames[0].shape[-1] if t_len and frames[0].ndim == 3 else 3
    tracked_by_id = any((ids >= 0).any() for ids in person_ids) and all((ids >= 0).all() for ids in person_ids)
    slot_of = _slots_from_ids(person_ids) if tracked_by_id else _slots_from_motion(frames, layout)
    n_slots = max((int(s.max()) + 1 for s in slot_of if len(s)), default=0)

    totals = np.zeros(max(n_slots, 1))
    for people, slots in zip(frames, slot_of, strict=True):
        if len(people):
            kept = slots >= 0
            np.add.at(totals, slots[kept], person_scores(people[kept], layout))
    keep = np.argsort(-totals, kind="stable")[:max_people]
    rank = np.full(max(n_slots, 1), -1)
    rank[keep] = np.arange(len(keep))

    out = np.zeros((t_len, max_people, v, c), dtype=np.float32)
    out[..., :-1] = np.nan
    for t, (people, slots) in enumerate(zip(frames, slot_of, strict=True)):
        for p, s in enumerate(slots):
            if s >= 0 and rank[s] >= 0:
                out[t, rank[s]] = people[p]
    return out


def _slots_from_ids(person_ids: list[np.ndarray]) -> list[np.ndarray]:
    """Slot of each person when OpenPose's tracker gave ids (one slot per distinct id)."""
    distinct = np.unique(np.concatenate([ids for ids in person_ids if len(ids)] or [np.zeros(0, int)]))
    lookup = {int(i): k for k, i in enumerate(distinct)}
    return [np.array([lookup[int(i)] for i in ids], dtype=np.int64) for ids in person_ids]


def _slots_from_motion(frames: list[np.ndarray], layout: Layout) -> list[np.ndarray]:
    """Slot of each person by frame-to-frame matching (Hungarian assignment, size-gated).

    Each track remembers the last seen position of every joint. The cost of giving a person to a track is
    the mean distance over the joints both show (the root distance when they share none), in units of the
    track's body size, so a fragmentary detection of one person is not mistaken for the other person.
    A person who cannot be matched and finds no free slot (more than ``MAX_TRACKS`` people) gets -1.
    """
    body = layout.part_slice("body") if "body" in layout.parts else slice(None)
    n_body = len(range(layout.num_joints)[body])
    last_pose = np.full((MAX_TRACKS, n_body, 2), np.nan)
    last_root = np.full((MAX_TRACKS, 2), np.nan)
    last_size = np.ones(MAX_TRACKS)
    last_seen = np.full(MAX_TRACKS, -(10**9))
    used = np.zeros(MAX_TRACKS, dtype=bool)
    slot_of: list[np.ndarray] = []
    for t, people in enumerate(frames):
        n = len(people)
        slots = np.full(n, -1, dtype=np.int64)
        if n:
            root, size = _roots_and_sizes(people, layout)
            pose = np.where(people[:, body, 2:3] > 0, people[:, body, :2], np.nan)
            active = np.flatnonzero(used)
            if len(active):
                cost = _match_cost(last_pose[active], last_root[active], last_size[active], pose, root)
                rows, cols = linear_sum_assignment(cost)
                for r, col in zip(rows, cols, strict=True):
                    if cost[r, col] <= MAX_STEP_IN_BODY_SIZES:
                        slots[col] = active[r]
            taken = set(slots[slots >= 0].tolist())
            for p in np.argsort(-person_scores(people, layout), kind="stable"):
                if slots[p] >= 0 or not np.isfinite(root[p]).all():
                    continue
                free = [
                    s
                    for s in range(MAX_TRACKS)
                    if s not in taken and (not used[s] or t - last_seen[s] >= LOST_AFTER_FRAMES)
                ]
                if free:
                    slots[p] = free[0]
                    taken.add(free[0])
                    last_pose[free[0]] = np.nan
            for p in range(n):
                s = slots[p]
                if s >= 0 and np.isfinite(root[p]).all():
                    seen = np.isfinite(pose[p, :, 0])
                    last_pose[s, seen] = pose[p, seen]
                    if (seen.sum() >= n_body // 2) or not used[s]:
                        last_size[s] = size[p]
                    used[s] = True
                    last_root[s], last_seen[s] = root[p], t
        slot_of.append(slots)
    return slot_of


def _match_cost(
    track_pose: np.ndarray, track_root: np.ndarray, track_size: np.ndarray, pose: np.ndarray, root: np.ndarray
) -> np.ndarray:
    """``(A, P)`` cost between ``A`` tracks and ``P`` people, in track body sizes (1e6 = impossible)."""
    with _quiet_nan():
        joint_dist = np.nanmean(np.linalg.norm(track_pose[:, None] - pose[None], axis=-1), axis=-1)
    root_dist = np.linalg.norm(track_root[:, None] - root[None], axis=-1)
    dist = np.where(np.isfinite(joint_dist), joint_dist, root_dist)
    return np.nan_to_num(dist / track_size[:, None], nan=1e6)
