"""Preparing OpenPose folders into a store: find the video folders, read them in parallel, track the people, attach
the labels, write the store (:mod:`graphemo.store.writer`) - or reuse it when nothing changed.

``prepare_dataset`` (``graphemo prepare``) reads every video folder under a keypoints root in worker processes,
each of which writes its own rows of ``keypoints.npy``, so that no process holds the whole array. When the
inputs (file names, sizes, modification times), the label files and the options are unchanged, the existing
store is returned without reading anything.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import orjson

from graphemo.keypoints.openpose import (
    OpenPoseFormatError,
    ReadProblem,
    describe_frame,
    frame_files,
    load_json_bytes,
    read_file_bytes,
    read_openpose_video,
    resolve_layout,
)
from graphemo.labels import LabelSpec, canonical_video_id, load_labels
from graphemo.skeleton import Layout, get_layout
from graphemo.specs import check_spec, option
from graphemo.store.reader import STORE_FORMAT, PreparedStore, VideoRecord
from graphemo.store.writer import (
    WrittenVideo,
    allocate_keypoints,
    finish_store,
    padded_rows,
    staging_dir,
    write_rows,
    written,
)


@dataclass(frozen=True)
class PrepareOptions:
    """How keypoints are read (the ``data.prepare`` section; ``graphemo prepare``'s options).

    Attributes:
        layout: ``auto`` infers the body model and parts from a sample of files; or a layout name (``body25``).
        max_people: person slots per frame (the most visible tracks).
        fps: the videos' frame rate (OpenPose does not record it).
    """

    SECTION: ClassVar[str] = "data.prepare"

    layout: str = "auto"
    max_people: int = option(1, min=1, max=8)
    fps: float | None = option(None, gt=0.0)

    def __post_init__(self) -> None:
        check_spec(self)


@dataclass
class _VideoJob:
    folder: str
    video_id: str
    start: int
    length: int
    num_files: int
    layout: str
    max_people: int
    fps: float | None
    check_body25: bool
    keypoints_path: str = ""
    keypoints_offset: int = 0  # byte offset of the data in keypoints.npy


def find_video_folders(root: str | os.PathLike[str]) -> list[tuple[Path, list[tuple[int, str]]]]:
    """Every folder under ``root`` that holds OpenPose ``.json`` files, with its frame files.

    Returns:
        ``[(folder, [(frame_number, file path), ...]), ...]`` sorted by folder path; frame files sorted by number.

    Raises:
        ValueError: two folders with the same video id, or a file name without a frame number.
    """
    return [(folder, files) for folder, _, files in _walk_videos(root)]


def _walk_videos(root: str | os.PathLike[str]) -> Iterator[tuple[Path, str, list[tuple[int, str]]]]:
    """``(folder, video id, frame files)`` of each video folder under ``root``, by path (each folder listed when
    its turn comes)."""
    found, error = _video_folders(root)
    for folder, key in found:
        yield folder, key, frame_files(folder)
    if error is not None:
        raise error


def _video_folders(root: str | os.PathLike[str]) -> tuple[list[tuple[Path, str]], ValueError | None]:
    """``(folder, video id)`` of each folder under ``root`` that holds ``.json`` files, by path, up to the first
    folder whose id is taken, and the error naming that one (``None`` when there is none): it is raised after
    any error in the folders before it, as if they had been read one by one."""
    seen: dict[str, Path] = {}
    found = []
    visited: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):  # a symlinked video folder counts
        real = os.path.realpath(dirpath)
        if real in visited:  # a link back up the tree: walk each real folder once
            dirnames.clear()
            continue
        visited.add(real)
        dirnames.sort()
        if not any(f.endswith(".json") and not f.startswith(".") for f in filenames):
            continue
        folder = Path(dirpath)
        _check_utf8(folder.name, folder.parent)
        key = canonical_video_id(folder.name)
        if key in seen:
            return found, ValueError(f"two video folders have the id {key!r}: {seen[key]} and {folder}")
        seen[key] = folder
        found.append((folder, folder.name.strip()))  # the id as on disk; labels match it by its canonical key
    return found, None


@dataclass
class VideoFolder:
    """A video folder found by :func:`scan_videos`: its size and a few sample files, not the list of its files
    (which would grow with the dataset; the worker that reads the folder lists it again)."""

    folder: Path
    video_id: str
    length: int  # highest frame number + 1
    num_files: int
    samples: tuple[str, ...]  # first, middle and last frame file


def _check_utf8(name: str, where: str | os.PathLike[str]) -> None:
    """Refuse a file or folder name that is not UTF-8 (Python keeps its bytes as surrogates, which no store file,
    message or MLflow record can hold)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = os.fsencode(name)
        shown = os.fsdecode(where).encode("utf-8", "backslashreplace").decode()
        raise ValueError(f"{shown}: the name {raw!r} is not UTF-8; rename it (e.g. convmv -f latin1 -t utf8)") from None


def scan_videos(root: str | os.PathLike[str], workers: int = 1) -> tuple[list[VideoFolder], str]:
    """Every folder under ``root`` that holds OpenPose ``.json`` files, and a fingerprint of all of them.

    Args:
        root: the keypoints root.
        workers: processes listing the folders and reading their files' sizes and times.

    Returns:
        ``(videos, digest)``: the folders sorted by path, and a SHA-256 over every frame file's folder, name,
        size and modification time. Memory does not grow with the number of files.

    Raises:
        ValueError: two folders with the same video id, or a file name without a frame number.
    """
    with _Workers(workers) as pool:
        return _scan(root, pool)


def _scan(root: str | os.PathLike[str], pool: _Workers) -> tuple[list[VideoFolder], str]:
    found, error = _video_folders(root)
    h = hashlib.sha256()
    videos = []
    scanned = pool.map(_scan_folder, [str(folder) for folder, _ in found])
    for (folder, key), (lines, length, num_files, samples) in zip(found, scanned, strict=True):
        h.update(f"{folder}\n".encode())
        h.update(lines)
        videos.append(VideoFolder(folder, key, length, num_files, samples))
    if error is not None:
        raise error
    return videos, h.hexdigest()


class _Workers:
    """Up to ``workers`` processes for :meth:`map`, started when first needed and kept for the next calls (one
    pool lists the folders and reads the videos). On leaving the ``with`` block by an error, the tasks not
    started yet are dropped."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable, items: list) -> Iterator:
        """``map(fn, items)``: in this process for one worker or one item (lazily), else in the pool (all
        submitted now); the results in order, as they come."""
        if self.workers <= 1 or len(items) <= 1:
            return map(fn, items)
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=min(self.workers, len(items)), initializer=_worker_signals, initargs=(os.getpid(),)
            )
        return self.pool.map(fn, items, chunksize=4)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _worker_signals(parent: int) -> None:
    """In a reading process: leave Ctrl-C to the parent (which stops the pool, so no worker prints a traceback),
    die on SIGTERM, and (Linux) get SIGTERM when the parent dies, even by ``kill -9``: no orphaned workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)


def _scan_folder(folder: str) -> tuple[bytes, int, int, tuple[str, ...]]:
    """One folder's part of :func:`scan_videos`: its fingerprint lines (name, size, mtime of each frame file),
    length (highest frame number + 1), number of files and sample files (first, middle, last)."""
    files = frame_files(folder)
    skip = len(os.path.join(folder, ""))  # a listed path is the folder joined with the file's name
    lines = []
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:  # stat by name in the open folder: a fifth cheaper than by full path
        for _, path in files:
            name = path[skip:]
            st = os.stat(name, dir_fd=fd)
            lines.append(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n")
    finally:
        os.close(fd)
    picks = sorted({0, len(files) // 2, len(files) - 1})
    return "".join(lines).encode(), files[-1][0] + 1, len(files), tuple(files[i][1] for i in picks)


def infer_layout(videos: list[VideoFolder]) -> Layout:
    """Body model and parts from the sample files of every video (first, middle, last).

    Raises:
        ValueError: no file with a person, or two body models in one dataset.
    """
    bodies: set[str] = set()
    parts: set[str] = set()
    for video in videos:
        for path in video.samples:
            try:
                body, found = describe_frame(load_json_bytes(read_file_bytes(path), path), path)
            except OpenPoseFormatError:
                continue
            bodies.update([body] if body else [])
            parts |= found
    if len(bodies) > 1:
        raise ValueError(f"the dataset mixes body models {sorted(bodies)}; pass --layout explicitly")
    if not bodies:
        raise ValueError("no sampled file has a person with a body array; pass --layout explicitly")
    return resolve_layout(bodies.pop(), parts)


def fingerprint(files_digest: str, labels: LabelSpec, options: PrepareOptions) -> str:
    """SHA-256 over the store format, the options, the keypoint files (``files_digest`` from
    :func:`scan_videos`) and every label file's path, size and mtime."""
    h = hashlib.sha256()
    h.update(orjson.dumps({"format": STORE_FORMAT, "options": asdict(options), "labels": labels.to_dict()}))
    h.update(files_digest.encode())
    for path in labels.files():
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _read_video(job: _VideoJob) -> WrittenVideo:
    """Worker: read one video folder and write its frames (all of them, read or not) into ``keypoints.npy``."""
    problems: list[ReadProblem] = []
    error = None
    try:
        kp = read_openpose_video(
            job.folder,
            layout=job.layout,
            max_people=job.max_people,
            fps=job.fps,
            video_id=job.video_id,
            problems=problems,
            check_body25=job.check_body25,
        ).keypoints[: job.length]
    except (OpenPoseFormatError, ValueError) as exc:
        kp, error = None, str(exc)
    if kp is not None and len(problems) >= job.num_files:
        kp, error = None, f"{job.folder}: none of its {job.num_files} frame files could be read"
    rows = padded_rows(kp, (job.length, job.max_people, get_layout(job.layout).num_joints, 3))
    write_rows(job.keypoints_path, job.keypoints_offset, job.start, rows)  # this video's rows at their place
    return written(job.video_id, kp, job.length, [str(p) for p in problems], error)


def prepare_dataset(
    keypoints_root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    labels: LabelSpec | None = None,
    options: PrepareOptions | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> PreparedStore:
    """Build (or reuse) the prepared store of a dataset.

    Args:
        keypoints_root: folder whose sub-folders (any depth) are videos of OpenPose JSON files; a video's id
            is its folder name.
        out: the store directory to write.
        labels: where the labels are (none: an unlabelled store, e.g. for prediction or subsampling).
        options: layout, persons per frame, fps.
        workers: processes reading videos in parallel (default: all cores).
        force: rebuild even if the inputs are unchanged.
        progress: show progress (:mod:`graphemo.progress`: a bar on a terminal, lines in a log).

    Returns:
        The opened :class:`PreparedStore`. Bad files and label problems are listed in its summary and in
        ``problems.txt``; they never stop the rest of the dataset.
    """
    labels = labels or LabelSpec()
    options = options or PrepareOptions()
    out = Path(out)
    with _Workers(workers or os.cpu_count() or 1) as pool:
        return _prepare(keypoints_root, out, labels, options, pool, force, progress)


def _prepare(
    keypoints_root: str | os.PathLike[str],
    out: Path,
    labels: LabelSpec,
    options: PrepareOptions,
    pool: _Workers,
    force: bool,
    progress: bool,
) -> PreparedStore:
    from graphemo.progress import progress as show_progress

    videos, files_digest = _scan(keypoints_root, pool)
    if not videos:
        raise ValueError(f"{keypoints_root}: no folder with OpenPose .json files found")
    digest = fingerprint(files_digest, labels, options)
    if not force and (out / "meta.json").exists():
        try:
            existing = PreparedStore(out)
            if existing.meta.get("fingerprint") == digest:
                return existing
        except (OSError, ValueError, KeyError):
            pass

    layout = get_layout(options.layout) if options.layout != "auto" else infer_layout(videos)
    records: list[VideoRecord] = []
    jobs: list[_VideoJob] = []
    start = 0
    check_body25 = options.layout == "auto"
    for video in videos:
        records.append(VideoRecord(video.video_id, start, video.length, str(video.folder), fps=options.fps))
        jobs.append(_VideoJob(str(video.folder), video.video_id, start, video.length, video.num_files,
                              layout.name, options.max_people, options.fps, check_body25))  # fmt: skip
        start += video.length
    with staging_dir(out) as tmp:
        path, offset = allocate_keypoints(tmp, (start, options.max_people, layout.num_joints, 3))
        for job in jobs:
            job.keypoints_path, job.keypoints_offset = path, offset
        bar = show_progress(total=start, unit="frame", desc="prepare", enabled=progress)
        # The labels are read while the workers read the videos.
        results, loaded = _run_jobs(jobs, pool, bar, lambda: load_labels(labels))
        problems = finish_store(tmp, records, results, loaded, layout=layout, labels=labels, options=asdict(options),
                                max_people=options.max_people, fingerprint=digest)  # fmt: skip
    store = PreparedStore(out)
    if problems and progress:
        print(f"{len(problems)} problems: see {out / 'problems.txt'}")
    return store


def _run_jobs(
    jobs: list[_VideoJob], pool: _Workers, bar, meanwhile: Callable[[], object]
) -> tuple[list[WrittenVideo], object]:
    """Run :func:`_read_video` on every job (in ``pool``), and ``meanwhile()`` in this process while the pool's
    workers read (before reading, without workers). Returns the results in job order and what ``meanwhile``
    returned."""
    # Biggest videos first so that no worker is left with one long video at the end.
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].length) if pool.workers > 1 else range(len(jobs))
    done: dict[int, WrittenVideo] = {}
    with bar:
        mapped = pool.map(_read_video, [jobs[i] for i in order])
        extra = meanwhile()
        for i, result in zip(order, mapped, strict=True):
            done[i] = result
            bar.update(jobs[i].length)
    return [done[i] for i in range(len(jobs))], extra
