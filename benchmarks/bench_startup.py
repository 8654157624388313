"""Benchmark: how long a `ruqi` command takes to start, as whole processes.

    .venv/bin/python benchmarks/bench_startup.py [--runs 11] [--dir /tmp/bench-startup]

Creates a workspace with a small generated plan (so ``status``, ``register``, ``review`` and
``archive search`` have rows to show), then times each command as a fresh process (``ruqi`` run
by this venv's Python), median of ``--runs``.  Baselines from the same run, on the same machine
state:

- ``python -c pass``: the interpreter alone;
- ``import engine.cli`` alone (what every command pays before it does anything);
- every command module loaded, as ``import engine.cli`` did before each command was loaded only
  when it runs (``COMMANDS`` in engine/cli);
- the old eager import: ``engine.cli`` plus the renderers and PDF/Office libraries that every
  command used to import (WeasyPrint, pypdf, pypdfium2, docxtpl, python-docx, openpyxl, Pillow,
  segno, zxing-cpp, bagit).

Target (issue 10): ``status``, ``register``, ``review`` and ``archive search`` in well under 0.5 s
on a quiet machine.  Nothing is asserted; a test checks the import graph instead
(``tests/test_startup.py``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# What `import engine.cli` pulled in before issue 10 (measured with `python -X importtime`).
EAGER_LIBRARIES = ("weasyprint", "pypdf", "pypdfium2", "docxtpl", "docx", "openpyxl", "PIL.Image", "segno", "zxingcpp",
                   "bagit", "jinja2", "lxml.etree")

COMMANDS = {
    "ruqi --help": ["--help"],
    "ruqi status": ["status"],
    "ruqi register": ["register"],
    "ruqi review": ["review"],
    "ruqi archive search": ["archive", "search"],
}
TARGETED = ("ruqi status", "ruqi register", "ruqi review", "ruqi archive search")


def time_process(argv: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    """(median wall time, least CPU time) in seconds of ``argv`` as a fresh process (one warm-up run
    first).  The CPU time (user + system) hardly grows with other work on the machine; wall time does."""
    env = dict(os.environ)
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times, cpus = [], []
    for _ in range(runs):
        c = _children_cpu()
        t = time.perf_counter()
        r = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        times.append(time.perf_counter() - t)
        cpus.append(_children_cpu() - c)
        if r.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return statistics.median(times), min(cpus)


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def make_workspace(root: Path) -> Path:
    """A workspace holding the sample plan's inspections (PDF only: quicker to make)."""
    from engine.demo import PLANNED, SAMPLES
    from engine.generate import generate
    from engine.workspace import init

    ws = init(root / "ws")
    result = generate(ws, SAMPLES / "检查计划-2025.xlsx", formats=("pdf",), today=PLANNED)
    if not result.ok:
        raise SystemExit(f"the sample plan did not generate: {result.plan_findings}")
    return ws.root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-startup-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        ws_dir = make_workspace(root)
        py = sys.executable
        ruqi = [py, "-c", "from engine.cli import main; main()"]
        eager = "import engine.cli\n" + "".join(f"import {m}\n" for m in EAGER_LIBRARIES)
        rows: dict[str, tuple[float, float]] = {
            "python -c pass": time_process([py, "-c", "pass"], ws_dir, args.runs),
            "import engine.cli": time_process([py, "-c", "import engine.cli"], ws_dir, args.runs),
            "old eager import": time_process([py, "-c", eager], ws_dir, args.runs),
            # What `import engine.cli` did before commands were loaded on use: register every one.
            "every command loaded": time_process([py, "-c", "import engine.cli as c\n"
                                                  "for m in c.COMMAND_MODULES: c.load_commands(m)"], ws_dir, args.runs),
        }
        for label, cmd in COMMANDS.items():
            rows[label] = time_process(ruqi + cmd, ws_dir, args.runs)
        base, old = rows["python -c pass"][0], rows["old eager import"][0]
        print(f"start-up, median of {args.runs} runs (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"{'':24s} {'wall ms':>8s} {'CPU ms':>7s} {'× python':>9s} {'÷ old import':>13s}")
        for label, (t, cpu) in rows.items():
            print(f"{label:24s} {t * 1000:8.0f} {cpu * 1000:7.0f} {t / base:9.1f} {old / t:13.2f}")
        worst = max(rows[k][0] for k in TARGETED)
        worst_cpu = max(rows[k][1] for k in TARGETED)
        print(f"slowest of {', '.join(TARGETED)}: {worst * 1000:.0f} ms wall, {worst_cpu * 1000:.0f} ms CPU "
              "(target: well under 500 ms)")
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
