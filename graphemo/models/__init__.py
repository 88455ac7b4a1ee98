"""Models: a registry of ANN / CNN / GNN / ST-GCN / transformer models with shared task heads.

Build one from its name and options (``build_model("stgcn", layout=..., in_channels=3, task="both")``);
every model returns ``{"expr": (N, num_classes) logits, "va": (N, 2) in [-1, 1]}`` (the keys its task needs).
"""

from graphemo.models import (  # noqa: F401  (importing registers the models)
    cnn,
    ctrgcn,
    ensemble,
    gnn,
    kinematic,
    mlp,
    stgcn,
    stgcnpp,
    transformer,
)
from graphemo.models.heads import TaskHeads, validate_task
from graphemo.models.registry import (
    build_model,
    check_model_options,
    describe_model,
    list_models,
    model_input_kind,
    model_options,
    register_model,
    unregister_model,
)
from graphemo.models.va_to_class import VAToClass
from graphemo.models.weights import load_state_dict_file, load_weights_only

__all__ = [
    "TaskHeads",
    "VAToClass",
    "build_model",
    "check_model_options",
    "describe_model",
    "list_models",
    "load_state_dict_file",
    "load_weights_only",
    "model_input_kind",
    "model_options",
    "register_model",
    "unregister_model",
    "validate_task",
]
