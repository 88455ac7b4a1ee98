"""Export: TorchScript and ONNX files of every model family match PyTorch's outputs; the CLI reports parity."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from graphemo.cli import main
from graphemo.inference.bundle import save_bundle
from graphemo.inference.export import ExportError, example_input, export_bundle
from tests.test_bundle import TINY, model_forward, tiny_bundle

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
needs_onnx = pytest.mark.skipif(
    not HAS_ORT, reason="ONNX export needs onnx, onnxscript and onnxruntime (pip install 'graphemo[export]')"
)


def dense_forward(model, name, x):
    """The PyTorch model on the exported model's dense input, outputs in (expr, va) order."""
    out = model_forward(model, name, x)
    return [out[k] for k in ("expr", "va") if k in out]


def check_against_pytorch(run, model, bundle, batch=5):
    x = example_input(bundle, batch)
    with torch.inference_mode():
        expected = dense_forward(model, bundle.model, x)
    got = run(x)
    assert len(got) == len(expected)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(np.asarray(g), e.numpy(), atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", list(TINY))
def test_torchscript_matches_pytorch(tmp_path, name):
    model, bundle = tiny_bundle(name)
    report = export_bundle(bundle, "torchscript", tmp_path / "model.pt")
    assert report.ok and len(report.checks) == 4  # (expr, va) x two batch sizes
    assert {c.batch for c in report.checks} == {1, 3}
    extra = {"graphemo.json": ""}
    with pytest.warns(FutureWarning, match="deprecated"):  # torch.jit is deprecated; still a supported format
        loaded = torch.jit.load(str(tmp_path / "model.pt"), _extra_files=extra)
    meta = json.loads(extra["graphemo.json"])
    assert meta["model"] == name and meta["outputs"] == ["expr", "va"] and "state_dict" not in meta

    def run(x):
        with torch.inference_mode():
            return [t.numpy() for t in loaded(x)]

    check_against_pytorch(run, model, bundle)


@needs_onnx
@pytest.mark.parametrize(
    "name",
    ["mlp", "gcn", "stgcn", "stgcnpp", "ctrgcn", "kinematic", "stream_ensemble", "skeleton_transformer", "resnet18"],
)
def test_onnx_matches_pytorch(tmp_path, name):
    import onnx
    import onnxruntime

    model, bundle = tiny_bundle(name)
    path = tmp_path / "model.onnx"
    report = export_bundle(bundle, "onnx", path)
    assert report.ok and report.checks, report.format_table()
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["graphemo"])["layout"] == bundle.layout
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["expr", "va"]
    check_against_pytorch(lambda x: session.run(None, {"x": x.numpy()}), model, bundle)


def test_a_va_model_exports_one_output(tmp_path):
    _, bundle = tiny_bundle("stgcn", "va")
    report = export_bundle(bundle, "torchscript", tmp_path / "va.pt")
    assert report.outputs == ["va"] and {c.output for c in report.checks} == {"va"}


def test_a_mismatch_is_reported(tmp_path, monkeypatch):
    import graphemo.inference.export as export

    _, bundle = tiny_bundle("mlp")
    real = export.load_exported

    def off_by_a_little(*args):
        run = real(*args)
        return lambda x: [o + 1e-2 for o in run(x)]

    monkeypatch.setattr(export, "load_exported", off_by_a_little)
    report = export_bundle(bundle, "torchscript", tmp_path / "m.pt")
    assert not report.ok and "MISMATCH" in report.format_table()


def test_an_exporter_failure_says_why(tmp_path, monkeypatch):
    _, bundle = tiny_bundle("gcn")

    def refuse(*args, **kwargs):
        raise RuntimeError("scatter is not traceable")

    monkeypatch.setattr(torch.jit, "trace", refuse)
    with pytest.raises(ExportError, match=r"gcn .* cannot be exported to torchscript: not supported because"):
        export_bundle(bundle, "torchscript", tmp_path / "m.pt")
    with pytest.raises(ValueError, match="format"):
        export_bundle(bundle, "tflite", tmp_path / "m.tflite")


def test_export_command(tmp_path, capsys):
    fmt = "torchscript"  # the ONNX path differs only inside export_bundle (tested above)
    _, bundle = tiny_bundle("stgcn")
    save_bundle(bundle, tmp_path / "bundle.pt")
    out = tmp_path / "exported" / f"model.{fmt}"
    assert main(["export", "--model", str(tmp_path), "--format", fmt, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.is_file() and f"exported {fmt}" in printed and "MISMATCH" not in printed
    assert printed.count(" ok") == 4
