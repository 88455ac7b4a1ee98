"""Run an experiment file: validate every run first, then train them one after the other (or sweep), each a
child MLflow run of one parent run, and print the comparison table.

A run that fails is recorded as FAILED (in MLflow and in the table) and the others still run; Ctrl-C ends the
current run as KILLED and stops. ``resume=True`` continues every unfinished run from its last checkpoint and
skips (re-reporting) the finished ones, in the same MLflow runs.
"""

from __future__ import annotations

import json
import math
import re
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graphemo.diagnostics import debug_enabled
from graphemo.training import distributed as ddp
from graphemo.training.compose import ConfigError, Layer, PlannedRun, config_to_dict, flatten, plan_runs, to_yaml
from graphemo.training.config import ExperimentConfig
from graphemo.training.report import Row, format_groups, format_plan, format_table
from graphemo.training.tracking import NullTracker, Tracker
from graphemo.training.trainer import RunResult, fit


def result_row(result: RunResult) -> Row:
    """A :class:`RunResult` as a table row."""
    val = result.val
    return Row(run=result.name, model=result.model, task=result.task, status=result.status,
               f1=val.get("f1", val.get("va2class_f1", math.nan)), ccc_valence=val.get("ccc_valence", math.nan),
               ccc_arousal=val.get("ccc_arousal", math.nan), score=val.get("score", math.nan),
               clip_f1=val.get("clip_f1", math.nan), best_epoch=result.best_epoch, epochs=result.epochs,
               seconds=result.seconds, parameters=result.parameters, run_id=result.run_id or "")  # fmt: skip


def _parent_tracker(config: ExperimentConfig, label: str, resume: bool) -> Tracker:
    """The parent MLflow run of this invocation (reopened on ``--resume``), its id kept in the output folder."""
    if not config.tracking.enabled:
        return NullTracker()
    marker = Path(config.train.output_dir) / config.name / "parent_run.json"
    previous = json.loads(marker.read_text())["run_id"] if resume and marker.exists() else None
    tracker = Tracker.start(config.tracking, config.tracking.experiment or config.name, label,
                            resume_run_id=previous, tags={"graphemo.parent": "true"})  # fmt: skip
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"run_id": tracker.run_id}))
    return tracker


class _Stores:
    """The data stage of an invocation: each distinct ``data:`` section's store is made once (by rank 0 under DDP),
    before the runs that use it train."""

    def __init__(self, info: ddp.DistInfo, out: Callable[[str], None]) -> None:
        self.info, self.out = info, out
        self.made: dict[str, Any] = {}

    def __call__(self, config: ExperimentConfig) -> Any:
        from graphemo.specs import plain
        from graphemo.store import PreparedStore
        from graphemo.training.data import make_store

        key = json.dumps(plain(config.data), sort_keys=True, default=str)
        if key not in self.made:
            if self.info.is_main:
                self.made[key] = make_store(config.data, progress=config.train.progress, log=self.out)
            ddp.barrier(self.info)
            if not self.info.is_main:
                self.made[key] = PreparedStore(config.data.store)
        return self.made[key]


def _train_one(
    config: ExperimentConfig, *, resume: bool, parent: str | None, out: Callable[[str], None], stores: _Stores,
    group: str = "",
) -> RunResult:  # fmt: skip
    out(f"\n== {config.name} / {config.run_name}: {config.model.name} on {config.task} ==")
    try:
        result = fit(config, resume=resume, parent_run_id=parent, store=stores(config))
        result.group = group or result.name
        return result
    except (KeyboardInterrupt, ConfigError):
        raise
    except Exception as exc:
        if debug_enabled():
            traceback.print_exc()
        out("".join(traceback.format_exception_only(type(exc), exc)).rstrip())
        out(f"run {config.run_name} FAILED; going on with the next run (GRAPHEMO_DEBUG=1 shows the traceback)")
        return RunResult(config.run_name or config.model.name, config.model.name, config.task, status="FAILED",
                         error=f"{type(exc).__name__}: {exc}", group=group or config.run_name or "")  # fmt: skip


def run_experiment(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    dry_run: bool = False,
    resume: bool = False,
    only: Sequence[str] | None = None,
    grid: Sequence[str] = (),
    verbose: bool = False,
    out: Callable[[str], None] = print,
    configs: Sequence[str | Path] = (),
) -> list[RunResult]:
    """Plan, validate and train every run of an experiment file.

    Args:
        path: the experiment YAML.
        overrides: ``KEY=VALUE`` items (``--set``), applied to every run, or ``RUN:KEY=VALUE`` to some.
        dry_run: print the plan (one row per run; with ``verbose`` each run's resolved config) and stop.
        resume: continue unfinished runs from their checkpoints.
        only: run patterns to run (default all; see :func:`~graphemo.training.compose.plan_runs`).
        grid: ``KEY=V1,V2`` axes added to the file's grid.
        verbose: with ``dry_run``, the full YAML of every run.
        out: where progress lines go.
        configs: more folders to look up ``defaults`` in, before the usual ones.

    Returns:
        One :class:`RunResult` per run (sweep trials included).

    Raises:
        ConfigError: any run's config is invalid (before anything trains).
    """
    planned, reserved = plan_runs(path, overrides, configs, only=only or (), grid=grid)
    sweep = None
    if "sweep" in reserved:
        from graphemo.training.sweep import parse_sweep

        sweep = parse_sweep(reserved["sweep"], Layer({}, str(path), Path(path).read_text()))
    if dry_run:
        if verbose:
            for p in planned:
                out(f"# --- run {p.label} ---\n{to_yaml(p.config)}")
        else:
            out(format_plan([(p.label, flatten(config_to_dict(p.config))) for p in planned]))
        if sweep is not None:
            out(f"# sweep: {sweep.method}, {sweep.trials} trials over {[s.key for s in sweep.params]}")
        return []

    info = ddp.init_distributed(planned[0].config.train.device)
    first = planned[0].config
    parent = _parent_tracker(first, f"{first.name} ({Path(path).name})", resume) if info.is_main else NullTracker()
    if info.is_main and parent.run_id:
        parent.set_tags({"graphemo.experiment_file": str(path), "graphemo.overrides": " ".join(overrides),
                         "mlflow.source.name": str(path), "mlflow.source.type": "LOCAL",
                         "mlflow.note.content": first.description or f"graphemo run {Path(path).name}"})  # fmt: skip
        parent.log_text(Path(path).read_text(), f"experiment/{Path(path).name}")
    parent_id = parent.run_id or None
    stores = _Stores(info, out)
    results: list[RunResult] = []
    status = "FINISHED"
    try:
        for p in planned:
            if sweep is None:
                results.append(_train_one(p.config, resume=resume, parent=parent_id, out=out, stores=stores,
                                          group=p.group))  # fmt: skip
                continue
            results += _sweep(sweep, p, resume=resume, parent=parent_id, out=out, stores=stores)
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if any(r.status != "FINISHED" for r in results) and status == "FINISHED":
            status = "FAILED"
        if info.is_main and results:
            out("\n" + format_table([result_row(r) for r in results], title=f"experiment {first.name}: "
                                    f"best validation scores ({len(results)} runs)"))  # fmt: skip
            _log_parent_summary(results, parent)
            _report_groups(results, parent, out)
            if parent_id:
                out(
                    f"MLflow: experiment {first.tracking.experiment or first.name!r}, parent run {parent_id}; "
                    f"{_browse_hint(first)}"
                )
        parent.end(status)
        ddp.shutdown_distributed()
    return results


def _log_parent_summary(results: Sequence[RunResult], parent: Tracker) -> None:
    """Metrics and tags on the parent run, so that collapsed rows sort and chart: the best child's validation
    score and F1, and each model's best score."""
    finished = [r for r in results if r.status == "FINISHED" and math.isfinite(r.val.get("score", math.nan))]
    if not finished:
        return
    best = max(finished, key=lambda r: r.val["score"])
    metrics = {f"best/{k}": v for k, v in best.val.items() if isinstance(v, int | float)}
    for model in {r.model for r in finished}:
        metrics[f"{model}/best_score"] = max(r.val["score"] for r in finished if r.model == model)
    parent.log_metrics(metrics, step=0)
    # tags, not params: MLflow params cannot change, and a resumed invocation (--resume --only X) changes these
    parent.set_tags({"graphemo.runs": len(results), "graphemo.finished": len(finished), "graphemo.best_run": best.name,
                     "graphemo.models": ",".join(sorted({r.model for r in results}))})  # fmt: skip


def _report_groups(results: Sequence[RunResult], parent: Tracker, out: Callable[[str], None]) -> None:
    """Runs that form groups (the folds of a cross-validation): mean ± sd printed and logged on the parent run."""
    rows = group_rows(results)
    if not any(r.n > 1 for r in rows):
        return
    on = "held-out folds" if all(r.scored_on == "test" for r in rows) else "validation"
    out("\n" + format_groups(rows, title=f"mean ± sd over the runs of each group, scored on the {on}"))
    metrics = {}
    for row in rows:
        name = re.sub(r"[^\w./ -]", "_", row.group)
        for key, value in row.mean.items():
            metrics[f"{name}/{row.scored_on}_{key}_mean"] = value
            metrics[f"{name}/{row.scored_on}_{key}_sd"] = row.sd[key]
    parent.log_metrics(metrics, step=0)


def group_rows(results: Sequence[RunResult]) -> list:
    """The groups of the finished runs (:func:`graphemo.training.report.aggregate`)."""
    from graphemo.training.report import aggregate

    return aggregate([(r.group or r.name, r.model, r.val, r.test) for r in results if r.status == "FINISHED"])


def _sweep(
    sweep: Any, base: PlannedRun, *, resume: bool, parent: str | None, out: Callable[[str], None], stores: _Stores
) -> list:
    from graphemo.training.sweep import run_sweep

    results: list[RunResult] = []

    def run_trial(config: ExperimentConfig) -> float:
        result = _train_one(config, resume=resume, parent=parent, out=out, stores=stores)
        results.append(result)
        value = result.val.get(sweep.metric, math.nan)
        return float(value)

    outcomes = run_sweep(sweep, base, run_trial, log=out)
    finite = [(v, m) for v, m in outcomes if math.isfinite(m)]
    if finite:
        values, metric = max(finite, key=lambda vm: vm[1])
        out(f"best trial: {sweep.metric} {metric:.4f} with {values}")
    return results


def _browse_hint(config: ExperimentConfig) -> str:
    from graphemo.training.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(config.tracking.uri)
    if uri.startswith(("http://", "https://")):
        return f"open {uri}"
    return f"browse with `mlflow ui --backend-store-uri {uri}`"


def exit_code(results: Sequence[RunResult]) -> int:
    """0 when every run finished, 1 otherwise."""
    return 0 if all(r.status == "FINISHED" for r in results) else 1


def describe(results: Sequence[RunResult]) -> dict[str, Any]:
    """Plain-data form of the results (for ``--json``): every run (its validation row, ``val`` and ``test``
    metrics, clip metrics included) and every group's mean and sd."""
    runs = [vars(result_row(r)) | {"group": r.group, "val": r.val, "test": r.test, "error": r.error} for r in results]
    return {"runs": runs, "groups": [vars(g) for g in group_rows(results)]}
