"""Class-aware budgets: rare emotions keep a larger share of their frames, frequent ones (neutral) a smaller.

Given per-frame labels of every video and a dataset-wide total ``B``:

1. class ``c`` with ``N_c`` annotated frames gets ``B_c ∝ N_c ** power``, capped at ``N_c`` (what a capped
   class cannot use is shared among the others in the same proportions) and rounded so that
   ``Σ B_c = B`` (largest remainders, ties to the lowest class index);
2. each video gets the same fraction ``B_c / N_c`` of its own frames of class ``c`` (largest remainders
   again, ties to the lowest video index).

``power = 1`` keeps the same fraction of every class (a plain ratio), ``power = 0`` the same number of
frames per class, ``0.5`` (default) is in between: class ``c`` keeps the fraction ``∝ N_c ** (power - 1)``.
Selection then runs inside each ``(video, class)`` group (:func:`select_frames_per_class`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphemo.labels import EMOTIONS, EMOTIONS_WITH_OTHER, UNANNOTATED
from graphemo.subsampling.distance import PoseEmbedding, embed_pose
from graphemo.subsampling.strategies import select_frames


def _num_classes(labels: Sequence[np.ndarray], num_classes: int | None) -> int:
    top = max((int(lab.max()) for lab in labels if len(lab)), default=UNANNOTATED)
    if num_classes is None:
        num_classes = len(EMOTIONS_WITH_OTHER) if top >= len(EMOTIONS) else len(EMOTIONS)
    if top >= num_classes:
        raise ValueError(f"labels contain class {top} but there are only {num_classes} classes")
    return num_classes


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``(C,)`` int64 frames per class of a ``(T,)`` label array (``UNANNOTATED`` frames not counted)."""
    lab = np.asarray(labels)
    if lab.ndim != 1 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {lab.dtype} {lab.shape}")
    if (lab < UNANNOTATED).any() or (lab >= num_classes).any():
        bad = lab[(lab < UNANNOTATED) | (lab >= num_classes)][0]
        raise ValueError(f"label {bad} is neither a class in 0..{num_classes - 1} nor UNANNOTATED ({UNANNOTATED})")
    return np.bincount(lab[lab >= 0], minlength=num_classes).astype(np.int64)


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """Integers ``<= ceil(shares)`` summing to ``total`` (``shares`` sum to ``total``); ties to lower index."""
    base = np.floor(shares + 1e-9).astype(np.int64)
    missing = total - int(base.sum())
    if missing > 0:
        order = np.argsort(-(shares - base), kind="stable")
        base[order[:missing]] += 1
    return base


def _capped_allocation(counts: np.ndarray, weights: np.ndarray, total: int) -> np.ndarray:
    """Real-valued ``share ∝ weights`` with ``share <= counts`` and ``Σ share = total`` (water-filling)."""
    share = np.zeros(len(counts))
    free = (counts > 0) & (weights > 0)
    left = float(total)
    while free.any() and left > 1e-9:
        proposal = left * weights[free] / weights[free].sum()
        over = proposal >= counts[free]
        if not over.any():
            share[free] = proposal
            break
        capped = np.flatnonzero(free)[over]
        share[capped] = counts[capped]
        left -= float(counts[capped].sum())
        free[capped] = False
    return share


def class_budgets(
    labels_per_video: Sequence[np.ndarray],
    total: int,
    *,
    power: float = 0.5,
    num_classes: int | None = None,
    candidates_per_video: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """Frames to keep per video and class for a dataset-wide total (see the module docstring).

    Args:
        labels_per_video: one ``(T_v,)`` integer array per video, graphemo class indices with
            ``UNANNOTATED`` (-1) for frames that count for no class.
        total: frames to keep over the whole dataset, ``0 <= total <= annotated frames``.
        power: exponent of the class allocation ``∝ N_c ** power``, in ``[0, 1]``.
        num_classes: number of classes (default 7, or 8 when a label 7 ``other`` occurs).
        candidates_per_video: optional ``(T_v,)`` bool masks; frames outside them are not counted
            (e.g. frames with no person, so that budgets never exceed what can be kept).

    Returns:
        ``(num_videos, C)`` int64 budgets, each at most the video's frames of that class, summing to
        ``total``.
    """
    labels = [np.asarray(lab) for lab in labels_per_video]
    if not 0 <= power <= 1:
        raise ValueError(f"power must be in [0, 1], got {power}")
    c = _num_classes(labels, num_classes)
    if candidates_per_video is not None:
        if len(candidates_per_video) != len(labels):
            raise ValueError(f"{len(candidates_per_video)} candidate masks for {len(labels)} videos")
        masked = []
        for v, (lab, cand) in enumerate(zip(labels, candidates_per_video, strict=True)):
            cand = np.asarray(cand)
            if cand.dtype != np.bool_ or cand.shape != lab.shape:
                raise ValueError(
                    f"video {v}: candidates must be a {lab.shape} bool mask, got {cand.dtype} {cand.shape}"
                )
            masked.append(np.where(cand, lab, UNANNOTATED))
        labels = masked
    per_video = np.stack([class_counts(lab, c) for lab in labels]) if labels else np.zeros((0, c), np.int64)
    counts = per_video.sum(axis=0)
    if not 0 <= total <= counts.sum():
        raise ValueError(f"total must be in [0, {int(counts.sum())}] (the annotated frames), got {total}")
    weights = np.where(counts > 0, counts.astype(np.float64) ** power, 0.0)
    per_class = _largest_remainder(_capped_allocation(counts, weights, total), total)
    budgets = np.zeros_like(per_video)
    for k in range(c):
        if per_class[k]:
            shares = per_video[:, k] * (per_class[k] / counts[k])
            budgets[:, k] = _largest_remainder(shares, int(per_class[k]))
    return budgets


def select_frames_per_class(
    pose: np.ndarray,
    labels: np.ndarray,
    budget: np.ndarray,
    strategy: str,
    *,
    candidates: np.ndarray | None = None,
    embedding: PoseEmbedding | None = None,
) -> np.ndarray:
    """Run a strategy inside each class of one video, keeping ``budget[c]`` frames of class ``c``.

    Args:
        pose: ``(T, V, 3)`` as for :func:`~graphemo.subsampling.select_frames`.
        labels: ``(T,)`` graphemo class per frame, ``UNANNOTATED`` never kept.
        budget: ``(C,)`` frames to keep per class (a row of :func:`class_budgets`).
        strategy: any strategy that takes a ``count`` budget.
        candidates: optional ``(T,)`` bool mask of eligible frames.
        embedding: precomputed embedding of ``pose``.

    Returns:
        ``(K,)`` int64 sorted kept frame indices, ``K = Σ budget`` when every class has enough eligible frames.
    """
    lab = np.asarray(labels)
    if lab.shape != (len(pose),):
        raise ValueError(f"labels must be ({len(pose)},), got {lab.shape}")
    budget = np.asarray(budget)
    class_counts(lab, len(budget))
    if candidates is not None:
        candidates = np.asarray(candidates)
        if candidates.dtype != np.bool_ or candidates.shape != lab.shape:
            raise ValueError(f"candidates must be a {lab.shape} bool mask, got {candidates.dtype} {candidates.shape}")
    emb = embed_pose(pose) if embedding is None else embedding
    kept = []
    for k, n in enumerate(budget.tolist()):
        if n > 0:
            group = lab == k if candidates is None else (lab == k) & candidates
            kept.append(select_frames(pose, strategy, count=int(n), candidates=group, embedding=emb))
    return np.sort(np.concatenate(kept)) if kept else np.empty(0, dtype=np.int64)
