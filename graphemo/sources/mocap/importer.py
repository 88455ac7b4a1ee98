"""Motion capture -> graphemo: BVH clips seen by virtual cameras, as OpenPose JSON folders or a store directly.

Each (clip, camera) pair is one video, id ``<clip>_az<azimuth>`` (``dataset-1_walk_proud_001_az090``); the clip
id (the file's stem), the camera's azimuth and the fields of the file name (``pattern``) are recorded in
``labels.csv`` as attributes, so that splits keep every camera of a clip together and can hold out a content,
an actor or a style. One field can be the class label (``label``).

Per clip: read the BVH file (:mod:`~graphemo.sources.mocap.bvh`), forward kinematics in metres
(:mod:`~graphemo.sources.mocap.kinematics`), resample to ``fps``, pick the BODY_25 joints by name
(:mod:`~graphemo.sources.mocap.rigs`); per camera: project (:mod:`~graphemo.sources.mocap.cameras`), then the
optional OpenPose-like pixel noise and drop-out.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from graphemo.sources.mocap.bvh import BVHFormatError, read_bvh
from graphemo.sources.mocap.cameras import facing_direction, fit_distance, place_camera
from graphemo.sources.mocap.kinematics import UNITS, forward_kinematics, resample, unit_scale
from graphemo.sources.mocap.rigs import BODY25_JOINTS, RIGS, RigError, match_rig, read_joint_map
from graphemo.specs import SpecError, check_spec, option

LAYOUT = "body25"
IMPORT_VERSION = 1


@dataclass(frozen=True)
class MocapSpec:
    """A motion-capture import (the ``data.mocap`` section; ``graphemo mocap``'s options).

    Attributes:
        bvh: a BVH file or a folder of them (searched recursively, in name order).
        out: where ``labels.csv`` (and, for ``graphemo mocap``, the OpenPose folders) are written.
        pattern: the file name's fields, e.g. ``dataset-1_{content}_{style}_{take}`` (``{name}`` matches any text
            without an underscore; the ``.bvh`` suffix is left out).
        label: the field that is the class label (None: the videos are unlabelled, the fields are attributes).
        azimuths: camera positions around the vertical axis, degrees from the direction the person faces
            (0: in front, 90: at the person's left, 180: behind).
        elevation: the cameras' height above the horizon, degrees.
        distance: metres from the clip's centre (moved back with ``fit``).
        focal: focal length, pixels.
        image_size: ``[width, height]``, pixels.
        fit: move each camera back until every frame of the clip is in the image.
        fps: resample to this frame rate (None: the file's).
        unit: the file's length unit: ``auto`` (from the skeleton's size), ``m``, ``dm``, ``cm``, ``mm``, ``in``.
        rig: the joint-name table: ``auto`` or one of :data:`~graphemo.sources.mocap.rigs.RIGS`.
        joint_map: a YAML file mapping BODY_25 joints to the rig's joints (wins over ``rig``).
        noise: standard deviation of Gaussian pixel noise, in pixels per 100 px of body height.
        dropout: probability that a joint is missing in a frame.
        confidence: the confidence written for every seen joint.
        seed: seed of the noise and drop-out (each video draws from its own stream).
    """

    SECTION: ClassVar[str] = "data.mocap"

    bvh: str = ""
    out: str = "data/mocap"
    pattern: str | None = None
    label: str | None = None
    azimuths: list[float] = option(default_factory=lambda: [0.0, 90.0, 180.0, 270.0], min=-360.0, max=360.0,
                                   min_len=1)  # fmt: skip
    elevation: float = option(10.0, min=-60.0, max=80.0)
    distance: float = option(4.0, gt=0.0, max=60.0)
    focal: float = option(1000.0, gt=0.0)
    image_size: list[int] = option(default_factory=lambda: [1280, 720], min=64, max=16384)
    fit: bool = True
    fps: float | None = option(None, gt=0.0, max=1000.0)
    unit: str = option("auto", choices=("auto", *UNITS))
    rig: str = option("auto", choices=("auto", *RIGS))
    joint_map: str | None = None
    noise: float = option(0.0, min=0.0, max=50.0)
    dropout: float = option(0.0, min=0.0, max=0.9)
    confidence: float = option(1.0, gt=0.0, max=1.0)
    seed: int = 0

    def __post_init__(self) -> None:
        check_spec(self)
        where = tuple(self.SECTION.split("."))
        if len(self.image_size) != 2:
            raise SpecError((*where, "image_size"), f"must be [width, height], got {self.image_size}")
        fields = pattern_fields(self.pattern) if self.pattern else []
        if self.label is not None and self.label not in fields:
            raise SpecError((*where, "label"), f"{self.label!r} is not a field of the pattern {self.pattern!r} "
                            f"(fields: {', '.join(fields) or 'none'})")  # fmt: skip
        if len(set(self.azimuths)) != len(self.azimuths):
            raise SpecError((*where, "azimuths"), f"an azimuth is given twice: {self.azimuths}")

    def files(self) -> list[Path]:
        """The BVH files to import, in name order.

        Raises:
            FileNotFoundError: ``bvh`` is neither a BVH file nor a folder holding one.
        """
        root = Path(self.bvh)
        if root.is_file():
            return [root]
        found = sorted(p for p in root.rglob("*.[bB][vV][hH]") if p.is_file()) if root.is_dir() else []
        if not found:
            raise FileNotFoundError(f"data.mocap.bvh: {self.bvh} is not a BVH file nor a folder holding .bvh files")
        return found


def pattern_fields(pattern: str) -> list[str]:
    """The ``{field}`` names of a file-name pattern, in order."""
    return re.findall(r"\{(\w+)\}", pattern)


def parse_name(pattern: str | None, stem: str) -> dict[str, str] | None:
    """The fields of a file stem under ``pattern`` (``{}`` without a pattern), or None when it does not match."""
    if not pattern:
        return {}
    regex = "".join(f"(?P<{p[1:-1]}>[^_]+)" if p.startswith("{") else re.escape(p)
                    for p in re.split(r"(\{\w+\})", pattern) if p)  # fmt: skip
    found = re.fullmatch(regex, stem)
    return found.groupdict() if found else None


@dataclass
class ClipVideos:
    """One clip's videos: ``keypoints`` per camera ``(T, 1, 25, 3)`` float32 (missing: NaN, NaN, 0)."""

    clip: str
    source: str
    fps: float
    fields: dict[str, str]
    cameras: dict[str, tuple[float, np.ndarray]] = field(default_factory=dict)  # video id -> (azimuth, keypoints)
    problem: str | None = None


def video_id(clip: str, azimuth: float) -> str:
    """``<clip>_az<azimuth>``, the azimuth as 3 digits (``_az090``; fractions as ``_az022.5``)."""
    text = f"{azimuth % 360:05.1f}".rstrip("0").rstrip(".") if azimuth % 1 else f"{int(azimuth % 360):03d}"
    return f"{clip}_az{text}"


def body25_positions(path: Path, spec: MocapSpec, joint_map: dict | None) -> tuple[np.ndarray, float]:
    """``(F, 25, 3)`` BODY_25 world positions in metres (NaN for joints the rig lacks) and the frame rate."""
    clip = read_bvh(path)
    _, joints = match_rig(clip.skeleton.names, rig=spec.rig, joint_map=joint_map, source=str(path))
    scale, _ = unit_scale(clip.skeleton, spec.unit, joints)
    positions = forward_kinematics(clip) * scale
    fps = clip.fps
    if spec.fps is not None:
        positions, fps = resample(positions, clip.fps, spec.fps), spec.fps
    body = np.full((len(positions), len(BODY25_JOINTS), 3), np.nan)
    body[:, joints >= 0] = positions[:, joints[joints >= 0]]
    return body, fps


def observe(body: np.ndarray, spec: MocapSpec, azimuth: float, rng: np.random.Generator) -> np.ndarray:
    """What one camera sees of ``(F, 25, 3)`` positions: ``(F, 1, 25, 3)`` float32 pixels and confidences."""
    seen = np.isfinite(body).all(axis=-1)
    points = body[seen]
    start = slice(0, max(1, len(body) // 10))
    left, right = BODY25_JOINTS.index("left_hip"), BODY25_JOINTS.index("right_hip")
    facing = facing_direction(body[start, left], body[start, right])
    target = points.mean(axis=0)

    def camera_at(distance: float):
        return place_camera(target, facing, azimuth=azimuth, elevation=spec.elevation, distance=distance,
                            focal=spec.focal, image_size=(spec.image_size[0], spec.image_size[1]))  # fmt: skip

    camera = camera_at(fit_distance(points, camera_at, spec.distance) if spec.fit else spec.distance)
    pixels, inside = camera.project(np.nan_to_num(body))
    visible = seen & inside
    if spec.noise:
        height = np.nanmax(pixels[..., 1], axis=1) - np.nanmin(pixels[..., 1], axis=1)
        pixels = pixels + rng.normal(0.0, 1.0, pixels.shape) * (spec.noise * height / 100.0)[:, None, None]
    if spec.dropout:
        visible &= rng.random(visible.shape) >= spec.dropout
    out = np.zeros((len(body), 1, len(BODY25_JOINTS), 3), dtype=np.float32)
    out[:, 0, :, :2] = np.where(visible[..., None], pixels, np.nan)
    out[:, 0, :, 2] = np.where(visible, spec.confidence, 0.0)
    return out


def import_clip(path: Path, spec: MocapSpec) -> ClipVideos:
    """One clip's videos (a problem instead when the file cannot be used)."""
    fields = parse_name(spec.pattern, path.stem)
    result = ClipVideos(path.stem, str(path), spec.fps or 0.0, fields or {})
    if fields is None:
        result.problem = f"{path}: the name does not match the pattern {spec.pattern!r}"
        return result
    try:
        joint_map = read_joint_map(spec.joint_map) if spec.joint_map else None
        body, result.fps = body25_positions(path, spec, joint_map)
    except (BVHFormatError, RigError, ValueError) as exc:
        result.problem = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return result
    for azimuth in spec.azimuths:
        vid = video_id(path.stem, azimuth)
        rng = np.random.default_rng([spec.seed, zlib.crc32(vid.encode())])
        result.cameras[vid] = (azimuth, observe(body, spec, azimuth, rng))
    return result


def import_clips(spec: MocapSpec, *, workers: int | None = None) -> Iterator[ClipVideos]:
    """Every clip of ``spec.files()``, in file order (in ``workers`` processes)."""
    files = spec.files()
    workers = min(workers or os.cpu_count() or 1, len(files))
    if workers <= 1:
        yield from (import_clip(p, spec) for p in files)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(import_clip, files, [spec] * len(files), chunksize=4)


def fingerprint(spec: MocapSpec) -> str:
    """SHA-256 over the import's version, its options and every BVH file's path, size and modification time."""
    h = hashlib.sha256(f"mocap import {IMPORT_VERSION}\n{sorted(asdict(spec).items())}\n".encode())
    for path in [*spec.files(), *([Path(spec.joint_map)] if spec.joint_map else [])]:
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def declared_classes(clips: list[ClipVideos], spec: MocapSpec) -> list[str] | None:
    """The classes to declare for the labels of ``clips``: None when every label is an emotion (graphemo then
    uses its emotion names and order), else the label values, sorted (so that a style named like an emotion,
    ``calm``, is a class of its own and not an error)."""
    from graphemo.labels import emotion_index

    if not spec.label:
        return None
    values = sorted({c.fields[spec.label] for c in clips if c.fields.get(spec.label)})
    try:
        for value in values:
            emotion_index(value)
    except KeyError:
        return values
    return None


def write_labels(path: Path, clips: list[ClipVideos], spec: MocapSpec) -> None:
    """``labels.csv``: one row per video: ``video``, ``label`` (the label field, or empty), ``clip``, ``camera``
    (the azimuth) and every field of the pattern."""
    fields = [f for f in pattern_fields(spec.pattern or "") if f != spec.label]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["video", "label", "clip", "camera", *fields])
        for clip in clips:
            label = clip.fields.get(spec.label, "") if spec.label else ""
            for vid, (azimuth, _) in clip.cameras.items():
                writer.writerow([vid, label, clip.clip, f"{azimuth:g}", *(clip.fields[k] for k in fields)])


def import_to_store(
    spec: MocapSpec, store: str | os.PathLike[str], *, workers: int | None = None, force: bool = False,
    log: Callable[[str], None] = print,
) -> Any:  # fmt: skip
    """Import every clip of ``spec`` into a store (reused when the files and options are unchanged).

    Returns:
        The opened :class:`~graphemo.store.PreparedStore`; unusable clips are in its ``problems.txt``.
    """
    from graphemo.labels import LabelSpec
    from graphemo.store import PreparedStore, StoreVideo, write_store

    digest = fingerprint(spec)
    if not force and (Path(store) / "meta.json").exists():
        try:
            existing = PreparedStore(store)
            if existing.meta.get("fingerprint") == digest:
                return existing
        except (OSError, ValueError, KeyError):
            pass
    clips = list(import_clips(spec, workers=workers))
    usable = [c for c in clips if c.problem is None]
    if not usable:
        raise ValueError(f"data.mocap: none of the {len(clips)} clip(s) could be imported; first: {clips[0].problem}")
    labels_csv = Path(spec.out) / "labels.csv"
    write_labels(labels_csv, usable, spec)
    videos = [StoreVideo(vid, kp, source=c.source, fps=c.fps) for c in usable for vid, (_, kp) in c.cameras.items()]
    problems = [c.problem for c in clips if c.problem]
    labels = LabelSpec(csv=str(labels_csv), classes=declared_classes(usable, spec))
    result = write_store(store, videos, layout=LAYOUT, labels=labels, fingerprint=digest,
                         options={"mocap": asdict(spec)}, extra_problems=problems)  # fmt: skip
    frames = sum(len(v.keypoints) for v in videos)
    log(
        f"data: imported {len(usable)} BVH clip(s) x {len(spec.azimuths)} camera(s) = {len(videos)} videos, "
        f"{frames:,} frames into {store}" + (f"; {len(problems)} clip(s) refused (problems.txt)" if problems else "")
    )
    return result


def import_to_openpose(
    spec: MocapSpec, *, workers: int | None = None, progress: bool = False
) -> tuple[list[ClipVideos], Path]:
    """Import every clip of ``spec`` as OpenPose JSON folders ``<out>/keypoints/<video>/`` plus
    ``<out>/labels.csv``; returns the clips (their problems included) and the keypoints folder."""
    from graphemo.keypoints.openpose import write_openpose_json
    from graphemo.progress import progress as show_progress
    from graphemo.skeleton import get_layout

    layout = get_layout(LAYOUT)
    root = Path(spec.out) / "keypoints"
    clips = []
    for clip in show_progress(import_clips(spec, workers=workers), total=len(spec.files()), unit="clip", desc="mocap",
                              enabled=progress):  # fmt: skip
        clips.append(clip)
        for vid, (_, keypoints) in clip.cameras.items():
            folder = root / vid
            folder.mkdir(parents=True, exist_ok=True)
            for t, people in enumerate(keypoints):
                seen = people[(people[..., 2] > 0).any(axis=-1)]  # a frame with nobody in view: people: []
                write_openpose_json(folder / f"{vid}_{t:012d}_keypoints.json", seen, layout)
    write_labels(Path(spec.out) / "labels.csv", [c for c in clips if c.problem is None], spec)
    return clips, root
