"""``graphemo prepare``: OpenPose folders + labels -> the prepared store (see graphemo.store.prepare).

The label flags come from the registered label sources (:mod:`graphemo.labels.sources`): ``--<source>`` for
each, ``--<source>-<option>`` for its options."""

from __future__ import annotations

import argparse

HELP = "Read OpenPose JSON folders and labels into a compact, memory-mappable dataset store."

# The flags users know from earlier versions and the README, for the built-in sources.
_FLAG_NAMES = {"csv": "--labels-csv"}


def _label_flag(key: str) -> str:
    return _FLAG_NAMES.get(key, "--" + key.replace("_", "-"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from graphemo.labels import label_sources

    parser.add_argument("keypoints", help="folder whose sub-folders are videos of OpenPose JSON files")
    parser.add_argument("--out", required=True, help="store directory to write")
    for source in label_sources():
        parser.add_argument(_label_flag(source.name), dest=f"label_{source.name}", metavar="PATH", help=source.help)
        for name, f in source.options.items():
            key = source.key(name)
            parser.add_argument(_label_flag(key), dest=f"label_{key}", default=f.default, type=source.hints[name],
                                help=f"{source.name} {name} (default {f.default})")  # fmt: skip
    parser.add_argument("--keep-other", action="store_true", help="keep ABAW's 'Other' as an 8th class")
    parser.add_argument("--classes", nargs="+", metavar="NAME",
                        help="declare the classes and their order (default: from the labels)")  # fmt: skip
    parser.add_argument("--layout", default="auto", help="skeleton layout, e.g. body25, wholebody (default: auto)")
    parser.add_argument("--max-people", type=int, default=1, help="person slots per frame (default 1)")
    parser.add_argument("--fps", type=float, help="frame rate of the videos (OpenPose does not record it)")
    parser.add_argument("--workers", type=int, help="parallel readers (default: all cores)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs are unchanged")


def run(args: argparse.Namespace) -> int:
    import sys

    from graphemo.labels import LabelSpec
    from graphemo.specs import SpecError
    from graphemo.store import PrepareOptions, prepare_dataset

    given = {k[len("label_") :]: v for k, v in vars(args).items() if k.startswith("label_")}
    try:
        labels = LabelSpec(**given, keep_other=args.keep_other, classes=args.classes)
        options = PrepareOptions(layout=args.layout, max_people=args.max_people, fps=args.fps)
    except SpecError as err:
        flag = _label_flag(err.path[-1]) if err.path else ""
        print(f"graphemo prepare: {flag}: {err.reason}", file=sys.stderr)
        return 2
    store = prepare_dataset(
        args.keypoints, args.out, labels=labels, options=options, workers=args.workers, force=args.force
    )
    print(store.format_summary())
    return 0
