"""The one-screen comparison table of runs, for ``graphemo run`` (its own runs) and ``graphemo compare``
(runs read back from MLflow)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Row:
    """One run in the table (``nan`` where a metric does not apply to the task)."""

    run: str
    model: str
    task: str
    status: str
    f1: float = math.nan
    ccc_valence: float = math.nan
    ccc_arousal: float = math.nan
    score: float = math.nan
    clip_f1: float = math.nan
    best_epoch: int = 0
    epochs: int = 0
    seconds: float = math.nan
    parameters: int = 0
    run_id: str = ""
    started: str = ""  # "YYYY-MM-DD HH:MM" (runs read back from MLflow)
    parent: str = ""  # the parent run's id (the invocation of graphemo run)
    group: str = ""
    val: dict[str, float] | None = None
    test: dict[str, float] | None = None


def _number(value: float, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _duration(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    return f"{seconds:.0f}s" if seconds < 600 else f"{seconds / 60:.0f}m"


def _params(n: int) -> str:
    return "-" if not n else f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def format_table(rows: Sequence[Row], title: str = "", *, details: bool = False) -> str:
    """A fixed-width table: run, model, task, val F1, (clip F1,) CCC-V, CCC-A, score, kept epoch / epochs, params,
    time; the clip F1 column when a run has one; with ``details``, when it started, its id and its parent's."""
    clips = any(not math.isnan(r.clip_f1) for r in rows)
    header = ("run", "model", "task", "val F1", *(("clip F1",) if clips else ()), "CCC-V", "CCC-A", "score",
              "epochs", "params", "time", "status", *(("started", "run id", "parent") if details else ()))  # fmt: skip
    body = [
        (r.run, r.model, r.task, _number(r.f1), *((_number(r.clip_f1),) if clips else ()), _number(r.ccc_valence),
         _number(r.ccc_arousal), _number(r.score), f"{r.best_epoch}/{r.epochs}", _params(r.parameters),
         _duration(r.seconds), r.status, *((r.started, r.run_id[:8], r.parent[:8] or "-") if details else ()))
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body, strict=True)]
    line = "  ".join(f"{{:{'<' if i < 3 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [title] if title else []
    out.append(line.format(*header))
    out.append("  ".join("-" * w for w in widths))
    out += [line.format(*row) for row in body]
    return "\n".join(out)


def rows_from_mlflow(
    experiment: str, tracking_uri: str | None = None, *, include_failed: bool = False, parent: str | None = None,
    last: bool = False, since: str | None = None,
) -> list[Row]:  # fmt: skip
    """The runs of MLflow experiment ``experiment`` (parents excluded) as rows, best score first.

    Args:
        parent: only the children of the parent run whose id starts so (one invocation of ``graphemo run``).
        last: only the children of the latest invocation.
        since: only runs started on or after this date (``YYYY-MM-DD``, or with `` HH:MM``).

    Raises:
        KeyError: no such experiment in the store, or no parent run of that id.
    """
    from datetime import datetime

    from graphemo.training.compose import group_of
    from graphemo.training.tracking import PARENT_TAG, open_client, resolve_tracking_uri

    client = open_client(resolve_tracking_uri(tracking_uri))
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = [e.name for e in client.search_experiments()]
        raise KeyError(f"no MLflow experiment {experiment!r} in {resolve_tracking_uri(tracking_uri)} (has: {names})")
    runs = client.search_runs([found.experiment_id], max_results=10_000, order_by=["attributes.start_time DESC"])
    parents = [r for r in runs if r.data.tags.get("graphemo.parent") == "true"]
    if last and parents:
        parent = parents[0].info.run_id
    if parent:
        matching = [p.info.run_id for p in parents if p.info.run_id.startswith(parent)]
        if len(matching) != 1:
            raise KeyError(f"{'no' if not matching else 'more than one'} parent run of experiment {experiment!r} has "
                           f"an id starting {parent!r}")  # fmt: skip
        parent = matching[0]
    start = datetime.fromisoformat(since).timestamp() * 1000 if since else None
    rows = []
    for run in runs:
        tags, metrics = run.data.tags, run.data.metrics
        if tags.get("graphemo.parent") == "true" or (run.info.status != "FINISHED" and not include_failed):
            continue
        if (parent and tags.get(PARENT_TAG) != parent) or (start is not None and run.info.start_time < start):
            continue
        end = run.info.end_time or run.info.start_time
        name = run.info.run_name or run.info.run_id[:8]
        rows.append(Row(
            run=name, model=tags.get("model.name", "?"), task=tags.get("task", "?"),
            status=run.info.status, f1=metrics.get("best/f1", metrics.get("best/va2class_f1", math.nan)),
            ccc_valence=metrics.get("best/ccc_valence", math.nan),
            ccc_arousal=metrics.get("best/ccc_arousal", math.nan),
            score=metrics.get("best/score", math.nan), clip_f1=metrics.get("best/clip_f1", math.nan),
            best_epoch=int(metrics.get("best/epoch", 0)),
            epochs=int(metrics.get("epochs", 0)), seconds=(end - run.info.start_time) / 1000,
            parameters=int(float(run.data.params.get("model.parameters", 0))), run_id=run.info.run_id,
            started=datetime.fromtimestamp(run.info.start_time / 1000).strftime("%Y-%m-%d %H:%M"),
            parent=tags.get(PARENT_TAG, ""), group=tags.get("graphemo.group") or group_of(name),
            val={k[5:]: v for k, v in metrics.items() if k.startswith("best/")},
            test={k[5:]: v for k, v in metrics.items() if k.startswith("test/")},
        ))  # fmt: skip
    return sorted(rows, key=lambda r: -r.score if not math.isnan(r.score) else math.inf)


# --- groups: the folds (and, later, seeds) of one run, as mean and sd ------------------------------------

GROUP_METRICS = ("f1", "clip_f1", "clip_uar", "ccc_valence", "ccc_arousal", "score")


@dataclass
class GroupRow:
    """Runs aggregated: ``mean`` and ``sd`` (sample standard deviation, 0 for one run) of each metric, over the
    ``n`` runs that have it; ``scored_on``: ``test`` (held-out folds) or ``val``."""

    group: str
    model: str
    n: int
    scored_on: str
    mean: dict[str, float]
    sd: dict[str, float]


def aggregate(members: Sequence[tuple[str, str, dict[str, float], dict[str, float]]]) -> list[GroupRow]:
    """Group rows from ``(group, model, val metrics, test metrics)`` of finished runs, in first-seen order; a
    group's metrics are its test metrics when every member has them (cross-validation), else validation."""
    import numpy as np

    order: dict[str, list] = {}
    for member in members:
        order.setdefault(member[0], []).append(member)
    rows = []
    for group, runs in order.items():
        on_test = all(test for _, _, _, test in runs)
        scored = [test if on_test else val for _, _, val, test in runs]
        mean, sd = {}, {}
        for key in GROUP_METRICS:
            values = np.array([m[key] for m in scored if key in m and math.isfinite(m[key])])
            if len(values):
                mean[key] = float(values.mean())
                sd[key] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(GroupRow(group, runs[0][1], len(runs), "test" if on_test else "val", mean, sd))
    return rows


def format_groups(rows: Sequence[GroupRow], title: str = "") -> str:
    """A fixed-width table of groups: each metric as ``mean ± sd``."""
    keys = [k for k in GROUP_METRICS if any(k in r.mean for r in rows)]
    labels = {"f1": "F1", "clip_f1": "clip F1", "clip_uar": "clip UAR", "ccc_valence": "CCC-V",
              "ccc_arousal": "CCC-A", "score": "score"}  # fmt: skip
    header = ("run", "model", "n", "on", *(labels[k] for k in keys))
    body = [
        (r.group, r.model, str(r.n), r.scored_on,
         *(f"{r.mean[k]:.3f} ± {r.sd[k]:.3f}" if k in r.mean else "-" for k in keys))
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body, strict=True)]
    line = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [title] if title else []
    out += [line.format(*header), "  ".join("-" * w for w in widths), *(line.format(*b) for b in body)]
    return "\n".join(out)


def format_plan(runs: Sequence[tuple[str, dict[str, object]]]) -> str:
    """The plan of a dry run: one row per run (its label, then the settings in which the runs differ).

    Args:
        runs: ``(label, flattened resolved config)`` per run, in order.
    """
    if not runs:
        return "no runs"
    keys = sorted({k for _, flat in runs for k in flat} - {"run_name"})
    differing = [k for k in keys if len({repr(flat.get(k)) for _, flat in runs}) > 1]
    width = max(len(label) for label, _ in runs)
    lines = [f"{len(runs)} run(s); the settings in which they differ ({len(differing)} of {len(keys)}):"]
    for label, flat in runs:
        settings = "  ".join(f"{k}={_compact(flat.get(k))}" for k in differing)
        lines.append(f"  {label:<{width}}  {settings}".rstrip())
    return "\n".join(lines)


def _compact(value: object) -> str:
    if isinstance(value, list):
        return "[" + ",".join(map(_compact, value)) + "]"
    return "-" if value is None else str(value)
