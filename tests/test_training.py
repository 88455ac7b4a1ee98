"""End-to-end training runs on tiny generated data: MLflow logging, artifacts, resume, failures, DDP, sweeps,
a real ``mlflow server``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from graphemo.cli import main
from graphemo.sources.synth import generate_dataset
from graphemo.training.runner import run_experiment

pytestmark = pytest.mark.e2e
PYTHON = sys.executable


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, 8, seed=3, frames=(40, 60), workers=1, progress=False, val_fraction=0.25)
    return root


def write_experiment(
    tmp: Path, synth: Path, body: str, *, train: dict | None = None, uri: str | None = None, name: str = "tiny"
) -> Path:
    """An experiment over the tiny generated data with its own store, MLflow database and output folder."""
    uri = uri or f"sqlite:///{tmp / 'mlflow.db'}"
    train = {"epochs": 1, "batch_size": 16, "max_steps_per_epoch": 3, "progress": False,
             "output_dir": str(tmp / "runs"), **(train or {})}  # fmt: skip
    text = f"""
name: {name}
data:
  keypoints: {synth / "keypoints"}
  labels: {{abaw_expr: {synth / "labels/EXPR"}, abaw_va: {synth / "labels/VA"}}}
  store: {synth / "store"}
  window: {{length: 8, stride: 2}}
  image: {{size: 32}}
train: {json.dumps(train)}
tracking: {{uri: "{uri}"}}
model: {{name: mlp, hidden: [32, 16]}}
{body}
"""
    path = tmp / f"{name}.yaml"
    path.write_text(text)
    return path


def client_for(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def artifact_paths(client, run_id: str, path: str | None = None) -> set[str]:
    out = set()
    for item in client.list_artifacts(run_id, path):
        out |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return out


def child_runs(client, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    return [r for r in runs if r.data.tags.get("graphemo.parent") != "true"], [
        r for r in runs if r.data.tags.get("graphemo.parent") == "true"
    ]


@pytest.mark.parametrize("task", ["expr", "va", "both"])
def test_one_epoch_per_task_logs_metrics_params_tags_and_artifacts(tmp_path, synth_root, task):
    path = write_experiment(tmp_path, synth_root, f"task: {task}")
    (result,) = run_experiment(path)
    assert result.status == "FINISHED" and result.epochs == 1
    client = client_for(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,), (parent,) = child_runs(client, "tiny")
    assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id and run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert {"train/loss", "lr", "val/score", "best/score", "best/epoch"} <= set(metrics)
    if task in ("expr", "both"):
        assert {"val/f1", "val/accuracy", "val/uar", "best/f1", "val/clip_war"} <= set(metrics)
        assert 0.0 <= metrics["val/f1"] <= 1.0
    if task in ("va", "both"):
        assert {"val/ccc_valence", "val/ccc_arousal", "val/ccc_mean", "best/ccc_mean"} <= set(metrics)
    if task == "va":
        assert "val/va2class_f1" in metrics and "val/f1" not in metrics  # the VA -> class fallback
    assert run.data.params["optim.name"] == "adamw" and run.data.params["task"] == task
    tags = run.data.tags
    assert tags["model.name"] == "mlp" and tags["dataset.layout"] == "body25_face_hands"
    assert len(tags["dataset.fingerprint"]) == 16 and tags["torch.version"] == torch.__version__
    assert int(tags["split.train_videos"]) > 0 and int(tags["split.val_videos"]) > 0
    artifacts = artifact_paths(client, run.info.run_id)
    expected = {"config/resolved.yaml", "data/summary.json", "metrics/final.json"}
    if task != "expr":
        expected.add("plots/val_va_scatter.png")
    expected |= {"plots/val_confusion.png", "metrics/val_per_class.csv"}
    assert expected <= artifacts, artifacts
    check_mlflow_model(client, run.info.run_id, task)


def check_mlflow_model(client, run_id: str, task: str) -> None:
    """The run's model is an MLflow model (Models column, registry) that MLflow's own pyfunc loader serves."""
    import mlflow.pyfunc

    from graphemo.inference.bundle import load_bundle
    from graphemo.training.tracking import global_tracking_uri

    (logged,) = client.search_logged_models(experiment_ids=[client.get_run(run_id).info.experiment_id],
                                            filter_string=f"source_run_id = '{run_id}'")  # fmt: skip
    assert logged.name == "model"
    uri = f"runs:/{run_id}/model"
    with global_tracking_uri(client.tracking_uri):
        model = mlflow.pyfunc.load_model(uri)
        assert model.metadata.signature is not None and model.metadata.get_input_schema().input_names() == [
            "video", "frames"]  # fmt: skip
        example = model.input_example
        frames = len(json.loads(example["frames"][0]))
        out = model.predict(example)
        assert len(out) == frames and list(out["frame"]) == list(range(frames)) and (out["person"] == 1).all()
        if task != "va":
            probs = out[[c for c in out.columns if c.startswith("p_")]].to_numpy()
            np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
        assert load_bundle(uri, tracking_uri=client.tracking_uri).model == "mlp"  # graphemo reads it too


def test_every_input_kind_trains_and_the_table_compares_them(tmp_path, synth_root, capsys):
    runs = """
runs:
  - model: {name: gcn, hidden: 16, num_layers: 2}
    data: {parts: [body]}
  - model: {name: stgcn, channels: [8, 16]}
    data: {parts: [body, face]}
  - model: {name: resnet18}
    train: {batch_size: 8}
"""
    path = write_experiment(tmp_path, synth_root, runs)
    results = run_experiment(path)
    assert [r.status for r in results] == ["FINISHED"] * 3
    out = capsys.readouterr().out
    assert "experiment tiny: best validation scores (3 runs)" in out
    for name in ("gcn", "stgcn", "resnet18"):
        assert f"\n{name} " in out
    assert main(["compare", "tiny", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]) == 0
    table = capsys.readouterr().out
    assert "3 runs" in table and all(name in table for name in ("gcn", "stgcn", "resnet18"))


def test_cross_validation_runs_every_fold_and_reports_mean_and_sd(tmp_path, synth_root, capsys):
    body = "cv: {folds: 2, group_by: video, val_ratio: 0.0}"
    path = write_experiment(tmp_path, synth_root, body, train={"epochs": 2, "select": "last"})
    results = run_experiment(path)
    assert [(r.name, r.group, r.status) for r in results] == [("mlp fold=1", "mlp", "FINISHED"),
                                                             ("mlp fold=2", "mlp", "FINISHED")]  # fmt: skip
    assert all(r.best_epoch == 2 for r in results)  # select: last
    assert all("clip_f1" in r.test and r.test["clip_n"] >= 1 for r in results)
    out = capsys.readouterr().out
    assert "mean ± sd over the runs of each group, scored on the held-out folds" in out
    client = client_for(f"sqlite:///{tmp_path / 'mlflow.db'}")
    children, (parent,) = child_runs(client, "tiny")
    expected = np.mean([r.test["clip_f1"] for r in results])
    assert parent.data.metrics["mlp/test_clip_f1_mean"] == pytest.approx(expected)
    assert "mlp/test_clip_f1_sd" in parent.data.metrics
    tested = [int(c.data.tags["split.test_videos"]) for c in children]
    assert sum(tested) == 8  # every video held out once
    artifacts = artifact_paths(client, children[0].info.run_id)
    assert {"metrics/test_clips.csv", "plots/test_clip_confusion.png"} <= artifacts
    clips = client.download_artifacts(children[0].info.run_id, "metrics/test_clips.csv", str(tmp_path))
    header = Path(clips).read_text().splitlines()[0].split(",")
    assert header[:4] == ["video", "frames", "true", "predicted"] and header[4].startswith("p_")
    json_path = tmp_path / "results.json"
    assert main(["run", str(path), "--json", str(json_path)]) == 0
    report = json.loads(json_path.read_text())
    assert report["groups"][0]["group"] == "mlp" and report["groups"][0]["n"] == 2
    assert "clip_f1" in report["runs"][0]["test"] and "clip_f1" in report["groups"][0]["mean"]
    # the parent sorts and charts: the best child's scores, each model's best, and what the invocation ran
    best = max(r.val["score"] for r in results)
    assert parent.data.metrics["best/score"] == pytest.approx(best) and "mlp/best_score" in parent.data.metrics
    assert parent.data.tags["graphemo.runs"] == "2" and parent.data.tags["graphemo.models"] == "mlp"
    assert parent.data.tags["mlflow.source.name"] == str(path)
    # a child records its source, group, dataset and every option that applies, defaults included
    child = client.get_run(children[0].info.run_id)
    assert child.data.tags["graphemo.group"] == "mlp" and child.data.tags["mlflow.source.name"] == "graphemo run"
    assert child.data.params["model.dropout"] and "data.window.length" not in child.data.params
    assert "optim.momentum" not in child.data.params  # adamw has no momentum
    (dataset,) = child.inputs.dataset_inputs
    assert dataset.dataset.source == str(synth_root / "store") and json.loads(dataset.dataset.profile)["videos"] == 8
    # compare: ids, dates and parents; the latest invocation alone; the groups' mean and sd
    assert main(["compare", "tiny", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--last"]) == 0
    table = capsys.readouterr().out
    assert "2 runs" in table and "started" in table and "run id" in table
    assert "mean ± sd over the runs of each group" in table and "\nmlp " in table
    assert main(["compare", "tiny", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--parent",
                 parent.info.run_id[:6]]) == 0  # fmt: skip
    assert "2 runs" in capsys.readouterr().out


def test_a_failing_run_is_recorded_and_the_others_still_run(tmp_path, synth_root):
    runs = """
runs:
  - model: {name: skeleton_transformer, dim: 16, depth: 1, heads: 2, patch_frames: 16}
  - model: {name: mlp, hidden: [16]}
"""  # patch_frames 16 > window length 8: fails when it meets data, after validation
    path = write_experiment(tmp_path, synth_root, runs)
    results = run_experiment(path)
    assert [r.status for r in results] == ["FAILED", "FINISHED"]
    assert "window of 8 frames" in results[0].error
    client = client_for(f"sqlite:///{tmp_path / 'mlflow.db'}")
    children, (parent,) = child_runs(client, "tiny")
    assert sorted(r.info.status for r in children) == ["FAILED", "FINISHED"]
    assert parent.info.status == "FAILED"


def checkpoints(tmp_path: Path, run: str = "mlp") -> list[Path]:
    """The last.pt of every run named ``run`` of experiment ``tiny``."""
    return sorted((tmp_path / "runs" / "tiny" / run).glob("*/last.pt"))


def test_resume_after_a_killed_run_continues_from_the_last_epoch(tmp_path, synth_root):
    path = write_experiment(tmp_path, synth_root, "", train={"epochs": 12, "max_steps_per_epoch": 2})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([PYTHON, "-m", "graphemo", "run", str(path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not checkpoints(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not checkpoints(tmp_path):
            detail = proc.stderr.read().decode()[-3000:] if proc.poll() is not None else "still running"
            raise AssertionError(f"the run never wrote a checkpoint: {detail}")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    (checkpoint,) = checkpoints(tmp_path)
    first = torch.load(checkpoint, weights_only=True)
    assert not first["finished"] and first["epoch"] < 12
    assert checkpoint.parent.name == first["mlflow_run_id"]  # the run's own folder is named by its MLflow run
    run_id = first["mlflow_run_id"]

    (result,) = run_experiment(path, resume=True)
    assert checkpoints(tmp_path) == [checkpoint]  # resumed in its folder
    final = torch.load(checkpoint, weights_only=True)
    assert result.status == "FINISHED" and final["finished"] and final["epoch"] == 12
    assert final["mlflow_run_id"] == run_id and result.run_id == run_id  # the same MLflow run goes on
    assert len(final["history"]) == 12
    client = client_for(f"sqlite:///{tmp_path / 'mlflow.db'}")
    steps = [m.step for m in client.get_metric_history(run_id, "train/loss")]
    assert sorted(set(steps)) == list(range(1, 13))  # every epoch logged, none lost
    assert client.get_run(run_id).info.status == "FINISHED"
    # a finished run is not trained again on --resume
    (again,) = run_experiment(path, resume=True)
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 12 and again.status == "FINISHED"


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path, synth_root):
    path = write_experiment(tmp_path, synth_root, "")
    run_experiment(path)
    (result,) = run_experiment(path, ["optim.lr=0.5"], resume=True)
    assert result.status == "FAILED" and "different config" in result.error


def test_sweeps_make_one_child_run_per_trial(tmp_path, synth_root):
    pytest.importorskip("optuna")
    sweep = """
sweep:
  method: optuna
  trials: 2
  storage: sqlite:///{db}
  params:
    optim.lr: {{low: 1.0e-4, high: 1.0e-2, log: true}}
    model.dropout: [0.0, 0.5]
""".format(db=tmp_path / "optuna.db")
    path = write_experiment(tmp_path, synth_root, sweep, name="swept")
    results = run_experiment(path)
    assert len(results) == 2 and all(r.status == "FINISHED" for r in results)
    import optuna

    study = optuna.load_study(study_name="swept", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert len(study.trials) == 2
    children, _ = child_runs(client_for(f"sqlite:///{tmp_path / 'mlflow.db'}"), "swept")
    assert sorted(r.info.run_name for r in children) == ["mlp-t001", "mlp-t002"]
    lrs = {float(r.data.params["optim.lr"]) for r in children}
    assert len(lrs) == 2 and all(1e-4 <= lr <= 1e-2 for lr in lrs)


def test_ddp_with_torchrun_on_two_cpu_processes(tmp_path, synth_root):
    path = write_experiment(tmp_path, synth_root, "", train={"epochs": 2, "max_steps_per_epoch": 2})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = Path(PYTHON).with_name("torchrun")
    proc = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "graphemo", "run", str(path)],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    client = client_for(f"sqlite:///{tmp_path / 'mlflow.db'}")
    children, parents = child_runs(client, "tiny")
    assert len(children) == 1 and len(parents) == 1  # only rank 0 tracks
    history = client.get_metric_history(children[0].info.run_id, "train/loss")
    assert sorted(m.step for m in history) == [1, 2]
    checkpoint = torch.load(checkpoints(tmp_path)[0], weights_only=True)
    assert checkpoint["finished"] and checkpoint["epoch"] == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL cluster on loopback (skipped when the server binaries or the driver are absent)."""
    import shutil
    import tempfile

    pytest.importorskip("psycopg2", reason="PostgreSQL driver absent (pip install -e '.[team]')")
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres (or nobody) user
        import pwd

        user = next((u for u in ("postgres", "nobody") if _user_exists(pwd, u)), None)
        if user is None or not shutil.which("runuser"):
            pytest.skip("running as root without a postgres/nobody user and runuser")
        as_user = ["runuser", "-u", user, "--"]
    home = Path(tempfile.mkdtemp(prefix="graphemo-pg-"))  # pytest's tmp_path is private to root
    if as_user:
        shutil.chown(home, as_user[2])
    data, port = home / "pg", _free_port()
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "mlflow"], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    options = f"-k {home} -p {port} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "pg.log"), "-w", "start"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    try:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user="mlflow", dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute("CREATE DATABASE mlflow")
        connection.close()
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def _user_exists(pwd, name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def start_mlflow_server(
    backend: str, artifacts: Path, log: Path, port: int | None = None
) -> tuple[subprocess.Popen, str]:
    """A real ``mlflow server`` (1 worker, no job runner) on loopback (a free port unless given); returns it once
    healthy."""
    import urllib.request

    port = port or _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    command = [str(Path(PYTHON).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--backend-store-uri", backend, "--artifacts-destination", str(artifacts)]  # fmt: skip
    with open(log, "ab") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    return server, uri
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                stop_server(server)
                raise AssertionError(f"mlflow server did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def check_served_run(tmp_path: Path, synth_root: Path, uri: str) -> None:
    """Run a tiny experiment against the server at ``uri`` and read it back through the client."""
    path = write_experiment(tmp_path, synth_root, "", uri=uri, name="served")
    (result,) = run_experiment(path)
    assert result.status == "FINISHED"
    client = client_for(uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED" and "best/score" in run.data.metrics
    assert run.data.params["model.name"] == "mlp"
    check_mlflow_model(client, result.run_id, "both")
    assert any((tmp_path / "server-artifacts").rglob("bundle.pt"))  # uploaded to the server, not written locally
    assert not (tmp_path / "mlflow.db").exists()
    from graphemo.inference.bundle import load_bundle

    bundle = load_bundle(f"runs:/{result.run_id}/model", tracking_uri=uri)  # the bundle comes back over HTTP
    assert bundle.model == "mlp" and bundle.metadata["run_id"] == result.run_id


@pytest.mark.server
def test_against_a_real_mlflow_server_on_loopback(tmp_path, synth_root):
    server, uri = start_mlflow_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-artifacts",
                                      tmp_path / "server.log")  # fmt: skip
    try:
        check_served_run(tmp_path, synth_root, uri)
    finally:
        stop_server(server)


@pytest.mark.server
def test_against_a_real_mlflow_server_backed_by_postgresql(tmp_path, synth_root, postgres_url):
    server, uri = start_mlflow_server(postgres_url, tmp_path / "server-artifacts", tmp_path / "server.log")
    try:
        check_served_run(tmp_path, synth_root, uri)
        import psycopg2

        with psycopg2.connect(postgres_url.replace("+psycopg2", "")) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM runs WHERE status = 'FINISHED'")
            assert cursor.fetchone()[0] == 2  # the run and its parent, stored in PostgreSQL
    finally:
        stop_server(server)


def test_mixed_precision_and_deterministic_mode_run_on_the_cpu(tmp_path, synth_root):
    from graphemo.training.trainer import amp_settings

    assert amp_settings("auto", torch.device("cpu")) == (False, torch.float32, False)  # AMP by default on CUDA only
    assert amp_settings("on", torch.device("cpu")) == (True, torch.bfloat16, False)
    runs = "runs:\n  - model: {name: stgcn, channels: [8]}\n    data: {parts: [body]}\n"
    path = write_experiment(tmp_path, synth_root, runs, train={"amp": "on", "deterministic": True})
    (first,) = run_experiment(path)
    (second,) = run_experiment(path)
    assert first.status == second.status == "FINISHED"
    assert first.val == second.val  # same seed, deterministic kernels: the same numbers


def test_early_stopping_ends_a_run_that_stopped_improving(tmp_path, synth_root):
    # an improvement must beat the best score by 10 (impossible): only the first epoch improves
    path = write_experiment(tmp_path, synth_root, "", train={"epochs": 10,
                            "early_stopping": {"patience": 2, "min_delta": 10.0}})  # fmt: skip
    (result,) = run_experiment(path)
    assert result.status == "FINISHED" and result.epochs == 3 and result.best_epoch == 1
    checkpoint = torch.load(checkpoints(tmp_path)[0], weights_only=True)
    assert checkpoint["finished"] and checkpoint["epoch"] == 3 and checkpoint["stale_epochs"] == 2


@pytest.mark.server
def test_mlflow_models_serve_answers_with_the_runs_model(tmp_path, synth_root):
    import urllib.request

    path = write_experiment(tmp_path, synth_root, "")
    (result,) = run_experiment(path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    port = _free_port()
    bin_dir = str(Path(PYTHON).parent)  # the scoring server's uvicorn is beside this Python
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(Path(PYTHON).with_name("mlflow")), "models", "serve", "-m", f"runs:/{result.run_id}/model",
               "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]  # fmt: skip
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        from graphemo.inference.bundle import resolve_bundle_path
        from graphemo.inference.mlflow_model import input_example

        example = input_example(resolve_bundle_path(f"runs:/{result.run_id}/model", tracking_uri=uri), frames=3)
        body = json.dumps({"dataframe_records": example.to_dict(orient="records")}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.loads(response.read())
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "serve.log").read_text()[-3000:]) from None
                time.sleep(1)
        rows = answer["predictions"]
        assert [r["frame"] for r in rows] == [0, 1, 2] and all(r["video"] == "example" for r in rows)
        assert all(abs(sum(v for k, v in r.items() if k.startswith("p_")) - 1) < 1e-4 for r in rows)
    finally:
        stop_server(server)
