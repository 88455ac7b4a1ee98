"""``graphemo predict``: a model bundle + OpenPose folders -> per-frame emotions, valence/arousal, per-video summary."""

from __future__ import annotations

import argparse

HELP = "Predict emotions (and valence/arousal) for every frame of OpenPose JSON folders with a model bundle."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a video folder of OpenPose JSON files, or a folder of many such folders")
    parser.add_argument("--model", required=True, help="bundle file, folder holding bundle.pt, or runs:/<run_id>/model")
    parser.add_argument("--out", help="per-frame results: .csv or .json (the JSON also holds the summaries)")
    parser.add_argument("--summary-out", help="per-video summary: .csv or .json")
    parser.add_argument("--smooth", help="temporal smoothing: ema:ALPHA (e.g. ema:0.3) or median:FRAMES (median:9)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI for runs:/ URIs (default $MLFLOW_TRACKING_URI)")
    parser.add_argument("--batch-size", type=int, default=256, help="samples per forward pass (default 256)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from graphemo.inference.bundle import load_bundle
    from graphemo.inference.predict import (
        Predictor,
        Smoothing,
        format_summary,
        predict_folder,
        write_predictions,
        write_summary,
    )

    smoothing = Smoothing.parse(args.smooth)
    bundle = load_bundle(args.model, tracking_uri=args.tracking_uri)
    predictor = Predictor(bundle, device=args.device)
    print(f"model: {bundle.describe()}  [{bundle.source}]")
    predictions = predict_folder(
        predictor, args.input, smoothing=smoothing, batch_size=args.batch_size, progress=not args.quiet
    )
    summaries = [p.summary(predictor.class_names) for p in predictions]
    if args.out:
        write_predictions(args.out, predictions, predictor, smoothing=str(smoothing) if smoothing else None)
        print(f"wrote {sum(len(p.frames) for p in predictions)} frame rows to {args.out}")
    if args.summary_out:
        write_summary(args.summary_out, summaries)
        print(f"wrote {len(summaries)} video summaries to {args.summary_out}")
    print(format_summary(summaries))
    problems = [problem for p in predictions for problem in p.problems]
    if problems:
        print(f"{len(problems)} unreadable file(s) counted as frames without a person, e.g. {problems[0]}")
    return 0
