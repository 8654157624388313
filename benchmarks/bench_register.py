"""Benchmark: the cap check and visit numbers of a plan, on the shared register (PostgreSQL) and on the
local SQLite register.

    .venv/bin/python benchmarks/bench_register.py [--visits 300000] [--enterprises 60000] [--rows 200]
                                                 [--bureaus 20] [--plans 3]

A register is seeded with ``--visits`` visits of ``--enterprises`` enterprises (2025, kinds and
dates spread over the year, every bureau's code), once as the shared register (a throw-away
PostgreSQL cluster started here, 130 bureaus, the role-level security on) and once as the
register of one SQLite workspace.  The work measured is the register step of ``ruqi generate``
(``engine.generate.record_rows``: lock the plan's enterprise-years, count each enterprise's visits
of the year per kind, check the cap, record the visit, number the new visits by date, commit),
for a plan of ``--rows`` rows of enterprises drawn from the register:

- one bureau: ``--plans`` plans one after another; latency per plan row (each row's own work,
  p50/p95/max) and the whole plan's time per row (locks, prefetch and commits included);
- ``--bureaus`` bureaus at once, one process each (20 of the 130; a third of their enterprises
  are the same, so they also wait for each other's locks): per-row latency over all processes and
  the throughput (plan rows registered per second, all bureaus together).

The baseline is the same work on the local SQLite register: one workspace (its file beside the
bureaus, as a shared folder would hold it), the processes taking turns at its write lock.
Rendering and filing are not part of it (bench_generate measures those).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from engine import generate as gen  # noqa: E402
from engine.db import get_engine  # noqa: E402
from engine.generate import OverCapApproval, Run, record_rows  # noqa: E402
from engine.identifiers import make_uscc  # noqa: E402
from engine.inspection import Inspection  # noqa: E402
from engine.plan import Plan, PlanRow  # noqa: E402
from engine.shared_register import add_bureau, setup  # noqa: E402
from engine.workspace import Workspace, init  # noqa: E402

KINDS = ("执法检查", "督导检查", "调查核查")
# (industry, grade): caps from 2 to 12 a year, so most plan rows pass and some are refused.
PROFILES = (("危险化学品", "未定级"), ("危险化学品", "三级"), ("非高危行业", "未定级"), ("煤矿", "C"), ("非高危行业", "二级"))
COUNTIES = [f"1402{n:02d}" for n in range(11, 27)] + [f"1405{n:02d}" for n in range(2, 30)]


def uscc_of(i: int) -> str:
    return make_uscc(f"91140200MA{i:07d}"[:17])


def profile_of(i: int) -> tuple[str, str]:
    return PROFILES[i % len(PROFILES)]


def bureaus(n: int = 130) -> list[tuple[str, str, str]]:
    """(name, level, division code): the province, its 11 cities and county bureaus."""
    out = [("山西省应急管理厅", "省", "140000")]
    out += [(f"第{c}市应急管理局", "市", f"14{c:02d}00") for c in range(1, 12)]
    codes = iter(f"14{c:02d}{k:02d}" for k in range(1, 30) for c in range(1, 12))
    while len(out) < n:
        code = next(codes)
        out.append((f"{code}县应急管理局", "县", code))
    return out


def seed_rows(visits: int, enterprises: int, codes: list[tuple[str, str]]) -> Iterator[tuple]:  # type: ignore[type-arg]
    rnd = random.Random(1)
    window = 300 // -(-visits // enterprises)  # each of an enterprise's visits in its own stretch of days
    for n in range(visits):
        e = n % enterprises
        code, level = codes[rnd.randrange(len(codes))]
        start = date(2025, 1, 2) + timedelta(days=(n // enterprises) * window + rnd.randrange(window))
        industry, grade = profile_of(e)
        yield (f"{code}-2025-S{n:07d}", code, level, uscc_of(e), f"企业{e}", COUNTIES[e % len(COUNTIES)], 2025,
               KINDS[rnd.randrange(3)], start, start, industry, grade)


# ---- the registers --------------------------------------------------------------------------------


def seed_postgres(admin: str, args: argparse.Namespace, folder: Path) -> list[Workspace]:
    """The shared register, seeded; the workspaces of the bureaus that generate."""
    import psycopg

    setup(admin)
    all_bureaus = bureaus()
    joined = []
    for i, (name, level, code) in enumerate(all_bureaus):
        added = add_bureau(admin, name, level, code, password="bench")
        if i < args.bureaus:
            ws = init(folder / f"ws{i}", name=name, level=level, division_code=code)
            (ws.root / "register.pass").write_text("bench\n")
            (ws.root / "register.pass").chmod(0o600)
            (ws.root / "ruqi.toml").write_text((ws.root / "ruqi.toml").read_text() + "\n" + added.toml_lines())
            joined.append(Workspace.open(ws.root))
    codes = [(c, lv) for _, lv, c in all_bureaus]
    dsn = admin.removeprefix("postgresql://ruqi@/")
    db, _, query = dsn.partition("?")
    params = dict(p.split("=") for p in query.split("&"))
    with psycopg.connect(dbname=db, user="ruqi", **params) as con, con.cursor() as cur:
        with cur.copy('COPY register_visits (serial, bureau_code, bureau_level, uscc, enterprise, county_code, year, '
                      'kind, start, "end", industry, grade) FROM STDIN') as copy:
            for row in seed_rows(args.visits, args.enterprises, codes):
                copy.write_row(row)
        con.commit()
        con.autocommit = True
        cur.execute("VACUUM ANALYZE register_visits")
    return joined


def seed_sqlite(ws: Workspace, args: argparse.Namespace) -> None:
    get_engine(ws).dispose()  # the schema made; the rows go in by plain sqlite3, fastest
    con = sqlite3.connect(ws.archive / "ruqi.sqlite")
    now = datetime(2025, 1, 1).isoformat(sep=" ")
    rows = ((serial, 2025, n + 1, ent, uscc, "平城区", county, industry, grade, kind, "计划", "", start.isoformat(),
             end.isoformat(), "张三", "[]", "[]", "", 0, 0, 0, 0, start.isoformat(), "", 0, "", now, "", "none", 0)
            for n, (serial, _c, _l, uscc, ent, county, _y, kind, start, end, industry, grade)
            in enumerate(seed_rows(args.visits, args.enterprises, [("140200", "市")])))
    con.executemany(
        'INSERT INTO visits (serial, year, seq, enterprise, uscc, county, county_code, industry, grade, kind, basis, '
        'joint_units, start, "end", leader, members, experts, content, benchmark, key_supervision, visit_total, '
        'visit_kind, issue_date, batch, over_cap, override_reason, created_at, actor, card_status, card_version) '
        "VALUES (" + ",".join("?" * 30) + ")", rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()


# ---- one plan ---------------------------------------------------------------------------------


def plan_for(bureau: int, round_: int, args: argparse.Namespace, code: str, level: str) -> Plan:
    """A plan of enterprises from the register: a third shared by every bureau (they contend), the
    rest the bureau's own."""
    rnd = random.Random(bureau * 1000 + round_)
    common = args.enterprises // 3
    rows = []
    for r in range(args.rows):
        e = rnd.randrange(common) if r % 3 == 0 else common + rnd.randrange(args.enterprises - common)
        industry, grade = profile_of(e)
        start = date(2025, 11, 1) + timedelta(days=rnd.randrange(50))
        county = code if level == "县" else COUNTIES[e % len(COUNTIES)]
        insp = Inspection(f"企业{e}", uscc_of(e), "平城区", county, industry, grade, KINDS[r % 3], "计划", start, start,
                          f"组长{bureau}", ["成员"])
        rows.append(PlanRow(r + 2, insp))
    return Plan(Path("plan.xlsx"), rows)


Result = tuple[list[float], float, int, float]  # per-row seconds, wall seconds, rows, CPU seconds of this process


def run_plans(root: str, bureau: int, args: argparse.Namespace, start_at: float) -> Result:
    """In a bureau's process: its plans one after another."""
    ws = Workspace.open(root)
    timings: list[float] = []
    inner = gen._record_row

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            timings.append(time.perf_counter() - t)

    gen._record_row = timed  # the benchmark's own probe around each row's work
    while time.time() < start_at:
        time.sleep(0.001)
    t0, c0 = time.perf_counter(), time.process_time()
    rows = 0
    for round_ in range(args.plans):
        plan = plan_for(bureau, round_, args, ws.config.division_code, ws.config.level)
        run = Run(f"bench{round_}", OverCapApproval(), "", "bench", None, date(2025, 10, 1))
        rows += len(record_rows(ws, plan, run))
    return timings, time.perf_counter() - t0, rows, time.process_time() - c0


def _worker(q: multiprocessing.Queue, root: str, bureau: int, args: argparse.Namespace, start_at: float) -> None:  # type: ignore[type-arg]
    try:
        q.put(run_plans(root, bureau, args, start_at))
    except Exception as e:  # e.g. SQLite's write lock not had within its 30 s busy timeout
        q.put(f"{type(e).__name__}: {str(e).splitlines()[0]}")


def concurrent(roots: list[str], args: argparse.Namespace) -> Result:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 4 + 0.3 * len(roots)  # every process imported and waiting
    procs = [ctx.Process(target=_worker, args=(q, r, i, args, start_at)) for i, r in enumerate(roots)]
    for p in procs:
        p.start()
    got = [q.get() for _ in procs]
    for p in procs:
        p.join()
    failed = [r for r in got if isinstance(r, str)]
    if failed:
        print(f"    {len(failed)} of {len(procs)} bureaus failed: {failed[0]}")
    results = [r for r in got if not isinstance(r, str)]
    if not results:
        return [float("nan")], float("nan"), 1, float("nan")
    timings = [t for r in results for t in r[0]]
    return timings, max(r[1] for r in results), sum(r[2] for r in results), sum(r[3] for r in results)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


def report(label: str, timings: list[float], wall: float, rows: int, cpu: float) -> dict[str, float]:
    if not timings or timings[0] != timings[0]:
        print(f"  {label:<34} no bureau finished")
        return {"p50": 0.0, "p95": 0.0, "max": 0.0, "per_row_wall": 0.0, "throughput": 0.0, "cpu": 0.0}
    out = {"p50": pct(timings, 50), "p95": pct(timings, 95), "max": max(timings) * 1000,
           "per_row_wall": wall / rows * 1000, "throughput": rows / wall, "cpu": cpu / rows * 1000}
    print(f"  {label:<34} per row p50 {out['p50']:6.2f} ms  p95 {out['p95']:6.2f} ms  max {out['max']:7.1f} ms | "
          f"plan time per row {out['per_row_wall']:6.2f} ms | {out['throughput']:6.0f} rows/s | "
          f"client CPU per row {out['cpu']:5.2f} ms")
    return out


@contextmanager
def server() -> Iterator[str]:
    from _pg_server import pg_cluster

    with pg_cluster("shared_buffers=256MB", "max_connections=200") as (host, port):
        import psycopg

        with psycopg.connect(host=host, port=port, user="ruqi", dbname="postgres", autocommit=True) as con:
            con.execute('CREATE DATABASE "ruqi_register"')
        yield f"postgresql://ruqi@/ruqi_register?host={host}&port={port}"


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the throw-away server on the way out
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=300_000)
    ap.add_argument("--enterprises", type=int, default=60_000)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--bureaus", type=int, default=20)
    ap.add_argument("--plans", type=int, default=3, help="plans one bureau registers one after another")
    args = ap.parse_args()
    print(f"register: {args.visits:,} visits of {args.enterprises:,} enterprises; plans of {args.rows} rows; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="ruqi-bench-register-") as tmp, server() as admin:
        folder = Path(tmp)
        t = time.perf_counter()
        shared = seed_postgres(admin, args, folder / "pg")
        print(f"seeded the shared register in {time.perf_counter() - t:.1f} s")
        local = init(folder / "sqlite" / "ws")
        t = time.perf_counter()
        seed_sqlite(local, args)
        print(f"seeded the SQLite register in {time.perf_counter() - t:.1f} s")

        results = {}
        print("one bureau, plans one after another:")
        results["pg1"] = report("shared register (PostgreSQL)", *run_plans(str(shared[0].root), 0, args, 0))
        results["sq1"] = report("local register (SQLite)", *run_plans(str(local.root), 0, args, 0))
        print(f"{args.bureaus} bureaus at once, one process each, one {args.rows}-row plan each:")
        at_once = argparse.Namespace(**{**vars(args), "plans": 1})
        results["pgN"] = report("shared register (PostgreSQL)", *concurrent([str(w.root) for w in shared], at_once))
        results["sqN"] = report("local register (SQLite, one file)",
                                *concurrent([str(local.root)] * args.bureaus, at_once))
        print(f"p95 per plan row, {args.bureaus} bureaus at once: shared {results['pgN']['p95']:.2f} ms "
              f"(goal < 5 ms); throughput shared/SQLite "
              f"{results['pgN']['throughput'] / max(results['sqN']['throughput'], 1e-9):.2f}×")


if __name__ == "__main__":
    main()
