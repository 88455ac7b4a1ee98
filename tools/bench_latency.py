"""Per-frame latency of streaming prediction, per model family: one new frame -> features -> model -> result.

Each model runs as ``graphemo stream`` runs it (:class:`graphemo.inference.stream.StreamPredictor`: main-person
tracking, the sliding window of sequence models, input features exactly as in training, the model, softmax)
on a synthetic whole-body video, fed one frame at a time. Models are untrained, at their default sizes;
latency does not depend on the weights. Prints p50/p99 latency and the frames per second one thread sustains.

    .venv/bin/python tools/bench_latency.py                      # every family, body25 and wholebody, 1 CPU thread
    .venv/bin/python tools/bench_latency.py --models stgcn mlp --frames 100
    .venv/bin/python tools/bench_latency.py --device cuda        # on a GPU
    .venv/bin/python tools/bench_latency.py --models stgcn --model-options '{"channels": [32, 64, 128]}'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

DEFAULT_MODELS = (
    "mlp",
    "gcn",
    "gat",
    "gin",
    "stgcn",
    "stgcnpp",
    "ctrgcn",
    "stream_ensemble",
    "kinematic",
    "skeleton_transformer",
    "resnet18",
)
TARGET_MS = 5.0  # ST-GCN and the ANN: under 5 ms per frame on one CPU core (>= 200 frames/s)
TARGET_MODELS = ("mlp", "stgcn")


def synthetic_frames(num_frames: int, layout: str, seed: int = 0) -> list[np.ndarray]:
    """``num_frames`` frames of one synthetic person as OpenPose gives them: per frame ``(P, V, 3)``."""
    from graphemo.skeleton import get_layout
    from graphemo.sources.synth import HAPPINESS, EmotionPlan, synthesize_video

    video = synthesize_video(np.random.default_rng(seed), EmotionPlan.single(HAPPINESS, num_frames))
    v = get_layout(layout).num_joints
    keypoints = video.keypoints[:, :, :v] if v <= 25 else video.keypoints  # body25 = the first 25 joints
    present = (keypoints[..., 2] > 0).any(axis=-1)
    return [keypoints[t, present[t]] for t in range(num_frames)]


def make_predictor(
    name: str,
    layout: str,
    window: int,
    image_size: int,
    device: str,
    optimize: bool = True,
    options: dict | None = None,
):
    """A :class:`Predictor` for an untrained ``name`` at its default size (or with ``options``)."""
    from graphemo.inference.bundle import bundle_from_model
    from graphemo.inference.predict import Predictor
    from graphemo.models import build_model, model_input_kind
    from graphemo.specs import spec_fields

    kind = model_input_kind(name)
    wanted = {"length": window, "anchor": "end", "size": image_size}  # for the kinds that have these options
    input_options = {k: v for k, v in wanted.items() if kind.options and k in spec_fields(kind.options)}
    in_channels = 3  # x, y, confidence (the default FeatureSpec); images are RGB
    torch.manual_seed(0)
    model = build_model(name, layout=layout, in_channels=in_channels, task="both", **(options or {}))
    bundle = bundle_from_model(
        model,
        name=name,
        model_options=options,
        layout=layout,
        task="both",
        input_options=input_options,
    )
    return Predictor(bundle, device=device, optimize=optimize), sum(p.numel() for p in model.parameters())


def bench(name: str, layout: str, frames: list[np.ndarray], *, warmup: int, window: int, image_size: int,
          device: str, options: dict | None = None) -> dict:  # fmt: skip
    """Stream ``frames`` through a fresh predictor; returns latency statistics in ms."""
    from graphemo.inference.stream import StreamPredictor

    predictor, params = make_predictor(name, layout, window, image_size, device, options=options)
    stream = StreamPredictor(predictor)
    ids = [np.full(len(p), -1) for p in frames]
    latencies, cpu_times = [], []
    for t, people in enumerate(frames):
        start, cpu_start = time.perf_counter(), time.thread_time()
        results = stream.push(t, people, ids[t])
        elapsed, cpu = (time.perf_counter() - start) * 1e3, (time.thread_time() - cpu_start) * 1e3
        if t >= warmup and results and results[0].present:
            latencies.append(elapsed)
            cpu_times.append(cpu)
    # the features alone (normalisation + encoding of one sample), for the breakdown
    sample = predictor.kind.from_frames(stream._window(len(frames) - 1), stream.options)
    feature_times = []
    for _ in range(min(50, len(frames))):
        start = time.perf_counter()
        predictor.encode(sample)
        feature_times.append((time.perf_counter() - start) * 1e3)
    lat = np.asarray(latencies)
    return {
        "model": name,
        "layout": layout,
        "V": predictor.layout.num_joints,
        "input": predictor.kind.name + (f" T={length}" if (length := getattr(predictor.options, "length", 0)) else ""),
        "params": params,
        "frames": len(lat),
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "mean": float(lat.mean()),
        "cpu": float(np.median(cpu_times)),
        "features": float(np.median(feature_times)),
    }


def format_table(rows: list[dict]) -> str:
    head = (
        f"{'model':<22} {'layout':<18} {'V':>4} {'input':<11} {'params':>8} {'features':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'cpu ms':>7} {'frames/s':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        fps = 1e3 / r["mean"]
        flag = ""
        if r["model"] in TARGET_MODELS:
            if r["p50"] < TARGET_MS:
                flag = "  ok (< 5 ms)"
            else:
                flag = "  over 5 ms" + (" (cpu < 5 ms: the machine is busy)" if r["cpu"] < TARGET_MS else "")
        lines.append(
            f"{r['model']:<22} {r['layout']:<18} {r['V']:>4} {r['input']:<11} {r['params'] / 1e6:>7.2f}M "
            f"{r['features']:>8.2f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['cpu']:>7.2f} {fps:>9.0f}{flag}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line of this benchmark (the README's commands are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="registry names")
    parser.add_argument("--layouts", nargs="+", default=["body25", "wholebody"], help="layouts (body25, wholebody...)")
    parser.add_argument("--frames", type=int, default=300, help="frames streamed per model (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="first frames not timed (default 20)")
    parser.add_argument("--window", type=int, default=32, help="window length T of sequence models (default 32)")
    parser.add_argument("--image-size", type=int, default=224, help="image side of CNN models (default 224)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("--model-options", type=json.loads, help="JSON options for every model, e.g. a width")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu = platform.processor() or platform.machine()
    print(
        f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} thread(s), {cpu}, "
        f"{os.cpu_count()} cores, load average {load:.2f}; {args.frames} frames per model ({args.warmup} warm-up)"
        + (f"; model options {json.dumps(args.model_options)}" if args.model_options else "")
    )
    if args.device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name(args.device)}")
    rows = []
    for layout in args.layouts:
        frames = synthetic_frames(args.frames, layout)
        for name in args.models:
            rows.append(bench(name, layout, frames, warmup=args.warmup, window=args.window,
                              image_size=args.image_size, device=args.device, options=args.model_options))  # fmt: skip
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(rows))
    print("features: normalisation + encoding of one sample (median ms); p50/p99: wall time of the whole step per "
          "frame (tracking, window, features, model, softmax); cpu: its median CPU time on this thread (less "
          "sensitive to other load); frames/s = 1000 / mean wall time")  # fmt: skip


if __name__ == "__main__":
    main()
