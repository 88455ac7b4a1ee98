"""The prepared dataset: OpenPose folders + labels turned into memory-mappable arrays, built once.

``prepare_dataset`` reads every video folder under a keypoints root in parallel, tracks the people,
attaches the labels and writes a store directory::

    STORE/
      meta.json        format version, layout, options, input fingerprint, summary
      videos.json      one record per video: id, first frame, length, fps, split, clip label, status
      keypoints.npy    (N, M, V, 3) float32 over all N frames of all videos (x, y NaN where missing)
      expr.npy         (N,) int8 class in graphemo's order, -1 = unannotated
      va.npy           (N, 2) float32 valence, arousal, NaN = unannotated
      present.npy      (N,) bool: the main person (slot 0) is in the frame
      problems.txt     every file or label that could not be used, and why

The store is written into a temporary sibling directory and renamed into place, so a killed prepare
never leaves a half store behind. When the inputs (file names, sizes, modification times) and options are
unchanged, ``prepare_dataset`` returns the existing store without reading anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
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
from graphemo.keypoints.sequence import KeypointSequence
from graphemo.labels import (
    UNANNOTATED,
    LabelFormatError,
    VideoLabels,
    canonical_video_id,
    class_names,
    read_abaw_folder,
    read_dfew_fold,
    read_label_csv,
)
from graphemo.skeleton import Layout, get_layout

STORE_FORMAT = 1


@dataclass
class LabelSpec:
    """Where the labels are. Any combination; per video, earlier sources win where two give the same kind.

    Attributes:
        abaw_expr: ABAW ``EXPR_Classification_Challenge`` folder (``Train_Set``/``Validation_Set`` inside).
        abaw_va: ABAW ``VA_Estimation_Challenge`` folder.
        dfew: DFEW ``EmoLabel_DataSplit`` folder; ``dfew_fold`` picks the fold (1..5).
        csv: a generic label CSV (see :mod:`graphemo.labels.table`).
        keep_other: keep ABAW's ``Other`` as class 7 instead of treating it as unannotated.
    """

    abaw_expr: str | None = None
    abaw_va: str | None = None
    dfew: str | None = None
    dfew_fold: int = 1
    csv: str | None = None
    keep_other: bool = False

    @property
    def requested(self) -> bool:
        """Whether any label source is given (an unlabelled video is then worth reporting)."""
        return bool(self.abaw_expr or self.abaw_va or self.dfew or self.csv)

    def files(self) -> list[Path]:
        """Every label file these sources read (for the fingerprint)."""
        out: list[Path] = []
        for root in (self.abaw_expr, self.abaw_va, self.dfew):
            if root:
                out += sorted(p for p in Path(root).rglob("*") if p.is_file())
        if self.csv:
            out.append(Path(self.csv))
        return out


@dataclass
class PrepareOptions:
    """How keypoints are read. ``layout="auto"`` infers the body model and parts from a sample of files."""

    layout: str = "auto"
    max_people: int = 1
    fps: float | None = None


@dataclass
class VideoRecord:
    """One video of the store; its frames are ``start : start + length`` of the store's arrays."""

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

    @property
    def frames(self) -> slice:
        return slice(self.start, self.start + self.length)


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


@dataclass
class _VideoResult:
    video_id: str
    present: np.ndarray
    missing_joints: int  # of the main person, in the frames where it is present
    visible_joints: int
    problems: list[ReadProblem] = field(default_factory=list)
    error: str | None = None


# --- discovery --------------------------------------------------------------------------------


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
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if not any(f.endswith(".json") and not f.startswith(".") for f in filenames):
            continue
        folder = Path(dirpath)
        key = canonical_video_id(folder.name)
        if key in seen:
            return found, ValueError(f"two video folders have the id {key!r}: {seen[key]} and {folder}")
        seen[key] = folder
        found.append((folder, key))
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
            self.pool = ProcessPoolExecutor(max_workers=min(self.workers, len(items)))
        return self.pool.map(fn, items, chunksize=4)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


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
    h.update(orjson.dumps({"format": STORE_FORMAT, "options": asdict(options), "labels": asdict(labels)}))
    h.update(files_digest.encode())
    for path in labels.files():
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


# --- labels ---------------------------------------------------------------------------------


def load_labels(spec: LabelSpec) -> tuple[dict[str, VideoLabels], list[LabelFormatError], set[str]]:
    """All label sources merged per canonical video id.

    Returns:
        ``(labels, errors, broken)``: the labels per video, the files that could not be used, and the ids of
        the videos whose own label file (ABAW: one file per video) is among them. Such a video gets the
        status ``label_error``, like one whose labels do not match its frames, rather than being used with
        part of its labels missing.
    """
    merged: dict[str, VideoLabels] = {}
    errors: list[LabelFormatError] = []
    broken: set[str] = set()

    def add(table: dict[str, VideoLabels | LabelFormatError]) -> None:
        for key, value in table.items():
            if isinstance(value, LabelFormatError):
                errors.append(value)
                broken.add(key)
            else:
                merged[key] = merged[key].merged(value) if key in merged else value

    if spec.abaw_expr:
        add(read_abaw_folder(spec.abaw_expr, "expr", keep_other=spec.keep_other))
    if spec.abaw_va:
        add(read_abaw_folder(spec.abaw_va, "va"))
    for source, reader in ((spec.dfew, lambda p: read_dfew_fold(p, spec.dfew_fold)),
                           (spec.csv, lambda p: read_label_csv(p, keep_other=spec.keep_other))):  # fmt: skip
        if source:
            try:
                add(reader(source))
            except LabelFormatError as exc:
                errors.append(exc)
    return merged, errors, broken


# --- building -------------------------------------------------------------------------------


def _read_video(job: _VideoJob) -> _VideoResult:
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
    n = 0 if kp is None else len(kp)
    shape = (job.length, job.max_people, get_layout(job.layout).num_joints, 3)
    if n == job.length and kp.shape == shape and kp.dtype == np.float32 and kp.flags.c_contiguous:
        rows = kp
    else:
        rows = np.empty(shape, dtype=np.float32)
        if n:
            rows[:n] = kp
        rows[n:, ..., :2] = np.nan
        rows[n:, ..., 2] = 0.0
    data = memoryview(rows).cast("B")
    offset = job.keypoints_offset + rows[0].nbytes * job.start
    fd = os.open(job.keypoints_path, os.O_WRONLY)
    try:  # this video's rows at their place in keypoints.npy (one write, unless the system splits it)
        done = 0
        while done < len(data):
            done += os.pwrite(fd, data[done:], offset + done)
    finally:
        os.close(fd)
    present = np.zeros(job.length, bool)
    if not n:
        return _VideoResult(job.video_id, present, 0, 0, problems, error=error)
    mask = kp[:, 0, :, 2] > 0
    present[:n] = mask.any(axis=-1)
    main = mask[present[:n]]
    return _VideoResult(job.video_id, present, int((~main).sum()), int(main.sum()), problems)


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
        progress: show a tqdm progress bar.

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
    from tqdm import tqdm

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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        records: list[VideoRecord] = []
        jobs: list[_VideoJob] = []
        start = 0
        check_body25 = options.layout == "auto"
        for video in videos:
            records.append(VideoRecord(video.video_id, start, video.length, str(video.folder), fps=options.fps))
            jobs.append(_VideoJob(str(video.folder), video.video_id, start, video.length, video.num_files,
                                  layout.name, options.max_people, options.fps, check_body25))  # fmt: skip
            start += video.length
        n = start
        kp_path = tmp / "keypoints.npy"
        # Created sparse; each worker writes its own rows, so no process ever holds the whole array.
        kp = np.lib.format.open_memmap(kp_path, mode="w+", dtype=np.float32,
                                       shape=(n, options.max_people, layout.num_joints, 3))  # fmt: skip
        offset = int(kp.offset)
        del kp
        for job in jobs:
            job.keypoints_path, job.keypoints_offset = str(kp_path), offset

        bar = tqdm(total=n, unit="frame", desc="prepare", disable=None if progress else True)
        # The labels are read while the workers read the videos.
        results, (label_table, label_errors, broken_labels) = _run_jobs(jobs, pool, bar, lambda: load_labels(labels))
        problems = _finish_store(
            tmp, records, results, label_table, label_errors, broken_labels, layout, labels, options, digest
        )
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    store = PreparedStore(out)
    if problems and progress:
        print(f"{len(problems)} problems: see {out / 'problems.txt'}")
    return store


def _run_jobs(
    jobs: list[_VideoJob], pool: _Workers, bar, meanwhile: Callable[[], object]
) -> tuple[list[_VideoResult], object]:
    """Run :func:`_read_video` on every job (in ``pool``), and ``meanwhile()`` in this process while the pool's
    workers read (before reading, without workers). Returns the results in job order and what ``meanwhile``
    returned."""
    # Biggest videos first so that no worker is left with one long video at the end.
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].length) if pool.workers > 1 else range(len(jobs))
    done: dict[int, _VideoResult] = {}
    with bar:
        mapped = pool.map(_read_video, [jobs[i] for i in order])
        extra = meanwhile()
        for i, result in zip(order, mapped, strict=True):
            done[i] = result
            bar.update(jobs[i].length)
    return [done[i] for i in range(len(jobs))], extra


def _finish_store(
    tmp: Path,
    records: list[VideoRecord],
    results: list[_VideoResult],
    label_table: dict[str, VideoLabels],
    label_errors: list[LabelFormatError],
    broken_labels: set[str],
    layout: Layout,
    labels: LabelSpec,
    options: PrepareOptions,
    digest: str,
) -> list[str]:
    n = records[-1].start + records[-1].length if records else 0
    expr = np.full(n, UNANNOTATED, dtype=np.int8)
    va = np.full((n, 2), np.nan, dtype=np.float32)
    present = np.zeros(n, dtype=bool)
    problems = [str(e) for e in label_errors]
    missing = visible = bad_files = 0
    for record, result in zip(records, results, strict=True):
        present[record.frames] = result.present
        missing += result.missing_joints
        visible += result.visible_joints
        bad_files += len(result.problems)
        record.problems = len(result.problems)
        problems += [str(p) for p in result.problems]
        if result.error:
            record.status = "unreadable"
            problems.append(result.error)
            continue
        if record.video_id in broken_labels:
            record.status = "label_error"  # its label file is in the problems
            continue
        video_labels = label_table.get(record.video_id)
        if video_labels is None:
            record.status = "unlabelled" if labels.requested else "ok"
            continue
        record.split = video_labels.split
        record.clip_label = int(video_labels.clip_label)
        record.clip_va = None if video_labels.clip_va is None else [float(x) for x in video_labels.clip_va]
        try:
            expr[record.frames], va[record.frames] = video_labels.per_frame(record.length)
        except LabelFormatError as exc:
            record.status = "label_error"
            problems.append(str(exc))
    known = {r.video_id for r in records}
    orphans = sorted(set(label_table) - known)
    problems += [
        f"labels for video {v!r} ({', '.join(label_table[v].sources)}) but no keypoint folder" for v in orphans
    ]

    np.save(tmp / "expr.npy", expr)
    np.save(tmp / "va.npy", va)
    np.save(tmp / "present.npy", present)
    (tmp / "videos.json").write_bytes(orjson.dumps([asdict(r) for r in records], option=orjson.OPT_INDENT_2))
    (tmp / "problems.txt").write_text("".join(p + "\n" for p in problems), encoding="utf-8")
    summary = summarize(records, expr, va, present, keep_other=labels.keep_other)
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
        "max_people": options.max_people,
        "options": asdict(options),
        "labels": asdict(labels),
        "fingerprint": digest,
        "summary": summary,
    }
    (tmp / "meta.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return problems


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move ``tmp`` to ``out``; an existing ``out`` is swapped out first and removed after."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def summarize(
    records: Iterable[VideoRecord], expr: np.ndarray, va: np.ndarray, present: np.ndarray, keep_other: bool = False
) -> dict:
    """Counts for the dataset summary: videos, frames, labelled frames per class, VA frames, statuses."""
    records = list(records)
    names = class_names(keep_other)
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


# --- reading --------------------------------------------------------------------------------


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
        if self.meta.get("format") != STORE_FORMAT:
            raise ValueError(
                f"{self.path}: store format {self.meta.get('format')}, expected {STORE_FORMAT}; re-run prepare"
            )
        self.layout = get_layout(self.meta["layout"])
        self.videos = [VideoRecord(**r) for r in orjson.loads((self.path / "videos.json").read_bytes())]
        self.keypoints = np.load(self.path / "keypoints.npy", mmap_mode="r")
        self.expr = np.load(self.path / "expr.npy")
        self.va = np.load(self.path / "va.npy")
        self.present = np.load(self.path / "present.npy")
        self._index = {v.video_id: i for i, v in enumerate(self.videos)}

    def __len__(self) -> int:
        return len(self.videos)

    @property
    def summary(self) -> dict:
        return self.meta["summary"]

    @property
    def num_frames(self) -> int:
        return int(self.expr.shape[0])

    def video_index(self, video_id: str) -> int:
        """Position of a video in :attr:`videos` (``KeyError`` if absent)."""
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
            "EXPR frames per class:",
        ]
        total = max(sum(s["expr_frames"].values()), 1)
        for name, count in s["expr_frames"].items():
            lines.append(f"  {name:<10} {count:>9}  {count / total:6.1%}")
        return "\n".join(lines)
