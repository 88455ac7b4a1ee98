"""``graphemo mocap``: BVH motion capture -> OpenPose JSON folders (or a store) seen by virtual cameras."""

from __future__ import annotations

import argparse

HELP = "Import BVH motion capture: forward kinematics, BODY_25 joints, virtual cameras -> OpenPose JSON or a store."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from graphemo.commands.options import add_spec_arguments
    from graphemo.sources.mocap.importer import MocapSpec

    parser.add_argument("bvh", help="a BVH file or a folder of them (searched recursively)")
    parser.add_argument("--store", help="write a prepared store here directly (default: OpenPose JSON under --out)")
    parser.add_argument("--workers", type=int, help="processes (default: all cores)")
    parser.add_argument("--force", action="store_true", help="with --store: rebuild even if nothing changed")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_spec_arguments(parser, MocapSpec, skip=("bvh",))


def run(args: argparse.Namespace) -> int:
    import sys
    import time

    from graphemo.commands.options import spec_from_arguments
    from graphemo.sources.mocap.importer import MocapSpec, import_to_openpose, import_to_store

    spec = spec_from_arguments(args, MocapSpec, "mocap", bvh=args.bvh)
    started = time.perf_counter()
    try:
        if args.store:
            store = import_to_store(spec, args.store, workers=args.workers, force=args.force)
            print(store.format_summary())
            return 0
        clips, root = import_to_openpose(spec, workers=args.workers, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:
        print(f"graphemo mocap: {exc}", file=sys.stderr)
        return 2
    refused = [c for c in clips if c.problem]
    videos = sum(len(c.cameras) for c in clips)
    frames = sum(len(kp) for c in clips for _, kp in c.cameras.values())
    seconds = time.perf_counter() - started
    for clip in refused:
        print(f"refused: {clip.problem}", file=sys.stderr)
    print(f"{len(clips) - len(refused)} clip(s) x {len(spec.azimuths)} camera(s) = {videos} videos, {frames:,} frames "
          f"in {seconds:.1f} s ({frames / max(seconds, 1e-9):,.0f} frames/s) -> {root}")  # fmt: skip
    from graphemo.sources.mocap.importer import declared_classes

    classes = declared_classes([c for c in clips if not c.problem], spec)
    print(
        f"next: graphemo prepare {root} --out STORE --labels-csv {root.parent / 'labels.csv'} --layout body25"
        + (f" --fps {spec.fps:g}" if spec.fps else "")
        + (f" --classes {' '.join(classes)}" if classes else "")
    )
    return 1 if refused and len(refused) == len(clips) else 0
