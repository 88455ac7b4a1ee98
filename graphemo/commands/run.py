"""``graphemo run``: train the runs of an experiment YAML and print the comparison table."""

from __future__ import annotations

import argparse
import json

HELP = "Run an experiment YAML (composed from configs/): train, track in MLflow, print the comparison table."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", help="experiment YAML, e.g. experiments/quickstart.yaml")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="[RUN:]KEY=VALUE",
        help="override a config value for every run (--set optim.lr=3e-4) or for the runs RUN names "
             "(--set 'stgcn:model.channels=[32,64]'); repeatable",
    )  # fmt: skip
    parser.add_argument("--grid", nargs="+", default=[], metavar="KEY=V1,V2",
                        help="add grid axes, e.g. --grid seed=0,1 optim.lr=1e-3,3e-3")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="validate and print the plan: one row per run")
    parser.add_argument("--verbose", action="store_true", help="with --dry-run: each run's full resolved config")
    parser.add_argument("--resume", action="store_true", help="continue unfinished runs from their last checkpoint")
    parser.add_argument("--only", nargs="+", metavar="RUN",
                        help="run only these runs: names or globs as the file names them, before --set "
                             "(gat, 'stgcn*', 'mlp fold=1')")  # fmt: skip
    parser.add_argument("--json", metavar="FILE", help="also write the results (runs, groups' mean and sd) as JSON")
    parser.add_argument("--configs", action="append", default=[], metavar="DIR",
                        help="a configs/ folder to look up defaults in first (repeatable)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from graphemo.training.runner import describe, exit_code, run_experiment

    results = run_experiment(
        args.experiment, args.overrides, dry_run=args.dry_run, resume=args.resume, only=args.only, grid=args.grid,
        verbose=args.verbose, configs=args.configs,
    )  # fmt: skip
    if args.json and not args.dry_run:  # a plan has no results; an earlier run's file stays as it is
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(describe(results), f, indent=2, default=str)
    return exit_code(results)
