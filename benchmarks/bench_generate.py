"""Benchmark: N inspections × 3 forms × (docx, PDF), engine against a naive baseline.

    .venv/bin/python benchmarks/bench_generate.py [--n 100] [--baseline-n N] [--workers W] [--repeat 3]
                                                  [--render-alone] [--keep DIR]

The headline figure (issue 10) is the whole process: ``ruqi generate --plan <N-row plan>``, run as
the clerk runs it (interpreter start, plan reading, the register, rendering, filing every document
in the archive, the manifest), timed from outside, with the peak memory of its process tree (RSS
summed over the processes, and PSS); against the naive loop below writing the same number of
files.  Each repeat runs it twice: in a fresh workspace (the first run pays the templates check
and measures the card layout), then in the same workspace with a second N-row plan of other
enterprises (a clerk's usual run: both are on record for these templates and code).  It runs ``--repeat`` times and the MEDIAN counts, with
the load average before each run (the machine is shared: other work slows the wall clock, and
a two-process run more than a one-process one); the CPU-time ratio is printed too, since it
hardly depends on that load.  ``--render-alone`` adds the render-only figures (``render_batch``
alone, the generation issue's measure).

Both render the same N sample inspections (engine/render/sample.py) with the same templates:

- baseline: per document, one docxtpl render (``DocxTemplate(...).render(ctx, autoescape=True)``,
  QR swapped with ``replace_pic``, ``save``) and one WeasyPrint render of the form's full HTML page
  (``HTML(string=...).write_pdf(path)``), one process;
- engine: ``engine.render.render_batch`` — docx from the prepared template, PDFs laid out many
  per HTML and split, over ``--workers`` processes (default: all cores) — each run in a fresh
  Python process, as one ``ruqi generate`` is, timed inside it (interpreter start not counted,
  as it is not for the baseline).

Throughput = documents written per second (N × 6 files).  The baseline runs once.  ``--baseline-n`` runs the baseline on fewer inspections (its cost per
document is constant) to save time; the ratio uses throughputs.
Peak memory: the largest total PSS of the engine's process tree (parent + workers; PSS counts a
page shared by two processes — libraries, the mapped CJK fonts — half in each, so the sum is the
memory the tree really uses) and, for reference, the RSS sum, sampled every 50 ms; the baseline
process's own peak RSS.  CPU seconds per file are printed too: unlike wall-clock throughput they
do not depend on what else the machine is doing.  Nothing is asserted; the numbers are printed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.render import DEFAULT_TEMPLATES_DIR, FORM_KEYS, output_name, render_batch  # noqa: E402
from engine.render.docx import jinja_env as docx_jinja_env  # noqa: E402
from engine.render.layout import QR_ALT_TEXT  # noqa: E402
from engine.render.pdf import html_context, jinja_env  # noqa: E402
from engine.render.qr import qr_png  # noqa: E402
from engine.render.sample import sample_context  # noqa: E402


def baseline(contexts: list[dict], out: Path) -> None:
    from docxtpl import DocxTemplate
    from weasyprint import HTML

    env = jinja_env(DEFAULT_TEMPLATES_DIR)
    docx_env = docx_jinja_env()  # the templates' own filters (nobreak); docxtpl compiles per document
    base_url = str(DEFAULT_TEMPLATES_DIR) + "/"
    for ctx in contexts:
        for key in FORM_KEYS:
            tpl = DocxTemplate(str(DEFAULT_TEMPLATES_DIR / f"{key}.docx"))
            tpl.replace_pic(QR_ALT_TEXT, io.BytesIO(qr_png(ctx["qr"])))
            tpl.render(ctx, jinja_env=docx_env, autoescape=True)
            tpl.save(str(out / output_name(ctx["serial"], ctx["v"]["enterprise"], key, "docx")))
            html = env.get_template(f"{key}.html").render(html_context(ctx))
            HTML(string=html, base_url=base_url).write_pdf(
                str(out / output_name(ctx["serial"], ctx["v"]["enterprise"], key, "pdf")))


def _mem_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process: PSS shares each shared page (libraries, fonts) among its users."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def tree_mem_kb(pid: int) -> tuple[int, int]:
    """Memory of ``pid``'s descendants (the engine run's processes), not of ``pid`` itself."""
    rss = pss = 0
    todo = _children(pid)
    while todo:
        p = todo.pop()
        r, s = _mem_kb(p)
        rss, pss = rss + r, pss + s
        todo += _children(p)
    return rss, pss


class PeakSampler:
    """Largest total RSS and PSS of this process's descendants, sampled in a thread."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.peak_rss_kb = self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = tree_mem_kb(os.getpid())
            self.peak_rss_kb, self.peak_pss_kb = max(self.peak_rss_kb, rss), max(self.peak_pss_kb, pss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def engine_in_fresh_process(n: int, out: Path, workers: int | None) -> tuple[float, float, int]:
    """One engine run in a new Python process, as one `ruqi generate` is: what a run holds in memory
    does not carry over into the next.  Returns (seconds, CPU seconds, files) measured in there."""
    cmd = [sys.executable, __file__, "--engine-run", str(n), "--workers", str(workers or 0), "--keep", str(out)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    return r["seconds"], r["cpu"], r["files"]


def engine_run(n: int, out: Path, workers: int | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    contexts = [sample_context(i) for i in range(n)]
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    sets = render_batch(contexts, out, workers=workers)
    seconds = time.perf_counter() - t0
    files = sum(len(s.files) for s in sets)
    print(json.dumps({"seconds": seconds, "cpu": _cpu_seconds() - cpu0, "files": files}))


def write_plan(path: Path, n: int, first: int = 0) -> Path:
    """A plan of ``n`` inspections of distinct enterprises (numbered from ``first``), typed as a clerk types one."""
    from datetime import date, timedelta

    from openpyxl import Workbook

    from engine.identifiers import make_uscc
    from engine.plan import COLUMNS

    wb = Workbook()
    sh = wb.active
    sh.append([c.header for c in COLUMNS])
    for i in range(first, first + n):
        start = date(date.today().year + 1, 1, 5) + timedelta(days=i % 300)
        row = {"企业名称": f"大同市平城区示例{i:04d}机械制造有限公司", "统一社会信用代码": make_uscc(f"91140200MA0K{i:05d}"),
               "所属县区": "平城区", "行业类别": "非高危行业", "等级": "二级", "检查类别": "执法检查",
               "检查依据": "《年度监督检查计划》", "开始日期": start, "结束日期": start, "组长": "张建国",
               "成员": "李明，王芳", "专家": "孙伟", "检查内容": "粉尘防爆"}
        sh.append([row.get(c.header, "") for c in COLUMNS])
    wb.save(path)
    return path


def whole_process(n: int, root: Path, workers: int | None, first: int = 0) -> tuple[float, int, float, float, float]:
    """``ruqi generate`` on an ``n``-row plan (enterprises numbered from ``first``) in the workspace
    ``root/ws`` — made fresh unless there — as a process timed from outside.
    Returns (seconds, files the run filed in the archive, peak PSS MB of its process tree, CPU seconds
    of that tree — unlike wall time, they hardly grow with what else the machine is doing —, peak
    RSS MB summed over the tree's processes)."""
    from engine.archive import search
    from engine.workspace import Workspace, init

    ws = Workspace.open(root / "ws") if (root / "ws").is_dir() else init(root / "ws")
    before = len(search(ws))
    plan = write_plan(root / f"plan-{first}.xlsx", n, first)
    cmd = [sys.executable, "-c", "from engine.cli import main; main()", "generate", "--plan", str(plan),
           "-w", str(ws.root)] + (["--workers", str(workers)] if workers else [])
    with PeakSampler() as sampler:
        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        cpu = _children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"ruqi generate failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    filed = len(search(Workspace.open(ws.root))) - before
    return seconds, filed, sampler.peak_pss_kb / 1024, cpu, sampler.peak_rss_kb / 1024


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def report(whole: list[tuple[float, int, float, float, float, float]], base_rate: float, base_cpu_per_file: float,
           cores: int) -> None:
    """The headline: the median whole-process run against the baseline, wall and CPU."""
    wall_ratios = sorted((w[1] / w[0]) / base_rate for w in whole)
    cpu_ratios = sorted(base_cpu_per_file / (w[3] / max(1, w[1])) for w in whole)
    loads = [w[5] for w in whole]
    print(f"ratio ruqi generate, whole process / naive loop, wall clock: median {statistics.median(wall_ratios):.1f}x "
          f"(runs: {', '.join(f'{r:.1f}x' for r in wall_ratios)}; load average {min(loads):.1f}-{max(loads):.1f} "
          f"before the runs; target >= 10x on a quiet machine)")
    print(f"ratio of CPU time per file, whole process tree / naive loop: median {statistics.median(cpu_ratios):.1f}x "
          f"(on {cores} free cores the wall ratio approaches {cores}x this, less the parts that use one core: "
          f"start-up, templates check, plan, register, the last chunk's filing)")
    print(f"peak memory of the ruqi generate process tree: RSS sum {max(w[4] for w in whole):.0f} MB, "
          f"PSS {max(w[2] for w in whole):.0f} MB (largest of the runs; budget 600 MB)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="inspections (each: 3 forms × docx + PDF)")
    ap.add_argument("--baseline-n", type=int, default=None, help="inspections for the baseline (default: --n)")
    ap.add_argument("--workers", type=int, default=None, help="engine worker processes (default: all cores)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of ruqi generate; the median counts (default 3)")
    ap.add_argument("--render-alone", action="store_true", help="also time render_batch alone (best of --repeat)")
    ap.add_argument("--keep", type=Path, default=None, help="write the files here and keep them")
    ap.add_argument("--engine-run", type=int, default=None, help=argparse.SUPPRESS)  # the child of one run
    args = ap.parse_args()
    if args.engine_run is not None:
        engine_run(args.engine_run, args.keep, args.workers or None)
        return 0
    n, bn = args.n, args.baseline_n or args.n
    root = args.keep or Path(tempfile.mkdtemp(prefix="ruqi-bench-"))
    contexts = [sample_context(i) for i in range(max(n, bn))]
    cores = len(os.sched_getaffinity(0))
    print(f"bench_generate: N={n} inspections × {len(FORM_KEYS)} forms × 2 formats = {n * 6} files; "
          f"baseline on {bn}; {cores} cores; python {sys.version.split()[0]}")

    fresh, again = [], []
    for k in range(args.repeat):
        w_dir = root / f"whole{k}"
        w_dir.mkdir(parents=True, exist_ok=True)
        for runs_of, first, what in ((fresh, 0, "a fresh workspace"),
                                     (again, n, "the same workspace, a second plan")):
            load = os.getloadavg()[0]
            w_s, w_files, w_pss, w_cpu, w_rss = whole_process(n, w_dir, args.workers, first)
            runs_of.append((w_s, w_files, w_pss, w_cpu, w_rss, load))
            print(f"ruqi generate run {k + 1}, {what} (load average {load:.2f} before): {w_files} files filed in "
                  f"{w_s:6.2f} s = {w_files / w_s:6.1f} files/s (CPU {1000 * w_cpu / max(1, w_files):.1f} ms/file, "
                  f"all processes); peak memory of all processes: RSS {w_rss:.0f} MB, PSS {w_pss:.0f} MB")
        if args.keep is None:
            shutil.rmtree(w_dir, ignore_errors=True)

    runs = []
    for k in range(args.repeat if args.render_alone else 0):
        eng_dir = root / f"engine{k}"
        with PeakSampler() as sampler:
            eng_s, eng_cpu, eng_files = engine_in_fresh_process(n, eng_dir, args.workers)
        runs.append((eng_s, eng_cpu, eng_files))
        print(f"render_batch alone, run {k + 1}: {eng_files} files in {eng_s:6.2f} s = {eng_files / eng_s:6.1f} "
              f"files/s (CPU {1000 * eng_cpu / max(1, eng_files):.1f} ms/file); peak memory of all processes: "
              f"PSS {sampler.peak_pss_kb / 1024:.0f} MB, RSS sum {sampler.peak_rss_kb / 1024:.0f} MB")
        if args.keep is None:
            shutil.rmtree(eng_dir, ignore_errors=True)

    base_dir = root / "baseline"
    base_dir.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    baseline(contexts[:bn], base_dir)
    base_s = time.perf_counter() - t0
    base_cpu = _cpu_seconds() - cpu0
    base_files = bn * len(FORM_KEYS) * 2
    base_rate = base_files / base_s
    peak_base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline (naive loop, one process; load average {load:.2f} before): {base_files} files in {base_s:7.2f} s "
          f"= {base_rate:7.1f} files/s ({1000 * base_s / base_files:.1f} ms/file; CPU {1000 * base_cpu / base_files:.1f} "
          f"ms/file); peak RSS {peak_base:.0f} MB")
    print("-- first run in a fresh workspace (pays the templates check and the card layout's measurement):")
    report(fresh, base_rate, base_cpu / base_files, cores)
    print("-- a later run in the same workspace (a clerk's usual run: both are on record for these templates):")
    report(again, base_rate, base_cpu / base_files, cores)
    if runs:
        eng_s, eng_cpu, eng_files = min(runs)
        print(f"ratio render_batch alone (best of {len(runs)}) / naive loop: wall {eng_files / eng_s / base_rate:.1f}x, "
              f"CPU time per file {(base_cpu / base_files) / (eng_cpu / max(1, eng_files)):.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
