"""``graphemo render``: a contact sheet PNG of rendered skeleton frames with their labels."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections import Counter

HELP = "Draw frames of a prepared store OpenPose-style into a contact sheet PNG, each with its label (emotion, V/A)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="prepared store directory (from `graphemo prepare`)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument(
        "--videos", nargs="+", metavar="ID", help="video ids to draw from (default: every usable video)"
    )
    parser.add_argument("--frames", type=int, default=24, help="frames on the sheet, evenly spaced (default 24)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (default 224, the CNN input)")
    parser.add_argument("--columns", type=int, default=8, help="images per row (default 8)")
    parser.add_argument(
        "--span", type=float, default=None, help="fixed framing: scale units across the image (default: fit each)"
    )
    parser.add_argument("--annotated", action="store_true", help="only frames with an emotion or V/A label")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from graphemo.graphs.normalize import normalize_pose
    from graphemo.graphs.render import DEFAULT_NECK_AT, contact_sheet, fitted_framing, render_skeleton, write_png
    from graphemo.store import PreparedStore

    if args.frames < 1 or args.size < 8 or args.columns < 1:
        print("error: --frames and --columns must be >= 1 and --size >= 8", file=sys.stderr)
        return 2
    store = PreparedStore(args.store)
    if args.videos:
        ids = {v.video_id: i for i, v in enumerate(store.videos)}
        videos = []
        for vid in args.videos:
            try:
                videos.append(store.video_index(vid))
            except KeyError:
                close = difflib.get_close_matches(vid, list(ids), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                print(f"error: video {vid!r} is not in {store.path}{hint}", file=sys.stderr)
                return 2
    else:
        videos = [i for i, v in enumerate(store.videos) if v.status == "ok"]
    spans = [(store.videos[i].start, store.videos[i].start + store.videos[i].length) for i in videos]
    candidates = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in spans] or [np.zeros(0, np.int64)])
    keep = store.present[candidates]
    if args.annotated:
        keep &= (store.expr[candidates] >= 0) | np.isfinite(store.va[candidates]).all(axis=1)
    candidates = candidates[keep]
    if not len(candidates):
        print(f"error: no frame with a person{' and a label' if args.annotated else ''} in the chosen videos",
              file=sys.stderr)  # fmt: skip
        return 1
    chosen = candidates[np.unique(np.linspace(0, len(candidates) - 1, args.frames).round().astype(np.int64))]

    names = store.classes
    video_of_frame = store.video_of_frame()
    poses = normalize_pose(np.asarray(store.keypoints[chosen, 0]), store.layout)
    images, captions, shown = [], [], Counter()
    for frame, pose in zip(chosen.tolist(), poses, strict=True):
        record = store.videos[int(video_of_frame[frame])]
        expr, (valence, arousal) = int(store.expr[frame]), store.va[frame]
        emotion = names[expr] if 0 <= expr < len(names) else "-"
        shown[emotion] += 1
        va = f"V {valence:+.2f} A {arousal:+.2f}" if np.isfinite([valence, arousal]).all() else "V/A -"
        span, neck_at = fitted_framing(pose) if args.span is None else (args.span, DEFAULT_NECK_AT)
        images.append(render_skeleton(pose, store.layout, args.size, span=span, neck_at=neck_at))
        captions.append([f"{record.video_id} #{frame - record.start}", emotion, va])
    sheet = contact_sheet(images, captions, columns=args.columns)
    write_png(args.out, sheet)
    used = len({int(video_of_frame[f]) for f in chosen})
    print(f"wrote      {args.out}  ({sheet.shape[1]}x{sheet.shape[0]} px)")
    framing = "fitted to each skeleton" if args.span is None else f"span {args.span}"
    print(f"frames     {len(chosen)} from {used} video(s), layout {store.layout.name}, {args.size} px, {framing}")
    print("labels     " + ", ".join(f"{k}: {v}" for k, v in sorted(shown.items())))
    return 0
