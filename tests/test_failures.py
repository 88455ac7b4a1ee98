"""Failures an operator meets, with real processes: SIGTERM and kill -9 (runs end KILLED and resume; prepare leaves
no folder or worker behind), two runs at once (own folders, own models, one new MLflow database), and the CLI's
one-line errors on bad files and hostile input (bounded time, no traceback)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from graphemo.inference.bundle import resolve_bundle_path
from graphemo.keypoints.openpose import frame_file_name, write_openpose_json
from graphemo.skeleton import get_layout
from graphemo.sources.synth import generate_dataset
from graphemo.store import prepare_dataset
from graphemo.training.runner import run_experiment
from tests.test_training import child_runs, client_for, start_mlflow_server, stop_server, write_experiment

pytestmark = pytest.mark.e2e
PYTHON = sys.executable
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, 6, seed=4, frames=(40, 50), workers=1, progress=False, val_fraction=0.34)
    return root


def graphemo(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, "-m", "graphemo", *args], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # fmt: skip


def wait_for(condition, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended first (rc {proc.returncode}): {proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (a forked worker keeps its parent's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# --- signals -----------------------------------------------------------------------------------------


def test_sigterm_ends_the_runs_killed_keeps_the_checkpoint_and_resume_finishes(tmp_path, synth_root):
    path = write_experiment(tmp_path, synth_root, "", train={"epochs": 25, "max_steps_per_epoch": 2})
    proc = graphemo("run", str(path))
    runs = tmp_path / "runs" / "tiny" / "mlp"
    wait_for(lambda: any(runs.glob("*/last.pt")), proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "graphemo run: terminated (SIGTERM)" in err and "Traceback" not in err
    client = client_for(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (child,), (parent,) = child_runs(client, "tiny")
    assert child.info.status == "KILLED" and parent.info.status == "KILLED"
    (checkpoint,) = runs.glob("*/last.pt")
    state = torch.load(checkpoint, weights_only=True)
    assert not state["finished"] and 1 <= state["epoch"] < 25

    (result,) = run_experiment(path, resume=True)
    assert result.status == "FINISHED" and result.run_id == child.info.run_id
    assert client.get_run(child.info.run_id).info.status == "FINISHED"


def big_dataset(root: Path, videos: int = 40, frames: int = 1500) -> Path:
    """Plain BODY_25 folders, enough to keep two readers busy for a few seconds."""
    rng = np.random.default_rng(0)
    layout = get_layout("body25")
    for v in range(videos):
        folder = root / f"v{v:03d}"
        folder.mkdir(parents=True)
        base = rng.uniform(100, 500, (25, 2))
        base[1] = (base[2] + base[5]) / 2  # the neck between the shoulders, as BODY_25 has it
        for t in range(frames):
            xy = base + rng.normal(0, 2, (25, 2))
            write_openpose_json(folder / frame_file_name(folder.name, t),
                                np.column_stack([xy, np.full(25, 0.9)])[None], layout)  # fmt: skip
    return root


@pytest.fixture(scope="module")
def many_videos(tmp_path_factory) -> Path:
    return big_dataset(tmp_path_factory.mktemp("many") / "keypoints")


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_killed_prepare_leaves_no_worker_and_no_folder_for_ever(tmp_path, many_videos, how):
    out = tmp_path / f"store-{how}"
    proc = graphemo("prepare", str(many_videos), "--out", str(out), "--workers", "2")
    wait_for(lambda: any(tmp_path.glob(f".{out.name}.tmp-*")), proc)
    time.sleep(0.2)  # the readers are at work
    assert proc.poll() is None, "prepare finished before it could be killed: make the dataset larger"
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while processes_mentioning(str(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(str(out)) == [], "orphaned reader processes"
    assert not out.exists()
    if how == "SIGTERM":
        assert proc.returncode == 143 and "terminated (SIGTERM)" in err and "Traceback" not in err
        assert not list(tmp_path.glob(f".{out.name}.tmp-*"))  # removed on the way out
    else:
        assert list(tmp_path.glob(f".{out.name}.tmp-*"))  # kill -9 leaves it ...
    store = prepare_dataset(many_videos, out, workers=1, progress=False)
    assert not list(tmp_path.glob(f".{out.name}.tmp-*"))  # ... and the next run removes it
    assert store.num_frames == 40 * 1500


# --- a tracking server that goes away ----------------------------------------------------------------


def test_training_goes_on_while_the_tracking_server_is_away_and_its_metrics_arrive_later(tmp_path, synth_root):
    backend, artifacts, log = f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "artifacts", tmp_path / "server.log"
    server, uri = start_mlflow_server(backend, artifacts, log)
    path = write_experiment(tmp_path, synth_root, "", uri=uri, train={"epochs": 30, "max_steps_per_epoch": 2})
    proc = graphemo("run", str(path))
    runs = tmp_path / "runs" / "tiny" / "mlp"
    try:
        wait_for(lambda: any(runs.glob("*/last.pt")), proc)
        stop_server(server)  # the server goes away mid-run
        (checkpoint,) = runs.glob("*/last.pt")
        epoch_at_loss = torch.load(checkpoint, weights_only=True)["epoch"]
        wait_for(lambda: torch.load(checkpoint, weights_only=True)["epoch"] >= epoch_at_loss + 3, proc)  # goes on
        server, _ = start_mlflow_server(backend, artifacts, log, port=int(uri.rsplit(":", 1)[1]))  # and comes back
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        assert err.count("warning: MLflow did not take") == 1 and "Traceback" not in err
        client = client_for(uri)
        (child,), _ = child_runs(client, "tiny")
        assert child.info.status == "FINISHED"
        steps = sorted({m.step for m in client.get_metric_history(child.info.run_id, "train/loss")})
        assert steps == list(range(1, 31))  # nothing lost
    finally:
        proc.kill()
        stop_server(server)


# --- two runs at once ------------------------------------------------------------------------------


def test_two_runs_of_one_name_at_once_keep_their_own_folders_models_and_database(tmp_path, synth_root):
    path = write_experiment(tmp_path, synth_root, "", train={"epochs": 2, "max_steps_per_epoch": 2})
    assert not (tmp_path / "mlflow.db").exists()
    procs = [graphemo("run", str(path), "--set", f"seed={seed}") for seed in (0, 1)]  # a new database, both at once
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err
    folders = sorted((tmp_path / "runs" / "tiny" / "mlp").iterdir())
    assert len(folders) == 2
    client = client_for(f"sqlite:///{tmp_path / 'mlflow.db'}")
    children, parents = child_runs(client, "tiny")
    assert len(children) == 2 and len(parents) == 2
    assert {c.info.run_id for c in children} == {f.name for f in folders}  # each folder is its MLflow run's
    bundles = []
    for child in children:
        run_id = child.info.run_id
        logged = resolve_bundle_path(f"runs:/{run_id}/model", tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
        own = tmp_path / "runs" / "tiny" / "mlp" / child.info.run_id / "model" / "bundle.pt"
        assert logged.read_bytes() == own.read_bytes()  # uploaded from its own folder
        bundles.append(own.read_bytes())
    assert bundles[0] != bundles[1]  # two seeds, two models


# --- one clear line, fast, on hostile input -------------------------------------------------------------


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "graphemo", *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    err = done.stderr.strip()
    assert done.returncode == code, (done.returncode, err[-2000:])
    assert "Traceback" not in err and len(err.splitlines()) == 1, err[-2000:]
    for needle in needles:
        assert needle in err, err
    return err


def test_model_files_of_the_wrong_kind_are_named_as_such(tmp_path, synth_root):
    from graphemo.inference.bundle import save_bundle
    from tests.test_bundle import tiny_bundle

    keypoints = str(synth_root / "keypoints")
    good = tmp_path / "bundle.pt"
    save_bundle(tiny_bundle("mlp", "both")[1], good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    done = run_cli("predict", keypoints, "--model", str(truncated))
    one_line_error(done, 1, str(truncated), "truncated or corrupted")
    checkpoint = tmp_path / "last.pt"
    torch.save({"format": 1, "optimizer": {}, "config_digest": "x", "model": {}}, checkpoint)
    one_line_error(run_cli("predict", keypoints, "--model", str(checkpoint)), 1, "training checkpoint")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07\x12\x07pytorch" + bytes(64))
    one_line_error(run_cli("predict", keypoints, "--model", str(onnx)), 1, "an ONNX model")
    one_line_error(run_cli("predict", keypoints, "--model", str(tmp_path / "none.pt")), 1, "none.pt")


def test_hostile_yaml_is_refused_in_seconds(tmp_path):
    bomb = "name: e\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ) + "model: {name: mlp}\n"  # fmt: skip
    (tmp_path / "bomb.yaml").write_text(bomb)
    started = time.monotonic()
    one_line_error(run_cli("run", str(tmp_path / "bomb.yaml"), "--dry-run"), 2, "bomb.yaml", "alias")
    runs = "name: e\nmodel: {name: mlp}\nruns:\n" + "  - {seed: 1}\n" * 120_000
    (tmp_path / "runs.yaml").write_text(runs)
    one_line_error(run_cli("run", str(tmp_path / "runs.yaml"), "--dry-run"), 2, "runs.yaml", "a config file is at most")
    assert time.monotonic() - started < 60


def test_hostile_frame_files_are_refused_in_seconds(tmp_path):
    layout = get_layout("body25")
    person = np.column_stack([np.random.default_rng(0).uniform(100, 300, (25, 2)), np.full(25, 0.9)])
    person[1, :2] = (person[2, :2] + person[5, :2]) / 2
    cases = {
        "huge": ["clip_000100000000_keypoints.json"],
        "twice": ["clip_000000000001_keypoints.json", "clip_1_keypoints.json"],
        "unnumbered": ["clip_keypoints.json"],
    }
    for name, files in cases.items():
        folder = tmp_path / name / "clip"
        folder.mkdir(parents=True)
        for file in files:
            write_openpose_json(folder / file, person[None], layout)
    started = time.monotonic()
    one_line_error(run_cli("prepare", str(tmp_path / "huge"), "--out", str(tmp_path / "s1")), 1, "100000000")
    one_line_error(run_cli("prepare", str(tmp_path / "twice"), "--out", str(tmp_path / "s2")), 1, "appears twice")
    one_line_error(run_cli("prepare", str(tmp_path / "unnumbered"), "--out", str(tmp_path / "s3")), 1,
                   "clip_keypoints.json", "no frame number")  # fmt: skip
    assert time.monotonic() - started < 60
