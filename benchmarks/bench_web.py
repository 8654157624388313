"""Benchmark: the site's list pages with 20,000 inspections, against the same query through the CLI.

    .venv/bin/python benchmarks/bench_web.py [--visits 20000] [--dir DIR] [--repeat 7] [--today 2025-12-15]

Seeds a workspace (``benchmarks/seed_register.py``: 20,000 visits recorded by the register, 30 %
with a returned card filed in the archive and its readings recorded; reused when ``--dir`` already
holds them), starts the site as ``ruqi serve`` does (``create_app`` under uvicorn on 127.0.0.1, its
"today" in the seeded year so the 首页 counts it), signs in, and times every list page over real
HTTP: the **first view** (on a checkout with the in-memory review cache, emptied just before: what
the first clerk after a change, or after a restart, waited for), then the **repeated** view (median
of ``--repeat``).  Three more rows time a first view right after the data changed (a visit voided:
its enterprise-year's stored review rows decided again) and on the next day (the rows whose last or
due day it passes).  The warm-up request after an upgrade decides every stored row once (timed apart).  Each
page is set against the command a clerk would run for the same list (``ruqi review --json`` …),
timed from outside as the clerk runs it (median of 3), with this checkout's code.  Target: every
page's first view under 200 ms.  Ratio = first view / CLI time.  The 1-minute load average is
printed beside each row: the figures are only comparable at similar load.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import chain
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from _web_fixtures import Client, live_server  # noqa: E402
from seed_register import seed  # noqa: E402
from sqlalchemy import select  # noqa: E402

from engine.accounts import add_user, list_users  # noqa: E402
from engine.db import session  # noqa: E402
from engine.register import Visit  # noqa: E402
from engine.void import void_visit  # noqa: E402

# The CLI of this checkout (not whichever ``ruqi`` is installed), so an old commit can be timed too.
RUQI = [sys.executable, "-c", "import sys; from engine.cli import main; sys.argv[0] = 'ruqi'; main()"]
TARGET_MS = 200.0
SLOW_MS = 5000.0
CLI_TIMEOUT_S = 600
USER, PASSWORD = "基准测试", "bench-password-7"


def pages(year: int) -> list[tuple[str, str, list[str] | None]]:
    """(page, URL, the CLI command for the same list or None)."""
    y0, y1 = f"{year}-01-01", f"{year}-12-31"
    q = urllib.parse.quote
    review = ["review", "--from", y0, "--to", y1, "--json"]
    return [
        ("首页", "/", ["status", "--overdue", "--json"]),
        ("审查（全年）", f"/review?from={y0}&to={y1}", review),
        ("审查（全年）统计", f"/review/summary?from={y0}&to={y1}", review),
        ("审查（全年，反馈“是”）", f"/review?from={y0}&to={y1}&flag=VIOLATION", review),
        ("审查（一个县区）", f"/review?from={y0}&to={y1}&county={q('平城区')}",
         ["review", "--from", y0, "--to", y1, "--county", "平城区", "--json"]),
        ("档案检索", f"/archive?enterprise={q('第12号')}", ["archive", "search", "-e", "第12号", "--json"]),
        ("待核对", "/pending", ["confirm", "--json", "--no-sheets"]),
        ("收件", "/inbox", None),
        ("生成", "/generate", None),
        ("统计", f"/stats?table=2&period={year}Q2", ["stats", "status", "-t", "2", "-p", f"{year}Q2", "--json"]),
    ]


def after_change(ws, srv, today: date) -> Iterator[tuple[str, str, list[str] | None]]:  # type: ignore[no-untyped-def]
    """First views right after the data changed: a visit voided (its enterprise-year decided again), and
    the next day (the inspections whose last or due day it passes decided again)."""
    y0, y1 = f"{today.year}-01-01", f"{today.year}-12-31"
    with session(ws) as s:
        serial = s.scalar(select(Visit.serial).where(Visit.voided_at.is_(None)).order_by(Visit.id.desc()))
    void_visit(ws, serial, "基准测试：作废一次检查", actor="bench")
    yield "首页（刚作废一次检查）", "/", None
    void_visit(ws, s2 := _another(ws), "基准测试：作废一次检查", actor="bench")
    yield f"审查统计（刚作废 {s2[-4:]}）", f"/review/summary?from={y0}&to={y1}", None
    srv.app.state.today = today + timedelta(days=1)
    yield "首页（次日）", "/", None


def _another(ws) -> str:  # type: ignore[no-untyped-def]
    with session(ws) as s:
        return str(s.scalar(select(Visit.serial).where(Visit.voided_at.is_(None)).order_by(Visit.id)))


def median_ms(fn, k: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def load() -> float:
    return os.getloadavg()[0]


def cli_ms(ws_root: Path, args: list[str], k: int = 3) -> float | None:
    cmd = [*RUQI, *args, "--workspace", str(ws_root)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    try:
        first = subprocess.run(cmd, capture_output=True, timeout=CLI_TIMEOUT_S, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return None
    once = (time.perf_counter() - t) * 1000
    if first.returncode not in (0, 1):  # 1: e.g. an incomplete list, still an answer
        return None
    if once > SLOW_MS:
        return once
    return median_ms(lambda: subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env), k)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=20_000)
    ap.add_argument("--dir", type=Path, default=None, help="workspace to build or reuse")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--today", type=date.fromisoformat, default=date(2025, 12, 15), help="the site's today")
    ap.add_argument("--no-cli", action="store_true", help="time the pages only")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="ruqi-bench-web-")) / "ws"
    t0 = time.perf_counter()
    ws = seed(root, args.visits, year=args.today.year)
    print(f"workspace {root}: {args.visits} visits ready in {time.perf_counter() - t0:.0f} s; "
          f"{os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if USER not in {u.name for u in list_users(ws)}:
        add_user(ws, USER, "admin", PASSWORD, actor="bench")
    rows = []
    with live_server(ws, today=args.today) as srv:
        c = Client(srv.url)
        assert c.login(USER, PASSWORD).status == 303, "sign-in failed"
        t = time.perf_counter()
        c.get("/")  # the process warm (templates compiled, database open), as a bureau's server is all day
        print(f"  warm-up (after an upgrade: every stored review row decided once): "
              f"{(time.perf_counter() - t) * 1000:.0f} ms", flush=True)
        for name, url, cli in chain(pages(args.today.year), after_change(ws, srv, args.today)):  # lazily: each change just before its page
            clear = getattr(getattr(srv.app.state, "reviews", None), "clear", None)
            if clear is not None:  # a checkout with the in-memory review cache: empty it
                clear()
            busy = load()
            t = time.perf_counter()
            try:
                r = c.get(url)
            except TimeoutError:
                rows.append((name, url, None, None, None, busy, "no answer within 60 s"))
                continue
            first = (time.perf_counter() - t) * 1000
            if r.status != 200:
                rows.append((name, url, None, None, None, busy, f"HTTP {r.status}"))
                continue
            again = median_ms(lambda url=url: c.get(url), args.repeat)
            rows.append((name, url, first, again, None if args.no_cli else cli, busy, f"{len(r.body) / 1024:.0f} KB"))
            print(f"  {name}: first {first:.0f} ms, repeated {again:.0f} ms (load {busy:.1f})", flush=True)
    print(f"\n{'page':<22}{'first ms':>9}{'again ms':>9}{'CLI ms':>9}{'first/CLI':>10}  {'<200 ms':<8}{'load':>5}  size")
    for name, url, first, again, cli, busy, note in rows:
        if first is None:
            print(f"{name:<22}{'—':>9}{'':>9}{'':>9}{'':>10}  {'':<8}{busy:5.1f}  {note} ({url})")
            continue
        c_ms = cli_ms(root, cli) if cli else None
        ratio = f"{first / c_ms:10.2f}" if c_ms else f"{'—':>10}"
        print(f"{name:<22}{first:9.0f}{again:9.0f}{(f'{c_ms:9.0f}' if c_ms else f'{chr(8212):>9}')}{ratio}  "
              f"{'yes' if first < TARGET_MS else 'NO':<8}{busy:5.1f}  {note}" + ("" if cli else "  (no CLI list)"))
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
