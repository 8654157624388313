"""Benchmark: ingesting N returned text-PDF cards end to end, against a pdfplumber-only baseline.

    .venv/bin/python benchmarks/bench_ingest.py [--n 500] [--workers 2] [--cache DIR] [--baseline-n N]

The corpus is made the way enterprises make it: N inspections are recorded in a register, their
cards rendered as .docx by ``engine.render``, filled (ticks typed over □, 负责人/职务/电话), and
exported to PDF by LibreOffice in one ``soffice`` call (the slow part of the set-up; ``--cache``
keeps the PDFs for the next run).

- baseline: one process reads every card with pdfplumber (characters with positions → the same
  row-band reading), no QR, nothing filed;
- engine: ``engine.inbox.ingest`` on a workspace whose inbox holds the N PDFs: claim, hash,
  duplicate check, preflight, read (pdfium characters, QR from the embedded picture) in a pool of
  ``--workers`` processes, validate against the register, file each card into the archive and
  update the register, one transaction per card.

Throughput = cards per second.  The baseline does strictly less work than the engine (no QR, no
checks, no archive); the ratio is printed, nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _inbox_fixtures import KIT_KEY, SOFFICE, fill_docx, kit_inspection, record, to_pdf_with_libreoffice  # noqa: E402

from engine import workspace  # noqa: E402
from engine.forms.context import build_context  # noqa: E402


def make_workspace(root: Path, n: int) -> workspace.Workspace:
    ws = workspace.init(root)
    (ws.root / "ruqi.key").write_bytes(KIT_KEY)
    for i in range(n):
        record(ws, kit_inspection(i))
    return ws


def build_corpus(n: int, out: Path) -> list[Path]:
    """N filled cards exported by LibreOffice (reused from ``out`` when already there)."""
    pdf_dir = out / "pdf"
    have = sorted(pdf_dir.glob("*.pdf")) if pdf_dir.is_dir() else []
    if len(have) >= n:
        return have[:n]
    if len(sorted((out / "docx").glob("*.docx"))) >= n:
        export(sorted((out / "docx").glob("*.docx"))[:n], pdf_dir)
        return sorted(pdf_dir.glob("*.pdf"))[:n]
    from engine.db import session
    from engine.register import Visit
    from engine.render import render_batch

    if not SOFFICE:
        sys.exit("LibreOffice (soffice) is needed to export the corpus: scripts/setup.sh --office")
    t = time.perf_counter()
    tpl = make_workspace(Path(tempfile.mkdtemp()) / "ws", n)
    with session(tpl) as s:
        visits = [v.to_inspection() for v in s.query(Visit).order_by(Visit.seq)]
    sets = render_batch([build_context(v, tpl.config, tpl.key) for v in visits], out / "docx-blank", formats=("docx",))
    (out / "docx").mkdir(parents=True, exist_ok=True)
    filled = []
    for k, rs in enumerate(sets):
        card = next(p for (form, _fmt), p in rs.files.items() if form == "card")
        answers = {i: ("是" if (k % 7 == 0 and i == 4) else "否") for i in range(1, 11)}
        filled.append(fill_docx(card, out / "docx" / f"{rs.serial}.docx", answers, mark="☑√✓"[k % 3],
                                phone=f"139{k:08d}"))
    print(f"corpus: {n} cards rendered and filled in {time.perf_counter() - t:.1f} s; exporting with LibreOffice …")
    t = time.perf_counter()
    export(filled, pdf_dir)
    pdfs = sorted(pdf_dir.glob("*.pdf"))
    print(f"corpus: LibreOffice exported {len(pdfs)} PDFs in {time.perf_counter() - t:.1f} s")
    return pdfs[:n]


def export(docxs: list[Path], pdf_dir: Path, chunk: int = 50) -> None:
    # One soffice call per chunk: a very long batch sometimes stops early without an error.
    for _attempt in range(3):
        missing = [d for d in docxs if not (pdf_dir / (d.stem + ".pdf")).exists()]
        if not missing:
            return
        for k in range(0, len(missing), chunk):
            to_pdf_with_libreoffice(missing[k:k + chunk], pdf_dir)


def baseline(pdfs: list[Path]) -> tuple[float, int]:
    from engine.readback.pdf_text import layout, read_pdf_text

    t = time.perf_counter()
    ok = 0
    for p in pdfs:
        r = read_pdf_text(layout(p, engine="pdfplumber"), KIT_KEY)
        ok += r.is_card and not r.problems
    return time.perf_counter() - t, ok


def engine_run(pdfs: list[Path], n_register: int, workers: int) -> tuple[float, dict[str, int]]:
    from engine.inbox import ingest

    ws = make_workspace(Path(tempfile.mkdtemp()) / "ws", n_register)
    for p in pdfs:
        shutil.copy(p, ws.inbox / p.name)
    t = time.perf_counter()
    report = ingest(ws, workers=workers)
    dt = time.perf_counter() - t
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[str(o.status)] = counts.get(str(o.status), 0) + 1
    shutil.rmtree(ws.root.parent, ignore_errors=True)
    return dt, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--baseline-n", type=int, default=None, help="cards for the baseline (default: all)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ruqi-bench-ingest")
    a = ap.parse_args()
    pdfs = build_corpus(a.n, a.cache)
    nb = min(a.baseline_n or a.n, len(pdfs))
    print(f"{len(pdfs)} text-PDF cards (LibreOffice export), {os.cpu_count()} cores, engine workers={a.workers}")
    bt, ok = baseline(pdfs[:nb])
    print(f"baseline  pdfplumber, 1 process, read only : {nb} cards in {bt:6.2f} s = {nb / bt:6.1f} cards/s "
          f"({ok} read cleanly)")
    et, counts = engine_run(pdfs, a.n, a.workers)
    print(f"engine    ingest end to end (read+check+file): {len(pdfs)} cards in {et:6.2f} s = {len(pdfs) / et:6.1f} cards/s "
          f"{counts}")
    print(f"ratio     engine / baseline = {(len(pdfs) / et) / (nb / bt):.1f}×  (target ≥ 30 cards/s end to end)")


if __name__ == "__main__":
    main()
