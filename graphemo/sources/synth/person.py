"""The person of a video (body, camera shot, habits) and the per-frame controls of every joint angle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphemo.skeleton.layouts import FACE70
from graphemo.sources.synth.emotions import (
    DISGUST,
    MOTION,
    NEUTRAL_MOTION,
    OTHER,
    POSTURE,
    POSTURE_COLUMNS,
    SIDE_COLUMNS,
    SURPRISE,
    EmotionPlan,
    SynthConfig,
    expression_weights,
    onset_bursts,
)
from graphemo.sources.synth.face import AU1, AU2, AU5, AU26, AU45, AU_PROFILE, FACE_TEMPLATE
from graphemo.sources.synth.signals import oscillation, smooth_noise, telegraph, warped_noise

# --- the person -------------------------------------------------------------------------------------


@dataclass
class Person:
    """Fixed properties of one person in one video (lengths in shoulder widths, angles in radians)."""

    torso: float
    hip_half: float
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    head: float
    hand: float
    face: np.ndarray  # (70, 3) this person's neutral face
    sitting: bool
    view_yaw: float
    view_pitch: float
    px_per_unit: float  # pixels per shoulder width at the body's depth
    distance: float  # camera distance in shoulder widths
    anchor: tuple[float, float]  # image position of the neck at rest
    quality: float  # detection quality multiplier
    habit: np.ndarray  # (len(POSTURE_COLUMNS),) posture habit
    gesture_habit: float
    gesture_freq: float
    face_expressiveness: float
    body_expressiveness: float
    talkativeness: float
    rest_arm: tuple[float, float, float, float, float]  # abduct, flex, elbow, forearm inward, pronation


def draw_person(rng: np.random.Generator, config: SynthConfig, image_size: tuple[int, int]) -> Person:
    width, height = image_size
    shot = int(rng.choice(3, p=np.asarray(config.shot_probs) / sum(config.shot_probs)))
    if shot == 0:  # close-up: head and shoulders, hips out of frame
        px, anchor_y, distance = rng.uniform(0.45, 0.75), rng.uniform(0.65, 0.88), rng.uniform(4.0, 7.0)
    elif shot == 1:
        px, anchor_y, distance = rng.uniform(0.25, 0.4), rng.uniform(0.4, 0.55), rng.uniform(6.0, 10.0)
    else:
        px, anchor_y, distance = rng.uniform(0.1, 0.16), rng.uniform(0.2, 0.35), rng.uniform(10.0, 16.0)
    sitting = bool(rng.random() < (config.sitting_prob if shot < 2 else 0.3))
    size = rng.normal(1.0, 0.05)
    face = FACE_TEMPLATE * (rng.normal(1.0, 0.04), rng.normal(1.0, 0.05), 1.0)
    face[48:68, 0] *= rng.normal(1.0, 0.07)  # mouth width
    face[36:48, 0] += np.sign(face[36:48, 0]) * rng.normal(0.0, 0.006)  # eye spacing
    face[17:27, 1] += rng.normal(0.0, 0.006)  # brow height
    shape = rng.normal(0.0, 0.004, (70, 3))
    face += (shape + shape[list(FACE70.mirror)] * (-1, 1, 1)) / 2  # identity noise, near-symmetric
    habit = np.zeros(len(POSTURE_COLUMNS))
    habit[:8] = rng.normal(0.0, [0.04, 0.02, 0.06, 0.06, 0.08, 0.04, 0.02, 0.15])
    habit[POSTURE_COLUMNS.index("hand_curl")] = rng.uniform(0.2, 0.45)
    habit[POSTURE_COLUMNS.index("finger_spread")] = rng.uniform(0.1, 0.35)
    rest = (0.12, 0.45, 1.1, 0.5, 0.8) if sitting else (0.1, 0.05, 0.25, 0.1, 0.2)
    rest = tuple(float(v + rng.normal(0.0, 0.05)) for v in rest)
    return Person(
        torso=1.35 * size * rng.normal(1.0, 0.04),
        hip_half=0.28 * rng.normal(1.0, 0.06),
        upper_arm=0.78 * size * rng.normal(1.0, 0.03),
        forearm=0.68 * size * rng.normal(1.0, 0.03),
        thigh=1.15 * size * rng.normal(1.0, 0.03),
        shin=1.1 * size * rng.normal(1.0, 0.03),
        head=float(rng.normal(1.0, 0.05)),
        hand=float(rng.normal(1.0, 0.05)),
        face=face,
        sitting=sitting,
        view_yaw=float(rng.normal(0.0, 0.3)),
        view_pitch=float(rng.normal(0.05, 0.06)),
        px_per_unit=float(px * height),
        distance=float(distance),
        anchor=(float(rng.uniform(0.35, 0.65) * width), float(anchor_y * height)),
        quality=float(rng.uniform(0.85, 1.05)),
        habit=habit,
        gesture_habit=float(rng.uniform(0.4, 1.2)),
        gesture_freq=float(rng.uniform(0.5, 1.0)),
        face_expressiveness=float(rng.uniform(0.6, 1.2)),
        body_expressiveness=float(rng.uniform(0.5, 1.2)),
        talkativeness=float(rng.uniform(0.1, 0.7)),
        rest_arm=rest,  # type: ignore[arg-type]
    )


def joint_controls(rng: np.random.Generator, plan: EmotionPlan, va: np.ndarray, person: Person, fps: float) -> dict:
    """Per-frame joint-angle controls of the main person (see the module docstring)."""
    t_len = plan.num_frames
    t = np.arange(t_len) / fps
    weights, signed = expression_weights(plan, rng.uniform(0.2, 0.6) * fps / 2)
    valence, arousal = va[:, 0], va[:, 1]
    side_cols = np.isin(np.array(POSTURE_COLUMNS), SIDE_COLUMNS)
    posture = person.habit + np.where(side_cols, signed @ POSTURE, weights @ POSTURE) * person.body_expressiveness
    posture += 0.03 * smooth_noise(rng, posture.shape, 2.0 * fps)
    p = {name: posture[:, i] for i, name in enumerate(POSTURE_COLUMNS)}
    # Valence opens the posture: upright, chest out, head up, arms out, open hands.
    p["torso_pitch"] = p["torso_pitch"] - 0.04 * valence
    p["slump"] = p["slump"] - 0.4 * valence
    p["head_pitch"] = p["head_pitch"] - 0.12 * valence
    p["arm_abduct"] = p["arm_abduct"] + 0.2 * valence
    p["hand_curl"] = p["hand_curl"] - 0.15 * valence
    p["finger_spread"] = p["finger_spread"] + 0.2 * valence

    total = weights.sum(axis=1, keepdims=True)
    motion = (weights @ MOTION + np.clip(1.0 - total, 0.0, None) * NEUTRAL_MOTION) / np.maximum(total, 1.0)
    gesture_amp, tempo, jerk, bounce, tremor, _ = motion.T
    energy = np.exp(0.9 * arousal)
    burst = onset_bursts(plan, SURPRISE, fps) * person.body_expressiveness

    activity = np.clip(0.55 + 0.35 * smooth_noise(rng, (t_len,), 1.5 * fps), 0.05, 1.0)
    amp = person.gesture_habit * activity * gesture_amp * energy * person.body_expressiveness**0.5
    freq = person.gesture_freq * tempo * np.exp(0.45 * arousal)
    phase = 2 * np.pi * np.cumsum(freq) / fps + rng.uniform(0, 2 * np.pi)
    clock = np.cumsum(freq / person.gesture_freq)  # subjective time: faster with arousal and tempo
    arms = {}
    for k, name in enumerate(("arm_abduct", "arm_flex", "elbow_flex", "forearm_in", "hand_curl")):
        offsets = rng.uniform(0, 2 * np.pi, 2)
        harmonic = rng.uniform(0.0, 0.4)
        wave = np.stack([oscillation(phase + o + 0.7 * k, jerk) for o in offsets], 1)
        wave += harmonic * np.sin(2 * np.stack([phase + o for o in offsets[::-1]], 1))
        wave += 0.5 * warped_noise(rng, clock, 0.3 * fps, 2)
        scale = {"arm_abduct": 0.1, "arm_flex": 0.22, "elbow_flex": 0.35, "forearm_in": 0.15, "hand_curl": 0.15}[name]
        arms[name] = scale * amp[:, None] * wave

    rest = person.rest_arm
    guard, raise_one = np.clip(p["guard"], 0, 1), np.clip(p["raise_one"], 0, 1)
    side = np.sign(signed[:, DISGUST] + signed[:, OTHER] + 1e-9)
    raise_arm = np.stack([raise_one * (side < 0), raise_one * (side > 0)], 1)  # 0 = right arm (image left)
    lift = 0.25 * activity * np.tanh(amp)  # gesturing brings the hands up into view
    c = {}
    c["arm_abduct"] = (rest[0] + p["arm_abduct"] - 0.2 * guard + 0.1 * burst)[:, None] + arms["arm_abduct"]
    c["arm_flex"] = (rest[1] + p["arm_flex"] + 0.5 * guard + lift + 0.45 * burst)[:, None] + 0.6 * raise_arm
    c["arm_flex"] = c["arm_flex"] + arms["arm_flex"]
    c["elbow_flex"] = (rest[2] + p["elbow_flex"] + 1.4 * guard + 2 * lift + 1.1 * burst)[:, None] + 1.6 * raise_arm
    c["elbow_flex"] = c["elbow_flex"] + arms["elbow_flex"]
    c["forearm_in"] = (rest[3] + 0.6 * guard - 0.2 * burst)[:, None] + 0.6 * raise_arm + arms["forearm_in"]
    c["pronation"] = np.repeat((rest[4] - 0.6 * burst - 0.3 * guard)[:, None], 2, 1)
    c["pronation"] = c["pronation"] + 0.3 * smooth_noise(rng, (t_len, 2), fps)
    c["wrist_flex"] = 0.15 * smooth_noise(rng, (t_len, 2), fps)
    c["hand_curl"] = (p["hand_curl"] - 0.4 * burst)[:, None] + arms["hand_curl"]
    c["finger_spread"] = np.repeat((p["finger_spread"] + 0.6 * burst)[:, None], 2, 1)
    c["hand_curl"] = c["hand_curl"] + 0.08 * smooth_noise(rng, (t_len, 2), 0.5 * fps)
    limits = {"arm_abduct": (-0.3, 1.6), "arm_flex": (-0.6, 2.2), "elbow_flex": (0.05, 2.6),
              "forearm_in": (-0.5, 1.3), "hand_curl": (0.0, 1.0), "finger_spread": (0.0, 1.0)}  # fmt: skip
    for name, (lo, hi) in limits.items():
        c[name] = np.clip(c[name], lo, hi)

    head_noise = warped_noise(rng, clock, 1.2 * fps, 3) * np.array([0.04, 0.10, 0.04]) * np.exp(0.5 * arousal)[:, None]
    nod = 0.04 * np.tanh(amp) * np.sin(0.5 * phase + rng.uniform(0, 2 * np.pi))
    c["torso_pitch"] = p["torso_pitch"] - 0.08 * burst
    c["torso_roll"] = p["torso_roll"] + 0.02 * smooth_noise(rng, (t_len,), 2 * fps)
    c["torso_yaw"] = p["torso_yaw"] + 0.04 * smooth_noise(rng, (t_len,), 2 * fps) * energy
    c["head_pitch"] = p["head_pitch"] - 0.15 * burst + head_noise[:, 0] + nod
    c["head_yaw"] = p["head_yaw"] + head_noise[:, 1]
    c["head_roll"] = p["head_roll"] + head_noise[:, 2]
    laugh = np.clip(smooth_noise(rng, (t_len,), fps) + 0.3, 0, None)
    bob = bounce * laugh * np.abs(np.sin(np.pi * 2.2 * t + rng.uniform(0, np.pi)))
    c["shrug"] = p["shrug"] + 0.5 * bob
    c["slump"] = np.clip(p["slump"], -0.5, 1.2)

    tremor_wave = np.sin(2 * np.pi * rng.uniform(7, 10) * t[:, None] + rng.uniform(0, 2 * np.pi, 9))
    tremor_wave = (tremor_wave + 0.5 * rng.standard_normal((t_len, 9))) * tremor[:, None]
    c["head_shake"] = 0.5 * tremor_wave[:, :3]
    c["hand_shake"] = tremor_wave[:, 3:].reshape(t_len, 2, 3)
    sway = 0.03 * np.exp(0.4 * arousal) * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 2 * np.pi))
    root = np.zeros((t_len, 3))
    root[:, 0] = sway + 0.02 * smooth_noise(rng, (t_len,), 3 * fps)
    root[:, 1] = -bob + 0.01 * smooth_noise(rng, (t_len,), 2 * fps)
    root[:, 2] = 0.03 * smooth_noise(rng, (t_len,), 3 * fps)
    c["root"] = root
    c["thigh_swing"] = 0.03 * smooth_noise(rng, (t_len, 2), 2 * fps)
    c["knee_flex"] = np.full((t_len, 2), 1.5 if person.sitting else 0.05)

    # Face: action units from the expression, talking, blinks; gaze.
    face_w = weights * person.face_expressiveness
    profile = AU_PROFILE * rng.uniform(0.6, 1.3, AU_PROFILE.shape) * (rng.random(AU_PROFILE.shape) > 0.15)
    aus = face_w @ profile
    aus *= np.clip(1.0 + 0.2 * smooth_noise(rng, (t_len, 1), fps), 0.5, 1.5)
    surprise_face = onset_bursts(plan, SURPRISE, fps) * person.face_expressiveness * 0.5
    aus[:, [AU1, AU2, AU5, AU26]] += surprise_face[:, None]
    talking = telegraph(rng, t_len, person.talkativeness, 2.5 * fps)
    syllables = np.sin(2 * np.pi * np.cumsum(rng.uniform(3.5, 5.5) * (1 + 0.3 * smooth_noise(rng, (t_len,), fps)))
                       / fps) ** 2  # fmt: skip
    aus[:, AU26] += 0.5 * talking * syllables
    blink_starts = rng.random(t_len) < 1.0 / (3.0 * fps)
    blink = np.convolve(blink_starts.astype(float), np.hanning(max(int(0.2 * fps), 3)), mode="same")
    aus[:, AU45] = np.clip(aus[:, AU45] + blink, 0, 1)
    c["aus"] = np.clip(aus, 0.0, 1.5)
    saccades = np.repeat(rng.normal(0, 0.2, (t_len // 10 + 1, 2)), 10, axis=0)[:t_len]
    c["gaze"] = np.column_stack([p["gaze_x"], p["gaze_y"]]) + saccades
    return c
