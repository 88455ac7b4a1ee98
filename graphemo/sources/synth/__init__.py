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

One module per concern: :mod:`~.emotions` (tables, plans, valence/arousal), :mod:`~.person` (the person and
the controls of every joint angle), :mod:`~.face`, :mod:`~.kinematics` (3-D skeleton, projection),
:mod:`~.detection` (what OpenPose would see, the bystander), :mod:`~.signals`, :mod:`~.video` (one video, pure)
and :mod:`~.dataset` (files).

Public API: :func:`plan_emotions` and :func:`synthesize_video` (pure, no disk), :func:`write_video`,
:func:`generate_dataset` and :class:`SynthSpec` (files). Everything is deterministic given the seed, whatever
the number of workers.
"""

from graphemo.sources.synth.dataset import (
    GENERATOR_VERSION,
    SynthSpec,
    SynthSummary,
    dataset_splits,
    generate_dataset,
    write_video,
)
from graphemo.sources.synth.emotions import (
    AFFWILD2_LIKE_PRIOR,
    ANGER,
    DISGUST,
    FEAR,
    HAPPINESS,
    NEUTRAL,
    NUM_EMOTIONS,
    OTHER,
    SADNESS,
    SURPRISE,
    EmotionPlan,
    Segment,
    SynthConfig,
    plan_emotions,
)
from graphemo.sources.synth.video import LAYOUT_NAME, SynthVideo, frame_documents, synthesize_video, video_id

__all__ = [
    "AFFWILD2_LIKE_PRIOR",
    "ANGER",
    "DISGUST",
    "FEAR",
    "GENERATOR_VERSION",
    "HAPPINESS",
    "LAYOUT_NAME",
    "NEUTRAL",
    "NUM_EMOTIONS",
    "OTHER",
    "SADNESS",
    "SURPRISE",
    "EmotionPlan",
    "Segment",
    "SynthConfig",
    "SynthSpec",
    "SynthSummary",
    "SynthVideo",
    "dataset_splits",
    "frame_documents",
    "generate_dataset",
    "plan_emotions",
    "synthesize_video",
    "video_id",
    "write_video",
]
