"""How redundant a selection of frames is, in numbers.

For one video, with *eligible* frames (in ``candidates`` and showing a person), *kept* frames (the
selection) and *dropped* frames (eligible, not kept), and :mod:`~graphemo.subsampling.distance`'s distance:

- ``coverage_radius``: the largest distance from a dropped frame to its nearest kept frame (nearest over
  all kept frames, not only temporal neighbours): every dropped frame has a kept frame at most this far.
  0 when nothing is dropped. Dropped frames that share no joint with any kept frame are not in it: they
  are counted as ``uncovered``.
- ``mean_cover_distance``: the mean of that nearest-kept distance over covered dropped frames.
- ``kept_nn_mean``: the mean, over kept frames, of the distance to the nearest *other* kept frame (how far
  apart the kept frames are; NaN with fewer than 2).
- ``duplicates``: kept frames whose nearest other kept frame is closer than ``duplicate_threshold``
  (``duplicate_fraction`` = duplicates / kept).
- ``labels_before`` / ``labels_after``: frames per class (graphemo's class order) among eligible / kept
  frames, when labels are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphemo.labels import EMOTIONS, EMOTIONS_WITH_OTHER
from graphemo.subsampling.budgets import class_counts
from graphemo.subsampling.distance import PoseEmbedding, check_pose, embed_pose
from graphemo.subsampling.strategies import eligible_frames

# In shoulder widths (RMS over joints). Consecutive frames of the real MPIIEmo clip (BODY_25, centred per
# frame, the video's median scale) are a median 0.045 apart, 18 % of them closer than 0.02 (jitter).
DUPLICATE_THRESHOLD = 0.02
# Elements of one block of the distance matrix (rows x kept frames), to bound memory.
_BLOCK = 1 << 21

SUM_KEYS = ("frames", "eligible", "kept", "dropped", "uncovered", "duplicates", "covered", "with_neighbour")


def _nearest(emb: PoseEmbedding, rows: np.ndarray, cols: np.ndarray, *, exclude_self: bool) -> np.ndarray:
    """``(R,)`` squared distance from each frame in ``rows`` to its nearest frame in ``cols`` (``inf``: none)."""
    out = np.full(len(rows), np.inf)
    if len(cols) == 0:
        return out
    partner, mask = emb.partner[cols].T.copy(), emb.mask[cols].T.copy()
    step = max(1, _BLOCK // len(cols))
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, len(rows), step):
            block = rows[start : start + step]
            d2 = emb.terms[block] @ partner
            np.maximum(d2, 0.0, out=d2)
            np.divide(d2, emb.mask[block] @ mask, out=d2)  # no shared joint: inf or NaN, skipped by fmin
            if exclude_self:  # rows == cols: the diagonal of this block
                r = np.arange(d2.shape[0])
                d2[r, start + r] = np.inf
            out[start : start + step] = np.fmin.reduce(d2, axis=1)
    return np.where(np.isnan(out), np.inf, out)


def redundancy_report(
    pose: np.ndarray,
    kept: np.ndarray,
    *,
    candidates: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    num_classes: int | None = None,
    duplicate_threshold: float = DUPLICATE_THRESHOLD,
    embedding: PoseEmbedding | None = None,
) -> dict[str, Any]:
    """Measure the redundancy of one video's selection (definitions in the module docstring).

    Args:
        pose: ``(T, V, 3)`` the pose the distance is measured on (same as given to the strategy).
        kept: ``(K,)`` kept frame indices, all eligible.
        candidates: ``(T,)`` bool mask of eligible frames (default: every frame with a person).
        labels: optional ``(T,)`` graphemo class per frame (``UNANNOTATED`` = -1 not counted).
        num_classes: classes in the label counts (default 7, or 8 when ``other`` occurs).
        duplicate_threshold: distance under which two kept frames are duplicates.
        embedding: precomputed embedding of ``pose``.

    Returns:
        Dict with ``frames, eligible, kept, dropped, kept_fraction, coverage_radius, mean_cover_distance,
        uncovered, covered, kept_nn_mean, with_neighbour, duplicates, duplicate_fraction,
        duplicate_threshold`` and, with labels, ``class_names, labels_before, labels_after`` (lists).

    Raises:
        ValueError: a kept index out of range, repeated, or not eligible.
    """
    pose = check_pose(pose)
    eligible = eligible_frames(pose, candidates)
    kept = np.asarray(kept)
    if kept.ndim != 1 or (len(kept) and not np.issubdtype(kept.dtype, np.integer)):
        raise ValueError(f"kept must be a 1-D array of frame indices, got {kept.dtype} {kept.shape}")
    kept = np.sort(kept.astype(np.int64))
    if len(kept) and (kept[0] < 0 or kept[-1] >= len(pose)):
        raise ValueError(f"kept frame index out of range 0..{len(pose) - 1}")
    if len(np.unique(kept)) != len(kept):
        raise ValueError("kept has repeated frame indices")
    not_eligible = np.setdiff1d(kept, eligible)
    if len(not_eligible):
        raise ValueError(f"kept frame {not_eligible[0]} is not eligible (outside candidates or shows no person)")
    emb = embed_pose(pose) if embedding is None else embedding
    dropped = np.setdiff1d(eligible, kept)

    cover = np.sqrt(_nearest(emb, dropped, kept, exclude_self=False))
    covered = cover[np.isfinite(cover)]
    nn = np.sqrt(_nearest(emb, kept, kept, exclude_self=True))
    with_neighbour = nn[np.isfinite(nn)]
    duplicates = int((nn < duplicate_threshold).sum())
    report: dict[str, Any] = {
        "frames": len(pose),
        "eligible": len(eligible),
        "kept": len(kept),
        "dropped": len(dropped),
        "kept_fraction": len(kept) / len(eligible) if len(eligible) else float("nan"),
        "coverage_radius": float(covered.max()) if len(covered) else (0.0 if len(dropped) == 0 else float("nan")),
        "mean_cover_distance": float(covered.mean()) if len(covered) else float("nan"),
        "uncovered": len(dropped) - len(covered),
        "covered": len(covered),
        "kept_nn_mean": float(with_neighbour.mean()) if len(with_neighbour) else float("nan"),
        "with_neighbour": len(with_neighbour),
        "duplicates": duplicates,
        "duplicate_fraction": duplicates / len(kept) if len(kept) else float("nan"),
        "duplicate_threshold": float(duplicate_threshold),
    }
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != (len(pose),):
            raise ValueError(f"labels must be ({len(pose)},), got {lab.shape}")
        top = int(lab.max()) if len(lab) else -1
        c = num_classes or (len(EMOTIONS_WITH_OTHER) if top >= len(EMOTIONS) else len(EMOTIONS))
        report["class_names"] = list(EMOTIONS_WITH_OTHER[:c]) if c <= len(EMOTIONS_WITH_OTHER) else list(range(c))
        report["labels_before"] = class_counts(lab[eligible], c).tolist()
        report["labels_after"] = class_counts(lab[kept], c).tolist()
    return report


def aggregate_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Combine per-video reports into one for the dataset.

    Counts are summed; ``kept_fraction`` and ``duplicate_fraction`` are recomputed from the sums;
    ``coverage_radius`` is the largest over videos and ``mean_coverage_radius`` the mean of the videos'
    radii; ``mean_cover_distance`` and ``kept_nn_mean`` are averaged over frames (not videos); label
    counts are summed per class.

    Args:
        reports: outputs of :func:`redundancy_report` (all with labels or all without).

    Returns:
        Dict with ``videos``, the summed counts, the statistics above and, with labels, ``class_names``,
        ``labels_before``, ``labels_after``.
    """
    agg: dict[str, Any] = {"videos": len(reports)}
    for key in SUM_KEYS:
        agg[key] = int(sum(r[key] for r in reports))
    radii = np.array([r["coverage_radius"] for r in reports], dtype=np.float64)
    radii = radii[np.isfinite(radii)]
    agg["kept_fraction"] = agg["kept"] / agg["eligible"] if agg["eligible"] else float("nan")
    agg["coverage_radius"] = float(radii.max()) if len(radii) else float("nan")
    agg["mean_coverage_radius"] = float(radii.mean()) if len(radii) else float("nan")

    def weighted(key: str, weight: str) -> float:
        pairs = [(r[key], r[weight]) for r in reports if r[weight]]
        total = sum(w for _, w in pairs)
        return float(sum(v * w for v, w in pairs) / total) if total else float("nan")

    agg["mean_cover_distance"] = weighted("mean_cover_distance", "covered")
    agg["kept_nn_mean"] = weighted("kept_nn_mean", "with_neighbour")
    agg["duplicate_fraction"] = agg["duplicates"] / agg["kept"] if agg["kept"] else float("nan")
    thresholds = {r["duplicate_threshold"] for r in reports}
    if len(thresholds) > 1:
        raise ValueError(f"reports use different duplicate thresholds: {sorted(thresholds)}")
    agg["duplicate_threshold"] = thresholds.pop() if thresholds else DUPLICATE_THRESHOLD
    with_labels = [r for r in reports if "labels_before" in r]
    if with_labels:
        if len(with_labels) != len(reports):
            raise ValueError("some reports have labels and some do not")
        width = max(len(r["labels_before"]) for r in reports)
        names = max((r["class_names"] for r in reports), key=len)
        agg["class_names"] = names
        for key in ("labels_before", "labels_after"):
            agg[key] = np.sum([np.pad(r[key], (0, width - len(r[key]))) for r in reports], axis=0).tolist()
    return agg


def report_metrics(report: dict[str, Any], prefix: str = "subsample/") -> dict[str, float]:
    """A flat ``{name: value}`` form of a (per-video or aggregated) report for ``mlflow.log_metrics``.

    Keys are ``prefix + statistic`` (e.g. ``subsample/coverage_radius``) and, with labels,
    ``prefix + "labels_before/anger"``, ``"labels_after/anger"`` and ``"class_kept_fraction/anger"``.
    Non-finite values (NaN when a statistic is undefined) are left out.
    """
    out: dict[str, float] = {}
    for key, value in report.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        out[prefix + key] = float(value)
    if "labels_before" in report:
        for name, before, after in zip(
            report["class_names"], report["labels_before"], report["labels_after"], strict=True
        ):
            out[f"{prefix}labels_before/{name}"] = float(before)
            out[f"{prefix}labels_after/{name}"] = float(after)
            if before:
                out[f"{prefix}class_kept_fraction/{name}"] = after / before
    return {k: v for k, v in out.items() if np.isfinite(v)}


def format_report(report: dict[str, Any], title: str = "subsample report") -> str:
    """A compact text table of a (per-video or aggregated) report, for the command line."""
    videos = f"{report['videos']} videos, " if "videos" in report else ""
    lines = [
        f"{title}: {videos}{report['frames']:,} frames, {report['eligible']:,} eligible, "
        f"kept {report['kept']:,} ({report['kept_fraction']:.1%})"
    ]
    if "coverage_radius" in report:  # not in a counts-only report
        lines += [
            f"  coverage radius        {report['coverage_radius']:.4f}"
            + (
                f"  (mean over videos {report['mean_coverage_radius']:.4f})" if "mean_coverage_radius" in report else ""
            ),
            f"  dropped -> nearest kept mean {report['mean_cover_distance']:.4f}   uncovered {report['uncovered']:,}",
            f"  kept nearest-neighbour mean  {report['kept_nn_mean']:.4f}",
            f"  duplicates (< {report['duplicate_threshold']:g})      {report['duplicates']:,} kept frames "
            f"({report['duplicate_fraction']:.1%})",
        ]
    if sum(report.get("labels_before", [])):  # no table for an unlabelled selection
        lines.append(f"  {'class':<12}{'before':>10}{'after':>10}{'kept':>8}")
        for name, before, after in zip(
            report["class_names"], report["labels_before"], report["labels_after"], strict=True
        ):
            frac = f"{after / before:.1%}" if before else "-"
            lines.append(f"  {name!s:<12}{before:>10,}{after:>10,}{frac:>8}")
    return "\n".join(lines)
