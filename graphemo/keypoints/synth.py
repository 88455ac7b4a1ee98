"""Synthetic OpenPose data with emotion-dependent posture, motion and facial expression.

The real emotion datasets (Aff-Wild2, DFEW) are licence-gated, so graphemo ships a generator whose output
has their file formats and their difficulties: whole-body OpenPose JSON (BODY_25 + face 70 + two hands 21),
Aff-Wild2/ABAW per-frame EXPR and VA files, and DFEW clip lists.

The generative model, top-down (``->`` reads "drives")::

    seed, video index -> per-video RNG (np.random.default_rng([seed, index])): every video is independent
    emotion plan   1-3 segments per video; emotion ~ class prior (Aff-Wild2-like imbalance), intensity
                   in [0.35, 1], side +-1 (which way a person turns away / raises a hand)
    expression E(t)   (T, 8) per-frame emotion weights: the plan's one-hot x intensity, smoothed over
                   0.2-0.6 s, so motion blends across a label change while the label switches at once
    valence/arousal   per segment a target around the emotion's prototype (happiness v=.6 a=.4, anger
                   -.6 .7, sadness -.6 -.4, fear -.6 .6, surprise .2 .7, disgust -.6 .3, neutral 0 0),
                   smoothed across segments, plus slow and fast noise, clipped to [-1, 1]
    person         body proportions, head/hand size, face shape, sitting or standing, camera shot
                   (close-up 50 %: hips and legs out of frame; medium; full body), position and distance,
                   camera yaw, gesture habit and tempo, expressiveness, talkativeness, idle habits
    controls(t)    posture = person habit + E(t) @ emotion posture table + valence x openness
                   (upright, arms out, head up, open hands); motion = oscillators whose amplitude grows
                   with exp(0.9 arousal) and tempo with exp(0.45 arousal), sharpened into jerky beats by
                   anger, bouncing for happiness, trembling for fear, a brief arms-up burst at the onset
                   of surprise; idle sway, nods, glances, blinks, talking (mouth), gaze
    face           iBUG-68 + pupils template (per-person shape) deformed by facial action units
                   (AU1 ... AU45) whose intensities come from E(t) (smile, brows up + jaw drop, brows
                   lowered and together, lip corners down + inner brows up, nose wrinkle + upper lip
                   raise, eyes wide + lips stretched)
    3D skeleton    forward kinematics in units of shoulder width: hips -> torso (lean, twist, slump,
                   shrug) -> neck -> head (pitch, yaw, roll) -> face; shoulders -> elbows -> wrists ->
                   hands (21 points: palm, finger curl = fist vs open, spread); hips -> knees -> ankles ->
                   feet; then camera yaw and a perspective projection to pixels
    detection      confidence per joint from part, size in pixels, self-occlusion (turned head/body),
                   motion blur, per-joint noise; joints outside the image or below threshold are missing
                   (0, 0, 0), whole hands are occluded for stretches; pixel jitter grows as confidence
                   drops; stretches of frames with nobody (``people: []``); sometimes a smaller,
                   less visible bystander walks through (listed first on some frames, as OpenPose may)
    labels         EXPR = the plan's emotion per frame (``-1`` in gaps at some segment boundaries and in
                   random stretches), VA = the trajectory (``-5`` in random stretches); DFEW clip label =
                   the dominant emotion of the seven

Public API: :func:`plan_emotions` and :func:`synthesize_video` (pure, no disk), :func:`write_video` and
:func:`generate_dataset` (files). Everything is deterministic given the seed, whatever the number of workers.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import orjson
from scipy.ndimage import gaussian_filter1d

from graphemo.keypoints.openpose import frame_file_name, openpose_document
from graphemo.labels.abaw import write_abaw_expr, write_abaw_va
from graphemo.labels.dfew import graphemo_to_dfew, write_dfew_csv
from graphemo.labels.emotions import EMOTIONS_WITH_OTHER, UNANNOTATED, graphemo_to_abaw
from graphemo.skeleton import Layout, get_layout
from graphemo.skeleton.layouts import FACE70

GENERATOR_VERSION = 1
LAYOUT_NAME = "body25_face_hands"
NUM_EMOTIONS = 7  # graphemo's seven classes; index 7 is "other"
ANGER, DISGUST, FEAR, HAPPINESS, SADNESS, SURPRISE, NEUTRAL, OTHER = range(8)
SPLIT_STREAM = 2**32  # RNG stream of the dataset-level draws (splits, folds); video streams use 0 .. N-1

# Valence/arousal prototypes, graphemo order (+ other).
VA_PROTOTYPES = np.array(
    [[-0.6, 0.7], [-0.6, 0.3], [-0.6, 0.6], [0.6, 0.4], [-0.6, -0.4], [0.2, 0.7], [0.0, 0.0], [-0.1, 0.2]],
    dtype=np.float64,
)
# Frame shares close to Aff-Wild2's EXPR set (neutral and happiness frequent, fear and disgust rare),
# with the rare classes raised a little so that a few hundred videos still contain some.
AFFWILD2_LIKE_PRIOR = (0.06, 0.04, 0.04, 0.22, 0.15, 0.08, 0.36, 0.05)

# --- emotion tables ---------------------------------------------------------------------------------

# Posture offsets added to a person's habit, weighted by E(t). Columns marked * are multiplied by the
# segment's side (+1 turns toward image right). Angles in radians, lengths in shoulder widths.
POSTURE_COLUMNS = (
    "torso_pitch",  # + leans forward
    "torso_roll",  # * sideways lean
    "torso_yaw",  # * turns the upper body
    "head_pitch",  # + head down
    "head_yaw",  # *
    "head_roll",  # * tilt
    "shrug",  # + shoulders up
    "slump",  # + shoulders forward and down, head forward (negative = upright, chest out)
    "arm_abduct",  # + arms away from the body (expansive)
    "arm_flex",  # + upper arms forward/up
    "elbow_flex",  # + forearms up
    "guard",  # both hands up in front of chest/face, arms close to the body
    "raise_one",  # one hand (the side's) raised toward the face
    "hand_curl",  # + fist
    "finger_spread",  # + open, spread fingers
    "gaze_x",  # * eyes to the side
    "gaze_y",  # + eyes down
)
SIDE_COLUMNS = ("torso_roll", "torso_yaw", "head_yaw", "head_roll", "gaze_x")
POSTURE = np.array(
    [  # pitch roll   yaw   hpitch hyaw  hroll  shrug slump abduct flex elbow guard raise curl spread gx  gy
        [0.16, 0.00, 0.05, 0.10, 0.00, 0.00, 0.03, 0.00, 0.12, 0.25, 0.50, 0.00, 0.00, 0.85, -0.4, 0.0, -0.1],
        [-0.08, 0.05, 0.30, -0.05, 0.35, 0.15, 0.02, 0.00, -0.02, 0.10, 0.30, 0.00, 0.75, 0.30, 0.2, -0.6, 0.2],
        [-0.12, 0.00, 0.10, 0.05, 0.12, 0.00, 0.10, 0.20, -0.10, 0.25, 0.60, 0.85, 0.00, 0.45, 0.0, 0.3, 0.0],
        [-0.04, 0.00, 0.00, -0.10, 0.00, 0.06, 0.00, -0.30, 0.30, 0.25, 0.50, 0.00, 0.00, -0.30, 0.6, 0.0, -0.1],
        [0.15, 0.04, 0.00, 0.30, 0.05, 0.08, -0.05, 0.80, -0.08, 0.05, 0.10, 0.00, 0.00, 0.20, -0.3, 0.1, 0.6],
        [-0.10, 0.00, 0.00, -0.22, 0.00, 0.00, 0.06, -0.20, 0.15, 0.20, 0.30, 0.00, 0.00, -0.50, 0.8, 0.0, -0.2],
        [0.00] * 17,
        [0.03, 0.03, 0.10, 0.05, 0.15, 0.12, 0.00, 0.10, 0.00, 0.10, 0.30, 0.00, 0.30, 0.10, 0.0, 0.3, 0.0],
    ]
)
# Motion per emotion: gesture amplitude and tempo multipliers, jerkiness (0 smooth .. 1 beats),
# bounce (shoulder widths, laughter), tremor (shoulder widths), burst (arms-up at onset).
MOTION_COLUMNS = ("gesture_amp", "tempo", "jerk", "bounce", "tremor", "burst")
MOTION = np.array(
    [
        [1.6, 1.4, 1.0, 0.000, 0.002, 0.0],
        [0.7, 0.9, 0.2, 0.000, 0.000, 0.0],
        [0.6, 1.3, 0.3, 0.000, 0.012, 0.0],
        [1.4, 1.2, 0.0, 0.035, 0.000, 0.0],
        [0.35, 0.55, 0.0, 0.000, 0.000, 0.0],
        [1.0, 1.1, 0.3, 0.000, 0.002, 1.0],
        [0.6, 0.8, 0.0, 0.000, 0.000, 0.0],
        [0.8, 1.0, 0.1, 0.000, 0.000, 0.0],
    ]
)
NEUTRAL_MOTION = MOTION[NEUTRAL]

# Facial action units: displacement of landmarks (face template units = shoulder widths) for the
# person's right side and the midline; the left side is mirrored (except for the unilateral AU14).
AU_NAMES = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20",
            "AU23", "AU26", "AU45")  # fmt: skip
_AU_SPECS: dict[str, dict[int, tuple[float, float, float]]] = {
    "AU1": {21: (0, -0.026, 0), 20: (0, -0.02, 0), 19: (0, -0.01, 0)},
    "AU2": {17: (0, -0.026, 0), 18: (0, -0.022, 0), 19: (0, -0.012, 0), 20: (0, -0.005, 0)},
    "AU4": {17: (0, 0.006, 0), 18: (0, 0.01, 0), 19: (0.004, 0.015, 0), 20: (0.008, 0.018, 0),
            21: (0.011, 0.018, 0), 37: (0, 0.003, 0), 38: (0, 0.003, 0), 27: (0, 0.004, 0)},
    "AU5": {37: (0, -0.009, 0), 38: (0, -0.009, 0), 36: (0, -0.001, 0), 39: (0, -0.001, 0), 40: (0, 0.002, 0),
            41: (0, 0.002, 0)},
    "AU6": {40: (0, -0.006, 0), 41: (0, -0.006, 0), 36: (0, -0.003, 0), 1: (-0.003, -0.008, 0),
            2: (-0.003, -0.008, 0), 3: (-0.002, -0.006, 0)},
    "AU7": {40: (0, -0.005, 0), 41: (0, -0.005, 0), 37: (0, 0.003, 0), 38: (0, 0.003, 0)},
    "AU9": {31: (-0.004, -0.01, 0), 32: (0, -0.011, 0), 33: (0, -0.01, 0), 28: (0, 0.004, 0), 29: (0, 0.002, 0),
            21: (0.004, 0.008, 0), 20: (0, 0.006, 0), 49: (0, -0.007, 0), 50: (0, -0.008, 0), 51: (0, -0.008, 0),
            61: (0, -0.006, 0), 62: (0, -0.006, 0)},
    "AU10": {49: (0, -0.016, 0.003), 50: (0, -0.018, 0.004), 51: (0, -0.016, 0.004), 61: (0, -0.014, 0),
             62: (0, -0.013, 0), 48: (0, -0.004, 0), 60: (0, -0.006, 0), 31: (0, -0.004, 0), 32: (0, -0.003, 0)},
    "AU12": {48: (-0.016, -0.018, -0.006), 60: (-0.014, -0.016, -0.005), 49: (-0.008, -0.008, 0),
             59: (-0.008, -0.010, 0), 58: (-0.003, -0.002, 0), 61: (-0.006, -0.006, 0), 67: (-0.006, -0.008, 0),
             3: (-0.002, -0.006, 0), 4: (-0.002, -0.005, 0), 40: (0, -0.003, 0), 41: (0, -0.003, 0)},
    "AU14": {48: (-0.008, -0.005, -0.004), 60: (-0.007, -0.004, 0), 49: (-0.003, -0.002, 0),
             59: (-0.003, -0.002, 0)},
    "AU15": {48: (0.002, 0.016, 0), 60: (0.002, 0.014, 0), 59: (0, 0.008, 0), 49: (0, 0.005, 0), 58: (0, 0.003, 0),
             67: (0, 0.006, 0)},
    "AU17": {57: (0, -0.009, 0.004), 58: (0, -0.008, 0.003), 66: (0, -0.006, 0), 67: (0, -0.005, 0),
             7: (0, -0.008, 0), 8: (0, -0.012, 0.004)},
    "AU20": {48: (-0.018, 0.004, -0.004), 60: (-0.016, 0.003, 0), 49: (-0.008, 0.002, 0), 59: (-0.008, 0, 0),
             50: (-0.003, 0.002, 0), 58: (-0.003, -0.001, 0)},
    "AU23": {48: (0.008, 0, 0), 60: (0.008, 0, 0), 49: (0.004, 0.002, 0), 50: (0, 0.003, 0), 51: (0, 0.003, 0),
             57: (0, -0.004, 0), 58: (0, -0.004, 0), 59: (0.003, -0.002, 0), 61: (0, 0.002, 0), 62: (0, 0.002, 0),
             66: (0, -0.002, 0), 67: (0, -0.002, 0)},
    "AU26": {59: (0.003, 0.035, 0), 58: (0, 0.045, 0), 57: (0, 0.05, 0), 67: (0, 0.045, 0), 66: (0, 0.05, 0),
             48: (0.006, 0.012, 0), 60: (0.004, 0.014, 0), 61: (0, -0.003, 0), 62: (0, -0.003, 0), 8: (0, 0.055, 0),
             7: (0, 0.05, 0), 6: (0, 0.04, 0), 5: (0, 0.028, 0), 4: (0, 0.016, 0), 3: (0, 0.007, 0)},
    "AU45": {37: (0, 0.012, 0), 38: (0, 0.012, 0), 40: (0, -0.003, 0), 41: (0, -0.003, 0)},
}  # fmt: skip
_UNILATERAL = {"AU14"}
# AU intensity of each emotion at full intensity (graphemo order + other), columns AU_NAMES.
AU_PROFILE = np.zeros((8, len(AU_NAMES)))
for _emotion, _aus in {
    ANGER: {"AU4": 1.0, "AU5": 0.4, "AU7": 0.7, "AU23": 0.8, "AU17": 0.3, "AU10": 0.2},
    DISGUST: {"AU9": 1.0, "AU10": 0.8, "AU4": 0.5, "AU15": 0.3, "AU17": 0.4, "AU7": 0.3},
    FEAR: {"AU1": 0.9, "AU2": 0.6, "AU4": 0.5, "AU5": 1.0, "AU20": 0.9, "AU26": 0.4},
    HAPPINESS: {"AU6": 0.8, "AU12": 1.0, "AU26": 0.3, "AU7": 0.1},
    SADNESS: {"AU1": 0.9, "AU4": 0.5, "AU15": 0.9, "AU17": 0.5, "AU7": 0.2},
    SURPRISE: {"AU1": 1.0, "AU2": 1.0, "AU5": 0.8, "AU26": 0.9},
    OTHER: {"AU14": 0.9, "AU7": 0.2},
}.items():
    for _au, _value in _aus.items():
        AU_PROFILE[_emotion, AU_NAMES.index(_au)] = _value
_AU26, _AU45, _AU1, _AU2, _AU5 = (AU_NAMES.index(n) for n in ("AU26", "AU45", "AU1", "AU2", "AU5"))


def _au_displacements() -> np.ndarray:
    """``(n_au, 70, 3)`` landmark displacement of each action unit at intensity 1."""
    out = np.zeros((len(AU_NAMES), 70, 3))
    for a, name in enumerate(AU_NAMES):
        for i, (dx, dy, dz) in _AU_SPECS[name].items():
            out[a, i] += (dx, dy, dz)
            j = FACE70.mirror[i]
            if j != i and name not in _UNILATERAL:
                out[a, j] += (-dx, dy, dz)
    return out


AU_DISPLACEMENTS = _au_displacements()


def _face_template() -> np.ndarray:
    """``(70, 3)`` neutral iBUG-68 + pupils, origin between the eyes, x right in the image, y down, z toward
    the camera, in shoulder widths (face about 0.43 wide)."""
    pts = np.zeros((70, 3))
    theta = np.linspace(-np.pi / 2, np.pi / 2, 17)
    pts[:17, 0] = 0.215 * np.sign(np.sin(theta)) * np.abs(np.sin(theta)) ** 0.7
    pts[:17, 1] = -0.03 + 0.43 * np.cos(theta)
    pts[:17, 2] = -0.15 + 0.1 * np.cos(theta)
    u = np.linspace(0.0, 1.0, 5)
    pts[17:22] = np.column_stack([-0.19 + 0.15 * u, -0.085 - 0.022 * np.sin(np.pi * (0.3 + 0.7 * u)), -0.02 + 0.02 * u])
    pts[27:31] = np.column_stack([np.zeros(4), [-0.04, 0.01, 0.06, 0.11], [0.02, 0.05, 0.08, 0.11]])
    pts[31:36] = np.column_stack([[-0.055, -0.028, 0, 0.028, 0.055], [0.14, 0.15, 0.155, 0.15, 0.14],
                                  [0.04, 0.06, 0.07, 0.06, 0.04]])  # fmt: skip
    pts[36:42] = [[-0.14, 0, -0.01], [-0.115, -0.016, 0], [-0.085, -0.016, 0], [-0.06, 0, 0], [-0.085, 0.013, 0],
                  [-0.115, 0.013, 0]]  # fmt: skip
    pts[48:60] = [[-0.075, 0.245, 0.02], [-0.05, 0.228, 0.04], [-0.022, 0.218, 0.055], [0, 0.222, 0.06],
                  [0.022, 0.218, 0.055], [0.05, 0.228, 0.04], [0.075, 0.245, 0.02], [0.05, 0.265, 0.04],
                  [0.025, 0.275, 0.05], [0, 0.278, 0.055], [-0.025, 0.275, 0.05], [-0.05, 0.265, 0.04]]  # fmt: skip
    pts[60:68] = [[-0.062, 0.245, 0.025], [-0.025, 0.238, 0.045], [0, 0.238, 0.05], [0.025, 0.238, 0.045],
                  [0.062, 0.245, 0.025], [0.025, 0.25, 0.045], [0, 0.251, 0.05], [-0.025, 0.25, 0.045]]  # fmt: skip
    pts[68] = [-0.10, 0.0, 0.01]
    for i in (*range(17, 22), 36, 37, 38, 39, 40, 41, 68):  # mirror the right brow, eye and pupil
        j = FACE70.mirror[i]
        pts[j] = pts[i] * (-1, 1, 1)
    return pts


FACE_TEMPLATE = _face_template()
# Surface normals used for self-occlusion: away from a point behind the face.
_FACE_NORMALS = FACE_TEMPLATE - (0.0, 0.05, -0.25)
_FACE_NORMALS /= np.linalg.norm(_FACE_NORMALS, axis=1, keepdims=True)

# Hand, local frame: x from the wrist along the hand, y toward the thumb, z out of the palm.
# Index, middle, ring, pinky: knuckle (MCP) position, base angle toward the thumb, segment lengths.
_KNUCKLES = np.array([[0.24, 0.07, 0.0], [0.25, 0.02, 0.0], [0.235, -0.03, 0.0], [0.21, -0.07, 0.0]])
_FINGER_ANGLES = np.array([0.12, 0.0, -0.1, -0.2])
_FINGER_SEGMENTS = np.array([[0.11, 0.065, 0.05], [0.12, 0.075, 0.055], [0.11, 0.07, 0.05], [0.085, 0.055, 0.045]])
_CURL_ANGLES = np.array([1.4, 1.6, 1.1])  # MCP, PIP, DIP flexion of a full fist
_THUMB_ROOT = np.array([0.05, 0.06, 0.02])
_THUMB_SEGMENTS = np.array([0.09, 0.07, 0.06])

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


# --- configuration and plans --------------------------------------------------------------------


@dataclass(frozen=True)
class SynthConfig:
    """What the generator draws, beyond the per-video randomness.

    Attributes:
        class_prior: probability of each emotion for a segment, graphemo order + other (8 values).
        segment_counts: probability of 1, 2, 3 emotion segments per video.
        empty_frame_rate: expected fraction of frames with nobody (``people: []``).
        empty_stretch_frames: mean length of such a stretch.
        bystander_rate: fraction of videos in which a second person walks through.
        unannotated_rate: expected fraction of frames in random unannotated stretches (EXPR and VA apart).
        boundary_gap_prob: probability that a segment boundary has an unannotated EXPR gap.
        shot_probs: probability of a close-up, medium and full-body shot.
        sitting_prob: probability that the person sits (close-up and medium shots).
        hand_occlusion_rate: expected fraction of frames in which a hand is occluded.
    """

    class_prior: tuple[float, ...] = AFFWILD2_LIKE_PRIOR
    segment_counts: tuple[float, float, float] = (0.35, 0.4, 0.25)
    empty_frame_rate: float = 0.02
    empty_stretch_frames: float = 12.0
    bystander_rate: float = 0.15
    unannotated_rate: float = 0.03
    boundary_gap_prob: float = 0.5
    shot_probs: tuple[float, float, float] = (0.5, 0.35, 0.15)
    sitting_prob: float = 0.7
    hand_occlusion_rate: float = 0.08

    def __post_init__(self) -> None:
        for name in ("class_prior", "segment_counts", "shot_probs"):
            values = np.asarray(getattr(self, name), dtype=float)
            expected = {"class_prior": 8, "segment_counts": 3, "shot_probs": 3}[name]
            if values.shape != (expected,) or (values < 0).any() or values.sum() <= 0:
                raise ValueError(f"SynthConfig.{name} must be {expected} non-negative numbers, got {values.tolist()}")
        if not sum(self.class_prior[:NUM_EMOTIONS]) > 0:
            raise ValueError("SynthConfig.class_prior gives no weight to the seven emotions")
        for name in ("empty_frame_rate", "bystander_rate", "unannotated_rate", "boundary_gap_prob", "sitting_prob",
                     "hand_occlusion_rate"):  # fmt: skip
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"SynthConfig.{name} must be in [0, 1), got {getattr(self, name)}")


@dataclass(frozen=True)
class Segment:
    """One stretch of a video with one emotion: frames ``[start, stop)``, graphemo class (7 = other),
    intensity in (0, 1], and side (+1/-1: the direction of turning away or of a raised hand)."""

    start: int
    stop: int
    emotion: int
    intensity: float
    side: int = 1


@dataclass(frozen=True)
class EmotionPlan:
    """The emotion segments of a video, covering frames ``0 .. num_frames - 1`` in order."""

    num_frames: int
    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        edges = [s.start for s in self.segments] + [self.segments[-1].stop] if self.segments else []
        if not self.segments or edges[0] != 0 or edges[-1] != self.num_frames:
            raise ValueError(f"segments must cover 0..{self.num_frames}, got {edges}")
        if any(s.stop <= s.start for s in self.segments) or any(
            a.stop != b.start for a, b in zip(self.segments, self.segments[1:], strict=False)
        ):
            raise ValueError(f"segments must be contiguous and non-empty: {self.segments}")
        if any(not 0 <= s.emotion < 8 or not 0 < s.intensity <= 1 for s in self.segments):
            raise ValueError(f"bad emotion or intensity in {self.segments}")

    @classmethod
    def single(cls, emotion: int, num_frames: int, intensity: float = 1.0, side: int = 1) -> EmotionPlan:
        """A plan with one segment."""
        return cls(num_frames, (Segment(0, num_frames, emotion, intensity, side),))

    def frame_emotions(self) -> np.ndarray:
        """``(T,)`` int8 emotion of each frame (graphemo order, 7 = other)."""
        out = np.empty(self.num_frames, dtype=np.int8)
        for s in self.segments:
            out[s.start : s.stop] = s.emotion
        return out


def plan_emotions(rng: np.random.Generator, num_frames: int, config: SynthConfig | None = None) -> EmotionPlan:
    """Draw the emotion segments of a video.

    1-3 segments (``config.segment_counts``; fewer when the video is too short for 1.5 s segments),
    consecutive segments differ, at least one segment is one of the seven emotions (not only "other"),
    intensity in [0.35, 1].
    """
    config = config or SynthConfig()
    prior = np.asarray(config.class_prior, dtype=float)
    prior /= prior.sum()
    counts = np.asarray(config.segment_counts, dtype=float)
    n = int(rng.choice(3, p=counts / counts.sum())) + 1
    n = max(1, min(n, num_frames // 45))
    emotions: list[int] = []
    for _ in range(n):
        p = prior.copy()
        if emotions:
            p[emotions[-1]] = 0.0
        if p.sum() <= 0:
            break
        emotions.append(int(rng.choice(8, p=p / p.sum())))
    if all(e == OTHER for e in emotions):
        seven = prior[:NUM_EMOTIONS] / prior[:NUM_EMOTIONS].sum()
        emotions[0] = int(rng.choice(NUM_EMOTIONS, p=seven))
    n = len(emotions)
    shares = rng.dirichlet(np.full(n, 2.5))
    bounds = np.round(np.cumsum(shares) * num_frames).astype(int)
    bounds[-1] = num_frames
    starts = np.concatenate([[0], bounds[:-1]])
    segments = []
    for e, a, b in zip(emotions, starts, bounds, strict=True):
        if b <= a:
            continue
        intensity = float(np.clip(0.35 + 0.65 * rng.beta(2.2, 1.6), 0.35, 1.0))
        segments.append(Segment(int(a), int(b), e, round(intensity, 3), int(rng.choice((-1, 1)))))
    merged = [segments[0]]
    for s in segments[1:]:  # rounding can leave an empty segment between two of one emotion
        if s.emotion == merged[-1].emotion:
            merged[-1] = replace(merged[-1], stop=s.stop)
        else:
            merged.append(s)
    return EmotionPlan(num_frames, tuple(merged))


@dataclass
class SynthVideo:
    """One generated video.

    Attributes:
        keypoints: ``(T, P, V, 3)`` float32 pixel ``(x, y, confidence)`` in the whole-body layout
            (``V = 137``); slot 0 the main person, slot 1 (when ``P = 2``) the bystander. A missing joint
            has confidence 0 and NaN coordinates; a person absent from a frame has every joint missing.
        emotion: ``(T,)`` int8 true emotion per frame (graphemo order, 7 = other).
        expr: ``(T,)`` int8 EXPR label (``emotion`` with -1 where unannotated).
        va: ``(T, 2)`` float32 valence/arousal label, NaN where unannotated.
        va_true: ``(T, 2)`` float32 the trajectory that drove the motion (no gaps).
        bystander_first: ``(T,)`` bool, frames on which the bystander is listed before the main person.
        plan: the emotion plan.
        fps: frames per second.
        image_size: ``(width, height)``.
    """

    keypoints: np.ndarray
    emotion: np.ndarray
    expr: np.ndarray
    va: np.ndarray
    va_true: np.ndarray
    bystander_first: np.ndarray
    plan: EmotionPlan
    fps: float
    image_size: tuple[int, int]

    @property
    def present(self) -> np.ndarray:
        """``(T, P)`` bool: the person is in the frame (some joint detected)."""
        return (self.keypoints[..., 2] > 0).any(axis=-1)

    @property
    def abaw_expr(self) -> np.ndarray:
        """``(T,)`` int8 ABAW EXPR codes (0 Neutral ... 7 Other, -1 unannotated)."""
        table = graphemo_to_abaw()
        return np.where(self.expr >= 0, table[np.maximum(self.expr, 0)], UNANNOTATED).astype(np.int8)

    @property
    def dominant_emotion(self) -> int:
        """The most frequent of the seven emotions over the video's frames (its DFEW clip label)."""
        counts = np.bincount(self.emotion[self.emotion < NUM_EMOTIONS], minlength=NUM_EMOTIONS)
        return int(np.argmax(counts))


# --- random signals -------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma_frames: float) -> np.ndarray:
    """Gaussian noise smoothed along axis 0 with a Gaussian of ``sigma_frames``, unit standard deviation."""
    white = rng.standard_normal(shape)
    if sigma_frames < 0.5:
        return white
    return gaussian_filter1d(white, sigma_frames, axis=0, mode="reflect") * np.sqrt(2 * np.sqrt(np.pi) * sigma_frames)


def _warped_noise(rng: np.random.Generator, clock: np.ndarray, sigma_frames: float, channels: int) -> np.ndarray:
    """``(T, channels)`` smooth unit noise that runs faster where ``clock`` (``(T,)`` increasing, in frames of
    "subjective time") advances faster: the same wobble, sped up with arousal."""
    grid = np.arange(int(np.ceil(clock[-1] - clock[0])) + 2)
    noise = _smooth_noise(rng, (len(grid), channels), sigma_frames)
    return np.stack([np.interp(clock - clock[0], grid, noise[:, k]) for k in range(channels)], 1)


def _telegraph(rng: np.random.Generator, num_frames: int, on_fraction: float, mean_on: float) -> np.ndarray:
    """``(T,)`` bool on/off stretches: on for ``on_fraction`` of the frames in expectation (the start state is
    drawn from the stationary distribution), on-stretches of geometric length with mean ``mean_on``."""
    if on_fraction <= 0 or num_frames == 0:
        return np.zeros(num_frames, dtype=bool)
    mean_on = max(mean_on, 1.0)
    mean_off = max(mean_on * (1 - on_fraction) / on_fraction, 1.0)
    runs: list[np.ndarray] = []
    state = bool(rng.random() < on_fraction)
    first = state
    total = 0
    while total < num_frames:
        count = 2 * int(num_frames / (mean_on + mean_off)) + 4
        on = rng.geometric(1.0 / mean_on, count)
        off = rng.geometric(1.0 / mean_off, count)
        pairs = np.column_stack([on, off] if state else [off, on]).ravel()
        runs.append(pairs)
        total += int(pairs.sum())
    lengths = np.concatenate(runs)
    values = np.resize(np.array([first, not first]), len(lengths))
    return np.repeat(values, lengths)[:num_frames]


def _oscillation(phase: np.ndarray, jerk: np.ndarray) -> np.ndarray:
    """Waveform from smooth (``jerk = 0``: sine) to beats (``jerk = 1``: near-square, fast transitions)."""
    s = np.sin(phase)
    return (1 - jerk) * s + jerk * np.tanh(4 * s) / np.tanh(4)


def _rotation(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` rotations ``R_yaw @ R_pitch @ R_roll`` in image axes (x right, y down, z toward the camera).

    ``pitch > 0`` tips forward (a forward vector turns down), ``yaw > 0`` turns toward image right,
    ``roll > 0`` tilts the top toward image right.
    """
    pitch, yaw, roll = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (pitch, yaw, roll)))
    cp, sp, cy, sy, cr, sr = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw), np.cos(roll), np.sin(roll)
    one, zero = np.ones_like(pitch), np.zeros_like(pitch)
    r_pitch = np.stack([one, zero, zero, zero, cp, sp, zero, -sp, cp], -1).reshape(*pitch.shape, 3, 3)
    r_yaw = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*pitch.shape, 3, 3)
    r_roll = np.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(*pitch.shape, 3, 3)
    return r_yaw @ r_pitch @ r_roll


def _rotate(r: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply rotations ``(T, 3, 3)`` to points ``(T, N, 3)``."""
    return points @ np.swapaxes(r, -1, -2)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


# --- the person -------------------------------------------------------------------------------------


@dataclass
class _Person:
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


def _draw_person(rng: np.random.Generator, config: SynthConfig, image_size: tuple[int, int]) -> _Person:
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
    return _Person(
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


# --- controls: what every joint angle does over time -------------------------------------------------


def _expression_weights(plan: EmotionPlan, sigma_frames: float) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 8)`` smoothed emotion weights, and the same weights signed by each segment's side."""
    weights = np.zeros((plan.num_frames, 8))
    signed = np.zeros((plan.num_frames, 8))
    for s in plan.segments:
        weights[s.start : s.stop, s.emotion] = s.intensity
        signed[s.start : s.stop, s.emotion] = s.intensity * s.side
    if sigma_frames >= 0.5:
        weights = gaussian_filter1d(weights, sigma_frames, axis=0, mode="nearest")
        signed = gaussian_filter1d(signed, sigma_frames, axis=0, mode="nearest")
    return weights, signed


def _valence_arousal(rng: np.random.Generator, plan: EmotionPlan, fps: float) -> np.ndarray:
    """``(T, 2)`` valence/arousal trajectory around the segments' prototypes, in [-1, 1]."""
    t_len = plan.num_frames
    targets = np.zeros((t_len, 2))
    offset = rng.normal(0.0, 0.08, 2)  # the person's / annotator's own baseline
    for s in plan.segments:
        target = VA_PROTOTYPES[s.emotion] * (0.55 + 0.45 * s.intensity) + rng.normal(0.0, 0.12, 2)
        targets[s.start : s.stop] = target + offset
    va = gaussian_filter1d(targets, 0.5 * fps, axis=0, mode="nearest")
    va += 0.1 * _smooth_noise(rng, (t_len, 2), 1.5 * fps) + 0.01 * rng.standard_normal((t_len, 2))
    return np.clip(va, -1.0, 1.0)


def _onset_bursts(plan: EmotionPlan, emotion: int, fps: float) -> np.ndarray:
    """``(T,)`` brief peak (alpha function, peak 1 at 0.4 s, x intensity) at the onset of each segment of
    ``emotion``."""
    t = np.arange(plan.num_frames) / fps
    out = np.zeros(plan.num_frames)
    for s in plan.segments:
        if s.emotion == emotion:
            dt = np.clip(t - s.start / fps, 0.0, None) / 0.4
            out += s.intensity * dt * np.exp(1.0 - dt)
    return out


def _controls(rng: np.random.Generator, plan: EmotionPlan, va: np.ndarray, person: _Person, fps: float) -> dict:
    """Per-frame joint-angle controls of the main person (see the module docstring)."""
    t_len = plan.num_frames
    t = np.arange(t_len) / fps
    weights, signed = _expression_weights(plan, rng.uniform(0.2, 0.6) * fps / 2)
    valence, arousal = va[:, 0], va[:, 1]
    side_cols = np.isin(np.array(POSTURE_COLUMNS), SIDE_COLUMNS)
    posture = person.habit + np.where(side_cols, signed @ POSTURE, weights @ POSTURE) * person.body_expressiveness
    posture += 0.03 * _smooth_noise(rng, posture.shape, 2.0 * fps)
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
    burst = _onset_bursts(plan, SURPRISE, fps) * person.body_expressiveness

    activity = np.clip(0.55 + 0.35 * _smooth_noise(rng, (t_len,), 1.5 * fps), 0.05, 1.0)
    amp = person.gesture_habit * activity * gesture_amp * energy * person.body_expressiveness**0.5
    freq = person.gesture_freq * tempo * np.exp(0.45 * arousal)
    phase = 2 * np.pi * np.cumsum(freq) / fps + rng.uniform(0, 2 * np.pi)
    clock = np.cumsum(freq / person.gesture_freq)  # subjective time: faster with arousal and tempo
    arms = {}
    for k, name in enumerate(("arm_abduct", "arm_flex", "elbow_flex", "forearm_in", "hand_curl")):
        offsets = rng.uniform(0, 2 * np.pi, 2)
        harmonic = rng.uniform(0.0, 0.4)
        wave = np.stack([_oscillation(phase + o + 0.7 * k, jerk) for o in offsets], 1)
        wave += harmonic * np.sin(2 * np.stack([phase + o for o in offsets[::-1]], 1))
        wave += 0.5 * _warped_noise(rng, clock, 0.3 * fps, 2)
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
    c["pronation"] = c["pronation"] + 0.3 * _smooth_noise(rng, (t_len, 2), fps)
    c["wrist_flex"] = 0.15 * _smooth_noise(rng, (t_len, 2), fps)
    c["hand_curl"] = (p["hand_curl"] - 0.4 * burst)[:, None] + arms["hand_curl"]
    c["finger_spread"] = np.repeat((p["finger_spread"] + 0.6 * burst)[:, None], 2, 1)
    c["hand_curl"] = c["hand_curl"] + 0.08 * _smooth_noise(rng, (t_len, 2), 0.5 * fps)
    limits = {"arm_abduct": (-0.3, 1.6), "arm_flex": (-0.6, 2.2), "elbow_flex": (0.05, 2.6),
              "forearm_in": (-0.5, 1.3), "hand_curl": (0.0, 1.0), "finger_spread": (0.0, 1.0)}  # fmt: skip
    for name, (lo, hi) in limits.items():
        c[name] = np.clip(c[name], lo, hi)

    head_noise = _warped_noise(rng, clock, 1.2 * fps, 3) * np.array([0.04, 0.10, 0.04]) * np.exp(0.5 * arousal)[:, None]
    nod = 0.04 * np.tanh(amp) * np.sin(0.5 * phase + rng.uniform(0, 2 * np.pi))
    c["torso_pitch"] = p["torso_pitch"] - 0.08 * burst
    c["torso_roll"] = p["torso_roll"] + 0.02 * _smooth_noise(rng, (t_len,), 2 * fps)
    c["torso_yaw"] = p["torso_yaw"] + 0.04 * _smooth_noise(rng, (t_len,), 2 * fps) * energy
    c["head_pitch"] = p["head_pitch"] - 0.15 * burst + head_noise[:, 0] + nod
    c["head_yaw"] = p["head_yaw"] + head_noise[:, 1]
    c["head_roll"] = p["head_roll"] + head_noise[:, 2]
    laugh = np.clip(_smooth_noise(rng, (t_len,), fps) + 0.3, 0, None)
    bob = bounce * laugh * np.abs(np.sin(np.pi * 2.2 * t + rng.uniform(0, np.pi)))
    c["shrug"] = p["shrug"] + 0.5 * bob
    c["slump"] = np.clip(p["slump"], -0.5, 1.2)

    tremor_wave = np.sin(2 * np.pi * rng.uniform(7, 10) * t[:, None] + rng.uniform(0, 2 * np.pi, 9))
    tremor_wave = (tremor_wave + 0.5 * rng.standard_normal((t_len, 9))) * tremor[:, None]
    c["head_shake"] = 0.5 * tremor_wave[:, :3]
    c["hand_shake"] = tremor_wave[:, 3:].reshape(t_len, 2, 3)
    sway = 0.03 * np.exp(0.4 * arousal) * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 2 * np.pi))
    root = np.zeros((t_len, 3))
    root[:, 0] = sway + 0.02 * _smooth_noise(rng, (t_len,), 3 * fps)
    root[:, 1] = -bob + 0.01 * _smooth_noise(rng, (t_len,), 2 * fps)
    root[:, 2] = 0.03 * _smooth_noise(rng, (t_len,), 3 * fps)
    c["root"] = root
    c["thigh_swing"] = 0.03 * _smooth_noise(rng, (t_len, 2), 2 * fps)
    c["knee_flex"] = np.full((t_len, 2), 1.5 if person.sitting else 0.05)

    # Face: action units from the expression, talking, blinks; gaze.
    face_w = weights * person.face_expressiveness
    profile = AU_PROFILE * rng.uniform(0.6, 1.3, AU_PROFILE.shape) * (rng.random(AU_PROFILE.shape) > 0.15)
    aus = face_w @ profile
    aus *= np.clip(1.0 + 0.2 * _smooth_noise(rng, (t_len, 1), fps), 0.5, 1.5)
    surprise_face = _onset_bursts(plan, SURPRISE, fps) * person.face_expressiveness * 0.5
    aus[:, [_AU1, _AU2, _AU5, _AU26]] += surprise_face[:, None]
    talking = _telegraph(rng, t_len, person.talkativeness, 2.5 * fps)
    syllables = np.sin(2 * np.pi * np.cumsum(rng.uniform(3.5, 5.5) * (1 + 0.3 * _smooth_noise(rng, (t_len,), fps)))
                       / fps) ** 2  # fmt: skip
    aus[:, _AU26] += 0.5 * talking * syllables
    blink_starts = rng.random(t_len) < 1.0 / (3.0 * fps)
    blink = np.convolve(blink_starts.astype(float), np.hanning(max(int(0.2 * fps), 3)), mode="same")
    aus[:, _AU45] = np.clip(aus[:, _AU45] + blink, 0, 1)
    c["aus"] = np.clip(aus, 0.0, 1.5)
    saccades = np.repeat(rng.normal(0, 0.2, (t_len // 10 + 1, 2)), 10, axis=0)[:t_len]
    c["gaze"] = np.column_stack([p["gaze_x"], p["gaze_y"]]) + saccades
    return c


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
    thumb_dir = _unit(np.array([0.55, 0.8, 0.25])[None] + curl[:, None] * np.array([0.35, -0.9, 0.7])[None])
    thumb_bend = _unit(thumb_dir + curl[:, None] * np.array([0.2, -0.5, 0.6])[None])
    local[:, 1] = _THUMB_ROOT
    local[:, 2] = _THUMB_ROOT + _THUMB_SEGMENTS[0] * thumb_dir
    local[:, 3] = local[:, 2] + _THUMB_SEGMENTS[1] * thumb_bend
    local[:, 4] = local[:, 3] + _THUMB_SEGMENTS[2] * _unit(thumb_bend + 0.5 * curl[:, None] * palm * 0)
    local *= size
    return (
        wrist[:, None]
        + local[..., :1] * along[:, None]
        + local[..., 1:2] * across[:, None]
        + local[..., 2:] * palm[:, None]
    )


def _pose_3d(c: dict, person: _Person) -> tuple[np.ndarray, np.ndarray]:
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
    r_head = _rotation(c["head_pitch"], c["head_yaw"], c["head_roll"])
    slump = c["slump"][:, None]
    neck = np.array([0.0, -person.torso, 0.0])
    # A slump carries the head down and forward with the shoulders (a shrug lifts the shoulders, not the head).
    pivot = neck + np.array([0.0, -0.16, -0.02]) + slump * np.array([0.0, 0.12, 0.22])
    head = pivot[:, None] + _rotate(r_head, head_local) + c["head_shake"][:, None]

    shoulder_y = -person.torso + 0.03 - c["shrug"] + 0.05 * c["slump"]
    shoulder_x = 0.5 * (1 - 0.05 * c["slump"])
    shoulders = np.stack([np.column_stack([-shoulder_x, shoulder_y, 0.12 * c["slump"]]),
                          np.column_stack([shoulder_x, shoulder_y, 0.12 * c["slump"]])], 1)  # fmt: skip

    # Arms and hands, in the torso frame; index 0 = right arm (image left).
    elbows, wrists, hands = [], [], []
    for k, (outward, medial) in enumerate(((-1.0, 1.0), (1.0, -1.0))):
        abduct, flex, elbow = c["arm_abduct"][:, k], c["arm_flex"][:, k], c["elbow_flex"][:, k]
        u = np.column_stack([outward * np.sin(abduct), np.cos(abduct) * np.cos(flex), np.cos(abduct) * np.sin(flex)])
        forward = _unit(np.array([0.0, -0.3, 1.0]) - (u @ np.array([0.0, -0.3, 1.0]))[:, None] * u)
        inward = np.array([medial, 0.0, 0.0]) - (u @ np.array([medial, 0.0, 0.0]))[:, None] * u
        inward = _unit(inward - np.sum(inward * forward, 1, keepdims=True) * forward)
        rho = c["forearm_in"][:, k : k + 1]
        w = np.cos(rho) * forward + np.sin(rho) * inward
        f = np.cos(elbow)[:, None] * u + np.sin(elbow)[:, None] * w
        e = shoulders[:, k] + person.upper_arm * u
        wr = e + person.forearm * f + c["hand_shake"][:, k]
        ref = np.array([medial, -0.3, 0.8])
        palm0 = _unit(ref - (f @ ref)[:, None] * f)
        pr = c["pronation"][:, k : k + 1]
        palm = np.cos(pr) * palm0 + np.sin(pr) * medial * np.cross(f, palm0) * -1
        wf = c["wrist_flex"][:, k : k + 1]
        along = _unit(np.cos(wf) * f + np.sin(wf) * palm)
        palm = _unit(palm - np.sum(palm * along, 1, keepdims=True) * along)
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
    r_torso = _rotation(c["torso_pitch"], c["torso_yaw"], c["torso_roll"])
    out[:, upper_idx] = _rotate(r_torso, out[:, upper_idx])

    # Legs, in the hip frame.
    hips = np.array([[-person.hip_half, 0.02, 0.0], [person.hip_half, 0.02, 0.0]])
    thigh_base = 1.35 if person.sitting else 0.0
    for k, (hip_j, knee_j, ankle_j, big, small, heel) in enumerate(((9, 10, 11, 22, 23, 24), (12, 13, 14, 19, 20, 21))):
        out[:, hip_j] = hips[k]
        theta = thigh_base + c["thigh_swing"][:, k]
        splay = (-1 if k == 0 else 1) * 0.04
        thigh = np.column_stack([np.full(t_len, splay), np.cos(theta), np.sin(theta)])
        knee = hips[k] + person.thigh * _unit(thigh)
        shin_angle = theta - c["knee_flex"][:, k]
        ankle = knee + person.shin * np.column_stack([np.full(t_len, splay), np.cos(shin_angle), np.sin(shin_angle)])
        sign = -1 if k == 0 else 1
        out[:, knee_j], out[:, ankle_j] = knee, ankle
        out[:, heel] = ankle + np.array([0.0, 0.08, -0.06])
        out[:, big] = ankle + np.array([sign * 0.03, 0.12, 0.24])
        out[:, small] = ankle + np.array([sign * 0.11, 0.12, 0.19])
    out[:, 8] = 0.0

    r_view = _rotation(np.full(t_len, person.view_pitch), np.full(t_len, person.view_yaw), np.zeros(t_len))
    out = _rotate(r_view, out) + c["root"][:, None]
    return out, r_view @ r_torso @ r_head


def _project(points: np.ndarray, person: _Person, image_size: tuple[int, int]) -> np.ndarray:
    """Perspective projection of ``(T, V, 3)`` body-frame points to ``(T, V, 2)`` pixels, with the rest neck at
    ``person.anchor``."""
    width, height = image_size
    f = person.px_per_unit * person.distance
    neck = np.array([0.0, -person.torso, 0.0])
    r_view = _rotation(np.array(person.view_pitch), np.array(person.view_yaw), np.array(0.0))
    neck = r_view @ neck
    depth0 = person.distance - neck[2]
    shift = np.array([(person.anchor[0] - width / 2) * depth0 / f - neck[0],
                      (person.anchor[1] - height / 2) * depth0 / f - neck[1]])  # fmt: skip
    depth = np.maximum(person.distance - points[..., 2], 0.3)
    xy = (points[..., :2] + shift) * (f / depth)[..., None]
    return xy + np.array([width / 2, height / 2])


# --- detection: confidence, jitter, missing joints ----------------------------------------------------------


def _detect(
    rng: np.random.Generator, xy: np.ndarray, points: np.ndarray, r_head: np.ndarray, person: _Person,
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
    normals_z = _rotate(r_head, np.broadcast_to(_FACE_NORMALS, (t_len, 70, 3)))[..., 2]
    conf[:, 25:95] *= np.clip((normals_z + 0.15) / 0.5, 0.0, 1.0)
    ears_z = _rotate(r_head, np.broadcast_to(np.array([[-1.0, 0, 0], [1.0, 0, 0]]), (t_len, 2, 3)))[..., 2]
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
        occluded = _telegraph(rng, t_len, hand_occlusion_rate, 1.0 * fps)
        found = detected[:, wrist] & ~occluded & (conf[:, part].mean(axis=1) > 0.12)
        detected[:, part] &= found[:, None]
    out = np.empty((t_len, 137, 3), dtype=np.float32)
    out[..., :2] = np.where(detected[..., None], noisy, np.nan)
    out[..., 2] = np.where(detected, np.round(conf, 6), 0.0)
    return out


# --- the bystander -------------------------------------------------------------------------------------


def _bystander(
    rng: np.random.Generator, num_frames: int, fps: float, main: _Person, image_size: tuple[int, int],
    config: SynthConfig,
) -> np.ndarray:  # fmt: skip
    """``(T, 137, 3)`` detections of a smaller, less visible person walking across the frame once."""
    width, height = image_size
    person = _draw_person(rng, replace(config, shot_probs=(0.0, 0.0, 1.0), sitting_prob=0.0), image_size)
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
    c["head_yaw"] = 0.15 * _smooth_noise(rng, (num_frames,), 2 * fps)
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
    points, r_head = _pose_3d(c, person)
    xy = _project(points, person, image_size)
    xy[..., 0] += (anchor_x - width / 2)[:, None]
    detections = _detect(rng, xy, points, r_head, person, image_size, fps, 0.3)
    visible = (detections[:, :25, 2] > 0).sum(axis=1) >= 3
    detections[~visible] = (np.nan, np.nan, 0.0)
    return detections


# --- one video -------------------------------------------------------------------------------------------


def _unannotated(rng: np.random.Generator, plan: EmotionPlan, fps: float, config: SynthConfig) -> np.ndarray:
    """``(T,)`` bool EXPR frames left unannotated: gaps at some segment boundaries and random stretches."""
    t_len = plan.num_frames
    mask = _telegraph(rng, t_len, config.unannotated_rate, 1.0 * fps)
    for s in plan.segments[1:]:
        if rng.random() < config.boundary_gap_prob:
            before, after = rng.integers(2, int(0.4 * fps) + 3, 2)
            mask[max(0, s.start - before) : s.start + after] = True
    return mask


def synthesize_video(
    rng: np.random.Generator,
    plan: EmotionPlan,
    *,
    fps: float = 30.0,
    image_size: tuple[int, int] = (1280, 720),
    config: SynthConfig | None = None,
) -> SynthVideo:
    """Generate the keypoints and labels of one video (pure: no files).

    Args:
        rng: the video's random generator (``np.random.default_rng([seed, index])`` in datasets).
        plan: its emotion segments (see :func:`plan_emotions`).
        fps: frame rate (motion frequencies are in Hz, so the motion looks the same at any rate).
        image_size: ``(width, height)`` in pixels.
        config: rates of empty frames, bystanders, unannotated frames... (:class:`SynthConfig`).

    Returns:
        A :class:`SynthVideo` with ``keypoints`` ``(T, P, 137, 3)`` (``P = 2`` when a bystander walks through,
        else 1), per-frame labels and the valence/arousal trajectory.
    """
    config = config or SynthConfig()
    t_len = plan.num_frames
    person = _draw_person(rng, config, image_size)
    va = _valence_arousal(rng, plan, fps)
    controls = _controls(rng, plan, va, person, fps)
    points, r_head = _pose_3d(controls, person)
    xy = _project(points, person, image_size)
    main = _detect(rng, xy, points, r_head, person, image_size, fps, config.hand_occlusion_rate)
    people = [main]
    if rng.random() < config.bystander_rate:
        people.append(_bystander(rng, t_len, fps, person, image_size, config))
    keypoints = np.stack(people, 1)
    empty = _telegraph(rng, t_len, config.empty_frame_rate, config.empty_stretch_frames)
    keypoints[empty] = (np.nan, np.nan, 0.0)
    bystander_first = _telegraph(rng, t_len, 0.3, fps) if len(people) > 1 else np.zeros(t_len, dtype=bool)

    emotion = plan.frame_emotions()
    expr = np.where(_unannotated(rng, plan, fps, config), UNANNOTATED, emotion).astype(np.int8)
    va_label = np.round(va, 3).astype(np.float32)
    va_label[_telegraph(rng, t_len, config.unannotated_rate, 1.0 * fps)] = np.nan
    return SynthVideo(
        keypoints=keypoints,
        emotion=emotion,
        expr=expr,
        va=va_label,
        va_true=va.astype(np.float32),
        bystander_first=bystander_first,
        plan=plan,
        fps=float(fps),
        image_size=(int(image_size[0]), int(image_size[1])),
    )


# --- files -------------------------------------------------------------------------------------------------


def video_id(index: int) -> str:
    """DFEW-compatible id of video ``index`` (0-based): ``00001``, ``00002``, ..."""
    return f"{index + 1:05d}"


def frame_documents(video: SynthVideo, layout: Layout) -> list[bytes]:
    """The OpenPose JSON bytes of every frame of ``video`` (people present on that frame only)."""
    present = video.present
    out = []
    for t in range(len(video.keypoints)):
        slots = np.flatnonzero(present[t])
        if video.bystander_first[t]:
            slots = slots[::-1]
        out.append(orjson.dumps(openpose_document(video.keypoints[t, slots], layout)))
    return out


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
    from tqdm import tqdm

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
    bar = tqdm(total=num_videos, unit="video", desc="synth", disable=None if progress else True)
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


def main_person_features(keypoints: np.ndarray, layout: Layout | None = None) -> np.ndarray:
    """Simple per-frame features of the main person: neck-centred, shoulder-scaled ``x, y`` of every joint.

    Args:
        keypoints: ``(T, P, V, 3)`` (slot 0 is used) or ``(T, V, 3)``.

    Returns:
        ``(T, 2 V)`` float32 (0 for missing joints).
    """
    from graphemo.graphs.normalize import normalize_pose

    layout = layout or get_layout(LAYOUT_NAME)
    kp = keypoints[:, 0] if keypoints.ndim == 4 else keypoints
    return normalize_pose(kp, layout)[..., :2].reshape(len(kp), -1)


__all__: Sequence[str] = (
    "AFFWILD2_LIKE_PRIOR",
    "EmotionPlan",
    "Segment",
    "SynthConfig",
    "SynthSummary",
    "SynthVideo",
    "dataset_splits",
    "frame_documents",
    "generate_dataset",
    "plan_emotions",
    "synthesize_video",
    "video_id",
    "write_video",
)
_unused: Callable | None = None
