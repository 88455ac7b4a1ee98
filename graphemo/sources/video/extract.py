"""Keypoints from raw video: MediaPipe Holistic in its own environment, written as OpenPose JSON.

The pipeline of ``graphemo extract``::

    video file / folder of videos / folder of images
      -> frames decoded here with OpenCV (BGR -> RGB), every N-th, frames already on disk skipped
      -> MediaPipe Holistic in a subprocess (graphemo/sources/video/mediapipe_worker.py, run by the Python of a
         separate virtualenv that holds mediapipe==0.10.14; one frame in flight while the next decodes)
      -> graphemo.sources.video.mediapipe_map: BODY_25 + FACE_70 + two HAND_21 in pixels
      -> <out>/<name>/<name>_<frame:012d>_keypoints.json, OpenPose 1.3, written atomically

Why a separate environment: mediapipe 0.10.14 (the last release line whose wheel carries the Holistic
models, so it runs offline) requires ``protobuf<5`` and ``opencv-contrib-python``; graphemo's environment has
``protobuf>=5`` (mlflow's OpenTelemetry needs it) and ``opencv-python-headless``, which would be overwritten.
The worker's Python is found by :func:`find_worker_python`.

Frame numbers are the video's own (``--every 5`` writes frames 0, 5, 10, ...), so per-frame labels still
line up. An interrupted run resumes: frames whose file exists are not processed again. MediaPipe Holistic
tracks one person; a frame where it finds nobody is written as ``{"version": 1.3, "people": []}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graphemo.keypoints.openpose import frame_file_name, list_frame_files, write_openpose_json
from graphemo.skeleton import get_layout
from graphemo.sources.video import mediapipe_worker as protocol
from graphemo.sources.video.mediapipe_map import LAYOUT, people_from_record

WORKER_SCRIPT = Path(__file__).with_name("mediapipe_worker.py")
PYTHON_ENV_VAR = "GRAPHEMO_EXTRACT_PYTHON"
DEFAULT_ENV = ".venv-extract"
REPO_ROOT = Path(__file__).resolve().parents[3]
SETUP_COMMAND = "make extract-env"
SETUP_COMMAND_PLAIN = (
    f"python3 -m venv {DEFAULT_ENV} && {DEFAULT_ENV}/bin/pip install mediapipe=={protocol.MEDIAPIPE_VERSION}"
)
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
# Quieten TensorFlow Lite / glog start-up chatter in the worker (it goes to a log file anyway).
_WORKER_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}


class ExtractError(RuntimeError):
    """Extraction cannot go on; the message names the file or environment at fault and what to do."""


# --- the worker environment -------------------------------------------------------------------------


def setup_hint() -> str:
    """How to create the MediaPipe environment, as a one-paragraph message."""
    return (
        f"create it with `{SETUP_COMMAND}` in the graphemo checkout (or: `{SETUP_COMMAND_PLAIN}`), "
        f"or point to a Python that has mediapipe=={protocol.MEDIAPIPE_VERSION} with --python PATH or "
        f"the {PYTHON_ENV_VAR} environment variable"
    )


def find_worker_python(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Python interpreter that runs the MediaPipe worker.

    Looked up in order: ``explicit`` (``--python``), ``$GRAPHEMO_EXTRACT_PYTHON``, ``.venv-extract/bin/python``
    in the graphemo checkout, then in the current directory.

    Raises:
        ExtractError: none of them exists, with the command that creates the environment.
    """
    given = explicit or os.environ.get(PYTHON_ENV_VAR)
    if given:
        path = Path(given)
        if path.is_dir():  # a virtualenv folder instead of its interpreter
            path = path / "bin" / "python"
        if not path.is_file():
            source = "--python" if explicit else PYTHON_ENV_VAR
            raise ExtractError(f"{source} names {given}, which is not a Python interpreter; {setup_hint()}")
        return path
    for root in (REPO_ROOT, Path.cwd()):
        path = root / DEFAULT_ENV / "bin" / "python"
        if path.is_file():
            return path
    raise ExtractError(f"no MediaPipe environment ({REPO_ROOT / DEFAULT_ENV} is absent): {setup_hint()}")


class HolisticWorker:
    """A running MediaPipe Holistic worker subprocess (a context manager).

    Args:
        python: interpreter of the MediaPipe environment.
        static: treat every frame as an unrelated image (no tracking between frames).
        script: the worker script (default :data:`WORKER_SCRIPT`; tests give a fake one that speaks the same
            protocol).
    """

    def __init__(self, python: str | os.PathLike[str], *, static: bool = False, script: Path | None = None):
        script = script or WORKER_SCRIPT
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - the worker's stderr, open as long as it runs
        args = [str(python), "-I", str(script), *(["--static"] if static else [])]
        try:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env={**os.environ, **_WORKER_ENV},
            )
        except OSError as exc:
            self._log.close()
            raise ExtractError(f"cannot start the MediaPipe worker with {python}: {exc}; {setup_hint()}") from None
        try:
            self.hello = json.loads(self._read_reply().decode())
        except (ExtractError, ValueError) as exc:
            self.close()
            raise ExtractError(f"{python} could not run the MediaPipe worker: {exc}\nTo fix: {setup_hint()}") from None
        if self.hello.get("protocol") != protocol.PROTOCOL:
            self.close()
            raise ExtractError(f"worker protocol {self.hello.get('protocol')} != {protocol.PROTOCOL} ({script})")

    def __enter__(self) -> HolisticWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _log_tail(self, lines: int = 12) -> str:
        self._log.seek(0)
        text = self._log.read().decode(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def _fail(self, what: str) -> ExtractError:
        try:  # it has usually just exited: give it a moment so that the exit code is known
            code: int | None = self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        status = f"exit code {code}" if code is not None else "still running"
        tail = self._log_tail()
        return ExtractError(
            f"MediaPipe worker failed ({what}; {status})" + (f"; its last output:\n{tail}" if tail else "")
        )

    def _read_reply(self) -> bytes:
        stream = self._proc.stdout
        assert stream is not None
        head = stream.read(protocol.LENGTH_HEADER.size)
        if len(head) != protocol.LENGTH_HEADER.size:
            raise self._fail("no reply")
        (n,) = protocol.LENGTH_HEADER.unpack(head)
        payload = stream.read(n)
        if len(payload) != n:
            raise self._fail(f"reply cut after {len(payload)} of {n} bytes")
        return payload

    def _write(self, header: tuple[int, int], pixels: np.ndarray | None = None) -> None:
        stream = self._proc.stdin
        assert stream is not None
        try:
            stream.write(protocol.FRAME_HEADER.pack(*header))
            if pixels is not None:
                stream.write(memoryview(pixels).cast("B"))
            stream.flush()
        except (BrokenPipeError, OSError):
            raise self._fail("it stopped reading frames") from None

    def landmarks(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray, int, int]]:
        """Run Holistic on frames, keeping one frame in flight while the caller decodes the next.

        Args:
            frames: ``(frame_number, rgb)`` with ``rgb`` ``(H, W, 3)`` uint8.

        Yields:
            ``(frame_number, record, height, width)`` in input order; ``record`` is the worker's
            ``(RECORD_LENGTH,)`` float32 landmarks (see :mod:`graphemo.sources.video.mediapipe_worker`).
        """
        pending: deque[tuple[int, int, int]] = deque()
        for number, rgb in frames:
            rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
            if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) == 0:
                raise ValueError(f"frame {number}: expected an (H, W, 3) image, got shape {rgb.shape}")
            height, width = rgb.shape[:2]
            self._write((height, width), rgb)
            pending.append((number, height, width))
            if len(pending) > 1:
                yield self._answer(*pending.popleft())
        while pending:
            yield self._answer(*pending.popleft())

    def _answer(self, number: int, height: int, width: int) -> tuple[int, np.ndarray, int, int]:
        payload = self._read_reply()
        if len(payload) != protocol.RECORD_LENGTH * 4:
            raise self._fail(f"frame {number}: reply of {len(payload)} bytes, expected {protocol.RECORD_LENGTH * 4}")
        return number, np.frombuffer(payload, dtype="<f4").copy(), height, width

    def reset(self) -> None:
        """Forget the tracked person (call between videos)."""
        self._write(protocol.RESET)

    def close(self) -> None:
        """End the worker (politely, then by force) and release its pipes."""
        if self._proc.poll() is None:
            try:
                self._write(protocol.END)
                self._proc.stdin.close()  # type: ignore[union-attr]
            except (ExtractError, OSError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log.close()


# --- frame sources ----------------------------------------------------------------------------------


@dataclass
class Source:
    """One video to extract: a video file, or the sorted images of a folder.

    Attributes:
        name: video id, used for the output folder and the file names.
        path: the video file or the image folder.
        images: the image files in frame order (empty for a video file).
    """

    name: str
    path: Path
    images: list[Path] = field(default_factory=list)

    def frame_count(self) -> int | None:
        """Frames in the source: exact for images, the container's figure for a video (None if unknown)."""
        if self.images:
            return len(self.images)
        import cv2

        capture = cv2.VideoCapture(str(self.path))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        capture.release()
        return count or None

    def fps(self) -> float | None:
        """The video's frame rate, or None (images, or not recorded)."""
        if self.images:
            return None
        import cv2

        capture = cv2.VideoCapture(str(self.path))
        rate = float(capture.get(cv2.CAP_PROP_FPS)) if capture.isOpened() else 0.0
        capture.release()
        return rate if 0 < rate < 1000 else None


def natural_key(name: str) -> list[object]:
    """Sort key that compares the digit runs of a name as numbers (``f2.png`` before ``f10.png``)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _listing(folder: Path) -> tuple[list[Path], list[Path], list[Path]]:
    entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: natural_key(p.name))
    videos = [p for p in entries if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    images = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    folders = [p for p in entries if p.is_dir()]
    return videos, images, folders


def find_sources(path: str | os.PathLike[str]) -> list[Source]:
    """What to extract from ``path``.

    A video file is one source; a folder of videos is one source per video; a folder of images is one
    source (frames in natural name order); a folder whose sub-folders hold images is one source per
    sub-folder.

    Raises:
        ExtractError: the path does not exist, holds nothing usable, mixes videos and images, or two
            videos would get the same name.
    """
    path = Path(path)
    if path.is_file():
        return [Source(path.stem, path)]
    if not path.is_dir():
        raise ExtractError(f"{path}: no such file or folder")
    videos, images, folders = _listing(path)
    if videos and images:
        raise ExtractError(f"{path}: holds both videos and images; give a folder of one kind")
    if images:
        return [Source(path.name, path, images)]
    sources = [Source(p.stem, p) for p in videos]
    if not sources:
        for sub in folders:
            sub_images = _listing(sub)[1]
            if sub_images:
                sources.append(Source(sub.name, sub, sub_images))
    if not sources:
        kinds = " ".join(sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))
        raise ExtractError(f"{path}: no videos or images found (looked for {kinds})")
    seen: dict[str, Path] = {}
    for source in sources:
        if source.name in seen:
            raise ExtractError(f"{source.path} and {seen[source.name]} would both be written as {source.name!r}")
        seen[source.name] = source.path
    return sources


def video_frames(path: Path, wanted: Callable[[int], bool]) -> Iterator[tuple[int, np.ndarray]]:
    """Decode a video, yielding ``(frame_number, rgb (H, W, 3) uint8)`` for the frames where ``wanted``.

    Unwanted frames are only grabbed, not converted. Raises :class:`ExtractError` naming the file when it
    cannot be opened, no frame can be decoded, or a frame cannot be retrieved.
    """
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ExtractError(f"{path}: cannot open as a video (missing, unreadable or not a video format OpenCV knows)")
    try:
        number = -1
        while capture.grab():
            number += 1
            if not wanted(number):
                continue
            ok, bgr = capture.retrieve()
            if not ok or bgr is None:
                raise ExtractError(f"{path}: frame {number} could not be decoded")
            yield number, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if number < 0:
            raise ExtractError(f"{path}: no frame could be decoded (empty or corrupt video)")
    finally:
        capture.release()


def image_frames(images: list[Path], wanted: Callable[[int], bool]) -> Iterator[tuple[int, np.ndarray]]:
    """Read images (frame ``i`` = ``images[i]``) as RGB for the frames where ``wanted``.

    Raises:
        ExtractError: an image that cannot be read, named.
    """
    import cv2

    for number, path in enumerate(images):
        if not wanted(number):
            continue
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ExtractError(f"{path}: cannot read as an image")
        yield number, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# --- extraction -------------------------------------------------------------------------------------


@dataclass
class ExtractResult:
    """What one source gave.

    Attributes:
        name: video id (the output folder's name).
        out: the folder of JSON files.
        written: frames processed and written by this run.
        skipped: wanted frames already on disk from an earlier run.
        with_person: written frames where a person was found.
        seconds: wall time of this source (decoding, MediaPipe, writing).
        fps: the video's frame rate, if known.
    """

    name: str
    out: Path
    written: int = 0
    skipped: int = 0
    with_person: int = 0
    seconds: float = 0.0
    fps: float | None = None


def extract_source(
    source: Source, out_root: str | os.PathLike[str], worker: HolisticWorker, *, every: int = 1, progress: bool = True
) -> ExtractResult:
    """Extract one source into ``out_root/<name>/``, skipping frames whose file exists.

    Args:
        source: from :func:`find_sources`.
        out_root: the output root; the source's folder is created in it.
        worker: a running :class:`HolisticWorker` (reset here, so tracking starts afresh).
        every: process frames ``0, every, 2 * every, ...`` (numbers are kept).
        progress: show a tqdm bar.

    Returns:
        The counts of this run (:class:`ExtractResult`).
    """
    from graphemo.progress import progress as show_progress

    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    out = Path(out_root) / source.name
    out.mkdir(parents=True, exist_ok=True)
    done = {number for number, _ in list_frame_files(out)}
    result = ExtractResult(source.name, out, fps=source.fps())
    layout = get_layout(LAYOUT)

    def wanted(number: int) -> bool:
        if number % every:
            return False
        if number in done:
            result.skipped += 1
            return False
        return True

    count = source.frame_count()
    total = None if count is None else max(0, -(-count // every) - sum(1 for n in done if n % every == 0))
    frames = image_frames(source.images, wanted) if source.images else video_frames(source.path, wanted)
    start = time.perf_counter()
    worker.reset()
    with show_progress(total=total, unit="frame", desc=source.name, enabled=progress, leave=False) as bar:
        for number, record, height, width in worker.landmarks(frames):
            people = people_from_record(record, width, height)
            write_openpose_json(out / frame_file_name(source.name, number), people, layout)
            result.written += 1
            result.with_person += len(people) > 0
            bar.update()
    result.seconds = time.perf_counter() - start
    return result


def extract(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    every: int = 1,
    python: str | os.PathLike[str] | None = None,
    static: bool = False,
    progress: bool = True,
    worker_script: Path | None = None,
) -> list[ExtractResult]:
    """Extract every source under ``path`` into ``out`` (one sub-folder of OpenPose JSON per video).

    Args:
        path: a video file, a folder of videos, a folder of images or a folder of image folders.
        out: the output root (``graphemo prepare OUT`` reads it).
        every: keep every ``every``-th frame, original numbers kept.
        python: the MediaPipe environment's interpreter (see :func:`find_worker_python`).
        static: no tracking between frames (for unrelated images).
        progress: tqdm bars.
        worker_script: the worker to run (default :data:`WORKER_SCRIPT`; tests give a fake one).

    Returns:
        One :class:`ExtractResult` per source, in order.

    Raises:
        ExtractError: no environment, a source that cannot be read, or a worker failure.
    """
    sources = find_sources(path)
    interpreter = find_worker_python(python)
    results = []
    with HolisticWorker(interpreter, static=static, script=worker_script) as worker:
        for source in sources:
            results.append(extract_source(source, out, worker, every=every, progress=progress))
    return results


def format_summary(results: list[ExtractResult], out: str | os.PathLike[str], seconds: float) -> str:
    """A one-screen summary of an extraction: per video (the first 10), totals, speed and the next command."""
    written = sum(r.written for r in results)
    skipped = sum(r.skipped for r in results)
    found = sum(r.with_person for r in results)
    busy = sum(r.seconds for r in results)
    lines = [f"extracted {len(results)} video(s) into {out}"]
    for r in results[:10]:
        lines.append(
            f"  {r.name}: {r.written} frames written, {r.skipped} already there, "
            f"a person in {r.with_person}/{r.written}"
        )
    if len(results) > 10:
        lines.append(f"  ... and {len(results) - 10} more")
    lines.append(f"frames written {written}, already there {skipped}, with a person {found}/{written}")
    if written:
        speed = f"{written / busy:.1f} frames/s ({1000 * busy / written:.1f} ms/frame)"
        lines.append(f"speed {speed} including decoding and writing; total {seconds:.1f} s")
    rates = {r.fps for r in results if r.fps}
    rate = f" --fps {rates.pop():g}" if len(rates) == 1 else ""
    lines.append(f"next: graphemo prepare {shlex.quote(str(out))} --out STORE{rate} [labels ...]")
    return "\n".join(lines)
