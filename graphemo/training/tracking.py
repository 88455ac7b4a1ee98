"""MLflow tracking of runs: params, per-epoch metrics (one batched call per epoch), tags and artifacts.

The store is ``tracking.uri`` from the config, else ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in the
working directory: an embedded SQLite store, no server to start (``mlflow ui`` reads it). With a SQLite store,
experiments created here keep their artifacts in ``mlruns/`` beside the database file. Pointed at a real
``mlflow server`` (``http://host:port``) the same code logs over HTTP, artifacts included.

Everything goes through ``MlflowClient`` with explicit run ids (no global "active run"), so a failing run is
ended as FAILED (or KILLED on Ctrl-C) and the runs after it go on; grid and sweep members are child runs
(tag ``mlflow.parentRunId``) of one parent run per ``graphemo run`` invocation.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from graphemo.training.config import TrackingConfig

DEFAULT_DB = "mlflow.db"
PARAM_VALUE_LIMIT = 6000  # MLflow's maximum parameter value length
PARENT_TAG = "mlflow.parentRunId"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``$MLFLOW_TRACKING_URI``, else SQLite ``mlflow.db`` in the cwd."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def _sqlite_artifact_root(uri: str) -> str | None:
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri[len("sqlite:///") :])
    return (db.parent / "mlruns").resolve().as_uri()


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The current git commit of ``cwd`` (with ``-dirty`` when the tree has changes), or None outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if sha.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5)  # fmt: skip
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


@contextlib.contextmanager
def global_tracking_uri(uri: str | None) -> Iterator[None]:
    """Point MLflow's global ("fluent") API at ``uri`` for a block, for the calls that only use it (model logging,
    resolving a run's logged model); restored after, ``MLFLOW_TRACKING_URI`` too (which ``set_tracking_uri`` sets)."""
    import mlflow

    if not uri:
        yield
        return
    previous, variable = mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if variable is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = variable


def open_client(uri: str) -> Any:
    """An ``MlflowClient`` on ``uri`` whose store is ready. A new SQLite file is created (its tables made) under an
    exclusive lock on ``<db>.lock``, so that two processes starting on the same new database do not both run its
    migrations (which fails with ``duplicate column name``)."""
    from mlflow import MlflowClient

    if not uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri=uri)
    db = Path(uri[len("sqlite:///") :])
    db.parent.mkdir(parents=True, exist_ok=True)
    import fcntl

    with open(f"{db}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)  # creates and migrates the tables, once
    return client


RETRY_EVERY_SECONDS = 30.0  # while the store does not answer, calls are queued and re-sent at most this often
HTTP_DEFAULTS = {  # MLflow's own defaults retry a dead server for about 8 minutes per call
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}


class Tracker:
    """One MLflow run. Create with :meth:`start`; a disabled tracker (:class:`NullTracker`) has the same API.

    A tracking store that stops answering (a server that goes away, a full disk under SQLite) does not stop
    training: the first failed call prints one warning, that call and the next ones are queued (figures are kept
    in a spool folder), the queue is re-sent at most every ``RETRY_EVERY_SECONDS`` and at :meth:`end`, and what
    still could not be sent is said there, in one line. With an HTTP server, calls give up after about 30 s
    (``HTTP_DEFAULTS``, unless those variables are set) instead of MLflow's 8 minutes.
    """

    def __init__(self, client: Any, run_id: str, experiment_id: str, uri: str = "") -> None:
        self.client = client
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.uri = uri
        self.queue: list[tuple[str, Any]] = []  # (what, call) not yet sent, in order
        self.failing_since: float | None = None
        self._last_try = 0.0
        self._spool: Path | None = None

    @classmethod
    def start(
        cls,
        tracking: TrackingConfig,
        experiment: str,
        run_name: str,
        *,
        parent_run_id: str | None = None,
        resume_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Tracker:
        """Create (or, with ``resume_run_id``, reopen) a run in ``experiment`` (created if missing)."""
        uri = resolve_tracking_uri(tracking.uri)
        if uri.startswith(("http://", "https://")):
            for key, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(key, value)
        client = open_client(uri)
        if resume_run_id:
            run = client.get_run(resume_run_id)
            client.update_run(resume_run_id, status="RUNNING")
            return cls(client, resume_run_id, run.info.experiment_id, uri)
        experiment_id = experiment_id_for(client, experiment, tracking.artifact_location or _sqlite_artifact_root(uri))
        all_tags = dict(tags or {})
        if parent_run_id:
            all_tags[PARENT_TAG] = parent_run_id
        run = client.create_run(experiment_id, run_name=run_name, tags=all_tags)
        return cls(client, run.info.run_id, experiment_id, uri)

    def _send(self, what: str, call: Any) -> None:
        """Run ``call`` (after whatever is queued), or queue it while the store does not answer."""
        self.queue.append((what, call))
        now = time.monotonic()
        if self.failing_since is not None and now - self._last_try < RETRY_EVERY_SECONDS:
            return
        self._last_try = now
        while self.queue:
            try:
                self.queue[0][1]()
            except Exception as exc:  # the store's errors are many (HTTP, SQL, OS); training goes on regardless
                if self.failing_since is None:
                    self.failing_since = now
                    print(f"warning: MLflow did not take {self.queue[0][0]} ({_short(exc)}); training goes on, "
                          f"and what it logs is queued and sent when the store answers", file=sys.stderr)  # fmt: skip
                return
            self.queue.pop(0)
        if self.failing_since is not None:
            print(f"MLflow answers again; the queued calls of the last {now - self.failing_since:.0f} s were sent",
                  file=sys.stderr)  # fmt: skip
            self.failing_since = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log parameters in batched calls (values stringified and cut to MLflow's limit)."""
        from mlflow.entities import Param

        items = [Param(str(k)[:250], _param_value(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow accepts at most 100 params per batch
            batch = items[i : i + 100]
            self._send("parameters", lambda batch=batch: self.client.log_batch(self.run_id, params=batch))

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log the finite numbers of ``metrics`` at ``step`` in one batched call."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [
            Metric(str(k)[:250], float(v), now, step)
            for k, v in metrics.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
        ]
        for i in range(0, len(items), 1000):
            batch = items[i : i + 1000]
            send = lambda batch=batch: self.client.log_batch(self.run_id, metrics=batch)  # noqa: E731
            self._send(f"the metrics of step {step}", send)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(str(k), _param_value(v)) for k, v in tags.items() if v is not None]
        if items:
            self._send("tags", lambda: self.client.log_batch(self.run_id, tags=items))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Upload a file or a directory (recursively) to the run's artifacts."""
        path = Path(path)
        if path.is_dir():
            self._send(str(path), lambda: self.client.log_artifacts(self.run_id, str(path), artifact_path))
        else:
            self._send(str(path), lambda: self.client.log_artifact(self.run_id, str(path), artifact_path))

    def log_text(self, text: str, artifact_file: str) -> None:
        self._send(artifact_file, lambda: self.client.log_text(self.run_id, text, artifact_file))

    def log_dataset(self, source: str, digest: str, profile: Mapping[str, Any], context: str = "training") -> None:
        """Record the prepared store the run used (MLflow's Datasets column): its path, fingerprint and sizes."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        name = Path(source).parent.name or Path(source).name
        profile_json = json.dumps(dict(profile), default=str)
        dataset = Dataset(name=name, digest=digest or "none", source_type="local", source=source, profile=profile_json)
        item = DatasetInput(dataset, tags=[InputTag("mlflow.data.context", context)])
        self._send("the dataset", lambda: self.client.log_inputs(self.run_id, datasets=[item]))

    def log_json(self, data: Any, artifact_file: str) -> None:
        self.log_text(json.dumps(data, indent=2, default=_json_default), artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure as a PNG artifact (and close it)."""
        import matplotlib.pyplot as plt

        if self._spool is None:
            self._spool = Path(tempfile.mkdtemp(prefix="graphemo-figures-"))
        target = self._spool / f"{len(list(self._spool.iterdir()))}" / Path(artifact_file).name
        target.parent.mkdir()
        figure.savefig(target, dpi=110, bbox_inches="tight")
        plt.close(figure)
        parent = str(Path(artifact_file).parent)
        self._send(artifact_file, lambda: self.client.log_artifact(self.run_id, str(target),
                                                                     None if parent == "." else parent))  # fmt: skip

    def end(self, status: str = "FINISHED") -> None:
        """Close the run as ``FINISHED``, ``FAILED`` or ``KILLED`` (after sending what is queued)."""
        self._last_try = 0.0  # one more try now
        self._send(f"the run's end ({status})", lambda: self.client.set_terminated(self.run_id, status=status))
        if self.queue:
            print(f"warning: MLflow run {self.run_id}: {len(self.queue)} call(s) could not be sent (the first: "
                  f"{self.queue[0][0]}); the run's files are in its output folder", file=sys.stderr)  # fmt: skip
        elif self._spool is not None:
            shutil.rmtree(self._spool, ignore_errors=True)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


class NullTracker(Tracker):
    """A tracker that records nothing (tracking disabled, or a DDP process other than rank 0)."""

    def __init__(self) -> None:
        super().__init__(None, "", "")

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        pass

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        pass

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        pass

    def log_text(self, text: str, artifact_file: str) -> None:
        pass

    def log_dataset(self, source: str, digest: str, profile: Mapping[str, Any], context: str = "training") -> None:
        pass

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        import matplotlib.pyplot as plt

        plt.close(figure)

    def end(self, status: str = "FINISHED") -> None:
        pass


def experiment_id_for(client: Any, name: str, artifact_location: str | None = None) -> str:
    """The id of experiment ``name``, created (with ``artifact_location``) when it does not exist."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except MlflowException:  # created meanwhile by another process (DDP, parallel sweeps)
        return client.get_experiment_by_name(name).experiment_id


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=_json_default)
    return text[:PARAM_VALUE_LIMIT]


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
