"""The model bundle: one file with everything needed to predict, loadable with ``weights_only=True``.

Training saves a bundle beside its checkpoint and logs it to MLflow inside the run's MLflow model ``model``
(:mod:`graphemo.inference.mlflow_model`, as ``model/artifacts/bundle.pt``), or alone as ``model/bundle.pt``.
It holds the model's registry name and options, the layout and normalisation of the training data, the
label map, the window of sequence models, the weights, and the VA-to-class mapper; prediction needs no
training YAML. On disk it is a plain dict of tensors, strings, numbers, lists and dicts, so
``torch.load(..., weights_only=True)`` reads it and refuses any file that smuggles in code.

::

    bundle = bundle_from_model(model, name="stgcn", model_options={...}, layout="body25", task="expr",
                               features=FeatureSpec(), input_options=WindowSpec(length=32, anchor="end"))
    save_bundle(bundle, "runs/x/bundle.pt")
    model = load_bundle("runs:/<run_id>/model").build()     # eval mode, weights loaded
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

BUNDLE_FORMAT = 2
READS_FORMATS = (1, 2)
BUNDLE_FILE = "bundle.pt"
MLFLOW_ARTIFACT = "model/bundle.pt"
# Options that only matter when training (a local ImageNet file, frozen layers): never used to rebuild.
TRAINING_ONLY_OPTIONS = {"pretrained": None, "freeze_backbone": False}


class BundleError(ValueError):
    """A file that is not a usable graphemo bundle; the message names the file and the problem."""


@dataclass
class ModelBundle:
    """Everything needed to rebuild a trained model and feed it (see the module docstring).

    Attributes:
        model: registry name, e.g. ``"stgcn"``.
        model_options: the options given to :func:`graphemo.models.build_model`.
        layout: layout registry name of the training data, e.g. ``"body25_face_hands"``.
        task: ``"expr"``, ``"va"`` or ``"both"``.
        num_classes: emotion classes of the ``expr`` head (7, or 8 with ``other``).
        class_names: ``num_classes`` names in class-index order.
        input_kind: the name of the model's :class:`~graphemo.graphs.kinds.InputKind` (``"window"``).
        features: the :class:`graphemo.graphs.features.FeatureSpec` fields (center, scale, confidence, mask).
        input_options: the input kind's options as plain data (a window model's
            :class:`~graphemo.graphs.windows.WindowSpec`; an image model's image size), ``{}`` without.
        state_dict: parameter and buffer name -> tensor (CPU).
        va_to_class: :meth:`graphemo.models.VAToClass.state_dict` (lets a VA-only model report a class).
        metadata: free-form plain data: run id, experiment, metrics, graphemo version, creation time.
        source: where the bundle was loaded from (not saved).
    """

    model: str
    model_options: dict
    layout: str
    task: str
    num_classes: int
    class_names: list[str]
    input_kind: str
    features: dict
    input_options: dict
    state_dict: dict
    va_to_class: dict | None = None
    metadata: dict = field(default_factory=dict)
    source: str = field(default="<memory>", compare=False)

    @property
    def kind(self) -> Any:
        """The :class:`~graphemo.graphs.kinds.InputKind` object (the model's)."""
        from graphemo.models import model_input_kind

        return model_input_kind(self.model)

    def feature_spec(self) -> Any:
        """The :class:`~graphemo.graphs.features.FeatureSpec` the model was fed with."""
        from graphemo.graphs.features import FeatureSpec
        from graphemo.specs import build_spec

        return build_spec(FeatureSpec, self.features, (self.source, "features"), from_text=False)

    def input_spec(self) -> Any:
        """The input kind's options as its spec (e.g. a :class:`~graphemo.graphs.windows.WindowSpec`), or None."""
        return self.kind.options_from_record(self.input_options, self.source)

    @property
    def in_channels(self) -> int:
        """Input channels per joint (3 for the RGB images of image models)."""
        return self.kind.in_channels(self.feature_spec())

    def build(self, device: str | torch.device = "cpu") -> nn.Module:
        """The model in eval mode on ``device`` with the bundle's weights loaded.

        Raises:
            BundleError: the weights do not fit the model the bundle describes.
        """
        from graphemo.models import build_model, model_options

        options = dict(self.model_options)
        allowed = model_options(self.model)
        options.update({k: v for k, v in TRAINING_ONLY_OPTIONS.items() if k in allowed})
        net = build_model(
            self.model,
            layout=self.layout,
            in_channels=self.in_channels,
            task=self.task,
            num_classes=self.num_classes,
            **options,
        )
        try:
            net.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as err:
            raise BundleError(f"{self.source}: the weights do not fit model {self.model!r}: {str(err)[:600]}") from err
        return net.to(device).eval()

    def va_mapper(self):
        """The fitted :class:`graphemo.models.VAToClass`, or None when the bundle has none."""
        if self.va_to_class is None:
            return None
        from graphemo.models import VAToClass

        return VAToClass().load_state_dict(self.va_to_class)

    def describe(self) -> str:
        """One line: model, task, input, layout, classes, input options."""
        extra = self.kind.describe(self.input_spec())
        return (f"{self.model} ({self.input_kind}, task {self.task}, {self.num_classes} classes) on {self.layout}"
                + (f", {extra}" if extra else ""))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The plain dict that :func:`save_bundle` writes (``format`` first, no ``source``)."""
        out: dict[str, Any] = {"format": BUNDLE_FORMAT}
        for f in dataclasses.fields(self):
            if f.name != "source":
                out[f.name] = getattr(self, f.name)
        return out


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain data (tuples become lists); raises ``TypeError`` naming ``where`` for anything else."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise TypeError(f"{where}: keys must be strings, got {k!r}")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{where}: {type(value).__name__} is not plain data (str, number, bool, None, list, dict)")


def bundle_from_model(
    model: nn.Module,
    *,
    name: str,
    model_options: dict | None = None,
    layout: str,
    task: str,
    num_classes: int = 7,
    class_names: list[str] | None = None,
    features: Any = None,
    input_options: Any = None,
    va_to_class: Any = None,
    metadata: dict | None = None,
) -> ModelBundle:
    """Make a bundle from a (trained) model and the spec it was built and fed with.

    Args:
        model: the model built by ``build_model(name, **model_options, ...)``; its ``state_dict`` is copied to CPU.
        name: its registry name.
        model_options: the options given to ``build_model`` (plain data; tuples become lists).
        layout: layout name of the training data (a :class:`Layout` is accepted too).
        task, num_classes: as given to ``build_model``.
        class_names: default graphemo's 7 emotions (8 with ``other``).
        features: a ``FeatureSpec`` or a dict of its fields (default ``FeatureSpec()``).
        input_options: the options of the model's input kind: a spec (``WindowSpec(length=16)``) or a dict of its
            fields (defaults for what is not given); ignored by kinds without options.
        va_to_class: a fitted ``VAToClass`` or its ``state_dict()``.
        metadata: free-form plain data to keep (run id, metrics, ...).

    Returns:
        A checked :class:`ModelBundle`.
    """
    from graphemo.graphs.features import FeatureSpec
    from graphemo.labels.emotions import class_names as default_names
    from graphemo.models import model_input_kind
    from graphemo.specs import spec_dict

    features = features if isinstance(features, FeatureSpec) else FeatureSpec(**dict(features or {}))
    kind = model_input_kind(name)
    if kind.options is not None and not isinstance(input_options, kind.options):
        input_options = kind.options(**dict(input_options or {}))
    if va_to_class is not None and not isinstance(va_to_class, dict):
        va_to_class = va_to_class.state_dict()
    bundle = ModelBundle(
        model=name.lower(),
        model_options=_plain(dict(model_options or {}), "model_options"),
        layout=getattr(layout, "name", layout),
        task=task,
        num_classes=int(num_classes),
        class_names=list(class_names or default_names(keep_other=num_classes == 8))[:num_classes],
        input_kind=kind.name,
        features=spec_dict(features),
        input_options=kind.record(input_options if kind.options is not None else None),
        state_dict={k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()},
        va_to_class=_plain(va_to_class, "va_to_class"),
        metadata=_plain(dict(metadata or {}), "metadata"),
    )
    check_bundle(bundle.to_dict(), "<memory>")
    return bundle


def upgrade_format_1(data: dict) -> dict:
    """A format-1 bundle dict (``window`` / ``image_size`` fields) in format 2 (``input_options``)."""
    data = dict(data)
    window, image_size = data.pop("window", None), data.pop("image_size", None)
    options = {"window": window, "image": {"size": image_size}}.get(data.get("input_kind"), {})
    data["input_options"] = options or {}
    data["format"] = 2
    return data


def check_bundle(data: Any, source: str) -> dict:
    """The bundle dict ``data`` in the current format (format 1 is upgraded), or :class:`BundleError` naming
    ``source`` when it is not a well-formed bundle."""
    from graphemo.models import list_models, model_input_kind
    from graphemo.specs import SpecError

    if not isinstance(data, dict):
        raise BundleError(f"{source}: not a graphemo bundle (a {type(data).__name__}, expected a dict)")
    if "optimizer" in data and "config_digest" in data:
        raise BundleError(f"{source}: this is a training checkpoint (last.pt), not a model bundle; give the run's "
                          "model/bundle.pt (or runs:/<run id>/model)")  # fmt: skip
    if "format" not in data:
        looks = "a plain state dict" if data and all(isinstance(v, Tensor) for v in data.values()) else "a dict"
        raise BundleError(
            f"{source}: not a graphemo bundle ({looks} without a 'format' key); make one with save_bundle"
        )
    if data["format"] not in READS_FORMATS:
        raise BundleError(
            f"{source}: bundle format {data['format']!r}, this graphemo reads formats {READS_FORMATS}; "
            "re-export the bundle with a matching graphemo version"
        )
    if data["format"] == 1:
        data = upgrade_format_1(data)
    names = [f.name for f in dataclasses.fields(ModelBundle) if f.name != "source"]
    required = [f.name for f in dataclasses.fields(ModelBundle) if f.default is dataclasses.MISSING]
    missing = [k for k in required if k not in data]
    if missing:
        raise BundleError(f"{source}: bundle lacks the keys {missing}")
    unknown = sorted(set(data) - set(names) - {"format"})
    if unknown:
        raise BundleError(f"{source}: bundle has unknown keys {unknown} (written by a newer graphemo?)")
    name = data["model"]
    if not isinstance(name, str) or name.lower() not in list_models():
        raise BundleError(f"{source}: unknown model {name!r} (registered: {', '.join(list_models())})")
    kind = model_input_kind(name)
    if data["input_kind"] != kind.name:
        raise BundleError(f"{source}: input_kind {data['input_kind']!r} but model {name!r} takes {kind.name!r}")
    if data["task"] not in ("expr", "va", "both"):
        raise BundleError(f"{source}: task must be expr, va or both, got {data['task']!r}")
    if len(data["class_names"]) != data["num_classes"]:
        raise BundleError(f"{source}: {len(data['class_names'])} class names for {data['num_classes']} classes")
    try:
        from graphemo.graphs.features import FeatureSpec
        from graphemo.specs import build_spec

        build_spec(FeatureSpec, data["features"], (source, "features"), from_text=False)
        kind.options_from_record(data["input_options"], source)
    except SpecError as err:
        raise BundleError(f"{source}: {'.'.join(err.path[1:])}: {err.reason}") from None
    state = data["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise BundleError(f"{source}: state_dict must map names to tensors")
    return data


def save_bundle(bundle: ModelBundle, path: str | os.PathLike[str]) -> None:
    """Write ``bundle`` to ``path`` atomically (a temporary file in the same folder, then renamed).

    A directory path gets ``bundle.pt`` inside it.
    """
    path = Path(path)
    if path.is_dir():
        path = path / BUNDLE_FILE
    data = bundle.to_dict()
    check_bundle(data, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(data, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_mlflow_uri(value: str) -> bool:
    """True for MLflow artifact URIs (``runs:/<id>/model``, ``models:/name/1``, ``mlflow-artifacts:/...``)."""
    return isinstance(value, str) and value.split(":", 1)[0] in ("runs", "models", "mlflow-artifacts")


def resolve_bundle_path(path_or_uri: str | os.PathLike[str], *, tracking_uri: str | None = None) -> Path:
    """The local bundle file for a file, a directory holding ``bundle.pt``, or an MLflow URI (downloaded)."""
    if is_mlflow_uri(str(path_or_uri)):
        import mlflow.artifacts

        uri = str(path_or_uri)
        tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        from graphemo.training.tracking import global_tracking_uri

        try:  # MLflow 3 resolves a run's logged model ("runs:/<id>/model") with its global URI
            with global_tracking_uri(tracking_uri):
                local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=tracking_uri))
        except Exception as err:  # MLflow raises its own exception types for missing runs/artifacts
            raise BundleError(f"{uri}: cannot download from MLflow (tracking URI {tracking_uri}): {err}") from err
    else:
        local = Path(path_or_uri)
    if local.is_dir():
        candidates = [local / BUNDLE_FILE, local / MLFLOW_ARTIFACT, local / "artifacts" / BUNDLE_FILE]  # the last:
        # inside an MLflow model (graphemo.inference.mlflow_model), which runs:/<id>/model names in MLflow 3
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise BundleError(f"{path_or_uri}: a directory without {BUNDLE_FILE}")
        local = found
    if not local.is_file():
        raise FileNotFoundError(f"bundle not found: {path_or_uri}")
    return local


def load_bundle(path_or_uri: str | os.PathLike[str], *, tracking_uri: str | None = None) -> ModelBundle:
    """Load a bundle with ``weights_only=True``.

    Args:
        path_or_uri: a bundle file, a directory holding ``bundle.pt``, or an MLflow URI such as
            ``runs:/<run_id>/model`` (resolved against ``tracking_uri``, default ``$MLFLOW_TRACKING_URI``).
        tracking_uri: MLflow tracking URI for ``runs:/`` URIs.

    Returns:
        The :class:`ModelBundle` (``source`` set to where it came from).

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError: the file holds more than tensors and plain data (refused before any of it runs).
        BundleError: not a bundle, wrong format version, missing keys, unknown model name.
    """
    from graphemo.models import load_weights_only

    local = resolve_bundle_path(path_or_uri, tracking_uri=tracking_uri)
    source = str(path_or_uri) if is_mlflow_uri(str(path_or_uri)) else str(local)
    data = dict(check_bundle(load_weights_only(local), source))
    data.pop("format")
    return ModelBundle(**data, source=source)
