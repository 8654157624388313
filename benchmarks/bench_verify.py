"""Benchmark: `ruqi archive verify` over 10,000 stored items against `sha256sum` over the same files.

    .venv/bin/python benchmarks/bench_verify.py [--items 10000] [--dir /tmp/bench-ws] [--keep]

Builds a workspace of real documents filed through ``file_item`` (PDF/A forms as WeasyPrint
renders them, docx notices, larger PDFs standing in for scanned returned cards; every file's bytes
distinct), then times, with a warm page cache, best of three:

- ``sha256sum`` over exactly the stored files (one run, argument lists split by xargs);
- ``verify(ws)``: hashes *and* size, format sniff, container check, row-vs-audit-entry comparison,
  audit-chain recomputation, 件号 continuity and the unindexed-file scan.

Throughput ratio = (bytes / verify seconds) / (bytes / sha256sum seconds); target ≥ 0.8.  Also
printed, not part of the target: verify with one worker, ``openssl dgst -sha256`` as a
second baseline, and ``verify(deep=True)`` (every file parsed, SM3 too) on a sample.
Nothing is asserted; the numbers are printed.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.archive import ItemMeta, file_item, search, verify  # noqa: E402
from engine.db import session  # noqa: E402
from engine.workspace import Workspace, init  # noqa: E402

COUNTIES = ("平城区", "云冈区", "新荣区", "云州区", "阳高县", "天镇县", "广灵县", "灵丘县", "浑源县", "左云县")


def documents() -> dict[str, bytes]:
    import docx
    from weasyprint import HTML

    questions = "".join(f"<p>{i}. 检查人员是否存在第{i}项所列行为？ 是 □ 否 ☑</p>" for i in range(1, 11))
    form = HTML(string=f"<html><body><h1>入企检查监督反馈卡</h1>{questions}</body></html>").write_pdf(
        pdf_variant="pdf/a-3b")
    # A returned card is often a scan: one big JPEG per page (noise, so it stays large).
    from PIL import Image

    img = io.BytesIO()
    Image.effect_noise((1240, 1754), 40).convert("RGB").save(img, "JPEG", quality=70)
    uri = "data:image/jpeg;base64," + base64.b64encode(img.getvalue()).decode()
    scan = HTML(string=f'<html><body style="margin:0"><img src="{uri}" style="width:100%"></body></html>').write_pdf()
    d = docx.Document()
    d.add_heading("入企检查活动通知书", 1)
    for _ in range(30):
        d.add_paragraph("根据《大同市应急管理局2025年度安全生产监督检查计划》，我局将派员到你单位开展入企检查。")
    b = io.BytesIO()
    d.save(b)
    return {"pdf": form, "scan": scan, "docx": b.getvalue()}


def build(ws: Workspace, n: int) -> None:
    docs = documents()
    t0 = time.perf_counter()
    batch = 500
    for start in range(0, n, batch):
        with session(ws) as s:  # one transaction per batch keeps the setup quick; each file is still fsynced
            for i in range(start, min(n, start + batch)):
                kind = ("pdf", "pdf", "pdf", "docx", "docx", "pdf", "pdf", "docx", "pdf", "scan")[i % 10]
                form_type = {"pdf": "notice_board", "docx": "notice", "scan": "card_returned"}[kind]
                fmt = "docx" if kind == "docx" else "pdf"
                data = docs[kind] if fmt == "docx" else docs[kind] + f"\n%{i}\n".encode()
                serial = f"140200-2025-{i // 3 + 1:04d}"
                file_item(ws, data, ItemMeta(
                    form_type=form_type, title=f"企业{i // 3}{form_type}", responsible="大同市应急管理局",
                    date=date(2025, 3, 1), serial=serial, enterprise=f"大同市示例企业{i // 3}有限公司",
                    uscc="91140200MA0K123454", county=COUNTIES[i % 10], original_name=f"{i}.{fmt}",
                ), session=s)
        print(f"\r  filed {min(n, start + batch)}/{n} ({time.perf_counter() - t0:.0f} s)", end="", flush=True)
    print()


def best_of(k: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run_tool(cmd: list[str], paths: list[str]) -> None:
    # xargs splits the list to fit ARG_MAX: the same "one run over all files" a clerk would type.
    subprocess.run(["xargs", "-0", *cmd], input="\0".join(paths).encode(), stdout=subprocess.DEVNULL, check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, default=None, help="workspace to build or reuse")
    ap.add_argument("--keep", action="store_true", help="keep the workspace for another run")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="ruqi-bench-")) / "ws"
    fresh = not (root / "ruqi.toml").exists()
    ws = init(root)
    try:
        if fresh or len(search(ws)) < args.items:
            print(f"building {args.items} items in {root} …")
            build(ws, args.items - len(search(ws)))
        paths = [str(r.path) for r in search(ws)]
        total = sum(os.path.getsize(p) for p in paths)
        print(f"{len(paths)} files, {total / 1e6:.1f} MB, {os.cpu_count()} CPUs")

        run_tool(["sha256sum"], paths)  # warm the page cache for everyone
        rep = verify(ws)
        assert rep.ok, [str(f) for f in rep.findings][:5]
        t_sum = best_of(3, lambda: run_tool(["sha256sum"], paths))
        t_ssl = best_of(3, lambda: run_tool(["openssl", "dgst", "-sha256"], paths)) if shutil.which("openssl") else 0.0
        t_ver = best_of(3, lambda: verify(ws))
        t_one = best_of(3, lambda: verify(ws, workers=1))

        def mbps(t: float) -> str:
            return f"{total / t / 1e6:8.1f} MB/s  {len(paths) / t:8.0f} files/s  ({t:.2f} s)"

        print(f"sha256sum            {mbps(t_sum)}")
        if t_ssl:
            print(f"openssl dgst -sha256 {mbps(t_ssl)}")
        print(f"verify               {mbps(t_ver)}")
        print(f"verify, 1 worker     {mbps(t_one)}")
        print(f"ratio verify / sha256sum throughput: {t_sum / t_ver:.2f}  (target ≥ 0.8)")
        if t_ssl:
            print(f"ratio verify / openssl throughput:   {t_ssl / t_ver:.2f}")
        t0 = time.perf_counter()
        deep = verify(ws, deep=True) if len(paths) <= 2000 else None
        if deep is not None:
            print(f"verify --deep        {mbps(time.perf_counter() - t0)}")
        else:
            print("verify --deep: skipped above 2,000 items (parses every file; run with --items 2000 to see it)")
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
