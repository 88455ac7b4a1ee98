"""Labels of one video, the error type for bad label files, and video-id matching."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import numpy as np

from graphemo.labels.emotions import EMOTIONS_WITH_OTHER, UNANNOTATED

SPLITS = ("train", "val", "test")


class LabelFormatError(ValueError):
    """A label file that cannot be used. The message names the file and, where it applies, the line."""

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class VideoLabels:
    """What is known about one video's labels.

    Attributes:
        expr: ``(T,)`` int8 per-frame class in graphemo's order (``UNANNOTATED`` = -1), or None.
        va: ``(T, 2)`` float32 per-frame valence, arousal in [-1, 1] (NaN = unannotated), or None.
        clip_label: one class for the whole clip (DFEW), ``UNANNOTATED`` if none.
        clip_va: ``(2,)`` float32 clip valence/arousal, or None.
        split: official split (``"train"``, ``"val"``, ``"test"``) when the dataset defines it, else None.
        sources: the files these labels came from (for error messages and the dataset fingerprint).
        exact_length: per-frame arrays must have exactly one entry per frame (ABAW files). When False
            (sparse CSV rows) a shorter array is padded with unannotated frames; a longer one is an error.
        classes: the names the class indices of ``expr`` and ``clip_label`` refer to; None: graphemo's emotion
            order (:data:`~graphemo.labels.emotions.EMOTIONS_WITH_OTHER`).
        declared: every name of ``classes`` is a class of the dataset, whether it occurs or not (a format that
            defines its classes, as ABAW and DFEW do); otherwise only the classes that occur count.
        attributes: more facts about the video, for grouping (a CSV's other columns: clip, actor, content).
    """

    expr: np.ndarray | None = None
    va: np.ndarray | None = None
    clip_label: int = UNANNOTATED
    clip_va: np.ndarray | None = None
    split: str | None = None
    sources: tuple[str, ...] = ()
    exact_length: bool = True
    classes: tuple[str, ...] | None = None
    declared: bool = False
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The names the class indices refer to."""
        return self.classes if self.classes is not None else EMOTIONS_WITH_OTHER

    def used_classes(self) -> set[str]:
        """The class names that occur in these labels."""
        names = self.vocabulary
        used = {int(c) for c in np.unique(self.expr) if c >= 0} if self.expr is not None else set()
        if self.clip_label >= 0:
            used.add(int(self.clip_label))
        return {names[c] for c in used}

    def merged(self, other: VideoLabels) -> VideoLabels:
        """Combine two partial label sets (e.g. an EXPR file and a VA file); ``other`` fills the gaps.

        Raises:
            LabelFormatError: both carry classes, and ``other`` has one that ``self``'s names lack; or both say
                something the other contradicts (per-frame or clip classes, valence/arousal, the split): never a
                silent choice.
        """
        has_classes = self.expr is not None or self.clip_label >= 0
        where = other.sources[0] if other.sources else "<labels>"
        if has_classes and (other.expr is not None or other.clip_label >= 0) and self.vocabulary != other.vocabulary:
            try:  # the same names in another order or set (an emotion CSV beside ABAW's files)
                other = other.in_classes(tuple(self.vocabulary))
            except LabelFormatError:
                names = ", ".join(self.sources)
                raise LabelFormatError(where, f"its class names differ from those of {names}") from None
        if disagreement := self._disagreement(other):
            raise LabelFormatError(where, f"its {disagreement} differ from those of {', '.join(self.sources)}")
        return VideoLabels(
            expr=self.expr if self.expr is not None else other.expr,
            va=self.va if self.va is not None else other.va,
            clip_label=self.clip_label if self.clip_label != UNANNOTATED else other.clip_label,
            clip_va=self.clip_va if self.clip_va is not None else other.clip_va,
            split=self.split or other.split,
            sources=self.sources + other.sources,
            exact_length=self.exact_length and other.exact_length,
            classes=self.classes if has_classes else other.classes,
            declared=self.declared if has_classes else other.declared,
            attributes={**other.attributes, **self.attributes},
        )

    def _disagreement(self, other: VideoLabels) -> str | None:
        """What both label sets give, differently (``"per-frame classes"``, ...), or None."""

        def differ(a: np.ndarray | None, b: np.ndarray | None) -> bool:  # on the frames both annotate
            if a is None or b is None:
                return False
            n = min(len(a), len(b))
            a, b = a[:n], b[:n]
            both = (a >= 0) & (b >= 0) if a.dtype.kind == "i" else np.isfinite(a) & np.isfinite(b)
            return bool((a[both] != b[both]).any())

        checks = {
            "per-frame classes": differ(self.expr, other.expr),
            "per-frame valence/arousal": differ(self.va, other.va),
            "clip class": min(self.clip_label, other.clip_label) >= 0 and self.clip_label != other.clip_label,
            "clip valence/arousal": differ(self.clip_va, other.clip_va),
            "split": None not in (self.split, other.split) and self.split != other.split,
        }
        found = [name for name, bad in checks.items() if bad]
        return " and ".join(found) if found else None

    def in_classes(self, classes: tuple[str, ...]) -> VideoLabels:
        """The same labels with class indices into ``classes``.

        Raises:
            LabelFormatError: a class that ``classes`` lacks.
        """
        names = self.vocabulary
        if tuple(names) == tuple(classes):
            return self
        missing = sorted(self.used_classes() - set(classes))
        if missing:
            raise LabelFormatError(self.sources[0] if self.sources else "<labels>",
                                   f"class {missing[0]!r} is not one of the classes {list(classes)}")  # fmt: skip
        table = np.array([classes.index(n) if n in classes else UNANNOTATED for n in names], dtype=np.int8)
        expr = None if self.expr is None else np.where(self.expr >= 0, table[np.maximum(self.expr, 0)], UNANNOTATED)
        clip = int(table[self.clip_label]) if self.clip_label >= 0 else UNANNOTATED
        return dataclasses.replace(self, expr=None if expr is None else expr.astype(np.int8), clip_label=clip,
                                   classes=tuple(classes))  # fmt: skip

    def per_frame(self, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame ``expr (T,) int8`` and ``va (T, 2) float32`` for a video of ``num_frames`` frames.

        Clip-level labels are broadcast to every frame. Per-frame files must have exactly one label per
        frame: a length mismatch raises :class:`LabelFormatError` instead of silently shifting labels.
        """
        expr = np.full(num_frames, UNANNOTATED, dtype=np.int8)
        va = np.full((num_frames, 2), np.nan, dtype=np.float32)
        if self.clip_label != UNANNOTATED:
            expr[:] = self.clip_label
        if self.clip_va is not None:
            va[:] = self.clip_va
        for name, values in (("EXPR", self.expr), ("VA", self.va)):
            if values is None:
                continue
            if len(values) < num_frames and not self.exact_length:
                pad = np.full((num_frames - len(values), *values.shape[1:]), UNANNOTATED if name == "EXPR" else np.nan)
                values = np.concatenate([values, pad.astype(values.dtype)])
            if len(values) != num_frames:
                named = [s for s in self.sources if name.lower() in s.lower()]
                source = (named or [", ".join(self.sources) or "<labels>"])[0]
                raise LabelFormatError(
                    source,
                    f"{name} labels have {len(values)} frames but the keypoints have {num_frames} "
                    "(refusing to guess an alignment)",
                )
            if name == "EXPR":
                expr = values.astype(np.int8)
            else:
                va = values.astype(np.float32)
        return expr, va


def canonical_video_id(name: str | int) -> str:
    """Key used to match keypoint folders with label entries: trimmed, and numeric ids without leading
    zeros (DFEW lists clip ``1`` for folder ``00001``)."""
    text = str(name).strip()
    return str(int(text)) if text.isdigit() else text
