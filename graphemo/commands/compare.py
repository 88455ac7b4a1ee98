"""``graphemo compare``: the runs of an experiment, read back from MLflow, as one table."""

from __future__ import annotations

import argparse

HELP = "Compare the runs of an MLflow experiment: model, task, best val F1, CCC-V, CCC-A, epochs, time."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="MLflow experiment name (an experiment YAML's name:)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)")
    parser.add_argument("--all", action="store_true", help="include failed and killed runs")


def run(args: argparse.Namespace) -> int:
    import sys

    from graphemo.training.report import format_table, rows_from_mlflow

    try:
        rows = rows_from_mlflow(args.experiment, args.tracking_uri, include_failed=args.all)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    print(format_table(rows, title=f"experiment {args.experiment}: {len(rows)} runs, best score first"))
    return 0
