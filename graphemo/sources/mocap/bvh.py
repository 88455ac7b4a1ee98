"""Reading BVH (Biovision hierarchy) motion capture: the skeleton and the per-frame channel values.

A BVH file is a joint tree followed by one line of channel values per frame::

    HIERARCHY
    ROOT Hips
    {
      OFFSET 0 93.9 0
      CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
      JOINT Spine
      {
        OFFSET 0 15.7 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {
          OFFSET 0 10 0
        }
      }
    }
    MOTION
    Frames: 2
    Frame Time: 0.0333333
    0 93.9 0 0 0 0 0 0 0
    ...

Channels may come in any order and any joint may have position channels. An ``End Site`` becomes a joint
named ``<parent>_end`` without channels. Every problem is a :class:`BVHFormatError` naming the file and line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHANNEL_NAMES = ("xposition", "yposition", "zposition", "xrotation", "yrotation", "zrotation")
MAX_JOINTS = 1024
MAX_VALUES = 50_000_000  # frames x channels: about 400 MB of float64


class BVHFormatError(ValueError):
    """A BVH file that cannot be read; the message names the file and, where it applies, the line."""

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None) -> None:
        self.path, self.line, self.reason = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass
class Skeleton:
    """The joint tree of a BVH file, joints in file order (a parent always comes before its children).

    Attributes:
        names: ``J`` joint names (``<parent>_end`` for end sites).
        parents: ``(J,)`` int64 parent index, -1 for a root.
        offsets: ``(J, 3)`` float64 offset from the parent, in the file's unit.
        channels: per joint, its channel names in file order, lower case (``("zrotation", "xrotation", ...)``).
        columns: per joint, the index of its first value in a motion line.
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: list[tuple[str, ...]]
    columns: list[int]

    @property
    def num_channels(self) -> int:
        return sum(len(c) for c in self.channels)

    def index(self, name: str) -> int:
        """Index of joint ``name`` (``KeyError`` if absent)."""
        return self.names.index(name)


@dataclass
class BVHClip:
    """A read BVH file: its skeleton, ``motion`` ``(F, C)`` float64 channel values, and seconds per frame."""

    path: str
    skeleton: Skeleton
    motion: np.ndarray
    frame_time: float

    @property
    def num_frames(self) -> int:
        return len(self.motion)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time


def read_bvh(path: str | os.PathLike[str]) -> BVHClip:
    """Read a BVH file.

    Raises:
        BVHFormatError: anything that is not a well-formed BVH file (the file and line named).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BVHFormatError(path, f"cannot read: {exc.strerror or exc}") from None
    lines = text.splitlines()
    reader = _Hierarchy(path, lines)
    skeleton, motion_line = reader.parse()
    motion, frame_time = _motion(path, lines, motion_line, skeleton.num_channels)
    return BVHClip(str(path), skeleton, motion, frame_time)


class _Hierarchy:
    """The ``HIERARCHY`` part, read token by token with line numbers."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.tokens = [(i + 1, t) for i, line in enumerate(lines) for t in line.split()]
        self.pos = 0
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float]] = []
        self.channels: list[tuple[str, ...]] = []

    def fail(self, message: str) -> BVHFormatError:
        line = self.tokens[min(self.pos, len(self.tokens) - 1)][0] if self.tokens else None
        return BVHFormatError(self.path, message, line)

    def next(self, what: str) -> str:
        if self.pos >= len(self.tokens):
            raise self.fail(f"the file ends where {what} was expected")
        token = self.tokens[self.pos][1]
        self.pos += 1
        return token

    def expect(self, word: str) -> None:
        token = self.next(repr(word))
        if token.upper() != word.upper():
            self.pos -= 1
            raise self.fail(f"expected {word!r}, found {token!r}")

    def parse(self) -> tuple[Skeleton, int]:
        self.expect("HIERARCHY")
        while self.pos < len(self.tokens) and self.tokens[self.pos][1].upper() == "ROOT":
            self.pos += 1
            self.joint(parent=-1)
        if not self.names:
            raise self.fail("no ROOT joint")
        if self.pos >= len(self.tokens) or self.tokens[self.pos][1].upper() != "MOTION":
            raise self.fail("expected 'MOTION' after the hierarchy")
        columns, start = [], 0
        for c in self.channels:
            columns.append(start)
            start += len(c)
        parents = np.array(self.parents, dtype=np.int64)
        offsets = np.array(self.offsets, dtype=np.float64).reshape(-1, 3)
        skeleton = Skeleton(list(self.names), parents, offsets, list(self.channels), columns)
        return skeleton, self.tokens[self.pos][0]

    def joint(self, parent: int, name: str | None = None) -> None:
        if name is None:
            name = self.next("a joint name")
        if name in self.names:
            raise self.fail(f"joint name {name!r} is used twice")
        if len(self.names) >= MAX_JOINTS:
            raise self.fail(f"more than {MAX_JOINTS} joints")
        index = len(self.names)
        self.names.append(name)
        self.parents.append(parent)
        self.offsets.append([0.0, 0.0, 0.0])
        self.channels.append(())
        self.expect("{")
        while True:
            token = self.next("'}'")
            keyword = token.upper()
            if keyword == "}":
                return
            if keyword == "OFFSET":
                self.offsets[index] = [self.number() for _ in range(3)]
            elif keyword == "CHANNELS":
                self.channels[index] = self.channel_list()
            elif keyword == "JOINT":
                self.joint(index)
            elif keyword == "END":
                self.expect("Site")
                self.end_site(index, f"{name}_end")
            else:
                self.pos -= 1
                expected = "OFFSET, CHANNELS, JOINT, End Site or '}'"
                raise self.fail(f"expected {expected} in joint {name!r}, found {token!r}")

    def end_site(self, parent: int, name: str) -> None:
        while name in self.names:
            name += "_"
        self.names.append(name)
        self.parents.append(parent)
        self.channels.append(())
        self.expect("{")
        self.expect("OFFSET")
        self.offsets.append([self.number() for _ in range(3)])
        self.expect("}")

    def number(self) -> float:
        token = self.next("a number")
        try:
            value = float(token)
        except ValueError:
            self.pos -= 1
            raise self.fail(f"expected a number, found {token!r}") from None
        if not np.isfinite(value):
            self.pos -= 1
            raise self.fail(f"expected a finite number, found {token!r}")
        return value

    def channel_list(self) -> tuple[str, ...]:
        token = self.next("the number of channels")
        if not token.isdigit() or not 0 <= int(token) <= 6:
            self.pos -= 1
            raise self.fail(f"expected a channel count 0..6, found {token!r}")
        names: list[str] = []
        for _ in range(int(token)):
            channel = self.next("a channel name").lower()
            if channel not in CHANNEL_NAMES or channel in names:
                self.pos -= 1
                why = "is listed twice" if channel in names else "is unknown (known: Xposition ... Zrotation)"
                raise self.fail(f"channel {channel!r} {why}")
            names.append(channel)
        return tuple(names)


_FRAMES = re.compile(r"^\s*Frames\s*:\s*(\S+)\s*$", re.IGNORECASE)
_FRAME_TIME = re.compile(r"^\s*Frame\s+Time\s*:\s*(\S+)\s*$", re.IGNORECASE)


def _motion(path: Path, lines: list[str], motion_line: int, channels: int) -> tuple[np.ndarray, float]:
    """The ``MOTION`` part: ``(F, C)`` values and the frame time."""
    header = [(i + 1, lines[i]) for i in range(motion_line, min(motion_line + 2, len(lines)))]
    if len(header) < 2:
        raise BVHFormatError(path, "the file ends inside the MOTION header", motion_line)
    (frames_at, frames_text), (time_at, time_text) = header
    found = _FRAMES.match(frames_text)
    if not found or not found.group(1).isdigit():
        raise BVHFormatError(path, f"expected 'Frames: <count>', found {frames_text.strip()!r}", frames_at)
    frames = int(found.group(1))
    found = _FRAME_TIME.match(time_text)
    try:
        frame_time = float(found.group(1)) if found else float("nan")
    except ValueError:
        frame_time = float("nan")
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise BVHFormatError(path, f"expected 'Frame Time: <seconds> (> 0)', found {time_text.strip()!r}", time_at)
    if frames * max(channels, 1) > MAX_VALUES:
        raise BVHFormatError(path, f"{frames} frames x {channels} channels is more than graphemo reads", frames_at)
    body = lines[time_at:]
    rows = [line for line in body if line.strip()]
    if len(rows) != frames:
        raise BVHFormatError(path, f"'Frames: {frames}' but {len(rows)} lines of values follow", frames_at)
    try:
        values = np.array(" ".join(rows).split(), dtype=np.float64)
    except ValueError:
        for k, line in enumerate(body):
            try:
                np.array(line.split(), dtype=np.float64)
            except ValueError:
                raise BVHFormatError(path, "a value is not a number", time_at + k + 1) from None
        raise
    if values.size != frames * channels:
        for k, line in enumerate(body):
            if line.strip() and len(line.split()) != channels:
                raise BVHFormatError(path, f"{len(line.split())} values, the hierarchy has {channels} channels",
                                     time_at + k + 1)  # fmt: skip
    if not np.isfinite(values).all():
        raise BVHFormatError(path, "the motion holds NaN or infinite values", time_at + 1)
    return values.reshape(frames, channels), frame_time
