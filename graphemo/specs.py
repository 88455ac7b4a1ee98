"""Option specs: one frozen dataclass per option group, used as the YAML section, the library argument and the
bundle record.

A spec declares its options once, as dataclass fields whose checks ride on the field::

    @dataclass(frozen=True)
    class WindowSpec:
        SECTION: ClassVar[str] = "data.window"          # where it lives in an experiment YAML
        length: int = option(32, min=1, max=4096)
        anchor: Literal["center", "end"] = "center"

        def __post_init__(self) -> None:
            check_spec(self)                             # the same checks from Python as from YAML

The checks come from the field's type hint (``bool``, ``int``, ``float``, ``str``, ``Literal``, ``list[...]``,
``X | None``, nested specs) and its metadata: ``min``/``max`` (inclusive), ``gt`` (exclusive lower bound),
``choices`` (also per element of a list) and ``min_len``. :func:`build_spec` turns a YAML mapping into a spec,
raising :class:`SpecError` with the dotted path of the bad key, so that :mod:`graphemo.training.compose` can
name the file and line it came from; :func:`check_spec` checks an instance built from Python. Values from YAML
text may be coerced (YAML 1.1 reads ``1e-3`` as a string: a float field accepts it); values from Python are not.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Path = tuple[str, ...]


class SpecError(ValueError):
    """A bad option: ``path`` is the dotted key (``("data", "window", "length")``), ``reason`` what is wrong."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = tuple(path)
        self.reason = reason
        super().__init__(f"{'.'.join(self.path) or '(top level)'}: {reason}")


def close_match(word: object, candidates: Sequence[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` for the candidate closest to ``word``, or ``""`` (the one home of typo hints)."""
    found = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=cutoff)
    return f"; did you mean {found[0]!r}?" if found else ""


def option(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    min: float | None = None,
    max: float | None = None,
    gt: float | None = None,
    choices: Sequence[Any] | None = None,
    min_len: int | None = None,
) -> Any:
    """A dataclass field with checks (see the module docstring)."""
    meta = {"min": min, "max": max, "gt": gt, "choices": tuple(choices) if choices else None, "min_len": min_len}
    meta = {k: v for k, v in meta.items() if v is not None}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def spec_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The init fields of a spec class, by name, in declaration order."""
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _section(cls: type) -> Path:
    section = getattr(cls, "SECTION", "")
    return tuple(section.split(".")) if section else ()


def build_spec(cls: type, data: Any, path: Path = (), *, from_text: bool = True) -> Any:
    """A spec (or any dataclass) from a mapping, every value checked.

    A class may take over its own building with a classmethod ``from_mapping(data, path)`` (registry-backed
    sections such as the label sources do).

    Raises:
        SpecError: an unknown key (the closest known key suggested), a wrong type, a value out of range, or a
            check of the class itself (``__post_init__``), with the dotted path under ``path``.
    """
    if hasattr(cls, "from_mapping"):
        return cls.from_mapping(data, path)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SpecError(path, f"expected a mapping of {cls.__name__} fields, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = spec_fields(cls)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise SpecError((*path, str(key)), f"unknown key{close_match(key, list(fields), 0.5)} "
                            f"(known: {', '.join(fields)})")  # fmt: skip
        kwargs[key] = convert(hints[key], value, (*path, str(key)), fields[key].metadata, from_text=from_text)
    return construct(cls, kwargs, path)


def construct(cls: type, kwargs: Mapping[str, Any], path: Path) -> Any:
    """``cls(**kwargs)``, its own checks re-rooted at ``path`` (a :class:`SpecError` names ``cls.SECTION``)."""
    try:
        return cls(**kwargs)
    except SpecError as err:
        own = _section(cls)
        inner = err.path[len(own) :] if own and err.path[: len(own)] == own else err.path
        raise SpecError((*path, *inner), err.reason) from None
    except (TypeError, ValueError) as err:
        raise SpecError(path, str(err)) from None


def check_spec(spec: Any) -> None:
    """Check (and normalise: tuples become lists) every field of a spec instance; call it in ``__post_init__``.

    Raises:
        SpecError: ``<SECTION>.<field>: reason``.
    """
    cls = type(spec)
    hints = typing.get_type_hints(cls)
    root = _section(cls)
    for name, f in spec_fields(cls).items():
        value = getattr(spec, name)
        checked = convert(hints[name], value, (*root, name), f.metadata, from_text=False)
        if checked is not value:
            object.__setattr__(spec, name, checked)


def convert(hint: Any, value: Any, path: Path, meta: Mapping[str, Any] | None = None, *, from_text: bool) -> Any:
    """``value`` checked against a type hint and field metadata (see the module docstring).

    Raises:
        SpecError: naming ``path``.
    """
    meta = meta or {}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise SpecError(path, "must not be null")
        inner = [a for a in args if a is not type(None)]
        return convert(inner[0], value, path, meta, from_text=from_text) if len(inner) == 1 else value
    if value is None:
        raise SpecError(path, f"must not be null (expected {getattr(hint, '__name__', hint)})")
    if dataclasses.is_dataclass(hint) or (isinstance(hint, type) and hasattr(hint, "from_mapping")):
        if isinstance(value, hint):
            return value
        return build_spec(hint, value, path, from_text=from_text)
    if origin is Literal:
        return _choice(value, args, path)
    if origin in (list, tuple) or hint in (list, tuple):
        return _sequence(args, value, path, meta, from_text)
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise SpecError(path, f"expected a mapping, got {value!r}")
        return dict(value)
    return _scalar(hint, value, path, meta, from_text)


def _choice(value: Any, choices: Sequence[Any], path: Path) -> Any:
    if value not in choices:
        names = [str(c) for c in choices]
        raise SpecError(path, f"{value!r} is not one of {', '.join(names)}{close_match(value, names)}")
    return value


def _sequence(args: tuple, value: Any, path: Path, meta: Mapping[str, Any], from_text: bool) -> list:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise SpecError(path, f"expected a list, got {value!r}")
    if "min_len" in meta and len(value) < meta["min_len"]:
        raise SpecError(path, f"expected at least {meta['min_len']} item(s), got {list(value)!r}")
    element = {k: v for k, v in meta.items() if k != "min_len"}
    inner = args[0] if args else Any
    out = [convert(inner, v, (*path, str(i)), element, from_text=from_text) for i, v in enumerate(value)]
    if "choices" in element and inner is Any:
        for i, v in enumerate(out):
            _choice(v, element["choices"], (*path, str(i)))
    return out


def _scalar(hint: Any, value: Any, path: Path, meta: Mapping[str, Any], from_text: bool) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise SpecError(path, f"expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise SpecError(path, f"expected a string, got {value!r}")
        return _choice(value, meta["choices"], path) if "choices" in meta else value
    if hint not in (int, float):
        return value
    number = value
    if from_text and isinstance(value, str) and hint is float:  # YAML 1.1 reads 1e-3 as a string
        try:
            number = float(value)
        except ValueError:
            raise SpecError(path, f"expected a number, got {value!r}") from None
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise SpecError(path, f"expected {'an integer' if hint is int else 'a number'}, got {value!r}")
    if hint is int and not isinstance(number, int):
        raise SpecError(path, f"expected an integer, got {value!r}")
    if not math.isfinite(number):
        raise SpecError(path, f"expected a finite number, got {value!r}")
    _check_range(number, path, meta)
    return hint(number) if type(number) is not hint else number


def _check_range(number: float, path: Path, meta: Mapping[str, Any]) -> None:
    lo, hi, gt = meta.get("min"), meta.get("max"), meta.get("gt")
    if (lo is not None and number < lo) or (gt is not None and number <= gt) or (hi is not None and number > hi):
        low = f"({gt}" if gt is not None else f"[{lo}" if lo is not None else "(-inf"
        high = f"{hi}]" if hi is not None else "inf)"
        raise SpecError(path, f"{number} is outside {low}, {high}")
    if "choices" in meta and number not in meta["choices"]:
        raise SpecError(path, f"{number} is not one of {', '.join(map(str, meta['choices']))}")


def spec_dict(spec: Any) -> dict[str, Any]:
    """A spec as plain data (what bundles and MLflow record)."""
    return plain(spec)


def plain(value: Any) -> Any:
    """Specs (dataclasses, or objects with ``to_dict()``) and containers as plain dicts, lists and scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return plain(value.to_dict())
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
