"""Export a bundle's model to TorchScript or ONNX, and check the export against PyTorch on random inputs.

The exported model takes one dense tensor and returns the model's heads as a tuple, in the order
``expr`` (class logits, ``(N, C)``), ``va`` (``(N, 2)`` in [-1, 1]) - the ones its task has:

* graph models (MLP, GCN/GAT/GIN): ``x`` ``(N, V, F)``, the per-frame features of
  :func:`graphemo.graphs.dataset.frame_input`; the skeleton's edges and the PyG batch vector are built
  inside the exported graph, so no PyG is needed to run it (the input kind's ``forward_dense``);
* window models (ST-GCN, transformer): ``x`` ``(N, C, T, V, M)`` with the bundle's window length ``T``;
* image models (ResNet, DenseNet): ``x`` ``(N, 3, S, S)`` ImageNet-normalised images.

The batch size ``N`` is dynamic. TorchScript files are made with ``torch.jit.trace`` (``torch.jit`` is
deprecated in recent PyTorch but still runs everywhere LibTorch does); ONNX files with the
``torch.export``-based exporter (needs ``onnx`` and ``onnxscript``; the check needs ``onnxruntime``: the
``export`` extra). Both carry the bundle's description (layout, features, window, class names) as
JSON: TorchScript in the extra file ``graphemo.json``, ONNX in the model's metadata key ``graphemo``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from graphemo.inference.bundle import ModelBundle
from graphemo.inference.predict import DenseModel, example_input, quiet_jit

FORMATS = ("torchscript", "onnx")
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")
MAX_BATCH = 4096


class ExportError(RuntimeError):
    """The model cannot be exported to the format; the message says why."""


def input_description(bundle: ModelBundle) -> str:
    """The exported model's input, in words (the input kind's ``dense_shape``)."""
    return bundle.kind.dense_shape


def export_metadata(bundle: ModelBundle, outputs: list[str]) -> dict[str, Any]:
    """The bundle's description (everything but the weights) plus the exported input and outputs."""
    meta = bundle.to_dict()
    meta.pop("state_dict")
    meta["input"] = {"name": "x", "shape": list(example_input(bundle, 1).shape), "meaning": input_description(bundle)}
    meta["outputs"] = outputs
    return meta


@dataclass
class ParityCheck:
    """One output compared between PyTorch and the exported model."""

    output: str
    batch: int
    max_abs_diff: float
    atol: float
    rtol: float
    ok: bool


@dataclass
class ExportReport:
    """What :func:`export_bundle` wrote and how its outputs compared with PyTorch's."""

    path: str
    format: str
    outputs: list[str]
    checks: list[ParityCheck] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        """All checks passed (True when no check ran; see ``note``)."""
        return all(c.ok for c in self.checks)

    def format_table(self) -> str:
        lines = [f"exported {self.format} -> {self.path}  (outputs: {', '.join(self.outputs)})"]
        if self.checks:
            lines.append(f"{'output':<8} {'batch':>5} {'max |diff|':>12} {'atol':>8} {'rtol':>8}  result")
            for c in self.checks:
                lines.append(
                    f"{c.output:<8} {c.batch:>5} {c.max_abs_diff:>12.3g} {c.atol:>8.1g} {c.rtol:>8.1g}  "
                    f"{'ok' if c.ok else 'MISMATCH'}"
                )
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def export_torchscript(module: DenseModel, example: Tensor, path: Path, metadata: dict[str, Any]) -> None:
    """Trace ``module`` on ``example`` and save it with ``graphemo.json`` as an extra file."""
    with quiet_jit():
        traced = torch.jit.trace(module, (example,), check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={"graphemo.json": json.dumps(metadata)})


def export_onnx(module: DenseModel, example: Tensor, path: Path, metadata: dict[str, Any]) -> None:
    """Export ``module`` with the ``torch.export``-based ONNX exporter, batch size dynamic, one self-contained file."""
    missing = [name for name in ONNX_PACKAGES[:2] if not _importable(name)]
    if missing:
        raise ExportError(
            f"ONNX export needs {', '.join(missing)}: pip install 'graphemo[export]' (onnx, onnxscript, onnxruntime)"
        )
    with quiet_jit():
        program = torch.onnx.export(
            module,
            (example,),
            input_names=["x"],
            output_names=list(module.keys),
            dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}},
            dynamo=True,
            verbose=False,
        )
        program.model.metadata_props["graphemo"] = json.dumps(metadata)
        program.save(str(path), external_data=False)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def load_exported(path: Path, fmt: str) -> Callable[[Tensor], list[np.ndarray]]:
    """Load an exported file; returns a function from an input tensor to its outputs as numpy arrays."""
    if fmt == "torchscript":
        with quiet_jit():
            loaded = torch.jit.load(str(path), map_location="cpu")

        def run_torchscript(x: Tensor) -> list[np.ndarray]:
            with torch.inference_mode():
                return [t.numpy() for t in loaded(x)]

        return run_torchscript
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda x: list(session.run(None, {"x": x.numpy()}))


def export_bundle(
    bundle: ModelBundle,
    fmt: str,
    out: str | os.PathLike[str],
    *,
    check: bool = True,
    batches: tuple[int, ...] = (1, 3),
    atol: float = 1e-4,
    rtol: float = 1e-3,
    seed: int = 0,
) -> ExportReport:
    """Export a bundle's model and compare the exported outputs with PyTorch's.

    Args:
        bundle: the model bundle.
        fmt: ``"torchscript"`` or ``"onnx"``.
        out: the file to write (its folder is created).
        check: run the exported file on random inputs and compare with the PyTorch model.
        batches: batch sizes of the check's random inputs (the export itself is traced at batch 2, so these
            also show that the batch size is dynamic).
        atol, rtol: tolerance, as ``numpy.allclose``: ``|a - b| <= atol + rtol * |b|`` everywhere.
        seed: seed of the random inputs.

    Returns:
        An :class:`ExportReport` (``ok`` False when an output differs beyond the tolerance).

    Raises:
        ValueError: unknown format.
        ExportError: the exporter cannot handle the model (the message says why) or a package is missing.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = DenseModel(bundle.build("cpu"), bundle).eval()
    generator = torch.Generator().manual_seed(seed)
    example = example_input(bundle, 2, generator)
    metadata = export_metadata(bundle, list(module.keys))
    try:
        (export_torchscript if fmt == "torchscript" else export_onnx)(module, example, path, metadata)
    except ExportError:
        raise
    except Exception as err:  # the exporters raise many types; the reason is what matters
        reason = str(err).strip().splitlines()[0][:400] if str(err).strip() else type(err).__name__
        raise ExportError(
            f"{bundle.model} ({bundle.input_kind} model) cannot be exported to {fmt}: not supported because "
            f"{type(err).__name__}: {reason}"
        ) from err
    report = ExportReport(str(path), fmt, list(module.keys))
    if not check:
        report.note = "parity not checked (check=False)"
        return report
    if fmt == "onnx" and not _importable("onnxruntime"):
        report.note = "parity not checked: onnxruntime is not installed (pip install 'graphemo[export]')"
        return report
    run = load_exported(path, fmt)
    for batch in batches:
        x = example_input(bundle, batch, generator)
        with torch.inference_mode():
            expected = [t.numpy() for t in module(x)]
        got = run(x)
        for name, e, g in zip(module.keys, expected, got, strict=True):
            diff = float(np.abs(e - g).max()) if e.shape == g.shape else float("inf")
            ok = e.shape == g.shape and bool(np.allclose(g, e, atol=atol, rtol=rtol))
            report.checks.append(ParityCheck(name, batch, diff, atol, rtol, ok))
    return report
