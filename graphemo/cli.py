"""The ``graphemo`` command line.

Each sub-command lives in ``graphemo/commands/<name>.py`` with ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import heavy libraries (torch, mlflow)
inside ``run`` so that ``graphemo --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
    debug = "show the Python traceback of an error (or set GRAPHEMO_DEBUG=1)"
    parser.add_argument("--debug", action="store_true", help=debug)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _available():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP, parents=[common])
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``graphemo`` console script; returns the process exit code (see
    :mod:`graphemo.commands.errors`: one line per error, the traceback only with ``--debug``)."""
    from graphemo.commands.errors import error_boundary, handle_sigterm
    from graphemo.diagnostics import debug_enabled, enable_debug

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    if getattr(args, "debug", False):
        enable_debug()
    handle_sigterm()
    code: list[int] = []
    with error_boundary(args.command, debug_enabled(), code.append):
        return int(args._run(args) or 0)
    return code[0]


if __name__ == "__main__":
    sys.exit(main())
