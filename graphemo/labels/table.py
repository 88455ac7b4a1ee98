"""Labels from a generic CSV, for datasets other than Aff-Wild2 and DFEW.

Columns (header required, any order): ``video`` and at least one of ``label``, ``valence`` and ``arousal`` (in
[-1, 1]). With a ``frame`` column each row labels one frame (0-based, OpenPose's numbering); without it each row
labels a whole clip. An optional ``split`` column (train/val/test) gives the official split. Empty cells are
unannotated. Every other column is an *attribute* of the video (``clip``, ``actor``, ``content``...): one value per
video, which cross-validation can group by.

``label`` holds emotion names (``happiness``, ``happy``...) or graphemo class indices 0..6: the dataset's classes
are then the emotions that occur, in graphemo's order. If no label is an emotion (``tired``, ``proud``), every
label is a class name and the classes are the names that occur, sorted. A file that mixes emotion names with
other names is refused (a typo must not become a class) unless the classes are declared (``classes``): then
every label must be one of them (an emotion synonym counts as its emotion's name).
"""

from __future__ import annotations

import csv
import math
import os

import numpy as np

from graphemo.keypoints.openpose import MAX_FRAME
from graphemo.labels.emotions import EMOTIONS, EMOTIONS_WITH_OTHER, UNANNOTATED, emotion_index
from graphemo.labels.sources import register_label_source
from graphemo.labels.video_labels import SPLITS, LabelFormatError, VideoLabels, canonical_video_id
from graphemo.specs import close_match

KNOWN_COLUMNS = ("video", "frame", "label", "valence", "arousal", "split")


def _emotion(cell: str, keep_other: bool) -> int | None:
    """The emotion index of a label cell, -1 for an empty one, None when it names no emotion."""
    cell = cell.strip()
    if not cell or cell == "-1":
        return UNANNOTATED
    if cell.isdigit():
        value = int(cell)
        return value if value < len(EMOTIONS) + keep_other else None
    try:
        return emotion_index(cell, keep_other)
    except KeyError:
        return None


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


def _frame(cell: str | None, path: str | os.PathLike[str], line: int) -> int:
    try:
        frame = int(cell or "")
    except ValueError:
        raise LabelFormatError(path, f"frame {cell!r} is not an integer", line) from None
    if not 0 <= frame <= MAX_FRAME:
        raise LabelFormatError(path, f"frame {frame} is outside 0..{MAX_FRAME:,}", line)
    return frame


def _rows(path: str | os.PathLike[str]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (lower case) and ``(line, row)`` of every row; ragged rows are refused."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [n.strip().lower() for n in next(reader, [])]
        if "video" not in header or not {"label", "valence", "arousal"} & set(header):
            expected = "a 'video' column and label and/or valence,arousal"
            raise LabelFormatError(path, f"expected {expected}; found {header}", 1)
        if len(set(header)) != len(header):
            raise LabelFormatError(path, f"a column name appears twice: {header}", 1)
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise LabelFormatError(path, f"{len(cells)} cells, the header has {len(header)}", reader.line_num)
            rows.append((reader.line_num, dict(zip(header, cells, strict=True))))
    return header, rows


def _declared_index(cell: str, emotion: int | None, declared: list[str]) -> int | None:
    """The index of a label in declared classes (an emotion synonym counts as its emotion), None if absent."""
    name = EMOTIONS_WITH_OTHER[emotion] if emotion is not None and emotion >= 0 else cell
    for candidate in (name, cell):
        if candidate in declared:
            return declared.index(candidate)
    return None


def _classes(
    cells: list[str], lines: list[int], keep_other: bool, declared: list[str] | None, path: str | os.PathLike[str]
) -> tuple[list[int], tuple[str, ...] | None]:
    """The class index of every label cell and the vocabulary (None: graphemo's emotion order)."""
    emotions = [_emotion(c, keep_other) for c in cells]
    given = [k for k, c in enumerate(cells) if c and c != "-1"]
    out = [UNANNOTATED] * len(cells)
    if declared is not None:
        for k in given:
            index = _declared_index(cells[k], emotions[k], declared)
            if index is None:
                raise LabelFormatError(path, f"label {cells[k]!r} is not one of the classes {declared}", lines[k])
            out[k] = index
        return out, tuple(declared)
    if any(cells[k].isdigit() for k in given) or all(emotions[k] is not None for k in given):
        for k in given:
            if emotions[k] is None:
                digits = cells[k].isdigit()
                what = f"class index {cells[k]} is outside 0..{len(EMOTIONS) - 1 + keep_other}" if digits else (
                    f"{cells[k]!r}: the other labels of this file are class indices")  # fmt: skip
                raise LabelFormatError(path, what, lines[k])
            out[k] = int(emotions[k])  # type: ignore[arg-type]
        return out, None
    odd = [k for k in given if emotions[k] is None]
    if len(odd) < len(given):  # emotion names and other names: more likely a typo than a new class
        k = odd[0]
        hint = close_match(cells[k].lower(), EMOTIONS)
        raise LabelFormatError(path, f"unknown emotion {cells[k]!r}{hint} (other labels of this file are emotions; "
                               "declare the classes to mix them)", lines[k])  # fmt: skip
    names = sorted({cells[k] for k in given})
    for k in given:
        out[k] = names.index(cells[k])
    return out, tuple(names)


def read_label_csv(
    path: str | os.PathLike[str], keep_other: bool = False, classes: list[str] | None = None
) -> dict[str, VideoLabels]:
    """Read a generic label CSV (see the module docstring).

    Args:
        path: the CSV file.
        keep_other: an ``other`` label is class 7 (else unannotated).
        classes: the dataset's classes, declared (every label must be one of them), or None (from the labels).

    Returns:
        Canonical video id -> :class:`VideoLabels` (per-frame arrays sized to the largest frame listed + 1,
        unlisted frames unannotated; or clip labels), with the CSV's class names and the video's attributes.

    Raises:
        LabelFormatError: missing columns, ragged rows, bad values, a frame or clip listed twice, or an attribute
            with two values for one video (with the line).
    """
    header, rows = _rows(path)
    cells = [row.get("label", "").strip() for _, row in rows]
    indices, vocabulary = _classes(cells, [line for line, _ in rows], keep_other, classes, path)
    per_frame = "frame" in header
    attribute_columns = [c for c in header if c not in KNOWN_COLUMNS]
    entries: dict[str, dict[int, tuple[int, float, float]]] = {}
    splits: dict[str, str] = {}
    attributes: dict[str, dict[str, str]] = {}
    for (line, row), label in zip(rows, indices, strict=True):
        name = (row["video"] or "").strip()  # as written, for messages (the id matches without leading zeros)
        video = canonical_video_id(name)
        if not video:
            raise LabelFormatError(path, "empty video id", line)
        v = _unit(row.get("valence") or "", "valence", path, line)
        a = _unit(row.get("arousal") or "", "arousal", path, line)
        frame = _frame(row.get("frame"), path, line) if per_frame else -1
        split = (row.get("split") or "").strip().lower()
        if split:
            if split not in SPLITS:
                raise LabelFormatError(path, f"split {split!r} is not one of {SPLITS}", line)
            if splits.setdefault(video, split) != split:
                raise LabelFormatError(path, f"video {name}: split is {splits[video]!r} and {split!r}", line)
        own = attributes.setdefault(video, {})
        for column in attribute_columns:
            value = row[column].strip()
            if own.setdefault(column, value) != value:
                raise LabelFormatError(path, f"video {name}: {column} is {own[column]!r} and {value!r}", line)
        video_entries = entries.setdefault(video, {})
        if frame in video_entries:
            what = f"frame {frame} of {name}" if per_frame else f"clip {name}"
            raise LabelFormatError(path, f"{what} is listed twice", line)
        video_entries[frame] = (label, v, a)
    out: dict[str, VideoLabels] = {}
    for video, by_frame in entries.items():
        labels = VideoLabels(split=splits.get(video), sources=(str(path),), exact_length=False, classes=vocabulary,
                             declared=classes is not None, attributes=attributes[video])  # fmt: skip
        if per_frame:
            t = max(by_frame) + 1
            expr = np.full(t, UNANNOTATED, dtype=np.int8)
            va = np.full((t, 2), np.nan, dtype=np.float32)
            frames = np.fromiter(by_frame, dtype=np.int64, count=len(by_frame))
            values = np.array(list(by_frame.values()), dtype=np.float64).reshape(-1, 3)
            expr[frames], va[frames] = values[:, 0].astype(np.int8), values[:, 1:]
            labels.expr = expr if "label" in header else None
            labels.va = va if "valence" in header else None
        else:
            label, v, a = by_frame[-1]
            labels.clip_label = label
            labels.clip_va = np.array([v, a], dtype=np.float32) if "valence" in header else None
        out[video] = labels
    return out


@register_label_source("csv", help="generic CSV: video[,frame],label and/or valence,arousal[,split][,attributes]")
def read_csv_source(
    path: str, *, keep_other: bool = False, classes: list[str] | None = None
) -> dict[str, VideoLabels | LabelFormatError]:
    """Label source ``csv``: :func:`read_label_csv`."""
    return dict(read_label_csv(path, keep_other=keep_other, classes=classes))
