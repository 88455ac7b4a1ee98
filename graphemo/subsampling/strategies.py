"""Frame selection strategies: which frames of a video to keep so that they are few and not look-alikes.

Every strategy returns the sorted indices of the kept frames. Only *eligible* frames can be kept: frames
in ``candidates`` (all by default) that show a person (a visible joint). Budgets, exactly one per call:

=============  ==========================================================================================
``n``          ``every_nth`` only: every ``n``-th eligible frame, starting at the first.
``ratio``      keep ``round(ratio x eligible)`` frames (at least 1), ``0 < ratio <= 1``.
``count``      keep ``count`` frames (all eligible ones if fewer); ``count = 0`` keeps none.
``threshold``  ``motion`` only: keep a frame when it moved more than this since the last kept one.
=============  ==========================================================================================

Strategies (registry :data:`STRATEGIES`, see :func:`select_frames`):

- ``every_nth``: evenly spaced eligible frames (the baseline: it spends its budget on static repeats).
- ``motion``: one pass; keep the first eligible frame, then each frame whose distance to the last kept
  frame exceeds ``threshold``. Linear time; :class:`MotionGate` is the same rule one frame at a time for
  streams. With a ``ratio``/``count`` budget the threshold is found by bisection, see
  :func:`calibrate_motion`.
- ``kcenter``: greedy farthest-point selection (Gonzalez): start from the most visible eligible frame, then
  repeatedly keep the frame farthest from all kept ones. It minimises, within a factor 2, the coverage
  radius (the largest distance from a dropped frame to its nearest kept one) for the budget.

Distances are :mod:`graphemo.subsampling.distance`'s masked RMS joint displacement. Everything is
deterministic; ties go to the lowest frame index.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from graphemo.subsampling.distance import PoseEmbedding, check_pose, embed_pose, has_person

BUDGET_NAMES = ("n", "ratio", "count", "threshold")


@dataclass(frozen=True)
class Strategy:
    """A registered strategy: ``select(embedding, eligible (E,) int64 frame indices, **budget) -> kept``.

    ``select`` gets exactly one budget keyword among ``budgets`` (``count`` after resolving a ratio) and
    returns positions into ``eligible``.
    """

    name: str
    select: Callable[..., np.ndarray]
    budgets: tuple[str, ...]
    summary: str


def _every_nth(emb: PoseEmbedding, eligible: np.ndarray, *, n: int | None = None, count: int | None = None):
    e = len(eligible)
    if n is not None:
        return np.arange(0, e, n, dtype=np.int64)
    assert count is not None
    return (np.arange(count, dtype=np.int64) * e) // max(count, 1)


def _kcenter(emb: PoseEmbedding, eligible: np.ndarray, *, count: int) -> np.ndarray:
    if count == 0:
        return np.empty(0, dtype=np.int64)
    terms, mask = emb.terms[eligible], emb.mask[eligible]
    partner, partner_mask = emb.partner[eligible], mask
    visible = mask.sum(axis=1)
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = int(np.argmax(visible))  # first maximum = lowest index among the most visible frames
    nearest = np.full(len(eligible), np.inf)
    for i in range(1, count):
        k = chosen[i - 1]
        num = terms @ partner[k]
        shared = mask @ partner_mask[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            d2 = np.where(shared > 0, np.maximum(num, 0.0) / shared, np.inf)
        np.minimum(nearest, d2, out=nearest)
        nearest[k] = -1.0  # stays below any distance: never chosen twice
        chosen[i] = int(np.argmax(nearest))
    return np.sort(chosen)


def _motion_pass(
    emb: PoseEmbedding, eligible: np.ndarray, sq_threshold: float, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The single motion pass, vectorised over look-ahead blocks (same result as frame by frame).

    Returns positions of kept frames in ``eligible`` and each one's squared distance to the previous kept
    frame (``inf`` for the first). Stops early once more than ``limit`` frames are kept.
    """
    e = len(eligible)
    if e == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    kept, jumps = [0], [np.inf]
    last, pos, window = 0, 1, 16
    while pos < e and (limit is None or len(kept) <= limit):
        stop = min(e, pos + window)
        d2 = emb.sq_distances_to(eligible[last], eligible[pos:stop])
        over = np.flatnonzero(d2 > sq_threshold)
        if len(over) == 0:
            pos, window = stop, window * 2
            continue
        hit = pos + int(over[0])
        kept.append(hit)
        jumps.append(float(d2[over[0]]))
        window = max(16, 2 * (hit - last))
        last, pos = hit, hit + 1
    return np.asarray(kept, dtype=np.int64), np.asarray(jumps)


def calibrate_motion(
    emb: PoseEmbedding, eligible: np.ndarray, count: int, *, iterations: int = 40
) -> tuple[float, np.ndarray]:
    """Find the motion threshold that keeps ``count`` of the eligible frames.

    Bisection on the threshold for the largest one that still keeps at least ``count`` frames (the kept
    count falls, not always strictly monotonically, as the threshold rises); then, if that keeps a few
    too many, the kept frames that moved least since their predecessor are dropped (never the first).
    Trade-off: up to ``iterations`` passes instead of one, and the result is no longer a pure
    single-threshold selection when trimmed; ``motion`` with ``threshold=`` stays one linear pass.
    Frames identical to the last kept one are never kept, so a video with fewer than ``count`` distinct
    poses keeps fewer frames.

    Args:
        emb: the video's embedding.
        eligible: ``(E,)`` frame indices that may be kept.
        count: frames to keep, ``0 <= count <= E``.
        iterations: bisection steps at most.

    Returns:
        ``(threshold, positions into eligible)``.
    """
    if count == 0 or len(eligible) == 0:
        return math.inf, np.empty(0, dtype=np.int64)
    from_first = emb.sq_distances_to(eligible[0], eligible)
    finite = from_first[np.isfinite(from_first)]
    lo, hi = 0.0, float(finite.max()) if len(finite) else 0.0
    best_sq = lo
    if len(_motion_pass(emb, eligible, lo, limit=count)[0]) > count:
        kept_hi, _ = _motion_pass(emb, eligible, hi, limit=count)
        if len(kept_hi) >= count:  # even the loosest threshold keeps enough (frames with no shared joint)
            best_sq = hi
        else:
            for _ in range(iterations):
                mid = 0.5 * (lo + hi)
                kept, _ = _motion_pass(emb, eligible, mid, limit=count)
                if len(kept) >= count:
                    lo, best_sq = mid, mid
                    if len(kept) == count:
                        break
                else:
                    hi = mid
    kept, jumps = _motion_pass(emb, eligible, best_sq)
    if len(kept) > count:
        order = np.argsort(jumps[1:], kind="stable")[: len(kept) - count] + 1
        kept = np.delete(kept, order)
    return math.sqrt(best_sq), kept


def _motion(
    emb: PoseEmbedding, eligible: np.ndarray, *, threshold: float | None = None, count: int | None = None
) -> np.ndarray:
    if threshold is not None:
        return _motion_pass(emb, eligible, threshold * threshold)[0]
    assert count is not None
    return calibrate_motion(emb, eligible, count)[1]


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("every_nth", _every_nth, ("n", "ratio", "count"), "evenly spaced eligible frames (baseline)"),
        Strategy("motion", _motion, ("threshold", "ratio", "count"), "keep a frame once the pose moved enough"),
        Strategy("kcenter", _kcenter, ("ratio", "count"), "greedy farthest-point: smallest coverage radius"),
    )
}


def get_strategy(name: str) -> Strategy:
    """The registered strategy called ``name``; ``ValueError`` with the closest name when unknown."""
    if name not in STRATEGIES:
        close = difflib.get_close_matches(name, STRATEGIES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown subsampling strategy {name!r}.{hint} Known: {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


def resolve_count(num_eligible: int, *, ratio: float | None = None, count: int | None = None) -> int:
    """Frames to keep out of ``num_eligible`` for a ``ratio`` or ``count`` budget (exactly one given).

    ``ratio`` keeps ``round(ratio x num_eligible)`` (half up), at least 1 when any frame is eligible;
    ``count`` is capped at ``num_eligible``.
    """
    if (ratio is None) == (count is None):
        raise ValueError("give exactly one of ratio and count")
    if ratio is not None:
        if not 0 < ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        return min(num_eligible, max(1, math.floor(ratio * num_eligible + 0.5))) if num_eligible else 0
    assert count is not None
    return min(num_eligible, count)


def _check_budget(strategy: Strategy, budget: dict[str, float | int]) -> None:
    given = [k for k, v in budget.items() if v is not None]
    if len(given) != 1:
        what = "no budget" if not given else f"several budgets ({', '.join(given)})"
        raise ValueError(f"strategy {strategy.name!r} got {what}: give exactly one of {', '.join(strategy.budgets)}")
    key = given[0]
    value = budget[key]
    if key not in strategy.budgets:
        raise ValueError(
            f"strategy {strategy.name!r} takes no {key!r} budget: give one of {', '.join(strategy.budgets)}"
        )
    if key in ("n", "count"):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        if value < (1 if key == "n" else 0):
            raise ValueError(f"{key} must be >= {1 if key == 'n' else 0}, got {value}")
    elif key == "ratio" and not (isinstance(value, int | float) and 0 < value <= 1):
        raise ValueError(f"ratio must be in (0, 1], got {value!r}")
    elif key == "threshold" and not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"threshold must be a finite number >= 0, got {value!r}")


def eligible_frames(pose: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
    """``(E,)`` int64 indices of the frames that may be kept: in ``candidates`` and showing a person.

    Args:
        pose: ``(T, V, 3)``.
        candidates: ``(T,)`` bool mask, or ``None`` for every frame.
    """
    person = has_person(pose)
    if candidates is not None:
        cand = np.asarray(candidates)
        if cand.dtype != np.bool_ or cand.shape != person.shape:
            raise ValueError(f"candidates must be a ({len(person)},) bool mask, got {cand.dtype} {cand.shape}")
        person = person & cand
    return np.flatnonzero(person).astype(np.int64)


def select_frames(
    pose: np.ndarray,
    strategy: str,
    *,
    ratio: float | None = None,
    count: int | None = None,
    n: int | None = None,
    threshold: float | None = None,
    candidates: np.ndarray | None = None,
    embedding: PoseEmbedding | None = None,
) -> np.ndarray:
    """Choose the frames of one video to keep.

    Args:
        pose: ``(T, V, 3)`` normalised ``(x, y, confidence)`` of one person (e.g. from
            :func:`~graphemo.subsampling.pose_features`); a joint is visible when confidence > 0.
        strategy: a name in :data:`STRATEGIES` (``every_nth``, ``motion``, ``kcenter``).
        ratio, count, n, threshold: the budget, exactly one (see the module docstring for which
            strategy takes which).
        candidates: ``(T,)`` bool mask of the frames that may be kept (e.g. annotated frames of the
            split); frames with no visible joint are never kept either way.
        embedding: the precomputed :func:`~graphemo.subsampling.distance.embed_pose` of ``pose``, to
            share it between several calls.

    Returns:
        ``(K,)`` int64 sorted indices of the kept frames.

    Raises:
        ValueError: unknown strategy, a missing/extra/out-of-range budget, or a bad pose/candidates.
    """
    spec = get_strategy(strategy)
    budget = {"n": n, "ratio": ratio, "count": count, "threshold": threshold}
    _check_budget(spec, budget)
    pose = check_pose(pose)
    eligible = eligible_frames(pose, candidates)
    emb = embed_pose(pose) if embedding is None else embedding
    if emb.num_frames != len(pose):
        raise ValueError(f"embedding has {emb.num_frames} frames, pose has {len(pose)}")
    if len(eligible) == 0:
        return eligible
    kwargs: dict[str, float | int] = {k: v for k, v in budget.items() if v is not None}
    if "ratio" in kwargs or "count" in kwargs:
        kwargs = {"count": resolve_count(len(eligible), ratio=ratio, count=count)}
    positions = spec.select(emb, eligible, **kwargs)
    return np.sort(eligible[positions])


class MotionGate:
    """The ``motion`` rule one frame at a time, for streams: ``gate(frame) -> keep?``.

    Keeps the first frame that shows a person, then each frame whose distance to the last kept frame is
    greater than ``threshold``. Fed the frames of a video in order, it keeps exactly the frames
    ``select_frames(pose, "motion", threshold=threshold)`` returns.
    """

    def __init__(self, threshold: float) -> None:
        _check_budget(STRATEGIES["motion"], {"threshold": threshold})
        self.threshold = float(threshold)
        self._last: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> bool:
        """Decide on one frame ``(V, 3)``; True means keep it (it becomes the reference)."""
        arr = check_pose(np.asarray(frame)[None])[0]
        visible = arr[:, 2] > 0
        if not visible.any():
            return False
        if self._last is not None:
            shared = visible & (self._last[:, 2] > 0)
            if shared.any():
                diff = arr[shared, :2] - self._last[shared, :2]
                if float(np.mean((diff * diff).sum(axis=1))) <= self.threshold**2:
                    return False
        self._last = arr
        return True
