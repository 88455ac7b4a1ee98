"""Model bundles: round trip, refusal of pickled code, clear errors, directories and MLflow URIs."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import torch

from graphemo.inference.bundle import (
    BUNDLE_FORMAT,
    BundleError,
    bundle_from_model,
    load_bundle,
    save_bundle,
)
from graphemo.models import VAToClass, build_model, model_input_kind

LAYOUT = "body25"
# Tiny options per model family (one entry per registered name family and input kind).
TINY: dict[str, dict] = {
    "mlp": {"hidden": [16, 8]},
    "gcn": {"hidden": 8, "num_layers": 2},
    "gat": {"hidden": 8, "num_layers": 2, "heads": 2},
    "gin": {"hidden": 8, "num_layers": 2},
    "stgcn": {"channels": [8, 16]},
    "stgcnpp": {"channels": [8, 16], "streams": ["joint", "bone"]},
    "ctrgcn": {"channels": [8, 16]},
    "kinematic": {"hidden": 8},
    "stream_ensemble": {"streams": ["joint", "joint_motion"], "backbone_options": {"channels": [8]}},
    "skeleton_transformer": {"dim": 8, "depth": 1, "heads": 2, "patch_frames": 4, "max_frames": 16},
    "resnet18": {},
}
WINDOW = {"length": 8, "stride": 1, "anchor": "center", "persons": 1}
IMAGE_SIZE = 32


def tiny_bundle(name: str, task: str = "both", *, layout: str = LAYOUT, seed: int = 0, **kwargs):
    """An untrained tiny model of ``name`` whose BatchNorm statistics are not the defaults, and its bundle."""
    torch.manual_seed(seed)
    kind_window = model_input_kind(name).name == "window"
    in_channels = 3
    model = build_model(name, layout=layout, in_channels=in_channels, task=task, **TINY[name])
    model.train()
    with torch.no_grad():  # move the BatchNorm running statistics away from their initial values
        for _ in range(2):
            model_forward(model, name, random_input(name, 4, layout=layout), layout=layout)
    model.eval()
    bundle = bundle_from_model(
        model,
        name=name,
        model_options=TINY[name],
        layout=layout,
        task=task,
        input_options=dict(WINDOW) if kind_window else {"size": IMAGE_SIZE} if name == "resnet18" else None,
        **kwargs,
    )
    return model, bundle


def random_input(name: str, n: int, *, layout: str = LAYOUT) -> torch.Tensor:
    """A random dense input of ``n`` samples for model ``name`` (graph: ``(n, V, 3)``)."""
    from graphemo.skeleton import get_layout

    v = get_layout(layout).num_joints
    if model_input_kind(name).name == "window":
        x = torch.randn(n, 3, WINDOW["length"], v, 1)
        x[:, 2] = x[:, 2].abs()  # confidences: some motion and bone vectors are not masked
        return x
    if name == "resnet18":
        return torch.randn(n, 3, IMAGE_SIZE, IMAGE_SIZE)
    return torch.randn(n, v, 3)


def model_forward(
    model: torch.nn.Module, name: str, x: torch.Tensor, *, layout: str = LAYOUT
) -> dict[str, torch.Tensor]:
    """Call a model on a dense input (graph models get a PyG batch of ``n`` skeleton graphs)."""
    if x.dim() == 3:
        from torch_geometric.data import Batch, Data

        from graphemo.skeleton import get_layout

        edge_index = get_layout(layout).edge_index()
        batch = Batch.from_data_list([Data(x=xi, edge_index=edge_index) for xi in x])
        return model(batch.x, batch.edge_index, batch.batch)
    return model(x)


@pytest.mark.parametrize("name", list(TINY))
def test_round_trip_predicts_identically(tmp_path, name):
    model, bundle = tiny_bundle(name)
    path = tmp_path / "b" / "bundle.pt"
    save_bundle(bundle, path)
    loaded = load_bundle(path)
    assert loaded.source == str(path)
    for key in ("model", "model_options", "layout", "task", "num_classes", "class_names", "input_kind", "features",
                "input_options", "va_to_class", "metadata"):  # fmt: skip
        assert getattr(loaded, key) == getattr(bundle, key), key
    rebuilt = loaded.build()
    assert not rebuilt.training
    x = random_input(name, 3)
    with torch.inference_mode():
        expected, got = model_forward(model, name, x), model_forward(rebuilt, name, x)
    assert set(got) == {"expr", "va"}
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_bundle_records_the_spec(tmp_path):
    mapper = VAToClass().fit(np.array([[0.5, 0.5], [-0.5, -0.5], [0.6, 0.4]]), np.array([3, 4, 3]))
    _, bundle = tiny_bundle("stgcn", "va", va_to_class=mapper, metadata={"run_id": "abc", "metrics": {"ccc": 0.4}})
    save_bundle(bundle, tmp_path)  # a directory gets bundle.pt
    loaded = load_bundle(tmp_path)  # and loads from the directory
    assert loaded.input_kind == "window" and loaded.input_options == WINDOW
    assert loaded.features == {"center": "neck", "scale": "body", "confidence": True, "mask": False}
    assert loaded.class_names[:2] == ["anger", "disgust"] and loaded.num_classes == 7
    assert loaded.metadata == {"run_id": "abc", "metrics": {"ccc": 0.4}}
    assert loaded.model_options == {"channels": [8, 16]}  # plain lists
    np.testing.assert_array_equal(loaded.va_mapper().predict(np.array([[0.5, 0.5], [-0.4, -0.6]])), [3, 4])


class _RunsCode:
    """An object whose unpickling would create a file (stand-in for arbitrary code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_with_code_is_refused(tmp_path):
    _, bundle = tiny_bundle("mlp")
    data = bundle.to_dict()
    marker = tmp_path / "code-ran"
    data["metadata"] = {"payload": _RunsCode(str(marker))}
    path = tmp_path / "evil.pt"
    torch.save(data, path)
    with pytest.raises(pickle.UnpicklingError, match=r"evil\.pt"):
        load_bundle(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("layout"), r"lacks the keys \['layout'\]"),
        (lambda d: d.update(format=BUNDLE_FORMAT + 1), f"bundle format {BUNDLE_FORMAT + 1}"),
        (lambda d: d.update(model="stgcnn"), "unknown model 'stgcnn'"),
        (lambda d: d.update(input_kind="image"), "input_kind 'image'"),
        (lambda d: d.update(input_options={"length": 0}), r"input_options\.length: 0 is outside"),
        (lambda d: d.update(input_options={"lenght": 8}), r"input_options\.lenght: unknown key; did you mean 'length'"),
        (lambda d: d.update(class_names=["a", "b"]), "2 class names for 7 classes"),
    ],
)
def test_bad_bundles_are_named(tmp_path, change, message):
    _, bundle = tiny_bundle("stgcn")
    data = bundle.to_dict()
    change(data)
    path = tmp_path / "bad.pt"
    torch.save(data, path)
    with pytest.raises(BundleError, match=message) as info:
        load_bundle(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["stgcn", "resnet18", "mlp"])
def test_format_1_bundles_still_load(tmp_path, name):
    """Format 1 kept a window model's window in ``window`` and an image model's size in ``image_size``."""
    model, bundle = tiny_bundle(name)
    data = bundle.to_dict()
    options = data.pop("input_options")
    data.update(format=1, window=options if name == "stgcn" else None, image_size=options.get("size"))
    torch.save(data, tmp_path / "old.pt")
    loaded = load_bundle(tmp_path / "old.pt")
    assert loaded.input_options == bundle.input_options and loaded.input_kind == bundle.input_kind
    x = random_input(name, 2)
    with torch.inference_mode():
        assert torch.equal(model_forward(model, name, x)["expr"], model_forward(loaded.build(), name, x)["expr"])


def test_a_plain_state_dict_is_not_a_bundle(tmp_path):
    model, _ = tiny_bundle("mlp")
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(BundleError, match="plain state dict"):
        load_bundle(tmp_path / "weights.pt")
    with pytest.raises(FileNotFoundError):
        load_bundle(tmp_path / "missing.pt")
    with pytest.raises(BundleError, match=r"without bundle\.pt"):
        load_bundle(tmp_path)


def test_weights_that_do_not_fit_are_named(tmp_path):
    _, bundle = tiny_bundle("mlp")
    bundle.model_options = {"hidden": [16, 4]}
    save_bundle(bundle, tmp_path / "b.pt")
    with pytest.raises(BundleError, match=r"b\.pt: the weights do not fit model 'mlp'"):
        load_bundle(tmp_path / "b.pt").build()


def test_metadata_must_be_plain_data():
    model, _ = tiny_bundle("mlp")
    with pytest.raises(TypeError, match=r"metadata.when"):
        bundle_from_model(model, name="mlp", model_options=TINY["mlp"], layout=LAYOUT, task="both",
                          metadata={"when": object()})  # fmt: skip


def test_save_is_atomic(tmp_path, monkeypatch):
    _, first = tiny_bundle("mlp", seed=1)
    _, second = tiny_bundle("gcn", seed=2)
    path = tmp_path / "bundle.pt"
    save_bundle(first, path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(second, path)
    assert load_bundle(path).model == "mlp"  # the old bundle is intact
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.pt"]  # and no temporary file is left


def test_training_only_options_are_not_used_to_rebuild(tmp_path):
    _, bundle = tiny_bundle("resnet18")
    bundle.model_options = {"pretrained": str(tmp_path / "imagenet-weights-not-here.pth"), "freeze_backbone": True}
    rebuilt = bundle.build()  # no attempt to read the ImageNet file; weights come from the bundle
    assert all(p.requires_grad for p in rebuilt.parameters())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SQLAlchemy deprecations inside MLflow's store
def test_mlflow_runs_uri(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    _, bundle = tiny_bundle("mlp")
    save_bundle(bundle, tmp_path / "out" / "bundle.pt")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("bundles", artifact_location=(tmp_path / "artifacts").as_uri())
    run_id = client.create_run(experiment).info.run_id
    client.log_artifact(run_id, str(tmp_path / "out" / "bundle.pt"), artifact_path="model")  # as the trainer does
    shutil.rmtree(tmp_path / "out")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the default tracking URI
    loaded = load_bundle(f"runs:/{run_id}/model")
    assert loaded.source == f"runs:/{run_id}/model"
    assert torch.equal(loaded.state_dict["heads.expr.weight"], bundle.state_dict["heads.expr.weight"])
    with pytest.raises(BundleError, match="cannot download from MLflow"):
        load_bundle("runs:/0123456789abcdef0123456789abcdef/model", tracking_uri=uri)
