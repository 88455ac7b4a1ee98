"""``graphemo prepare``: OpenPose folders + labels -> the prepared store (see graphemo.graphs.store)."""

from __future__ import annotations

import argparse

HELP = "Read OpenPose JSON folders and labels into a compact, memory-mappable dataset store."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("keypoints", help="folder whose sub-folders are videos of OpenPose JSON files")
    parser.add_argument("--out", required=True, help="store directory to write")
    parser.add_argument("--abaw-expr", help="ABAW EXPR_Classification_Challenge folder")
    parser.add_argument("--abaw-va", help="ABAW VA_Estimation_Challenge folder")
    parser.add_argument("--dfew", help="DFEW EmoLabel_DataSplit folder")
    parser.add_argument("--dfew-fold", type=int, default=1, choices=range(1, 6), help="DFEW fold (default 1)")
    parser.add_argument("--labels-csv", help="generic CSV: video[,frame],label and/or valence,arousal[,split]")
    parser.add_argument("--keep-other", action="store_true", help="keep ABAW's 'Other' as an 8th class")
    parser.add_argument("--layout", default="auto", help="skeleton layout, e.g. body25, wholebody (default: auto)")
    parser.add_argument("--max-people", type=int, default=1, help="person slots per frame (default 1)")
    parser.add_argument("--fps", type=float, help="frame rate of the videos (OpenPose does not record it)")
    parser.add_argument("--workers", type=int, help="parallel readers (default: all cores)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs are unchanged")


def run(args: argparse.Namespace) -> int:
    from graphemo.graphs.store import LabelSpec, PrepareOptions, prepare_dataset

    labels = LabelSpec(
        abaw_expr=args.abaw_expr,
        abaw_va=args.abaw_va,
        dfew=args.dfew,
        dfew_fold=args.dfew_fold,
        csv=args.labels_csv,
        keep_other=args.keep_other,
    )
    options = PrepareOptions(layout=args.layout, max_people=args.max_people, fps=args.fps)
    store = prepare_dataset(
        args.keypoints, args.out, labels=labels, options=options, workers=args.workers, force=args.force
    )
    print(store.format_summary())
    return 0
