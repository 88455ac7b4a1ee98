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
_FLOAT_MAX = np.finfo(np.float64).max


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
    _, diag = _body_extent(body)
    return np.nan_to_num(diag) * conf.mean(axis=1)


def _body_extent(body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean position ``(P, 2)`` of the detected joints of ``body`` ``(P, J, 3)`` and the diagonal ``(P,)`` of
    their bounding box; NaN for a person with none.

    The values are those of ``np.nanmean`` / ``np.nanmax`` / ``np.nanmin`` over the joints (the sum runs
    joint by joint, as theirs does), computed on ``(2, P, J)`` so that the min/max run along contiguous memory.
    """
    valid = body[..., 2] > 0
    xy = np.moveaxis(body[..., :2], -1, 0)  # (2, P, J)
    count = np.add.reduce(valid, axis=-1, dtype=np.intp)
    span = np.where(valid, xy, -np.inf).max(axis=-1) - np.where(valid, xy, np.inf).min(axis=-1)
    span = np.where(count > 0, span, np.nan)
    filled = np.where(valid, xy, 0)
    total = filled[..., 0].copy()
    for j in range(1, filled.shape[-1]):
        total += filled[..., j]
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0, casting="unsafe")
    return mean.T, np.hypot(span[0], span[1])


def _roots_and_sizes(people: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Root position ``(P, 2)`` (mean of detected body joints) and body size ``(P,)`` (bbox diagonal, >= 1)."""
    body = people[:, layout.part_slice("body")] if "body" in layout.parts else people
    root, diag = _body_extent(body)
    return root, np.maximum(np.nan_to_num(diag), 1.0)


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
    counts = np.array([len(f) for f in frames], dtype=np.int64)
    people = np.concatenate(frames) if counts.sum() else np.zeros((0, v, c), np.float32)
    ids = np.concatenate(person_ids).astype(np.int64) if counts.sum() else np.zeros(0, np.int64)
    return track_detections(people, np.repeat(np.arange(t_len), counts), ids, t_len, layout, max_people)


def track_detections(
    people: np.ndarray,
    frame_index: np.ndarray,
    person_ids: np.ndarray,
    num_frames: int,
    layout: Layout,
    max_people: int = 1,
) -> np.ndarray:
    """:func:`track_people` on the detections of a whole video stacked into one array (no per-frame lists).

    Args:
        people: ``(N, V, C)`` every detected person of the video, in frame order.
        frame_index: ``(N,)`` non-decreasing frame of each detection, in ``0 .. num_frames - 1``.
        person_ids: ``(N,)`` OpenPose ``person_id`` (-1 = untracked).
        num_frames: ``T``.
        layout, max_people: see :func:`track_people`.

    Returns:
        ``(T, M, V, C)`` float32, as :func:`track_people`.
    """
    n, v, c = people.shape if people.ndim == 3 else (0, layout.num_joints, 3)
    frame_index = np.asarray(frame_index, dtype=np.int64)
    person_ids = np.asarray(person_ids, dtype=np.int64)
    if n and (person_ids >= 0).all():
        slots = np.unique(person_ids, return_inverse=True)[1].reshape(-1).astype(np.int64)
    else:
        slots = _slots_from_motion(people, frame_index, layout)
    n_slots = max(int(slots.max()) + 1, 0) if n else 0

    totals = np.zeros(max(n_slots, 1))
    kept = slots >= 0
    if kept.any():
        np.add.at(totals, slots[kept], person_scores(people[kept], layout))
    keep = np.argsort(-totals, kind="stable")[:max_people]
    rank = np.full(max(n_slots, 1), -1)
    rank[keep] = np.arange(len(keep))

    out = np.zeros((num_frames, max_people, v, c), dtype=np.float32)
    out[..., :-1] = np.nan
    slot_rank = np.where(kept, rank[np.maximum(slots, 0)], -1)
    chosen = np.flatnonzero(slot_rank >= 0)
    # Two detections of one frame in one slot (a repeated person_id): the later one wins.
    key = frame_index[chosen] * max_people + slot_rank[chosen]
    _, last = np.unique(key[::-1], return_index=True)
    chosen = chosen[len(chosen) - 1 - last]
    out[frame_index[chosen], slot_rank[chosen]] = people[chosen]
    return out


def _slots_from_motion(people: np.ndarray, frame_index: np.ndarray, layout: Layout) -> np.ndarray:
    """Slot of each detection by frame-to-frame matching (Hungarian assignment, size-gated).

    Each track remembers the last seen position of every joint. The cost of giving a person to a track is
    the mean distance over the joints both show (the root distance when they share none), in units of the
    track's body size, so a fragmentary detection of one person is not mistaken for the other person.
    A person who cannot be matched and finds no free slot (more than ``MAX_TRACKS`` people) gets -1, and
    so does a person with no detected body joint.

    Returns:
        ``(N,)`` int64 slot of each detection.
    """
    body = layout.part_slice("body") if "body" in layout.parts else slice(None)
    n_body = len(range(layout.num_joints)[body])
    slots = np.full(len(people), -1, dtype=np.int64)
    if not len(people):
        return slots
    root, size = _roots_and_sizes(people, layout)
    pose = np.where(people[:, body, 2:3] > 0, people[:, body, :2], np.nan)
    valid = np.isfinite(root).all(axis=1)
    last_pose = np.full((MAX_TRACKS, n_body, 2), np.nan)
    last_root = np.full((MAX_TRACKS, 2), np.nan)
    last_size = np.ones(MAX_TRACKS)
    last_seen = np.full(MAX_TRACKS, -(10**9))
    used = np.zeros(MAX_TRACKS, dtype=bool)

    # Most videos show one person at a time: the frames up to the first second person or jump are
    # matched to slot 0 in one vectorised step, and the loop below takes over from there.
    single, first_loop_frame = _single_track_prefix(pose, root, size, valid, frame_index, n_body)
    slots[single] = 0
    if len(single):
        last = single[-1]
        seen = np.isfinite(pose[single, :, 0])
        last_obs = np.where(seen.any(axis=0), len(single) - 1 - np.argmax(seen[::-1], axis=0), -1)
        last_pose[0] = np.where((last_obs >= 0)[:, None], pose[single[np.maximum(last_obs, 0)], np.arange(n_body)],
                                np.nan)  # fmt: skip
        sized = seen.sum(axis=1) >= n_body // 2
        sized[0] = True
        last_size[0] = size[single[np.flatnonzero(sized)[-1]]]
        last_root[0], last_seen[0], used[0] = root[last], frame_index[last], True
    if first_loop_frame is None:
        return slots
    scores = person_scores(people, layout)
    seen_all = np.isfinite(pose[..., 0])
    first = int(np.searchsorted(frame_index, first_loop_frame))
    bounds = first + np.flatnonzero(np.diff(frame_index[first:])) + 1
    for a, b in zip(np.concatenate([[first], bounds]), np.concatenate([bounds, [len(people)]]), strict=True):
        t = int(frame_index[a])
        frame_slots = slots[a:b]  # a view: assignments land in ``slots``
        active = np.flatnonzero(used)
        if len(active):
            cost = _match_cost(last_pose[active], last_root[active], last_size[active], pose[a:b], root[a:b])
            rows, cols = _assign(cost)
            for r, col in zip(rows, cols, strict=True):
                if cost[r, col] <= MAX_STEP_IN_BODY_SIZES:
                    frame_slots[col] = active[r]
        taken = set(frame_slots[frame_slots >= 0].tolist())
        for p in np.argsort(-scores[a:b], kind="stable"):
            if frame_slots[p] >= 0 or not valid[a + p]:
                continue
            free = [s for s in range(MAX_TRACKS)
                    if s not in taken and (not used[s] or t - last_seen[s] >= LOST_AFTER_FRAMES)]  # fmt: skip
            if free:
                frame_slots[p] = free[0]
                taken.add(free[0])
                last_pose[free[0]] = np.nan
        for p in range(b - a):
            s = frame_slots[p]
            if s >= 0 and valid[a + p]:
                seen = seen_all[a + p]
                last_pose[s, seen] = pose[a + p, seen]
                if (seen.sum() >= n_body // 2) or not used[s]:
                    last_size[s] = size[a + p]
                used[s] = True
                last_root[s], last_seen[s] = root[a + p], t
    return slots


def _assign(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.optimize.linear_sum_assignment``, short-cut for one track or one person with a unique best."""
    if 1 in cost.shape:
        flat = cost.ravel()
        best = int(flat.argmin())
        if (flat == flat[best]).sum() == 1:
            return (np.array([best]), np.array([0])) if cost.shape[1] == 1 else (np.array([0]), np.array([best]))
    return linear_sum_assignment(cost)


def _single_track_prefix(
    pose: np.ndarray, root: np.ndarray, size: np.ndarray, valid: np.ndarray, frame_index: np.ndarray, n_body: int
) -> tuple[np.ndarray, int | None]:
    """The leading detections that the frame-by-frame loop of :func:`_slots_from_motion` would all put in slot 0,
    found for the whole video at once.

    Valid detections stay on one track while no frame has two of them and each matches the track left by
    the ones before (the loop's cost: last seen position of each joint, last root, body size from the last
    detection showing at least half the body joints).

    Returns:
        ``(indices, frame)``: the detections (valid, in order) before ``frame``, the first frame where this no
        longer holds (``None`` when it holds for the whole video).
    """
    idx = np.flatnonzero(valid)
    if len(idx) <= 1:
        return idx, None
    k = len(idx)
    frames = frame_index[idx]
    p, r, s = pose[idx], root[idx], size[idx]
    seen = np.isfinite(p[..., 0])
    last_obs = np.maximum.accumulate(np.where(seen, np.arange(k)[:, None], -1), axis=0)[:-1]
    track_pose = np.where(
        (last_obs >= 0)[..., None], p[np.maximum(last_obs, 0), np.arange(n_body)].astype(np.float64), np.nan
    )
    sized = seen.sum(axis=1) >= n_body // 2
    sized[0] = True
    last_sized = np.maximum.accumulate(np.where(sized, np.arange(k), 0))[:-1]
    cost = _pair_cost(track_pose, r[:-1].astype(np.float64), s[last_sized].astype(np.float64), p[1:], r[1:])
    # Detection j + 1 breaks the single track: it shares a frame with detection j, or does not match.
    broken = np.flatnonzero((frames[1:] == frames[:-1]) | ~(cost <= MAX_STEP_IN_BODY_SIZES))
    if not len(broken):
        return idx, None
    frame = int(frames[broken[0] + 1])
    return idx[frames < frame], frame


def _pair_cost(
    track_pose: np.ndarray, track_root: np.ndarray, track_size: np.ndarray, pose: np.ndarray, root: np.ndarray
) -> np.ndarray:
    """Cost of giving person ``i`` to track ``i`` (arrays aligned on axis 0, or broadcast), in track body
    sizes: the mean distance over the joints both show, else the root distance; 1e6 where neither exists.

    Written out (no ``np.linalg.norm`` / ``np.nanmean`` / ``np.nan_to_num``) because it runs once per frame
    on tiny arrays, where those wrappers cost more than the arithmetic; the values are the same.
    """
    d = track_pose - pose
    joint = np.sqrt(np.add.reduce(d * d, axis=-1))
    shown = ~np.isnan(joint)
    count = np.add.reduce(shown, axis=-1)
    joint_dist = np.divide(np.add.reduce(np.where(shown, joint, 0.0), axis=-1), count,
                           out=np.full(count.shape, np.nan), where=count > 0)  # fmt: skip
    r = track_root - root
    root_dist = np.sqrt(np.add.reduce(r * r, axis=-1))
    cost = np.where(np.isfinite(joint_dist), joint_dist, root_dist) / track_size
    return np.where(np.isnan(cost), 1e6, np.minimum(cost, _FLOAT_MAX))  # costs are >= 0: as np.nan_to_num


def _match_cost(
    track_pose: np.ndarray, track_root: np.ndarray, track_size: np.ndarray, pose: np.ndarray, root: np.ndarray
) -> np.ndarray:
    """``(A, P)`` cost between ``A`` tracks and ``P`` people, in track body sizes (1e6 = impossible)."""
    return _pair_cost(track_pose[:, None], track_root[:, None], track_size[:, None], pose[None], root[None])
