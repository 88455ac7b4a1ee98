"""Experiment YAMLs: composition from ``configs/``, several runs per file, ``--set`` overrides, validation.

An experiment file::

    name: quickstart
    defaults: [data/synth_quick, optim/adamw, schedule/onecycle, train/quick]   # configs/<group>/<name>.yaml
    task: both
    train: {epochs: 3}                        # overrides what the defaults say
    runs:                                     # optional: one run per entry, each a partial config
      - {model: {name: mlp}}
      - {model: {name: stgcn, channels: [32, 64]}, run_name: stgcn-small}
    grid:                                     # optional: the cartesian product, for every entry of runs
      optim.name: [sgd, adam]                 # a dotted key and its values...
      schedule: [{name: cosine}, {name: onecycle, pct_start: 0.2}]   # ...or a whole section per value
    sweep: {...}                              # optional: random / Optuna search (graphemo.training.sweep)

A default ``<group>/<name>`` is the file ``configs/<group>/<name>.yaml`` holding the *contents* of section
``<group>`` (``configs/data/synth_quick.yaml`` holds what goes under ``data:``); a default without a group
holds top-level keys. ``configs/`` folders are searched in order (:func:`config_search_path`): ``--configs``,
``$GRAPHEMO_CONFIGS``, next to the experiment, the working directory, graphemo's own.

Layers are merged in order (defaults, the file, the run entry, the grid values, then ``--set key=value``
overrides); mappings merge key by key, anything else is replaced. A layer that changes ``model.name`` starts
that model's options afresh (``--set model.name=resnet18`` does not carry ST-GCN's ``channels`` over).

Validation happens before anything trains: unknown keys (with the closest known key suggested), wrong types,
out-of-range values and unknown model options are :class:`ConfigError`\\ s naming the file and line the value
came from.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import itertools
import json
import typing
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from graphemo.specs import SpecError, build_spec, close_match, plain
from graphemo.training.config import ExperimentConfig, ModelConfig

RESERVED_KEYS = ("defaults", "runs", "grid", "sweep")
Path_ = tuple[str, ...]


class ConfigError(ValueError):
    """A configuration problem; the message names the file, line and dotted key."""


@dataclass
class Layer:
    """One source of configuration values: a YAML file (with its text, for line numbers) or ``--set``.

    ``data`` may sit at another place than the text it came from: a group file's keys are nested under their
    section in ``data`` (``strip`` = the section) and a run entry's keys live under ``runs[i]`` in the text
    (``root`` = ``("runs", "i")``).
    """

    data: dict
    source: str
    text: str | None = None
    strip: Path_ = ()
    root: Path_ = ()

    def line_of(self, path: Path_) -> int | None:
        """1-based line of the key ``path`` (a path into ``data``) in this layer's YAML text, if found."""
        if not self.text or path[: len(self.strip)] != self.strip:
            return None
        try:
            node = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return None
        line = None
        for key in (*self.root, *path[len(self.strip) :]):
            if isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
                node = node.value[int(key)]
                line = node.start_mark.line + 1
                continue
            if not isinstance(node, yaml.MappingNode):
                break
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                break
        return line

    def where(self, path: Path_) -> str:
        line = self.line_of(path)
        return f"{self.source}:{line}" if line else self.source


# --- loading -------------------------------------------------------------------------------------


MAX_YAML_BYTES = 1 << 20  # a config file larger than 1 MiB is not a config
MAX_YAML_NODES = 1_000_000  # values after expanding aliases (a "billion laughs" file expands to billions)
MAX_RUNS = 10_000  # runs x grid points of one experiment file


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (PyYAML silently keeps the last) and a
    document that expands (through aliases) to more than ``MAX_YAML_NODES`` values."""

    def construct_document(self, node: yaml.Node) -> Any:
        expanded = _expanded_size(node)
        if expanded > MAX_YAML_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"its aliases expand to over {MAX_YAML_NODES:,} values (an alias bomb?)", node.start_mark
            )
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (first on line {seen[key]})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node) -> int:
    """Values in the document under ``root`` once every alias is expanded (each shared node counted at each use,
    up to ``MAX_YAML_NODES + 1``), in one pass over the distinct nodes."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack[-1]
        children = _children(node)
        if id(node) not in entered:  # first visit: its children first
            entered.add(id(node))
            stack += [c for c in children if id(c) not in entered]
            continue
        stack.pop()
        sizes[id(node)] = min(1 + sum(sizes.get(id(c), 1) for c in children), MAX_YAML_NODES + 1)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def read_yaml(path: str | Path) -> Layer:
    """Parse a YAML file with a safe loader into a :class:`Layer` (an empty file is ``{}``).

    Raises:
        ConfigError: missing file, YAML syntax error or duplicate key (with line), or a top level that is not a
            mapping.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size:,} bytes; a config file is at most {MAX_YAML_BYTES:,}")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(data).__name__}")
    return Layer(data, str(path), text)


PROJECT_CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # graphemo's own, in its checkout
RECIPES = "recipes"  # configs/recipes/<name>.yaml: several sections at once (not scoped under a section)


def config_search_path(experiment: Path, extra: Sequence[str | Path] = ()) -> list[Path]:
    """Where ``defaults`` are looked up, first match winning: the ``extra`` folders (``--configs``), then
    ``$GRAPHEMO_CONFIGS`` (``:``-separated), then ``configs/`` next to (an ancestor of) the experiment file, then
    in the working directory, then graphemo's own ``configs/`` (so an experiment anywhere can use them)."""
    import os

    found = [Path(p) for p in extra]
    found += [Path(p) for p in os.environ.get("GRAPHEMO_CONFIGS", "").split(os.pathsep) if p]
    found += [parent / "configs" for parent in experiment.resolve().parents if (parent / "configs").is_dir()][:1]
    found += [Path("configs"), PROJECT_CONFIGS]
    unique: list[Path] = []
    for path in found:
        if path.is_dir() and all(path.resolve() != p.resolve() for p in unique):
            unique.append(path)
    return unique


def _default_layer(ref: str, configs: Sequence[Path], experiment: Layer) -> Layer:
    if ref.endswith((".yaml", ".yml")):
        path = (Path(experiment.source).parent / ref).resolve()
        group = None
    else:
        group = ref.rpartition("/")[0]
        path = next((c / f"{ref}.yaml" for c in configs if (c / f"{ref}.yaml").exists()), None)
        if path is None:
            known = sorted({str(p.relative_to(c).with_suffix("")) for c in configs for p in c.rglob("*.yaml")})
            hint = close_match(ref, known)
            line = experiment.line_of(("defaults",))
            where = f"{experiment.source}:{line}" if line else experiment.source
            searched = ", ".join(str(c) for c in configs) or "no configs folder"
            raise ConfigError(f"{where}: defaults: no config {ref!r} (looked in {searched}){hint}")
        group = group or None
    layer = read_yaml(path)
    if not group or group == RECIPES:
        return layer
    section = tuple(group.split("/"))
    data: dict = layer.data
    for key in reversed(section):
        data = {key: data}
    return Layer(data, layer.source, layer.text, strip=section)


def load_experiment(path: str | Path, configs: Sequence[str | Path] = ()) -> tuple[list[Layer], Layer, dict]:
    """Read an experiment file and its defaults (looked up along :func:`config_search_path`, ``configs`` first).

    Returns:
        ``(base layers, the file's own layer without the reserved keys, reserved {runs, grid, sweep})``.
    """
    path = Path(path)
    experiment = read_yaml(path)
    search = config_search_path(path, configs)
    defaults = experiment.data.get("defaults") or []
    if isinstance(defaults, str):
        defaults = [defaults]
    if not isinstance(defaults, list) or not all(isinstance(d, str) for d in defaults):
        raise ConfigError(f"{experiment.where(('defaults',))}: defaults must be a list of config names")
    layers = [_default_layer(ref, search, experiment) for ref in defaults]
    own = {k: v for k, v in experiment.data.items() if k not in RESERVED_KEYS}
    reserved = {k: experiment.data[k] for k in RESERVED_KEYS[1:] if k in experiment.data}
    return layers, Layer(own, experiment.source, experiment.text), reserved


def parse_overrides(items: Iterable[str]) -> Layer:
    """``["optim.lr=3e-4", "model.name=resnet18"]`` -> one layer; values parsed as YAML (``[32, 64]`` is a list).

    Raises:
        ConfigError: an item without ``=`` or with an empty key.
    """
    data: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. optim.lr=3e-4")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        _set_dotted(data, key.strip(), value)
    return Layer(data, "--set")


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
        if not isinstance(data, dict):
            raise ConfigError(f"{key}: {part} is set to a value and a mapping at once")
    data[parts[-1]] = value


def dotted_layer(values: Mapping[str, Any], source: str) -> Layer:
    """A layer from ``{"optim.lr": 0.1, ...}`` (grid points, sweep trials)."""
    data: dict = {}
    for key, value in values.items():
        _set_dotted(data, key, value)
    return Layer(data, source)


# --- merging -------------------------------------------------------------------------------------


def merge_layers(layers: Sequence[Layer]) -> tuple[dict, dict[Path_, Layer]]:
    """Deep-merge layers in order; returns the merged mapping and, for every key path, the layer that set it."""
    merged: dict = {}
    origins: dict[Path_, Layer] = {}
    for layer in layers:
        _merge_into(merged, layer.data, (), layer, origins)
    return merged, origins


def _merge_into(target: dict, source: Mapping, prefix: Path_, layer: Layer, origins: dict[Path_, Layer]) -> None:
    if prefix == ("model",) and "name" in source and source["name"] != target.get("name"):
        for key in [k for k in target if k != "name"]:  # a new model starts its options afresh
            del target[key]
    for key, value in source.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, path, layer, origins)
        else:
            target[key] = _copy(value)
            for old in [p for p in origins if p[: len(path)] == path]:
                del origins[old]
        origins[path] = layer


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- validation ------------------------------------------------------------------------------------


class _Checker:
    """Turns a merged mapping into the config's specs (:func:`graphemo.specs.build_spec`), raising
    :class:`ConfigError` with the file and line each bad value came from."""

    def __init__(self, origins: Mapping[Path_, Layer]) -> None:
        self.origins = origins

    def where(self, path: Path_) -> str:
        for n in range(len(path), 0, -1):
            layer = self.origins.get(path[:n])
            if layer is not None:
                return layer.where(path)
        return "config"

    def fail(self, path: Path_, message: str) -> typing.NoReturn:
        raise ConfigError(f"{self.where(path)}: {'.'.join(path) or '(top level)'}: {message}")

    def model(self, data: Any, path: Path_) -> ModelConfig:
        from graphemo.models import check_model_options, list_models

        if not isinstance(data, Mapping) or "name" not in data:
            self.fail(path, "expected a mapping with the model's name, e.g. {name: stgcn}")
        name = data["name"]
        if name not in list_models():
            self.fail((*path, "name"), f"unknown model {name!r}{close_match(name, list_models())} "
                      f"(registered: {', '.join(list_models())})")  # fmt: skip
        options = {k: v for k, v in data.items() if k != "name"}
        try:
            check_model_options(name, options)
        except SpecError as err:
            self.fail((*path, *err.path), err.reason)
        return ModelConfig(name=name, options=options)


def build_config(merged: Mapping[str, Any], origins: Mapping[Path_, Layer] | None = None) -> ExperimentConfig:
    """Validate a merged mapping and build the :class:`ExperimentConfig`.

    Raises:
        ConfigError: unknown key (closest suggested), wrong type, out-of-range value, unknown model or model
            option, bad subsample section; the message names where the value came from.
    """
    checker = _Checker(origins or {})
    data = {k: v for k, v in merged.items() if k != "model"}
    for key in RESERVED_KEYS:
        if key in data:
            checker.fail((key,), f"{key} is only allowed at the top level of an experiment file")
    try:
        config = build_spec(ExperimentConfig, data, ())
    except SpecError as err:
        checker.fail(err.path, err.reason)
    if "model" in merged:
        config.model = checker.model(merged["model"], ("model",))
    problem = model_build_problem(config.model.name, json.dumps(config.model.options, sort_keys=True), config.task)
    if problem:
        checker.fail(("model",), f"{config.model.name} cannot be built with these options: {problem}")
    return config


@functools.lru_cache(maxsize=256)
def model_build_problem(name: str, options_json: str, task: str) -> str | None:
    """Why model ``name`` with ``options_json`` cannot be built (a value its constructor refuses), or None; built
    once per distinct model on a BODY_25 skeleton, so a dry run catches what the option names alone do not."""
    from graphemo.models import build_model

    try:
        build_model(name, layout="body25", in_channels=3, task=task, **json.loads(options_json))
    except (ValueError, TypeError, KeyError, OSError, RuntimeError) as exc:
        return str(exc)
    return None


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as plain data, in YAML order (model options flattened next to its name)."""
    out = plain(config)
    out["model"] = {"name": config.model.name, **config.model.options}
    return out


def to_yaml(config: ExperimentConfig) -> str:
    """The resolved config as YAML (what ``graphemo run --dry-run`` prints and MLflow stores)."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=None)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optim": {"lr": 0.1}}`` -> ``{"optim.lr": 0.1}`` (lists kept as values), for MLflow params."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


# --- runs ------------------------------------------------------------------------------------------


@dataclass
class PlannedRun:
    """One run of an experiment file: its resolved config, the layers it came from, its label (the model or
    ``run_name``, then ``key=value`` per grid value, then ``fold=k``), and the group it is aggregated in (the label
    without the fold and the seed: a run's folds and seeds are one result, reported as mean and sd)."""

    config: ExperimentConfig
    layers: list[Layer]
    label: str
    group: str = ""


def grid_points(grid: Mapping[str, Sequence[Any]] | None, source: Layer) -> list[dict[str, Any]]:
    """The cartesian product of a ``grid:`` mapping, as dotted-key dicts (``[{}]`` without a grid)."""
    if not grid:
        return [{}]
    if not isinstance(grid, Mapping):
        raise ConfigError(f"{source.where(('grid',))}: grid must map dotted keys to lists of values")
    keys = list(grid)
    for key in keys:
        if not isinstance(grid[key], list) or not grid[key]:
            raise ConfigError(f"{source.where(('grid', key))}: grid.{key} must be a non-empty list of values")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def _point_label(value: Any) -> str:
    if isinstance(value, Mapping):  # a whole section, e.g. {name: sgd, lr: 0.01} or {strategy: kcenter, ...}
        key = next((k for k in ("name", "strategy") if k in value), None)
        return str(value[key]) if key else "-".join(map(str, value.values()))
    return "x".join(map(str, value)) if isinstance(value, list) else str(value)


REPLICATE_KEYS = frozenset({"seed"})  # grid keys whose runs are replicates: one group, reported as mean and sd


def group_of(label: str) -> str:
    """The group of a run label: the label without its ``fold=`` and ``seed=`` terms (its replicates')."""
    return " ".join(t for t in label.split(" ") if not t.startswith(("fold=", *(f"{k}=" for k in REPLICATE_KEYS))))


def _grid_terms(config: ExperimentConfig, point: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(dotted key, "key=value")`` per grid value; a key is shortened (:func:`_short_key`) unless two would read
    alike."""
    keys = [k for k in point if not (k == "model.name" and not config.run_name)]
    short = {k: _short_key(k) for k in keys}
    counts = Counter(short.values())
    return [(k, f"{short[k] if counts[short[k]] == 1 else k}={_point_label(point[k])}") for k in keys]


def _short_key(key: str) -> str:
    """``optim.lr`` -> ``lr``; ``optim.name`` -> ``optim`` (a section's name or strategy stands for the section)."""
    parts = key.split(".")
    return parts[-2] if len(parts) > 1 and parts[-1] in ("name", "strategy") else parts[-1]


def plan_runs(
    path: str | Path,
    overrides: Sequence[str] = (),
    configs: Sequence[str | Path] = (),
    *,
    only: Sequence[str] = (),
    grid: Sequence[str] = (),
) -> tuple[list[PlannedRun], dict]:
    """Every run an experiment file describes (``runs`` x ``grid``, then ``--set`` overrides), validated.

    Args:
        path: the experiment YAML.
        overrides: ``KEY=VALUE`` for every run, or ``RUN:KEY=VALUE`` for the runs ``RUN`` selects (see ``only``).
        configs: folders to look up ``defaults`` in first.
        only: run patterns (``fnmatch`` globs; a plain word also matches its ``-1``/``key=value`` variants) chosen
            among the labels the file gives, before ``overrides`` change any name.
        grid: ``KEY=V1,V2`` axes added to (or replacing) the file's ``grid:``.

    Returns:
        ``(runs, reserved)`` where ``reserved`` holds the file's ``sweep`` section (if any) for
        :mod:`graphemo.training.sweep`.

    Raises:
        ConfigError: the first problem found in any run (nothing has started yet), or a pattern that selects none.
    """
    base, own, reserved = load_experiment(path, configs)
    shared, per_run = split_overrides(overrides)
    entries = reserved.get("runs") or [{}]
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise ConfigError(f"{own.where(('runs',))}: runs must be a list of mappings (partial configs)")
    points = grid_points({**(reserved.get("grid") or {}), **parse_grid(grid)}, own)
    if len(entries) * len(points) > MAX_RUNS:
        raise ConfigError(f"{own.where(('runs',))}: runs x grid makes {len(entries) * len(points):,} runs; at most "
                          f"{MAX_RUNS:,} per experiment file")  # fmt: skip
    cells = [(Layer(dict(e), own.source, own.text, root=("runs", str(i))), point)
             for i, e in enumerate(entries) for point in points]  # fmt: skip

    def build(cell: tuple[Layer, dict], extra: list[Layer]) -> tuple[ExperimentConfig, list[Layer]]:
        layers = [*base, own, cell[0], dotted_layer(cell[1], f"{own.source} (grid)"), *extra]
        merged, origins = merge_layers(layers)
        return build_config(merged, origins), layers

    first_names: list[tuple[str, str]] = []
    first_suffixes = None
    folds: dict[int, set[int] | None] = {}
    if only or per_run:  # the names the file gives, which --only and RUN:KEY=VALUE select by
        first = [build(c, [])[0] for c in cells]
        first_names, first_suffixes = _run_names([(config, c[1]) for config, c in zip(first, cells, strict=True)])
        if only:
            folds = _select(first_names, [_fold_count(config) for config in first], only, path)
    chosen = list(folds) if only else list(range(len(cells)))
    planned = []
    for k in chosen:
        extra = [parse_overrides(shared)] + [parse_overrides([item]) for pattern, item in per_run
                                             if _matches(first_names[k], pattern)]  # fmt: skip
        config, layers = build(cells[k], extra)
        planned.append(PlannedRun(config, layers, ""))
    kept = [first_suffixes[k] for k in chosen] if first_suffixes is not None else None
    names, _ = _run_names([(p.config, cells[k][1]) for p, k in zip(planned, chosen, strict=True)], kept)
    for p, (label, group) in zip(planned, names, strict=True):
        p.label, p.group = label, group
        p.config.run_name = label
    expanded = []
    for p, k in zip(planned, chosen, strict=True):
        runs = _expand_folds([p])
        wanted = folds.get(k)
        expanded += [r for r in runs if wanted is None or r.config.cv.fold in wanted]
    return expanded, reserved


def _fold_count(config: ExperimentConfig) -> int:
    """Folds a run expands into (0: it is one run)."""
    return config.cv.folds if config.cv is not None and config.cv.fold is None else 0


def split_overrides(items: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """``--set`` items for every run, and ``(run pattern, KEY=VALUE)`` of the ``RUN:KEY=VALUE`` ones."""
    shared, per_run = [], []
    for item in items:
        key = item.partition("=")[0]
        if ":" in key:
            pattern, _, rest = item.partition(":")
            per_run.append((pattern.strip(), rest))
        else:
            shared.append(item)
    return shared, per_run


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """``["seed=0,1", "optim.lr=1e-3,3e-3"]`` -> ``{"seed": [0, 1], "optim.lr": [0.001, 0.003]}`` (values as YAML;
    a value holding commas goes in brackets: ``model.channels=[32,64],[64,128]``)."""
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise ConfigError(f"--grid {item!r}: expected KEY=V1,V2,..., e.g. seed=0,1")
        try:
            values = yaml.safe_load(f"[{raw}]")
        except yaml.YAMLError:
            raise ConfigError(f"--grid {item!r}: the values are not a YAML list") from None
        out[key.strip()] = values
    return out


def _matches(name: tuple[str, str], pattern: str) -> bool:
    """Whether a run (``(label, group)``) is one ``pattern`` names: a glob on the label or the group, or a plain
    word followed by a ``-n`` suffix or ``key=value`` terms (``gat`` names ``gat-1 lr=0.1``)."""
    label, group = name
    return any(fnmatch.fnmatchcase(text, pattern) or fnmatch.fnmatchcase(text, pattern + "[ -]*")
               for text in (label, group))  # fmt: skip


def _select(
    names: list[tuple[str, str]], fold_counts: list[int], only: Sequence[str], path: str | Path
) -> dict[int, set[int] | None]:
    """The runs ``only`` names, by index: ``None`` for all of a run's folds, else the folds named
    (``stgcn fold=2``)."""
    chosen: dict[int, set[int] | None] = {}
    for pattern in only:
        found = False
        for k, (name, folds) in enumerate(zip(names, fold_counts, strict=True)):
            if _matches(name, pattern):
                chosen[k], found = None, True
                continue
            label, group = name
            named = {f for f in range(1, folds + 1) if _matches((f"{label} fold={f}", f"{group} fold={f}"), pattern)}
            if named:
                found = True
                if chosen.get(k, set()) is not None:
                    chosen[k] = chosen.get(k, set()) | named
        if not found:
            raise ConfigError(f"{path}: --only {pattern!r} names no run; runs: {', '.join(n[0] for n in names)}")
    return dict(sorted(chosen.items()))


def _run_names(
    runs: list[tuple[ExperimentConfig, dict]], suffixes: list[str] | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """``(label, group)`` per ``(config, grid point)``: the run name (or model), then ``key=value`` per grid value;
    and the ``-n`` suffixes added where the same name would repeat (computed unless given: a run keeps the number
    the file gave it when an override renames it)."""
    heads = [config.run_name or config.model.name for config, _ in runs]
    terms = [_grid_terms(config, point) for config, point in runs]
    if suffixes is None:
        keys = [(h, *t) for h, t in zip(heads, terms, strict=True)]
        counts, seen, suffixes = Counter(keys), Counter(), []
        for key in keys:  # unique, stable names: stgcn-1 lr=0.1, stgcn-2 lr=0.1
            seen[key] += 1
            suffixes.append(f"-{seen[key]}" if counts[key] > 1 else "")
    out = []
    for head, suffix, run_terms in zip(heads, suffixes, terms, strict=True):
        out.append((" ".join([head + suffix, *(t for _, t in run_terms)]),
                    " ".join([head + suffix, *(t for key, t in run_terms if key not in REPLICATE_KEYS)])))  # fmt: skip
    return out, suffixes


def _expand_folds(planned: list[PlannedRun]) -> list[PlannedRun]:
    """Every run with a ``cv:`` section and no ``cv.fold`` becomes one run per fold (``<label> fold=<k>``)."""
    out = []
    for p in planned:
        p.group = p.group or p.label
        cv = p.config.cv
        if cv is None or cv.fold is not None:
            out.append(p)
            continue
        for fold in range(1, cv.folds + 1):
            config = dataclasses.replace(p.config, cv=dataclasses.replace(cv, fold=fold))
            config.run_name = f"{p.label} fold={fold}"
            out.append(PlannedRun(config, p.layers, config.run_name, group=p.group))
    return out
