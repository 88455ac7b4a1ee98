"""What OpenPose would see: confidences, jitter, missing joints and occluded hands; the bystander."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from graphemo.sources.synth.emotions import SynthConfig
from graphemo.sources.synth.face import AU_NAMES, FACE_NORMALS
from graphemo.sources.synth.kinematics import pose_3d, project
from graphemo.sources.synth.person import Person, draw_person
from graphemo.sources.synth.signals import rotate, smooth_noise, telegraph

# Base detection confidence per joint (OpenPose typical), BODY_25 order then face, left hand, right hand.
_BODY_CONF = np.array([0.85, 0.8, 0.75, 0.7, 0.65, 0.75, 0.7, 0.65, 0.62, 0.6, 0.6, 0.55, 0.6, 0.6, 0.55, 0.88,
                       0.88, 0.7, 0.7, 0.45, 0.45, 0.5, 0.45, 0.45, 0.5])  # fmt: skip
_FACE_CONF = np.full(70, 0.85)
_FACE_CONF[:17] = 0.65
_HAND_CONF = np.array([0.6] + [0.62, 0.6, 0.55, 0.45] * 5)
BASE_CONFIDENCE = np.concatenate([_BODY_CONF, _FACE_CONF, _HAND_CONF, _HAND_CONF])
# Side of each BODY_25 joint (-1 person's right, +1 left, 0 midline), for body self-occlusion.
_BODY_SIDE = np.array([0, 0, -1, -1, -1, 1, 1, 1, 0, -1, -1, -1, 1, 1, 1, -1, 1, -1, 1, 1, 1, 1, -1, -1, -1])
_BODY_MIN_CONF = 0.05
_PART_MIN_CONF = 0.02


# --- detection: confidence, jitter, missing joints ----------------------------------------------------------


def detect(
    rng: np.random.Generator, xy: np.ndarray, points: np.ndarray, r_head: np.ndarray, person: Person,
    image_size: tuple[int, int], fps: float, hand_occlusion_rate: float,
) -> np.ndarray:  # fmt: skip
    """OpenPose-like ``(T, 137, 3)`` detections from true pixel positions ``(T, 137, 2)``: confidence per joint,
    jitter, missing joints (confidence 0, NaN coordinates)."""
    t_len = len(xy)
    width, height = image_size
    s = person.px_per_unit
    conf = np.broadcast_to(BASE_CONFIDENCE * person.quality, (t_len, 137)).copy()
    conf *= np.exp(rng.normal(0.0, 0.15, 137))  # this person's joints in this video
    conf *= np.exp(0.12 * rng.standard_normal((t_len, 137)))

    # Small faces and hands are detected badly.
    face_px, hand_px = 0.43 * s * person.head, 0.5 * s * person.hand
    conf[:, 25:95] *= np.sqrt(np.clip((face_px - 15.0) / 60.0, 0.0, 1.0))
    conf[:, 95:137] *= np.sqrt(np.clip((hand_px - 15.0) / 80.0, 0.0, 1.0))
    # Self-occlusion: face points turned away, ears behind the head, the far side of a turned body.
    normals_z = rotate(r_head, np.broadcast_to(FACE_NORMALS, (t_len, 70, 3)))[..., 2]
    conf[:, 25:95] *= np.clip((normals_z + 0.15) / 0.5, 0.0, 1.0)
    ears_z = rotate(r_head, np.broadcast_to(np.array([[-1.0, 0, 0], [1.0, 0, 0]]), (t_len, 2, 3)))[..., 2]
    conf[:, 17:19] *= np.clip((ears_z + 0.6) / 0.5, 0.0, 1.0)
    body_yaw = np.arctan2(points[:, 5, 2] - points[:, 2, 2], points[:, 5, 0] - points[:, 2, 0])  # left vs right
    far = np.clip(_BODY_SIDE[None] * np.sin(body_yaw)[:, None] * 1.5, 0.0, 1.0)
    conf[:, :25] *= 1.0 - 0.75 * far
    # A hand in front of the face hides the landmarks under it.
    hands_xy, face_xy = xy[:, None, 95:137], xy[:, 25:95, None]
    near = np.linalg.norm(face_xy - hands_xy, axis=-1) < 0.05 * s
    in_front = points[:, None, 95:137, 2] > points[:, 25:95, None, 2]
    conf[:, 25:95] *= np.where((near & in_front).any(axis=2), 0.15, 1.0)
    # Motion blur on the arms and hands.
    speed = np.zeros((t_len, 137))
    speed[1:] = np.linalg.norm(np.diff(points, axis=0), axis=-1) * 30.0 / fps
    blur = 0.5 + 0.5 / (1.0 + (speed / 0.05) ** 2)
    arm_idx = np.r_[3, 4, 6, 7, 95:137]
    conf[:, arm_idx] *= blur[:, arm_idx]
    conf = np.where(conf < 0.8, np.maximum(conf, 0.0), 0.8 + 0.19 * np.tanh((conf - 0.8) / 0.19))  # saturate at .99

    noise_px = s * (0.003 + 0.012 * (1.0 - conf))
    noise_px[:, 25:95] *= 0.5
    noise_px[:, 95:137] *= 1.5
    noisy = xy + rng.standard_normal(xy.shape) * noise_px[..., None]

    inside = (noisy[..., 0] >= 0) & (noisy[..., 0] < width) & (noisy[..., 1] >= 0) & (noisy[..., 1] < height)
    detected = inside.copy()
    detected[:, :25] &= conf[:, :25] >= _BODY_MIN_CONF
    detected[:, 25:] &= conf[:, 25:] >= _PART_MIN_CONF
    # Face: found only around a detected nose and eye; hands: around a detected wrist, unless occluded.
    face_found = detected[:, 0] & (detected[:, 15] | detected[:, 16]) & (conf[:, 25:95].mean(axis=1) > 0.15)
    detected[:, 25:95] &= face_found[:, None]
    for wrist, part in ((7, slice(95, 116)), (4, slice(116, 137))):
        occluded = telegraph(rng, t_len, hand_occlusion_rate, 1.0 * fps)
        found = detected[:, wrist] & ~occluded & (conf[:, part].mean(axis=1) > 0.12)
        detected[:, part] &= found[:, None]
    out = np.empty((t_len, 137, 3), dtype=np.float32)
    out[..., :2] = np.where(detected[..., None], noisy, np.nan)
    out[..., 2] = np.where(detected, np.round(conf, 6), 0.0)
    return out


# --- the bystander -------------------------------------------------------------------------------------


def bystander(
    rng: np.random.Generator, num_frames: int, fps: float, main: Person, image_size: tuple[int, int],
    config: SynthConfig,
) -> np.ndarray:  # fmt: skip
    """``(T, 137, 3)`` detections of a smaller, less visible person walking across the frame once."""
    width, height = image_size
    person = draw_person(rng, replace(config, shot_probs=(0.0, 0.0, 1.0), sitting_prob=0.0), image_size)
    direction = int(rng.choice((-1, 1)))
    person.sitting = False
    person.px_per_unit = float(min(main.px_per_unit * rng.uniform(0.3, 0.6), 0.2 * height))
    person.view_yaw = direction * rng.uniform(1.0, 1.5)
    person.quality *= rng.uniform(0.5, 0.8)
    duration = rng.uniform(3.0, 8.0) * fps
    middle = rng.uniform(0.2, 0.8) * num_frames
    progress = (np.arange(num_frames) - middle) / duration  # -0.5 .. 0.5 while crossing
    margin = 0.15 * width
    anchor_x = width / 2 + direction * progress * (width + 2 * margin)
    person.anchor = (width / 2, float(rng.uniform(0.2, 0.55) * height))

    t = np.arange(num_frames) / fps
    phase = 2 * np.pi * rng.uniform(0.8, 1.0) * t + rng.uniform(0, 2 * np.pi)
    zeros = np.zeros(num_frames)
    c = {name: zeros.copy() for name in ("torso_pitch", "torso_roll", "torso_yaw", "head_pitch", "head_yaw",
                                         "head_roll", "shrug", "slump")}  # fmt: skip
    c["head_yaw"] = 0.15 * smooth_noise(rng, (num_frames,), 2 * fps)
    swing = np.column_stack([np.sin(phase), -np.sin(phase)])
    c["arm_abduct"] = np.full((num_frames, 2), 0.1)
    c["arm_flex"] = -0.3 * swing
    c["elbow_flex"] = 0.3 + 0.15 * (1 + swing)
    c["forearm_in"] = np.full((num_frames, 2), 0.1)
    c["pronation"] = np.full((num_frames, 2), 0.2)
    c["wrist_flex"] = np.zeros((num_frames, 2))
    c["hand_curl"] = np.full((num_frames, 2), 0.4)
    c["finger_spread"] = np.full((num_frames, 2), 0.2)
    c["head_shake"] = np.zeros((num_frames, 3))
    c["hand_shake"] = np.zeros((num_frames, 2, 3))
    c["thigh_swing"] = 0.35 * swing
    c["knee_flex"] = 0.1 + 0.5 * np.clip(np.column_stack([np.sin(phase - 0.8), -np.sin(phase - 0.8)]), 0, None)
    c["root"] = np.column_stack([zeros, -0.04 * np.abs(np.sin(phase)), zeros])
    c["aus"] = np.zeros((num_frames, len(AU_NAMES)))
    c["gaze"] = np.zeros((num_frames, 2))
    points, r_head = pose_3d(c, person)
    xy = project(points, person, image_size)
    xy[..., 0] += (anchor_x - width / 2)[:, None]
    detections = detect(rng, xy, points, r_head, person, image_size, fps, 0.3)
    visible = (detections[:, :25, 2] > 0).sum(axis=1) >= 3
    detections[~visible] = (np.nan, np.nan, 0.0)
    return detections
