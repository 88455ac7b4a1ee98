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
  streams. With a ``ratio``/``count`` budget the threshold is searched for, see :func:`calibrate_motion`.
- ``kcenter``: greedy farthest-point selection (Gonzalez): start from the most visible eligible frame, then
  repeatedly keep the frame farthest from all kept ones. It minimises, within a factor 2, the coverage
  radius (the largest distance from a dropped frame to its nearest kept one) for the budget; the bound
  is exact for a metric, i.e. when the frames show the same joints.

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
    # float32 halves the memory traffic of the two products per step (the loop is bandwidth-bound); the
    # centred coordinates are O(1) shoulder widths, so distances keep ~1e-6 relative precision, far below
    # what separates a farthest frame from the rest. The report measures in float64.
    terms = emb.terms[eligible].astype(np.float32)
    partner = emb.partner[eligible].astype(np.float32)
    mask = emb.mask[eligible].astype(np.float32)
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = int(np.argmax(mask.sum(axis=1)))  # first maximum = lowest index among the most visible frames
    nearest = np.full(len(eligible), np.inf, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(1, count):
            k = chosen[i - 1]
            d2 = terms @ partner[k]
            np.maximum(d2, 0.0, out=d2)
            np.divide(d2, mask @ mask[k], out=d2)  # no shared joint: x/0 = inf or 0/0 = NaN, both ignored by fmin
            np.fmin(nearest, d2, out=nearest)
            nearest[k] = -1.0  # stays below any distance: never chosen twice
            chosen[i] = int(np.argmax(nearest))
    return np.sort(chosen)


# Squared distances up to this are rounding noise of the expansion (1e-6 shoulder widths RMS): "not moved".
_SQ_EPS = 1e-12


@dataclass(frozen=True)
class _Rows:
    """The embedding rows of the eligible frames, contiguous, so that a window is a view, not a copy."""

    terms: np.ndarray
    partner: np.ndarray
    mask: np.ndarray

    @classmethod
    def of(cls, emb: PoseEmbedding, eligible: np.ndarray) -> _Rows:
        return cls(emb.terms[eligible], emb.partner[eligible], emb.mask[eligible])


def _motion_pass(rows: _Rows, sq_threshold: float, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The single motion pass, vectorised over look-ahead windows (same result as frame by frame).

    Returns positions of kept frames among the rows and each one's squared distance to the previous kept
    frame (``inf`` for the first). Stops early once more than ``limit`` frames are kept.
    """
    e = len(rows.mask)
    if e == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    kept, jumps = [0], [np.inf]
    bar = sq_threshold + _SQ_EPS
    last, pos, window = 0, 1, 16
    while pos < e and (limit is None or len(kept) <= limit):
        stop = min(e, pos + window)
        num = rows.terms[pos:stop] @ rows.partner[last]
        shared = rows.mask[pos:stop] @ rows.mask[last]
        moved = (num > bar * shared) | (shared == 0)  # no shared joint: infinitely far
        i = int(moved.argmax())
        if not moved[i]:
            pos, window = stop, window * 2
            continue
        hit = pos + i
        kept.append(hit)
        jumps.append(float(num[i] / shared[i]) if shared[i] > 0 else math.inf)
        window = max(16, 2 * (hit - last))
        last, pos = hit, hit + 1
    return np.asarray(kept, dtype=np.int64), np.asarray(jumps)


def _path_length(rows: _Rows) -> float:
    """Sum of the distances between consecutive rows (those that share a joint)."""
    num = np.einsum("ij,ij->i", rows.terms[:-1], rows.partner[1:])
    shared = np.einsum("ij,ij->i", rows.mask[:-1], rows.mask[1:])
    ok = shared > 0
    return float(np.sqrt(np.maximum(num[ok], 0.0) / shared[ok]).sum())


def calibrate_motion(
    emb: PoseEmbedding, eligible: np.ndarray, count: int, *, iterations: int = 40
) -> tuple[float, np.ndarray]:
    """Find the motion threshold that keeps ``count`` of the eligible frames.

    The kept count falls as the threshold rises, roughly like ``1 / threshold`` but not monotonically
    (it can flip between e.g. 292 and 302 at the same threshold to four digits). The search starts from
    ``path length / count``, keeps a bracket ``[lo, hi]`` (``lo`` keeps too many, ``hi`` too few) and
    steps by interpolation in log-log space, safeguarded towards the bracket's middle (the middle itself
    when a pass was cut short). It stops at a threshold that keeps ``count`` to ``count + count // 50``
    frames, or when the bracket is within 0.01 % of the threshold, and then drops the surplus kept frames
    that moved least since their predecessor (never the first). Trade-off: a handful of passes instead
    of one, and the result is not always a pure single-threshold selection; ``motion`` with
    ``threshold=`` stays one linear pass. Frames that did not move since the last kept one are never
    kept, so a video with fewer than ``count`` distinct poses keeps fewer frames.

    Args:
        emb: the video's embedding.
        eligible: ``(E,)`` frame indices that may be kept.
        count: frames to keep, ``0 <= count <= E``.
        iterations: passes at most in the search.

    Returns:
        ``(threshold, positions into eligible)``.
    """
    if count == 0 or len(eligible) == 0:
        return math.inf, np.empty(0, dtype=np.int64)
    rows = _Rows.of(emb, eligible)
    most = count + count // 50
    limit = count + count // 2 + 16  # a pass that keeps more is cut short: the threshold is too low anyway

    def run(sq: float, cut: bool = True) -> tuple[np.ndarray, np.ndarray]:
        return _motion_pass(rows, sq, limit if cut else None)

    result = _motion_pass(rows, 0.0, most)
    if len(result[0]) <= most:  # at most `count` distinct moves: keep every one
        return 0.0, _trim(*result, count)
    lo, n_lo = 0.0, len(result[0])
    from_first = emb.sq_distances_to(eligible[0], eligible)
    finite = from_first[np.isfinite(from_first)]
    hi = float(np.sqrt(finite.max())) if len(finite) else 0.0
    n_hi = len(run(hi * hi)[0]) if hi > 0 else n_lo
    for _ in range(8):  # the farthest frame from the first is not the widest move: widen until too few
        if n_hi < count or hi == 0:
            break
        if n_hi <= most:
            return hi, _trim(*run(hi * hi, cut=False), count)
        lo, n_lo, hi = hi, n_hi, 2 * hi
        n_hi = len(run(hi * hi)[0])
    if n_hi >= count:  # even the loosest threshold keeps too many (frames that share no joint)
        return hi, _trim(*run(hi * hi, cut=False), count)
    target = count + count // 100
    theta = min(max(_path_length(rows) / target, lo), hi)
    best = None
    for _ in range(iterations):
        if not lo < theta < hi:
            theta = 0.5 * (lo + hi) if lo == 0 else math.sqrt(lo * hi)
        result = run(theta * theta)
        k = len(result[0])
        if count <= k <= most:
            best = result
            break
        if k > most:
            lo, n_lo = theta, k
        else:
            hi, n_hi = theta, k
        if hi - lo <= 1e-4 * hi:
            break
        if lo == 0:  # count ~ 1 / threshold
            theta = hi * max(n_hi, 1) / target
        elif n_lo > limit:  # that pass was cut short: its count says little
            theta = math.sqrt(lo * hi)
        else:
            f = math.log(n_lo / target) / math.log(n_lo / max(n_hi, 1))
            theta = lo * (hi / lo) ** min(max(f, 0.1), 0.9)
    if best is None:
        theta = lo
        best = run(lo * lo, cut=False)
    return theta, _trim(*best, count)


def _trim(kept: np.ndarray, jumps: np.ndarray, count: int) -> np.ndarray:
    """Drop the surplus kept frames (beyond ``count``) that moved least since their predecessor."""
    if len(kept) <= count:
        return kept
    order = np.argsort(jumps[1:], kind="stable")[: len(kept) - count] + 1
    return np.delete(kept, order)


def _motion(
    emb: PoseEmbedding, eligible: np.ndarray, *, threshold: float | None = None, count: int | None = None
) -> np.ndarray:
    if threshold is not None:
        return _motion_pass(_Rows.of(emb, eligible), threshold * threshold)[0]
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
                if float(np.mean((diff * diff).sum(axis=1))) <= self.threshold**2 + _SQ_EPS:
                    return False
        self._last = arr
        return True
