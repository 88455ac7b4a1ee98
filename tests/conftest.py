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
