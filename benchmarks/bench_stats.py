"""Benchmark: 120 unit workbooks read, validated and aggregated, against a naive openpyxl-only baseline.

    .venv/bin/python benchmarks/bench_stats.py [--files 120] [--keep DIR]

Generates 120 附件2 workbooks for a 大同 city workspace (11 units × 11 quarters, minus one):
half are our blanks filled the way Excel saves them, half are units' own files in the official
layout (merged two-level headers, shuffled columns, a 合计 row, text and full-width numbers).
Then, in this one process, times:

  engine   read_submission (recognise + read + validate) of every file, aggregate() of every
           period and the summary .xlsx of each (the work the target is about);
  accept   recording the 120 submissions in the workspace database (reported separately);
  pdf      one one-page PDF report (WeasyPrint; a one-off per report, reported separately);
  naive    openpyxl only: load each workbook, find the header, map columns, convert numbers,
           sum per unit, write the same summaries with openpyxl.

Prints times and the ratio; asserts nothing (speed is measured, never tested).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import unicodedata
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _stats_fixtures import clerk_table2, fill_blank  # noqa: E402

from engine.stats import Period, accept, read_submission, units_for, write_blanks  # noqa: E402
from engine.stats.aggregate import aggregate, write_pdf, write_xlsx  # noqa: E402
from engine.workspace import init  # noqa: E402

ORDERS = (("unit", "staff_expected", "staff_actual", "ent_expected", "ent_actual", "remark"),
          ("remark", "ent_expected", "ent_actual", "unit", "staff_expected", "staff_actual"))


def periods(n: int) -> list[Period]:
    return [Period(2023 + i // 4, i % 4 + 1) for i in range(n)]


def generate(ws, out: Path, n_files: int) -> list[Path]:  # type: ignore[no-untyped-def]
    units = units_for(ws.config)
    files: list[Path] = []
    for k, p in enumerate(periods((n_files + len(units) - 1) // len(units))):
        blanks = write_blanks(ws, 2, p, due=date(p.year, p.quarter * 3, 18)).files
        for i, (u, blank) in enumerate(zip(units, blanks, strict=True)):
            if len(files) == n_files:
                return files
            se, ee = 10 + i, 30 + 3 * i
            vals = {"staff_expected": se, "staff_actual": se - i % 3, "ent_expected": ee, "ent_actual": ee - i % 5}
            target = out / f"{p}-{u.code}.xlsx"
            if (i + k) % 2:
                files.append(fill_blank(blank, target, {"B6": vals["staff_expected"], "C6": str(vals["staff_actual"]),
                                                        "D6": vals["ent_expected"], "E6": vals["ent_actual"]}))
            else:
                full = str(vals["ent_expected"]).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
                row = {"unit": u.full_name, **vals, "ent_expected": full, "remark": "无"}
                files.append(clerk_table2(target, [row], order=ORDERS[i % 2], total=vals,
                                          filled=f"{p.year}年{p.quarter * 3}月{10 + i}日"))
    return files


def read_all(ws, files: list[Path]) -> tuple[float, list]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    subs = [read_submission(f, ws) for f in files]
    elapsed = time.perf_counter() - t0
    bad = [s for s in subs if not s.ok]
    if bad:
        raise SystemExit(f"engine rejected {len(bad)} generated files, e.g. {bad[0].path.name}: "
                         f"{bad[0].findings.to_list()}")
    return elapsed, subs


def naive(files: list[Path], out: Path) -> float:
    """What one would write with openpyxl alone: full load (merged cells need it), scan, convert, sum, write."""
    t0 = time.perf_counter()
    leaves = {"应注册人数": "se", "实际注册人数": "sa", "应注册企业数": "ee", "实际注册企业数": "ea"}
    by_period: dict[str, dict[str, dict[str, int]]] = {}
    for f in files:
        wb = load_workbook(f)
        sh = wb.worksheets[0]
        cols, unit_col, header_row = {}, None, None
        for row in sh.iter_rows(min_row=1, max_row=10):
            for c in row:
                v = str(c.value or "").strip()
                if v in leaves:
                    cols[leaves[v]] = c.column - 1
                    header_row = c.row
                elif v in ("单位", "省市县（区）"):
                    unit_col = c.column - 1
        period = f.name.split("-")[0]
        for row in sh.iter_rows(min_row=(header_row or 5) + 1, values_only=True):
            unit = str(row[unit_col] or "").replace("应急管理局", "").strip()
            if not unit or unit.startswith(("合", "填", "注")):
                continue
            vals = {}
            for k, j in cols.items():
                t = unicodedata.normalize("NFKC", str(row[j] if row[j] is not None else "0")).strip()
                vals[k] = int(float(t)) if t.replace(".", "", 1).isdigit() else 0
            by_period.setdefault(period, {})[unit] = vals
    for period, units in by_period.items():
        wb = Workbook()
        sh = wb.active
        sh.append(["单位", "应注册人数", "实际注册人数", "应注册企业数", "实际注册企业数"])
        for unit, v in units.items():
            sh.append([unit, v["se"], v["sa"], v["ee"], v["ea"]])
        sh.append(["合计", *(sum(v[k] for v in units.values()) for k in ("se", "sa", "ee", "ea"))])
        wb.save(out / f"naive-{period}.xlsx")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=120)
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated files here")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-stats-"))
    ws = init(base / "ws")
    src = base / "in"
    src.mkdir(parents=True, exist_ok=True)
    out = base / "out"
    out.mkdir(exist_ok=True)
    t = time.perf_counter()
    files = generate(ws, src, args.files)
    print(f"generated {len(files)} workbooks in {time.perf_counter() - t:.1f} s  ({base})")

    # warm-up: imports and the database, so neither run pays one-off costs
    read_submission(files[0], ws)
    load_workbook(files[0])

    t_read, subs = read_all(ws, files)
    t0 = time.perf_counter()
    for i, s in enumerate(subs):
        accept(ws, s, f"bench-{i}", received_at=datetime(s.period.year, s.period.quarter * 3, 15 + i % 6))
    t_accept = time.perf_counter() - t0
    t0 = time.perf_counter()
    aggs = [aggregate(ws, 2, p) for p in sorted({s.period for s in subs})]
    t_agg = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a in aggs:
        write_xlsx(a, out / f"附件2汇总-{a.period}.xlsx")
    t_xlsx = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_pdf(aggs[-1], out / f"附件2汇总-{aggs[-1].period}.pdf")
    t_pdf = time.perf_counter() - t0

    t_naive = naive(files, out)
    engine = t_read + t_agg + t_xlsx
    n = len(files)
    print(f"engine  read+validate {n} files   {t_read:7.3f} s  ({1000 * t_read / n:.2f} ms/file)")
    print(f"engine  aggregate {len(aggs)} periods      {t_agg:7.3f} s")
    print(f"engine  write {len(aggs)} summary .xlsx    {t_xlsx:7.3f} s")
    print(f"engine  total (target <= 2 s)     {engine:7.3f} s")
    print(f"accept  record {n} submissions     {t_accept:7.3f} s  (database, one transaction each)")
    print(f"pdf     one-page report            {t_pdf:7.3f} s  (WeasyPrint, incl. first-use font setup)")
    print(f"naive   openpyxl-only baseline     {t_naive:7.3f} s  ({1000 * t_naive / n:.2f} ms/file)")
    print(f"ratio   naive / engine             {t_naive / engine:7.1f} x")


if __name__ == "__main__":
    main()
