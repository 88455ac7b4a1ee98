"""Labels from a generic CSV, for datasets other than Aff-Wild2 and DFEW.

Columns (header required, any order): ``video`` and at least one of ``label`` (an emotion name such as
``happiness``/``happy``, or a graphemo class index 0..6), ``valence`` and ``arousal`` (in [-1, 1]).
With a ``frame`` column each row labels one frame (0-based, OpenPose's numbering); without it each row
labels a whole clip. An optional ``split`` column (train/val/test) gives the official split. Empty cells
are unannotated.
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

from graphemo.labels.emotions import EMOTIONS, UNANNOTATED, emotion_index
from graphemo.labels.sources import register_label_source
from graphemo.labels.video_labels import SPLITS, LabelFormatError, VideoLabels, canonical_video_id


def _label(cell: str, keep_other: bool, path: str | os.PathLike[str], line: int) -> int:
    cell = cell.strip()
    if not cell or cell == "-1":
        return UNANNOTATED
    if cell.lstrip("-").isdigit():
        value = int(cell)
        if not 0 <= value < len(EMOTIONS) + keep_other:
            raise LabelFormatError(path, f"class index {value} is outside 0..{len(EMOTIONS) - 1 + keep_other}", line)
        return value
    try:
        return emotion_index(cell, keep_other)
    except KeyError as exc:
        raise LabelFormatError(path, str(exc.args[0]), line) from None


def _unit(cell: str, name: str, path: str | os.PathLike[str], line: int) -> float:
    cell = cell.strip()
    if not cell:
        return math.nan
    try:
        x = float(cell)
    except ValueError:
        raise LabelFormatError(path, f"{name} {cell!r} is not a number", line) from None
    if not -1.0 <= x <= 1.0:
        raise LabelFormatError(path, f"{name} {x} is outside [-1, 1]", line)
    return x


def read_label_csv(path: str | os.PathLike[str], keep_other: bool = False) -> dict[str, VideoLabels]:
    """Read a generic label CSV (see the module docstring).

    Returns:
        Canonical video id -> :class:`VideoLabels` (per-frame arrays sized to the largest frame listed + 1,
        unlisted frames unannotated; or clip labels).

    Raises:
        LabelFormatError: missing columns, bad values, or a frame/clip listed twice (with the line).
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [n.strip().lower() for n in reader.fieldnames or []]
        reader.fieldnames = fields
        if "video" not in fields or not {"label", "valence", "arousal"} & set(fields):
            raise LabelFormatError(
                path, f"expected a 'video' column and label and/or valence,arousal; found {fields}", 1
            )
        per_frame = "frame" in fields
        rows: dict[str, list[tuple[int, int, float, float]]] = {}
        splits: dict[str, str] = {}
        for row in reader:
            line = reader.line_num
            video = canonical_video_id(row["video"] or "")
            label = _label(row.get("label") or "", keep_other, path, line)
            v = _unit(row.get("valence") or "", "valence", path, line)
            a = _unit(row.get("arousal") or "", "arousal", path, line)
            frame = -1
            if per_frame:
                try:
                    frame = int(row["frame"])
                except (TypeError, ValueError):
                    raise LabelFormatError(path, f"frame {row['frame']!r} is not an integer", line) from None
                if frame < 0:
                    raise LabelFormatError(path, f"frame {frame} is negative", line)
            split = (row.get("split") or "").strip().lower()
            if split:
                if split not in SPLITS:
                    raise LabelFormatError(path, f"split {split!r} is not one of {SPLITS}", line)
                splits[video] = split
            entries = rows.setdefault(video, [])
            if any(e[0] == frame for e in entries):
                what = f"frame {frame} of {video}" if per_frame else f"clip {video}"
                raise LabelFormatError(path, f"{what} is listed twice", line)
            entries.append((frame, label, v, a))

    out: dict[str, VideoLabels] = {}
    for video, entries in rows.items():
        labels = VideoLabels(split=splits.get(video), sources=(str(path),), exact_length=False)
        if per_frame:
            t = max(e[0] for e in entries) + 1
            expr = np.full(t, UNANNOTATED, dtype=np.int8)
            va = np.full((t, 2), np.nan, dtype=np.float32)
            for frame, label, v, a in entries:
                expr[frame], va[frame] = label, (v, a)
            labels.expr = expr if "label" in fields else None
            labels.va = va if "valence" in fields else None
        else:
            _, label, v, a = entries[0]
            labels.clip_label = label
            labels.clip_va = np.array([v, a], dtype=np.float32) if "valence" in fields else None
        out[video] = labels
    return out


@register_label_source("csv", help="generic CSV: video[,frame],label and/or valence,arousal[,split]")
def read_csv_source(path: str, *, keep_other: bool = False) -> dict[str, VideoLabels | LabelFormatError]:
    """Label source ``csv``: :func:`read_label_csv`."""
    return dict(read_label_csv(path, keep_other=keep_other))
