"""The stored review rows (``engine.review.stored``) say exactly what a full Python build of the review
says, after every kind of change that moves a finding: a visit recorded (approved over the cap or not,
dated before visits already printed), a visit voided, a card filed (是, late, early, unread, a second
version taking a 是 back), a card confirmed and an answer corrected, a loose card tied to an inspection,
a suspect or QR-less card filed, visits made outside ruqi imported, the shared register's verdicts,
and the day moving forward and back across due days.  After each, the 首页's figures, the 审查
counts and every filter (each kind of finding, an inspector, the cards back) are compared with
``counts_of(build_review(…))`` and ``select_entries``."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _review_fixtures import FIRMS, LEADERS, MEMBERS, TODAY, _insp, file_month, register_month, small_pdf
from openpyxl import Workbook
from sqlalchemy import select, text

from engine import readings, register
from engine.archive import ItemMeta, file_item
from engine.confirm import confirm
from engine.db import get_engine, session
from engine.inbox import Flag, Status, refresh_visit
from engine.inbox.cards import RETURNED
from engine.overview import overview
from engine.register import RegisterState, Visit
from engine.register_import import import_visits
from engine.review import CardState, ReviewFlag, build_review, select_entries
from engine.review.counts import RECEIVED_STATES, ReviewCounts, counts_of
from engine.review.stored import ReviewDirty, ReviewRow, pending, refresh, stored_counts, stored_serials
from engine.void import void_visit
from engine.workspace import Workspace, init

SELECTIONS = [(None, None, None), (date(2025, 1, 1), date(2025, 12, 31), None),
              (date(2025, 6, 1), date(2025, 6, 30), None), (date(2025, 5, 1), date(2025, 7, 31), "平城区")]


def python_counts(ws: Workspace, date_from: date | None = None, date_to: date | None = None,
                  county: str | None = None, *, today: date) -> ReviewCounts:
    return counts_of(build_review(ws, date_from, date_to, county, today=today, read_cards=False))


def assert_agree(ws: Workspace, today: date, step: str) -> None:
    for sel in SELECTIONS:
        r = build_review(ws, *sel, today=today, read_cards=False)
        assert stored_counts(ws, *sel, today=today) == counts_of(r), (step, sel)
        for flag in [*ReviewFlag]:
            total, serials = stored_serials(ws, *sel, today=today, flag=flag)
            want = [e.serial for e in select_entries(r, flag=flag)]
            assert (total, serials) == (len(want), want), (step, sel, flag)
        for name in [*LEADERS[:2], *MEMBERS[:2]]:
            want = [e.serial for e in select_entries(r, inspector=name)]
            assert stored_serials(ws, *sel, today=today, inspector=name)[1] == want, (step, sel, name)
        want = [e.serial for e in select_entries(r, card_states=RECEIVED_STATES)]
        assert stored_serials(ws, *sel, today=today, card_states=RECEIVED_STATES)[1] == want, (step, sel)
    assert overview(ws, today) == overview(ws, today, counts=python_counts), step


# ---- the changes -------------------------------------------------------------------------------


class World:
    def __init__(self, ws: Workspace, rng: random.Random, tmp: Path):
        self.ws, self.rng, self.tmp, self.today = ws, rng, tmp, TODAY
        self.n = self.suspects = 0

    def live(self, *where: Any) -> list[Visit]:
        with session(self.ws) as s:
            return list(s.scalars(select(Visit).where(Visit.voided_at.is_(None), *where).order_by(Visit.serial)))

    def record(self) -> str:
        f = self.rng.choice(FIRMS)
        kind = self.rng.choice(("执法检查", "督导检查", "执法检查"))
        start = date(2025, 5, 1) + timedelta(days=self.rng.randrange(80))
        over = self.rng.random() < 0.3
        with session(self.ws) as s:
            k = self.rng.randrange(8)
            insp = _insp(f, kind, start, self.rng.choice((1, 2)), LEADERS[k % 4], [MEMBERS[k % 6], MEMBERS[(k + 3) % 6]])
            if s.scalar(select(Visit.id).where(Visit.uscc == insp.uscc, Visit.kind == kind, Visit.start == start,
                                                Visit.voided_at.is_(None))) is not None:
                return "record: already there"
            r = register.record(s, insp, "140200", over_cap=over, override_reason="局长批准" if over else "",
                                issue_date=start - timedelta(days=2), actor="clerk")
            return f"record {r.visit.serial} {start} over={over}"

    def void(self) -> str:
        v = self.rng.choice(self.live())
        assert void_visit(self.ws, v.serial, "误登记：测试", actor="管理员").ok
        return f"void {v.serial}"

    def card(self) -> str:
        v = self.rng.choice(self.live(Visit.end < self.today + timedelta(days=10)))
        answers: dict[str, str | None] = {str(q): "否" for q in range(1, 11)}
        for q in self.rng.sample(range(1, 11), self.rng.choice((0, 0, 1, 2))):
            answers[str(q)] = "是"
        unread = self.rng.random() < 0.25
        if unread:
            answers = {str(q): (None if q % 3 == 0 else a) for q, a in ((int(k), a) for k, a in answers.items())}
        days = self.rng.choice((-1, 0, 1, 2, 5, 9))
        received = datetime.combine(v.end + timedelta(days=days), datetime.min.time()).replace(hour=9)
        flags = ([Flag.VIOLATION] if "是" in answers.values() else []) + ([Flag.NEEDS_REVIEW] if unread else [])
        extra = {"kind": "feedback_card", "status": str(Status.NEEDS_REVIEW if unread else Status.FILED),
                 "answers": answers, "read_method": "pdf_form", "serial_read": v.serial,
                 "stated_visit_total": v.visit_total + (self.rng.random() < 0.15), "stated_visit_kind": v.visit_kind,
                 "codes": [], "errors": []}
        if self.rng.random() < 0.2:
            del extra["stated_visit_total"], extra["stated_visit_kind"]  # numbers not kept: cannot be checked
        self.n += 1
        with session(self.ws) as s:
            row = file_item(self.ws, small_pdf(f"card {v.serial} {self.n}"), ItemMeta(
                form_type=RETURNED, title=f"{v.enterprise}入企检查监督反馈卡（回收）", responsible=v.enterprise,
                date=received.date(), year=v.year, serial=v.serial, enterprise=v.enterprise, uscc=v.uscc,
                county=v.county, original_name=f"{v.serial}.pdf", flags=[str(f) for f in flags],
                received_at=received, extra=extra), actor="clerk", session=s)
            readings.record(s, row.id, readings.from_filed(row.id, extra).now, actor="clerk", at=received)
            visit = register.by_serial(s, v.serial)
            assert visit is not None
            refresh_visit(s, visit)
        return f"card {v.serial} +{days}d unread={unread}"

    def loose_card(self, flag: str, serial: str = "") -> int:
        self.n += 1
        when = datetime.combine(self.today - timedelta(days=self.rng.randrange(20)), datetime.min.time())
        row = file_item(self.ws, small_pdf(f"loose {self.n}"), ItemMeta(
            form_type="other", title="未知单位入企检查监督反馈卡（交回）", responsible="未知单位", date=when.date(),
            year=2025, original_name="反馈卡.pdf", flags=[flag], received_at=when, county=self.rng.choice(("平城区", "")),
            extra={"kind": "feedback_card", "serial_read": serial, "answers": {str(q): None for q in range(1, 11)},
                   "codes": ["ENTERPRISE_MISMATCH"] if serial else ["SERIAL_UNKNOWN"]}), actor="clerk")
        return row.id

    def suspect(self) -> str:
        self.suspects += 1
        known = self.suspects % 3 != 0
        serial = self.rng.choice(self.live()).serial if known else f"140200-2025-9{self.rng.randrange(999):03d}"
        self.loose_card(str(Flag.SUSPECT) if self.suspects % 2 else str(Flag.QR_MISSING), serial)
        return f"suspect card naming {serial}"

    def tie(self) -> str:
        item = self.loose_card(str(Flag.SUSPECT))
        with session(self.ws) as s:
            code = s.execute(text("SELECT archival_code FROM archive_items WHERE id = :i"), {"i": item}).scalar()
        v = self.rng.choice(self.live(Visit.end < self.today))
        res = confirm(self.ws, str(code), answers="否否是否否否否否否否", by="办事员小王", serial=v.serial,
                      now=datetime.combine(self.today, datetime.min.time()))
        return f"tie {code} → {v.serial}: {res.ok}"

    def reread_earlier(self) -> str:
        """A person's corrected reading of an earlier version of a card (the latest, which the register's
        card columns follow, is untouched): only the card's readings change."""
        with session(self.ws) as s:
            rows = s.execute(text("SELECT min(id), serial FROM archive_items WHERE form_type = :t AND serial <> '' "
                                  "GROUP BY serial HAVING count(*) > 1"), {"t": RETURNED}).all()
            if not rows:
                return "reread: no card with two versions"
            item, serial = self.rng.choice(rows)
            q = self.rng.randrange(1, 11)
            readings.record(s, item, readings.person_decisions({q: self.rng.choice(("是", "否"))}), actor="办事员小王",
                            at=datetime.combine(self.today, datetime.min.time()), reason="复核原件后更正")
        return f"reread {serial} v1 q{q}"

    def tie_only(self) -> str:
        """A loose card filed earlier (already in the stored rows) tied to an inspection: only the tie is written."""
        v = self.rng.choice(self.live(Visit.end < self.today))
        with session(self.ws) as s:
            loose = s.scalars(text("SELECT id FROM archive_items WHERE form_type = 'other' AND (serial IS NULL OR "
                                   "serial = '') AND id NOT IN (SELECT item_id FROM card_ties)")).all()
            if not loose:
                return "tie: no loose card"
            item = self.rng.choice(loose)
            readings.tie(s, item, v.serial, actor="办事员小王", at=datetime.combine(self.today, datetime.min.time()))
        return f"tie {item} → {v.serial}"

    def confirm(self) -> str:
        waiting = self.live(Visit.card_status == CardState.NEEDS_REVIEW)
        if not waiting:
            return "confirm: nothing waits"
        v = self.rng.choice(waiting)
        res = confirm(self.ws, v.serial, answers="否是否否否否否否否否" if self.rng.random() < 0.5 else "否" * 10,
                      by="办事员小王", now=datetime.combine(self.today, datetime.min.time()))
        return f"confirm {v.serial}: {res.ok}"

    def correct(self) -> str:
        read = self.live(Visit.card_status == CardState.RECEIVED)
        if not read:
            return "correct: no card read"
        v = self.rng.choice(read)
        q = self.rng.randrange(1, 11)
        now = (v.card_answers or {}).get(str(q))
        res = confirm(self.ws, v.serial, questions=[f"{q}={'否' if now == '是' else '是'}"], by="办事员小王",
                      correct=True, reason="复核原件后更正", now=datetime.combine(self.today, datetime.min.time()))
        return f"correct {v.serial} q{q}: {res.ok}"

    def outside(self) -> str:
        f = self.rng.choice(FIRMS)
        start = date(2025, 5, 1) + timedelta(days=self.rng.randrange(60))
        self.n += 1
        path = self.tmp / f"outside-{self.n}.xlsx"
        wb = Workbook()
        sh = wb.active
        sh.append(["序号", "企业名称", "统一社会信用代码", "检查类别", "检查日期", "结束日期", "检查单位", "单位级别", "行业类别", "等级"])
        sh.append([1, f.name, f.uscc, "执法检查", start, None, "山西省应急管理厅", "省级", "", ""])
        wb.save(path)
        res = import_visits(self.ws, path)
        return f"outside visit {f.name} {start}: {res.imported}"

    def shared(self) -> str:
        """What ``ruqi register sync`` writes of a visit pushed over the cap, and a cross-county reason."""
        a, b = self.rng.sample(self.live(), 2)
        with session(self.ws) as s:
            conflict, cross = register.by_serial(s, a.serial), register.by_serial(s, b.serial)
            assert conflict is not None and cross is not None
            conflict.register_state, conflict.register_note = RegisterState.CONFLICT, "推送时已超上限"
            cross.cross_reason = "上级交办"
        return f"shared register: {a.serial} over the cap, {b.serial} cross-county"

    def day(self) -> str:
        self.today += timedelta(days=self.rng.choice((-9, -4, -1, 1, 2, 3, 6, 12)))
        return f"today {self.today}"


def _workspace(root: Path) -> Workspace:
    ws = init(root)
    file_month(ws, register_month(ws))
    return ws


@pytest.mark.parametrize("seed", [7, 2025])
def test_the_stored_rows_agree_with_the_python_review_after_every_kind_of_change(tmp_path: Path, seed: int) -> None:
    ws = _workspace(tmp_path / "ws")
    world = World(ws, random.Random(seed), tmp_path)
    assert_agree(ws, world.today, "start")
    ops: list[Callable[[], str]] = [world.record, world.void, world.card, world.card, world.confirm, world.correct,
                                    world.suspect, world.tie, world.outside, world.shared, world.day, world.suspect, world.day,
                                    world.reread_earlier, world.tie_only]
    done, seen = [], 0
    for k in range(30):
        op = ops[k % len(ops)] if k < len(ops) else world.rng.choice(ops)
        done.append(op())
        assert_agree(ws, world.today, " / ".join(done[-3:]))
        with session(ws) as s:
            for bits in s.scalars(select(ReviewRow.flags)):
                seen |= bits
    # every kind of finding was there at some step (else the comparison proved less than it says)
    missing = [f for i, f in enumerate(ReviewFlag) if not seen & (1 << i)]
    assert missing == [], missing


def test_a_refresh_decides_again_only_what_changed(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    assert refresh(ws, TODAY) > 30  # first: every visit
    assert refresh(ws, TODAY) == 0 and pending(ws) == 0
    v = next(iter(World(ws, random.Random(1), tmp_path).live()))
    with session(ws) as s:
        same_year = s.scalar(select(text("count(*)")).select_from(Visit).where(
            Visit.uscc == v.uscc, Visit.year == v.year))
    void_visit(ws, v.serial, "误登记：测试", actor="管理员")
    assert pending(ws) > 0
    assert refresh(ws, TODAY) == same_year  # the visit and the rest of its enterprise-year
    # The next day: only inspections whose last day or due day lies between are decided again.
    with session(ws) as s:
        crossing = s.scalar(select(text("count(*)")).select_from(ReviewRow).where(
            ((ReviewRow.end >= TODAY) & (ReviewRow.end < TODAY + timedelta(days=1)))
            | ((ReviewRow.due >= TODAY) & (ReviewRow.due < TODAY + timedelta(days=1)))))
    assert 0 < refresh(ws, TODAY + timedelta(days=1)) == crossing


def test_a_rule_change_or_another_deadline_rebuilds_every_row(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    refresh(ws, TODAY)
    with session(ws) as s:
        s.execute(text("UPDATE review_meta SET rules = 'an older release'"))
    assert refresh(ws, TODAY) == len(build_review(ws, today=TODAY).entries) + len(build_review(ws, today=TODAY).voided)
    # A table rebuilt by a later migration loses its triggers on SQLite: they come back, and every row is decided again.
    with get_engine(ws).begin() as c:
        c.execute(text("DROP TRIGGER review_dirty_visits_upd"))
    assert refresh(ws, TODAY) > 30
    with get_engine(ws).begin() as c:
        names = {r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    assert "review_dirty_visits_upd" in names
    with session(ws) as s:
        s.execute(text("UPDATE visits SET leader = '换人' WHERE id = 1"))
        assert s.scalar(select(text("count(*)")).select_from(ReviewDirty)) > 0
