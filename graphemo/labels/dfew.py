"""DFEW clip labels and its five folds.

DFEW ships ``EmoLabel_DataSplit/train(single-labeled)/set_{k}.csv`` and ``test(single-labeled)/set_{k}.csv``
(k = 1..5), each with a header ``video_name,label``: the clip number (folder ``{clip:05d}``) and its label
1..7 = happy, sad, neutral, angry, surprise, disgust, fear.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from graphemo.labels.emotions import DFEW_NAMES, EMOTIONS, dfew_to_graphemo
from graphemo.labels.sources import register_label_source
from graphemo.labels.video_labels import LabelFormatError, VideoLabels, canonical_video_id
from graphemo.specs import option


def read_dfew_csv(path: str | os.PathLike[str]) -> dict[str, int]:
    """Read one DFEW split CSV.

    Returns:
        Canonical clip id -> class index in graphemo's order.

    Raises:
        LabelFormatError: missing columns, a non-integer, a label outside 1..7, or a clip listed twice (with
            the line number).
    """
    table = dfew_to_graphemo()
    out: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [name.strip().lower() for name in reader.fieldnames or []]
        if "video_name" not in fields or "label" not in fields:
            raise LabelFormatError(path, f"expected the columns video_name,label; found {fields}", line=1)
        reader.fieldnames = fields
        for row in reader:
            line = reader.line_num
            clip = canonical_video_id(row["video_name"] or "")
            try:
                code = int(str(row["label"]).strip())
            except ValueError:
                raise LabelFormatError(path, f"label {row['label']!r} is not an integer", line) from None
            if code not in DFEW_NAMES:
                raise LabelFormatError(path, f"label {code} is not in 1..7", line)
            if not clip:
                raise LabelFormatError(path, "empty video_name", line)
            if clip in out:
                raise LabelFormatError(path, f"clip {clip} is listed twice", line)
            out[clip] = int(table[code])
    return out


def read_dfew_fold(root: str | os.PathLike[str], fold: int) -> dict[str, VideoLabels | LabelFormatError]:
    """Read fold ``fold`` (1..5) of DFEW: its train and test lists, with the split recorded per clip.

    Args:
        root: the ``EmoLabel_DataSplit`` folder (holding ``train(single-labeled)`` and ``test(single-labeled)``).
        fold: 1..5.

    Returns:
        Canonical clip id -> :class:`VideoLabels` with ``clip_label`` and ``split`` (``"train"``/``"test"``), or
        a :class:`LabelFormatError` for a clip in both lists.
    """
    if not 1 <= fold <= 5:
        raise ValueError(f"DFEW has folds 1..5, got {fold}")
    root = Path(root)
    out: dict[str, VideoLabels | LabelFormatError] = {}
    for split in ("train", "test"):
        folder = root / f"{split}(single-labeled)"
        candidates = [folder / f"set_{fold}.csv", folder / f"{split}_set_{fold}.csv"]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise FileNotFoundError(f"DFEW fold {fold}: none of {[str(p) for p in candidates]} exists")
        for clip, label in read_dfew_csv(path).items():
            if clip in out:
                out[clip] = LabelFormatError(path, f"clip {clip} is in both the train and the test list of fold {fold}")
                continue
            out[clip] = VideoLabels(
                clip_label=label, split=split, sources=(str(path),), classes=EMOTIONS, declared=True
            )
    return out


@register_label_source(
    "dfew", help="DFEW EmoLabel_DataSplit folder; --dfew-fold picks the fold", fold=option(1, min=1, max=5)
)
def read_dfew_source(path: str, *, fold: int = 1) -> dict[str, VideoLabels | LabelFormatError]:
    """Label source ``dfew``: :func:`read_dfew_fold`."""
    return dict(read_dfew_fold(path, fold))


def write_dfew_csv(path: str | os.PathLike[str], clips: list[tuple[int, int]]) -> None:
    """Write a DFEW split CSV from ``(clip number, DFEW label 1..7)`` pairs."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["video_name", "label"])
        writer.writerows(clips)


def graphemo_to_dfew(index: int) -> int:
    """DFEW label 1..7 of a graphemo class index."""
    table = dfew_to_graphemo()
    return int(np.flatnonzero(table == index)[0])
