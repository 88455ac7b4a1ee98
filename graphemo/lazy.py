"""Lazy package attributes (PEP 562): ``graphemo.graphs.PreparedStore`` imports its module on first use, so
importing a package (and ``graphemo --help``) does not pay for torch or mlflow."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module-level ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module path) on demand.

    Use: ``__getattr__ = lazy_getattr(__name__, _EXPORTS)`` and ``__all__ = sorted(_EXPORTS)``.
    """

    def __getattr__(name: str) -> object:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
