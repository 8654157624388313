"""A card returned before its inspection ended (or began) is flagged EARLY and listed for the 纪委."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from pathlib import Path

from _plan_fixtures import GOOD, _plan
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine.cli import app
from engine.generate import generate
from engine.inbox import Status, ingest
from engine.inbox.codes import Flag
from engine.inbox.validate import CardCode
from engine.review import CardState, ReviewFlag, build_review
from engine.review.tables import summary_rows
from engine.simulate import fill_docx, tick_pdf

CLEAN = {i: "否" for i in range(1, 11)}
OTHER = ("大同市云冈区另一家机械有限公司", "91140200MA0K77777N")
THIRD = ("大同市云州区第三家机械有限公司", "91140200MA0K88888F")


def _drop(ws, src: Path, name: str, arrived: datetime) -> None:  # type: ignore[no-untyped-def]
    dst = ws.inbox / name
    shutil.copy(src, dst)
    os.utime(dst, (arrived.timestamp(), arrived.timestamp()))


def test_cards_signed_in_advance_are_flagged_and_listed(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Three inspections of 11月17日–19日; the cards come back on the 18th, the 16th and the 19th.
    rows = [GOOD | {"开始日期": date(2025, 11, 17), "结束日期": date(2025, 11, 19)}]
    rows += [GOOD | {"企业名称": n, "统一社会信用代码": u, "开始日期": date(2025, 11, 17), "结束日期": date(2025, 11, 19)}
             for n, u in (OTHER, THIRD)]
    res = generate(ws, _plan(tmp_path / "plan.xlsx", rows), formats=("docx", "pdf"), today=date(2025, 11, 10))
    during, before, last_day = res.outcomes
    pdf = next(p for p in during.files if p.name.endswith("反馈卡.pdf"))
    _drop(ws, tick_pdf(pdf, tmp_path / "a.pdf", CLEAN), "反馈卡-恒泰.pdf", datetime(2025, 11, 18, 9, 30))
    docx = next(p for p in before.files if p.name.endswith("反馈卡.docx"))
    _drop(ws, fill_docx(docx, tmp_path / "b.docx", CLEAN), "反馈卡-另一家.docx", datetime(2025, 11, 16, 17, 0))
    pdf3 = next(p for p in last_day.files if p.name.endswith("反馈卡.pdf"))
    _drop(ws, tick_pdf(pdf3, tmp_path / "c.pdf", CLEAN), "反馈卡-第三家.pdf", datetime(2025, 11, 19, 16, 0))

    report = ingest(ws, workers=1)
    by_serial = {o.serial: o for o in report.outcomes}
    assert {o.status for o in report.outcomes} == {Status.FILED}
    assert Flag.EARLY in by_serial[during.serial].flags and Flag.EARLY in by_serial[before.serial].flags
    assert Flag.EARLY not in by_serial[last_day.serial].flags  # the last day itself is when cards are left
    early = next(f for f in by_serial[during.serial].findings if f.code == CardCode.EARLY)
    assert "结束前（2025-11-18）" in early.message
    assert "开始前（2025-11-16）" in next(f.message for f in by_serial[before.serial].findings if f.code == CardCode.EARLY)

    r = build_review(ws, today=date(2025, 11, 30))
    assert [(c.entry.serial, c.state) for c in r.cards] == [(during.serial, CardState.EARLY),
                                                            (before.serial, CardState.EARLY)]
    assert ReviewFlag.CARD_EARLY in r.entry(during.serial).flags  # type: ignore[union-attr]
    assert r.entry(last_day.serial).flags == []  # type: ignore[union-attr]
    assert [(t.name, t.early) for t in r.by_county] == [("平城区", 2)]
    assert ("反馈卡提前交回", 2) in summary_rows(r)

    out = tmp_path / "审查清单.xlsx"
    assert CliRunner().invoke(app, ["review", "--out", str(out), "--today", "2025-11-30", "-w", str(ws.root)]).exit_code == 0
    sheet = load_workbook(out)["反馈卡未交回、逾期或提前交回"]
    rows_out = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert sorted((row[0], row[6]) for row in rows_out) == sorted(
        [(during.serial, "提前交回（检查结束前）"), (before.serial, "提前交回（检查结束前）")])
