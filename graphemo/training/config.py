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
    cv: {...}                   # graphemo.graphs.splits.CVSpec, or null: k folds by group, each a run
    tracking: {...}             # TrackingConfig: MLflow store and experiment

Every field has a default, so a YAML only says what differs. Field checks (:func:`graphemo.specs.option`) are made by
:func:`graphemo.training.compose.build_config`, which also reports unknown keys with the closest
known key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from graphemo.graphs.augment import Augment
from graphemo.graphs.features import FeatureSpec
from graphemo.graphs.images import ImageSpec
from graphemo.graphs.splits import CVSpec, SplitSpec
from graphemo.graphs.windows import WindowSpec
from graphemo.labels import LabelSpec
from graphemo.labels.tasks import Task
from graphemo.sources.mocap.importer import MocapSpec
from graphemo.sources.synth import SynthSpec
from graphemo.specs import option
from graphemo.store import PrepareOptions
from graphemo.subsampling.spec import SubsampleSpec


@dataclass
class DataConfig:
    """Where the data is and how samples are made. Each sub-section is the library's own spec of that option
    group, so a YAML section, a library argument and a bundle record are one object.

    ``synth`` (optional) generates data first (:class:`~graphemo.sources.synth.SynthSpec`); ``mocap`` imports
    motion capture straight into ``store`` (:class:`~graphemo.sources.mocap.importer.MocapSpec`); ``keypoints`` +
    ``labels`` (:class:`~graphemo.labels.LabelSpec`) are prepared into ``store`` with ``prepare``
    (:class:`~graphemo.store.PrepareOptions`), reused instantly when unchanged. With only ``store`` given, an
    existing prepared store is used as is. ``parts`` (e.g. ``[body, face]``) is what the model sees of the store's
    skeleton (default: all of it); ``split``, ``features``, ``window``, ``image`` and ``augment`` are
    :class:`~graphemo.graphs.splits.SplitSpec`, :class:`~graphemo.graphs.features.FeatureSpec`,
    :class:`~graphemo.graphs.windows.WindowSpec`, :class:`~graphemo.graphs.images.ImageSpec` and
    :class:`~graphemo.graphs.augment.Augment`. Validation and test videos are scored on every ``eval_stride``-th
    frame with a person (1: every frame): frame metrics over those with labels, clip metrics over all of them.
    """

    store: str = "data/synth/store"
    keypoints: str | None = None
    labels: LabelSpec = field(default_factory=LabelSpec)
    synth: SynthSpec | None = None
    mocap: MocapSpec | None = None
    prepare: PrepareOptions = field(default_factory=PrepareOptions)
    parts: list[str] | None = None
    split: SplitSpec = field(default_factory=SplitSpec)
    features: FeatureSpec = field(default_factory=FeatureSpec)
    window: WindowSpec = field(default_factory=WindowSpec)
    image: ImageSpec = field(default_factory=ImageSpec)
    augment: Augment = field(default_factory=Augment)
    clip_metrics: bool = True
    eval_stride: int = option(1, min=1, max=10_000)


@dataclass
class OptimConfig:
    """Optimiser. ``momentum``/``nesterov`` apply to SGD, ``betas`` to the Adam family."""

    name: Literal["sgd", "adam", "adamw", "adamax"] = "adamw"
    lr: float = option(1e-3, min=0.0, max=10.0)
    weight_decay: float = option(1e-4, min=0.0, max=1.0)
    momentum: float = option(0.9, min=0.0, max=1.0)
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
    warmup_epochs: float = option(0.0, min=0.0)
    pct_start: float = option(0.3, min=0.0, max=1.0)
    min_lr: float = option(0.0, min=0.0)
    factor: float = option(0.5, min=0.0, max=1.0)
    patience: int = option(2, min=0)


@dataclass
class LossConfig:
    """Losses. ``class_weights: balanced`` weighs cross-entropy by inverse training-class frequency (the classes
    are imbalanced); ``va: ccc`` minimises 1 - CCC (the ABAW metric), ``mse`` the squared error."""

    class_weights: Literal["balanced", "none"] = "balanced"
    label_smoothing: float = option(0.0, min=0.0, max=0.5)
    va: Literal["ccc", "mse"] = "ccc"
    expr_weight: float = option(1.0, min=0.0)
    va_weight: float = option(1.0, min=0.0)


@dataclass
class EarlyStopConfig:
    """Stop when the validation score has not improved by ``min_delta`` for ``patience`` epochs (0: never)."""

    patience: int = option(0, min=0)
    min_delta: float = option(0.0, min=0.0)


@dataclass
class TrainConfig:
    """The training loop.

    Model selection: the kept model is the epoch with the best validation ``select_metric`` (``select: best``;
    ``score`` is F1 / mean CCC / their mean, or any validation metric, e.g. ``clip_f1``), the last epoch
    (``last``), or the epoch ending the best mean of ``smooth_epochs`` consecutive epochs (``smoothed``: less
    noise on a small validation set). Early stopping watches the same metric.
    """

    epochs: int = option(10, min=1, max=100_000)
    batch_size: int = option(64, min=1)
    eval_batch_size: int | None = option(None, min=1)
    max_steps_per_epoch: int | None = option(None, min=1)
    num_workers: int = option(0, min=0, max=64)
    device: str = "auto"
    amp: Literal["auto", "on", "off"] = "auto"
    compile: bool = False
    grad_clip: float | None = option(1.0, min=0.0)
    early_stopping: EarlyStopConfig = field(default_factory=EarlyStopConfig)
    select: Literal["best", "last", "smoothed"] = "best"
    select_metric: str = "score"
    smooth_epochs: int = option(3, min=1, max=100)
    deterministic: bool = False
    output_dir: str = "runs"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.device != "auto" and not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {self.device!r}")


@dataclass
class TrackingConfig:
    """MLflow. ``uri: null`` uses ``MLFLOW_TRACKING_URI`` or else ``sqlite:///mlflow.db`` in the working directory
    (no server needed). ``experiment: null`` uses the experiment's ``name``. ``log_checkpoint``: upload the kept
    model's bundle; ``log_model``: also as an MLflow model (:mod:`graphemo.inference.mlflow_model`: the Models
    column, the registry, ``mlflow models serve -m runs:/<run id>/model``)."""

    uri: str | None = None
    experiment: str | None = None
    artifact_location: str | None = None
    log_checkpoint: bool = True
    log_model: bool = True
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
    subsample: SubsampleSpec | None = None
    cv: CVSpec | None = None
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
