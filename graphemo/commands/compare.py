"""``graphemo compare``: the runs of an experiment, read back from MLflow, as one table (and the mean ± sd of
each group of replicates: folds, seeds)."""

from __future__ import annotations

import argparse

HELP = "Compare the runs of an MLflow experiment: model, task, best val F1, CCC-V, CCC-A, epochs, time, ids."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="MLflow experiment name (an experiment YAML's name:)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    parser.add_argument("--all", action="store_true", help="include failed and killed runs")
    parser.add_argument(
        "--parent", metavar="ID", help="only the runs of this invocation (its parent run id, or a prefix)"
    )
    parser.add_argument("--last", action="store_true", help="only the runs of the latest invocation")
    parser.add_argument("--since", metavar="DATE", help="only runs started on or after DATE (YYYY-MM-DD[ HH:MM])")


def run(args: argparse.Namespace) -> int:
    from graphemo.training.report import aggregate, format_groups, format_table, rows_from_mlflow

    rows = rows_from_mlflow(args.experiment, args.tracking_uri, include_failed=args.all, parent=args.parent,
                            last=args.last, since=args.since)  # fmt: skip
    print(format_table(rows, title=f"experiment {args.experiment}: {len(rows)} runs, best score first", details=True))
    finished = [r for r in rows if r.status == "FINISHED"]
    groups = aggregate([(r.group, r.model, r.val or {}, r.test or {}) for r in finished])  # best first
    if any(g.n > 1 for g in groups):
        print()
        print(format_groups(groups, title="mean ± sd over the runs of each group (folds, seeds)"))
    return 0
