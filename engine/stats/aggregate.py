"""The aggregate of one table and period: one line per unit, totals recomputed, rates, who is missing or late.

Totals are always recomputed from the units' rows (a submitted 合计 is checked on reading but
never used).  The expected units are those the round was sent to (``ruqi stats blank``), or
every unit of the workspace when no round was recorded.  Writing: ``write_xlsx`` (the official
layout plus rates, and a 报送情况 sheet) and ``write_pdf`` (one page with a chart, to send up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..archive import ItemMeta, file_item
from ..findings import Finding, RuqiError, error
from ..forms import FormType
from ..render.pdf import ARCHIVE_PDF_VARIANT
from ..text import finalize, sentences
from ..workspace import Workspace
from ..xlsx_safe import append_row, set_text, set_value
from . import layout
from .chart import Series, bar_chart
from .codes import PARTIAL_FLAG, StatsCode, label_zh
from .period import Period
from .submissions import StatsRecord, StatsRejection, current, get_round, latest_rejections, stats_session
from .tables import MANUAL_PARTS, USER_TYPES, ColType, Column, Rate, TableDef, table
from .units import Unit, units_for

if TYPE_CHECKING:  # openpyxl loads where a workbook is written (start-up time)
    from openpyxl.styles import Alignment
    from openpyxl.worksheet.worksheet import Worksheet


@dataclass(slots=True)
class UnitLine:
    unit: Unit
    rows: list[dict[str, Any]] = field(default_factory=list)  # empty when missing
    submitted: bool = False
    received_at: datetime | None = None
    late_days: int = 0
    version: int = 0
    flags: list[dict[str, str]] = field(default_factory=list)
    source: str = ""
    expected: bool = True  # False: submitted without being asked in this round
    rejection: StatsRejection | None = None  # the unit's latest workbook sent back, when newer than the accepted one

    @property
    def late(self) -> bool:
        return self.late_days > 0

    @property
    def returned(self) -> bool:
        """Nothing accepted, but a workbook came and was sent back (已退回, not 未报送)."""
        return not self.submitted and self.rejection is not None

    @property
    def state(self) -> str:
        if self.returned:
            return "已退回"
        if not self.submitted:
            return "未报送" if self.expected else ""
        return "逾期报送" if self.late else "已报送"

    def hints(self) -> list[str]:
        """What a clerk should look at, in Chinese: the flags it was filed with, and a later workbook sent back."""
        out = [f"{label_zh(f.get('code', '')) or f.get('code', '')}（{f['where']}）" if f.get("where")
               else label_zh(f.get("code", "")) or f.get("code", "") for f in self.flags]
        r = self.rejection
        if r is not None:
            when = f"{r.received_at.month}月{r.received_at.day}日"
            what = "报送的表" if self.returned else "重报的表"
            out.append(f"{when}{what}已退回：{r.reason_text}" + (f"（{r.stored_as}）" if r.stored_as else ""))
        return out

    @property
    def values(self) -> dict[str, Any]:
        return self.rows[0] if self.rows else {}


@dataclass(slots=True)
class PartGroup:
    part: str
    items: list[tuple[Unit, dict[str, Any]]]

    def count(self, user_type: str | None = None) -> int:
        return sum(1 for _, v in self.items if user_type is None or v.get("user_type") == user_type)


@dataclass(slots=True)
class Aggregate:
    table: TableDef
    period: Period
    due: date | None
    issuer: str  # 大同市应急管理局
    lines: list[UnitLine]
    made_at: datetime = field(default_factory=datetime.now)

    @property
    def submitted(self) -> list[UnitLine]:
        return [ln for ln in self.lines if ln.submitted]

    @property
    def missing(self) -> list[Unit]:
        """Asked, and nothing came (a workbook sent back is ``returned``, not missing)."""
        return [ln.unit for ln in self.lines if not ln.submitted and ln.expected and not ln.returned]

    @property
    def returned(self) -> list[UnitLine]:
        return [ln for ln in self.lines if ln.returned]

    @property
    def incomplete(self) -> list[Unit]:
        """Units asked whose numbers are not in this aggregate: not reported, or sent back."""
        return [ln.unit for ln in self.lines if not ln.submitted and ln.expected]

    @property
    def late(self) -> list[UnitLine]:
        return [ln for ln in self.lines if ln.late]

    @property
    def expected_count(self) -> int:
        return sum(1 for ln in self.lines if ln.expected)

    def totals(self) -> dict[str, int]:
        """Per count column, the sum over submitted units; multi-row tables: the number of rows."""
        if not self.table.per_unit:
            return {"rows": sum(len(ln.rows) for ln in self.submitted)}
        return {c.key: sum(int(ln.values.get(c.key) or 0) for ln in self.submitted) for c in self.table.counts}

    def rate(self, r: Rate, values: dict[str, Any] | None = None) -> float | None:
        v = self.totals() if values is None else values
        num, den = v.get(r.numerator), v.get(r.denominator)
        if num is None or not den:
            return None
        return num / den

    def by_part(self) -> list[PartGroup]:
        """附件4: the problems grouped by manual part, in manual order."""
        groups = {p: PartGroup(p, []) for p in MANUAL_PARTS}
        for ln in self.submitted:
            for v in ln.rows:
                groups.setdefault(v.get("part") or "其他", PartGroup(v.get("part") or "其他", [])).items.append((ln.unit, v))
        return list(groups.values())

    def to_json(self) -> dict[str, Any]:
        t = self.table
        out: dict[str, Any] = {
            "table": t.no, "title": t.title_for(self.period), "period": str(self.period),
            "due": self.due.isoformat() if self.due else None, "expected": self.expected_count,
            "submitted": len(self.submitted), "missing": [u.name for u in self.missing],
            "returned": [{"unit": ln.unit.name, "received_at": ln.rejection.received_at.isoformat(timespec="seconds"),
                          "file": ln.rejection.stored_as, "reasons": ln.rejection.reasons}
                         for ln in self.returned if ln.rejection is not None],
            "late": [{"unit": ln.unit.name, "days": ln.late_days} for ln in self.late],
            "totals": self.totals(),
        }
        if t.rates:
            out["rates"] = {r.label: self.rate(r) for r in t.rates}
            out["units"] = [{"unit": ln.unit.name, "code": ln.unit.code, "submitted": ln.submitted,
                             **ln.values, **{r.label: self.rate(r, ln.values) for r in t.rates}}
                            for ln in self.lines if t.per_unit]
        if t.no == 4:
            out["parts"] = {g.part: {"total": g.count(), **{u: g.count(u) for u in USER_TYPES}} for g in self.by_part()}
        return out


def aggregate(ws: Workspace, table_no: int | str, period: Period | str, due: date | None = None) -> Aggregate:
    """Collect the current submissions of one table and period into one line per unit."""
    t = table(table_no)
    p = period if isinstance(period, Period) else Period.parse(period)
    everyone = units_for(ws.config)
    with stats_session(ws) as s:
        rnd = get_round(s, t.no, p)
        records = current(s, t.no, p)
        rejected = latest_rejections(s, t.no, p)
        asked = set(rnd.unit_codes) if rnd and rnd.unit_codes else {u.code for u in everyone}
        due = due or (rnd.due if rnd else None)
    by_code = {r.unit_code: r for r in records}
    lines = []
    for u in everyone:
        rec = by_code.pop(u.code, None)
        if u.code in asked or rec is not None:
            lines.append(_line(u, rec, due, u.code in asked, rejected.get(u.code)))
    for rec in by_code.values():  # a unit this workspace no longer lists (kept, never dropped)
        lines.append(_line(Unit(rec.unit_code, rec.unit_name, rec.unit_name), rec, due, False,
                           rejected.get(rec.unit_code)))
    return Aggregate(t, p, due, ws.config.name, lines)


def _line(u: Unit, rec: StatsRecord | None, due: date | None, expected: bool,
          rejection: StatsRejection | None) -> UnitLine:
    if rec is None:
        return UnitLine(u, expected=expected, rejection=rejection)
    if rejection is not None and rejection.received_at < rec.received_at:
        rejection = None  # a corrected workbook was accepted since
    late = (rec.received_at.date() - due).days if due else 0
    return UnitLine(u, list(rec.values), True, rec.received_at, max(late, 0), rec.version, list(rec.flags or []),
                    rec.source_name, expected, rejection)


# ---- the summary workbook -------------------------------------------------------------------


def _rate_columns(t: TableDef) -> list[Column]:
    group = "注册率" if t.no == 2 else "上报率"
    return [Column(f"rate:{r.label}", (group, r.label.removesuffix("注册率") or r.label) if len(t.rates) > 1
                   else (r.label,), ColType.TEXT, width=11) for r in t.rates]


def _remark_column() -> Column:
    return Column("remark", ("备注",), width=18)


def summary_columns(t: TableDef) -> list[Column]:
    if not t.per_unit:
        cols = [c for c in t.blank_columns]
        return cols if any(c.key == "seq" for c in cols) else [Column("seq", ("序号",), ColType.SEQ, width=6), *cols]
    data = [c for c in t.blank_columns if c.key != "remark"]
    return [*data, *_rate_columns(t), _remark_column()]


def write_xlsx(agg: Aggregate, out: Path) -> Path:
    from openpyxl import Workbook

    t = agg.table
    wb = Workbook()
    sh = wb.active
    sh.title = f"{t.label}汇总"
    cols = summary_columns(t)
    layout.write_title(sh, t.label, t.title_for(agg.period), len(cols))
    layout.write_fill_line(sh, agg.issuer, _zh_date(agg.made_at.date()), len(cols))
    first = layout.write_headers(sh, cols, agg.period)
    if t.per_unit:
        last = _unit_rows(sh, agg, cols, first)
    elif t.no == 4:
        last = _problem_rows(sh, agg, cols, first)
    else:
        last = _list_rows(sh, agg, cols, first)
    layout.style_body(sh, first, last, len(cols))
    layout.write_note(sh, last + 2, status_line(agg), len(cols))
    layout.page_setup(sh, landscape=len(cols) > 5)
    _status_sheet(wb.create_sheet("报送情况"), agg)
    if t.no == 4:
        _parts_sheet(wb.create_sheet("分部分统计"), agg)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(out)
    return out


def _unit_rows(sh: Worksheet, agg: Aggregate, cols: list[Column], r: int) -> int:
    from openpyxl.styles import Font

    rates = {f"rate:{x.label}": x for x in agg.table.rates}
    for ln in agg.lines:
        _row(sh, r, cols, ln.unit.name, ln.values, rates, agg, _remark(ln))
        r += 1
    _row(sh, r, cols, "合计", agg.totals(), rates, agg, f"已报{len(agg.submitted)}/{agg.expected_count}个单位")
    for c in sh[r]:
        c.font = Font(name=layout.BODY_FONT.name, size=12, bold=True)
    return r


def _row(sh: Worksheet, r: int, cols: list[Column], unit: str, values: dict[str, Any], rates: dict[str, Rate],
         agg: Aggregate, remark: str) -> None:
    for j, col in enumerate(cols, start=1):
        cell = sh.cell(r, j)
        if col.key == "unit":
            set_text(cell, unit)
        elif col.key in rates:
            v = agg.rate(rates[col.key], values) if values else None
            set_value(cell, v if v is not None else "—")
            cell.number_format = "0.0%"
        elif col.key == "remark":
            set_text(cell, remark)
        elif values:
            set_value(cell, values.get(col.key))
            if col.type is ColType.COUNT:
                cell.number_format = "0"


def _remark(ln: UnitLine) -> str:
    parts = []
    if ln.returned and ln.rejection is not None:
        parts.append(f"已退回：{ln.rejection.reason_text}")
    elif not ln.submitted:
        parts.append("未报送" if ln.expected else "")
    else:
        if ln.values.get("remark"):
            parts.append(str(ln.values["remark"]))
        if ln.late:
            parts.append(f"逾期{ln.late_days}天")
        if ln.version > 1:
            parts.append(f"第{ln.version}版")
        if not ln.expected:
            parts.append("非本次下发范围")
    return sentences(parts, end="")


def _item_row(sh: Worksheet, r: int, n: int, cols: list[Column], unit_name: str, v: dict[str, Any],
              align: Alignment | None = None) -> None:
    """One listed item (a contact, a problem): its number, its unit, then its own fields as text."""
    for j, col in enumerate(cols, start=1):
        cell = sh.cell(r, j)
        if col.key == "seq":
            cell.value = n
        elif col.key == "unit":
            set_text(cell, unit_name)
        else:
            set_text(cell, v.get(col.key))
            if align is not None:
                cell.alignment = align


def _list_rows(sh: Worksheet, agg: Aggregate, cols: list[Column], first: int) -> int:
    r, n = first, 0
    for ln in agg.submitted:
        for v in ln.rows:
            n += 1
            _item_row(sh, r, n, cols, ln.unit.name, v)
            r += 1
    return max(r - 1, first)


def _problem_rows(sh: Worksheet, agg: Aggregate, cols: list[Column], first: int) -> int:
    from openpyxl.styles import Font

    r, n = first, 0
    for g in agg.by_part():
        if not g.items:
            continue
        set_text(sh.cell(r, 1), f"{g.part}（{g.count()}条：企业{g.count('企业')}条，政务人员{g.count('政务人员')}条）")
        sh.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(cols))
        sh.cell(r, 1).font = Font(name="黑体", size=11)
        r += 1
        for unit, v in g.items:
            n += 1
            _item_row(sh, r, n, cols, unit.name, v, align=layout.LEFT)
            r += 1
    return max(r - 1, first)


def _status_sheet(sh: Worksheet, agg: Aggregate) -> None:
    headers = ("单位", "报送情况", "收到时间", "截止日期", "逾期天数", "版本", "提示", "文件")
    sh.append(headers)
    for c in sh[1]:
        c.font, c.fill, c.border, c.alignment = layout.HEADER_FONT, layout.HEADER_FILL, layout.BOX, layout.CENTER
    for ln in agg.lines:
        when = ln.received_at or (ln.rejection.received_at if ln.returned and ln.rejection else None)
        source = ln.source or (ln.rejection.stored_as if ln.returned and ln.rejection else "")
        row = [ln.unit.name, ln.state, when.strftime("%Y-%m-%d %H:%M") if when else "",
               agg.due.isoformat() if agg.due else "", ln.late_days or "", ln.version or "",
               sentences([*(f.get("message", "") for f in ln.flags),
                          *([f"已退回：{ln.rejection.reason_text}"] if ln.rejection else [])], end=""), source]
        append_row(sh, row)
    for letter, w in zip("ABCDEFGH", (14, 10, 18, 12, 9, 6, 50, 40), strict=True):
        sh.column_dimensions[letter].width = w


def _parts_sheet(sh: Worksheet, agg: Aggregate) -> None:
    sh.append(["手册部分", *USER_TYPES, "合计"])
    for g in agg.by_part():
        append_row(sh, [g.part, *(g.count(u) for u in USER_TYPES), g.count()])
    groups = agg.by_part()
    sh.append(["合计", *(sum(g.count(u) for g in groups) for u in USER_TYPES), sum(g.count() for g in groups)])
    sh.column_dimensions["A"].width = 48


def status_line(agg: Aggregate) -> str:
    """What is true of this round, with its counts: never "均在…前报送" while units are still missing."""
    due = f"，应于{_zh_date(agg.due)}前报送" if agg.due else ""
    s = (f"报送情况：应报{agg.expected_count}个单位{due}；已报{len(agg.submitted)}个，"
         f"未报{len(agg.missing)}个，已退回{len(agg.returned)}个。")
    if agg.missing:
        s += f"未报送：{'、'.join(u.name for u in agg.missing)}。"
    if agg.returned:
        s += f"已退回（待重新报送）：{'、'.join(ln.unit.name for ln in agg.returned)}。"
    if agg.late:
        s += f"逾期报送：{'、'.join(f'{ln.unit.name}（{ln.late_days}天）' for ln in agg.late)}。"
    elif agg.due and agg.submitted:
        s += "已报的均未逾期。"
    return s


def _zh_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


# ---- the one-page PDF report ----------------------------------------------------------------


def chart_svg(agg: Aggregate) -> str:
    t = agg.table
    if t.no == 4:
        groups = agg.by_part()
        return bar_chart([g.part.split("：")[0] for g in groups],
                         [Series(u, [g.count(u) for g in groups]) for u in USER_TYPES], percent=False)
    if t.per_unit:
        lines = agg.lines
        return bar_chart([ln.unit.name for ln in lines],
                         [Series(r.label, [agg.rate(r, ln.values) if ln.submitted else None for ln in lines])
                          for r in t.rates])
    lines = agg.lines
    return bar_chart([ln.unit.name for ln in lines], [Series("联络人数", [len(ln.rows) if ln.submitted else None
                                                                         for ln in lines])], percent=False)


def report_html(agg: Aggregate) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["j2", "html"]),
                      finalize=finalize)
    t = agg.table
    totals = agg.totals()
    return env.get_template("report.html.j2").render(
        agg=agg, t=t, title=t.title_for(agg.period), period=agg.period.label_zh, made=_zh_date(agg.made_at.date()),
        due=_zh_date(agg.due) if agg.due else "", chart=Markup(chart_svg(agg)),
        totals=[(c.leaf, totals.get(c.key, 0)) for c in t.counts] if t.per_unit else [("条目数", totals["rows"])],
        rates=[(r.label, agg.rate(r)) for r in t.rates], missing=[u.name for u in agg.missing],
        returned=[(ln.unit.name, ln.rejection.reason_text if ln.rejection else "") for ln in agg.returned],
        partial=[u.name for u in agg.incomplete],
        late=[(ln.unit.name, ln.received_at, ln.late_days) for ln in agg.late],
        parts=agg.by_part() if t.no == 4 else [], status=status_line(agg),
    )


def write_pdf(agg: Aggregate, out: Path) -> Path:
    """The one-page report, as PDF/A like every PDF the engine files (the archive's 四性检测 checks it)."""
    from weasyprint import HTML

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.pdf")
    HTML(string=report_html(agg), base_url=str(Path(__file__).parent)).write_pdf(tmp, pdf_variant=ARCHIVE_PDF_VARIANT)
    tmp.replace(out)
    return out


def write_aggregate(agg: Aggregate, out: Path, pdf: bool = True) -> tuple[Path, Path | None]:
    """``FILE.xlsx`` and, beside it, ``FILE.pdf``."""
    xlsx = write_xlsx(agg, out.with_suffix(".xlsx"))
    return xlsx, (write_pdf(agg, out.with_suffix(".pdf")) if pdf else None)


def incomplete_finding(agg: Aggregate) -> Finding | None:
    """Why this aggregate is not the whole picture (units not reported, or sent back), or None."""
    if not agg.incomplete:
        return None
    parts = []
    if agg.missing:
        parts.append(f"未报送：{'、'.join(u.name for u in agg.missing)}")
    returned = [ln for ln in agg.returned if ln.expected]
    if returned:
        parts.append(f"已退回待重报：{'、'.join(ln.unit.name for ln in returned)}")
    return error(StatsCode.INCOMPLETE,
                 f"应报{agg.expected_count}个单位，只收到{len(agg.submitted)}个（{'；'.join(parts)}）。"
                 "这份汇总不完整：等各单位报齐后再归档；确需先归档不完整的汇总，请加 --partial。",
                 f"{agg.table.label} {agg.period}")


def file_report(ws: Workspace, agg: Aggregate, paths: list[Path], actor: str | None = None, *,
                partial: bool = False) -> list[Any]:
    """File the summary workbook and PDF in the archive (form type ``stats_report``); returns the archive rows.

    A later aggregate of the same table and period becomes the next version of the same item.
    An incomplete aggregate (``incomplete_finding``) is filed only with ``partial=True``, and then
    carries the flag ``partial`` and says so in its title; otherwise ``RuqiError`` (nothing filed).
    """
    gap = incomplete_finding(agg)
    if gap is not None and not partial:
        raise RuqiError(gap)
    title = f"{agg.issuer}{agg.period.label_zh}{agg.table.title_for(agg.period)}汇总"
    if gap is not None:
        title += f"（不完整：已报{len(agg.submitted)}/{agg.expected_count}个单位）"
    return [file_item(ws, p, ItemMeta(form_type=FormType.STATS_REPORT, title=title, responsible=agg.issuer,
                                      date=agg.made_at.date(), year=agg.period.year, original_name=p.name,
                                      flags=[PARTIAL_FLAG] if gap is not None else [],
                                      extra={"table": agg.table.no, "period": str(agg.period),
                                             "submitted": [ln.unit.code for ln in agg.submitted],
                                             "missing": [u.code for u in agg.missing],
                                             "returned": [ln.unit.code for ln in agg.returned],
                                             "partial": gap is not None}), actor=actor)
            for p in paths]
