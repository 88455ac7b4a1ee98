"""Shared fixtures: the real OpenPose samples in ../shared and small hand-built datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OPENPOSE = SHARED / "openpose"


def shared_path(relative: str) -> Path:
    """A path under ../shared, skipping the test with a reason when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"real-data fixture {path} is absent (see ../shared/README.md)")
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory):
    """A prepared store of 3 short generated whole-body videos with ABAW EXPR and VA labels (built once)."""
    from graphemo.labels import LabelSpec
    from graphemo.sources.synth import generate_dataset
    from graphemo.store import prepare_dataset

    root = tmp_path_factory.mktemp("tiny_store")
    generate_dataset(root / "raw", 3, seed=1, frames=(20, 30), workers=1, progress=False)
    labels = LabelSpec(abaw_expr=str(root / "raw/labels/EXPR"), abaw_va=str(root / "raw/labels/VA"))
    return prepare_dataset(root / "raw/keypoints", root / "store", labels=labels, workers=1, progress=False)
