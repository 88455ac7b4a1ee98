"""``graphemo export``: a model bundle -> TorchScript or ONNX, checked against PyTorch on random inputs."""

from __future__ import annotations

import argparse

HELP = "Export a model bundle to TorchScript or ONNX and check its outputs against PyTorch's."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="bundle file, folder holding bundle.pt, or runs:/<run_id>/model")
    parser.add_argument("--format", required=True, choices=("torchscript", "onnx"), help="export format")
    parser.add_argument("--out", required=True, help="file to write (e.g. model.pt or model.onnx)")
    parser.add_argument("--atol", type=float, default=1e-4, help="absolute tolerance of the check (default 1e-4)")
    parser.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance of the check (default 1e-3)")
    parser.add_argument("--no-check", action="store_true", help="skip the comparison with PyTorch")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI for runs:/ URIs (default $MLFLOW_TRACKING_URI)")


def run(args: argparse.Namespace) -> int:
    import sys

    from graphemo.inference.bundle import load_bundle
    from graphemo.inference.export import ExportError, export_bundle, input_description

    bundle = load_bundle(args.model, tracking_uri=args.tracking_uri)
    print(f"model: {bundle.describe()}  [{bundle.source}]")
    try:
        report = export_bundle(bundle, args.format, args.out, check=not args.no_check, atol=args.atol, rtol=args.rtol)
    except ExportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"input: {input_description(bundle)}")
    print(report.format_table())
    if not report.ok:
        print("error: the exported model's outputs differ from PyTorch's beyond the tolerance", file=sys.stderr)
        return 1
    return 0
