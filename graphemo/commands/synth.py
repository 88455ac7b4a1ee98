"""``graphemo synth``: write a synthetic Aff-Wild2/DFEW-style dataset (see graphemo.sources.synth)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HELP = "Generate synthetic OpenPose JSON videos with ABAW EXPR/VA labels and DFEW folds (deterministic by seed)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="dataset folder to write (keypoints/, labels/, synth.json)")
    parser.add_argument("--videos", type=int, default=40, help="number of videos (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same bytes")
    parser.add_argument(
        "--frames",
        type=int,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=(150, 450),
        help="frames per video, drawn in [MIN, MAX] (default 150 450)",
    )
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    parser.add_argument("--workers", type=int, help="processes (default: all cores, at most 8); 1 = no pool")
    parser.add_argument("--overwrite", action="store_true", help="replace a dataset this command wrote before")


def next_commands(out: str | Path, fps: float) -> list[tuple[str, str]]:
    """The ``graphemo prepare`` command lines for a generated folder: ``[(what, command), ...]``."""
    root = Path(out)
    q = shlex.quote
    keypoints, labels = q(str(root / "keypoints")), root / "labels"
    rate = f" --fps {fps:g}"
    return [
        (
            "Aff-Wild2 style (per-frame EXPR + VA)",
            f"graphemo prepare {keypoints} --out {q(str(root / 'store'))} "
            f"--abaw-expr {q(str(labels / 'EXPR'))} --abaw-va {q(str(labels / 'VA'))}{rate}",
        ),
        (
            "DFEW style (one label per clip, fold 1)",
            f"graphemo prepare {keypoints} --out {q(str(root / 'store_dfew'))} "
            f"--dfew {q(str(labels / 'DFEW'))} --dfew-fold 1{rate}",
        ),
    ]


def run(args: argparse.Namespace) -> int:
    from graphemo.sources.synth import generate_dataset

    lo, hi = args.frames
    try:
        summary = generate_dataset(
            args.out,
            args.videos,
            args.seed,
            frames=(lo, hi),
            fps=args.fps,
            workers=args.workers,
            overwrite=args.overwrite,
        )
    except (FileExistsError, ValueError) as exc:
        print(f"graphemo synth: {exc}", file=sys.stderr)
        return 2
    mb = summary.num_bytes / 1e6
    total = max(sum(summary.frame_classes.values()), 1)
    lines = [
        f"dataset    {summary.out_dir}",
        f"videos     {summary.num_videos}  ({', '.join(f'{k}: {v}' for k, v in summary.splits.items())})",
        f"frames     {summary.num_frames}  at {args.fps:g} fps",
        f"files      {summary.num_files}  {mb:.1f} MB  in {summary.seconds:.1f} s  "
        f"({summary.files_per_second:,.0f} files/s)",
        "EXPR frames per class (annotated frames; 'other' is dropped by prepare unless --keep-other):",
    ]
    lines += [f"  {name:<10} {count:>9}  {count / total:6.1%}" for name, count in summary.frame_classes.items()]
    lines.append("DFEW clip labels: " + ", ".join(f"{k} {v}" for k, v in summary.clip_classes.items()))
    lines.append("")
    lines.append("next, one of:")
    for what, command in next_commands(summary.out_dir, args.fps):
        lines += [f"  # {what}", f"  {command}"]
    print("\n".join(lines))
    return 0
