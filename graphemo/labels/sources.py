"""Label sources: a registry of label formats, and :class:`LabelSpec`, the labels a store is prepared with.

The contract of a label source is one reader function::

    @register_label_source("csv", help="generic CSV: video[,frame],label and/or valence,arousal[,split]")
    def read_csv_source(path: str, *, keep_other: bool = False) -> dict[str, VideoLabels | LabelFormatError]:
        ...

* ``path`` is what the user gave (a file or a folder);
* ``keep_other`` and ``classes`` (declared class names), when the reader takes them, come from the spec;
  its other keyword-only parameters are the source's options, declared with
  :func:`graphemo.specs.option` in the registration (``fold=option(1, min=1, max=5)``); option ``fold`` of
  source ``dfew`` is ``dfew_fold`` in YAML and Python, ``--dfew-fold`` on the command line;
* it returns canonical video id -> :class:`~graphemo.labels.video_labels.VideoLabels`, or the
  :class:`~graphemo.labels.video_labels.LabelFormatError` that made that video's labels unusable (the video gets
  the status ``label_error``; the rest of the source is used);
* it raises ``LabelFormatError`` when the whole source is unusable (then none of it is used).

Registering is all a new format takes: ``graphemo prepare`` gets ``--<name>`` and the options, an experiment's
``data.labels`` section gets the keys, and :class:`LabelSpec` the keyword arguments.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from graphemo.labels.video_labels import LabelFormatError, VideoLabels
from graphemo.specs import SpecError, close_match, convert

Reader = Callable[..., dict[str, "VideoLabels | LabelFormatError"]]


@dataclass(frozen=True)
class LabelSource:
    """One registered label format (see the module docstring)."""

    name: str
    read: Reader
    help: str
    options: dict[str, dataclasses.Field]  # option name (without the source prefix) -> field (default, checks)
    hints: dict[str, Any]  # option name -> type

    def key(self, option: str) -> str:
        """The YAML / Python key of one of its options (``dfew_fold``)."""
        return f"{self.name}_{option}"


_SOURCES: dict[str, LabelSource] = {}


def register_label_source(name: str, *, help: str, **options: Any) -> Callable[[Reader], Reader]:
    """Decorator registering a reader as label source ``name`` (see the module docstring).

    Args:
        name: the source's key (``abaw_expr``).
        help: one line for ``graphemo prepare --help``.
        **options: the reader's keyword-only options, each a :func:`graphemo.specs.option` (default and checks).

    Raises:
        ValueError: the name is taken, or the options do not match the reader's keyword-only parameters.
    """

    def decorate(read: Reader) -> Reader:
        if name in _SOURCES:
            raise ValueError(f"label source {name!r} is already registered")
        params = {p.name for p in inspect.signature(read).parameters.values() if p.kind is p.KEYWORD_ONLY}
        shared = {"keep_other", "classes"}
        if set(options) != params - shared:
            raise ValueError(f"label source {name!r}: options {sorted(options)} must be the reader's keyword-only "
                             f"parameters {sorted(params - shared)}")  # fmt: skip
        hints = typing.get_type_hints(read)
        _SOURCES[name] = LabelSource(name, read, help, dict(options), {k: hints.get(k, Any) for k in options})
        return read

    return decorate


def unregister_label_source(name: str) -> None:
    """Remove a registered source (for tests that register a toy one)."""
    _SOURCES.pop(name, None)


def label_sources() -> list[LabelSource]:
    """The registered sources, built-in ones first (ABAW EXPR, ABAW VA, DFEW, CSV)."""
    import graphemo.labels  # noqa: F401  (importing the package registers the built-in sources)

    return list(_SOURCES.values())


class LabelSpec:
    """Where a store's labels come from: any combination of the registered sources (the ``data.labels`` section).

    ``LabelSpec(abaw_expr="EXPR/", abaw_va="VA/", keep_other=False)``; a source's options are keyword arguments
    too (``dfew="DFEW/", dfew_fold=2``). Per video, earlier sources (in registry order) win where two give the same
    kind of label. ``keep_other`` keeps ABAW's ``Other`` as class 7 instead of treating it as unannotated.
    ``classes`` declares the dataset's classes and their order (else they come from the data: the classes a
    format defines, as ABAW's and DFEW's, or those that occur).

    Raises:
        SpecError: an unknown source or option (the closest suggested), or a bad value.
    """

    SECTION: ClassVar[str] = "data.labels"

    def __init__(self, **given: Any) -> None:
        self._values = _checked(given, tuple(self.SECTION.split(".")), from_text=False)

    @classmethod
    def from_mapping(cls, data: Any, path: tuple[str, ...]) -> LabelSpec:
        """The spec of a YAML mapping (what :func:`graphemo.specs.build_spec` calls)."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise SpecError(path, f"expected a mapping of label sources, got {data!r}")
        spec = cls.__new__(cls)
        spec._values = _checked(dict(data), path, from_text=True)
        return spec

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"LabelSpec has no source or option {name!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSpec) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.to_dict().items()))

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if v not in (None, False))
        return f"LabelSpec({given})"

    def to_dict(self) -> dict[str, Any]:
        """Every source's path (None when not given) followed by its options, then ``keep_other`` (and
        ``classes`` when declared: the record of a store without declared classes stays as it was)."""
        out = dict(self._values)
        if out["classes"] is None:
            del out["classes"]
        return out

    @property
    def requested(self) -> bool:
        """Whether any label source is given (an unlabelled video is then worth reporting)."""
        return any(self._values[s.name] for s in label_sources())

    def given(self) -> list[tuple[LabelSource, str, dict[str, Any]]]:
        """``(source, path, options)`` of every source given, in registry order."""
        return [
            (s, self._values[s.name], {o: self._values[s.key(o)] for o in s.options})
            for s in label_sources()
            if self._values[s.name]
        ]

    def files(self) -> list[Path]:
        """Every file these sources read (for the store's fingerprint): a folder's files, or the file itself."""
        out: list[Path] = []
        for _, path, _ in self.given():
            root = Path(path)
            out += sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        return out


def _checked(given: dict[str, Any], path: tuple[str, ...], *, from_text: bool) -> dict[str, Any]:
    """The full, ordered values of a :class:`LabelSpec` from the keys given (checked against the registry)."""
    values: dict[str, Any] = {}
    hints: dict[str, tuple[Any, dataclasses.Field | None]] = {}
    for source in label_sources():
        values[source.name] = None
        hints[source.name] = (str | None, None)
        for name, f in source.options.items():
            values[source.key(name)] = f.default
            hints[source.key(name)] = (source.hints[name], f)
    values["keep_other"] = False
    hints["keep_other"] = (bool, None)
    values["classes"] = None
    hints["classes"] = (list[str] | None, None)
    for key, value in given.items():
        if key not in hints:
            raise SpecError((*path, str(key)), f"unknown label source or option{close_match(key, list(hints), 0.5)} "
                            f"(known: {', '.join(hints)})")  # fmt: skip
        hint, f = hints[key]
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        values[key] = convert(hint, value, (*path, str(key)), f.metadata if f else None, from_text=from_text)
    return values


def load_labels(spec: LabelSpec) -> tuple[dict[str, VideoLabels], list[LabelFormatError], set[str]]:
    """Read every source of ``spec`` and merge the labels per canonical video id.

    Returns:
        ``(labels, errors, broken)``: the labels per video, the files that could not be used, and the ids of
        the videos whose own labels a source refused (such a video gets the status ``label_error``, like one whose
        labels do not match its frames, rather than being used with part of its labels missing).
    """
    merged: dict[str, VideoLabels] = {}
    errors: list[LabelFormatError] = []
    broken: set[str] = set()
    for source, path, options in spec.given():
        kwargs = dict(options)
        accepted = inspect.signature(source.read).parameters
        for shared in ("keep_other", "classes"):
            if shared in accepted:
                kwargs[shared] = getattr(spec, shared)
        try:
            table = source.read(path, **kwargs)
        except LabelFormatError as exc:
            errors.append(exc)
            continue
        for key, value in table.items():
            if isinstance(value, LabelFormatError):
                errors.append(value)
                broken.add(key)
            elif key in broken:
                continue
            else:
                try:
                    merged[key] = merged[key].merged(value) if key in merged else value
                except LabelFormatError as exc:  # two sources that disagree: the video is not used
                    errors.append(exc)
                    broken.add(key)
    for key in broken:
        merged.pop(key, None)
    return merged, errors, broken
