"""The prepared store, read side: one dataset as memory-mappable arrays, opened instantly.

::

    STORE/
      meta.json        format version, layout, options, input fingerprint, summary
      videos.json      one record per video: id, first frame, length, fps, split, clip label, status
      keypoints.npy    (N, M, V, 3) float32 over all N frames of all videos (x, y NaN where missing)
      expr.npy         (N,) int8 class in graphemo's order, -1 = unannotated
      va.npy           (N, 2) float32 valence, arousal, NaN = unannotated
      present.npy      (N,) bool: the main person (slot 0) is in the frame
      problems.txt     every file or label that could not be used, and why

Stores are written by :mod:`graphemo.store.writer` (from any source) and :mod:`graphemo.store.prepare` (from
OpenPose folders).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from graphemo.keypoints.sequence import KeypointSequence
from graphemo.labels import UNANNOTATED, canonical_video_id, class_names
from graphemo.skeleton import get_layout

STORE_FORMAT = 2
READS_FORMATS = (1, 2)  # format 1: class indices always in graphemo's emotion order, no "classes" record


@dataclass
class VideoRecord:
    """One video of the store; its frames are ``start : start + length`` of the store's arrays. ``attributes``
    are more facts about it from its labels (``clip``, ``actor``, ``content``...), which splits can group by."""

    video_id: str
    start: int
    length: int
    source: str
    fps: float | None = None
    split: str | None = None
    clip_label: int = UNANNOTATED
    clip_va: list[float] | None = None
    status: str = "ok"
    problems: int = 0
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def frames(self) -> slice:
        return slice(self.start, self.start + self.length)


class PreparedStore:
    """A prepared dataset opened read-only (arrays are memory maps: opening is instant).

    Attributes:
        path: the store directory.
        meta: the parsed ``meta.json``.
        layout: the :class:`Layout` of the keypoints.
        videos: the :class:`VideoRecord` list.
        keypoints: ``(N, M, V, 3)`` float32 memory map.
        expr: ``(N,)`` int8; ``va``: ``(N, 2)`` float32; ``present``: ``(N,)`` bool.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{self.path} is not a prepared store (no meta.json); run `graphemo prepare`")
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("format") not in READS_FORMATS:
            raise ValueError(f"{self.path}: store format {self.meta.get('format')}, this graphemo reads formats "
                             f"{READS_FORMATS}; re-run prepare")  # fmt: skip
        self.layout = get_layout(self.meta["layout"])
        self.videos = [VideoRecord(**r) for r in orjson.loads((self.path / "videos.json").read_bytes())]
        self.keypoints = np.load(self.path / "keypoints.npy", mmap_mode="r")
        self.expr = np.load(self.path / "expr.npy")
        self.va = np.load(self.path / "va.npy")
        self.present = np.load(self.path / "present.npy")
        self._index = {canonical_video_id(v.video_id): i for i, v in enumerate(self.videos)}

    def __len__(self) -> int:
        return len(self.videos)

    @property
    def summary(self) -> dict:
        return self.meta["summary"]

    @property
    def classes(self) -> list[str]:
        """The class names ``expr`` and the clip labels index, in order (from the data or declared)."""
        if "classes" in self.meta:
            return list(self.meta["classes"])
        return list(class_names(bool(self.meta.get("labels", {}).get("keep_other"))))

    @property
    def num_frames(self) -> int:
        return int(self.expr.shape[0])

    def video_index(self, video_id: str) -> int:
        """Position of a video in :attr:`videos` (``KeyError`` if absent); ``"1"`` finds the folder ``00001``."""
        return self._index[canonical_video_id(video_id)]

    def video_of_frame(self) -> np.ndarray:
        """``(N,)`` int64: the video index of every frame."""
        lengths = np.array([v.length for v in self.videos], dtype=np.int64)
        return np.repeat(np.arange(len(self.videos)), lengths)

    def sequence(self, video: int | str) -> KeypointSequence:
        """The keypoints of one video as a :class:`KeypointSequence` (a copy, safe to modify)."""
        i = video if isinstance(video, int) else self.video_index(video)
        record = self.videos[i]
        return KeypointSequence(
            keypoints=np.array(self.keypoints[record.frames]),
            layout=self.layout.name,
            video_id=record.video_id,
            fps=record.fps,
        )

    def format_summary(self) -> str:
        """The one-screen summary printed after ``graphemo prepare``."""
        s = self.summary
        lines = [
            f"store      {self.path}",
            f"layout     {self.layout.name} ({self.layout.num_joints} joints, "
            f"{self.meta['max_people']} person slot(s))",
            f"videos     {s['videos']}  ({', '.join(f'{k}: {v}' for k, v in sorted(s['status'].items()))})",
            f"splits     {', '.join(f'{k}: {v}' for k, v in sorted(s['splits'].items()))}",
            f"frames     {s['frames']}  with a person: {s['frames_with_person']} "
            f"({s['frames_with_person'] / max(s['frames'], 1):.1%})",
            f"missing    {s['missing_joint_rate']:.1%} of the main person's joints (frames with a person)",
            f"bad files  {s['bad_files']}   problems: {s['problems']}"
            + (f"  (see {self.path / 'problems.txt'})" if s["problems"] else ""),
            f"VA frames  {s['va_frames']}",
            f"classes    {len(self.classes)}: {', '.join(self.classes)}",
            "EXPR frames per class:",
        ]
        total = max(sum(s["expr_frames"].values()), 1)
        width = max([10, *(len(n) for n in s["expr_frames"])])
        for name, count in s["expr_frames"].items():
            lines.append(f"  {name:<{width}} {count:>9}  {count / total:6.1%}")
        return "\n".join(lines)
