"""Benchmark the frame subsampling strategies: time per strategy and coverage radius at an equal budget.

Usage::

    python tools/bench_subsample.py                          # 1,000 videos x 3,000 frames, ratio 0.1
    python tools/bench_subsample.py --videos 50 --frames 1000 # quick check
    python tools/bench_subsample.py --source synth            # poses of graphemo's generator, tiled

Poses are generated in memory and are not timed: ``walk`` (default) is a body of 25 joints that stands
still (pose + 0.003 jitter) for stretches of ~5 s and moves (smoothed random walk) for ~1.5 s, with
joints out of frame for whole videos, 3 % joint dropouts and 2 % frames with nobody; ``synth`` tiles
``--synth-videos`` videos of :func:`graphemo.sources.synth.synthesize_video` (their body, through
``SubsampleSpec().distance_pose``).
Each strategy's time (wall ``select s`` and CPU ``cpu s``, summed over threads) includes the embedding
of every video (as in training); the redundancy report is timed apart. Videos run in ``--workers``
threads, as :func:`graphemo.subsampling.select_training_frames` does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter

from graphemo.subsampling import STRATEGIES, aggregate_reports, embed_pose, redundancy_report, select_frames


def walk_pose(seed: int, index: int, frames: int, joints: int = 25) -> np.ndarray:
    """``(frames, joints, 3)`` float32: a random-walk pose with static stretches (see the module docstring)."""
    rng = np.random.default_rng([seed, index])
    template = rng.normal(0.0, 0.6, (joints, 2))
    moving = np.zeros(frames, dtype=bool)
    t, on = 0, bool(rng.random() < 0.3)
    while t < frames:
        length = int(rng.exponential(45 if on else 150)) + 1
        moving[t : t + length] = on
        t, on = t + length, not on
    velocity = gaussian_filter1d(rng.normal(0.0, 0.03, (frames, joints, 2)) * moving[:, None, None], 3.0, axis=0)
    xy = template + lfilter([1.0], [1.0, -0.99], velocity, axis=0) + rng.normal(0.0, 0.003, (frames, joints, 2))
    conf = np.full((frames, joints), 0.8)
    conf[:, rng.random(joints) < 0.2] = 0.0
    conf[rng.random((frames, joints)) < 0.03] = 0.0
    conf[rng.random(frames) < 0.02] = 0.0
    xy[conf == 0] = 0.0
    return np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32)


def synth_poses(seed: int, count: int, frames: int) -> list[np.ndarray]:
    """Body poses of ``count`` generated videos of ``frames`` frames, as ``SubsampleSpec().distance_pose``."""
    from graphemo.skeleton import get_layout
    from graphemo.sources.synth import LAYOUT_NAME, plan_emotions, synthesize_video
    from graphemo.subsampling import SubsampleSpec

    layout, spec = get_layout(LAYOUT_NAME), SubsampleSpec()
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        out.append(spec.distance_pose(synthesize_video(rng, plan_emotions(rng, frames)).keypoints[:, 0], layout))
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line of this benchmark (the README's commands are checked against it)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--ratio", type=float, default=0.1, help="budget of every strategy (default 0.1)")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8), help="threads")
    parser.add_argument("--source", choices=("walk", "synth"), default="walk")
    parser.add_argument("--synth-videos", type=int, default=8, help="--source synth: distinct videos, tiled")
    parser.add_argument("--chunk", type=int, default=64, help="videos generated at a time (memory)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-report", action="store_true", help="time the strategies only")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    strategies = list(STRATEGIES)
    select_s = dict.fromkeys(strategies, 0.0)
    select_cpu = dict.fromkeys(strategies, 0.0)
    report_s = dict.fromkeys(strategies, 0.0)
    reports: dict[str, list[dict]] = {s: [] for s in strategies}
    generate_s = 0.0
    tiles = synth_poses(args.seed, args.synth_videos, args.frames) if args.source == "synth" else []

    def select(strategy: str, pose: np.ndarray) -> np.ndarray:
        return select_frames(pose, strategy, ratio=args.ratio, embedding=embed_pose(pose))

    def report(pose: np.ndarray, kept: np.ndarray) -> dict:
        return redundancy_report(pose, kept)

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=args.workers) as pool:
        for first in range(0, args.videos, args.chunk):
            start = time.perf_counter()
            indices = range(first, min(args.videos, first + args.chunk))
            if args.source == "synth":
                poses = [tiles[i % len(tiles)] for i in indices]
            else:
                poses = list(pool.map(lambda i: walk_pose(args.seed, i, args.frames), indices))
            generate_s += time.perf_counter() - start
            for strategy in strategies:
                start, cpu = time.perf_counter(), time.process_time()
                kept = list(pool.map(lambda p, s=strategy: select(s, p), poses))
                select_s[strategy] += time.perf_counter() - start
                select_cpu[strategy] += time.process_time() - cpu
                if not args.no_report:
                    start = time.perf_counter()
                    reports[strategy] += list(pool.map(report, poses, kept))
                    report_s[strategy] += time.perf_counter() - start
            print(f"\r{min(args.videos, first + args.chunk)}/{args.videos} videos", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    source = "random walk, 25 joints" if args.source == "walk" else f"{args.synth_videos} synth videos tiled, body"
    print(
        f"bench_subsample: {args.videos:,} videos x {args.frames:,} frames ({source}), ratio {args.ratio:g}, "
        f"{args.workers} threads, {os.cpu_count()} CPUs"
    )
    head = f"{'strategy':<11}{'select s':>9}{'cpu s':>8}{'cpu ms/video':>13}"
    if not args.no_report:
        head += f"{'report s':>9}{'kept %':>8}{'radius':>8}{'mean rad':>9}{'cover':>8}{'kept NN':>8}{'dup %':>7}"
    print(head)
    for strategy in strategies:
        cpu_ms = 1000 * select_cpu[strategy] / args.videos
        line = f"{strategy:<11}{select_s[strategy]:>9.2f}{select_cpu[strategy]:>8.2f}{cpu_ms:>13.2f}"
        if not args.no_report:
            r = aggregate_reports(reports[strategy])
            line += (
                f"{report_s[strategy]:>9.2f}{r['kept_fraction']:>8.1%}{r['coverage_radius']:>8.3f}"
                f"{r['mean_coverage_radius']:>9.4f}{r['mean_cover_distance']:>8.4f}{r['kept_nn_mean']:>8.4f}"
                f"{r['duplicate_fraction']:>7.1%}"
            )
        print(line)
    print(f"(pose generation, not counted: {generate_s:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
