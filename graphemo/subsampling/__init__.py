"""Diversity-aware frame subsampling: keep few training frames that are not look-alikes, and measure it.

Consecutive video frames are near-duplicates. The pieces, one module each:

- :mod:`~graphemo.subsampling.distance`: the distance between two frames of one person (RMS joint
  displacement over the joints visible in both, in shoulder widths) as two matrix products.
- :mod:`~graphemo.subsampling.strategies`: ``every_nth`` (baseline), ``motion`` (keep a frame once the pose
  moved enough; :class:`MotionGate` for streams), ``kcenter`` (greedy farthest-point) -> kept frame indices.
- :mod:`~graphemo.subsampling.budgets`: class-aware budgets, so rare emotions keep a larger share.
- :mod:`~graphemo.subsampling.report`: the redundancy report of a selection (coverage radius, duplicates...).
- :mod:`~graphemo.subsampling.spec`: :class:`SubsampleSpec` (the experiment YAML's ``subsample:`` section)
  and :func:`select_training_frames`, the trainer's hook over a prepared store.

One video::

    from graphemo.subsampling import pose_features, select_frames, redundancy_report
    pose = pose_features(normalize_pose(keypoints[:, 0], layout), layout, ["body"])   # (T, 25, 3)
    kept = select_frames(pose, "kcenter", ratio=0.1)
    print(format_report(redundancy_report(pose, kept)))

A training set::

    frames, report = select_training_frames(store, splits["train"], SubsampleSpec("kcenter", ratio=0.1))
    train = SkeletonFrames(store, videos=splits["train"], frames=frames)
"""

from graphemo.subsampling.budgets import class_budgets, class_counts, select_frames_per_class
from graphemo.subsampling.distance import (
    PoseEmbedding,
    embed_pose,
    frame_distances,
    has_person,
    part_joints,
    pose_features,
)
from graphemo.subsampling.report import (
    DUPLICATE_THRESHOLD,
    aggregate_reports,
    format_report,
    redundancy_report,
    report_metrics,
)
from graphemo.subsampling.spec import (
    STRATEGY_NAMES,
    SubsampleSpec,
    candidate_frames,
    select_training_frames,
)
from graphemo.subsampling.strategies import (
    STRATEGIES,
    MotionGate,
    calibrate_motion,
    eligible_frames,
    get_strategy,
    resolve_count,
    select_frames,
)

__all__ = [
    "DUPLICATE_THRESHOLD",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "MotionGate",
    "PoseEmbedding",
    "SubsampleSpec",
    "aggregate_reports",
    "calibrate_motion",
    "candidate_frames",
    "class_budgets",
    "class_counts",
    "eligible_frames",
    "embed_pose",
    "format_report",
    "frame_distances",
    "get_strategy",
    "has_person",
    "part_joints",
    "pose_features",
    "redundancy_report",
    "report_metrics",
    "resolve_count",
    "select_frames",
    "select_frames_per_class",
    "select_training_frames",
]
