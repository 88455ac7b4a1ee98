"""Training: experiment configs (YAML), the training loop, metrics, MLflow tracking, sweeps.

Use from Python::

    from graphemo.training import run_experiment
    results = run_experiment("experiments/quickstart.yaml", ["train.epochs=2"])

or ``graphemo run experiments/quickstart.yaml --set train.epochs=2``. Heavy modules load on first use.
"""

from __future__ import annotations

from graphemo.lazy import lazy_getattr

_EXPORTS = {
    "ExperimentConfig": "graphemo.training.config",
    "ConfigError": "graphemo.training.compose",
    "plan_runs": "graphemo.training.compose",
    "build_config": "graphemo.training.compose",
    "run_experiment": "graphemo.training.runner",
    "fit": "graphemo.training.trainer",
    "RunResult": "graphemo.training.trainer",
    "evaluate": "graphemo.training.metrics",
    "ccc": "graphemo.training.metrics",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
