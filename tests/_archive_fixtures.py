"""Real documents for the archive tests, made the way the engine and the enterprises make them."""

from __future__ import annotations

import io
import sys
from datetime import date
from functools import lru_cache
from pathlib import Path

from engine.archive import ItemMeta, file_item
from engine.workspace import Workspace

USCC = "91140200MA0K123454"


@lru_cache(maxsize=8)
def pdf_bytes(text: str = "入企检查监督反馈卡", pdfa: bool = True) -> bytes:
    """A PDF as WeasyPrint renders our forms (PDF/A-3b unless ``pdfa`` is False)."""
    from weasyprint import HTML

    html = f"<html><body><h1>{text}</h1><p>一、检查人员是否出示执法证件？ 是 □ 否 ☑</p></body></html>"
    return HTML(string=html).write_pdf(pdf_variant="pdf/a-3b" if pdfa else None)


@lru_cache(maxsize=8)
def docx_bytes(text: str = "入企检查活动通知书") -> bytes:
    import docx

    d = docx.Document()
    d.add_heading(text, 1)
    d.add_paragraph("你单位：根据《大同市应急管理局2025年度安全生产监督检查计划》，我局将派员入企检查。")
    b = io.BytesIO()
    d.save(b)
    return b.getvalue()


@lru_cache(maxsize=8)
def xlsx_bytes(county: str = "云州区") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    sh = wb.active
    sh.append(["单位", "执法检查", "督导检查", "调查核查"])
    sh.append([county, 12, 3, 1])
    b = io.BytesIO()
    wb.save(b)
    return b.getvalue()


def card_meta(serial: str = "140200-2025-0001", enterprise: str = "大同市示例煤业有限公司", **kw: object) -> ItemMeta:
    fields: dict[str, object] = dict(
        form_type="card_returned", title=f"{enterprise}入企检查监督反馈卡", responsible=enterprise,
        date=date(2025, 3, 12), serial=serial, enterprise=enterprise, uscc=USCC, county="平城区",
        original_name="反馈卡.pdf",
    )
    fields.update(kw)
    return ItemMeta(**fields)  # type: ignore[arg-type]


def unique_pdf(n: int, base: bytes | None = None) -> bytes:
    """Distinct bytes per n: a PDF comment after %%EOF, as some scanners append; readers ignore it."""
    return (base or pdf_bytes()) + f"\n%ruqi-test-{n}\n".encode()


def file_many(root: str, tag: str, count: int) -> list[str]:
    """Worker for the concurrency test (runs in a spawned process)."""
    ws = Workspace.open(root)
    codes = []
    for i in range(count):
        meta = card_meta(serial=f"140200-2025-{i + 1:04d}", extra={"worker": tag, "i": i})
        codes.append(file_item(ws, unique_pdf(hash((tag, i)) % 10**9), meta, actor=tag).archival_code)
    return codes


def filing_loop(root: str, start: int, base_pdf: str) -> None:
    """Crash-test child: file forever, printing each acknowledged 档号; the parent kills it with SIGKILL."""
    ws = Workspace.open(root)
    base = Path(base_pdf).read_bytes()
    i = start
    while True:
        row = file_item(ws, unique_pdf(i, base), card_meta(serial=f"140200-2025-{i % 50 + 1:04d}", extra={"i": i}))
        sys.stdout.write(f"{row.archival_code} {row.sha256}\n")
        sys.stdout.flush()
        i += 1
