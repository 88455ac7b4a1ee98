"""What each emotion does to posture, motion and valence/arousal, and the emotion plan of a video."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d

from graphemo.sources.synth.signals import smooth_noise, telegraph

NUM_EMOTIONS = 7  # graphemo's seven classes; index 7 is "other"
ANGER, DISGUST, FEAR, HAPPINESS, SADNESS, SURPRISE, NEUTRAL, OTHER = range(8)

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


# --- controls: what every joint angle does over time -------------------------------------------------


def expression_weights(plan: EmotionPlan, sigma_frames: float) -> tuple[np.ndarray, np.ndarray]:
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


def valence_arousal(rng: np.random.Generator, plan: EmotionPlan, fps: float) -> np.ndarray:
    """``(T, 2)`` valence/arousal trajectory around the segments' prototypes, in [-1, 1]."""
    t_len = plan.num_frames
    targets = np.zeros((t_len, 2))
    offset = rng.normal(0.0, 0.08, 2)  # the person's / annotator's own baseline
    for s in plan.segments:
        target = VA_PROTOTYPES[s.emotion] * (0.55 + 0.45 * s.intensity) + rng.normal(0.0, 0.12, 2)
        targets[s.start : s.stop] = target + offset
    va = gaussian_filter1d(targets, 0.5 * fps, axis=0, mode="nearest")
    va += 0.1 * smooth_noise(rng, (t_len, 2), 1.5 * fps) + 0.01 * rng.standard_normal((t_len, 2))
    return np.clip(va, -1.0, 1.0)


def onset_bursts(plan: EmotionPlan, emotion: int, fps: float) -> np.ndarray:
    """``(T,)`` brief peak (alpha function, peak 1 at 0.4 s, x intensity) at the onset of each segment of
    ``emotion``."""
    t = np.arange(plan.num_frames) / fps
    out = np.zeros(plan.num_frames)
    for s in plan.segments:
        if s.emotion == emotion:
            dt = np.clip(t - s.start / fps, 0.0, None) / 0.4
            out += s.intensity * dt * np.exp(1.0 - dt)
    return out


def unannotated_frames(rng: np.random.Generator, plan: EmotionPlan, fps: float, config: SynthConfig) -> np.ndarray:
    """``(T,)`` bool EXPR frames left unannotated: gaps at some segment boundaries and random stretches."""
    t_len = plan.num_frames
    mask = telegraph(rng, t_len, config.unannotated_rate, 1.0 * fps)
    for s in plan.segments[1:]:
        if rng.random() < config.boundary_gap_prob:
            before, after = rng.integers(2, int(0.4 * fps) + 3, 2)
            mask[max(0, s.start - before) : s.start + after] = True
    return mask
