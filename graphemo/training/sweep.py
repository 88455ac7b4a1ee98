"""Hyper-parameter search declared in the experiment YAML: grid, random, or Bayesian (Optuna).

::

    sweep:
      method: optuna            # grid | random | optuna
      trials: 20                # random / optuna (grid runs every combination)
      seed: 0
      metric: score             # validation metric to maximise (score = F1, mean CCC, or their mean)
      storage: sqlite:///optuna.db   # optuna only: an RDB URL shared by several machines (default: in memory)
      study: null               # optuna study name (default: the experiment name)
      params:
        optim.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
        optim.name: {choices: [sgd, adam]}
        train.batch_size: {low: 16, high: 128, step: 16}     # integers when low and high are integers

Every trial is a child MLflow run of the sweep's parent run; the trial's values are its ``--set``-style layer
on top of the experiment (so they are validated like any config). Optuna needs ``pip install -e .[sweep]``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphemo.training.compose import ConfigError, Layer, PlannedRun, build_config, dotted_layer, merge_layers

METHODS = ("grid", "random", "optuna")


@dataclass
class ParamSpace:
    """One searched key: a list of ``choices``, or a range ``low``..``high`` (``log``, integer ``step``)."""

    key: str
    choices: list | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def is_int(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int) and not isinstance(self.low, bool)

    def sample(self, rng: np.random.Generator) -> Any:
        """A random value (uniform, or log-uniform with ``log``)."""
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        assert self.low is not None and self.high is not None
        if self.log:
            value = float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))
        else:
            value = float(rng.uniform(self.low, self.high))
        if self.step:
            value = self.low + round((value - self.low) / self.step) * self.step
        return round(value) if self.is_int else value

    def suggest(self, trial: Any) -> Any:
        """The Optuna suggestion for this key."""
        if self.choices is not None:
            return trial.suggest_categorical(self.key, self.choices)
        if self.is_int:
            return trial.suggest_int(self.key, self.low, self.high, step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)


@dataclass
class SweepSpec:
    """The parsed ``sweep:`` section."""

    method: str
    params: list[ParamSpace]
    trials: int = 10
    seed: int = 0
    metric: str = "score"
    storage: str | None = None
    study: str | None = None
    extra: dict = field(default_factory=dict)


def parse_sweep(section: Mapping[str, Any], source: Layer) -> SweepSpec:
    """Validate a ``sweep:`` section.

    Raises:
        ConfigError: unknown method/keys, a param that is neither choices nor a range, bad bounds.
    """

    def fail(path: tuple[str, ...], message: str) -> None:
        raise ConfigError(f"{source.where(('sweep', *path))}: sweep.{'.'.join(path)}: {message}")

    known = {"method", "params", "trials", "seed", "metric", "storage", "study"}
    for key in section:
        if key not in known:
            fail((key,), f"unknown key (known: {', '.join(sorted(known))})")
    method = section.get("method", "random")
    if method not in METHODS:
        fail(("method",), f"{method!r} is not one of {', '.join(METHODS)}")
    raw = section.get("params")
    if not isinstance(raw, Mapping) or not raw:
        fail(("params",), "needs a mapping of dotted keys to {choices: [...]} or {low, high, log, step}")
    params = []
    for key, spec in raw.items():
        if isinstance(spec, list):
            spec = {"choices": spec}
        if not isinstance(spec, Mapping) or not ({"choices"} <= set(spec) or {"low", "high"} <= set(spec)):
            fail(("params", key), "give choices: [...] or low: and high:")
        extra = set(spec) - {"choices", "low", "high", "log", "step"}
        if extra:
            fail(("params", key), f"unknown keys {sorted(extra)}")
        low, high = spec.get("low"), spec.get("high")
        if "choices" not in spec:
            try:
                low = low if isinstance(low, int) and not isinstance(low, bool) else float(low)
                high = high if isinstance(high, int) and not isinstance(high, bool) else float(high)
            except (TypeError, ValueError):
                fail(("params", key), f"low/high must be numbers, got {low!r}, {high!r}")
            if not low < high or (spec.get("log") and low <= 0):
                fail(("params", key), f"need low < high (and low > 0 with log), got {low}, {high}")
        elif method == "grid" and not spec["choices"]:
            fail(("params", key), "choices must not be empty")
        if method == "grid" and "choices" not in spec:
            fail(("params", key), "grid search needs choices: [...] for every key")
        params.append(ParamSpace(key, spec.get("choices"), low, high, bool(spec.get("log", False)), spec.get("step")))
    trials = section.get("trials", 10)
    if not isinstance(trials, int) or trials < 1:
        fail(("trials",), f"must be a positive integer, got {trials!r}")
    return SweepSpec(method, params, trials, int(section.get("seed", 0)), str(section.get("metric", "score")),
                     section.get("storage"), section.get("study"))  # fmt: skip


def trial_config(base: PlannedRun, values: Mapping[str, Any], name: str) -> Any:
    """The config of a trial: ``values`` layered just below the command-line overrides of ``base``."""
    layers: list[Layer] = [*base.layers[:-1], dotted_layer(values, "sweep trial"), base.layers[-1]]
    merged, origins = merge_layers(layers)
    config = build_config(merged, origins)
    config.run_name = name
    return config


def grid_trials(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of the choices."""
    keys = [p.key for p in spec.params]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(p.choices for p in spec.params))]


def random_trials(spec: SweepSpec) -> list[dict[str, Any]]:
    """``trials`` seeded random draws."""
    rng = np.random.default_rng(spec.seed)
    return [{p.key: p.sample(rng) for p in spec.params} for _ in range(spec.trials)]


def run_sweep(
    spec: SweepSpec, base: PlannedRun, run_trial: Callable[[Any], float], log: Callable[[str], None] = print
) -> list[tuple[dict[str, Any], float]]:
    """Run the trials of ``spec`` on top of ``base``.

    Args:
        run_trial: trains one trial config and returns its validation metric (``spec.metric``; NaN if failed).

    Returns:
        ``[(values, metric)]`` in trial order.
    """
    if spec.method in ("grid", "random"):
        points = grid_trials(spec) if spec.method == "grid" else random_trials(spec)
        out = []
        for i, values in enumerate(points):
            log(f"trial {i + 1}/{len(points)}: {values}")
            out.append((values, run_trial(trial_config(base, values, f"{base.label}-t{i + 1:03d}"))))
        return out
    try:
        import optuna
    except ImportError:
        raise ConfigError("sweep.method optuna needs Optuna: pip install -e '.[sweep]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=spec.study or base.config.name,
        storage=spec.storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=spec.seed),
        load_if_exists=True,
    )
    out = []

    def objective(trial: Any) -> float:
        values = {p.key: p.suggest(trial) for p in spec.params}
        log(f"trial {trial.number + 1}/{spec.trials}: {values}")
        metric = run_trial(trial_config(base, values, f"{base.label}-t{trial.number + 1:03d}"))
        out.append((values, metric))
        if not math.isfinite(metric):
            raise optuna.TrialPruned(f"metric {spec.metric} is not finite")
        return metric

    study.optimize(objective, n_trials=spec.trials, catch=(ValueError, RuntimeError))
    return out
