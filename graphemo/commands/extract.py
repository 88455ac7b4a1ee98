"""``graphemo extract``: raw video -> OpenPose-format JSON with MediaPipe Holistic (graphemo.sources.video.extract)."""

from __future__ import annotations

import argparse
import sys
import time

HELP = "Extract OpenPose-format keypoints (BODY_25, face 70, hands 21) from videos or images with MediaPipe, offline."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="a video file, a folder of videos, a folder of images, or of image folders")
    parser.add_argument("--out", required=True, help="output root: one sub-folder of JSON files per video")
    parser.add_argument("--every", type=int, default=1, help="process every N-th frame; numbers are kept (default 1)")
    parser.add_argument(
        "--max-people",
        type=int,
        default=1,
        help="people per frame; MediaPipe Holistic tracks one person, so only 1 is accepted",
    )
    parser.add_argument(
        "--python",
        help="Python of the MediaPipe environment (default: $GRAPHEMO_EXTRACT_PYTHON, else .venv-extract)",
    )
    parser.add_argument("--static", action="store_true", help="no tracking between frames (unrelated images)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from graphemo.sources.video.extract import ExtractError, extract, format_summary

    if args.max_people != 1:
        print(
            f"--max-people {args.max_people}: MediaPipe Holistic finds one person per frame; "
            "extract with --max-people 1 (the default), or use OpenPose for several people",
            file=sys.stderr,
        )
        return 2
    if args.every < 1:
        print(f"--every must be at least 1, got {args.every}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        results = extract(
            args.input, args.out, every=args.every, python=args.python, static=args.static, progress=not args.quiet
        )
    except ExtractError as exc:
        print(f"graphemo extract: {exc}", file=sys.stderr)
        return 1
    print(format_summary(results, args.out, time.perf_counter() - start))
    return 0
