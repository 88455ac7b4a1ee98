"""``graphemo run``: train the runs of an experiment YAML and print the comparison table."""

from __future__ import annotations

import argparse
import json

HELP = "Run an experiment YAML (composed from configs/): train, track in MLflow, print the comparison table."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="experiment YAML, e.g. experiments/quickstart.yaml")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value for every run, e.g. --set optim.lr=3e-4 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="validate and print each run's resolved config")
    parser.add_argument("--resume", action="store_true", help="continue unfinished runs from their last checkpoint")
    parser.add_argument("--only", nargs="+", metavar="RUN", help="run only these runs (by name)")
    parser.add_argument("--json", metavar="FILE", help="also write the results (runs, groups' mean and sd) as JSON")
    parser.add_argument("--configs", action="append", default=[], metavar="DIR",
                        help="a configs/ folder to look up defaults in first (repeatable)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from graphemo.training.runner import describe, exit_code, run_experiment

    results = run_experiment(
        args.experiment, args.overrides, dry_run=args.dry_run, resume=args.resume, only=args.only,
        configs=args.configs,
    )  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(describe(results), f, indent=2, default=str)
    return exit_code(results)
