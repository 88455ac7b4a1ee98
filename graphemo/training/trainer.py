"""The training loop of one run: plain PyTorch, checkpointed every epoch, tracked in MLflow.

``fit(config)`` builds the data and the model, then per epoch: train (AMP and gradient clipping optional),
evaluate on the validation videos, step the schedule, log the epoch's metrics in one MLflow call, write the
checkpoint atomically, keep the best model as a bundle, and stop early when the validation score stalls.
At the end the best model is scored on the validation (and test) videos and the run's artifacts are logged:
resolved config, confusion matrix, per-class table, valence/arousal scatter, data summary, best bundle.

A run killed at any point resumes with ``resume=True`` from the last finished epoch (same MLflow run).
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from graphemo.diagnostics import debug_enabled
from graphemo.graphs.normalize import DEGENERATE_EXTENT
from graphemo.store import PreparedStore
from graphemo.training import distributed as ddp
from graphemo.training.checkpoint import LAST, config_digest, find_resumable, run_folder, save_atomic
from graphemo.training.compose import config_to_dict, flatten, group_of, to_yaml
from graphemo.training.config import ExperimentConfig, OptimConfig, ScheduleConfig
from graphemo.training.data import TrainingData, build_training_data, make_loader
from graphemo.training.losses import MultiTaskLoss, balanced_class_weights
from graphemo.training.metrics import Predictions, evaluate
from graphemo.training.selection import Selection
from graphemo.training.tracking import NullTracker, Tracker, git_commit

DEGENERATE_WARNING = 0.01  # warn when more than this fraction of training poses has a collapsed scale
SUMMARY_METRICS = ("score", "f1", "accuracy", "ccc_valence", "ccc_arousal", "ccc_mean", "clip_f1", "clip_uar",
                   "clip_war", "clip_n", "va2class_f1")  # fmt: skip


@dataclass
class RunResult:
    """What one run achieved (a row of the summary table)."""

    name: str
    model: str
    task: str
    status: str = "FINISHED"
    run_id: str | None = None
    best_epoch: int = 0
    epochs: int = 0
    seconds: float = 0.0
    parameters: int = 0
    val: dict[str, float] = field(default_factory=dict)
    test: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    run_dir: str | None = None
    group: str = ""


# --- building blocks ---------------------------------------------------------------------------------------


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def build_optimizer(params: Any, cfg: OptimConfig) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), Adam, AdamW or Adamax from the ``optim:`` section."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)  # fmt: skip
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adamax": torch.optim.Adamax}[cfg.name]
    return cls(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, epochs: int, steps_per_epoch: int
) -> tuple[Any, str]:
    """The LR schedule and when it steps: ``"step"`` (OneCycle), ``"epoch"`` (cosine), ``"metric"`` (plateau)."""
    sched = torch.optim.lr_scheduler
    if cfg.name == "onecycle":
        max_lr = [g["lr"] for g in optimizer.param_groups]
        return sched.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(1, epochs * steps_per_epoch),
                                pct_start=cfg.pct_start), "step"  # fmt: skip
    if cfg.name == "cosine":
        warmup = min(round(cfg.warmup_epochs), epochs - 1)
        cosine = sched.CosineAnnealingLR(optimizer, T_max=max(1, epochs - warmup), eta_min=cfg.min_lr)
        if warmup <= 0:
            return cosine, "epoch"
        ramp = sched.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
        return sched.SequentialLR(optimizer, [ramp, cosine], milestones=[warmup]), "epoch"
    if cfg.name == "plateau":
        return sched.ReduceLROnPlateau(optimizer, mode="max", factor=cfg.factor, patience=cfg.patience,
                                       min_lr=cfg.min_lr), "metric"  # fmt: skip
    return None, "none"


def amp_settings(mode: str, device: torch.device) -> tuple[bool, torch.dtype, bool]:
    """``(enabled, dtype, needs GradScaler)``: on by default on CUDA only (bf16 where supported, else fp16 with
    a scaler); ``amp: on`` on a CPU uses bf16."""
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return False, torch.float32, False
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        return True, torch.bfloat16 if bf16 else torch.float16, not bf16
    return True, torch.bfloat16, False


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _resume_digest(config: ExperimentConfig) -> str:
    """Digest of everything that must match for ``--resume`` (progress bars and tracking may change)."""
    data = config_to_dict(config)
    data["train"] = {k: v for k, v in data["train"].items() if k != "progress"}
    data.pop("tracking", None)
    import yaml

    return config_digest(yaml.safe_dump(data, sort_keys=True))


# --- the loop ---------------------------------------------------------------------------------------------


class Trainer:
    """Model, optimiser, schedule and loss of one run, with the two passes: :meth:`train_epoch`, :meth:`predict`."""

    def __init__(self, config: ExperimentConfig, data: TrainingData, device: torch.device, info: ddp.DistInfo) -> None:
        from graphemo.models import build_model

        self.config, self.data, self.device, self.info = config, data, device, info
        self.model = build_model(config.model.name, layout=data.layout, in_channels=data.in_channels,
                                 task=config.task, num_classes=len(data.class_names),
                                 **config.model.options).to(device)  # fmt: skip
        self.memory_format = data.kind.memory_format
        if self.memory_format is torch.channels_last:  # other models keep the layout they chose for themselves
            self.model = self.model.to(memory_format=self.memory_format)
        self.amp, self.amp_dtype, needs_scaler = amp_settings(config.train.amp, device)
        self.scaler = torch.amp.GradScaler(device.type) if needs_scaler else None
        train_model: nn.Module = self.model
        if info.enabled:
            train_model = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None
            )
        self.train_model = torch.compile(train_model) if config.train.compile else train_model
        weights = None
        if config.task != "va" and config.loss.class_weights == "balanced":
            weights = balanced_class_weights(data.train.labels()[0], len(data.class_names)).to(device)
        self.loss = MultiTaskLoss(config.loss, weights).to(device)
        self.optimizer = build_optimizer(self.model.parameters(), config.optim)
        self.train_loader = make_loader(data.train, batch_size=config.train.batch_size, train=True,
                                        num_workers=config.train.num_workers, distributed=info.enabled,
                                        seed=config.seed)  # fmt: skip
        steps = len(self.train_loader)
        self.steps_per_epoch = min(steps, config.train.max_steps_per_epoch or steps)
        self.scheduler, self.schedule_unit = build_scheduler(
            self.optimizer, config.schedule, config.train.epochs, self.steps_per_epoch
        )

    def _autocast(self) -> Any:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _inputs(self, batch: Any) -> tuple:
        inputs = self.data.kind.batch_inputs(batch)
        if self.memory_format is torch.channels_last:
            inputs = tuple(x.contiguous(memory_format=torch.channels_last) for x in inputs)
        return inputs

    def train_epoch(self, epoch: int, progress: bool) -> dict[str, float]:
        """One pass over (at most ``max_steps_per_epoch`` batches of) the training set; mean losses and the LR."""
        from graphemo.progress import progress as show_progress

        self.train_model.train()
        sampler = self.train_loader.sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        sums: dict[str, torch.Tensor] = {}
        batches = 0
        bar = show_progress(self.train_loader, total=self.steps_per_epoch, desc=f"epoch {epoch}", unit="batch",
                            leave=False, enabled=progress)  # fmt: skip
        for batch in bar:
            if batches >= self.steps_per_epoch:
                break
            batch = batch.to(self.device, non_blocking=True)
            with self._autocast():
                outputs = self.train_model(*self._inputs(batch))
                losses = self.loss(outputs, batch.y, batch.va)
            self.optimizer.zero_grad(set_to_none=True)
            loss = losses["loss"]
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if self.config.train.grad_clip:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.grad_clip)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            if self.schedule_unit == "step":
                self.scheduler.step()
            for key, value in losses.items():  # summed on the device: no host sync per step
                sums[key] = sums.get(key, 0.0) + value.detach().float()
            batches += 1
            if progress and batches % 10 == 0:
                bar.set_postfix(loss=f"{float(sums['loss']) / batches:.4f}")
        steps = max(batches, 1)
        out = {f"train/{k}": ddp.all_reduce_mean(float(v) / steps, self.info) for k, v in sorted(sums.items())}
        out["lr"] = self.optimizer.param_groups[0]["lr"]
        return out

    @torch.inference_mode()
    def predict(self, dataset: Any, progress: bool = False) -> Predictions:
        """Predictions on every sample of ``dataset`` (sharded over DDP processes and gathered)."""
        from graphemo.progress import progress as show_progress

        model = self.model.eval()
        batch_size = self.config.train.eval_batch_size or 2 * self.config.train.batch_size
        loader = make_loader(dataset, batch_size=batch_size, train=False, num_workers=self.config.train.num_workers,
                             distributed=self.info.enabled)  # fmt: skip
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("video", "frame", "y", "va", "probs", "va_pred")}
        for batch in show_progress(loader, desc="evaluate", unit="batch", leave=False, enabled=progress):
            batch = batch.to(self.device, non_blocking=True)
            with self._autocast():
                outputs = model(*self._inputs(batch))
            for key in ("video", "frame", "y", "va"):
                parts[key].append(batch[key].cpu().numpy())
            if "expr" in outputs:
                parts["probs"].append(torch.softmax(outputs["expr"].float(), dim=1).cpu().numpy())
            if "va" in outputs:
                parts["va_pred"].append(outputs["va"].float().cpu().numpy())
        arrays = {k: np.concatenate(v) if v else None for k, v in parts.items()}
        arrays = ddp.gather_arrays(arrays, self.info)
        if self.info.enabled:  # the sampler pads shards with repeats: keep each frame once
            _, first = np.unique(arrays["frame"], return_index=True)
            arrays = {k: None if v is None else v[first] for k, v in arrays.items()}
        return Predictions(**arrays)


# --- a whole run -----------------------------------------------------------------------------------------


def _fit_va_to_class(data: TrainingData) -> Any:
    """Nearest-centroid VA -> class map fitted on training frames that carry both labels (None if impossible)."""
    from graphemo.models import VAToClass

    frames = data.train.anchors
    y, va = data.store.expr[frames], data.store.va[frames]
    keep = (y >= 0) & np.isfinite(va).all(axis=1)
    if len(np.unique(y[keep])) < 2:
        return None
    return VAToClass().fit(va[keep], y[keep])


def _scalar_metrics(metrics: dict, prefix: str) -> dict[str, float]:
    return {
        f"{prefix}{k}": float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def evaluate_predictions(trainer: Trainer, pred: Predictions, va_map: Any) -> dict:
    """All metrics of ``pred`` (VA-derived classes through ``va_map`` for VA-only models)."""
    config = trainer.config
    va_classes = va_map.predict(pred.va_pred) if va_map is not None and pred.va_pred is not None else None
    return evaluate(pred, config.task, trainer.data.class_names, va_classes=va_classes,
                    clip_labels=trainer.data.clip_labels(), clip_metrics=config.data.clip_metrics)  # fmt: skip


def fit(
    config: ExperimentConfig,
    *,
    tracker: Tracker | None = None,
    resume: bool = False,
    store: PreparedStore | None = None,
    parent_run_id: str | None = None,
) -> RunResult:
    """Train one run end to end (see the module docstring).

    Args:
        config: the resolved run config.
        tracker: an open MLflow run; by default one is started (rank 0, ``tracking.enabled``) as a child of
            ``parent_run_id``.
        resume: continue the newest unfinished run of this name and config from its last checkpoint
            (:func:`~graphemo.training.checkpoint.find_resumable`), in its folder and MLflow run.
        store: the opened prepared store (default: ``config.data.store``, which
            :func:`graphemo.training.data.make_store` makes from the data section before training).

    Returns:
        The :class:`RunResult`. A run that raises is ended in MLflow as FAILED (KILLED on Ctrl-C) and re-raised.
    """
    info = ddp.init_distributed(config.train.device)
    device = ddp.resolve_device(config.train.device, info)
    progress = config.train.progress and info.is_main
    seed_everything(config.seed + info.rank, config.train.deterministic)
    runs = run_folder(config.train.output_dir, config.name, config.run_name or config.model.name)
    digest = _resume_digest(config)
    found = find_resumable(runs, digest) if resume else None
    state, run_dir = found if found is not None else (None, None)
    if store is None:
        if not (Path(config.data.store) / "meta.json").exists():
            raise FileNotFoundError(f"data.store {config.data.store} is not a prepared store; make it first "
                                    "(graphemo run does: graphemo.training.data.make_store)")  # fmt: skip
        store = PreparedStore(config.data.store)
    result = RunResult(config.run_name or config.model.name, config.model.name, config.task)
    own_tracker = tracker is None
    if tracker is None:
        if info.is_main and config.tracking.enabled:
            tracker = Tracker.start(config.tracking, config.tracking.experiment or config.name, result.name,
                                    parent_run_id=parent_run_id,
                                    resume_run_id=state.get("mlflow_run_id") if state else None)  # fmt: skip
        else:
            tracker = NullTracker()
    result.run_id = tracker.run_id or None
    run_dir = run_dir or runs / (tracker.run_id or uuid.uuid4().hex)  # this run's own folder
    result.run_dir = str(run_dir)
    started = time.perf_counter()
    try:
        _fit(config, store, tracker, state, result, run_dir, digest, info, device, progress)
    except KeyboardInterrupt:
        result.status = "KILLED"
        raise
    except Exception as exc:
        result.status, result.error = "FAILED", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result.seconds += time.perf_counter() - started
        if own_tracker:
            tracker.end(result.status)
    return result


def _fit(
    config: ExperimentConfig,
    store: PreparedStore,
    tracker: Tracker,
    state: dict | None,
    result: RunResult,
    run_dir: Path,
    digest: str,
    info: ddp.DistInfo,
    device: torch.device,
    progress: bool,
) -> None:
    data = build_training_data(config, store, progress=progress)
    trainer = Trainer(config, data, device, info)
    va_map = _fit_va_to_class(data) if config.task == "va" else None
    result.parameters = count_parameters(trainer.model)
    train = config.train
    history: list[dict[str, float]] = []
    if state is not None:
        history = _resume(trainer, state, result, info)
    else:
        _log_run_start(tracker, config, data, result)
        if info.is_main and data.degenerate > DEGENERATE_WARNING:
            print(f"warning: {data.degenerate:.0%} of the training poses reach beyond {DEGENERATE_EXTENT:g} units "
                  f"with data.features.scale: {config.data.features.scale} (a scale that collapses, e.g. shoulders "
                  "seen from the side); data.features.scale: body is robust to that")  # fmt: skip
    selection = Selection.replay(train.select, train.select_metric, train.smooth_epochs,
                                 train.early_stopping.min_delta, history)  # fmt: skip
    clock = time.perf_counter()
    for epoch in range(len(history) + 1, train.epochs + 1):
        if state is not None and state.get("finished"):
            break
        t0 = time.perf_counter()
        metrics = trainer.train_epoch(epoch, progress)
        val = evaluate_predictions(trainer, trainer.predict(data.val, progress), va_map)
        if trainer.schedule_unit == "epoch":
            trainer.scheduler.step()
        elif trainer.schedule_unit == "metric":
            trainer.scheduler.step(max(selection.value(val), -1e9))
        metrics.update(_scalar_metrics(val, "val/"))
        metrics["epoch_seconds"] = time.perf_counter() - t0
        keep = selection.update(epoch, val)
        if keep and info.is_main:
            _save_bundle(run_dir / "model" / "bundle.pt", config, trainer, va_map, result, epoch, val)
        history.append({k: float(v) for k, v in metrics.items()})
        tracker.log_metrics(metrics, step=epoch)
        patience = train.early_stopping.patience
        stop = bool(patience) and selection.stale >= patience
        if info.is_main:
            seconds = result.seconds + time.perf_counter() - clock
            _checkpoint(run_dir / LAST, trainer, selection, history, digest, tracker,
                        finished=stop or epoch == train.epochs, seconds=seconds)  # fmt: skip
            _print_epoch(epoch, train.epochs, metrics, keep)
        if stop:
            if info.is_main:
                print(f"early stop: no improvement for {patience} epochs "
                      f"(best {selection.best:.4f}, kept epoch {selection.best_epoch})")  # fmt: skip
            break
    ddp.barrier(info)
    result.best_epoch, result.epochs = selection.best_epoch, len(history)
    _finish(config, trainer, data, tracker, va_map, result, run_dir, selection.best_epoch, info)


def _resume(trainer: Trainer, state: dict, result: RunResult, info: ddp.DistInfo) -> list[dict[str, float]]:
    """Load a checkpoint into ``trainer``; returns the metrics of the epochs it had done."""
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None and state.get("scheduler"):
        trainer.scheduler.load_state_dict(state["scheduler"])
    if trainer.scaler is not None and state.get("scaler"):
        trainer.scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng_torch"])
    result.seconds = float(state.get("seconds", 0.0))
    if info.is_main:
        print(f"resuming {result.name} after epoch {state['epoch']} (kept epoch {state['best_epoch']})")
    return list(state["history"])


def _checkpoint(
    path: Path, trainer: Trainer, selection: Selection, history: list, digest: str, tracker: Tracker, *,
    finished: bool, seconds: float,
) -> None:  # fmt: skip
    """Write the resumable state after an epoch, atomically (plain tensors and containers: ``weights_only``)."""
    save_atomic({
        "format": 1, "epoch": len(history), "finished": finished, "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "scaler": trainer.scaler.state_dict() if trainer.scaler is not None else None,
        "best_score": selection.best, "best_epoch": selection.best_epoch, "stale_epochs": selection.stale,
        "history": history, "mlflow_run_id": tracker.run_id or None, "rng_torch": torch.get_rng_state(),
        "config_digest": digest, "seconds": seconds,
    }, path)  # fmt: skip


def _print_epoch(epoch: int, epochs: int, metrics: dict[str, float], improved: bool) -> None:
    keys = [k for k in ("train/loss", "val/f1", "val/ccc_valence", "val/ccc_arousal", "val/score") if k in metrics]
    text = "  ".join(f"{k.split('/')[-1] if k != 'train/loss' else 'loss'} {metrics[k]:.4f}" for k in keys)
    print(f"  epoch {epoch:>3}/{epochs}  {text}  {metrics['epoch_seconds']:.1f}s" + ("  *" if improved else ""))


def _log_run_start(tracker: Tracker, config: ExperimentConfig, data: TrainingData, result: RunResult) -> None:
    import torch_geometric

    import graphemo

    params = run_params(config, data.kind.name)
    params["model.parameters"] = result.parameters
    tracker.log_params(params)
    splits = data.split_summary()
    tracker.set_tags({
        "graphemo.version": graphemo.__version__, "torch.version": torch.__version__,
        "torch_geometric.version": torch_geometric.__version__,
        "mlflow.source.git.commit": git_commit(Path(graphemo.__file__).resolve().parents[1]),
        "mlflow.source.name": "graphemo run", "mlflow.source.type": "LOCAL",
        "mlflow.note.content": config.description or f"{config.model.name} on {config.task}",
        "graphemo.group": group_of(result.name),
        "dataset.fingerprint": data.store.meta.get("fingerprint", "")[:16], "dataset.store": str(data.store.path),
        "dataset.layout": data.store.layout.name, "model.name": config.model.name, "task": config.task,
        "input_kind": data.kind.name, "split": "official+seeded" if config.data.split.official else "seeded",
        **{f"split.{k}": v for k, v in splits.items()},
    })  # fmt: skip
    tracker.log_text(to_yaml(config), "config/resolved.yaml")
    tracker.log_json(data.store.summary, "data/summary.json")
    tracker.log_dataset(str(data.store.path), data.store.meta.get("fingerprint", "")[:16],
                        profile={"frames": data.store.num_frames, "videos": len(data.store), **splits})  # fmt: skip
    if data.subsample_report is not None:
        from graphemo.subsampling import report_metrics

        tracker.log_json(data.subsample_report, "data/subsample_report.json")  # every statistic, per class
        headline = report_metrics(data.subsample_report)
        tracker.log_metrics({k: headline[k] for k in SUBSAMPLE_HEADLINES if k in headline}, step=0)


SUBSAMPLE_HEADLINES = ("subsample/kept_fraction", "subsample/coverage_radius", "subsample/duplicate_fraction")


def run_params(config: ExperimentConfig, kind: str) -> dict[str, Any]:
    """The run's MLflow parameters: every resolved option, the model's defaults included, leaving out the options
    that do not apply (another input kind's section, another optimiser's or schedule's settings)."""
    from graphemo.models import model_options

    resolved = config_to_dict(config)
    resolved["model"] = {"name": config.model.name, **model_options(config.model.name), **config.model.options}
    params = flatten(resolved)
    unused = {"window": kind != "window", "image": kind != "image"}
    optim, schedule = config.optim.name, config.schedule.name
    skip = {f"data.{section}." for section, off in unused.items() if off}
    skip |= {"optim.momentum", "optim.nesterov"} if optim != "sgd" else {"optim.betas"}
    skip |= {
        f"schedule.{k}"
        for k, used in {
            "pct_start": "onecycle",
            "warmup_epochs": "cosine",
            "min_lr": "cosine",
            "factor": "plateau",
            "patience": "plateau",
        }.items()
        if used != schedule
    }
    return {k: v for k, v in params.items() if not any(k == s or k.startswith(s) for s in skip)}


def _save_bundle(
    path: Path, config: ExperimentConfig, trainer: Trainer, va_map: Any, result: RunResult, epoch: int, val: dict
) -> None:
    import graphemo
    from graphemo.inference.bundle import bundle_from_model, save_bundle

    data = trainer.data
    bundle = bundle_from_model(
        trainer.model, name=config.model.name, model_options=config.model.options, layout=data.layout,
        task=config.task, num_classes=len(data.class_names), class_names=data.class_names,
        features=config.data.features, input_options=data.options, va_to_class=va_map,
        metadata={"run_id": result.run_id, "experiment": config.name, "run_name": result.name, "epoch": epoch,
                  "val": {k: float(v) for k, v in val.items() if isinstance(v, int | float)},
                  "graphemo_version": graphemo.__version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S")},
    )  # fmt: skip
    save_bundle(bundle, path)


def _finish(
    config: ExperimentConfig,
    trainer: Trainer,
    data: TrainingData,
    tracker: Tracker,
    va_map: Any,
    result: RunResult,
    run_dir: Path,
    best_epoch: int,
    info: ddp.DistInfo,
) -> None:
    """Score the best model on validation (and test), log the artifacts and the summary metrics."""
    from graphemo.inference.bundle import load_bundle

    bundle_path = run_dir / "model" / "bundle.pt"
    if best_epoch and bundle_path.exists():
        trainer.model.load_state_dict(load_bundle(bundle_path).state_dict)
    progress = config.train.progress and info.is_main
    val_pred = trainer.predict(data.val, progress)
    val = evaluate_predictions(trainer, val_pred, va_map)
    test_pred = trainer.predict(data.test, progress) if data.test else None
    test = evaluate_predictions(trainer, test_pred, va_map) if test_pred is not None else {}
    result.val = {k: float(val[k]) for k in SUMMARY_METRICS if k in val}
    result.test = {k: float(test[k]) for k in SUMMARY_METRICS if k in test}
    if not info.is_main:
        return
    tracker.log_metrics({**_scalar_metrics(val, "best/"), **_scalar_metrics(test, "test/"),
                         "best/epoch": best_epoch, "epochs": result.epochs}, step=max(best_epoch, 1))  # fmt: skip
    from graphemo.training import plots

    for name, metrics, pred in (("val", val, val_pred), ("test", test, test_pred)):
        if "confusion" in metrics:
            tracker.log_figure(plots.confusion_figure(metrics["confusion"], data.class_names,
                                                      f"{result.name}: {name} confusion"),
                               f"plots/{name}_confusion.png")  # fmt: skip
            tracker.log_text(per_class_table(metrics), f"metrics/{name}_per_class.csv")
        if "clip_confusion" in metrics:
            tracker.log_figure(plots.confusion_figure(metrics["clip_confusion"], data.class_names,
                                                      f"{result.name}: {name} clips"),
                               f"plots/{name}_clip_confusion.png")  # fmt: skip
            tracker.log_text(clip_table(pred, data), f"metrics/{name}_clips.csv")
    if val_pred.va_pred is not None:
        ccc = (val.get("ccc_valence", float("nan")), val.get("ccc_arousal", float("nan")))
        tracker.log_figure(plots.va_scatter_figure(val_pred.va, val_pred.va_pred, ccc), "plots/val_va_scatter.png")
    tracker.log_json({"val": val, "test": test}, "metrics/final.json")
    logged = config.tracking.log_checkpoint and config.tracking.log_model and _log_mlflow_model(tracker, bundle_path)
    if config.tracking.log_checkpoint and not logged and bundle_path.exists():
        tracker.log_artifact(bundle_path.parent, "model")  # the bundle alone: runs:/<id>/model all the same


def _log_mlflow_model(tracker: Tracker, bundle_path: Path) -> bool:
    """The bundle as the run's MLflow pyfunc model ``model`` (its ``artifacts/bundle.pt`` is the bundle, which
    ``graphemo predict --model runs:/<id>/model`` reads); a failure is one warning and False."""
    from graphemo.inference.mlflow_model import log_mlflow_model

    if not tracker.run_id or not bundle_path.exists():
        return False
    try:
        log_mlflow_model(tracker, bundle_path, "model")
    except Exception as exc:  # MLflow's model logging raises many kinds; the bundle is logged instead
        if debug_enabled():
            traceback.print_exc()
        print(f"warning: the MLflow model of run {tracker.run_id} was not logged ({type(exc).__name__}: "
              f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); its bundle is", file=sys.stderr)  # fmt: skip
        return False
    return True


def clip_table(pred: Predictions, data: TrainingData) -> str:
    """One CSV row per video: id, attributes, frames predicted, true and predicted class, mean probabilities."""
    import csv
    import io

    from graphemo.training.metrics import clip_probabilities

    videos, y_true, probs = clip_probabilities(pred, data.clip_labels())
    records = [data.store.videos[int(v)] for v in videos]
    attributes = sorted({k for r in records for k in r.attributes})
    frames = np.bincount(np.searchsorted(videos, pred.video), minlength=len(videos))
    names = data.class_names
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["video", *attributes, "frames", "true", "predicted", *(f"p_{n}" for n in names)])
    for record, n, truth, p in zip(records, frames, y_true, probs, strict=True):
        own = [record.attributes.get(a, "") for a in attributes]
        truth_name = names[truth] if truth >= 0 else ""
        writer.writerow([record.video_id, *own, int(n), truth_name, names[int(p.argmax())], *(f"{x:.4f}" for x in p)])
    return out.getvalue()


def per_class_table(metrics: dict) -> str:
    """The per-class precision / recall / F1 / support of a metrics dict as CSV text."""
    rows = ["class,precision,recall,f1,support"]
    for name, m in metrics["per_class"].items():
        rows.append(f"{name},{m['precision']:.4f},{m['recall']:.4f},{m['f1']:.4f},{m['support']}")
    return "\n".join(rows) + "\n"
