"""Shared fixtures: a fresh workspace per test, the sample files, a throwaway IMAP server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _mail_fixtures import DOVECOT, Dovecot

from engine import workspace
from engine.render.templates import DEFAULT_TEMPLATES_DIR

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture
def ws(tmp_path: Path) -> workspace.Workspace:
    return workspace.init(tmp_path / "ws")


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def server() -> Iterator[Dovecot]:
    """A throwaway Dovecot for one test; skips (never passes) where dovecot-imapd is absent."""
    if DOVECOT is None:
        pytest.skip("dovecot (Debian dovecot-imapd) is not installed")
    srv = Dovecot().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    """A private copy of templates/ to break."""
    return Path(shutil.copytree(DEFAULT_TEMPLATES_DIR, tmp_path / "templates"))
