"""Command-line flags made from a spec's fields, so that an option a command shares with a YAML section is
declared once (on the spec) and reads the same in both places: ``--image-size 1280 720`` is ``image_size``.

The help text of a flag is its field's line in the spec's ``Attributes:`` docstring section.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import types
import typing
from collections.abc import Iterable
from typing import Any

from graphemo.specs import SpecError, spec_fields


def _field_help(cls: type) -> dict[str, str]:
    """``field -> its description`` from the class docstring's ``Attributes:`` section."""
    doc = cls.__doc__ or ""
    block = doc.split("Attributes:", 1)[1] if "Attributes:" in doc else ""
    out: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        found = re.match(r"^\s{4,8}(\w+):\s*(.*)$", line)
        if found:
            current = found.group(1)
            out[current] = found.group(2)
        elif current and line.strip():
            out[current] += " " + line.strip()
        elif not line.strip() and current:
            current = None
    return {k: _plain_text(v) for k, v in out.items()}


def _plain_text(text: str) -> str:
    """reStructuredText roles and literals as plain text (``:data:`~a.B``` -> ``B``; ````x```` -> ``x``)."""
    text = re.sub(r":\w+:`~?(?:[\w.]*\.)?([\w]+)`", r"\1", text)
    return text.replace("``", "").replace("%", "%%")


def add_spec_arguments(parser: argparse.ArgumentParser, cls: type, *, skip: Iterable[str] = ()) -> None:
    """One ``--flag`` per field of ``cls`` (not in ``skip``), typed and defaulted as the field is."""
    hints = typing.get_type_hints(cls)
    helps = _field_help(cls)
    for name, f in spec_fields(cls).items():
        if name in skip:
            continue
        hint = hints[name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        inner = next(a for a in typing.get_args(hint) if a is not type(None)) if union else hint
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        flag = "--" + name.replace("_", "-")
        text = helps.get(name, "") + (f" (default: {default})" if default not in (None, "") else "")
        kwargs: dict[str, Any] = {"dest": f"spec_{name}", "default": default, "help": text}
        if inner is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        elif typing.get_origin(inner) is list:
            element = typing.get_args(inner)[0]
            parser.add_argument(flag, nargs="+", type=element, metavar=name.upper(), **kwargs)
        else:
            parser.add_argument(flag, type=inner if inner in (int, float, str) else str, metavar=name.upper(), **kwargs)


def spec_from_arguments(args: argparse.Namespace, cls: type, command: str, **given: Any) -> Any:
    """The spec of the parsed flags (``given`` overrides them); a bad value exits with status 2 and a message
    naming the flag."""
    values = {k[len("spec_") :]: v for k, v in vars(args).items() if k.startswith("spec_")}
    try:
        return cls(**{**values, **given})
    except SpecError as err:
        flag = "--" + err.path[-1].replace("_", "-") if err.path else ""
        print(f"graphemo {command}: {flag}: {err.reason}", file=sys.stderr)
        raise SystemExit(2) from None
