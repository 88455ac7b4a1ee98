"""Models: registry, shapes on every task and layout, overfitting, ST-GCN against the paper's dense form, weights."""

from __future__ import annotations

import importlib.util
import os
import pickle
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader

from graphemo.graphs import FeatureSpec, ImageSpec, SkeletonImages, SkeletonWindows, WindowSpec, input_kind
from graphemo.graphs.kinds import input_kinds
from graphemo.models import (
    VAToClass,
    build_model,
    list_models,
    model_input_kind,
    model_options,
    register_model,
)
from graphemo.models.adjacency import normalized_adjacency, partitioned_adjacency
from graphemo.models.stgcn import PAPER_CHANNELS, STGCN, SpatialGraphConv, neighbour_lists, prefer_sparse
from graphemo.models.stgcn_reference import ReferenceSTGCN
from graphemo.skeleton import get_layout

SKELETON_MODELS = [n for n in list_models() if model_input_kind(n).name != "image"]
CNN_MODELS = [n for n in list_models() if model_input_kind(n).name == "image"]
IMAGE_SIZE = 32


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny batches run faster on one thread, and far faster when other jobs share the two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_inputs(kind, layout_name: str, n: int, channels: int = 3, frames: int = 16) -> tuple[torch.Tensor, ...]:
    """Random model inputs of the given kind: (x, edge_index, batch) for graphs, (x,) otherwise."""
    layout = get_layout(layout_name)
    v = layout.num_joints
    if kind.name == "graph":
        batch = Batch.from_data_list(
            [Data(x=torch.randn(v, channels), edge_index=layout.edge_index()) for _ in range(n)]
        )
        return batch.x, batch.edge_index, batch.batch
    if kind.name == "window":
        return (torch.randn(n, channels, frames, v, 2),)
    return (torch.randn(n, 3, IMAGE_SIZE, IMAGE_SIZE),)


def check_outputs(out: dict[str, torch.Tensor], task: str, n: int, num_classes: int) -> None:
    expected = {"expr": ["expr"], "va": ["va"], "both": ["expr", "va"]}[task]
    for member in out.pop("aux", []):  # a late-fusion ensemble's streams, in training: each a full output
        check_outputs(member, task, n, num_classes)
    assert sorted(out) == expected
    if "expr" in out:
        assert out["expr"].shape == (n, num_classes)
        assert torch.isfinite(out["expr"]).all()
    if "va" in out:
        assert out["va"].shape == (n, 2)
        assert (out["va"].abs() <= 1).all()


def forward_backward(name: str, layout: str, task: str, num_classes: int = 7, n: int = 3) -> None:
    torch.manual_seed(0)
    kind = model_input_kind(name)
    model = build_model(name, layout=layout, in_channels=3, task=task, num_classes=num_classes)
    out = model(*make_inputs(kind, layout, n))
    check_outputs(out, task, n, num_classes)
    sum(v.sum() for v in out.values()).backward()
    no_grad = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_grad, f"{name}: parameters without gradient: {no_grad[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("task", ["expr", "va", "both"])
@pytest.mark.parametrize("name", list_models())
def test_every_model_every_task_forward_backward(name: str, task: str) -> None:
    forward_backward(name, "body25", task)


@pytest.mark.parametrize("name", list_models())
def test_every_model_with_eight_classes(name: str) -> None:
    forward_backward(name, "body25", "both", num_classes=8)


@pytest.mark.parametrize("layout", ["body25_face", "wholebody"])
@pytest.mark.parametrize("name", SKELETON_MODELS)
def test_skeleton_models_on_face_and_wholebody_layouts(name: str, layout: str) -> None:
    forward_backward(name, layout, "both")


@pytest.mark.parametrize("name", list_models())
def test_every_model_overfits_a_tiny_batch(name: str) -> None:
    torch.manual_seed(0)
    kind = model_input_kind(name)
    n = 4 if kind.name == "image" else 8
    inputs = make_inputs(kind, "body25", n)
    y, va = torch.arange(n) % 7, torch.rand(n, 2) * 1.6 - 0.8
    model = build_model(name, layout="body25", in_channels=3, task="both")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3 if kind.name == "image" else 3e-3)
    losses = []
    for _ in range(15 if kind.name == "image" else 30):
        out = model(*inputs)
        loss = F.cross_entropy(out["expr"], y) + F.mse_loss(out["va"], va)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3]), f"{name}: loss {losses[:3]} -> {losses[-3:]}"


# --- registry ---------------------------------------------------------------------------------


def test_registry_suggests_close_names_and_options() -> None:
    with pytest.raises(KeyError, match="did you mean 'stgcn'"):
        build_model("stgnc", layout="body25", in_channels=3, task="expr")
    with pytest.raises(ValueError, match="did you mean 'channels'"):
        build_model("stgcn", layout="body25", in_channels=3, task="expr", chanels=(8,))
    with pytest.raises(ValueError, match="fixes conv='gat'"):
        build_model("gat", layout="body25", in_channels=3, task="expr", conv="gcn")
    with pytest.raises(ValueError, match="task must be one of"):
        build_model("mlp", layout="body25", in_channels=3, task="emotion")
    with pytest.raises(ValueError, match="num_classes"):
        build_model("mlp", layout="body25", in_channels=3, task="expr", num_classes=1)
    with pytest.raises(KeyError, match="did you mean 'wholebody'"):
        build_model("mlp", layout="wholebdy", in_channels=3, task="expr")


def test_registry_options_and_fixed_options() -> None:
    assert "conv" not in model_options("gat")
    assert model_options("gnn")["conv"] == "gcn"
    model = build_model("gnn", layout="body25", in_channels=4, task="va", conv="gin", hidden=16, num_layers=2)
    assert model.embed.in_features == 4 and model.heads.expr is None
    with pytest.raises(ValueError, match="already registered"):
        register_model("mlp")(STGCN)

    class NoKind(torch.nn.Module):
        pass

    with pytest.raises(TypeError, match="input_kind"):
        register_model("no_kind_model")(NoKind)


def test_model_input_kinds_are_registered_kinds() -> None:
    for name in list_models():
        kind = model_input_kind(name)
        assert kind.name in input_kinds()
        assert input_kind(kind.name) is kind


@pytest.mark.parametrize("name", list_models())
def test_every_model_takes_a_batch_of_its_dataset(name: str, tiny_store) -> None:
    kind = model_input_kind(name)
    features = FeatureSpec(confidence=True, mask=True)
    options = {"window": WindowSpec(length=8), "image": ImageSpec(size=IMAGE_SIZE)}.get(kind.name)
    dataset = kind.dataset(tiny_store, options=options, task="both", features=features)
    batch = next(iter(DataLoader(dataset, batch_size=4)))
    model = build_model(name, layout=dataset.layout, in_channels=dataset.in_channels, task="both").eval()
    with torch.no_grad():
        out = model(*kind.batch_inputs(batch))
    check_outputs(out, "both", 4, 7)
    if isinstance(dataset, SkeletonWindows):
        assert batch.x.shape == (4, 4, 8, tiny_store.layout.num_joints, 1)
    if isinstance(dataset, SkeletonImages):
        assert batch.x.shape == (4, 3, IMAGE_SIZE, IMAGE_SIZE)


# --- ST-GCN ------------------------------------------------------------------------------------


def paper_spatial_partition(layout_name: str) -> torch.Tensor:
    """The authors' loop (st-gcn ``graph.py``, max_hop=1) over joints, written out independently."""
    layout = get_layout(layout_name)
    v = layout.num_joints
    adjacency = np.eye(v)
    for a, b in layout.edge_array():
        adjacency[a, b] = adjacency[b, a] = 1
    normalized = adjacency / adjacency.sum(axis=0, keepdims=True)
    hops = layout.hop_distance()
    center = layout.neck
    out = np.zeros((3, v, v))
    for i in range(v):  # i: the joint (column), j: its neighbour (row)
        for j in range(v):
            if adjacency[j, i]:
                dj, di = hops[j, center], hops[i, center]
                out[0 if dj == di else (1 if dj < di else 2), j, i] = normalized[j, i]
    return torch.from_numpy(out).float()


@pytest.mark.parametrize("layout", ["body25", "body25_face", "wholebody"])
def test_spatial_partition_is_the_papers(layout: str) -> None:
    a = partitioned_adjacency(get_layout(layout), "spatial")
    torch.testing.assert_close(a, paper_spatial_partition(layout))
    torch.testing.assert_close(a.sum(0), normalized_adjacency(get_layout(layout)))
    torch.testing.assert_close(a.sum(dim=(0, 1)), torch.ones(a.size(-1)))  # each joint averages its neighbourhood


def test_spatial_partition_roles_on_body25() -> None:
    a = partitioned_adjacency(get_layout("body25"), "spatial")
    root, centripetal, centrifugal = (a[k] > 0 for k in range(3))
    neck, nose, r_shoulder, r_elbow, r_wrist, mid_hip = 1, 0, 2, 3, 4, 8
    assert root[neck, neck] and root[r_elbow, r_elbow]
    assert all(centrifugal[j, neck] for j in (nose, r_shoulder, 5, mid_hip))  # every neighbour of the centre is farther
    assert not centripetal[:, neck].any()
    assert centripetal[r_shoulder, r_elbow] and centrifugal[r_wrist, r_elbow]
    assert torch.equal(partitioned_adjacency(get_layout("body25"), "uniform")[0], a.sum(0))
    with pytest.raises(ValueError, match="partition"):
        partitioned_adjacency(get_layout("body25"), "distance")


def randomize_stats(model: torch.nn.Module) -> None:
    """Non-trivial edge importance and batch-norm statistics, so the comparison exercises them."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("importance"):
                p.uniform_(0.5, 1.5)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


@pytest.mark.parametrize(
    ("layout", "options"),
    [("body25", {}), ("wholebody", {}), ("body25", {"aggregation": "dense"}), ("wholebody", {"partition": "uniform"})],
)
def test_stgcn_equals_the_dense_einsum_reference(layout: str, options: dict) -> None:
    torch.manual_seed(0)
    kwargs = {"channels": (16, 16, 32), "dropout": 0.0, **options}
    model = build_model("stgcn", layout=layout, in_channels=3, task="both", **kwargs)
    randomize_stats(model)
    reference = ReferenceSTGCN(get_layout(layout), 3, "both", **{k: v for k, v in kwargs.items() if k != "aggregation"})
    reference.load_state_dict(model.state_dict())
    STGCN(get_layout(layout), 3, "both", **kwargs).load_state_dict(reference.state_dict())  # older checkpoints load
    x = torch.randn(3, 3, 12, get_layout(layout).num_joints, 2)
    model.eval(), reference.eval()
    with torch.no_grad():
        for key, value in model(x).items():
            torch.testing.assert_close(value, reference(x)[key], rtol=1e-5, atol=1e-6)
    # Gradients through train-mode batch norm amplify float32 rounding (~1e-3 relative at V=137): compare in float64.
    model.double(), reference.double()
    x = x.double()
    model.train(), reference.train()
    outputs = []
    for net in (model, reference):
        out = net(x)
        (out["expr"].square().sum() + out["va"].sum()).backward()
        outputs.append(out)
    for key in outputs[0]:
        torch.testing.assert_close(outputs[0][key], outputs[1][key], rtol=1e-10, atol=1e-12)
    grads = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[name].grad, rtol=1e-9, atol=1e-10, msg=name)


def random_adjacency(k: int, v: int, density: float, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(k, v, v, generator=generator) < density
    return mask * torch.rand(k, v, v, generator=generator)


@pytest.mark.parametrize("case", ["body25", "wholebody", "sparse_random", "dense_random"])
def test_neighbour_lists_gather_exactly_the_adjacency(case: str) -> None:
    if case in ("body25", "wholebody"):
        a = partitioned_adjacency(get_layout(case)) * (torch.rand(3, 1, 1) + 0.5)
    else:  # empty columns, columns with several neighbours, and (dense) nearly full ones
        a = random_adjacency(3, 20, 0.05 if case == "sparse_random" else 0.6)
    k, v, _ = a.shape
    first_source, first_entry, extra_source, extra_target, extra_entry = neighbour_lists(a)
    # entries: every non-zero of A once; the first entries of empty columns are zeros of A
    used = torch.cat([first_entry, extra_entry])
    assert set(torch.nonzero(a.reshape(-1)).flatten().tolist()) <= set(used.tolist())
    assert len(set(extra_entry.tolist()) | set(first_entry.tolist())) == len(used)
    assert torch.count_nonzero(a.reshape(-1)[used]) == torch.count_nonzero(a)
    x = torch.randn(v, 5, dtype=torch.float64)
    flat = a.double().reshape(-1)
    z = x[first_source] * flat[first_entry, None]
    z = z.index_add(0, extra_target, x[extra_source] * flat[extra_entry, None])
    torch.testing.assert_close(z.view(v, k, 5), torch.einsum("kvw,vc->wkc", a.double(), x))


def test_sparse_or_dense_aggregation_choice() -> None:
    layouts = ("body25", "body25_face", "body25_hands", "wholebody")
    chooses_sparse = {name: prefer_sparse(partitioned_adjacency(get_layout(name))) for name in layouts}
    assert chooses_sparse == {"body25": True, "body25_face": True, "body25_hands": True, "wholebody": True}
    assert not prefer_sparse(partitioned_adjacency(get_layout("body25"), "uniform"))  # 1 entry in 9
    assert prefer_sparse(partitioned_adjacency(get_layout("wholebody"), "uniform"))  # 1 in 44
    assert not prefer_sparse(random_adjacency(3, 137, 0.1))
    assert prefer_sparse(random_adjacency(3, 137, 0.01))
    blocks = build_model("stgcn", layout="wholebody", in_channels=3, task="va", aggregation="dense").blocks
    assert not any(block.gcn.sparse for block in blocks)
    with pytest.raises(ValueError, match="aggregation"):
        build_model("stgcn", layout="body25", in_channels=3, task="va", aggregation="csr")


@pytest.mark.parametrize("frames", [5, 40])  # dense: a batched product for few frames, a convolution for many
@pytest.mark.parametrize("density", [0.05, 0.6])
def test_spatial_graph_conv_sparse_equals_dense_in_any_memory_layout(density: float, frames: int) -> None:
    torch.manual_seed(0)
    a = random_adjacency(3, 20, density, seed=1)
    sparse, dense = SpatialGraphConv(4, 6, a, sparse=True).double(), SpatialGraphConv(4, 6, a, sparse=False).double()
    with torch.no_grad():
        sparse.importance.uniform_(0.5, 1.5)
        sparse.conv.bias.uniform_(-1, 1)
    dense.load_state_dict(sparse.state_dict())
    x = torch.randn(2, 4, frames, 20, dtype=torch.float64)
    grads = []
    for net, inp in ((sparse, x), (dense, x), (sparse, x.contiguous(memory_format=torch.channels_last))):
        net.zero_grad()
        out = net(inp)
        assert out.is_contiguous(memory_format=torch.channels_last)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        grads.append((out.detach(), net.importance.grad.clone(), net.conv.weight.grad.clone(), net.conv.bias.grad))
    for other in grads[1:]:
        for g0, g1 in zip(grads[0], other, strict=True):
            torch.testing.assert_close(g0, g1, rtol=1e-10, atol=1e-12)
    assert grads[0][1][a == 0].abs().sum() == 0  # importance learns on the graph's entries only


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("aggregation", ["sparse", "dense"])
def test_stgcn_exports_and_freezes_with_either_aggregation(tmp_path, aggregation: str, fmt: str) -> None:
    from graphemo.inference.bundle import bundle_from_model
    from graphemo.inference.export import export_bundle
    from graphemo.inference.predict import Predictor

    if fmt == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("ONNX export needs onnx, onnxscript and onnxruntime (pip install 'graphemo[export]')")
    torch.manual_seed(0)
    options = {"channels": [8, 16], "aggregation": aggregation}
    model = build_model("stgcn", layout="body25", in_channels=3, task="both", **options).eval()
    window = {"length": 8}
    bundle = bundle_from_model(
        model, name="stgcn", model_options=options, layout="body25", task="both", input_options=window
    )
    report = export_bundle(bundle, fmt, tmp_path / f"stgcn.{fmt}")
    assert report.ok and report.checks, report.format_table()
    if fmt == "torchscript":  # streaming's traced, frozen copy
        assert Predictor(bundle, optimize=True).how == "torchscript (frozen)"


def test_stgcn_structure_residuals_strides_and_edge_importance() -> None:
    model = build_model("stgcn", layout="body25", in_channels=3, task="expr", channels=PAPER_CHANNELS)
    strides = [block.tcn[2].stride[0] for block in model.blocks]
    assert strides == [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]  # the paper: stride 2 at the 5th and 8th units
    assert model.blocks[0].residual is None
    assert isinstance(model.blocks[1].residual, torch.nn.Identity)
    assert isinstance(model.blocks[4].residual, torch.nn.Sequential)  # 1x1 conv, stride 2, BN
    assert [block.tcn[2].kernel_size for block in model.blocks] == [(9, 1)] * 10
    out = model(torch.randn(2, 3, 16, 25, 1))
    out["expr"].sum().backward()
    importance = model.blocks[3].gcn.importance
    assert importance.shape == (3, 25, 25)
    # Importance only matters on edges: its gradient is zero wherever the adjacency is.
    off_graph = model.blocks[3].gcn.adjacency == 0
    assert importance.grad[~off_graph].abs().sum() > 0
    assert importance.grad[off_graph].abs().sum() == 0
    plain = build_model("stgcn", layout="body25", in_channels=3, task="expr", edge_importance=False)
    assert not [n for n, _ in plain.named_parameters() if "importance" in n]
    with pytest.raises(ValueError, match="odd"):
        build_model("stgcn", layout="body25", in_channels=3, task="expr", temporal_kernel=4)
    with pytest.raises(ValueError, match="channels"):
        build_model("stgcn", layout="body25", in_channels=3, task="expr", channels=[])


# --- weights -----------------------------------------------------------------------------------


def test_cnn_loads_a_local_pretrained_state_dict(tmp_path) -> None:
    torch.manual_seed(0)
    weights = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(weights, path)
    model = build_model("resnet18", layout="body25", in_channels=3, task="expr", pretrained=str(path))
    assert torch.equal(model.backbone.conv1.weight, weights["conv1.weight"])
    assert torch.equal(model.backbone.layer4[1].bn2.running_var, weights["layer4.1.bn2.running_var"])
    frozen = build_model(
        "resnet18", layout="body25", in_channels=3, task="expr", pretrained=str(path), freeze_backbone=True
    )
    assert not any(p.requires_grad for p in frozen.backbone.parameters())
    assert all(p.requires_grad for p in frozen.heads.parameters())
    with pytest.raises(ValueError, match="not a torchvision resnet50"):
        build_model("resnet50", layout="body25", in_channels=3, task="expr", pretrained=str(path))
    with pytest.raises(FileNotFoundError):
        build_model("resnet18", layout="body25", in_channels=3, task="expr", pretrained=str(tmp_path / "none.pth"))
    checkpoint = tmp_path / "checkpoint.pth"
    torch.save({"model": weights, "epoch": 3}, checkpoint)
    with pytest.raises(ValueError, match="expected a state dict"):
        build_model("resnet18", layout="body25", in_channels=3, task="expr", pretrained=str(checkpoint))


def test_densenet_loads_torchvision_legacy_key_names(tmp_path) -> None:
    weights = torchvision.models.densenet121().state_dict()
    # torchvision's published file: "norm.1" for "norm1" and so on, and no num_batches_tracked (pre-1.0 batch norm).
    legacy = {
        re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k): v
        for k, v in weights.items()
        if not k.endswith("num_batches_tracked")
    }
    assert legacy.keys() != weights.keys()
    path = tmp_path / "densenet121.pth"
    torch.save(legacy, path)
    model = build_model("densenet121", layout="body25", in_channels=3, task="va", pretrained=str(path))
    key = "features.denseblock1.denselayer1.norm1.weight"
    assert torch.equal(model.backbone.state_dict()[key], weights[key])


class _RunsCode:
    """Unpickling this calls ``os.system`` (the attack ``weights_only=True`` exists to stop)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pretrained_refuses_a_pickle_with_code(tmp_path) -> None:
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pth"
    state = torchvision.models.resnet18().state_dict()
    state["fc.weight"] = _RunsCode(str(marker))
    torch.save(state, path)
    with pytest.raises(pickle.UnpicklingError, match="refused to load"):
        build_model("resnet18", layout="body25", in_channels=3, task="expr", pretrained=str(path))
    assert not marker.exists()


# --- VA -> class ------------------------------------------------------------------------------


def test_va_to_class_fits_predicts_and_round_trips(tmp_path) -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.6, 0.4], [-0.6, -0.4], [0.0, 0.0]])  # happiness, sadness, neutral
    classes = np.array([3, 4, 6])
    y = np.repeat(classes, 50)
    va = np.repeat(centres, 50, axis=0) + rng.normal(0, 0.1, (150, 2))
    va_noisy, y_noisy = np.vstack([va, [[np.nan, 0.0], [0.9, 0.9]]]), np.append(y, [3, -1])  # both rows ignored
    mapper = VAToClass().fit(va_noisy, y_noisy)
    assert mapper.classes.tolist() == [3, 4, 6]
    np.testing.assert_allclose(mapper.centroids, centres, atol=0.05)
    assert mapper.predict(centres).tolist() == [3, 4, 6]
    assert (mapper.predict(va) == y).mean() > 0.95
    path = tmp_path / "mapper.pth"
    torch.save({"va_to_class": mapper.state_dict()}, path)
    restored = VAToClass().load_state_dict(torch.load(path, weights_only=True)["va_to_class"])
    assert np.array_equal(restored.predict(va), mapper.predict(va))
    with pytest.raises(RuntimeError, match="before fit"):
        VAToClass().predict(centres)
    with pytest.raises(ValueError, match="at least two classes"):
        VAToClass().fit(va[:50], y[:50])
    with pytest.raises(ValueError, match="expected va"):
        VAToClass().fit(va[:, :1], y)
    with pytest.raises(ValueError, match="bad VAToClass state"):
        VAToClass().load_state_dict({"classes": [1, 2], "centroids": [[0.0, 0.0]]})
