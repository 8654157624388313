"""A throw-away PostgreSQL cluster in a temp dir, on a Unix socket only (the Debian server binaries):
the ``pg_server`` fixture of the tests, and the server of ``benchmarks/bench_register.py``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    candidates = [Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())] \
        if pg_config else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


@contextmanager
def pg_cluster(*settings: str) -> Iterator[tuple[str, int]]:
    """(socket directory, port) of a fresh cluster whose superuser is ``ruqi``; ``settings`` are extra
    ``-c name=value`` server options."""
    bindir = pg_bindir()
    assert bindir is not None, "PostgreSQL server binaries not installed"
    root = Path(tempfile.mkdtemp(prefix="ruqi-pg-"))
    root.chmod(0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", 54000 + os.getpid() % 1000
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "ruqi", "--no-sync"],
                   check=True, capture_output=True)
    opts = " ".join([f"-k {root} -p {port} -c listen_addresses='' -c fsync=off", *(f"-c {s}" for s in settings)])
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w",
                    "start"], check=True, capture_output=True)
    try:
        yield str(root), port
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
