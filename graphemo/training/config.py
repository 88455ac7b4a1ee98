"""The experiment configuration: one dataclass per YAML section, checked before anything trains.

An experiment YAML is composed (see :mod:`graphemo.training.compose`) into one mapping whose sections are
the dataclasses below::

    name: quickstart            # MLflow experiment name
    task: both                  # expr | va | both
    seed: 0
    data: {...}                 # DataConfig: where the keypoints/labels/store are, split, features, windows
    model: {name: stgcn, ...}   # registry name + that model's options (graphemo.models)
    optim: {...}                # OptimConfig
    schedule: {...}             # ScheduleConfig
    loss: {...}                 # LossConfig
    train: {...}                # TrainConfig: epochs, batch size, device, AMP, early stopping, checkpoints
    subsample: {...}            # graphemo.subsampling.SubsampleSpec, or null: training frames only
    tracking: {...}             # TrackingConfig: MLflow store and experiment

Every field has a default, so a YAML only says what differs. Field metadata ``min``/``max`` are range checks
made by :func:`graphemo.training.compose.build_config`, which also reports unknown keys with the closest
known key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Task = Literal["expr", "va", "both"]


def _range(lo: float | None = None, hi: float | None = None, **extra: Any) -> dict[str, Any]:
    return {"min": lo, "max": hi, **extra}


@dataclass
class SynthSource:
    """Generate a synthetic dataset into ``out`` when it is not there yet (``graphemo synth``)."""

    out: str = "data/synth"
    videos: int = field(default=60, metadata=_range(1, 99_999))
    seed: int = 0
    frames: list[int] = field(default_factory=lambda: [120, 300])
    fps: float = field(default=30.0, metadata=_range(1.0))
    val_fraction: float = field(default=0.2, metadata=_range(0.0, 0.9))

    def __post_init__(self) -> None:
        if len(self.frames) != 2 or not 1 <= self.frames[0] <= self.frames[1]:
            raise ValueError(f"frames must be [min, max] with 1 <= min <= max, got {self.frames}")


@dataclass
class LabelSources:
    """Label files (any combination); see :class:`graphemo.graphs.store.LabelSpec`."""

    abaw_expr: str | None = None
    abaw_va: str | None = None
    dfew: str | None = None
    dfew_fold: int = field(default=1, metadata=_range(1, 5))
    csv: str | None = None
    keep_other: bool = False


@dataclass
class SplitConfig:
    """Video-level split (official splits first; the rest seeded and label-stratified)."""

    val_ratio: float = field(default=0.2, metadata=_range(0.0, 0.9))
    test_ratio: float = field(default=0.0, metadata=_range(0.0, 0.9))
    seed: int = 0
    official: bool = True
    validate_on: Literal["val", "test"] = "val"


@dataclass
class FeatureConfig:
    """Per-joint features (:class:`graphemo.graphs.dataset.FeatureSpec`)."""

    center: Literal["neck", "mid_hip"] = "neck"
    scale: Literal["shoulders", "torso"] = "shoulders"
    confidence: bool = True
    mask: bool = False


@dataclass
class WindowConfig:
    """Spatio-temporal windows for sequence models (:class:`graphemo.graphs.dataset.SkeletonWindows`)."""

    length: int = field(default=32, metadata=_range(1, 4096))
    stride: int = field(default=1, metadata=_range(1, 256))
    anchor: Literal["center", "end"] = "center"
    persons: int = field(default=1, metadata=_range(1, 8))


@dataclass
class AugmentConfig:
    """Training augmentation (:class:`graphemo.graphs.augment.Augment`); ``enabled: false`` turns it off."""

    enabled: bool = True
    mirror: float = field(default=0.5, metadata=_range(0.0, 1.0))
    rotate: float = field(default=10.0, metadata=_range(0.0, 180.0))
    scale: float = field(default=0.1, metadata=_range(0.0, 0.9))
    jitter: float = field(default=0.01, metadata=_range(0.0, 1.0))
    joint_dropout: float = field(default=0.05, metadata=_range(0.0, 0.9))


@dataclass
class DataConfig:
    """Where the data is and how samples are made.

    ``synth`` (optional) generates data first; ``keypoints`` + ``labels`` are prepared into ``store`` (reused
    instantly when unchanged). With only ``store`` given, an existing prepared store is used as is.
    ``layout``, ``max_people`` and ``fps`` are how the store is prepared; ``parts`` (e.g. ``[body, face]``)
    is what the model sees of the store's skeleton (default: all of it).
    """

    store: str = "data/synth/store"
    keypoints: str | None = None
    labels: LabelSources = field(default_factory=LabelSources)
    synth: SynthSource | None = None
    layout: str = "auto"
    max_people: int = field(default=1, metadata=_range(1, 8))
    fps: float | None = None
    parts: list[str] | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    window: WindowConfig = field(default_factory=WindowConfig)
    image_size: int = field(default=224, metadata=_range(16, 1024))
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    clip_metrics: bool = True


@dataclass
class OptimConfig:
    """Optimiser. ``momentum``/``nesterov`` apply to SGD, ``betas`` to the Adam family."""

    name: Literal["sgd", "adam", "adamw", "adamax"] = "adamw"
    lr: float = field(default=1e-3, metadata=_range(0.0, 10.0))
    weight_decay: float = field(default=1e-4, metadata=_range(0.0, 1.0))
    momentum: float = field(default=0.9, metadata=_range(0.0, 1.0))
    nesterov: bool = False
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])

    def __post_init__(self) -> None:
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas}")


@dataclass
class ScheduleConfig:
    """Learning-rate schedule: ``onecycle`` (per step), ``cosine`` (per epoch, with warm-up), ``plateau``
    (ReduceLROnPlateau on the validation score) or ``none``."""

    name: Literal["onecycle", "cosine", "plateau", "none"] = "onecycle"
    warmup_epochs: float = field(default=0.0, metadata=_range(0.0))
    pct_start: float = field(default=0.3, metadata=_range(0.0, 1.0))
    min_lr: float = field(default=0.0, metadata=_range(0.0))
    factor: float = field(default=0.5, metadata=_range(0.0, 1.0))
    patience: int = field(default=2, metadata=_range(0))


@dataclass
class LossConfig:
    """Losses. ``class_weights: balanced`` weighs cross-entropy by inverse training-class frequency (the classes
    are imbalanced); ``va: ccc`` minimises 1 - CCC (the ABAW metric), ``mse`` the squared error."""

    class_weights: Literal["balanced", "none"] = "balanced"
    label_smoothing: float = field(default=0.0, metadata=_range(0.0, 0.5))
    va: Literal["ccc", "mse"] = "ccc"
    expr_weight: float = field(default=1.0, metadata=_range(0.0))
    va_weight: float = field(default=1.0, metadata=_range(0.0))


@dataclass
class EarlyStopConfig:
    """Stop when the validation score has not improved by ``min_delta`` for ``patience`` epochs (0: never)."""

    patience: int = field(default=0, metadata=_range(0))
    min_delta: float = field(default=0.0, metadata=_range(0.0))


@dataclass
class TrainConfig:
    """The training loop."""

    epochs: int = field(default=10, metadata=_range(1, 100_000))
    batch_size: int = field(default=64, metadata=_range(1))
    eval_batch_size: int | None = field(default=None, metadata=_range(1))
    max_steps_per_epoch: int | None = field(default=None, metadata=_range(1))
    num_workers: int = field(default=0, metadata=_range(0, 64))
    device: str = "auto"
    amp: Literal["auto", "on", "off"] = "auto"
    compile: bool = False
    grad_clip: float | None = field(default=1.0, metadata=_range(0.0))
    early_stopping: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    deterministic: bool = False
    output_dir: str = "runs"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.device != "auto" and not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")


@dataclass
class TrackingConfig:
    """MLflow. ``uri: null`` uses ``MLFLOW_TRACKING_URI`` or else ``sqlite:///mlflow.db`` in the working directory
    (no server needed). ``experiment: null`` uses the experiment's ``name``."""

    uri: str | None = None
    experiment: str | None = None
    artifact_location: str | None = None
    log_checkpoint: bool = True
    enabled: bool = True


@dataclass
class ModelConfig:
    """A registered model (:func:`graphemo.models.list_models`) and its options; the options are checked
    against the model's constructor (unknown ones get the closest known option suggested)."""

    name: str = "mlp"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExperimentConfig:
    """One run, fully resolved."""

    name: str = "experiment"
    run_name: str | None = None
    description: str = ""
    task: Task = "both"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    subsample: Any = None  # graphemo.subsampling.SubsampleSpec or None (built by compose.build_config)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    @property
    def num_classes(self) -> int:
        """7 emotions, 8 with ABAW's ``other`` kept."""
        return 8 if self.data.labels.keep_other else 7
