"""Shared fixtures: a fresh workspace per test, and the sample files."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture
def ws(tmp_path: Path) -> workspace.Workspace:
    return workspace.init(tmp_path / "ws")


@pytest.fixture
def samples() -> Path:
    return SAMPLES
