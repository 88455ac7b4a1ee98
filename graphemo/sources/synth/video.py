"""One generated video: keypoints and labels (pure, no files), and its OpenPose documents."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from graphemo.keypoints.openpose import openpose_document
from graphemo.labels.emotions import UNANNOTATED, graphemo_to_abaw
from graphemo.skeleton import Layout
from graphemo.sources.synth.detection import bystander, detect
from graphemo.sources.synth.emotions import NUM_EMOTIONS, EmotionPlan, SynthConfig, unannotated_frames, valence_arousal
from graphemo.sources.synth.kinematics import pose_3d, project
from graphemo.sources.synth.person import draw_person, joint_controls
from graphemo.sources.synth.signals import telegraph

LAYOUT_NAME = "body25_face_hands"  # the keypoints of every generated video


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
    person = draw_person(rng, config, image_size)
    va = valence_arousal(rng, plan, fps)
    controls = joint_controls(rng, plan, va, person, fps)
    points, r_head = pose_3d(controls, person)
    xy = project(points, person, image_size)
    main = detect(rng, xy, points, r_head, person, image_size, fps, config.hand_occlusion_rate)
    people = [main]
    if rng.random() < config.bystander_rate:
        people.append(bystander(rng, t_len, fps, person, image_size, config))
    keypoints = np.stack(people, 1)
    empty = telegraph(rng, t_len, config.empty_frame_rate, config.empty_stretch_frames)
    keypoints[empty] = (np.nan, np.nan, 0.0)
    bystander_first = telegraph(rng, t_len, 0.3, fps) if len(people) > 1 else np.zeros(t_len, dtype=bool)

    emotion = plan.frame_emotions()
    expr = np.where(unannotated_frames(rng, plan, fps, config), UNANNOTATED, emotion).astype(np.int8)
    va_label = np.round(va, 3).astype(np.float32)
    va_label[telegraph(rng, t_len, config.unannotated_rate, 1.0 * fps)] = np.nan
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
