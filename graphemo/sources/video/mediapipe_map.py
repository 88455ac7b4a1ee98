"""MediaPipe Holistic landmarks -> OpenPose's BODY_25 + FACE_70 + 2 x HAND_21 (the ``wholebody`` layout).

Pure functions on the raw record that :mod:`graphemo.sources.video.mediapipe_worker` sends: no MediaPipe needed.
MediaPipe gives ``x, y`` normalised to ``[0, 1]`` by the image width and height; OpenPose gives pixels. Both
name sides after the person's own left and right (a person facing the camera has the right shoulder on the
image's left), and Holistic's ``left_hand_landmarks`` is the person's left hand (it is cropped around pose
landmark 15, the left wrist), so no side is swapped.

BODY_25 (joint <- MediaPipe pose landmark; ``a+b`` is the midpoint, with the smaller visibility)::

    0 nose <- 0            5 left_shoulder <- 11   10 right_knee <- 26   15 right_eye <- 5     20 left_small_toe  -
    1 neck <- 11+12        6 left_elbow <- 13      11 right_ankle <- 28  16 left_eye <- 2      21 left_heel <- 29
    2 right_shoulder <- 12 7 left_wrist <- 15      12 left_hip <- 23     17 right_ear <- 8     22 right_big_toe <- 32
    3 right_elbow <- 14    8 mid_hip <- 23+24      13 left_knee <- 25    18 left_ear <- 7      23 right_small_toe -
    4 right_wrist <- 16    9 right_hip <- 24       14 left_ankle <- 27   19 left_big_toe <- 31 24 right_heel <- 30

The small toes have no MediaPipe landmark: confidence 0. The big toes are MediaPipe's "foot index" points.
MediaPipe's hips sit a little higher and wider than OpenPose's; the neck is the shoulders' midpoint (as
OpenPose places it) and mid-hip the hips' midpoint.

HAND_21: MediaPipe's 21 hand landmarks are in OpenPose's order (wrist, then thumb, index, middle, ring and
pinky from the base to the tip): identity.

FACE_70: the 68 iBUG points and two pupils, each taken from one point of the 478-point face mesh
(:data:`FACE70_FROM_MESH`; iBUG's "right" is the person's right, the image's left on a frontal face)::

    jaw 0-16          127 234 93 132 58 136 150 176 152 400 379 365 288 361 323 454 356
    right brow 17-21  70 63 105 66 107            left brow 22-26   336 296 334 293 300
    nose bridge 27-30 168 197 5 4                 nose base 31-35   98 97 2 326 327
    right eye 36-41   33 160 158 133 153 144      left eye 42-47    362 385 387 263 373 380
    outer lip 48-59   61 40 37 0 267 270 291 321 314 17 84 91
    inner lip 60-67   78 81 13 311 308 402 14 178
    pupils 68-69      468 473 (iris centres; the worker runs with refine_face_landmarks)

Every point comes from the matching region of MediaPipe's own face-mesh groups (``FACEMESH_FACE_OVAL``,
``_RIGHT_EYEBROW``, ``_NOSE``, ``_RIGHT_EYE``, ``_LIPS``, ...; tested), the jaw points spread evenly along
the face oval as iBUG's are, the nose tip at 4 (the most protruding bridge point) and the nose base at the
alar bases 98/327; the table was checked on a frontal frame of a real video (right-eye points on the
image's left, chin at 8).

Confidences: body joints take MediaPipe's pose ``visibility`` (in ``[0, 1]``). MediaPipe gives no per-point
score for the face or the hands, so every point of a detected face or hand gets :data:`PART_CONFIDENCE`, and
a part that was not detected is all zeros (missing). Any point that falls outside the image (MediaPipe
extrapolates hidden joints beyond the border; OpenPose never does) gets confidence 0.
"""

from __future__ import annotations

import numpy as np

from graphemo.skeleton import get_layout
from graphemo.sources.video.mediapipe_worker import (
    FACE_POINTS,
    FACE_VALUES,
    HAND_POINTS,
    HAND_VALUES,
    POSE_POINTS,
    POSE_VALUES,
    RECORD_LENGTH,
)

LAYOUT = "wholebody"  # body25 + face70 + left hand21 + right hand21 = 137 joints
PART_CONFIDENCE = 1.0

# BODY_25 joint -> MediaPipe pose landmarks averaged for it (one: that landmark; two: their midpoint; none:
# absent).
BODY25_FROM_POSE: tuple[tuple[int, ...], ...] = (
    (0,), (11, 12), (12,), (14,), (16,), (11,), (13,), (15,), (23, 24), (24,), (26,), (28,), (23,), (25,),
    (27,), (5,), (2,), (8,), (7,), (31,), (), (29,), (32,), (), (30,),
)  # fmt: skip
FACE70_FROM_MESH: tuple[int, ...] = (
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,  # jaw
    70, 63, 105, 66, 107,  # right brow, outer -> inner
    336, 296, 334, 293, 300,  # left brow, inner -> outer
    168, 197, 5, 4,  # nose bridge, top -> tip
    98, 97, 2, 326, 327,  # nose base, right -> left
    33, 160, 158, 133, 153, 144,  # right eye from the outer corner, clockwise in the image
    362, 385, 387, 263, 373, 380,  # left eye from the inner corner
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,  # outer lip from the right corner
    78, 81, 13, 311, 308, 402, 14, 178,  # inner lip from the right corner
    468, 473,  # right and left pupil (iris centres)
)  # fmt: skip

_POSE_END = POSE_POINTS * POSE_VALUES
_FACE_END = _POSE_END + FACE_POINTS * FACE_VALUES
_LEFT_END = _FACE_END + HAND_POINTS * HAND_VALUES


def split_record(record: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut one worker record into its parts.

    Args:
        record: ``(RECORD_LENGTH,)`` float32 as the worker sends it (a part not found is NaN).

    Returns:
        ``pose (33, 4)`` ``(x, y, z, visibility)``, ``face (478, 3)``, ``left_hand (21, 3)``,
        ``right_hand (21, 3)``, all ``(x, y, z)`` normalised by the image size.
    """
    record = np.asarray(record, dtype=np.float32)
    if record.shape != (RECORD_LENGTH,):
        raise ValueError(f"a MediaPipe record has {RECORD_LENGTH} values, got shape {record.shape}")
    return (
        record[:_POSE_END].reshape(POSE_POINTS, POSE_VALUES),
        record[_POSE_END:_FACE_END].reshape(FACE_POINTS, FACE_VALUES),
        record[_FACE_END:_LEFT_END].reshape(HAND_POINTS, HAND_VALUES),
        record[_LEFT_END:].reshape(HAND_POINTS, HAND_VALUES),
    )


def _to_pixels(xy: np.ndarray, conf: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(N, 2)`` normalised points + ``(N,)`` confidences -> ``(N, 3)`` pixels; outside the image or not
    finite -> confidence 0."""
    out = np.zeros((len(xy), 3), dtype=np.float32)
    out[:, 0] = xy[:, 0] * width
    out[:, 1] = xy[:, 1] * height
    out[:, 2] = np.clip(conf, 0.0, 1.0)
    inside = (out[:, 0] >= 0) & (out[:, 0] < width) & (out[:, 1] >= 0) & (out[:, 1] < height)
    valid = inside & np.isfinite(out).all(axis=1) & (out[:, 2] > 0)
    out[~valid] = 0.0
    return out


def body25_from_pose(pose: np.ndarray, width: int, height: int) -> np.ndarray:
    """BODY_25 joints from MediaPipe's 33 pose landmarks (see the module table).

    Args:
        pose: ``(33, 4)`` ``(x, y, z, visibility)`` normalised; NaN when no pose was found.
        width, height: image size in pixels.

    Returns:
        ``(25, 3)`` float32 ``(x, y, confidence)`` in pixels; missing joints are ``0, 0, 0``.
    """
    xy = np.zeros((25, 2), dtype=np.float32)
    conf = np.zeros(25, dtype=np.float32)
    for j, sources in enumerate(BODY25_FROM_POSE):
        if sources:
            xy[j] = pose[list(sources), :2].mean(axis=0)
            conf[j] = pose[list(sources), 3].min()
    return _to_pixels(xy, conf, width, height)


def face70_from_mesh(face: np.ndarray, width: int, height: int) -> np.ndarray:
    """OpenPose's 70 face points from the 478-point face mesh (:data:`FACE70_FROM_MESH`).

    Args:
        face: ``(478, 3)`` normalised ``(x, y, z)``; NaN when no face was found.
        width, height: image size in pixels.

    Returns:
        ``(70, 3)`` float32 pixels with confidence :data:`PART_CONFIDENCE` (0 when not found or outside).
    """
    xy = face[list(FACE70_FROM_MESH), :2]
    return _to_pixels(xy, np.full(len(xy), PART_CONFIDENCE, np.float32), width, height)


def hand21_from_landmarks(hand: np.ndarray, width: int, height: int) -> np.ndarray:
    """OpenPose's 21 hand points from MediaPipe's 21 (same order).

    Args:
        hand: ``(21, 3)`` normalised ``(x, y, z)``; NaN when the hand was not found.
        width, height: image size in pixels.

    Returns:
        ``(21, 3)`` float32 pixels with confidence :data:`PART_CONFIDENCE` (0 when not found or outside).
    """
    return _to_pixels(hand[:, :2], np.full(HAND_POINTS, PART_CONFIDENCE, np.float32), width, height)


def people_from_record(record: np.ndarray, width: int, height: int) -> np.ndarray:
    """One frame's people in the ``wholebody`` layout (BODY_25, FACE_70, left hand, right hand).

    Args:
        record: a worker record ``(RECORD_LENGTH,)``.
        width, height: image size in pixels.

    Returns:
        ``(P, 137, 3)`` float32 pixels and confidences: ``P = 1`` when MediaPipe found any part of a person,
        ``P = 0`` when it found nobody.
    """
    pose, face, left, right = split_record(record)
    layout = get_layout(LAYOUT)
    if np.isnan(pose).all() and np.isnan(face).all() and np.isnan(left).all() and np.isnan(right).all():
        return np.zeros((0, layout.num_joints, 3), dtype=np.float32)
    person = np.zeros((layout.num_joints, 3), dtype=np.float32)
    person[layout.part_slice("body")] = body25_from_pose(pose, width, height)
    person[layout.part_slice("face")] = face70_from_mesh(face, width, height)
    person[layout.part_slice("hand_left")] = hand21_from_landmarks(left, width, height)
    person[layout.part_slice("hand_right")] = hand21_from_landmarks(right, width, height)
    return person[None]
