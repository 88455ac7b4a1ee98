"""``graphemo subsample``: pick diverse training frames of a prepared store and report their redundancy."""

from __future__ import annotations

import argparse
import sys

HELP = "Select diverse frames of a prepared store (every_nth, motion, kcenter) and report their redundancy."

COMPARED = ("every_nth", "motion", "kcenter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="prepared store directory (graphemo prepare)")
    parser.add_argument("--strategy", default="kcenter", help="every_nth, motion, kcenter or none (default kcenter)")
    budget = parser.add_argument_group("budget (exactly one)")
    budget.add_argument("--ratio", type=float, help="fraction of each video's eligible frames (of all, class-aware)")
    budget.add_argument("--count", type=int, help="frames per video")
    budget.add_argument("--n", type=int, help="every_nth: every n-th eligible frame")
    budget.add_argument("--threshold", type=float, help="motion: keep a frame once it moved this far")
    budget.add_argument("--total", type=int, help="class-aware: frames over the whole selection")
    parser.add_argument("--class-aware", action="store_true", help="rare emotions keep a larger share")
    parser.add_argument("--power", type=float, default=0.5, help="class allocation ∝ frames**power (default 0.5)")
    parser.add_argument("--parts", nargs="+", default=["body"], help="parts the distance uses (default: body)")
    parser.add_argument("--center", default="neck", choices=("neck", "mid_hip"), help="normalisation centre")
    parser.add_argument("--scale", default="shoulders", choices=("shoulders", "torso"), help="normalisation scale")
    parser.add_argument(
        "--task",
        default="expr",
        choices=("expr", "va", "both", "none"),
        help="label a frame must have (none: any frame with the person; default expr)",
    )
    parser.add_argument(
        "--split",
        default="train",
        choices=("train", "val", "test", "all"),
        help="videos to subsample, as graphemo.graphs.split_videos assigns them (default: train)",
    )
    parser.add_argument("--val-ratio", type=float, default=0.2, help="split_videos val_ratio (default 0.2)")
    parser.add_argument("--test-ratio", type=float, default=0.0, help="split_videos test_ratio (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="split_videos seed (default 0)")
    parser.add_argument("--report", action="store_true", help="print the redundancy report")
    parser.add_argument(
        "--compare", action="store_true", help="compare every_nth, motion and kcenter at the same budget"
    )
    parser.add_argument("--duplicate-threshold", type=float, help="report: duplicate distance (default 0.02)")
    parser.add_argument("--out", help="write the kept global frame indices here (.npy)")
    parser.add_argument("--workers", type=int, help="threads (default: CPUs, at most 8)")


def _spec(args: argparse.Namespace, strategy: str):
    from graphemo.subsampling import DUPLICATE_THRESHOLD, SubsampleSpec

    return SubsampleSpec(
        strategy=strategy,
        ratio=args.ratio,
        count=args.count,
        n=args.n,
        threshold=args.threshold,
        class_aware=args.class_aware,
        total=args.total,
        power=args.power,
        parts=list(args.parts),
        center=args.center,
        scale=args.scale,
        duplicate_threshold=args.duplicate_threshold or DUPLICATE_THRESHOLD,
    )


def _videos(store, args: argparse.Namespace):
    import numpy as np

    from graphemo.graphs.splits import split_videos

    splits = split_videos(store, val_ratio=args.val_ratio, test_ratio=args.test_ratio, seed=args.seed)
    if args.split == "all":
        return np.sort(np.concatenate(list(splits.values())))
    return splits[args.split]


def format_comparison(results: dict[str, tuple[dict, float]]) -> str:
    """The ``--compare`` tables: one row per strategy, then the kept frames per class.

    Args:
        results: strategy -> (aggregated report, seconds).
    """
    lines = [
        f"{'strategy':<11}{'kept':>9}{'kept %':>8}{'radius':>9}{'mean rad':>9}{'cover':>8}{'kept NN':>9}"
        f"{'dup %':>7}{'seconds':>9}",
    ]
    for name, (r, seconds) in results.items():
        lines.append(
            f"{name:<11}{r['kept']:>9,}{r['kept_fraction']:>8.1%}{r['coverage_radius']:>9.4f}"
            f"{r['mean_coverage_radius']:>9.4f}{r['mean_cover_distance']:>8.4f}{r['kept_nn_mean']:>9.4f}"
            f"{r['duplicate_fraction']:>7.1%}{seconds:>9.2f}"
        )
    first = next(iter(results.values()))[0]
    if sum(first.get("labels_before", [])):  # no table for an unlabelled selection
        lines += ["", f"{'class':<11}{'before':>9}" + "".join(f"{name:>17}" for name in results)]
        for k, cls in enumerate(first["class_names"]):
            before = first["labels_before"][k]
            row = f"{cls!s:<11}{before:>9,}"
            for r, _ in results.values():
                after = r["labels_after"][k]
                row += f"{after:>10,}" + (f" ({after / before:>4.0%})" if before else "       ")
            lines.append(row)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from graphemo.store import PreparedStore
    from graphemo.subsampling import format_report, select_training_frames

    task = None if args.task == "none" else args.task
    try:
        spec = _spec(args, args.strategy)
        if args.compare and not (spec.class_aware or spec.ratio is not None or spec.count is not None):
            raise ValueError("--compare needs a budget every strategy takes: --ratio, --count, or --class-aware")
        store = PreparedStore(args.store)
        videos = _videos(store, args)
        start = time.perf_counter()
        frames, report = select_training_frames(store, videos, spec, task=task, progress=True, workers=args.workers)
        seconds = time.perf_counter() - start
        results = {spec.strategy: (report, seconds)}
        if args.compare:
            for name in COMPARED:
                if name not in results:
                    start = time.perf_counter()
                    _, other = select_training_frames(
                        store, videos, _spec(args, name), task=task, progress=True, workers=args.workers
                    )
                    results[name] = (other, time.perf_counter() - start)
    except (ValueError, FileNotFoundError) as exc:
        print(f"graphemo subsample: error: {exc}", file=sys.stderr)
        return 2

    if args.out:
        np.save(args.out, frames)
    print(
        f"{spec.describe()}: kept {report['kept']:,} of {report['eligible']:,} eligible frames "
        f"({report['kept_fraction']:.1%}) in {report['videos']} videos (split {args.split}), {seconds:.1f} s"
        + (f" -> {args.out}" if args.out else "")
    )
    if args.compare:
        ordered = {name: results[name] for name in (*COMPARED, spec.strategy) if name in results}
        print(format_comparison(ordered))
    elif args.report:
        print(format_report(report, title=spec.describe()))
    return 0
