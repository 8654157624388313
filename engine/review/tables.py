"""The review list as plain tables (title, headers, rows): one shape for Excel, the terminal and the PDF.

Each section of a ``Review`` becomes a ``Table`` whose cells are str, int, date or None.  Text that
came from outside (enterprise names, reasons, file names) stays a plain string here; the writers
decide how to keep it inert (see ``engine.xlsx_safe``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ..forms import NO, YES, FormType
from ..readback.common import ReadMethod
from ..readings import ReadBy
from .collect import COUNTED_WHEN_VOIDED, Review, SuspectCard, Tally
from .counts import count_rows, counts_of
from .model import CARD_STATE_ZH, FLAG_ZH, Entry, ReviewFlag

Cell = str | int | date | datetime | None


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    width: int = 12  # Excel column width (characters)


@dataclass(frozen=True, slots=True)
class Table:
    key: str  # stable id: violations, cards, over_cap, suspects, mismatches, voided, by_county, by_inspector
    title: str  # sheet name / heading (≤ 31 characters for Excel)
    columns: tuple[Column, ...]
    rows: list[list[Cell]]
    empty_text: str = "无"

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


def _cols(*spec: tuple[str, int]) -> tuple[Column, ...]:
    return tuple(Column(h, w) for h, w in spec)


def members(e: Entry) -> str:
    return "、".join(e.team.members)


def flags_zh(e: Entry) -> str:
    return "、".join(FLAG_ZH[f] for f in e.flags)


def violations_table(r: Review) -> Table:
    cols = _cols(("检查编号", 18), ("企业名称", 30), ("统一社会信用代码", 21), ("县区", 10), ("检查类别", 10),
                 ("开始日期", 12), ("结束日期", 12), ("组长", 10), ("成员", 20), ("专家", 14), ("回答“是”的题号", 12),
                 ("问题内容", 60), ("收到日期", 12), ("此前版本答“是”、现已改答的题号", 14), ("改答的问题内容", 50))
    rows: list[list[Cell]] = []
    for v in r.violations:
        e = v.entry
        rows.append([e.serial, e.enterprise, e.uscc, e.county, e.kind, e.start, e.end, e.team.leader, members(e),
                     "、".join(e.team.experts), "、".join(str(q) for q in v.questions), "\n".join(v.texts),
                     e.card_received_at.date() if e.card_received_at else None,
                     "、".join(str(q) for q in v.withdrawn), "\n".join(v.withdrawn_texts)])
    return Table("violations", "反馈“是”", cols, rows)


def cards_table(r: Review) -> Table:
    cols = _cols(("检查编号", 18), ("企业名称", 30), ("县区", 10), ("检查类别", 10), ("结束日期", 12),
                 ("应交回日期", 12), ("状态", 16), ("逾期天数", 9), ("收到日期", 12), ("组长", 10), ("成员", 20))
    rows: list[list[Cell]] = []
    for c in r.cards:
        e = c.entry
        rows.append([e.serial, e.enterprise, e.county, e.kind, e.end, e.due, CARD_STATE_ZH[c.state],
                     c.days_late or None,
                     e.card_received_at.date() if e.card_received_at else None, e.team.leader, members(e)])
    return Table("cards", "反馈卡未交回、逾期或提前交回", cols, rows)


def over_cap_table(r: Review) -> Table:
    cols = _cols(("检查编号", 18), ("企业名称", 30), ("统一社会信用代码", 21), ("县区", 10), ("行业", 10), ("等级", 8),
                 ("检查类别", 10), ("开始日期", 12), ("本年度本类第几次", 10), ("年度上限", 9), ("上限依据", 40),
                 ("是否经批准超次数", 10), ("超次数理由", 40), ("登记人", 10), ("组长", 10), ("成员", 20))
    rows: list[list[Cell]] = []
    for o in r.over_cap:
        e = o.entry
        rows.append([e.serial, e.enterprise, e.uscc, e.county, e.industry, e.grade, e.kind, e.start, e.visit_kind,
                     o.cap, o.rule, YES if o.approved else f"{NO}（未经 --allow-over-cap 批准）", o.reason, e.actor,
                     e.team.leader, members(e)])
    return Table("over_cap", "超次数检查", cols, rows)


def _suspect_row(c: SuspectCard) -> list[Cell]:
    d = c.document
    return [c.received_at.date() if c.received_at else None, c.serial or "（无法识别）", c.enterprise,
            c.entry.enterprise if c.entry else "", c.county, c.reasons_zh, c.note,
            d.archival_code if d else "", d.original_name if d else ""]


def suspects_table(r: Review) -> Table:
    cols = _cols(("收到日期", 12), ("卡上检查编号", 18), ("卡上企业", 30), ("登记企业", 30), ("县区", 10), ("可疑原因", 24),
                 ("说明", 40), ("档号", 26), ("原文件名", 30))
    return Table("suspects", "可疑反馈卡", cols, [_suspect_row(c) for c in r.suspects])




def _printed_dates(c: SuspectCard) -> str:
    dates = c.document.extra.get("printed_dates") if c.document else None
    if not (isinstance(dates, list) and len(dates) == 2):
        return "（读不出）"
    return dates[0] if dates[0] == dates[1] else f"{dates[0]} 至 {dates[1]}"


def _qr_missing_row(c: SuspectCard) -> list[Cell]:
    d, e = c.document, c.entry
    registered = "" if e is None else cell_text(e.start) + ("" if e.end == e.start else f" 至 {cell_text(e.end)}")
    method = ReadMethod.label(str(d.extra.get("read_method") or "")) if d else ""
    verdict = f"可疑：{c.reasons_zh}" if c.reasons else "企业名称、检查日期与台账一致"
    return [c.received_at.date() if c.received_at else None, c.serial or "（无法识别）", c.enterprise,
            e.enterprise if e else "", c.county, _printed_dates(c), registered, method, verdict,
            d.archival_code if d else "", d.original_name if d else ""]


def qr_missing_table(r: Review) -> Table:
    """Cards tied to their inspection only by the printed serial: the QR was removed, unreadable or not ours."""
    cols = _cols(("收到日期", 12), ("卡上检查编号", 18), ("卡上企业", 30), ("登记企业", 30), ("县区", 10),
                 ("卡上检查日期", 22), ("登记检查日期", 22), ("文件类型", 12), ("核对结果", 30), ("档号", 26),
                 ("原文件名", 30))
    return Table("qr_missing", "无可核验二维码的反馈卡", cols, [_qr_missing_row(c) for c in r.qr_missing])


def mismatches_table(r: Review) -> Table:
    cols = _cols(("检查编号", 18), ("企业名称", 30), ("县区", 10), ("检查类别", 10), ("开始日期", 12),
                 ("登记：本年度第N次", 12), ("卡上：第N次", 10), ("按日期应为第N次", 12), ("登记：本类第M次", 12),
                 ("卡上：第M次", 10), ("按日期应为第M次", 12), ("原因", 60))
    rows: list[list[Cell]] = []
    for m in r.mismatches:
        e = m.entry
        rows.append([e.serial, e.enterprise, e.county, e.kind, e.start, e.visit_total, m.stated_total,
                     m.expected_total, e.visit_kind, m.stated_kind, m.expected_kind, m.explanation])
    return Table("mismatches", "检查次数与台账不符", cols, rows)


def voided_table(r: Review) -> Table:
    cols = _cols(("检查编号", 18), ("企业名称", 30), ("统一社会信用代码", 21), ("县区", 10), ("检查类别", 10),
                 ("开始日期", 12), ("结束日期", 12), ("组长", 10), ("成员", 20), ("登记人", 10), ("登记时间", 16),
                 ("作废时间", 16), ("作废人", 10), ("作废理由", 40), ("反馈卡", 24), ("已归档文书档号", 40))
    rows: list[list[Cell]] = []
    for x in r.voided:
        e = x.entry
        card = f"{e.card_received_at:%Y-%m-%d} 收到" if e.card_received_at else "未交回"
        if e.yes_questions:
            card += f"，反馈“是”：第{'、'.join(map(str, e.yes_questions))}题（已{COUNTED_WHEN_VOIDED}）"
        rows.append([e.serial, e.enterprise, e.uscc, e.county, e.kind, e.start, e.end, e.team.leader, members(e),
                     e.actor, x.registered_at, x.voided_at, x.voided_by, x.reason, card,
                     "\n".join(d.archival_code for d in e.documents)])
    return Table("voided", "已作废的检查", cols, rows)


def readers_table(r: Review) -> Table:
    """Every returned card: read by the machine, by a person (who), or still waiting (how long)."""
    cols = _cols(("检查编号", 18), ("企业名称", 30), ("县区", 10), ("收到日期", 12), ("识读方式", 12), ("等待天数", 9),
                 ("录入人", 14), ("反馈卡档号", 26))
    rows: list[list[Cell]] = []
    for c in sorted(r.readers, key=lambda c: (list(ReadBy).index(c.read_by) * -1, -c.days_waiting, c.entry.serial)):
        e = c.entry
        card = max((d for d in e.documents if d.form_type == FormType.CARD_RETURNED), key=lambda d: d.item_id, default=None)
        rows.append([e.serial, e.enterprise, e.county, e.card_received_at.date() if e.card_received_at else None,
                     c.read_by.zh, c.days_waiting if c.read_by is ReadBy.WAITING else None, "、".join(c.people),
                     card.archival_code if card else ""])
    return Table("readers", "反馈卡识读方式", cols, rows)


def corrections_table(r: Review) -> Table:
    """Answers a person changed after they were read (machine or person), with the reason."""
    cols = _cols(("更正时间", 16), ("检查编号", 18), ("企业名称", 30), ("题号", 6), ("原答案", 8), ("更正为", 8),
                 ("更正人", 10), ("理由", 40), ("反馈卡档号", 26))
    rows: list[list[Cell]] = [[c.at, c.serial, c.enterprise, c.question, c.before or "（未识读）", c.after, c.by, c.reason,
                               c.archival_code] for c in r.corrections]
    return Table("corrections", "反馈卡答案的人工更正", cols, rows)


TALLY_COLUMNS = (("检查次数", 9), ("已交回", 8), ("未交回（期限内）", 10), ("逾期未交回", 10), ("逾期交回", 9),
                 ("提前交回", 9), ("待人工核对", 9), ("反馈“是”的检查", 10), ("“是”题数", 8), ("超次数", 8), ("可疑反馈卡", 10), ("次数不符", 8),
                 ("需关注的检查", 10))


def _tally_cells(t: Tally) -> list[Cell]:
    return [t.inspections, t.received, t.missing, t.overdue, t.late, t.early, t.unread, t.violations, t.yes_answers, t.over_cap,
            t.suspect, t.mismatches, t.flagged]


def by_county_table(r: Review) -> Table:
    cols = _cols(("县区", 12), *TALLY_COLUMNS)
    return Table("by_county", "按县区统计", cols, [[t.name, *_tally_cells(t)] for t in r.by_county])


def by_inspector_table(r: Review) -> Table:
    cols = _cols(("检查人员", 12), ("任组长", 8), ("任成员", 8), *TALLY_COLUMNS)
    return Table("by_inspector", "按检查人员统计", cols,
                 [[t.name, t.as_leader, t.as_member, *_tally_cells(t)] for t in r.by_inspector])


def sections(r: Review) -> list[Table]:
    """The review list, in the order a reviewer reads it."""
    shared = register_table(r)
    return [violations_table(r), cards_table(r), corrections_table(r), over_cap_table(r), suspects_table(r),
            qr_missing_table(r), mismatches_table(r), *([shared] if shared.rows else []), voided_table(r),
            readers_table(r), by_county_table(r),
            by_inspector_table(r)]


def summary_rows(r: Review) -> list[tuple[str, int]]:
    """The headline counts of the summary page and sheet."""
    return count_rows(counts_of(r))


def register_table(r: Review) -> Table:
    """Visits of a 县 bureau outside its county (with the approved reason), and visits recorded offline
    that the shared register found over the cap when they were pushed."""
    cols = _cols(("检查编号", 18), ("企业名称", 30), ("统一社会信用代码", 21), ("县区", 10), ("检查类别", 10),
                 ("开始日期", 12), ("组长", 10), ("情况", 20), ("说明", 60))
    rows: list[list[Cell]] = []
    for e in r.entries:
        if ReviewFlag.CROSS_COUNTY in e.flags:
            rows.append([e.serial, e.enterprise, e.uscc, e.county, e.kind, e.start, e.team.leader,
                         FLAG_ZH[ReviewFlag.CROSS_COUNTY], f"跨县区事由：{e.cross_reason}"])
        if ReviewFlag.SYNC_OVER_CAP in e.flags:
            rows.append([e.serial, e.enterprise, e.uscc, e.county, e.kind, e.start, e.team.leader,
                         FLAG_ZH[ReviewFlag.SYNC_OVER_CAP], e.register_note])
    return Table("register", "跨县区检查和补报时超上限", cols, rows)


def cell_text(v: Cell) -> str:
    """How a cell reads on screen and in the PDF."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d %H:%M}"
    if isinstance(v, date):
        return f"{v:%Y-%m-%d}"
    return str(v)


def text_rows(t: Table) -> list[list[str]]:
    return [[cell_text(c) for c in row] for row in t.rows]


def pick(t: Table, headers: Sequence[str]) -> Table:
    """The same table with only some columns (the terminal is narrower than a sheet)."""
    idx = [t.headers.index(h) for h in headers]
    return Table(t.key, t.title, tuple(t.columns[i] for i in idx), [[row[i] for i in idx] for row in t.rows],
                 t.empty_text)
