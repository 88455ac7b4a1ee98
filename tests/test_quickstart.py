"""The README's main job, end to end at a reduced size: generate -> prepare -> three models -> table -> MLflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphemo.cli import main

pytestmark = pytest.mark.e2e
QUICKSTART = Path(__file__).resolve().parents[1] / "experiments" / "quickstart.yaml"


def test_quickstart_at_reduced_size(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # data/, mlflow.db, mlruns/ and runs/ land here, as in the repository root
    small = ["data.synth.videos=6", "data.synth.frames=[40, 60]", "data.image.size=32", "train.epochs=1",
             "train.max_steps_per_epoch=2", "train.progress=false"]  # fmt: skip
    code = main(["run", str(QUICKSTART), *(arg for s in small for arg in ("--set", s))])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert "experiment quickstart: best validation scores (3 runs)" in out
    table = out[out.index("experiment quickstart:") :].splitlines()
    rows = {line.split()[0]: line for line in table[3:6]}
    assert set(rows) == {"mlp", "stgcn", "resnet18"} and all(line.endswith("FINISHED") for line in rows.values())
    assert (tmp_path / "data" / "synth_quick" / "synth.json").exists()
    assert (tmp_path / "data" / "synth_quick" / "store" / "meta.json").exists()
    assert (tmp_path / "mlflow.db").exists()
    for run in ("mlp", "stgcn", "resnet18"):
        assert len(list((tmp_path / "runs" / "quickstart" / run).glob("*/model/bundle.pt"))) == 1  # its own folder
    # the runs are in the embedded MLflow store, and `graphemo compare` reads them back
    assert main(["compare", "quickstart"]) == 0
    assert "3 runs" in capsys.readouterr().out
