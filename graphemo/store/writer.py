"""The prepared store, write side: from per-video keypoint arrays and labels to a store directory, atomically.

:func:`write_store` is the public entry for any source that has keypoints in memory (a motion-capture import, a
converter for another pose format)::

    write_store("data/mine/store", [StoreVideo("clip01", keypoints, source="clip01.bvh", fps=30.0)],
                layout="body25", labels=LabelSpec(csv="labels.csv"))

:func:`graphemo.store.prepare.prepare_dataset` (OpenPose folders) uses the same pieces with worker processes
that write their own rows, so that no process holds the whole array. A store is written into a temporary
sibling directory and renamed into place, so a killed writer never leaves a half store behind.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from graphemo.labels import (
    EMOTIONS_WITH_OTHER,
    LabelFormatError,
    LabelSpec,
    VideoLabels,
    canonical_video_id,
    load_labels,
)
from graphemo.skeleton import Layout, get_layout
from graphemo.store.reader import STORE_FORMAT, PreparedStore, VideoRecord


@dataclass
class StoreVideo:
    """One video to write: its tracked keypoints ``(T, M, V, 3)`` (slot 0 the main person; a missing joint has
    confidence 0 and NaN coordinates), where it came from, its frame rate, and what went wrong reading it."""

    video_id: str
    keypoints: np.ndarray
    source: str = ""
    fps: float | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class WrittenVideo:
    """What writing one video's rows found: the frames with the main person, its missing and visible joints,
    the problems of its files, and the error that made it unreadable (if any)."""

    video_id: str
    present: np.ndarray
    missing_joints: int
    visible_joints: int
    problems: list[str] = field(default_factory=list)
    error: str | None = None


# --- the directory -------------------------------------------------------------------------------------


@contextmanager
def staging_dir(out: Path) -> Iterator[Path]:
    """A temporary sibling of ``out`` to write the store into; renamed to ``out`` when the block succeeds,
    removed when it fails (``out`` is then untouched). Writers of one ``out`` take turns (an exclusive lock on
    ``.<out>.lock``: two runs that make the same store at once do not collide), and staging folders that a killed
    process left are removed first."""
    import fcntl

    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        remove_stale_staging(out)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            yield tmp
            _replace_dir(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove the staging folders (``.<out>.tmp-<pid>``, ``.<out>.old-<pid>``) that a killed process left beside
    ``out``: those whose process no longer runs. Returns what was removed."""
    removed = []
    for path in out.parent.glob(f".{out.name}.*-*"):
        kind, _, pid = path.name[len(out.name) + 2 :].partition("-")
        if kind in ("tmp", "old") and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move ``tmp`` to ``out``; an existing ``out`` is swapped out first and removed after."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def allocate_keypoints(tmp: Path, shape: tuple[int, int, int, int]) -> tuple[str, int]:
    """Create ``keypoints.npy`` of ``(N, M, V, 3)`` float32, sparse; returns its path and the data's byte offset
    (each writer then puts its own rows there with :func:`write_rows`)."""
    path = tmp / "keypoints.npy"
    kp = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    offset = int(kp.offset)
    del kp
    return str(path), offset


def write_rows(path: str, data_offset: int, start: int, rows: np.ndarray) -> None:
    """Write ``rows`` ``(T, M, V, 3)`` float32 at frame ``start`` of the ``keypoints.npy`` at ``path``."""
    data = memoryview(np.ascontiguousarray(rows, dtype=np.float32)).cast("B")
    offset = data_offset + rows[0].nbytes * start if len(rows) else data_offset
    fd = os.open(path, os.O_WRONLY)
    try:  # one write, unless the system splits it
        done = 0
        while done < len(data):
            done += os.pwrite(fd, data[done:], offset + done)
    finally:
        os.close(fd)


def padded_rows(kp: np.ndarray | None, shape: tuple[int, int, int, int]) -> np.ndarray:
    """``kp`` as exactly ``shape`` rows: frames it lacks are empty (NaN, NaN, 0)."""
    n = 0 if kp is None else min(len(kp), shape[0])
    if kp is not None and kp.shape == shape and kp.dtype == np.float32 and kp.flags.c_contiguous:
        return kp
    rows = np.empty(shape, dtype=np.float32)
    if n:
        rows[:n] = kp[:n]
    rows[n:, ..., :2] = np.nan
    rows[n:, ..., 2] = 0.0
    return rows


def written(video_id: str, kp: np.ndarray | None, length: int, problems: list[str], error: str | None) -> WrittenVideo:
    """The :class:`WrittenVideo` of a video whose ``kp`` rows (None: unreadable) were written."""
    present = np.zeros(length, bool)
    n = 0 if kp is None else min(len(kp), length)
    if not n:
        return WrittenVideo(video_id, present, 0, 0, problems, error=error)
    mask = kp[:n, 0, :, 2] > 0
    present[:n] = mask.any(axis=-1)
    main = mask[present[:n]]
    return WrittenVideo(video_id, present, int((~main).sum()), int(main.sum()), problems)


# --- labels, records and metadata ---------------------------------------------------------------------


def finish_store(
    tmp: Path,
    records: list[VideoRecord],
    results: list[WrittenVideo],
    loaded: tuple[Mapping[str, VideoLabels], list[LabelFormatError], set[str]],
    *,
    layout: Layout,
    labels: LabelSpec,
    options: Mapping[str, Any],
    max_people: int,
    fingerprint: str,
    source_problems: Sequence[str] = (),
) -> list[str]:
    """Attach the labels to the videos, write every file but ``keypoints.npy``; returns the problems.

    Args:
        loaded: ``(labels per video, label files that could not be used, ids of videos whose labels are broken)``
            (:func:`graphemo.labels.load_labels`).
    """
    label_table, label_errors, broken_labels = loaded
    classes = store_classes(label_table, {canonical_video_id(r.video_id) for r in records}, labels.classes)
    n = records[-1].start + records[-1].length if records else 0
    expr = np.full(n, -1, dtype=np.int8)
    va = np.full((n, 2), np.nan, dtype=np.float32)
    present = np.zeros(n, dtype=bool)
    problems = [*source_problems, *(str(e) for e in label_errors)]
    missing = visible = bad_files = 0
    for record, result in zip(records, results, strict=True):
        present[record.frames] = result.present
        missing += result.missing_joints
        visible += result.visible_joints
        bad_files += len(result.problems)
        record.problems = len(result.problems)
        problems += result.problems
        if result.error:
            record.status = "unreadable"
            problems.append(result.error)
            continue
        key = canonical_video_id(record.video_id)  # labels name 1 for the folder 00001
        if key in broken_labels:
            record.status = "label_error"  # its label file is in the problems
            continue
        video_labels = label_table.get(key)
        if video_labels is None:
            record.status = "unlabelled" if labels.requested else "ok"
            continue
        problem = _attach(record, video_labels, classes, expr, va)
        if problem:
            problems.append(problem)
    known = {canonical_video_id(r.video_id) for r in records}
    orphans = sorted(set(label_table) - known)
    problems += [
        f"labels for video {v!r} ({', '.join(label_table[v].sources)}) but no keypoint folder" for v in orphans
    ]
    np.save(tmp / "expr.npy", expr)
    np.save(tmp / "va.npy", va)
    np.save(tmp / "present.npy", present)
    (tmp / "videos.json").write_bytes(orjson.dumps([asdict(r) for r in records], option=orjson.OPT_INDENT_2))
    (tmp / "problems.txt").write_text("".join(p + "\n" for p in problems), encoding="utf-8")
    summary = summarize(records, expr, va, present, classes)
    summary.update(
        bad_files=bad_files,
        problems=len(problems),
        missing_joint_rate=missing / max(missing + visible, 1),
        videos_without_labels_file=sum(r.status == "unlabelled" for r in records),
        labels_without_video=len(orphans),
    )
    meta = {
        "format": STORE_FORMAT,
        "layout": layout.name,
        "max_people": max_people,
        "options": dict(options),
        "labels": labels.to_dict(),
        "classes": list(classes),
        "fingerprint": fingerprint,
        "summary": summary,
    }
    (tmp / "meta.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return problems


def store_classes(
    table: Mapping[str, VideoLabels], videos: set[str], declared: Sequence[str] | None = None
) -> tuple[str, ...]:
    """The store's classes: ``declared``, else every class a label format defines (ABAW's, DFEW's) and every class
    that occurs in the labels of ``videos``, emotions in graphemo's order first, then other names sorted."""
    if declared:
        return tuple(declared)
    names: set[str] = set()
    for video, labels in table.items():
        if video in videos:
            names |= set(labels.vocabulary) if labels.declared else labels.used_classes()
    emotions = [n for n in EMOTIONS_WITH_OTHER if n in names]
    return (*emotions, *sorted(names - set(emotions)))


def _attach(
    record: VideoRecord, labels: VideoLabels, classes: tuple[str, ...], expr: np.ndarray, va: np.ndarray
) -> str | None:
    """Put one video's labels into the store's arrays; a problem line when they do not fit its frames or
    classes."""
    record.split = labels.split
    record.attributes = dict(labels.attributes)
    try:
        labels = labels.in_classes(classes)
        record.clip_label = int(labels.clip_label)
        record.clip_va = None if labels.clip_va is None else [float(x) for x in labels.clip_va]
        expr[record.frames], va[record.frames] = labels.per_frame(record.length)
    except LabelFormatError as exc:
        record.status = "label_error"
        return str(exc)
    return None


def summarize(
    records: Iterable[VideoRecord], expr: np.ndarray, va: np.ndarray, present: np.ndarray, names: Sequence[str]
) -> dict:
    """Counts for the dataset summary: videos, frames, labelled frames per class, VA frames, statuses."""
    records = list(records)
    counts = np.bincount(expr[expr >= 0].astype(np.int64), minlength=len(names))
    return {
        "videos": len(records),
        "frames": len(expr),
        "frames_with_person": int(present.sum()),
        "expr_frames": {name: int(c) for name, c in zip(names, counts, strict=False)},
        "va_frames": int(np.isfinite(va).all(axis=1).sum()),
        "status": dict(Counter(r.status for r in records)),
        "splits": dict(Counter(r.split or "unassigned" for r in records)),
    }


# --- the public writer ---------------------------------------------------------------------------------


def write_store(
    out: str | os.PathLike[str],
    videos: Sequence[StoreVideo],
    *,
    layout: Layout | str,
    labels: LabelSpec | None = None,
    options: Mapping[str, Any] | None = None,
    fingerprint: str = "",
    extra_problems: Sequence[str] = (),
) -> PreparedStore:
    """Write a store from keypoints in memory (see the module docstring).

    Args:
        out: the store directory (replaced atomically if it exists).
        videos: the videos, in store order; their ids must be unique.
        layout: the keypoints' layout (every video's ``V`` must match it).
        labels: the label sources to attach (:class:`graphemo.labels.LabelSpec`), or None.
        options: how the keypoints were made, recorded in ``meta.json`` (e.g. the cameras of a mocap import).
        fingerprint: a digest of the inputs, recorded so that a caller can skip an unchanged rebuild.
        extra_problems: what the source could not use (files it refused), listed first in ``problems.txt``.

    Returns:
        The opened store.

    Raises:
        ValueError: duplicate ids, no video, or keypoints of the wrong shape (naming the video).
    """
    layout = get_layout(layout) if isinstance(layout, str) else layout
    labels = labels or LabelSpec()
    if not videos:
        raise ValueError(f"{out}: no video to write")
    people = max(v.keypoints.shape[1] for v in videos)
    seen: set[str] = set()
    for v in videos:
        if canonical_video_id(v.video_id) in seen:
            raise ValueError(f"two videos have the id {v.video_id!r} (ids that differ only in leading zeros are one)")
        seen.add(canonical_video_id(v.video_id))
        if v.keypoints.ndim != 4 or v.keypoints.shape[2:] != (layout.num_joints, 3):
            raise ValueError(f"video {v.video_id!r}: keypoints must be (T, M, {layout.num_joints}, 3) in layout "
                             f"{layout.name}, got {v.keypoints.shape}")  # fmt: skip
    records, start = [], 0
    for v in videos:
        records.append(VideoRecord(v.video_id, start, len(v.keypoints), v.source, fps=v.fps))
        start += len(v.keypoints)
    out = Path(out)
    options = {"layout": layout.name, "max_people": people, **(options or {})}
    with staging_dir(out) as tmp:
        path, offset = allocate_keypoints(tmp, (start, people, layout.num_joints, 3))
        results = []
        for record, v in zip(records, videos, strict=True):
            rows = np.full((record.length, people, layout.num_joints, 3), np.nan, dtype=np.float32)
            rows[..., 2] = 0.0
            rows[:, : v.keypoints.shape[1]] = v.keypoints
            write_rows(path, offset, record.start, rows)
            results.append(written(v.video_id, rows, record.length, list(v.problems), None))
        finish_store(tmp, records, results, load_labels(labels), layout=layout, labels=labels, options=options,
                     max_people=people, fingerprint=fingerprint, source_problems=extra_problems)  # fmt: skip
    return PreparedStore(out)
