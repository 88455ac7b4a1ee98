"""Choosing and tracking people across the frames of a video.

OpenPose detects people independently per frame and, without ``--tracking``, writes
``person_id: [-1]``. :func:`track_people` turns the per-frame detections into fixed person
slots: by ``person_id`` when OpenPose tracked them, else by matching each frame's people to
the previous positions (Hungarian assignment on root-joint distance, gated by body size).
Slot 0 is the main person: the track with the largest visibility score over the whole video (each detection's
score capped at a few times the video's median, so one frame with a corrupted joint cannot decide it).
:class:`MainPersonTracker` is the same rule for live streams, frame by frame and causal.
"""

from __future__ import annotations

import numpy as np

from graphemo.skeleton import Layout

# A track that has been unmatched for this many frames may be taken over by a new person.
LOST_AFTER_FRAMES = 15
# A person may move at most this many body sizes between two observations of the same track.
MAX_STEP_IN_BODY_SIZES = 0.5
MAX_TRACKS = 8
# One detection counts at most this many times the video's median detection score towards its track's total, so
# that one frame with a wild joint (a huge bounding box) cannot outweigh a person seen in every other frame.
SCORE_CAP_IN_MEDIANS = 4.0
# Likewise a detection's body size (which scales the matching gate) is at most this many median sizes.
SIZE_CAP_IN_MEDIANS = 8.0
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


def capped_scores(scores: np.ndarray) -> np.ndarray:
    """``scores`` ``(N,)`` capped at ``SCORE_CAP_IN_MEDIANS`` times the median positive score: what each detection
    contributes to its track's total (a robust sum: no single detection dominates)."""
    positive = scores[scores > 0]
    if not len(positive):
        return scores
    return np.minimum(scores, SCORE_CAP_IN_MEDIANS * float(np.median(positive)))


def _body_extent(body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean position ``(P, 2)`` of the detected joints of ``body`` ``(P, J, 3)`` and the diagonal ``(P,)`` of
    their bounding box; NaN for a person with none.

    The values are those of ``np.nanmean`` / ``np.nanmax`` / ``np.nanmin`` over the joints (the sum runs
    joint by joint, as theirs does), computed on a ``(J, 2, P)`` copy so that every step runs over whole rows
    of contiguous memory (a reduction along the short joint axis costs about ten times more).
    """
    valid = body[..., 2] > 0
    shown = valid.T[:, None, :]  # (J, 1, P)
    count = np.add.reduce(valid, axis=-1, dtype=np.intp)
    high = np.empty((body.shape[1], 2, body.shape[0]), dtype=body.dtype)
    np.copyto(high, body[..., :2].transpose(1, 2, 0))
    low = np.where(shown, high, np.inf)
    filled = np.where(shown, high, 0)
    np.copyto(high, -np.inf, where=~shown)
    span = np.maximum.reduce(high, axis=0) - np.minimum.reduce(low, axis=0)
    span = np.where(count > 0, span, np.nan)
    total = filled[0].copy()
    for j in range(1, len(filled)):
        total += filled[j]
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0, casting="unsafe")
    return mean.T, np.hypot(span[0], span[1])


def _roots_and_sizes(people: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Root position ``(P, 2)`` (mean of detected body joints) and body size ``(P,)`` (bbox diagonal, >= 1)."""
    body = people[:, layout.part_slice("body")] if "body" in layout.parts else people
    root, diag = _body_extent(body)
    return root, np.maximum(np.nan_to_num(diag), 1.0)


def _measures(people: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_roots_and_sizes` and :func:`person_scores` of ``people`` ``(P, V, C)`` (a whole video's detections)
    from one pass over the body: root ``(P, 2)``, size ``(P,)`` (at most ``SIZE_CAP_IN_MEDIANS`` times the median
    size), score ``(P,)``."""
    body = people[:, layout.part_slice("body")] if "body" in layout.parts else people
    root, diag = _body_extent(body)
    diag = np.nan_to_num(diag)
    size = np.maximum(diag, 1.0)
    if (diag > 0).any():  # a wild joint's huge box would make its track's matching gate wide enough to take anyone
        size = np.minimum(size, SIZE_CAP_IN_MEDIANS * float(np.median(diag[diag > 0])))
    return root, size, diag * body[..., 2].mean(axis=1)


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
    measures = _measures(people, layout) if n else None
    if n and (person_ids >= 0).all():
        slots = np.unique(person_ids, return_inverse=True)[1].reshape(-1).astype(np.int64)
    else:
        slots = _slots_from_motion(people, frame_index, layout, measures)
    n_slots = max(int(slots.max()) + 1, 0) if n else 0

    totals = np.zeros(max(n_slots, 1))
    kept = slots >= 0
    if kept.any():
        np.add.at(totals, slots[kept], capped_scores(measures[2])[kept])
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


def _slots_from_motion(
    people: np.ndarray,
    frame_index: np.ndarray,
    layout: Layout,
    measures: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    *,
    shortcuts: bool = True,
) -> np.ndarray:
    """Slot of each detection by frame-to-frame matching (Hungarian assignment, size-gated).

    Each track remembers the last seen position of every joint. The cost of giving a person to a track is
    the mean distance over the joints both show (the root distance when they share none), in units of the
    track's body size, so a fragmentary detection of one person is not mistaken for the other person.
    A person who cannot be matched and finds no free slot (more than ``MAX_TRACKS`` people) gets -1, and
    so does a person with no detected body joint.

    Args:
        people, frame_index, layout: see :func:`track_detections`.
        measures: :func:`_measures` of ``people``, if already computed.
        shortcuts: follow stretches of frames in which the same number of people each continue their track
            in vectorised steps (the same slots as the frame-by-frame loop, which ``False`` runs on every
            frame, for tests).

    Returns:
        ``(N,)`` int64 slot of each detection.
    """
    body = layout.part_slice("body") if "body" in layout.parts else slice(None)
    n_body = len(range(layout.num_joints)[body])
    slots = np.full(len(people), -1, dtype=np.int64)
    if not len(people):
        return slots
    root, size, scores = measures if measures is not None else _measures(people, layout)
    pose = people[:, body, :2].astype(np.result_type(people.dtype, 0.0))  # NaN where the joint is not seen
    pose[~(people[:, body, 2] > 0)] = np.nan
    valid = np.isfinite(root).all(axis=1)
    seen_all = np.isfinite(pose[..., 0])
    sized_all = seen_all.sum(axis=1) >= n_body // 2  # a detection showing this many joints sets the body size
    last_pose = np.full((MAX_TRACKS, n_body, 2), np.nan)
    last_root = np.full((MAX_TRACKS, 2), np.nan)
    last_size = np.ones(MAX_TRACKS)
    last_seen = np.full(MAX_TRACKS, -(10**9))
    used = np.zeros(MAX_TRACKS, dtype=bool)

    def follow(run: np.ndarray, s: int) -> None:
        """Give the valid detections ``run`` (in order) to track ``s`` and update the track as the loop would."""
        slots[run] = s
        seen = seen_all[run]
        last_obs = np.where(seen.any(axis=0), len(run) - 1 - np.argmax(seen[::-1], axis=0), -1)
        last_pose[s] = np.where((last_obs >= 0)[:, None], pose[run[np.maximum(last_obs, 0)], np.arange(n_body)],
                                last_pose[s])  # fmt: skip
        sized = sized_all[run] | ((np.arange(len(run)) == 0) & ~used[s])  # a new track takes its first size
        if sized.any():
            last_size[s] = size[run[np.flatnonzero(sized)[-1]]]
        last_root[s], last_seen[s], used[s] = root[run[-1]], frame_index[run[-1]], True

    starts = np.flatnonzero(np.diff(frame_index, prepend=-1))  # first detection of each frame
    ends = np.append(starts[1:], len(people))
    # Frames the shortcut can follow: P detections each, P = 1 or P > 1 all with a body; 0 for other frames.
    count = ends - starts
    kind = np.where((count == 1) | np.logical_and.reduceat(valid, starts), count, 0)
    kind_ends = np.append(np.flatnonzero(np.diff(kind)) + 1, len(starts))  # where each stretch of one kind ends
    f, window = 0, _RUN_WINDOW
    if shortcuts:
        # Most videos show one person at a time: the frames up to the first second person or jump are
        # matched to slot 0 in one vectorised step, and the loop below takes over from there.
        single, first_loop_frame = _single_track_prefix(pose, root, size, valid, frame_index, n_body)
        if len(single):
            follow(single, 0)
        if first_loop_frame is None:
            return slots
        f = int(np.searchsorted(frame_index[starts], first_loop_frame))
    while f < len(starts):
        a, b = int(starts[f]), int(ends[f])
        t = int(frame_index[a])
        if shortcuts and kind[f] and valid[a] and used.sum() >= b - a:
            # this frame and the next ones with as many people, as far as each stays on its track
            span = min(int(kind_ends[np.searchsorted(kind_ends, f, side="right")]) - f, window)
            det = a + np.arange(span * (b - a)).reshape(span, b - a)
            run = _track_run(det, pose, root, size, valid, sized_all, last_pose, last_root, last_size, used)
            if run is not None:
                followed, frames = run
                for track, detections in followed:
                    follow(detections, track)
                f += frames
                window = min(2 * window, _RUN_WINDOW_MAX) if frames == span else _RUN_WINDOW
                continue
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
                if sized_all[a + p] or not used[s]:
                    last_size[s] = size[a + p]
                used[s] = True
                last_root[s], last_seen[s] = root[a + p], t
        f += 1
    return slots


_RUN_WINDOW, _RUN_WINDOW_MAX = 16, 4096  # frames checked at once by the shortcut of _slots_from_motion


def _assign(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.optimize.linear_sum_assignment``, short-cut for one track or one person with a unique best."""
    if 1 in cost.shape:
        flat = cost.ravel()
        best = int(flat.argmin())
        if (flat == flat[best]).sum() == 1:
            return (np.array([best]), np.array([0])) if cost.shape[1] == 1 else (np.array([0]), np.array([best]))
    from scipy.optimize import linear_sum_assignment  # here: importing scipy.optimize takes a third of a second

    return linear_sum_assignment(cost)


def _track_run(
    det: np.ndarray,
    pose: np.ndarray,
    root: np.ndarray,
    size: np.ndarray,
    valid: np.ndarray,
    sized: np.ndarray,
    last_pose: np.ndarray,
    last_root: np.ndarray,
    last_size: np.ndarray,
    used: np.ndarray,
) -> tuple[list[tuple[int, np.ndarray]], int] | None:
    """The leading frames of ``det`` in which the loop of :func:`_slots_from_motion` would give every person to
    the track it continues, found at once.

    The people of a frame are linked to those of the frame before by nearest root; then each track's cost
    (see :func:`_chain_states`) must be at most ``MAX_STEP_IN_BODY_SIZES`` for its person and clearly less
    than any other track's (so that the loop's assignment is this one), and no person is left for a new
    track. Tracks with no person in the run stay unchanged. With one detection per frame, a detection with
    no body joint is skipped, as the loop skips it.

    Args:
        det: ``(K, P)`` detections of ``K`` consecutive frames with ``P`` each (``P > 1``: all valid; the first
            frame's valid).
        pose, root, size, valid, sized: per detection, as in :func:`_slots_from_motion`.
        last_pose, last_root, last_size, used: the tracks before the first frame.

    Returns:
        ``([(track, detections), ...], frames)``: each track's detections in the run and the frames used up;
        ``None`` when the first frame does not go this way.
    """
    k, p = det.shape
    active = np.flatnonzero(used)
    first = _match_cost(last_pose[active], last_root[active], last_size[active], pose[det[0]], root[det[0]])
    rows = _clear_assignment(first)
    if rows is None:
        return None
    if p == 1:  # frames whose detection has no body joint do not count
        frames = k
        det = det[valid[det[:, 0]]]
        who = np.zeros((len(det), 1), dtype=np.intp)
    else:  # who[f, q]: the run's track (0 .. P-1: the people of the first frame) of person q of frame f
        r = root[det]
        d = r[1:, :, None] - r[:-1, None, :]
        nearest = np.add.reduce(d * d, axis=-1).argmin(axis=-1)  # (K - 1, P): person of the frame before
        linked = (np.sort(nearest, axis=-1) == np.arange(p)).all(axis=-1)
        det = det[: k if linked.all() else int(np.argmin(linked)) + 1]
        frames = len(det)
        who = np.empty(det.shape, dtype=np.intp)
        who[0] = np.arange(p)
        for f in range(1, len(det)):
            who[f] = who[f - 1][nearest[f - 1]]
    tracks = active[rows]
    others = np.setdiff1d(active, tracks)
    seqs = [det[np.arange(len(det)), col] for col in np.argsort(who, axis=-1).T]  # each track's person per frame
    # cost[i, f, q]: of the run's track i (then of the other tracks) for person q of frame f
    cost = np.empty((p + len(others), *det.shape))
    for i, (track, seq) in enumerate(zip(tracks, seqs, strict=True)):
        poses, roots, sizes = _chain_states(pose[seq], root[seq], size[seq], sized[seq], last_pose[track],
                                            last_root[track], last_size[track])  # fmt: skip
        cost[i] = _pair_cost(poses[:, None], roots[:, None], sizes[:, None], pose[det], root[det])
    if len(others):
        flat = det.ravel()
        cost[p:] = _match_cost(last_pose[others], last_root[others], last_size[others], pose[flat], root[flat]).reshape(
            len(others), *det.shape
        )
    own = np.take_along_axis(cost, who[None], axis=0)[0]
    np.put_along_axis(cost, who[None], np.inf, axis=0)
    margin = _TIE_MARGIN if min(len(active), p) > 1 else 0.0
    ok = ((own <= MAX_STEP_IN_BODY_SIZES) & (own + margin < cost.min(axis=0))).all(axis=-1)
    n_ok = len(ok) if ok.all() else int(np.argmin(ok))
    if not n_ok:
        return None
    if n_ok < len(det):
        frames = int(det[n_ok, 0] - det[0, 0]) // p
    return [(int(track), seq[:n_ok]) for track, seq in zip(tracks, seqs, strict=True)], frames


# A person whose cost for one track is within this of its cost for another may go either way in the Hungarian
# assignment's floating point: the shortcut leaves such frames to it.
_TIE_MARGIN = 1e-6


def _clear_assignment(cost: np.ndarray) -> np.ndarray | None:
    """The row :func:`_assign` gives each column of ``cost`` ``(A, P)``, when that is each column's own minimum
    (unique; by more than ``_TIE_MARGIN`` where :func:`_assign` runs the Hungarian algorithm), the rows
    distinct and the costs at most ``MAX_STEP_IN_BODY_SIZES``; else ``None``."""
    a, p = cost.shape
    if a < p:
        return None
    cols = np.arange(p)
    rows = cost.argmin(axis=0)
    best = cost[rows, cols]
    if len(np.unique(rows)) < p or not (best <= MAX_STEP_IN_BODY_SIZES).all():
        return None
    rest = cost.copy()
    rest[rows, cols] = np.inf
    margin = _TIE_MARGIN if min(a, p) > 1 else 0.0
    return rows if (best + margin < rest.min(axis=0)).all() else None


def _chain_states(
    pose: np.ndarray,
    root: np.ndarray,
    size: np.ndarray,
    sized: np.ndarray,
    track_pose: np.ndarray,
    track_root: np.ndarray,
    track_size: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A track as the loop of :func:`_slots_from_motion` leaves it before each of ``k`` detections that it gets
    in turn: the last seen position of each joint, the last root, the body size of the last detection with
    ``sized`` set.

    Args:
        pose: ``(k, J, 2)`` (NaN where not seen); root ``(k, 2)``; size ``(k,)``; sized ``(k,)`` bool.
        track_pose, track_root, track_size: the track before the first detection: ``(J, 2)``, ``(2,)``, scalar.

    Returns:
        ``(poses (k, J, 2), roots (k, 2), sizes (k,))`` float64, for :func:`_pair_cost`.
    """
    k, n_joints = pose.shape[:2]
    seen = np.isfinite(pose[..., 0])
    # the detection before each one that last saw each joint (-1: none, the track's own value)
    last_obs = np.maximum.accumulate(np.where(seen, np.arange(k)[:, None], -1), axis=0)
    before = np.concatenate([np.full((1, n_joints), -1), last_obs[:-1]])
    # Row 0 the track, row i + 1 detection i; each joint's (x, y) viewed as one complex number, so that the
    # gather is one flat take (a two-index gather of the pairs costs ten times more).
    rows = np.concatenate([np.asarray(track_pose, np.float64)[None], pose.astype(np.float64)])
    flat = rows.view(np.complex128).reshape(-1)
    poses = flat[(before + 1) * n_joints + np.arange(n_joints)].view(np.float64).reshape(k, n_joints, 2)
    roots = np.concatenate([np.asarray(track_root, np.float64)[None], root[:-1].astype(np.float64)])
    last_sized = np.maximum.accumulate(np.where(sized, np.arange(k), -1))
    sized_before = np.concatenate([[-1], last_sized[:-1]])
    sizes = np.where(sized_before >= 0, size[np.maximum(sized_before, 0)].astype(np.float64), track_size)
    return poses, roots, sizes


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
    frames = frame_index[idx]
    p, r, s = pose[idx], root[idx], size[idx]
    sized = np.isfinite(p[..., 0]).sum(axis=1) >= n_body // 2
    # the first detection starts the track (its size counts whatever it shows)
    cost = _pair_cost(*_chain_states(p[1:], r[1:], s[1:], sized[1:], p[0].astype(np.float64), r[0], s[0]), p[1:], r[1:])
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
    on tiny arrays, where those wrappers cost more than the arithmetic; the values are the same. ``x*x + y*y``
    is the sum over the last axis of length 2, at a tenth of the cost of a reduction along it.
    """
    d = track_pose - pose
    dx, dy = d[..., 0], d[..., 1]
    joint = np.sqrt(dx * dx + dy * dy)
    shown = ~np.isnan(joint)
    count = np.add.reduce(shown, axis=-1)
    joint_dist = np.divide(np.add.reduce(np.where(shown, joint, 0.0), axis=-1), count,
                           out=np.full(count.shape, np.nan), where=count > 0)  # fmt: skip
    r = track_root - root
    rx, ry = r[..., 0], r[..., 1]
    root_dist = np.sqrt(rx * rx + ry * ry)
    cost = np.where(np.isfinite(joint_dist), joint_dist, root_dist) / track_size
    return np.where(np.isnan(cost), 1e6, np.minimum(cost, _FLOAT_MAX))  # costs are >= 0: as np.nan_to_num


def _match_cost(
    track_pose: np.ndarray, track_root: np.ndarray, track_size: np.ndarray, pose: np.ndarray, root: np.ndarray
) -> np.ndarray:
    """``(A, P)`` cost between ``A`` tracks and ``P`` people, in track body sizes (1e6 = impossible)."""
    return _pair_cost(track_pose[:, None], track_root[:, None], track_size[:, None], pose[None], root[None])


# --- the main person, causally (streaming) ----------------------------------------------------------


class MainPersonTracker:
    """Causal choice of the main person of each frame, for live streams: the offline rule, one frame at a time.

    It locks on the most visible person and follows them by ``person_id`` (when OpenPose tracked) or by joint
    distance gated by body size, as :func:`track_people` does, and only switches to someone else after
    ``lost_after`` frames without a match.

    Args:
        layout: layout of the keypoints.
        persons: slots to return; slot 0 is the main person, the others the remaining people by visibility.
        lost_after: frames without a match after which the main person may be replaced.
    """

    def __init__(self, layout: Layout, persons: int = 1, lost_after: int = LOST_AFTER_FRAMES) -> None:
        self.layout = layout
        self.persons = persons
        self.lost_after = lost_after
        body = layout.part_slice("body") if "body" in layout.parts else slice(None)
        self.body = body
        self.empty = np.zeros((persons, layout.num_joints, 3), np.float32)
        self.empty[..., :2] = np.nan
        self.reset()

    def reset(self) -> None:
        self.pose: np.ndarray | None = None  # (V_body, 2) last seen position of each body joint
        self.root = np.full(2, np.nan)
        self.size = 1.0
        self.person_id = -1
        self.last_seen: int | None = None

    def update(self, number: int, people: np.ndarray, person_ids: np.ndarray) -> np.ndarray:
        """The people ``(P, V, 3)`` of frame ``number`` -> ``(persons, V, 3)`` slots, slot 0 the main person
        (missing joints NaN / confidence 0; an empty slot where the main person is not seen)."""
        out = self.empty.copy()
        if len(people) == 0:
            return out
        scores = person_scores(people, self.layout)
        root, size = _roots_and_sizes(people, self.layout)
        pose = np.where(people[:, self.body, 2:3] > 0, people[:, self.body, :2], np.nan)
        main = self._match(number, person_ids, pose, root, scores)
        if main is not None:
            out[0] = people[main]
            seen = np.isfinite(pose[main, :, 0])
            self.pose = np.where(seen[:, None], pose[main], self.pose if self.pose is not None else np.nan)
            if seen.sum() >= seen.size // 2 or self.last_seen is None:
                self.size = float(size[main])
            self.root, self.last_seen, self.person_id = root[main], number, int(person_ids[main])
        others = [p for p in np.argsort(-scores, kind="stable") if p != main and scores[p] > 0]
        for slot, p in enumerate(others[: self.persons - 1], start=1):
            out[slot] = people[p]
        return out

    def _match(
        self, number: int, ids: np.ndarray, pose: np.ndarray, root: np.ndarray, scores: np.ndarray
    ) -> int | None:
        tracked = self.last_seen is not None and abs(number - self.last_seen) < self.lost_after
        if tracked and self.person_id >= 0 and (ids == self.person_id).any():
            return int(np.flatnonzero(ids == self.person_id)[0])
        if tracked and self.pose is not None:
            cost = _match_cost(self.pose[None], self.root[None], np.array([self.size]), pose, root)[0]
            best = int(np.argmin(cost))
            return best if cost[best] <= MAX_STEP_IN_BODY_SIZES else None
        best = int(np.argmax(scores))
        return best if scores[best] > 0 and np.isfinite(root[best]).all() else None
