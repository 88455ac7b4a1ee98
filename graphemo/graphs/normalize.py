"""Pose normalisation: centre on the neck (or mid-hip) and scale by the body's size.

Pixel coordinates depend on where the person stands and how far from the camera; the normalised ones do
not. The body measures are taken per frame (``per="frame"``) or as the median over a sequence
(``per="sequence"``, which keeps the motion of the whole body inside a window). When the requested joint
is missing the next best is used (see :func:`body_frame`), so a close-up with no hips still normalises.
Missing joints come out as ``(0, 0)`` with confidence 0: models read the confidence (or mask) channel.

The default scale, ``body``, is the larger of the shoulder width and 0.8 torso lengths (neck to mid-hip), in
shoulder-width units: a 2-D shoulder width shrinks to nothing when the body is seen from the side, and a torso
when it bows toward the camera, but not both at once. :func:`degenerate_fraction` says how often a scale
collapses anyway.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from graphemo.skeleton import Layout

Center = Literal["neck", "mid_hip"]
Scale = Literal["body", "shoulders", "torso"]
DEGENERATE_EXTENT = 10.0  # a normalised pose reaching farther than this (scale units) has a collapsed scale

# Typical adult proportions, used only when the requested measure is missing in a frame:
# shoulder width ~ 0.8 x torso (neck to mid-hip); body bounding-box diagonal ~ 4 x shoulder width.
SHOULDERS_PER_TORSO = 0.8
SHOULDERS_PER_BBOX_DIAGONAL = 0.25


def _nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmedian`` that gives NaN for an all-NaN slice without a warning (no thread-unsafe warning filters)."""
    empty = ~np.isfinite(a).any(axis=axis, keepdims=True)
    median = np.nanmedian(np.where(empty, 0, a), axis=axis, keepdims=True)
    return np.squeeze(np.where(empty, np.nan, median), axis=axis)


def _mean_finite(xy: np.ndarray) -> np.ndarray:
    """``(..., V, 2)`` -> ``(..., 2)``: the mean over the finite entries of axis -2, NaN where there are none."""
    finite = np.isfinite(xy)
    count = finite.sum(axis=-2)
    total = np.where(finite, xy, 0).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):  # thread-local, unlike warnings filters
        return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(xy.dtype, copy=False)


def _joint(xy: np.ndarray, idx: int | tuple[int, ...]) -> np.ndarray:
    """Position ``(..., 2)`` of a joint, or the mean of several (NaN if any is missing)."""
    if isinstance(idx, int):
        return xy[..., idx, :] if idx >= 0 else np.full((*xy.shape[:-2], 2), np.nan, xy.dtype)
    if not idx:
        return np.full((*xy.shape[:-2], 2), np.nan, xy.dtype)
    return xy[..., list(idx), :].mean(axis=-2)


def body_frame(keypoints: np.ndarray, layout: Layout, center: Center = "neck", scale: Scale = "body"):
    """Centre and scale of each pose.

    Args:
        keypoints: ``(..., V, 3)`` ``(x, y, confidence)``; missing joints have confidence 0 (their
            coordinates are ignored, NaN or not).
        layout: the layout of ``V`` (uses its neck, hips and shoulders).
        center: ``"neck"`` (fallback mid-hip) or ``"mid_hip"`` (fallback neck); then the mean of the
            detected body joints.
        scale: ``"body"`` (the larger of the shoulder width and the torso through :data:`SHOULDERS_PER_TORSO`,
            whichever exists), ``"shoulders"`` (shoulder width) or ``"torso"`` (neck to mid-hip), each falling
            back to the other, then to the body's bounding box.

    Returns:
        ``(centre (..., 2), scale (...))`` float32; NaN where the pose has no detected joint at all.
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    valid = kp[..., 2] > 0
    xy = np.where(valid[..., None], kp[..., :2], np.nan)
    body = xy[..., layout.part_slice("body"), :] if "body" in layout.parts else xy

    neck = _joint(xy, layout.neck)
    hip = _joint(xy, layout.hips)
    first, second = (neck, hip) if center == "neck" else (hip, neck)
    # NaN-aware reductions that do not warn on an empty frame: warnings.catch_warnings is not thread-safe, and
    # frame subsampling normalises videos in threads.
    mean_body, mean_all = _mean_finite(body), _mean_finite(xy)
    span = np.fmax.reduce(body, axis=-2) - np.fmin.reduce(body, axis=-2)
    centre = np.where(np.isfinite(first), first, np.where(np.isfinite(second), second, mean_body))
    centre = np.where(np.isfinite(centre), centre, mean_all)

    shoulders = np.linalg.norm(_joint(xy, layout.shoulders[0]) - _joint(xy, layout.shoulders[1]), axis=-1)
    torso = np.linalg.norm(neck - hip, axis=-1)
    bbox = np.hypot(span[..., 0], span[..., 1])
    if scale == "body":
        larger = np.fmax(shoulders, torso * SHOULDERS_PER_TORSO)  # NaN only where both are missing
        chain = [larger, bbox * SHOULDERS_PER_BBOX_DIAGONAL]
    elif scale == "shoulders":
        chain = [shoulders, torso * SHOULDERS_PER_TORSO, bbox * SHOULDERS_PER_BBOX_DIAGONAL]
    else:
        chain = [torso, shoulders / SHOULDERS_PER_TORSO, bbox * SHOULDERS_PER_BBOX_DIAGONAL / SHOULDERS_PER_TORSO]
    size = np.full(kp.shape[:-2], np.nan, dtype=np.float32)
    for candidate in chain:
        size = np.where(np.isfinite(size) | ~(candidate > 1e-6), size, candidate)
    return centre.astype(np.float32), size.astype(np.float32)


def normalize_pose(
    keypoints: np.ndarray,
    layout: Layout,
    *,
    center: Center = "neck",
    scale: Scale = "body",
    per: Literal["frame", "sequence"] = "frame",
) -> np.ndarray:
    """Centre and scale poses so that they no longer depend on position and distance to the camera.

    Args:
        keypoints: ``(..., V, 3)`` for ``per="frame"``; ``(T, ..., V, 3)`` for ``per="sequence"`` (the
            median centre and scale over axis 0 are used, per person).
        layout: the layout of ``V``.
        center, scale: see :func:`body_frame`.
        per: ``"frame"`` or ``"sequence"``.

    Returns:
        ``(..., V, 3)`` float32: normalised ``x, y`` (0 where the joint is missing) and the confidence
        unchanged (0 where missing).
    """
    kp = np.asarray(keypoints, dtype=np.float32)
    centre, size = body_frame(kp, layout, center, scale)
    if per == "sequence":
        centre = np.broadcast_to(_nanmedian(centre, axis=0), centre.shape)
        size = np.broadcast_to(_nanmedian(size, axis=0), size.shape)
    size = np.where(np.isfinite(size) & (size > 0), size, 1.0)
    centre = np.where(np.isfinite(centre), centre, 0.0)
    out = np.empty_like(kp)
    out[..., :2] = (kp[..., :2] - centre[..., None, :]) / size[..., None, None]
    valid = kp[..., 2] > 0
    out[..., :2] = np.where(valid[..., None] & np.isfinite(out[..., :2]), out[..., :2], 0.0)
    out[..., 2] = np.where(valid, kp[..., 2], 0.0)
    return out


def degenerate_fraction(
    keypoints: np.ndarray, layout: Layout, center: Center = "neck", scale: Scale = "body", sample: int = 20_000
) -> float:
    """The fraction of poses whose normalised joints reach beyond :data:`DEGENERATE_EXTENT` scale units: their
    scale collapsed (a shoulder width seen edge-on, a torso seen end-on).

    Args:
        keypoints: ``(N, V, 3)`` poses; at most ``sample`` evenly spaced ones are measured.
    """
    kp = np.asarray(keypoints)
    if len(kp) > sample:
        kp = kp[np.linspace(0, len(kp) - 1, sample).astype(np.int64)]
    kp = np.asarray(kp, dtype=np.float32)
    seen = (kp[..., 2] > 0).any(axis=-1)
    if not seen.any():
        return 0.0
    pose = normalize_pose(kp[seen], layout, center=center, scale=scale)
    return float((np.abs(pose[..., :2]).max(axis=(-1, -2)) > DEGENERATE_EXTENT).mean())
