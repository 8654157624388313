"""The review on paper: the Excel workbook (formula-safe) and review-report.pdf, against a planted month."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pdfplumber
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine import workspace
from engine.archive.formats import pdfa_version
from engine.cli import app
from engine.review import ReviewFlag, SuspectReason, Tally, build_review
from engine.review.report import county_chart_svg, write_pdf, write_xlsx
from tests._review_fixtures import JUNE, TODAY, Filed, Planted, file_month, register_month


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[workspace.Workspace, Planted, Filed]:
    ws = workspace.init(tmp_path_factory.mktemp("review") / "ws")
    p = register_month(ws)
    return ws, p, file_month(ws, p)


def _column(sh, header: str) -> list[object]:  # type: ignore[no-untyped-def]
    headers = [c.value for c in sh[1]]
    j = headers.index(header)
    return [row[j].value for row in sh.iter_rows(min_row=2)]


def test_archive_adds_suspects_mismatches_and_withdrawn_answers(month) -> None:  # type: ignore[no-untyped-def]
    ws, p, f = month
    r = build_review(ws, *JUNE, today=TODAY)
    assert [(c.serial, c.entry.serial if c.entry else None, c.reasons) for c in r.suspects] == [
        (f.suspect_known, f.suspect_known, (SuspectReason.ENTERPRISE_MISMATCH,)),
        ("140200-2025-9999", None, (SuspectReason.SERIAL_UNKNOWN, SuspectReason.QR_INVALID)),
    ]
    assert r.suspects[1].document.archival_code == f.suspect_orphan
    assert [(m.entry.serial, m.stated_total, m.stated_kind) for m in r.mismatches] == [
        (s, n, k) for s, (n, k) in f.mismatch.items()]
    assert [(v.entry.serial, list(v.questions), list(v.withdrawn)) for v in r.violations] == sorted(
        [(s, q, []) for s, q in p.yes.items()] + [(s, [], q) for s, q in f.withdrawn.items()])
    flagged = set(p.flagged) | {f.suspect_known, *f.mismatch, *f.withdrawn}
    assert sorted(e.serial for e in r.flagged) == sorted(flagged)
    assert r.notes == []  # every returned card was read for its visit numbers
    by_county = {t.name: t for t in r.by_county}
    assert by_county[p.county[f.suspect_known]].suspect == 1


def test_workbook_has_every_section_and_keeps_outside_text_inert(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, p, f = month
    r = build_review(ws, *JUNE, today=TODAY)
    wb = load_workbook(write_xlsx(r, tmp_path / "审查清单.xlsx"))
    assert wb.sheetnames == ["概况", "反馈“是”", "反馈卡未交回、逾期或提前交回", "反馈卡答案的人工更正", "超次数检查", "可疑反馈卡",
                             "无可核验二维码的反馈卡", "检查次数与台账不符",
                             "已作废的检查", "反馈卡识读方式", "按县区统计", "按检查人员统计"]
    assert _column(wb["反馈“是”"], "检查编号") == [v.entry.serial for v in r.violations]
    assert _column(wb["反馈“是”"], "回答“是”的题号") == ["、".join(map(str, v.questions)) or None for v in r.violations]
    assert sorted(_column(wb["反馈卡未交回、逾期或提前交回"], "检查编号")) == sorted(p.overdue + p.late + p.missing)
    over = wb["超次数检查"]
    assert dict(zip(_column(over, "检查编号"), _column(over, "超次数理由"), strict=True)) == (
        p.overrides | {s: None for s in p.unapproved_over_cap})
    assert _column(wb["可疑反馈卡"], "档号")[-1] == f.suspect_orphan
    assert _column(wb["按县区统计"], "县区") == [t.name for t in r.by_county]
    assert _column(wb["按检查人员统计"], "反馈“是”的检查") == [t.violations for t in r.by_inspector]

    # Names and reasons starting with = + - @ are text cells, unchanged, never formulas.
    risky = []
    for sh in wb.worksheets:
        for row in sh.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value[:1] in "=+-@":
                    risky.append((c.value, c.data_type))
    want = {p.firm[s].name for s in p.june if p.firm[s].name[0] in "=+-@"} | {
        "=cmd|' /C calc'!A0 事故调查需要", "=HYPERLINK(\"http://evil\")某公司"}
    assert {v for v, _ in risky} == want
    assert {t for _, t in risky} == {"s"}
    assert not any(name.startswith("=HYPERLINK") for name in want if name.startswith("大同"))  # sanity of the plant


def test_pdf_summary_chart_and_one_section_per_flagged_inspection(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, p, f = month
    r = build_review(ws, *JUNE, today=TODAY)
    pdf = write_pdf(r, tmp_path / "review-report.pdf")
    assert pdfa_version(pdf.read_bytes()) == "PDF/A-3B"
    with pdfplumber.open(pdf) as doc:
        pages = [pg.extract_text() or "" for pg in doc.pages]
    first, rest = pages[0], "\n".join(pages[1:])
    assert "入企检查纪律监督审查报告" in first and r.bureau in first
    for t in r.by_county:  # the chart labels each county
        assert t.name in first
    headings = [ln.split(". ", 1)[1].split()[0] for ln in rest.splitlines()
                if ". 140200-" in ln and ln.split(". ", 1)[0].isdigit()]
    assert headings == [e.serial for e in r.flagged]
    flat = re.sub(r"\s+", "", rest)
    assert "二、是否不按规定缴纳伙食费；" in flat  # a 是 question, worded as the card prints it
    assert "群众举报涉嫌超层越界开采，经局长批准" in flat
    assert "五、无法对应检查的可疑反馈卡（1）" in flat and "140200-2025-9999" in flat
    assert "检查编号不存在、" in flat and "二维码签名无效" in flat


def test_chart_is_wellformed_svg_with_escaped_labels() -> None:
    svg = county_chart_svg([Tally("<县>&区", inspections=4, flagged=1), Tally("城区", inspections=0, suspect=2)])
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<县>&区" in texts and "城区" in texts
    widths = [float(r.get("width")) for r in root.iter("{http://www.w3.org/2000/svg}rect")][2:]
    assert widths[0] > widths[1] > 0  # 4 inspections drawn longer than 1 flagged


def test_cli_lists_writes_workbook_and_json(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    ws, p, f = month
    out = tmp_path / "清单.xlsx"
    run = CliRunner().invoke(app, ["review", "--from", "2025-06-01", "--to", "2025年6月30日", "--today", "2025-06-30",
                                   "--out", str(out), "--workspace", str(ws.root)], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "反馈“是”（5）" in run.stdout and "超次数检查（3）" in run.stdout and out.is_file()
    assert "=HYPERLINK(\"http://evil\")某公司" in run.stdout  # printed as typed, not as rich markup
    js = CliRunner().invoke(app, ["review", "--county", "云州区", "--today", "2025-06-30", "--json",
                                  "--workspace", str(ws.root)])
    data = json.loads(js.stdout)
    assert {e["county"] for e in data["entries"]} == {"云州区"}
    assert sorted(o["serial"] for o in data["over_cap"]) == sorted(
        s for s in [*p.overrides, *p.unapproved_over_cap] if p.county[s] == "云州区")
    assert all(ReviewFlag(fl) for e in data["entries"] for fl in e["flags"])
    bad = CliRunner().invoke(app, ["review", "--from", "六月", "--workspace", str(ws.root)])
    assert bad.exit_code == 2 and "无法识别" in bad.output
