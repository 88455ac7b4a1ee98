"""OpenPose-style skeleton images from normalised keypoints, for the CNN baselines and contact sheets.

A pose normalised by :func:`graphemo.graphs.normalize.normalize_pose` (neck at ``(0, 0)``, shoulder width
1, ``y`` pointing down) is drawn on black with a *fixed* framing, so the same pose always lands on the same
pixels whatever the video: the image side spans ``span`` shoulder widths and the neck sits at
``neck_at * size`` pixels. The default (``span=5.5``, ``neck_at=(0.5, 0.28)``) shows ``x`` in
``[-2.75, 2.75]`` and ``y`` in ``[-1.54, 3.96]``: a standing person from the head to the feet, 41 px per
shoulder width at 224 px. ``span=3, neck_at=(0.5, 0.4)`` frames the upper body and face instead.

Colours are the layout's (OpenPose's palette: BODY_25 limb colours, white face, coloured hand fingers).
A bone is drawn in its colour; a joint takes the colour of a bone that ends at it (OpenPose colours a bone
by its second joint), else of one that starts at it. Joints whose confidence is 0 (missing) are not drawn,
nor any bone touching them. Lines are 8-connected, as OpenPose draws them (``antialias=True`` smooths them).
Drawing is OpenCV: one ``polylines`` call for all bones (or dots) that share a colour, such as the white
face, one ``line`` call for each other one (dots are zero-length thick lines); fast enough to render in the
data loader (figures in the README). Images are RGB ``uint8``; torch is imported only by :func:`image_tensor`
and :func:`normalize_image`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from graphemo.skeleton import Layout

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_SPAN = 5.5
DEFAULT_NECK_AT = (0.5, 0.28)

_SHIFT = 4  # OpenCV fractional bits: coordinates are drawn with 1/16 pixel precision
_FAR = 1e6  # pixel coordinates are clipped to +-_FAR so that they fit OpenCV's int32 fixed point


@dataclass(frozen=True)
class _Plan:
    """How to draw a layout: what shares a colour and a width is one OpenCV call, the rest one call each.

    Items are segments ``(a, b)`` between joints (``a == b`` for a joint's dot) with a width class:
    0 body line, 1 body dot, 2 face/hand line, 3 face/hand dot. Bones are drawn before dots.
    """

    groups: tuple[tuple[tuple[int, int, int], int, np.ndarray], ...]  # (colour, width class, (B, 2) ends)
    singles: tuple[tuple[int, int, tuple[int, int, int], int], ...]  # (a, b, colour, width class)


_MIN_GROUP = 6  # below this many items, per-item cv2.line calls are cheaper than numpy indexing + polylines
_PLANS: dict[int, tuple[Layout, _Plan]] = {}


def _plan(layout: Layout) -> _Plan:
    """The layout's draw plan, built once per layout object (a layout holds a dict, so it is not hashable)."""
    cached = _PLANS.get(id(layout))
    if cached is None or cached[0] is not layout:
        cached = _PLANS[id(layout)] = (layout, _build_plan(layout))  # holding the layout keeps its id unique
    return cached[1]


def _build_plan(layout: Layout) -> _Plan:
    detail = np.zeros(layout.num_joints, dtype=bool)  # face and hand joints are drawn thin
    for part in ("face", "hand", "hand_left", "hand_right"):
        if part in layout.parts:
            detail[layout.part_slice(part)] = True
    joint_colors: list[tuple[int, int, int] | None] = [None] * layout.num_joints
    for (_, b), color in zip(layout.bones, layout.bone_colors, strict=True):
        joint_colors[b] = joint_colors[b] or color
    for (a, _), color in zip(layout.bones, layout.bone_colors, strict=True):
        joint_colors[a] = joint_colors[a] or color
    items = [
        ((a, b), tuple(c), 2 if detail[a] and detail[b] else 0)
        for (a, b), c in zip(layout.bones, layout.bone_colors, strict=True)
    ]
    items += [((j, j), tuple(c or (255, 255, 255)), 3 if detail[j] else 1) for j, c in enumerate(joint_colors)]
    groups, singles = [], []
    for is_dot in (False, True):  # bones first, then dots on top
        members: dict[tuple[tuple[int, int, int], int], list[tuple[int, int]]] = {}
        for ends, color, width in items:
            if (width % 2 == 1) == is_dot:
                members.setdefault((color, width), []).append(ends)
        for (color, width), ends in members.items():
            if len(ends) >= _MIN_GROUP:
                groups.append((color, width, np.asarray(ends, dtype=np.int64)))
            else:
                singles.extend((a, b, color, width) for a, b in ends)
    return _Plan(groups=tuple(groups), singles=tuple(singles))


def line_widths(size: int, thickness: int | None = None) -> tuple[int, int, int, int]:
    """Pixel widths ``(body line, body dot, detail line, detail dot)`` for an image of side ``size``.

    ``thickness`` is the body line width; ``None`` scales it with the image (2 px at 224). Face and hand
    ("detail") lines are half as wide (at least 1 px); dots are 2 px (body) or 1 px (detail) wider than lines.
    """
    body = int(thickness) if thickness is not None else max(1, round(size / 112))
    if body < 1:
        raise ValueError(f"thickness must be >= 1 pixel, got {thickness}")
    detail = max(1, body // 2)
    return body, body + 2, detail, detail + 1


def to_pixels(
    xy: np.ndarray, size: int, span: float = DEFAULT_SPAN, neck_at: tuple[float, float] = DEFAULT_NECK_AT
) -> np.ndarray:
    """Map normalised coordinates ``(..., 2)`` (shoulder widths, neck at 0) to float pixel ``(x, y)`` ``(..., 2)``.

    The image side covers ``span`` shoulder widths; the origin (neck) lands at ``neck_at * size``.
    """
    if not span > 0:
        raise ValueError(f"span must be > 0 shoulder widths, got {span}")
    return np.asarray(xy, dtype=np.float64) * (size / span) + np.asarray(neck_at, dtype=np.float64) * size


def fitted_framing(pose: np.ndarray, margin: float = 0.08) -> tuple[float, tuple[float, float]]:
    """``(span, neck_at)`` that fit every visible joint of a normalised ``(V, 3)`` pose in the image, centred, with
    ``margin`` (a fraction of the side) free at the borders: the framing of contact sheets, where any skeleton,
    seen from any side, must show whole. The fixed default framing (the CNNs' input) keeps a pose's scale."""
    pose = np.asarray(pose, dtype=np.float64)
    visible = (pose[:, 2] > 0) & np.isfinite(pose[:, :2]).all(axis=1)
    if not visible.any():
        return DEFAULT_SPAN, DEFAULT_NECK_AT
    low, high = pose[visible, :2].min(axis=0), pose[visible, :2].max(axis=0)
    span = max(float((high - low).max()) / (1.0 - 2.0 * margin), 1.0)
    centre = (low + high) / 2.0
    neck_at = (0.5 - centre[0] / span, 0.5 - centre[1] / span)
    return span, (float(neck_at[0]), float(neck_at[1]))


def render_skeleton(
    pose: np.ndarray,
    layout: Layout,
    size: int = 224,
    *,
    span: float = DEFAULT_SPAN,
    neck_at: tuple[float, float] = DEFAULT_NECK_AT,
    thickness: int | None = None,
    min_confidence: float = 0.0,
    antialias: bool = False,
) -> np.ndarray:
    """Draw one normalised pose OpenPose-style on black.

    Args:
        pose: ``(V, 3)`` normalised ``x, y, confidence`` (as :func:`normalize_pose` returns); joints with
            confidence ``<= min_confidence`` or non-finite coordinates are missing.
        layout: the layout of ``V`` (bones, colours, parts).
        size: image side in pixels.
        span, neck_at: the framing (see the module docstring and :func:`to_pixels`).
        thickness: body line width in pixels; ``None`` scales with ``size`` (see :func:`line_widths`).
        min_confidence: joints at or below this confidence are not drawn.
        antialias: OpenCV anti-aliased lines (slower, blended colours); default 8-connected lines, as OpenPose draws.

    Returns:
        ``(size, size, 3)`` uint8 RGB image.

    Raises:
        ValueError: ``pose`` is not ``(V, 3)`` for this layout, or a bad size / framing.
    """
    pose = np.asarray(pose)
    if pose.ndim != 2 or pose.shape != (layout.num_joints, 3):
        raise ValueError(
            f"pose must be (V, 3) = ({layout.num_joints}, 3) for layout {layout.name}, got {tuple(pose.shape)}"
        )
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an int >= 8 pixels, got {size!r}")
    image = np.zeros((size, size, 3), dtype=np.uint8)
    xy = to_pixels(pose[:, :2], size, span, neck_at)
    visible = (pose[:, 2] > min_confidence) & np.isfinite(xy).all(axis=1)
    if not visible.any():
        return image
    xy = np.where(visible[:, None], np.clip(xy, -_FAR, _FAR), 0.0)  # missing joints may hold NaN
    points = np.round(xy * (1 << _SHIFT)).astype(np.int32)
    widths = line_widths(size, thickness)
    line_type = cv2.LINE_AA if antialias else cv2.LINE_8
    plan = _plan(layout)
    for color, width, ends in plan.groups:
        ends = ends[visible[ends[:, 0]] & visible[ends[:, 1]]]
        if len(ends):
            cv2.polylines(image, list(points[ends]), False, color, widths[width], line_type, _SHIFT)
    xy_list, visible_list = points.tolist(), visible.tolist()
    for a, b, color, width in plan.singles:
        if visible_list[a] and visible_list[b]:
            cv2.line(image, xy_list[a], xy_list[b], color, widths[width], line_type, _SHIFT)
    return image


def render_skeletons(poses: np.ndarray, layout: Layout, size: int = 224, **options) -> np.ndarray:
    """Draw a batch of poses ``(N, V, 3)`` -> ``(N, size, size, 3)`` uint8 RGB (options of :func:`render_skeleton`)."""
    poses = np.asarray(poses)
    if poses.ndim != 3:
        raise ValueError(f"poses must be (N, V, 3), got {tuple(poses.shape)}")
    out = np.empty((len(poses), size, size, 3), dtype=np.uint8)
    for i, pose in enumerate(poses):
        out[i] = render_skeleton(pose, layout, size, **options)
    return out


def normalize_image(images: torch.Tensor) -> torch.Tensor:
    """ImageNet normalisation of float images in ``[0, 1]``: ``(..., 3, H, W)`` -> same shape, ``(x - mean) / std``."""
    import torch

    if images.dim() < 3 or images.size(-3) != 3:
        raise ValueError(f"expected images (..., 3, H, W), got {tuple(images.shape)}")
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(3, 1, 1)
    return (images - mean) / std


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` uint8 RGB -> ``(3, H, W)`` float32 tensor, scaled to [0, 1] and ImageNet-normalised."""
    import torch

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {tuple(image.shape)} {image.dtype}")
    return normalize_image(torch.from_numpy(image).permute(2, 0, 1).float().div_(255.0))


def contact_sheet(
    images: Sequence[np.ndarray] | np.ndarray,
    captions: Sequence[Sequence[str]],
    *,
    columns: int = 8,
    caption_lines: int | None = None,
    gap: int = 4,
) -> np.ndarray:
    """Tile images in a grid with a few lines of text under each (the "show images with labels" check).

    Args:
        images: ``N`` RGB images ``(H, W, 3)`` uint8 of one size.
        captions: ``N`` lists of text lines (ASCII), written in light grey under each image.
        columns: images per row.
        caption_lines: text rows reserved under each image (default: the longest caption).
        gap: pixels between tiles.

    Returns:
        ``(rows * (H + caption + gap) + gap, columns * (W + gap) + gap, 3)`` uint8 RGB sheet on dark grey.
    """
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    if not len(images):
        raise ValueError("no images to put on a contact sheet")
    h, w = images[0].shape[:2]
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    lines = caption_lines if caption_lines is not None else max(len(c) for c in captions)
    line_height = max(12, round(h / 14))
    scale = cv2.getFontScaleFromHeight(font, line_height - 4, thickness)
    widest = max((cv2.getTextSize(t, font, scale, thickness)[0][0] for c in captions for t in c), default=1)
    scale *= min(1.0, (w - 4) / max(widest, 1))  # shrink the text to fit the tile's width
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    tile_h = h + lines * line_height + gap
    sheet = np.full((rows * tile_h + gap, columns * (w + gap) + gap, 3), 32, dtype=np.uint8)
    for i, (image, caption) in enumerate(zip(images, captions, strict=True)):
        if image.shape != (h, w, 3):
            raise ValueError(f"image {i} has shape {image.shape}, expected {(h, w, 3)}")
        top, left = gap + (i // columns) * tile_h, gap + (i % columns) * (w + gap)
        sheet[top : top + h, left : left + w] = image
        for k, text in enumerate(caption[:lines]):
            baseline = top + h + (k + 1) * line_height - 3
            cv2.putText(sheet, text, (left + 2, baseline), font, scale, (220, 220, 220), thickness, cv2.LINE_AA)
    return sheet


def write_png(path: str, image: np.ndarray) -> None:
    """Write an RGB ``(H, W, 3)`` uint8 image as PNG (OpenCV writes BGR, so the channels are swapped)."""
    if not cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1])):
        raise OSError(f"could not write PNG {path} (does its folder exist? is the name a .png?)")
