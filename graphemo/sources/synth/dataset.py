"""A generated dataset on disk: OpenPose folders, ABAW EXPR/VA files, DFEW folds, a manifest."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from graphemo.keypoints.openpose import frame_file_name
from graphemo.labels.abaw import write_abaw_expr, write_abaw_va
from graphemo.labels.dfew import graphemo_to_dfew, write_dfew_csv
from graphemo.labels.emotions import EMOTIONS_WITH_OTHER
from graphemo.skeleton import get_layout
from graphemo.sources.synth.emotions import (
    NUM_EMOTIONS,
    SynthConfig,
    plan_emotions,
)
from graphemo.sources.synth.video import LAYOUT_NAME, SynthVideo, frame_documents, synthesize_video, video_id
from graphemo.specs import SpecError, check_spec, option

GENERATOR_VERSION = 1
SPLIT_STREAM = 2**32  # RNG stream of the dataset-level draws (splits, folds); video streams use 0 .. N-1


def write_video(out_dir: str | os.PathLike[str], vid: str, video: SynthVideo, split: str) -> tuple[int, int]:
    """Write one video's OpenPose folder and its ABAW EXPR and VA files.

    Args:
        out_dir: the dataset root.
        vid: video id (folder and file stem).
        video: the generated video.
        split: ``"Train_Set"`` or ``"Validation_Set"``.

    Returns:
        ``(files, bytes)`` of keypoint files written.
    """
    root = Path(out_dir)
    folder = root / "keypoints" / vid
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    documents = frame_documents(video, get_layout(LAYOUT_NAME))
    for t, doc in enumerate(documents):
        with open(folder / frame_file_name(vid, t), "wb") as f:
            f.write(doc)
        total += len(doc)
    write_abaw_expr(root / "labels" / "EXPR" / split / f"{vid}.txt", video.abaw_expr)
    write_abaw_va(root / "labels" / "VA" / split / f"{vid}.txt", video.va)
    return len(documents), total


@dataclass
class SynthSummary:
    """What :func:`generate_dataset` wrote."""

    out_dir: str
    num_videos: int
    num_frames: int
    num_files: int
    num_bytes: int
    seconds: float
    splits: dict[str, int] = field(default_factory=dict)
    frame_classes: dict[str, int] = field(default_factory=dict)
    clip_classes: dict[str, int] = field(default_factory=dict)

    @property
    def files_per_second(self) -> float:
        return self.num_files / self.seconds if self.seconds > 0 else float("inf")


def dataset_splits(
    num_videos: int, seed: int, val_fraction: float = 0.2, folds: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ABAW split and DFEW folds.

    Returns:
        ``(is_validation (N,) bool, fold (N,) int 1..folds)``: ``round(val_fraction * N)`` videos in
        validation; each fold's test list is one fifth of the videos.
    """
    rng = np.random.default_rng([seed, SPLIT_STREAM])
    order = rng.permutation(num_videos)
    is_val = np.zeros(num_videos, dtype=bool)
    is_val[order[: round(val_fraction * num_videos)]] = True
    fold = np.empty(num_videos, dtype=np.int64)
    fold[rng.permutation(num_videos)] = np.arange(num_videos) % folds + 1
    return is_val, fold


@dataclass(frozen=True)
class _Job:
    out_dir: str
    index: int
    seed: int
    frames: tuple[int, int]
    fps: float
    image_size: tuple[int, int]
    split: str
    config: SynthConfig


def _make_video(job: _Job) -> tuple[int, int, int, int, np.ndarray]:
    """Generate and write one video; returns ``(index, frames, files, bytes, emotion counts (8,))`` plus the
    dominant emotion packed in the counts' caller (see :func:`generate_dataset`)."""
    rng = np.random.default_rng([job.seed, job.index])
    num_frames = int(rng.integers(job.frames[0], job.frames[1] + 1))
    plan = plan_emotions(rng, num_frames, job.config)
    video = synthesize_video(rng, plan, fps=job.fps, image_size=job.image_size, config=job.config)
    files, size = write_video(job.out_dir, video_id(job.index), video, job.split)
    counts = np.bincount(video.expr[video.expr >= 0], minlength=8)
    return video.dominant_emotion, num_frames, files, size, counts


def generate_dataset(
    out_dir: str | os.PathLike[str],
    num_videos: int,
    seed: int = 0,
    *,
    frames: tuple[int, int] = (150, 450),
    fps: float = 30.0,
    image_size: tuple[int, int] = (1280, 720),
    workers: int | None = None,
    config: SynthConfig | None = None,
    val_fraction: float = 0.2,
    progress: bool = True,
    overwrite: bool = False,
) -> SynthSummary:
    """Write a synthetic Aff-Wild2/DFEW-style dataset.

    Layout of ``out_dir``::

        keypoints/<id>/<id>_<frame:012d>_keypoints.json     OpenPose v1.3, BODY_25 + face + hands
        labels/EXPR/{Train_Set,Validation_Set}/<id>.txt      ABAW EXPR (-1 unannotated)
        labels/VA/{Train_Set,Validation_Set}/<id>.txt        ABAW VA (-5 unannotated)
        labels/DFEW/{train,test}(single-labeled)/set_{1..5}.csv   clip = dominant emotion
        synth.json                                            parameters, seed, counts

    Args:
        out_dir: destination (created).
        num_videos: ``N``; ids are ``00001`` .. ``N`` (5 digits, DFEW-compatible).
        seed: the same seed gives byte-identical files, whatever ``workers``.
        frames: ``(min, max)`` frames per video, inclusive.
        fps: frame rate.
        image_size: ``(width, height)``.
        workers: processes (default: CPUs, at most 8; ``1`` = in this process).
        config: the generator's rates (:class:`SynthConfig`).
        val_fraction: share of videos in ``Validation_Set``.
        progress: show a tqdm bar.
        overwrite: replace a dataset previously written here by this generator.

    Returns:
        A :class:`SynthSummary`.

    Raises:
        FileExistsError: ``out_dir`` already holds keypoints or labels (and ``overwrite`` is off, or it was not
            written by the generator).
        ValueError: bad sizes.
    """
    from graphemo.progress import progress as show_progress

    config = config or SynthConfig()
    if num_videos < 1 or num_videos > 99_999:
        raise ValueError(f"num_videos must be 1..99999 (5-digit DFEW ids), got {num_videos}")
    if not 1 <= frames[0] <= frames[1]:
        raise ValueError(f"frames must be (min, max) with 1 <= min <= max, got {frames}")
    if fps <= 0 or min(image_size) < 32:
        raise ValueError(f"bad fps {fps} or image size {image_size}")
    root = Path(out_dir)
    _prepare_folder(root, overwrite)
    start = time.perf_counter()
    is_val, fold = dataset_splits(num_videos, seed, val_fraction)
    for kind in ("EXPR", "VA"):
        for split in ("Train_Set", "Validation_Set"):
            (root / "labels" / kind / split).mkdir(parents=True, exist_ok=True)
    jobs = [
        _Job(str(root), i, seed, (int(frames[0]), int(frames[1])), float(fps), (int(image_size[0]), int(image_size[1])),
             "Validation_Set" if is_val[i] else "Train_Set", config)
        for i in range(num_videos)
    ]  # fmt: skip
    workers = workers or min(os.cpu_count() or 1, 8)
    results: list = []
    bar = show_progress(total=num_videos, unit="video", desc="synth", enabled=progress)
    if workers <= 1 or num_videos == 1:
        for job in jobs:
            results.append(_make_video(job))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=min(workers, num_videos)) as pool:
            for result in pool.map(_make_video, jobs, chunksize=max(1, min(8, num_videos // (4 * workers)))):
                results.append(result)
                bar.update()
    bar.close()

    dominant = [r[0] for r in results]
    for k in range(1, 6):
        for split, in_split in (("train", fold != k), ("test", fold == k)):
            folder = root / "labels" / "DFEW" / f"{split}(single-labeled)"
            folder.mkdir(parents=True, exist_ok=True)
            rows = [(i + 1, graphemo_to_dfew(dominant[i])) for i in range(num_videos) if in_split[i]]
            write_dfew_csv(folder / f"set_{k}.csv", rows)
    frame_counts = np.sum([r[4] for r in results], axis=0)
    summary = SynthSummary(
        out_dir=str(root),
        num_videos=num_videos,
        num_frames=int(sum(r[1] for r in results)),
        num_files=int(sum(r[2] for r in results)),
        num_bytes=int(sum(r[3] for r in results)),
        seconds=time.perf_counter() - start,
        splits={"Train_Set": int((~is_val).sum()), "Validation_Set": int(is_val.sum())},
        frame_classes={EMOTIONS_WITH_OTHER[k]: int(frame_counts[k]) for k in range(8)},
        clip_classes={EMOTIONS_WITH_OTHER[k]: int(dominant.count(k)) for k in range(NUM_EMOTIONS)},
    )
    manifest = {
        "generator": "graphemo synth",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "num_videos": num_videos,
        "frames": list(frames),
        "fps": fps,
        "image_size": list(image_size),
        "val_fraction": val_fraction,
        "layout": LAYOUT_NAME,
        "config": asdict(config),
        "video_ids": [video_id(0), video_id(num_videos - 1)],
        "num_frames": summary.num_frames,
        "frame_classes": summary.frame_classes,
        "clip_classes": summary.clip_classes,
        "splits": summary.splits,
    }
    (root / "synth.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return summary


@dataclass(frozen=True)
class SynthSpec:
    """A generated dataset (the ``data.synth`` section; ``graphemo synth``'s options): written into ``out`` when it
    is not there yet.

    Attributes:
        out: the dataset folder.
        videos: how many videos.
        seed: the same seed writes the same bytes.
        frames: ``[min, max]`` frames per video, inclusive.
        fps: frame rate.
        val_fraction: share of videos in ``Validation_Set``.
    """

    SECTION: ClassVar[str] = "data.synth"

    out: str = "data/synth"
    videos: int = option(60, min=1, max=99_999)
    seed: int = 0
    frames: list[int] = option(default_factory=lambda: [120, 300], min=1)
    fps: float = option(30.0, min=1.0)
    val_fraction: float = option(0.2, min=0.0, max=0.9)

    def __post_init__(self) -> None:
        check_spec(self)
        if len(self.frames) != 2 or not self.frames[0] <= self.frames[1]:
            where = (*self.SECTION.split("."), "frames")
            raise SpecError(where, f"must be [min, max] with min <= max, got {self.frames}")

    @property
    def exists(self) -> bool:
        """Whether ``out`` already holds a generated dataset."""
        return (Path(self.out) / "synth.json").exists()

    def generate(self, *, workers: int | None = None, progress: bool = True) -> SynthSummary:
        """Write the dataset (:func:`generate_dataset`)."""
        return generate_dataset(self.out, self.videos, self.seed, frames=(self.frames[0], self.frames[1]),
                                fps=self.fps, val_fraction=self.val_fraction, workers=workers,
                                progress=progress)  # fmt: skip


def _prepare_folder(root: Path, overwrite: bool) -> None:
    generated = [root / "keypoints", root / "labels", root / "synth.json"]
    if not any(p.exists() for p in generated):
        root.mkdir(parents=True, exist_ok=True)
        return
    if not overwrite:
        raise FileExistsError(f"{root} already holds a dataset (keypoints/, labels/ or synth.json); "
                              "choose another folder or pass overwrite=True (--overwrite)")  # fmt: skip
    if not (root / "synth.json").exists():
        raise FileExistsError(f"{root} holds keypoints/ or labels/ not written by graphemo synth (no synth.json); "
                              "refusing to delete them")  # fmt: skip
    for p in generated:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
