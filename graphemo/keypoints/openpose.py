"""Reading and writing OpenPose's per-frame JSON (``--write_json``).

One file per frame: ``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...],
"face_keypoints_2d": [...], "hand_left_keypoints_2d": [...], "hand_right_keypoints_2d": [...], ...}]}``.
Versions 1.0-1.1 name the arrays without ``_2d`` (``pose_keypoints``); both are read. The body model is
told by the array length (75 values = BODY_25, 54 = COCO-18). A 25-point body whose joints do not sit
where BODY_25 puts them (e.g. BODY_25B, which has the eyes at indices 1-2) is refused instead of being
read in the wrong order; pass ``layout="body25"`` to force it.

Missing joints are written by OpenPose as ``0, 0, 0``; graphemo reads them as confidence 0 with NaN
coordinates, so no model ever sees them as a position at the image corner.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from graphemo.keypoints.sequence import KeypointSequence
from graphemo.keypoints.tracking import track_detections
from graphemo.skeleton import Layout, get_layout, layout_name

BODY_KINDS = {25: "body25", 18: "coco18"}
PART_SIZES = {"face": 70, "hand_left": 21, "hand_right": 21}
_KEYS_2D = {
    "body": ("pose_keypoints_2d", "pose_keypoints"),
    "face": ("face_keypoints_2d", "face_keypoints"),
    "hand_left": ("hand_left_keypoints_2d", "hand_left_keypoints"),
    "hand_right": ("hand_right_keypoints_2d", "hand_right_keypoints"),
}
_KEYS_3D = {part: (f"{keys[0][:-3]}_3d",) for part, keys in _KEYS_2D.items()}
# BODY_25's neck lies within this fraction of the shoulder width from the shoulders' midpoint.
BODY25_NECK_TOLERANCE = 0.25
# No camera image is this many pixels wide (nor a normalised coordinate this large): a joint beyond it is a
# corrupted value, which would otherwise dominate a person's extent and so the choice of the main person.
MAX_COORDINATE = 1e5
# OpenPose's confidences are heatmap peaks, which can pass 1 a little (up to 1.04 in ../shared's real output).
MAX_CONFIDENCE = 1.1
# A person whose box is this many times the median of the frames read with it is checked for a detached joint:
# one this many times farther from the person's median joint position than the median joint is.
SUSPECT_EXTENT, DETACHED_DISTANCE = 4.0, 10.0
MAX_FRAME = 10_000_000  # about 3.9 days at 30 frames/s: a larger frame number is a typo or corruption, not a video
SPARSE_FRAMES_LIMIT = 100  # frame numbers may skip (every n-th frame kept), but not by more than this on average
_FRAME_NUMBER = re.compile(r"(\d+)(?:_keypoints)?\.json$")


class OpenPoseFormatError(ValueError):
    """A file that is not readable OpenPose output. The message names the file, and the key or line."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = str(path)
        self.reason = message
        super().__init__(f"{path}: {message}")


@dataclass
class OpenPoseFrame:
    """The people of one frame.

    Attributes:
        people: ``(P, V, C)`` float32, ``C = 3`` ``(x, y, confidence)`` (``C = 4`` ``(x, y, z, confidence)``
            when read with ``keypoints_3d=True``); missing joints have confidence 0 and NaN coordinates.
        person_ids: ``(P,)`` int64 OpenPose ``person_id`` (-1 when OpenPose did not track).
        layout: registry name of the layout of ``V``.
        version: the file's ``version`` field, if any.
    """

    people: np.ndarray
    person_ids: np.ndarray
    layout: str
    version: float | None = None


@dataclass
class ReadProblem:
    """A file that could not be used, and why (collected instead of raised when reading a dataset)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


# --- parsing ----------------------------------------------------------------------------------


def load_json_bytes(raw: bytes, path: str | os.PathLike[str]) -> object:
    """Parse JSON bytes, turning any failure into :class:`OpenPoseFormatError` with line and column."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:  # orjson refuses NaN/Infinity literals; the stdlib accepts them so we can name the key
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
        what = "empty file" if not raw.strip() else "not valid JSON (truncated or corrupted?)"
        raise OpenPoseFormatError(path, f"{what}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if b"true" in raw or b"false" in raw:  # JSON booleans would pass for 1 and 0 in a keypoint array
        _refuse_booleans(doc, path)
    return doc


def _refuse_booleans(doc: object, path: str | os.PathLike[str]) -> None:
    people = doc.get("people") if isinstance(doc, dict) else None
    for p, person in enumerate(people if isinstance(people, list) else []):
        for key, values in person.items() if isinstance(person, dict) else ():
            if key.endswith(("_2d", "_3d")) and isinstance(values, list):
                for i, value in enumerate(values):
                    if isinstance(value, bool):
                        raise OpenPoseFormatError(path, f"people[{p}].{key}[{i}] is {str(value).lower()}, not a number")


_FIRST_READ = 1 << 16


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file (``Path.read_bytes`` with less overhead: this runs once per frame)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        # 64 KiB holds any OpenPose frame of a few people. A buffer of 128 KiB or more can be given by mmap and
        # taken back at every call, which costs 4 times the read.
        data = os.read(fd, _FIRST_READ)
        if len(data) < _FIRST_READ:
            return data
        chunks = [data]
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _person_list(doc: object, path: str | os.PathLike[str]) -> list[dict]:
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise OpenPoseFormatError(path, "no 'people' list at the top level: not OpenPose --write_json output")
    people = doc["people"]
    for p, person in enumerate(people):
        if not isinstance(person, dict):
            raise OpenPoseFormatError(path, f"people[{p}] is not an object")
    return people


def _part_values(person: dict, part: str, keys: tuple[str, ...], path: str | os.PathLike[str], p: int) -> list:
    for key in keys:
        if key in person:
            values = person[key]
            if not isinstance(values, list):
                raise OpenPoseFormatError(path, f"people[{p}].{key} is not a list")
            return values
    return []


def _body_kind(n_values: int, stride: int, key: str, path: str | os.PathLike[str], p: int) -> str | None:
    if n_values == 0:
        return None
    if n_values % stride:
        raise OpenPoseFormatError(
            path, f"people[{p}].{key} has {n_values} values, not a multiple of {stride} (x, y, confidence)"
        )
    n = n_values // stride
    if n not in BODY_KINDS:
        raise OpenPoseFormatError(
            path, f"people[{p}].{key} has {n} points; graphemo reads BODY_25 (25) and COCO-18 (18)"
        )
    return BODY_KINDS[n]


def describe_frame(doc: object, path: str | os.PathLike[str], *, keypoints_3d: bool = False) -> tuple[str | None, set]:
    """Body kind and the non-empty optional parts of one parsed file.

    Returns:
        ``(body, parts)``: ``"body25"``, ``"coco18"`` or ``None`` (nobody / no body array), and the subset of
        ``{"face", "hand_left", "hand_right"}`` that has values for some person.
    """
    keys = _KEYS_3D if keypoints_3d else _KEYS_2D
    stride = 4 if keypoints_3d else 3
    body = None
    parts: set[str] = set()
    for p, person in enumerate(_person_list(doc, path)):
        values = _part_values(person, "body", keys["body"], path, p)
        kind = _body_kind(len(values), stride, keys["body"][0], path, p)
        if kind and body and kind != body:
            raise OpenPoseFormatError(path, f"people[{p}] has a {kind} body but an earlier person has {body}")
        body = body or kind
        parts.update(part for part in PART_SIZES if _part_values(person, part, keys[part], path, p))
    return body, parts


def frame_from_doc(
    doc: object, path: str | os.PathLike[str], layout: Layout, *, keypoints_3d: bool = False
) -> OpenPoseFrame:
    """Convert one parsed OpenPose document to arrays in ``layout``.

    Parts of ``layout`` that the file leaves empty come back as missing joints; a body array of the
    wrong model (COCO-18 where BODY_25 is expected), an odd-length array or a NaN/inf value raises
    :class:`OpenPoseFormatError` naming the person and the key.
    """
    people, _, ids = detections_from_docs([doc], [path], [0], layout, keypoints_3d=keypoints_3d)
    version = doc.get("version") if isinstance(doc, dict) else None
    return OpenPoseFrame(people, ids, layout.name, float(version) if isinstance(version, int | float) else None)


def detections_from_docs(
    docs: list[object | None],
    paths: list[str | os.PathLike[str]],
    frames: list[int],
    layout: Layout,
    *,
    keypoints_3d: bool = False,
    problems: list[ReadProblem] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every person of many parsed documents (the frames of a video) as one stacked array.

    A document that cannot be used (see :func:`frame_from_doc`) raises :class:`OpenPoseFormatError`, or,
    when ``problems`` is given, is listed there and contributes nobody. ``None`` documents are skipped.

    Args:
        docs: parsed OpenPose documents, one per frame.
        paths: their files (for messages).
        frames: their frame numbers.
        layout: the layout to read into.
        keypoints_3d: read the ``*_3d`` arrays (4 values per joint).
        problems: collects unusable documents instead of raising.

    Returns:
        ``(people (N, V, C) float32, frame (N,) int64, person_id (N,) int64)`` in document order; missing
        joints have confidence 0 and NaN coordinates.
    """
    builder = _DetectionBuilder(layout, keypoints_3d)
    for doc, path, frame in zip(docs, paths, frames, strict=True):
        if doc is None:
            continue
        try:
            builder.add(doc, path, frame)
        except OpenPoseFormatError as exc:
            if problems is None:
                raise
            problems.append(ReadProblem(str(path), exc.reason))
    return builder.arrays(problems)


_NO_ID = object()  # "person_id" absent


class _DetectionBuilder:
    """Collects the people of parsed documents, one document at a time, into one flat buffer of values.

    A document is converted right after it is parsed, while its objects are still in the cache, and then
    dropped; :meth:`arrays` gives the stacked result of :func:`detections_from_docs`.
    """

    def __init__(self, layout: Layout, keypoints_3d: bool = False) -> None:
        self.layout = layout
        self.keys = _KEYS_3D if keypoints_3d else _KEYS_2D
        self.stride = 4 if keypoints_3d else 3
        self.spans = [(part, self.keys[part], (stop - start) * self.stride)
                      for part, (start, stop) in sorted(layout.parts.items(), key=lambda kv: kv[1][0])]  # fmt: skip
        if sum(n for *_, n in self.spans) != layout.num_joints * self.stride:
            raise ValueError(f"layout {layout.name}: its parts do not cover its {layout.num_joints} joints")
        self.empty = {n: [0.0] * n for *_, n in self.spans}
        # (first key, values expected) of each part: what every OpenPose file has, checked without a call
        self.fast_spans = [(part_keys[0], n) for _, part_keys, n in self.spans]
        self.values = array("d")
        self.frame_of: list[int] = []
        self.ids: list[int] = []
        self.starts: list[int] = []  # per document added: the index of its first detection
        self.path_of: dict[int, str | os.PathLike[str]] = {}  # frame -> file, for messages

    def add(self, doc: object, path: str | os.PathLike[str], frame: int) -> None:
        """Append the people of one parsed document of frame ``frame``; on :class:`OpenPoseFormatError` (see
        :func:`frame_from_doc`) nothing is appended."""
        self.path_of[frame] = path
        people = doc.get("people") if type(doc) is dict else None
        fast = self._fast_parts(people) if type(people) is list else None
        if fast is None:  # anything unusual: the full checks, in their order, which raise naming the person and key
            row, doc_ids = self._checked_row(doc, path)
            parts = [row]
        else:
            parts, doc_ids = fast
        size = len(self.values)
        try:
            for values in parts:
                self.values.fromlist(values)
        except (TypeError, OverflowError):  # an item that is not a number
            del self.values[size:]
            raise _non_number_error(_person_list(doc, path), self.spans, path) from None
        self.starts.append(len(self.ids))
        self.frame_of += [frame] * len(doc_ids)
        self.ids += doc_ids

    def _fast_parts(self, people: list) -> tuple[list[list], list[int]] | None:
        """The value lists (person by person, part by part) and ids of ``people`` when every person is an object
        with ``person_id: [int]`` (or none) and a list of the expected length (or an empty list) under each
        part's first key; else ``None``."""
        parts: list[list] = []
        ids: list[int] = []
        for person in people:
            if type(person) is not dict:
                return None
            pid = person.get("person_id", _NO_ID)
            if type(pid) is list and len(pid) == 1 and type(pid[0]) is int:
                ids.append(pid[0])
            elif pid is _NO_ID:
                ids.append(-1)
            else:
                return None
            shown = False
            for key, expect in self.fast_spans:
                values = person.get(key)
                if type(values) is not list:
                    return None
                if len(values) == expect:
                    parts.append(values)
                    shown = True
                elif values:
                    return None
                else:
                    parts.append(self.empty[expect])
            if not shown:
                return None
        return parts, ids

    def _checked_row(self, doc: object, path: str | os.PathLike[str]) -> tuple[list, list[int]]:
        row: list = []
        found = _person_list(doc, path)
        doc_ids = [_person_id(person.get("person_id", -1), path, p) for p, person in enumerate(found)]
        for p, person in enumerate(found):
            shown = False
            for part, part_keys, expect in self.spans:
                part_values = _part_values(person, part, part_keys, path, p)
                if not part_values:
                    row += self.empty[expect]
                elif len(part_values) == expect:
                    row += part_values
                    shown = True
                else:
                    raise _length_error(part, part_keys[0], len(part_values), expect, self.stride, self.layout, path, p)
            if not shown:
                raise OpenPoseFormatError(path, f"people[{p}] has no keypoints (every array the layout reads is empty)")
        return row, doc_ids

    def arrays(self, problems: list[ReadProblem] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(people (N, V, C) float32, frame (N,) int64, person_id (N,) int64)`` of the documents added.

        A document with a NaN or inf value raises :class:`OpenPoseFormatError`, or, when ``problems`` is given,
        is listed there and its people are left out. A joint whose values OpenPose cannot have written (see
        :meth:`_drop_impossible_joints`) raises the same way, or is listed (file, person, joint, value) and read as
        not detected; the rest of its frame is kept.
        """
        layout = self.layout
        with np.errstate(over="ignore"):
            people = np.frombuffer(self.values, dtype=np.float64).astype(np.float32).reshape(-1, layout.num_joints,
                                                                                              self.stride)  # fmt: skip
        frame_index = np.asarray(self.frame_of, dtype=np.int64)
        person_ids = np.asarray(self.ids, dtype=np.int64)
        finite = np.isfinite(people).all(axis=(1, 2))
        if not finite.all():
            bad_frames = []
            for r in np.flatnonzero(~finite):
                j = int(np.argwhere(~np.isfinite(people[r]))[0][0])
                error = self._joint_error(r, j, frame_index, "holds NaN or inf")
                if problems is None:
                    raise error
                if int(frame_index[r]) not in bad_frames:
                    bad_frames.append(int(frame_index[r]))
                    problems.append(ReadProblem(error.path, error.reason))
            keep = ~np.isin(frame_index, bad_frames)
            people, frame_index, person_ids = people[keep], frame_index[keep], person_ids[keep]
            self.starts = _starts_after_dropping(self.starts, keep)
        self._drop_impossible_joints(people, frame_index, problems)
        missing = people[..., -1] <= 0
        people[..., -1][missing] = 0.0
        people[..., :-1][missing] = np.nan
        return people, frame_index, person_ids

    def _drop_impossible_joints(
        self, people: np.ndarray, frame_index: np.ndarray, problems: list[ReadProblem] | None
    ) -> None:
        """Read joints with a confidence outside [0, ``MAX_CONFIDENCE``], a coordinate beyond ``MAX_COORDINATE`` or
        far from the rest of their body (:func:`detached_joints`) as not detected, each listed in ``problems`` (or
        raised when there is no list); ``people`` ``(N, V, C)`` is changed."""
        confidence = people[..., -1]
        wild_confidence = (confidence < 0) | (confidence > MAX_CONFIDENCE)
        far = (np.abs(people[..., :-1]) > MAX_COORDINATE).any(axis=-1) & (confidence > 0)
        detached = detached_joints(people, ~(wild_confidence | far) & (confidence > 0))
        bad = wild_confidence | far | detached
        if not bad.any():
            return
        for r, j in np.argwhere(bad):
            coordinates = ", ".join(f"{v:g}" for v in people[r, j, :-1])
            if wild_confidence[r, j]:
                what = f"has confidence {confidence[r, j]:g}, outside [0, {MAX_CONFIDENCE:g}]"
            elif far[r, j]:
                what = f"is at ({coordinates}), beyond any image (|coordinate| <= {MAX_COORDINATE:g})"
            else:
                what = f"is at ({coordinates}), detached from the rest of its body"
            error = self._joint_error(int(r), int(j), frame_index, what + "; read as not detected")
            if problems is None:
                raise error
            problems.append(ReadProblem(error.path, error.reason))
        people[..., -1][bad] = 0.0

    def _joint_error(self, row: int, joint: int, frame_index: np.ndarray, what: str) -> OpenPoseFormatError:
        """The error naming the file, person, key and joint of detection ``row``'s joint ``joint``."""
        layout = self.layout
        part = next(name for name, (a, b) in layout.parts.items() if a <= joint < b)
        starts = np.asarray(self.starts, dtype=np.int64)
        person = row - starts[np.searchsorted(starts, row, side="right") - 1]  # index in its document
        name = layout.joints[joint]
        return OpenPoseFormatError(
            self.path_of[int(frame_index[row])],
            f"people[{person}].{self.keys[part][0]} joint {joint - layout.parts[part][0]} ({name}) {what}",
        )


def detached_joints(people: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Joints far from the rest of their person: ``(N, V)`` bool, from ``people`` ``(N, V, C)`` and the joints to
    consider, ``shown`` ``(N, V)``.

    Only a person whose bounding box is over ``SUSPECT_EXTENT`` times the median of those read with it is looked
    at (so the usual case costs one pass); in it, a joint is detached when its distance to the person's median
    joint position is over ``DETACHED_DISTANCE`` times the median such distance (a body's farthest joints are
    about 3 times it).
    """
    xy = people[..., :2]
    mask = shown[..., None]
    extent = np.where(mask, xy, -np.inf).max(axis=1) - np.where(mask, xy, np.inf).min(axis=1)
    diagonal = np.hypot(extent[:, 0], extent[:, 1])
    out = np.zeros(shown.shape, dtype=bool)
    measured = np.isfinite(diagonal) & (shown.sum(axis=1) >= 3)
    if not measured.any():
        return out
    typical = float(np.median(diagonal[measured]))
    for r in np.flatnonzero(measured & (diagonal > SUSPECT_EXTENT * typical)):
        joints = np.flatnonzero(shown[r])
        distance = np.hypot(*(xy[r, joints] - np.median(xy[r, joints], axis=0)).T)
        spread = float(np.median(distance))
        if spread > 0:
            out[r, joints[distance > DETACHED_DISTANCE * spread]] = True
    return out


def _starts_after_dropping(starts: list[int], keep: np.ndarray) -> list[int]:
    """Per document, the index of its first detection once the detections where ``keep`` is False are gone."""
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return kept_before[np.asarray(starts, dtype=np.int64)].tolist()


def _length_error(
    part: str, key: str, n: int, expect: int, stride: int, layout: Layout, path: str | os.PathLike[str], p: int
) -> OpenPoseFormatError:
    if part == "body":
        kind = _body_kind(n, stride, key, path, p)  # raises for odd lengths and unknown models
        return OpenPoseFormatError(path, f"people[{p}].{key} is {kind} but the layout is {layout.name}")
    return OpenPoseFormatError(path, f"people[{p}].{key} has {n} values, expected {expect} or 0")


def _non_number_error(people: list[dict], spans: list, path: str | os.PathLike[str]) -> OpenPoseFormatError:
    """The error for the first person and key whose array holds something other than numbers."""
    for p, person in enumerate(people):
        for part, part_keys, _ in spans:
            try:
                array("d", _part_values(person, part, part_keys, path, p))
            except (TypeError, OverflowError):
                return OpenPoseFormatError(path, f"people[{p}].{part_keys[0]} holds non-numbers")
    return OpenPoseFormatError(path, "a keypoint array holds non-numbers")


def _person_id(value: object, path: str | os.PathLike[str], p: int) -> int:
    if isinstance(value, list):
        value = value[0] if value else -1
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OpenPoseFormatError(path, f"people[{p}].person_id is {value!r}, not a number")
    return int(value)


def check_body25_order(people: Iterable[np.ndarray], source: str | os.PathLike[str]) -> None:
    """Refuse 25-point bodies that are not in BODY_25 order.

    In BODY_25, joint 1 (neck) lies midway between joints 2 and 5 (the shoulders): OpenPose places the neck
    at the shoulders' midpoint. 25-point formats with another order (BODY_25B: 1 and 2 are the eyes, 5 is a
    shoulder) put joint 1 far from that midpoint. Raises :class:`OpenPoseFormatError` when most people who
    show joints 1, 2 and 5 have joint 1 farther than a quarter of the 2-5 distance from their midpoint.

    Args:
        people: arrays ``(P, V, 3)`` of 25-point bodies (several frames may be given).
        source: file or folder named in the error.
    """
    fits = misfits = 0
    for arr in people:
        body = arr[:, :25]
        seen = (body[:, [1, 2, 5], -1] > 0).all(axis=1)
        neck, right, left = body[seen, 1, :2], body[seen, 2, :2], body[seen, 5, :2]
        width = np.linalg.norm(right - left, axis=-1)
        off = np.linalg.norm(neck - (right + left) / 2, axis=-1)
        ok = off < BODY25_NECK_TOLERANCE * np.maximum(width, 1e-6)
        fits += int(ok.sum())
        misfits += int((~ok).sum())
    if misfits > fits:
        raise OpenPoseFormatError(
            source,
            f"25 points per person, but joint 1 is not between joints 2 and 5 in {misfits} of {fits + misfits} "
            "people: this is not BODY_25 (where 1 is the neck between the shoulders 2 and 5; BODY_25B, for one, "
            "has the eyes at 1 and 2). Pass layout='body25' (graphemo prepare --layout body25) to read it as "
            "BODY_25 anyway.",
        )


def resolve_layout(body: str | None, parts: set, layout: str = "auto") -> Layout:
    """The layout to read with: ``layout`` itself, or for ``"auto"`` the body found plus the parts found."""
    if layout != "auto":
        return get_layout(layout)
    if body is None:
        raise ValueError("cannot tell the layout: no person with a body array; pass layout= explicitly")
    return get_layout(layout_name(body, face="face" in parts, hands=bool(parts & {"hand_left", "hand_right"})))


def read_openpose_json(
    path: str | os.PathLike[str], layout: str = "auto", *, keypoints_3d: bool = False
) -> OpenPoseFrame:
    """Read one OpenPose JSON file.

    Args:
        path: the file.
        layout: ``"auto"`` (body model from the array length, plus the face/hands found in the file) or a
            registry name such as ``"body25"`` or ``"wholebody"``.
        keypoints_3d: read the ``*_keypoints_3d`` arrays (x, y, z, confidence) instead of the 2D ones.

    Returns:
        An :class:`OpenPoseFrame` with ``people`` of shape ``(P, V, 3)`` (``(P, V, 4)`` for 3D); ``P = 0`` for
        ``{"people": []}``.

    Raises:
        OpenPoseFormatError: unreadable, truncated or malformed file, naming the key or line.
    """
    raw = Path(path).read_bytes()
    doc = load_json_bytes(raw, path)
    body, parts = describe_frame(doc, path, keypoints_3d=keypoints_3d)
    if layout == "auto" and body is None:
        return OpenPoseFrame(np.zeros((0, 25, 4 if keypoints_3d else 3), np.float32), np.zeros(0, np.int64),
                             "body25")  # fmt: skip
    spec = resolve_layout(body, parts, layout)
    frame = frame_from_doc(doc, path, spec, keypoints_3d=keypoints_3d)
    if layout == "auto" and body == "body25" and not keypoints_3d:
        check_body25_order([frame.people], path)
    return frame


# --- video folders --------------------------------------------------------------------------------


def frame_number(path: str | os.PathLike[str]) -> int:
    """Frame index from an OpenPose file name (``video_000000000123_keypoints.json`` -> 123).

    Raises:
        ValueError: the name ends in no number.
    """
    match = _FRAME_NUMBER.search(Path(path).name)
    if not match:
        raise ValueError(f"{path}: no frame number in the file name (expected <name>_<number>_keypoints.json)")
    return _checked_frame(int(match.group(1)), path)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept by Python as surrogates
        return False
    return True


def _checked_frame(number: int, path: str | os.PathLike[str]) -> int:
    if number > MAX_FRAME:
        raise ValueError(f"{path}: frame number {number:,} is beyond {MAX_FRAME:,} (days of video): not a frame")
    return number


def list_frame_files(folder: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """The ``.json`` files of a video folder as ``(frame_number, path)``, sorted by frame number.

    Raises:
        ValueError: a file name without a frame number, or two files with the same number.
    """
    return [(n, Path(path)) for n, path in frame_files(folder)]


def frame_files(folder: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """:func:`list_frame_files` with plain string paths (cheaper for folders of many thousand files)."""
    found: dict[int, str] = {}
    with os.scandir(folder) as it:
        for entry in it:
            name = entry.name
            if name.endswith(".json") and not name.startswith(".") and entry.is_file():
                # frame_number(name) without its regular expression (at a third of the cost) when the number is
                # in ASCII digits: the digits before "_keypoints.json" or ".json", not preceded by a digit
                base = name[:-15] if name.endswith("_keypoints.json") else name[:-5]
                head = base.rstrip("0123456789")
                n = int(base[len(head) :]) if head != base and not head[-1:].isdecimal() else frame_number(name)
                if n in found:
                    raise ValueError(f"{folder}: frame {n} appears twice ({Path(found[n]).name}, {name})")
                if not name.isascii() and not _is_utf8(name):
                    shown = os.fsdecode(folder).encode("utf-8", "backslashreplace").decode()
                    raise ValueError(f"{shown}: the file name {os.fsencode(name)!r} is not UTF-8; rename it")
                found[n] = entry.path
    if found:
        last = max(found)
        _checked_frame(last, found[last])
        if last + 1 > SPARSE_FRAMES_LIMIT * len(found) + 10_000:
            raise ValueError(f"{folder}: frame numbers run to {last:,} but there are {len(found):,} files; numbering "
                             "that sparse is not one video's frames")  # fmt: skip
    return sorted(found.items())


def read_openpose_video(
    folder: str | os.PathLike[str],
    *,
    layout: str = "auto",
    max_people: int = 1,
    fps: float | None = None,
    video_id: str | None = None,
    problems: list[ReadProblem] | None = None,
    check_body25: bool | None = None,
) -> KeypointSequence:
    """Read a folder of per-frame OpenPose files into one tracked :class:`KeypointSequence`.

    Frame ``t`` of the result is the file numbered ``t``; numbers missing from the folder become frames with
    nobody. People are tracked across frames (``person_id`` when OpenPose tracked, else by position) and the
    ``max_people`` most visible tracks kept, the main person in slot 0.

    Args:
        folder: directory of ``<name>_<frame>_keypoints.json`` files.
        layout: ``"auto"`` (the body model from the arrays; face/hands if any frame has them) or a name.
        max_people: person slots ``M`` to keep.
        fps: frame rate to record (OpenPose does not store it).
        video_id: defaults to the folder name.
        problems: if given, unreadable files are appended here (and read as frames with nobody) instead of
            raising.
        check_body25: refuse 25-point bodies that are not in BODY_25 order (see :func:`check_body25_order`);
            default: only when ``layout="auto"``.

    Returns:
        ``KeypointSequence`` with ``keypoints`` ``(T, M, V, 3)``.

    Raises:
        OpenPoseFormatError / ValueError: bad file (when ``problems`` is None) or an empty folder.
    """
    folder = Path(folder)
    files = frame_files(folder)
    if not files:
        raise ValueError(f"{folder}: no OpenPose .json files")
    numbers, paths = [n for n, _ in files], [p for _, p in files]
    check_order = layout == "auto" if check_body25 is None else check_body25
    with _gc_paused():
        detections, spec = _read_detections(folder, numbers, paths, layout, problems)
    return _sequence(*detections, numbers[-1] + 1, spec, max_people, fps, video_id or folder.name, check_order, folder)


def read_openpose_docs(
    docs: Sequence[object], layout: str, *, max_people: int = 1, video_id: str = "video", source: str = "<input>"
) -> KeypointSequence:
    """:func:`read_openpose_video` of parsed OpenPose documents in memory (``docs[t]`` is frame ``t``), e.g. what a
    served model receives.

    Raises:
        OpenPoseFormatError: a document that is not OpenPose output (named ``<source>[t]``).
    """
    spec = get_layout(layout)
    paths = [f"{source}[{t}]" for t in range(len(docs))]
    people, frame_index, ids = detections_from_docs(list(docs), paths, list(range(len(docs))), spec)
    return _sequence(people, frame_index, ids, len(docs), spec, max_people, None, video_id, False, source)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsed JSON is many small acyclic objects, which it would scan
    over and over (about a tenth of the reading time) without freeing any."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_detections(
    folder: Path, numbers: list[int], paths: list[str], layout: str, problems: list[ReadProblem] | None
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], Layout]:
    """Every detection of a video's files (see :func:`detections_from_docs`) and the layout read into."""
    if layout == "auto":  # the layout depends on every frame: parse them all first
        bodies: set[str] = set()
        parts: set[str] = set()
        docs = _load_docs(paths, problems, describe=(bodies, parts))
        if len(bodies) > 1:
            raise OpenPoseFormatError(folder, f"frames mix body models {sorted(bodies)}; pass layout= explicitly")
        spec = resolve_layout(next(iter(bodies), "body25"), parts, layout)
        detections = detections_from_docs(docs, paths, numbers, spec, problems=problems)
    else:
        spec = get_layout(layout)
        chunks = [_read_chunk(paths[i : i + _CHUNK], numbers[i : i + _CHUNK], spec, problems)
                  for i in range(0, len(paths), _CHUNK)]  # fmt: skip
        detections = tuple(np.concatenate(arrays) for arrays in zip(*chunks, strict=True))
    return detections, spec


_CHUNK = 256  # frames whose problems are listed together: read errors first, then conversion errors


def _read_chunk(
    paths: list[str], numbers: list[int], layout: Layout, problems: list[ReadProblem] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`detections_from_docs` of ``_load_docs(paths, problems)``, each file converted as soon as it is
    parsed (so its objects are freed while still in the cache) and problems listed in the same order."""
    builder = _DetectionBuilder(layout)
    failed: list[OpenPoseFormatError] = []  # conversion errors come after every read error of the chunk
    for path, number in zip(paths, numbers, strict=True):
        try:
            doc = load_json_bytes(read_file_bytes(path), path)
        except OpenPoseFormatError as exc:
            if problems is None:
                raise
            problems.append(ReadProblem(str(path), exc.reason))
            continue
        try:
            builder.add(doc, path, number)
        except OpenPoseFormatError as exc:
            failed.append(exc)
    if failed and problems is None:
        raise failed[0]
    if problems is not None:
        problems += [ReadProblem(str(exc.path), exc.reason) for exc in failed]
    return builder.arrays(problems)


def _load_docs(
    paths: list[str], problems: list[ReadProblem] | None, describe: tuple[set, set] | None = None
) -> list[object | None]:
    """Parse files (``None`` for one that fails, listed in ``problems``); with ``describe``, also collect the
    body models and parts found (see :func:`describe_frame`) into its two sets."""
    docs: list[object | None] = []
    for path in paths:
        try:
            doc = load_json_bytes(read_file_bytes(path), path)
            if describe is not None:
                body, found = describe_frame(doc, path)
                describe[0].update([body] if body else [])
                describe[1].update(found)
        except OpenPoseFormatError as exc:
            if problems is None:
                raise
            problems.append(ReadProblem(str(path), exc.reason))
            doc = None
        docs.append(doc)
    return docs


def _sequence(
    people: np.ndarray,
    frame_index: np.ndarray,
    ids: np.ndarray,
    num_frames: int,
    layout: Layout,
    max_people: int,
    fps: float | None,
    video_id: str,
    check_order: bool,
    source: str | os.PathLike[str],
) -> KeypointSequence:
    if check_order and layout.parts["body"][1] == 25 and len(people):
        check_body25_order([people], source)
    keypoints = track_detections(people, frame_index, ids, num_frames, layout, max_people=max_people)
    return KeypointSequence(keypoints=keypoints, layout=layout.name, video_id=video_id, fps=fps)


# --- writing --------------------------------------------------------------------------------------


def openpose_document(people: np.ndarray, layout: Layout, person_ids: Iterable[int] | None = None) -> dict:
    """The OpenPose JSON document (version 1.3) for ``people`` ``(P, V, 3)`` in ``layout``.

    Missing joints (confidence 0 or NaN coordinates) are written as ``0, 0, 0``, as OpenPose does; parts
    the layout lacks are written as empty arrays.
    """
    people = np.asarray(people, dtype=np.float64)
    ids = list(person_ids) if person_ids is not None else [-1] * len(people)
    out = []
    for p, person in enumerate(people):
        person = person.copy()
        missing = (person[:, 2] <= 0) | ~np.isfinite(person).all(axis=1)
        person[missing] = 0.0
        person[:, :2] = np.round(person[:, :2], 3)
        person[:, 2] = np.round(person[:, 2], 6)
        entry: dict[str, object] = {"person_id": [int(ids[p])]}
        for part, (key, _) in _KEYS_2D.items():
            entry[key] = person[layout.part_slice(part)].ravel().tolist() if part in layout.parts else []
        for part in _KEYS_2D:
            entry[_KEYS_3D[part][0]] = []
        out.append(entry)
    return {"version": 1.3, "people": out}


def write_openpose_json(
    path: str | os.PathLike[str], people: np.ndarray, layout: Layout, person_ids: Iterable[int] | None = None
) -> None:
    """Write one frame as OpenPose JSON, atomically (a reader never sees a half-written file under ``path``).

    Args:
        path: destination, conventionally ``<video>_<frame:012d>_keypoints.json``.
        people: ``(P, V, 3)`` keypoints in ``layout``; ``P = 0`` writes ``{"version":1.3,"people":[]}``.
        layout: the layout of ``V``.
        person_ids: optional OpenPose ids, default -1.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(orjson.dumps(openpose_document(people, layout, person_ids)))
    os.replace(tmp, path)


def frame_file_name(video: str, frame: int) -> str:
    """OpenPose's file name for ``frame`` of ``video``: ``<video>_<frame:012d>_keypoints.json``."""
    return f"{video}_{frame:012d}_keypoints.json"
