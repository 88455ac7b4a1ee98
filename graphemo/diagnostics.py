"""The debug switch: ``GRAPHEMO_DEBUG=1`` (or a command's ``--debug``, which sets it) shows Python tracebacks
where graphemo otherwise prints one line per error."""

from __future__ import annotations

import os

DEBUG_VARIABLE = "GRAPHEMO_DEBUG"


def debug_enabled() -> bool:
    """Whether tracebacks are wanted: ``GRAPHEMO_DEBUG`` set to something other than empty or ``0``."""
    return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


def enable_debug() -> None:
    """Turn the switch on for this process and the processes it starts."""
    os.environ[DEBUG_VARIABLE] = "1"
