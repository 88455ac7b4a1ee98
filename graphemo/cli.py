"""The ``graphemo`` command line.

Each sub-command lives in ``graphemo/commands/<name>.py`` with ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import heavy libraries (torch, mlflow)
inside ``run`` so that ``graphemo --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

# Order shown in --help: the pipeline, left to right.
COMMANDS = ("synth", "extract", "mocap", "prepare", "subsample", "render", "run", "compare", "predict", "stream",
            "export")  # fmt: skip


def _available() -> list[tuple[str, object]]:
    found = []
    for name in COMMANDS:
        try:
            found.append((name, importlib.import_module(f"graphemo.commands.{name}")))
        except ModuleNotFoundError as exc:
            if exc.name != f"graphemo.commands.{name}":
                raise
    return found


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per available command."""
    from graphemo import __version__

    parser = argparse.ArgumentParser(
        prog="graphemo",
        description="Emotion recognition from body gesture and face as skeleton graphs.",
    )
    parser.add_argument("--version", action="version", version=f"graphemo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _available():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``graphemo`` console script; returns the process exit code."""
    # torch_geometric's import-time deprecation notice about torch.jit.script says nothing to a graphemo user.
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
