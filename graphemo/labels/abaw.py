"""Aff-Wild2 annotations in the ABAW challenge format.

EXPR: one ``.txt`` per video, header ``Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other``,
then one integer per frame (0..7, ``-1`` = unannotated). VA: header ``valence,arousal``, then one
``v,a`` pair per frame in [-1, 1] (``-5`` = unannotated). Line ``k + 2`` labels frame ``k`` (0-based),
i.e. OpenPose's frame ``k``. The split comes from the folder: ``Train_Set``, ``Validation_Set``,
``Test_Set``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from graphemo.labels.emotions import ABAW_EXPR_HEADER, UNANNOTATED, abaw_to_graphemo, class_names
from graphemo.labels.sources import register_label_source
from graphemo.labels.video_labels import LabelFormatError, VideoLabels, canonical_video_id

VA_HEADER = "valence,arousal"
VA_UNANNOTATED = -5.0
_SPLIT_FOLDERS = {"train_set": "train", "validation_set": "val", "val_set": "val", "test_set": "test"}


def _lines(path: str | os.PathLike[str], header: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelFormatError(path, f"not a text file ({exc.reason})") from None
    lines = text.splitlines()
    if not lines or lines[0].replace(" ", "").lower() != header.lower():
        got = lines[0][:80] if lines else "(empty file)"
        raise LabelFormatError(path, f"expected the header {header!r}, found {got!r}", line=1)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[1:]


def read_abaw_expr(path: str | os.PathLike[str], keep_other: bool = False) -> np.ndarray:
    """Read an ABAW EXPR file.

    Args:
        path: the ``.txt`` file.
        keep_other: keep ABAW's ``Other`` as graphemo class 7; by default it becomes unannotated.

    Returns:
        ``(T,)`` int8 class per frame in graphemo's order, ``-1`` where unannotated.

    Raises:
        LabelFormatError: wrong header, a non-integer, or a code outside -1..7 (with the line number).
    """
    lines = _lines(path, ABAW_EXPR_HEADER)
    table = abaw_to_graphemo(keep_other)
    out = np.empty(len(lines), dtype=np.int8)
    for i, line in enumerate(lines):
        try:
            code = int(line.strip())
        except ValueError:
            raise LabelFormatError(path, f"expected an integer class code, found {line.strip()!r}", i + 2) from None
        if code == -1:
            out[i] = UNANNOTATED
        elif 0 <= code <= 7:
            out[i] = table[code]
        else:
            raise LabelFormatError(path, f"class code {code} is not in -1..7", i + 2)
    return out


def read_abaw_va(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an ABAW VA file.

    Returns:
        ``(T, 2)`` float32 valence, arousal per frame; NaN where the file has ``-5``.

    Raises:
        LabelFormatError: wrong header, a malformed line, NaN, or a value outside [-1, 1] (with the line).
    """
    lines = _lines(path, VA_HEADER)
    out = np.empty((len(lines), 2), dtype=np.float32)
    for i, line in enumerate(lines):
        parts = line.split(",")
        try:
            v, a = (float(x) for x in parts)
        except ValueError:
            raise LabelFormatError(path, f"expected 'valence,arousal', found {line.strip()!r}", i + 2) from None
        for j, x in enumerate((v, a)):
            if x == VA_UNANNOTATED:
                out[i, j] = np.nan
            elif not -1.0 <= x <= 1.0:  # also refuses NaN
                raise LabelFormatError(path, f"{VA_HEADER.split(',')[j]} {x} is outside [-1, 1] (and not -5)", i + 2)
            else:
                out[i, j] = x
    return out


def split_of(path: Path) -> str | None:
    """Official split of an annotation file from its folder names (``Train_Set`` -> ``"train"``)."""
    for part in reversed(path.parts[:-1]):
        split = _SPLIT_FOLDERS.get(part.lower())
        if split:
            return split
    return None


def read_abaw_folder(
    root: str | os.PathLike[str], kind: str, keep_other: bool = False
) -> dict[str, VideoLabels | LabelFormatError]:
    """Read every ``.txt`` under an ABAW annotation folder (recursively).

    Args:
        root: e.g. ``Annotations/EXPR_Classification_Challenge`` (with ``Train_Set``/``Validation_Set`` inside).
        kind: ``"expr"`` or ``"va"``.
        keep_other: see :func:`read_abaw_expr`.

    Returns:
        Canonical video id (file stem) -> its :class:`VideoLabels`, or the :class:`LabelFormatError` that made
        the file unusable (so the caller can report it and go on with the rest); a video with two label files
        (say in ``Train_Set/`` and ``Validation_Set/``) gets an error, never one of them.
    """
    if kind not in ("expr", "va"):
        raise ValueError(f"kind must be 'expr' or 'va', got {kind!r}")
    out: dict[str, VideoLabels | LabelFormatError] = {}
    for path in sorted(Path(root).rglob("*.txt")):
        key = canonical_video_id(path.stem)
        if key in out:  # e.g. in Train_Set/ and in Validation_Set/: which split, which labels?
            first = out[key].path if isinstance(out[key], LabelFormatError) else out[key].sources[0]
            message = f"video {path.stem} is also labelled by {first}; one label file per video"
            out[key] = LabelFormatError(path, message)
            continue
        try:
            values = read_abaw_expr(path, keep_other) if kind == "expr" else read_abaw_va(path)
        except LabelFormatError as exc:
            out[key] = exc
            continue
        labels = VideoLabels(split=split_of(path), sources=(str(path),))
        if kind == "expr":
            labels.expr = values
            labels.classes, labels.declared = class_names(keep_other), True
        else:
            labels.va = values
        out[key] = labels
    return out


def write_abaw_expr(path: str | os.PathLike[str], abaw_codes: np.ndarray) -> None:
    """Write an ABAW EXPR file from ``(T,)`` ABAW codes (0..7, -1 unannotated)."""
    body = "\n".join(str(int(c)) for c in abaw_codes)
    Path(path).write_text(f"{ABAW_EXPR_HEADER}\n{body}\n", encoding="utf-8")


def write_abaw_va(path: str | os.PathLike[str], va: np.ndarray) -> None:
    """Write an ABAW VA file from ``(T, 2)`` valence/arousal (NaN is written as -5)."""
    va = np.where(np.isfinite(va), va, VA_UNANNOTATED)
    body = "\n".join(",".join("-5" if x == VA_UNANNOTATED else f"{x:.3f}" for x in row) for row in va)
    Path(path).write_text(f"{VA_HEADER}\n{body}\n", encoding="utf-8")


@register_label_source("abaw_expr", help="ABAW EXPR_Classification_Challenge folder (Train_Set/, Validation_Set/)")
def read_abaw_expr_source(path: str, *, keep_other: bool = False) -> dict[str, VideoLabels | LabelFormatError]:
    """Label source ``abaw_expr``: :func:`read_abaw_folder` of the EXPR files."""
    return read_abaw_folder(path, "expr", keep_other=keep_other)


@register_label_source("abaw_va", help="ABAW VA_Estimation_Challenge folder (Train_Set/, Validation_Set/)")
def read_abaw_va_source(path: str) -> dict[str, VideoLabels | LabelFormatError]:
    """Label source ``abaw_va``: :func:`read_abaw_folder` of the VA files."""
    return read_abaw_folder(path, "va")
