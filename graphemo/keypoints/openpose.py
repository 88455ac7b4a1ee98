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

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from graphemo.keypoints.sequence import KeypointSequence
from graphemo.keypoints.tracking import track_people
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
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:  # orjson refuses NaN/Infinity literals; the stdlib accepts them so we can name the key
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
        what = "empty file" if not raw.strip() else "not valid JSON (truncated or corrupted?)"
        raise OpenPoseFormatError(path, f"{what}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


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
    keys = _KEYS_3D if keypoints_3d else _KEYS_2D
    stride = 4 if keypoints_3d else 3
    people_docs = _person_list(doc, path)
    v = layout.num_joints
    people = np.empty((len(people_docs), v, stride), dtype=np.float32)
    ids = np.full(len(people_docs), -1, dtype=np.int64)
    order = sorted(layout.parts.items(), key=lambda kv: kv[1][0])
    for p, person in enumerate(people_docs):
        ids[p] = _person_id(person.get("person_id", -1), path, p)
        for part, (start, stop) in order:
            values = _part_values(person, part, keys[part], path, p)
            expect = (stop - start) * stride
            if not values:
                people[p, start:stop] = 0.0
                continue
            if len(values) != expect:
                if part == "body":
                    kind = _body_kind(len(values), stride, keys[part][0], path, p)
                    raise OpenPoseFormatError(
                        path, f"people[{p}].{keys[part][0]} is {kind} but the layout is {layout.name}"
                    )
                raise OpenPoseFormatError(
                    path, f"people[{p}].{keys[part][0]} has {len(values)} values, expected {expect} or 0"
                )
            try:
                people[p, start:stop] = np.asarray(values, dtype=np.float32).reshape(-1, stride)
            except (TypeError, ValueError):
                raise OpenPoseFormatError(path, f"people[{p}].{keys[part][0]} holds non-numbers") from None
    if not np.isfinite(people).all():
        p, j, _ = np.argwhere(~np.isfinite(people))[0]
        part = next(name for name, (a, b) in layout.parts.items() if a <= j < b)
        raise OpenPoseFormatError(
            path, f"people[{p}].{keys[part][0]} holds NaN or inf (joint {j - layout.parts[part][0]})"
        )
    missing = people[..., -1] <= 0
    people[..., -1][missing] = 0.0
    people[..., :-1][missing] = np.nan
    version = doc.get("version") if isinstance(doc, dict) else None
    return OpenPoseFrame(people, ids, layout.name, float(version) if isinstance(version, int | float) else None)


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
            "has the eyes at 1 and 2). Pass layout='body25' to read it as BODY_25 anyway.",
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
    return int(match.group(1))


def list_frame_files(folder: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """The ``.json`` files of a video folder as ``(frame_number, path)``, sorted by frame number.

    Raises:
        ValueError: a file name without a frame number, or two files with the same number.
    """
    found: dict[int, Path] = {}
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.endswith(".json") and entry.is_file():
                n = frame_number(entry.name)
                if n in found:
                    raise ValueError(f"{folder}: frame {n} appears twice ({found[n].name}, {entry.name})")
                found[n] = Path(entry.path)
    return sorted(found.items())


def read_openpose_video(
    folder: str | os.PathLike[str],
    *,
    layout: str = "auto",
    max_people: int = 1,
    fps: float | None = None,
    video_id: str | None = None,
    problems: list[ReadProblem] | None = None,
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

    Returns:
        ``KeypointSequence`` with ``keypoints`` ``(T, M, V, 3)``.

    Raises:
        OpenPoseFormatError / ValueError: bad file (when ``problems`` is None) or an empty folder.
    """
    folder = Path(folder)
    files = list_frame_files(folder)
    if not files:
        raise ValueError(f"{folder}: no OpenPose .json files")
    docs: list[object | None] = []
    bodies: set[str] = set()
    parts: set[str] = set()
    for _, path in files:
        try:
            doc = load_json_bytes(path.read_bytes(), path)
            body, found = describe_frame(doc, path)
        except OpenPoseFormatError as exc:
            if problems is None:
                raise
            problems.append(ReadProblem(str(path), exc.reason))
            doc, body, found = None, None, set()
        docs.append(doc)
        bodies.update([body] if body else [])
        parts |= found
    if layout == "auto" and len(bodies) > 1:
        raise OpenPoseFormatError(folder, f"frames mix body models {sorted(bodies)}; pass layout= explicitly")
    spec = resolve_layout(next(iter(bodies), "body25"), parts, layout)
    return sequence_from_docs(
        [n for n, _ in files],
        [p for _, p in files],
        docs,
        spec,
        max_people=max_people,
        fps=fps,
        video_id=video_id or folder.name,
        check_order=layout == "auto",
        problems=problems,
    )


def sequence_from_docs(
    numbers: list[int],
    paths: list[Path],
    docs: list[object | None],
    layout: Layout,
    *,
    max_people: int,
    fps: float | None,
    video_id: str,
    check_order: bool,
    problems: list[ReadProblem] | None,
) -> KeypointSequence:
    """Assemble parsed documents (``None`` = unreadable frame) into a tracked sequence (see
    :func:`read_openpose_video`)."""
    t_len = max(numbers) + 1
    v = layout.num_joints
    frames = [np.zeros((0, v, 3), np.float32)] * t_len
    ids = [np.zeros(0, np.int64)] * t_len
    for n, path, doc in zip(numbers, paths, docs, strict=True):
        if doc is None:
            continue
        try:
            frame = frame_from_doc(doc, path, layout)
        except OpenPoseFormatError as exc:
            if problems is None:
                raise
            problems.append(ReadProblem(str(path), exc.reason))
            continue
        frames[n], ids[n] = frame.people, frame.person_ids
    if check_order and layout.parts["body"][1] == 25:
        check_body25_order((f for f in frames if len(f)), paths[0].parent)
    keypoints = track_people(frames, ids, layout, max_people=max_people)
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
