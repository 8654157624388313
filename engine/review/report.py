"""The review list on paper: an Excel workbook (one sheet per section) and ``review-report.pdf``.

The workbook starts with a 概况 sheet (period, counts, notes), then one sheet per section of
``tables.sections``.  Every string goes through ``engine.xlsx_safe.set_value``, so an enterprise
name or a reason such as ``=HYPERLINK(…)`` stays text in Excel and WPS.

The PDF is Jinja2 HTML rendered by WeasyPrint: a summary page with the counts and a bar chart by
county (inline SVG drawn here, no plotting library), then one section per flagged inspection.  It
is written as PDF/A-3b so it can be filed in the archive like every other generated document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from markupsafe import Markup

from ..forms import CARD_QUESTIONS, QUESTION_NUMBERS, YES, FormType
from ..render.pdf import ARCHIVE_PDF_VARIANT
from ..text import finalize
from ..xlsx_safe import set_value
from .collect import Review, Tally
from .model import CARD_STATE_ZH, FLAG_ZH, CardState, Entry, ReviewFlag
from .tables import Column, Table, cell_text, pick, sections, summary_rows

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    from jinja2 import Environment
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.worksheet import Worksheet

TEMPLATES = Path(__file__).resolve().parent / "templates"
REPORT_NAME = "review-report.pdf"
PDF_VARIANT = ARCHIVE_PDF_VARIANT  # the 纪委's report is filed too: PDF/A like every PDF the engine writes
DATE_FORMAT = "yyyy-mm-dd"


@cache
def _styles() -> tuple[Font, PatternFill, Alignment]:
    """Header font, header fill, wrapping alignment (openpyxl loads only when a workbook is written)."""
    from openpyxl.styles import Alignment, Font, PatternFill

    return Font(bold=True), PatternFill("solid", fgColor="DDE5F0"), Alignment(wrap_text=True, vertical="top")


# ---- Excel -----------------------------------------------------------------------------------------


def write_xlsx(review: Review, out: str | Path) -> Path:
    """The review list as a workbook; written to a temporary name first so a reader never sees half a file."""
    from openpyxl import Workbook

    out = Path(out)
    wb = Workbook()
    _summary_sheet(wb.active, review)
    for t in sections(review):
        _table_sheet(wb.create_sheet(t.title), t)
    return _save(wb, out)


def write_index_sheet(sh: Worksheet, title: str, headers: list[str], widths: list[int], rows: list[list[Any]]) -> None:
    """A plain sheet of rows (used by the export's index.xlsx)."""
    sh.title = title
    _table_sheet(sh, Table("index", title, tuple(Column(h, w) for h, w in zip(headers, widths, strict=True)), rows))


def _save(wb: Workbook, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    wb.save(tmp)
    os.replace(tmp, out)
    return out


def _summary_sheet(sh: Worksheet, r: Review) -> None:
    from openpyxl.styles import Font

    sh.title = "概况"
    set_value(sh.cell(1, 1), f"{r.bureau} 入企检查纪律监督审查清单").font = Font(bold=True, size=14)
    meta = [("检查开始日期范围", r.period_zh), ("县区", r.county or "全部"), ("统计日", r.today),
            ("反馈卡交回期限", f"检查结束后 {r.late_days} 日内"), ("生成时间", datetime.now().replace(microsecond=0))]
    head_font = _styles()[0]
    row = 3
    for k, v in meta:
        set_value(sh.cell(row, 1), k).font = head_font
        c = set_value(sh.cell(row, 2), v)
        if isinstance(v, date):
            c.number_format = DATE_FORMAT if not isinstance(v, datetime) else "yyyy-mm-dd hh:mm"
        row += 1
    row += 1
    for k, n in summary_rows(r):
        set_value(sh.cell(row, 1), k)
        set_value(sh.cell(row, 2), n)
        row += 1
    if r.notes:
        row += 1
        set_value(sh.cell(row, 1), "说明").font = head_font
        for note in r.notes:
            row += 1
            set_value(sh.cell(row, 1), note)
    sh.column_dimensions["A"].width = 26
    sh.column_dimensions["B"].width = 30


def _table_sheet(sh: Worksheet, t: Table) -> None:
    from openpyxl.utils import get_column_letter

    head_font, head_fill, wrap = _styles()
    for j, col in enumerate(t.columns, start=1):
        c = set_value(sh.cell(1, j), col.header)
        c.font, c.fill, c.alignment = head_font, head_fill, wrap
        sh.column_dimensions[get_column_letter(j)].width = col.width
    for i, row in enumerate(t.rows, start=2):
        for j, v in enumerate(row, start=1):
            c = set_value(sh.cell(i, j), v)
            if isinstance(v, datetime):
                c.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(v, date):
                c.number_format = DATE_FORMAT
            elif isinstance(v, str) and "\n" in v:
                c.alignment = wrap
    if not t.rows:
        set_value(sh.cell(2, 1), t.empty_text)
    sh.freeze_panes = "B2"
    if t.rows:
        sh.auto_filter.ref = f"A1:{get_column_letter(len(t.columns))}{len(t.rows) + 1}"


# ---- the chart -------------------------------------------------------------------------------------

CHART_FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"


def county_chart_svg(tallies: list[Tally], width: int = 600) -> str:
    """Horizontal bars per county: inspections (grey) and those needing attention (red), with counts.

    Hand-written SVG keeps the report free of a plotting dependency and renders the same in
    WeasyPrint and a browser.  Names are XML-escaped: a county label is data.
    """
    rows = [t for t in tallies if t.inspections or t.suspect]
    label_w, bar_h, gap, top = 90, 12, 10, 28
    plot_w = width - label_w - 50
    height = top + max(len(rows), 1) * (2 * bar_h + gap) + 10
    most = max([t.inspections for t in rows] + [t.flagged + t.suspect for t in rows] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{escape(CHART_FONT)}" font-size="11">',
        f'<rect x="{label_w}" y="6" width="10" height="10" fill="#9aa5b1"/>'
        f'<text x="{label_w + 14}" y="15">检查次数</text>',
        f'<rect x="{label_w + 90}" y="6" width="10" height="10" fill="#c0392b"/>'
        f'<text x="{label_w + 104}" y="15">需关注（含可疑反馈卡）</text>',
    ]
    for k, t in enumerate(rows):
        y = top + k * (2 * bar_h + gap)
        attention = t.flagged + (t.suspect if t.inspections == 0 else 0)
        w1 = round(plot_w * t.inspections / most, 1)
        w2 = round(plot_w * attention / most, 1)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h + 4}" text-anchor="end">{escape(t.name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w1}" height="{bar_h}" fill="#9aa5b1"/>')
        parts.append(f'<text x="{label_w + w1 + 4}" y="{y + bar_h - 2}">{t.inspections}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + bar_h}" width="{w2}" height="{bar_h}" fill="#c0392b"/>')
        parts.append(f'<text x="{label_w + w2 + 4}" y="{y + 2 * bar_h - 2}">{attention}</text>')
    parts.append(f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 6}" stroke="#333"/>')
    parts.append("</svg>")
    return "".join(parts)


# ---- the PDF ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """One flagged inspection as the PDF prints it."""

    entry: Entry
    flags: list[str]
    facts: list[tuple[str, str]]
    yes: list[str]  # questions answered 是, as printed on the card
    answers: list[tuple[str, str]]  # (question, answer) for all ten, when the card came back
    notes: list[str]
    documents: list[tuple[str, str, str]]  # (form, 档号, file)


PDF_INSPECTOR_COLUMNS = ("检查人员", "任组长", "任成员", "检查次数", "反馈“是”的检查", "“是”题数", "逾期未交回", "逾期交回",
                         "超次数", "可疑反馈卡", "需关注的检查")
PDF_VOIDED_COLUMNS = ("检查编号", "企业名称", "县区", "开始日期", "组长", "登记人", "作废时间", "作废人", "作废理由", "反馈卡")


def _section(r: Review, e: Entry) -> Section:
    facts = [
        ("企业名称", e.enterprise), ("统一社会信用代码", e.uscc), ("县区", e.county),
        ("行业/等级", f"{e.industry}/{e.grade}"), ("检查类别", e.kind),
        ("检查日期", cell_text(e.start) + ("" if e.end == e.start else f" 至 {cell_text(e.end)}")),
        ("检查组", e.team.label()), ("本年度次数（台账）", f"第{e.visit_total}次入企检查，第{e.visit_kind}次{e.kind}"),
        ("反馈卡", CARD_STATE_ZH[e.card] + (f"（{cell_text(e.card_received_at)} 收到）" if e.card_received_at else
                                              f"（应于 {cell_text(e.due)} 前交回）")),
    ]
    notes: list[str] = []
    for o in r.over_cap:
        if o.entry is e:
            notes.append(f"超过年度次数上限：{o.rule}；本次为本年度第{e.visit_kind}次{e.kind}。"
                         + (f"经批准超次数，理由：{o.reason}（登记人 {e.actor}）" if o.approved else "未经批准超次数。"))
    for c in r.suspects:
        if c.entry is e:
            notes.append(f"可疑反馈卡：{c.reasons_zh}。" + (f"{c.note}。" if c.note else
                                                              f"卡上企业“{c.enterprise}”。" if c.enterprise else "")
                         + (f"档号 {c.document.archival_code}。" if c.document else ""))
    for c in r.qr_missing:
        if c.entry is e:
            notes.append("反馈卡没有可核验的二维码，只凭卡上印刷的检查编号对应本次检查："
                         + (f"可疑（{c.reasons_zh}）。" if c.reasons else "卡上企业名称、检查日期与台账一致，请核对原件。")
                         + (f"档号 {c.document.archival_code}。" if c.document else ""))
    for m in r.mismatches:
        if m.entry is e:
            stated = (f"卡上第{_n(m.stated_total)}次入企检查、第{_n(m.stated_kind)}次{e.kind}；"
                      if (m.stated_total, m.stated_kind) != (None, None) else "")
            notes.append(f"反馈卡次数与台账不符：{stated}台账（打印）为第{e.visit_total}次、第{e.visit_kind}次。{m.explanation}")
    for v in r.violations:
        if v.entry is e and v.withdrawn:
            notes.append("此前交回的反馈卡对以下问题回答“是”，后交回的版本改答：" + "；".join(v.withdrawn_texts))
    for c in r.cards:
        if c.entry is e and c.days_late:
            notes.append(f"{CARD_STATE_ZH[c.state]}，逾期 {c.days_late} 天。" if c.state is not CardState.NEEDS_REVIEW
                         else f"反馈卡逾期 {c.days_late} 天交回。")
    if e.cross_reason:
        notes.append(f"县级部门对辖区外企业的检查，跨县区事由：{e.cross_reason}。")
    if e.register_note:
        notes.append(e.register_note)
    answers = [(CARD_QUESTIONS[i - 1], e.answers.get(i) or "—") for i in QUESTION_NUMBERS] if e.answers else []
    return Section(
        entry=e, flags=[FLAG_ZH[f] for f in e.flags], facts=facts,
        yes=[CARD_QUESTIONS[i - 1] for i in e.yes_questions], answers=answers, notes=notes,
        documents=[(FormType.label(d.form_type) + (f" 第{d.version}版" if d.version > 1 else ""),
                    d.archival_code, d.rel_path.rsplit("/", 1)[-1]) for d in e.documents],
    )


def _n(v: int | None) -> str:
    return "?" if v is None else str(v)


def _env() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, finalize=finalize)
    env.globals["YES"] = YES  # the card's word, never typed in a template
    return env


def render_html(review: Review) -> str:
    tables = {t.key: t for t in sections(review)}
    return _env().get_template("review-report.html").render(
        r=review,
        summary=summary_rows(review),
        chart=Markup(county_chart_svg(review.by_county)),
        sections=[_section(review, e) for e in review.flagged],
        orphans=[c for c in review.suspects if c.entry is None],
        by_inspector=pick(tables["by_inspector"], PDF_INSPECTOR_COLUMNS),
        voided=pick(tables["voided"], PDF_VOIDED_COLUMNS),
        cell=cell_text,
        generated=datetime.now().replace(microsecond=0),
        flag_order=[FLAG_ZH[f] for f in ReviewFlag],
    )


def write_pdf(review: Review, out: str | Path) -> Path:
    """``review-report.pdf``: summary page with a chart by county, then one section per flagged inspection."""
    from weasyprint import HTML

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    HTML(string=render_html(review), base_url=str(TEMPLATES)).write_pdf(tmp, pdf_variant=PDF_VARIANT)
    os.replace(tmp, out)
    return out
