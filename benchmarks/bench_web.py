"""Benchmark: the site's list pages with 20,000 inspections, against the same query through the CLI.

    .venv/bin/python benchmarks/bench_web.py [--visits 20000] [--dir DIR] [--repeat 7]

Seeds a workspace (``benchmarks/seed_register.py``: 20,000 visits recorded by the register, 30 %
with a returned card filed in the archive; reused when ``--dir`` already holds them), starts the
site as ``ruqi serve`` does (``create_app`` under uvicorn on 127.0.0.1), signs in, and times every
list page over real HTTP (median of ``--repeat`` after one warm-up request; the server process
is warm, as a bureau's is all day).  Each page's figure is set against the command a clerk would
run for the same list (``ruqi review --json``, ``ruqi archive search --json`` …), timed from
outside as the clerk runs it (median of 3).  Target: every page under 200 ms.  Ratio = page time /
CLI time (below 1: the page answers faster than the command).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from _web_fixtures import Client, live_server  # noqa: E402
from seed_register import seed  # noqa: E402

from engine.accounts import add_user, list_users  # noqa: E402

RUQI = str(Path(sys.executable).with_name("ruqi"))
TARGET_MS = 200.0
SLOW_MS = 5000.0
CLI_TIMEOUT_S = 600
USER, PASSWORD = "基准测试", "bench-password-7"


def pages(year: int) -> list[tuple[str, str, list[str] | None]]:
    """(page, URL, the CLI command for the same list or None)."""
    y0, y1 = f"{year}-01-01", f"{year}-12-31"
    q = urllib.parse.quote
    return [
        ("首页", "/", ["status", "--overdue", "--json"]),
        ("审查（全年）", f"/review?from={y0}&to={y1}", ["review", "--from", y0, "--to", y1, "--json"]),
        ("审查（一个县区）", f"/review?from={y0}&to={y1}&county={q('平城区')}",
         ["review", "--from", y0, "--to", y1, "--county", "平城区", "--json"]),
        ("档案检索", f"/archive?enterprise={q('第12号')}", ["archive", "search", "-e", "第12号", "--json"]),
        ("待核对", "/pending", ["confirm", "--json", "--no-sheets"]),
        ("收件", "/inbox", None),
        ("生成", "/generate", None),
        ("统计", "/stats?table=2&period=2025Q2", ["stats", "status", "-t", "2", "-p", "2025Q2", "--json"]),
    ]


def median_ms(fn, k: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def cli_ms(ws_root: Path, args: list[str], k: int = 3) -> float | None:
    cmd = [RUQI, *args, "--workspace", str(ws_root)]
    t = time.perf_counter()
    try:
        first = subprocess.run(cmd, capture_output=True, timeout=CLI_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None
    once = (time.perf_counter() - t) * 1000
    if first.returncode not in (0, 1):  # 1: e.g. an incomplete list, still an answer
        return None
    if once > SLOW_MS:
        return once
    return median_ms(lambda: subprocess.run(cmd, capture_output=True), k)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visits", type=int, default=20_000)
    ap.add_argument("--dir", type=Path, default=None, help="workspace to build or reuse")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--no-cli", action="store_true", help="time the pages only")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="ruqi-bench-web-")) / "ws"
    t0 = time.perf_counter()
    ws = seed(root, args.visits)
    print(f"workspace {root}: {args.visits} visits ready in {time.perf_counter() - t0:.0f} s")
    if USER not in {u.name for u in list_users(ws)}:
        add_user(ws, USER, "admin", PASSWORD, actor="bench")
    rows = []
    with live_server(ws) as srv:
        c = Client(srv.url)
        assert c.login(USER, PASSWORD).status == 303, "sign-in failed"
        for name, url, cli in pages(2025):
            t = time.perf_counter()
            try:
                r = c.get(url)
            except TimeoutError:
                rows.append((name, url, None, None, "no answer within 60 s"))
                continue
            first = (time.perf_counter() - t) * 1000
            if r.status != 200:
                rows.append((name, url, None, None, f"HTTP {r.status}"))
                continue
            # A page far over the target is timed once (its first answer): repeating adds nothing.
            page = first if first > SLOW_MS else median_ms(lambda url=url: c.get(url), args.repeat)
            rows.append((name, url, page, None if args.no_cli or cli is None else cli, f"{len(r.body) / 1024:.0f} KB"))
            print(f"  {name}: {page:.0f} ms", flush=True)
    print(f"\n{'page':<16}{'web ms':>9}{'CLI ms':>9}{'web/CLI':>9}  {'<200 ms':<8} size / note")
    for name, url, page, cli, note in rows:
        if page is None:
            print(f"{name:<16}{'—':>9}{'':>9}{'':>9}  {'':<8} {note} ({url})")
            continue
        c_ms = cli_ms(root, cli) if cli else None
        ratio = f"{page / c_ms:9.2f}" if c_ms else f"{'—':>9}"
        print(f"{name:<16}{page:9.1f}{(f'{c_ms:9.0f}' if c_ms else f'{chr(8212):>9}')}{ratio}  "
              f"{'yes' if page < TARGET_MS else 'NO':<8} {note}" + ("" if cli or c_ms else "  (no CLI list)"))


if __name__ == "__main__":
    main()
