"""Forward kinematics of the 3-D skeleton (body, face, hands) and its projection to pixels."""

from __future__ import annotations

import numpy as np

from graphemo.sources.synth.face import AU_DISPLACEMENTS
from graphemo.sources.synth.person import Person
from graphemo.sources.synth.signals import rotate, rotation, unit

# Hand, local frame: x from the wrist along the hand, y toward the thumb, z out of the palm.
# Index, middle, ring, pinky: knuckle (MCP) position, base angle toward the thumb, segment lengths.
_KNUCKLES = np.array([[0.24, 0.07, 0.0], [0.25, 0.02, 0.0], [0.235, -0.03, 0.0], [0.21, -0.07, 0.0]])
_FINGER_ANGLES = np.array([0.12, 0.0, -0.1, -0.2])
_FINGER_SEGMENTS = np.array([[0.11, 0.065, 0.05], [0.12, 0.075, 0.055], [0.11, 0.07, 0.05], [0.085, 0.055, 0.045]])
_CURL_ANGLES = np.array([1.4, 1.6, 1.1])  # MCP, PIP, DIP flexion of a full fist
_THUMB_ROOT = np.array([0.05, 0.06, 0.02])
_THUMB_SEGMENTS = np.array([0.09, 0.07, 0.06])


# --- kinematics ----------------------------------------------------------------------------------------


def _hand_points(
    wrist: np.ndarray, along: np.ndarray, palm: np.ndarray, thumb_sign: float, curl: np.ndarray, spread: np.ndarray,
    size: float,
) -> np.ndarray:  # fmt: skip
    """``(T, 21, 3)`` OpenPose hand points from the wrist ``(T, 3)``, the hand's axes (``along`` the hand and
    out of the ``palm``, ``(T, 3)`` unit vectors), the fist ``curl`` and finger ``spread`` ``(T,)`` in [0, 1]."""
    t_len = len(wrist)
    across = thumb_sign * np.cross(palm, along)
    local = np.zeros((t_len, 21, 3))
    angles = _FINGER_ANGLES[None, :] * (0.4 + 1.6 * spread[:, None])  # (T, 4)
    flex = np.cumsum(curl[:, None, None] * _CURL_ANGLES[None, None, :], axis=2)  # (T, 1, 3)
    base = np.stack([np.cos(angles), np.sin(angles)], -1)  # (T, 4, 2)
    dirs = np.zeros((t_len, 4, 3, 3))
    dirs[..., 0] = np.cos(flex) * base[:, :, None, 0]
    dirs[..., 1] = np.cos(flex) * base[:, :, None, 1]
    dirs[..., 2] = np.sin(flex) * np.ones((1, 4, 1))
    joints = _KNUCKLES[None, :, None, :] + np.cumsum(dirs * _FINGER_SEGMENTS[None, :, :, None], axis=2)
    local[:, 5:] = np.concatenate([np.broadcast_to(_KNUCKLES, (t_len, 4, 3))[:, :, None], joints], 2).reshape(
        t_len, 16, 3
    )
    thumb_dir = unit(np.array([0.55, 0.8, 0.25])[None] + curl[:, None] * np.array([0.35, -0.9, 0.7])[None])
    thumb_bend = unit(thumb_dir + curl[:, None] * np.array([0.2, -0.5, 0.6])[None])
    local[:, 1] = _THUMB_ROOT
    local[:, 2] = _THUMB_ROOT + _THUMB_SEGMENTS[0] * thumb_dir
    local[:, 3] = local[:, 2] + _THUMB_SEGMENTS[1] * thumb_bend
    local[:, 4] = local[:, 3] + _THUMB_SEGMENTS[2] * unit(thumb_bend + 0.5 * curl[:, None] * palm * 0)
    local *= size
    return (
        wrist[:, None]
        + local[..., :1] * along[:, None]
        + local[..., 1:2] * across[:, None]
        + local[..., 2:] * palm[:, None]
    )


def pose_3d(c: dict, person: Person) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics: ``(T, 137, 3)`` joint positions (shoulder widths, body frame centred on the mid-hip
    at rest), and ``(T, 3, 3)`` the head's rotation in the camera frame (for occlusion)."""
    t_len = len(c["torso_pitch"])
    out = np.zeros((t_len, 137, 3))
    head_size = person.head

    # Head, in the torso frame: face + nose, eyes, ears, rotated about the top of the neck.
    face = person.face[None] + np.einsum("ta,avk->tvk", c["aus"], AU_DISPLACEMENTS)
    face[:, 68:70] += np.column_stack([0.018 * c["gaze"][:, 0], 0.01 * c["gaze"][:, 1], np.zeros(t_len)])[:, None]
    face *= head_size
    extra = np.zeros((t_len, 5, 3))  # nose, right eye, left eye, right ear, left ear
    extra[:, 0] = face[:, 30] + (0.0, -0.008, 0.0)
    extra[:, 1] = face[:, 36:42].mean(axis=1)
    extra[:, 2] = face[:, 42:48].mean(axis=1)
    extra[:, 3] = np.array([-0.235, 0.02, -0.15]) * head_size
    extra[:, 4] = np.array([0.235, 0.02, -0.15]) * head_size
    head_local = np.concatenate([face, extra], 1) + np.array([0.0, -0.33, 0.08]) * head_size
    r_head = rotation(c["head_pitch"], c["head_yaw"], c["head_roll"])
    slump = c["slump"][:, None]
    neck = np.array([0.0, -person.torso, 0.0])
    # A slump carries the head down and forward with the shoulders (a shrug lifts the shoulders, not the head).
    pivot = neck + np.array([0.0, -0.16, -0.02]) + slump * np.array([0.0, 0.12, 0.22])
    head = pivot[:, None] + rotate(r_head, head_local) + c["head_shake"][:, None]

    shoulder_y = -person.torso + 0.03 - c["shrug"] + 0.05 * c["slump"]
    shoulder_x = 0.5 * (1 - 0.05 * c["slump"])
    shoulders = np.stack([np.column_stack([-shoulder_x, shoulder_y, 0.12 * c["slump"]]),
                          np.column_stack([shoulder_x, shoulder_y, 0.12 * c["slump"]])], 1)  # fmt: skip

    # Arms and hands, in the torso frame; index 0 = right arm (image left).
    elbows, wrists, hands = [], [], []
    for k, (outward, medial) in enumerate(((-1.0, 1.0), (1.0, -1.0))):
        abduct, flex, elbow = c["arm_abduct"][:, k], c["arm_flex"][:, k], c["elbow_flex"][:, k]
        u = np.column_stack([outward * np.sin(abduct), np.cos(abduct) * np.cos(flex), np.cos(abduct) * np.sin(flex)])
        forward = unit(np.array([0.0, -0.3, 1.0]) - (u @ np.array([0.0, -0.3, 1.0]))[:, None] * u)
        inward = np.array([medial, 0.0, 0.0]) - (u @ np.array([medial, 0.0, 0.0]))[:, None] * u
        inward = unit(inward - np.sum(inward * forward, 1, keepdims=True) * forward)
        rho = c["forearm_in"][:, k : k + 1]
        w = np.cos(rho) * forward + np.sin(rho) * inward
        f = np.cos(elbow)[:, None] * u + np.sin(elbow)[:, None] * w
        e = shoulders[:, k] + person.upper_arm * u
        wr = e + person.forearm * f + c["hand_shake"][:, k]
        ref = np.array([medial, -0.3, 0.8])
        palm0 = unit(ref - (f @ ref)[:, None] * f)
        pr = c["pronation"][:, k : k + 1]
        palm = np.cos(pr) * palm0 + np.sin(pr) * medial * np.cross(f, palm0) * -1
        wf = c["wrist_flex"][:, k : k + 1]
        along = unit(np.cos(wf) * f + np.sin(wf) * palm)
        palm = unit(palm - np.sum(palm * along, 1, keepdims=True) * along)
        thumb_sign = 1.0 if k == 0 else -1.0
        hand = _hand_points(wr, along, palm, thumb_sign, c["hand_curl"][:, k], c["finger_spread"][:, k],
                            person.hand)  # fmt: skip
        hand = hand + c["hand_shake"][:, k][:, None]
        elbows.append(e)
        wrists.append(wr)
        hands.append(hand)

    upper = np.zeros((t_len, 137, 3), dtype=bool)
    out[:, 1] = shoulders.mean(axis=1)  # OpenPose's neck is the shoulders' midpoint (its training label is)
    out[:, 2], out[:, 5] = shoulders[:, 0], shoulders[:, 1]
    out[:, 3], out[:, 6] = elbows
    out[:, 4], out[:, 7] = wrists
    out[:, 25:95] = head[:, :70]
    out[:, 0] = head[:, 70]
    out[:, 15:19] = head[:, 71:75]
    out[:, 95:116] = hands[1]  # OpenPose order: left hand first
    out[:, 116:137] = hands[0]
    upper_idx = np.r_[0:8, 15:19, 25:137]
    upper[:, upper_idx] = True
    r_torso = rotation(c["torso_pitch"], c["torso_yaw"], c["torso_roll"])
    out[:, upper_idx] = rotate(r_torso, out[:, upper_idx])

    # Legs, in the hip frame.
    hips = np.array([[-person.hip_half, 0.02, 0.0], [person.hip_half, 0.02, 0.0]])
    thigh_base = 1.35 if person.sitting else 0.0
    for k, (hip_j, knee_j, ankle_j, big, small, heel) in enumerate(((9, 10, 11, 22, 23, 24), (12, 13, 14, 19, 20, 21))):
        out[:, hip_j] = hips[k]
        theta = thigh_base + c["thigh_swing"][:, k]
        splay = (-1 if k == 0 else 1) * 0.04
        thigh = np.column_stack([np.full(t_len, splay), np.cos(theta), np.sin(theta)])
        knee = hips[k] + person.thigh * unit(thigh)
        shin_angle = theta - c["knee_flex"][:, k]
        ankle = knee + person.shin * np.column_stack([np.full(t_len, splay), np.cos(shin_angle), np.sin(shin_angle)])
        sign = -1 if k == 0 else 1
        out[:, knee_j], out[:, ankle_j] = knee, ankle
        out[:, heel] = ankle + np.array([0.0, 0.08, -0.06])
        out[:, big] = ankle + np.array([sign * 0.03, 0.12, 0.24])
        out[:, small] = ankle + np.array([sign * 0.11, 0.12, 0.19])
    out[:, 8] = 0.0

    r_view = rotation(np.full(t_len, person.view_pitch), np.full(t_len, person.view_yaw), np.zeros(t_len))
    out = rotate(r_view, out) + c["root"][:, None]
    return out, r_view @ r_torso @ r_head


def project(points: np.ndarray, person: Person, image_size: tuple[int, int]) -> np.ndarray:
    """Perspective projection of ``(T, V, 3)`` body-frame points to ``(T, V, 2)`` pixels, with the rest neck at
    ``person.anchor``."""
    width, height = image_size
    f = person.px_per_unit * person.distance
    neck = np.array([0.0, -person.torso, 0.0])
    r_view = rotation(np.array(person.view_pitch), np.array(person.view_yaw), np.array(0.0))
    neck = r_view @ neck
    depth0 = person.distance - neck[2]
    shift = np.array([(person.anchor[0] - width / 2) * depth0 / f - neck[0],
                      (person.anchor[1] - height / 2) * depth0 / f - neck[1]])  # fmt: skip
    depth = np.maximum(person.distance - points[..., 2], 0.3)
    xy = (points[..., :2] + shift) * (f / depth)[..., None]
    return xy + np.array([width / 2, height / 2])
