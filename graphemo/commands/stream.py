"""``graphemo stream``: follow the folder ``openpose --write_json DIR`` fills and predict each frame as it lands."""

from __future__ import annotations

import argparse

HELP = "Follow a folder that OpenPose (--write_json) is filling and predict each new frame live."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="bundle file, folder holding bundle.pt, or runs:/<run_id>/model")
    parser.add_argument("--watch", required=True, metavar="DIR", help="the folder given to openpose --write_json")
    parser.add_argument("--out", help="append one CSV row per frame to this file (header written when new)")
    parser.add_argument("--smooth", help="causal smoothing: ema:ALPHA or median:FRAMES (trailing window)")
    parser.add_argument(
        "--causal",
        action="store_true",
        help="centred-window models: predict each frame at once from the window ending at it (no lag, but not "
        "the window the model was trained on); default waits half a window for the future frames",
    )
    parser.add_argument("--skip-existing", action="store_true", help="ignore files already in the folder at start")
    parser.add_argument("--idle-timeout", type=float, help="stop after this many seconds without a new file")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument(
        "--partial-timeout",
        type=float,
        default=2.0,
        help="seconds an unparseable file may stay unchanged before it counts as bad (default 2)",
    )
    parser.add_argument("--poll", type=float, default=0.005, help="seconds between folder polls (default 0.005)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: leave cores to OpenPose)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI for runs:/ URIs (default $MLFLOW_TRACKING_URI)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--no-optimize", action="store_true", help="run the eager model, not a traced frozen copy")
    parser.add_argument("--quiet", action="store_true", help="do not print a line per frame")


def run(args: argparse.Namespace) -> int:
    import csv
    import sys
    from pathlib import Path

    import torch

    from graphemo.inference.bundle import load_bundle
    from graphemo.inference.predict import Predictor, Smoothing
    from graphemo.inference.stream import format_result, result_row, watch_folder

    torch.set_num_threads(args.threads)
    smoothing = Smoothing.parse(args.smooth)
    bundle = load_bundle(args.model, tracking_uri=args.tracking_uri)
    predictor = Predictor(bundle, device=args.device, optimize=not args.no_optimize)
    watch = Path(args.watch)
    print(f"model: {bundle.describe()}  [{bundle.source}], running {predictor.how}")
    lag = 0 if args.causal else predictor.lag
    timing = f"each frame is predicted {lag} frame(s) after it lands (centred window)" if lag else "no lag"
    print(f"watching {watch} ({timing}); Ctrl-C to stop")

    out_file = writer = None
    if args.out:
        out_path = Path(args.out)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        new = not out_path.exists() or out_path.stat().st_size == 0
        out_file = open(out_path, "a", newline="", encoding="utf-8")  # noqa: SIM115  (closed in finally)
        writer = csv.DictWriter(out_file, [*predictor.columns(), "latency_ms"])
        if new:
            writer.writeheader()

    def on_result(result) -> None:
        if writer is not None:
            row = result_row(predictor, watch.name, result)
            writer.writerow(
                {k: "" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )
            out_file.flush()
        if not args.quiet:
            print(format_result(predictor, result), flush=True)

    try:
        summary = watch_folder(
            predictor,
            watch,
            on_result=on_result,
            on_notice=lambda text: print(text, file=sys.stderr, flush=True),
            smoothing=smoothing,
            causal=args.causal,
            poll_interval=args.poll,
            partial_timeout=args.partial_timeout,
            skip_existing=args.skip_existing,
            idle_timeout=args.idle_timeout,
            max_frames=args.max_frames,
        )
    finally:
        if out_file is not None:
            out_file.close()
    print(summary.format())
    return 0
