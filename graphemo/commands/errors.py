"""How a command ends: one clear line on stderr and an exit code, never a traceback (unless asked for).

Every command runs inside :func:`error_boundary`. A user's mistake (a bad file, config value, model file, a full
disk) is printed as ``graphemo <command>: <message>`` with exit code 2 for usage and config errors and 1 for the
rest; an interrupt (Ctrl-C, or SIGTERM as Slurm, Kubernetes and ``docker stop`` send it, handled alike) ends with
130 or 143. ``--debug`` or ``GRAPHEMO_DEBUG=1`` shows the traceback too. Anything else is a bug in graphemo: one
line saying so, and how to get the traceback.
"""

from __future__ import annotations

import errno
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds as on Ctrl-C (runs end KILLED, temporary
    folders are removed, workers stop)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def handle_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread (call from the main thread)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def _usage_error_types() -> tuple[type[BaseException], ...]:
    from graphemo.specs import SpecError
    from graphemo.training.compose import ConfigError

    return (ConfigError, SpecError)


def describe(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception a command raised."""
    if isinstance(exc, _usage_error_types()):
        return f"config error: {exc}", EXIT_USAGE
    if "No space left on device" in str(exc) and not isinstance(exc, OSError):  # torch.save, numpy wrap it
        return f"no space left on the device ({_first_line(exc)})", EXIT_ERROR
    if isinstance(exc, OSError):
        where = exc.filename or ""
        if exc.errno == errno.ENOSPC:
            return f"no space left on {where or 'the device'}", EXIT_ERROR
        reason = exc.strerror or str(exc)
        return (f"{where}: {reason}" if where else reason), EXIT_ERROR
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0]), EXIT_ERROR
    if isinstance(exc, (ValueError, LookupError, ImportError)):  # graphemo's data, model-file and config errors
        return str(exc), EXIT_ERROR
    if type(exc).__module__.startswith("mlflow"):
        return f"MLflow: {exc}", EXIT_ERROR
    return (f"internal error ({type(exc).__name__}: {exc}); this is a bug in graphemo: please report it with the "
            "traceback that --debug (or GRAPHEMO_DEBUG=1) shows"), EXIT_ERROR  # fmt: skip


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200]


@contextmanager
def error_boundary(command: str, debug: bool, exit_with: Callable[[int], None]) -> Iterator[None]:
    """Run a command's body; on an exception print one line (and the traceback when ``debug``) and call
    ``exit_with(code)``."""
    try:
        yield
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(f"graphemo {command}: {'terminated (SIGTERM)' if terminated else 'interrupted'}", file=sys.stderr)
        exit_with(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
    except Exception as exc:  # the boundary: every error ends here, as one line
        if debug:
            traceback.print_exc()
        message, code = describe(exc)
        print(f"graphemo {command}: {message}", file=sys.stderr)
        exit_with(code)
