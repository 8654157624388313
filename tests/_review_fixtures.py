"""A realistic month of inspections for the review tests, with every kind of problem planted.

``register_month`` records June 2025 for 大同市应急管理局 straight into the register (fast: no
rendering) and sets card states as the inbox would; ``Planted`` says exactly what was planted so
tests compare whole lists.  Serials follow recording order: 140200-2025-0001 … .
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from engine import register
from engine.db import session
from engine.identifiers import make_uscc
from engine.inspection import Inspection
from engine.workspace import Workspace

TODAY = date(2025, 6, 30)
JUNE = (date(2025, 6, 1), date(2025, 6, 30))

COUNTIES = (("平城区", "140213"), ("云州区", "140215"), ("新荣区", "140212"), ("阳高县", "140221"), ("浑源县", "140225"))
LEADERS = ("张建国", "王海涛", "刘晓东", "陈志强")
MEMBERS = ("李明", "王芳", "赵强", "孙丽", "周杰", "吴磊")


@dataclass(frozen=True, slots=True)
class Firm:
    name: str
    uscc: str
    county: str
    code: str
    industry: str
    grade: str


def _firm(i: int, name: str, industry: str, grade: str) -> Firm:
    county, code = COUNTIES[i % len(COUNTIES)]
    return Firm(name, make_uscc(f"911402{code[-2:]}MA0K{i:05d}"), county, code, industry, grade)


FIRMS: tuple[Firm, ...] = (
    _firm(0, "大同市平城区恒泰机械制造有限公司", "非高危行业", "三级"),
    _firm(1, "大同市云州区鑫源铁矿", "非煤矿山", "D"),
    _firm(2, "大同市新荣区=HYPERLINK(\"http://x\")煤业有限公司", "煤矿", "B"),  # hostile name from a registry
    _firm(3, "阳高县华鑫化工有限公司", "危险化学品", "三级"),
    _firm(4, "浑源县金利达冶炼有限公司", "金属冶炼", "三级"),
    _firm(5, "+大同市同昌物流有限公司", "非高危行业", "未定级"),
    _firm(6, "大同市云州区晋北矿业有限公司", "非煤矿山", "A"),  # cap 1 执法检查
    _firm(7, "-大同新荣建材有限公司", "非高危行业", "一级"),  # cap 1 执法检查
    _firm(8, "@阳高县三友食品有限公司", "非高危行业", "二级"),
    _firm(9, "浑源县恒安煤矿", "煤矿", "C"),
)


def _insp(f: Firm, kind: str, start: date, days: int, leader: str, members: list[str]) -> Inspection:
    return Inspection(f.name, f.uscc, f.county, f.code, f.industry, f.grade, kind, "《2025年度安全生产监督检查计划》",
                      start, start + timedelta(days=days - 1), leader, members, ["专家甲"], content="安全生产")


@dataclass(slots=True)
class Planted:
    """What ``register_month`` planted, by serial (June only unless said otherwise)."""

    june: list[str] = field(default_factory=list)  # every inspection starting in June, serial order
    yes: dict[str, list[int]] = field(default_factory=dict)  # serial → questions answered 是
    late: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # ended, not back, still within the deadline
    not_due: list[str] = field(default_factory=list)
    overrides: dict[str, str] = field(default_factory=dict)  # serial → reason
    unapproved_over_cap: list[str] = field(default_factory=list)
    team: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    county: dict[str, str] = field(default_factory=dict)
    firm: dict[str, Firm] = field(default_factory=dict)
    outside: list[str] = field(default_factory=list)  # May and July inspections

    @property
    def flagged(self) -> list[str]:
        s = {*self.yes, *self.late, *self.overdue, *self.missing, *self.overrides, *self.unapproved_over_cap}
        return [x for x in self.june if x in s]


def _answers(yes: list[int]) -> dict[str, str | None]:
    return {str(i): ("是" if i in yes else "否") for i in range(1, 11)}


def register_month(ws: Workspace) -> Planted:
    p = Planted()
    with session(ws) as s:

        def rec(f: Firm, kind: str, start: date, days: int = 1, k: int = 0, over: str = "") -> str:
            leader = LEADERS[k % len(LEADERS)]
            members = [MEMBERS[k % len(MEMBERS)], MEMBERS[(k + 2) % len(MEMBERS)]]
            r = register.record(s, _insp(f, kind, start, days, leader, members), "140200", over_cap=bool(over),
                                override_reason=over, issue_date=start - timedelta(days=2), actor="clerk")
            serial = r.visit.serial
            if date(2025, 6, 1) <= start <= date(2025, 6, 30):
                p.june.append(serial)
                p.team[serial] = (leader, members)
                p.county[serial] = f.county
                p.firm[serial] = f
            else:
                p.outside.append(serial)
            if over:
                p.overrides[serial] = over
            return serial

        def card(serial: str, received: date, yes: list[int] | None = None, late: bool = False) -> None:
            v = register.by_serial(s, serial)
            v.card_status = "received"
            v.card_received_at = datetime.combine(received, datetime.min.time()).replace(hour=10)
            v.card_version = 1
            v.card_answers = _answers(yes or [])
            v.card_flags = (["VIOLATION"] if yes else []) + (["LATE"] if late else [])

        # May: first 执法检查 for the two cap-1 firms (outside the June selection).
        rec(FIRMS[6], "执法检查", date(2025, 5, 12))
        rec(FIRMS[7], "执法检查", date(2025, 5, 20), k=1)
        # June: 36 inspections, roughly daily, spread over five counties and four teams.
        kinds = ("执法检查", "执法检查", "督导检查", "执法检查", "调查核查", "执法检查")
        regular = [0, 1, 2, 3, 4, 5, 8, 9]
        serials: list[str] = []
        for n in range(32):
            f = FIRMS[regular[n % len(regular)]]
            start = date(2025, 6, 2) + timedelta(days=(n * 28) // 32)
            serials.append(rec(f, kinds[n % len(kinds)], start, days=1 + n % 2, k=n))
        # Overrides: a second 执法检查 for each cap-1 firm, approved with a reason.
        serials.append(rec(FIRMS[6], "执法检查", date(2025, 6, 16), k=5, over="群众举报涉嫌超层越界开采，经局长批准"))
        serials.append(rec(FIRMS[7], "执法检查", date(2025, 6, 18), k=6, over="=cmd|' /C calc'!A0 事故调查需要"))
        # Beyond the cap without an override (register written outside `ruqi generate`).
        unapproved = rec(FIRMS[7], "执法检查", date(2025, 6, 25), k=7)
        serials.append(unapproved)
        p.unapproved_over_cap.append(unapproved)
        serials.append(rec(FIRMS[3], "督导检查", date(2025, 6, 30), k=8))  # still going on today
        # July: outside the selection.
        rec(FIRMS[0], "执法检查", date(2025, 7, 3), k=3)

        yes_plan = {3: [2], 11: [3, 4], 20: [10], 27: [1, 5, 9]}
        late_plan = {5: 6, 14: 4, 20: 5}  # index → days after the deadline the card came
        overdue_plan = {1, 8, 17, 33}  # index into serials: no card, deadline passed
        for idx, serial in enumerate(serials):
            v = register.by_serial(s, serial)
            due = v.end + timedelta(days=ws.config.late_days)
            if v.end >= TODAY:
                p.not_due.append(serial)
            elif idx in overdue_plan or (due >= TODAY and idx % 2 == 0):
                if due < TODAY:
                    p.overdue.append(serial)
                else:
                    p.missing.append(serial)
            elif idx in late_plan:
                card(serial, due + timedelta(days=late_plan[idx]), yes_plan.get(idx), late=True)
                p.late.append(serial)
            else:
                card(serial, min(v.end + timedelta(days=idx % 3), TODAY), yes_plan.get(idx))
            if idx in yes_plan and serial not in p.overdue + p.missing + p.not_due:
                p.yes[serial] = yes_plan[idx]
    assert p.overdue and p.missing and p.not_due and p.late and len(p.yes) == 4
    return p


# ---- the archive as generate and the inbox leave it ------------------------------------------


def small_pdf(label: str) -> bytes:
    """A real one-page PDF whose bytes differ per label (so byte-identical copies are checkable)."""
    import io

    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(595, 842)
    w.add_metadata({"/Title": label})
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@dataclass(slots=True)
class Filed:
    """What ``file_month`` put in the archive beyond the generated forms."""

    suspect_orphan: str = ""  # 档号 of the card whose serial matches nothing
    suspect_known: str = ""  # serial whose card names another enterprise
    mismatch: dict[str, tuple[int, int]] = field(default_factory=dict)  # serial → (N, M) stated on the card
    withdrawn: dict[str, list[int]] = field(default_factory=dict)  # serial → 是 on v1, gone on v2
    codes: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # serial → form type → 档号s


def file_month(ws: Workspace, p: Planted) -> Filed:
    """File the three generated forms of every visit and the returned card of every received one,
    as ``ruqi generate`` and ``ruqi ingest`` do, plus a few returns the 纪委 must look at."""
    from engine.archive import ItemMeta, file_item

    out = Filed()
    with session(ws) as s:
        visits = [(v.serial, v.enterprise, v.uscc, v.county, v.year, v.issue_date, v.card_received_at,
                   dict(v.card_answers or {}), list(v.card_flags or []), v.visit_total, v.visit_kind)
                  for v in s.scalars(select(register.Visit).order_by(register.Visit.seq))]
    received = [v for v in visits if v[6] is not None]
    out.mismatch = {received[2][0]: (received[2][9] + 2, received[2][10] + 1)}
    out.suspect_known = received[4][0]
    out.withdrawn = {received[6][0]: [6]}

    def put(serial: str, ent: str, uscc: str, county: str, year: int, form: str, when: date, **kw) -> str:  # type: ignore[no-untyped-def]
        row = file_item(ws, small_pdf(f"{serial} {form} {kw.get('extra', {})}"), ItemMeta(
            form_type=form, title=f"{ent}{form}", responsible=ws.config.name, date=when, year=year, serial=serial,
            enterprise=ent, uscc=uscc, county=county, original_name=f"{serial}_{form}.pdf", **kw), actor="clerk")
        out.codes.setdefault(serial, {}).setdefault(form, []).append(row.archival_code)
        return row.archival_code

    for serial, ent, uscc, county, year, issue, got, answers, flags, n, m in visits:
        for form in ("notice", "notice_board", "card_generated"):
            put(serial, ent, uscc, county, year, form, issue)
        if got is None:
            continue
        stated = out.mismatch.get(serial, (n, m))
        extra = {"answers": answers, "stated_visit_total": stated[0], "stated_visit_kind": stated[1],
                 "serial_read": serial, "codes": []}
        if serial in out.withdrawn:
            first = {k: ("是" if int(k) in out.withdrawn[serial] else a) for k, a in answers.items()}
            put(serial, ent, uscc, county, year, "card_returned", got.date(), received_at=got - timedelta(hours=2),
                flags=["VIOLATION"], extra=extra | {"answers": first})
        if serial == out.suspect_known:
            flags = [*flags, "SUSPECT"]
            extra = extra | {"enterprise_read": "大同市某某冒名公司", "codes": ["ENTERPRISE_MISMATCH"]}
        put(serial, ent, uscc, county, year, "card_returned", got.date(), received_at=got, flags=flags, extra=extra)
    when = datetime(2025, 6, 20, 9, 30)
    row = file_item(ws, small_pdf("orphan"), ItemMeta(
        form_type="other", title="未知单位入企检查监督反馈卡（交回）", responsible="未知单位", date=when.date(), year=2025,
        original_name="反馈卡.pdf", flags=["SUSPECT"], received_at=when,
        extra={"serial_read": "140200-2025-9999", "enterprise_read": "=HYPERLINK(\"http://evil\")某公司",
               "codes": ["QR_SIGNATURE_INVALID", "SERIAL_UNKNOWN"]}), actor="clerk")
    out.suspect_orphan = row.archival_code
    return out
