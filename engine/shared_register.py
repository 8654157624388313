"""The shared register: one PostgreSQL database where every bureau of a province (or a city) books
its visits, so the caps, 本年度第N次 and 第M次<kind> count the 省, 市 and 县 visits together.

- ``setup(admin_url)`` creates or upgrades the schema (``engine.db.migrations.REGISTER_MIGRATIONS``);
  ``add_bureau(admin_url, …)`` creates a bureau's login role and registers its division code and
  level, which the row-level security policies check on every write.
- A workspace names the register in ``ruqi.toml`` ``[register]``; ``open_book`` gives
  ``engine.generate`` a ``SharedBook`` (or, without ``[register]`` or with ``--offline``, the
  workspace's own ``LocalBook``).  The counting rules are ``engine.register``'s, for both.
- The last allowed visit: ``SharedBook.hold`` takes a transaction-scoped advisory lock per
  enterprise-year (in sorted order, so two plans never deadlock) before anything is counted;
  a second bureau's count waits until the first has committed its booking, then sees it.
- ``sync`` pushes what ``--offline`` recorded, and voids made locally; a pushed visit that turned
  out to be over the cap is recorded all the same (it happened) and marked a conflict.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, create_engine, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from .archive import Action, log_action
from .caps import Cap, cap_exceeded, cap_for
from .db import session
from .db.migrations import BUREAU_GROUP, upgrade_register
from .findings import Finding, Findings, RuqiError, error, warning
from .forms import INSPECTION_KINDS
from .identifiers import check_uscc
from .inspection import Inspection
from .register import LocalBook, OutsideVisit, RegisterState, Tallied, Visit, live, number_by_date
from .workspace import LEVELS, Workspace, read_secret_file

PASSWORD_ENV = "RUQI_REGISTER_PASSWORD"
PENDING_ORDER = 1 << 62  # order of a visit booked in this transaction, not yet written: after every id
LEVEL_ORDER = {"省": 0, "市": 1, "县": 2}


class RegisterCode(StrEnum):
    UNREACHABLE = "REGISTER_UNREACHABLE"
    NO_PASSWORD = "REGISTER_PASSWORD_MISSING"
    PASSWORD_FILE_OPEN = "REGISTER_PASSWORD_FILE_TOO_OPEN"
    NOT_SET_UP = "REGISTER_NOT_SET_UP"
    NOT_A_BUREAU = "REGISTER_NOT_A_BUREAU"
    WRONG_BUREAU = "REGISTER_WRONG_BUREAU"  # the role is another bureau's than ruqi.toml's
    REFUSED = "REGISTER_REFUSED"  # the server refused a write (row-level security, privileges)
    OFFLINE = "REGISTER_OFFLINE"  # a visit recorded with --offline, not yet confirmed
    SYNC_CONFLICT = "REGISTER_SYNC_OVER_CAP"
    SYNC_RENUMBERED = "REGISTER_SYNC_RENUMBERED"
    OTHERS_RENUMBERED = "REGISTER_OTHER_BUREAUS_CARDS_SHIFTED"  # an earlier-dated visit entered after theirs
    BAD_ADMIN_URL = "REGISTER_ADMIN_URL_INVALID"
    BAD_BUREAU = "REGISTER_BUREAU_INVALID"
    BUSY = "REGISTER_UPGRADE_BUSY"  # setup could not take a table lock in time: nothing changed


# ---- connecting -----------------------------------------------------------------------------------


def driver_url(url: str) -> str:
    """``postgresql://…`` as written in ruqi.toml → the SQLAlchemy URL with the psycopg driver."""
    return re.sub(r"^postgresql(\+\w+)?://", "postgresql+psycopg://", url)


def _unreachable(e: Exception, where: str, *, generating: bool = False) -> Finding:
    why = str(getattr(e, "orig", e)).strip().splitlines()[0] if str(getattr(e, "orig", e)).strip() else type(e).__name__
    hint = ("没有共享台账就无法核对其他层级的检查次数，本次未登记任何检查。请检查网络或联系台账管理员；确需先出具文书的，"
            "可加 --offline 离线生成（检查登记为“未确认”，恢复连接后运行 ruqi register sync 补报）。") if generating else \
        "本次没有在共享台账登记或更改任何内容。请检查网络或联系台账管理员，恢复连接后重新运行。"
    return error(RegisterCode.UNREACHABLE, f"无法连接全省（市）共享入企检查台账（{where}）：{why}。{hint}", where)


def _password(ws: Workspace) -> str:
    link = ws.config.register
    assert link is not None
    if link.password_file:
        secret = read_secret_file(ws.root, link.password_file)
        if secret.value is None:
            raise RuqiError(error(RegisterCode.PASSWORD_FILE_OPEN if secret.too_open else RegisterCode.NO_PASSWORD,
                                  f"共享台账的{secret.problem}", "ruqi.toml [register] password_file"))
        return secret.value
    pw = os.environ.get(PASSWORD_ENV, "")
    if not pw:
        raise RuqiError(error(RegisterCode.NO_PASSWORD, f"共享台账没有密码：请在 [register] 中用 password_file 指定密码文件"
                                                        f"（权限 600），或设置环境变量 {PASSWORD_ENV}。", "ruqi.toml [register]"))
    return pw


_ENGINES: dict[tuple[str, str], Engine] = {}


def register_engine(ws: Workspace) -> Engine:
    """The pooled connection to this workspace's shared register (the password never in the URL)."""
    link = ws.config.register
    if link is None:
        raise ValueError("this workspace has no [register]")
    pw = _password(ws)
    key = (link.url, pw)
    eng = _ENGINES.get(key)
    if eng is None:
        eng = create_engine(driver_url(link.url), pool_pre_ping=True,
                            connect_args={"password": pw, "connect_timeout": link.connect_timeout,
                                          "application_name": f"ruqi {ws.config.division_code}"})
        _ENGINES[key] = eng
    return eng


def where_of(url: str) -> str:
    """The register's address for a message: host and database, never a password."""
    u = make_url(driver_url(url))
    host = u.host or u.query.get("host") or "本机"
    return f"{host}{f':{u.port}' if u.port else ''}/{u.database}"


@dataclass(frozen=True, slots=True)
class Bureau:
    division_code: str
    level: str
    name: str
    role_name: str


def _own_bureau(conn: Connection, ws: Workspace) -> Bureau:
    try:
        row = conn.execute(text("SELECT division_code, level, name, role_name FROM register_bureaus "
                                "WHERE role_name = current_user")).first()
    except ProgrammingError as e:
        raise RuqiError(error(RegisterCode.NOT_SET_UP, "共享台账尚未建立（或版本过旧）：请台账管理员运行 ruqi register setup。",
                              where_of(ws.config.register.url if ws.config.register else ""))) from e
    if row is None:
        raise RuqiError(error(RegisterCode.NOT_A_BUREAU, "共享台账中没有登记本局的账号：请台账管理员运行 ruqi register add-bureau，"
                                                         "并把打印出的几行填入 ruqi.toml 的 [register]。", "ruqi.toml [register] url"))
    b = Bureau(*row)
    if (b.division_code, b.level) != (ws.config.division_code, ws.config.level):
        raise RuqiError(error(RegisterCode.WRONG_BUREAU,
                              f"[register] 的账号属于 {b.name}（{b.level}，{b.division_code}），不是本局（{ws.config.name}，"
                              f"{ws.config.level}，{ws.config.division_code}）。请改用本局的账号。", "ruqi.toml [register] url"))
    return b


# ---- the shared book ------------------------------------------------------------------------------


class SharedBook:
    """The shared register as ``engine.register`` counts it, inside one transaction on ``conn``."""

    def __init__(self, conn: Connection, bureau: Bureau, where: str = "", *, generating: bool = False):
        self.conn = conn
        self.bureau = bureau
        self.where = where
        self.generating = generating  # what to suggest when the connection drops
        self._cache: dict[tuple[str, int], list[Tallied]] = {}
        self._pending: list[dict[str, Any]] = []  # booked visits not yet written (``flush``)

    @property
    def state(self) -> str | None:
        return RegisterState.SHARED

    def _run(self, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> Any:
        try:
            return self.conn.execute(text(sql), params or {})
        except DBAPIError as e:
            if e.connection_invalidated or isinstance(e.orig, OSError) or "connection" in str(e.orig).lower():
                raise RuqiError(_unreachable(e, self.where, generating=self.generating)) from e
            raise RuqiError(error(RegisterCode.REFUSED, f"共享台账拒绝了本次操作：{str(e.orig).splitlines()[0]}。",
                                  self.where)) from e

    def hold(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Lock every enterprise-year of the plan, in sorted order (two plans never wait for each other
        in a circle), then read their visits: two round trips for the whole plan."""
        todo = sorted(set(pairs) - set(self._cache))
        if not todo:
            return
        arrays = {"us": [u for u, _ in todo], "ys": [y for _, y in todo]}
        self._run("SELECT count(pg_advisory_xact_lock(y, hashtext(u))) FROM (SELECT u, y FROM unnest("
                  "CAST(:us AS varchar[]), CAST(:ys AS integer[])) WITH ORDINALITY AS p(u, y, n) ORDER BY n) AS sorted",
                  arrays)
        for pair in todo:
            self._cache[pair] = []
        rows = self._run('SELECT uscc, year, serial, kind, start, "end", id, bureau_level, bureau_code '
                         "FROM register_visits WHERE voided_at IS NULL AND (uscc, year) IN "
                         "(SELECT * FROM unnest(CAST(:us AS varchar[]), CAST(:ys AS integer[])))", arrays)
        for uscc, year, serial, kind, start, end, id_, level, code in rows:
            self._cache[(uscc, year)].append(Tallied(serial, kind, start, end, id_, level, code))

    def entries(self, uscc: str, year: int) -> list[Tallied]:
        if (uscc, year) not in self._cache:
            self.hold([(uscc, year)])
        return list(self._cache[(uscc, year)])

    def book(self, v: Visit, *, source: str = "ruqi", conflict: str = "") -> None:
        """Count the visit from now on; it is written with the others of the plan (``flush``), in the
        same transaction, before the commit: its enterprise-year stays locked until then."""
        self._pending.append({
            "serial": v.serial, "code": self.bureau.division_code, "level": self.bureau.level, "uscc": v.uscc,
            "enterprise": v.enterprise, "county_code": v.county_code, "year": v.year, "kind": v.kind,
            "start": v.start, "end": v.end, "over_cap": bool(v.over_cap), "cross": v.cross_reason or "",
            "source": source, "conflict": conflict, "industry": v.industry, "grade": v.grade,
            "benchmark": bool(v.benchmark), "key": bool(v.key_supervision)})
        # Entered after every visit already booked: the order breaks ties of the same dates only.
        self._cache.setdefault((v.uscc, v.year), []).append(
            Tallied(v.serial, v.kind, v.start, v.end, PENDING_ORDER + len(self._pending), self.bureau.level,
                    self.bureau.division_code))

    def flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        self._run(
            'INSERT INTO register_visits (serial, bureau_code, bureau_level, uscc, enterprise, county_code, year, kind, '
            'start, "end", over_cap, cross_reason, source, conflict, industry, grade, benchmark, key_supervision) '
            "VALUES (:serial, :code, :level, :uscc, :enterprise, :county_code, :year, :kind, :start, :end, :over_cap, "
            ":cross, :source, :conflict, :industry, :grade, :benchmark, :key) "
            # A serial withdrawn with its failed documents is issued again: the voided booking comes back.
            "ON CONFLICT (serial) DO UPDATE SET uscc = EXCLUDED.uscc, enterprise = EXCLUDED.enterprise, "
            "county_code = EXCLUDED.county_code, year = EXCLUDED.year, kind = EXCLUDED.kind, start = EXCLUDED.start, "
            '"end" = EXCLUDED."end", over_cap = EXCLUDED.over_cap, cross_reason = EXCLUDED.cross_reason, '
            "source = EXCLUDED.source, conflict = EXCLUDED.conflict, industry = EXCLUDED.industry, "
            "grade = EXCLUDED.grade, benchmark = EXCLUDED.benchmark, key_supervision = EXCLUDED.key_supervision, "
            "voided_at = NULL, void_reason = NULL, recorded_at = now(), recorded_by = current_user "
            "WHERE register_visits.voided_at IS NOT NULL", rows)

    def book_outside(self, key: str, uscc: str, enterprise: str, year: int, kind: str, start: date, end: date,
                     industry: str = "", grade: str = "") -> bool:
        """Book a visit this bureau made outside ruqi (imported); False when it is already booked, imported
        before or made with ruqi (互联网+执法 lists every visit, the ones ruqi printed too)."""
        row = self._run(
            'INSERT INTO register_visits (serial, bureau_code, bureau_level, uscc, enterprise, county_code, year, kind, '
            'start, "end", source, industry, grade) SELECT :serial, v.code, :level, v.uscc, :enterprise, \'\', :year, '
            'v.kind, v.start, v."end", \'import\', :industry, :grade FROM (SELECT CAST(:code AS varchar) AS code, '
            "CAST(:uscc AS varchar) AS uscc, CAST(:kind AS varchar) AS kind, CAST(:start AS date) AS start, "
            'CAST(:end AS date) AS "end") AS v WHERE NOT EXISTS (SELECT 1 FROM register_visits r WHERE '
            'r.bureau_code = v.code AND r.uscc = v.uscc AND r.kind = v.kind AND r.start = v.start AND r."end" = v."end" '
            "AND r.voided_at IS NULL) ON CONFLICT DO NOTHING RETURNING id",
            {"serial": key, "code": self.bureau.division_code, "level": self.bureau.level, "uscc": uscc,
             "enterprise": enterprise, "year": year, "kind": kind, "start": start, "end": end, "industry": industry,
             "grade": grade}).first()
        self._cache.pop((uscc, year), None)
        return row is not None

    def void(self, serial: str, reason: str) -> bool:
        """Void one of this bureau's visits (no bureau deletes: the booking stays on record)."""
        self.flush()
        n = self._run("UPDATE register_visits SET voided_at = now(), void_reason = :r "
                      "WHERE serial = :s AND voided_at IS NULL", {"s": serial, "r": reason}).rowcount
        self._cache.clear()
        return bool(n)


@contextmanager
def shared_book(ws: Workspace, *, generating: bool = False) -> Iterator[SharedBook]:
    """A transaction on the shared register, committed when the block ends normally.  Only the
    register's own failures are said to be the register's: a database error raised by the block
    (the workspace's SQLite) passes through as it is, and the shared transaction rolls back."""
    link = ws.config.register
    assert link is not None
    where = where_of(link.url)
    try:
        conn = register_engine(ws).connect()
    except DBAPIError as e:
        raise RuqiError(_unreachable(e, where, generating=generating)) from e
    try:
        try:
            trans = conn.begin()
            book = SharedBook(conn, _own_bureau(conn, ws), where, generating=generating)
        except DBAPIError as e:
            raise RuqiError(_unreachable(e, where, generating=generating)) from e
        try:
            yield book
        except BaseException:
            trans.rollback()
            raise
        book.flush()
        try:
            trans.commit()
        except DBAPIError as e:  # the commit itself failed: nothing was booked
            raise RuqiError(_unreachable(e, where, generating=generating)) from e
    finally:
        conn.close()


@contextmanager
def open_book(ws: Workspace, s: Session, *, offline: bool = False) -> Iterator[LocalBook | SharedBook]:
    """Where ``generate`` counts and books: the shared register (its transaction committed before the
    caller's local one), this workspace's own register, or, ``offline``, this workspace's own with
    every new visit marked unconfirmed for ``sync``."""
    if ws.config.register is None:
        yield LocalBook(s)
    elif offline:
        yield LocalBook(s, RegisterState.UNCONFIRMED)
    else:
        with shared_book(ws, generating=True) as book:
            yield book


def shifted_elsewhere(book: LocalBook | SharedBook, insp: Inspection, where: str) -> Finding | None:
    """A visit booked before other bureaus' later-dated visits of the enterprise-year: the numbers
    printed on their cards are no longer right, and only this bureau knows it now."""
    if not isinstance(book, SharedBook):
        return None
    later = sorted((e.start, e.key) for e in book.entries(insp.uscc, insp.year)
                   if e.bureau != book.bureau.division_code and (e.start, e.end) > (insp.start, insp.end))
    if not later:
        return None
    return warning(RegisterCode.OTHERS_RENUMBERED,
                   f"本次检查（{insp.start:%Y-%m-%d}）早于其他单位已登记的检查 "
                   + "、".join(f"{k}（{d:%Y-%m-%d}）" for d, k in later)
                   + "，这些检查的反馈卡上所印的“第N次”已不正确（按检查日期各应加一），请告知相关单位。", where)


def offline_finding(where: str) -> Finding:
    return warning(RegisterCode.OFFLINE, "离线登记：本次检查只登记在本局，未经共享台账核对其他层级的检查次数，"
                                         "反馈卡上的次数只计本局已知的检查。恢复连接后请运行 ruqi register sync 补报；"
                                         "补报时如发现超过年度上限，将列入纪委审查清单。", where)


# ---- sync -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Pushed:
    serial: str
    enterprise: str
    kind: str
    start: date
    conflict: str = ""  # over the cap, said for the clerk and the 纪委
    printed: tuple[int, int] = (0, 0)
    now: tuple[int, int] = (0, 0)
    how: str = "离线"  # how it was numbered without the shared register: 离线 / 加入共享台账前


@dataclass(slots=True)
class SyncResult:
    pushed: list[Pushed] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    findings: Findings = field(default_factory=Findings)

    @property
    def conflicts(self) -> list[Pushed]:
        return [p for p in self.pushed if p.conflict]

    def to_json(self) -> dict[str, Any]:
        return {"pushed": [{"serial": p.serial, "enterprise": p.enterprise, "kind": p.kind, "start": p.start.isoformat(),
                            "conflict": p.conflict or None, "printed": list(p.printed), "now": list(p.now)}
                           for p in self.pushed],
                "voided": self.voided, "errors": [f.to_dict() for f in self.findings]}


def unpushed() -> ColumnElement[bool]:
    """Live visits of this workspace the shared register has not counted yet: recorded ``--offline``,
    or numbered by this workspace alone before it joined (state NULL; a county that used ruqi on its
    own since January joins in June, and its visits must count for every bureau from then on)."""
    return and_(live(), or_(Visit.register_state == RegisterState.UNCONFIRMED, Visit.register_state.is_(None)))


def pending(ws: Workspace) -> bool:
    """Whether this workspace holds visits the shared register has not counted yet (``unpushed``)."""
    with session(ws) as s:
        return s.scalar(select(Visit.id).where(unpushed()).limit(1)) is not None


def sync(ws: Workspace) -> SyncResult:
    """Push the visits recorded with ``--offline`` or before this workspace joined (``unpushed``,
    oldest first) and the voids made since; a pushed visit over the cap is booked all the same,
    marked a conflict here and there (the 纪委 list)."""
    out = SyncResult()
    if ws.config.register is None:
        return out
    try:
        with session(ws) as s, shared_book(ws) as book:
            todo = s.scalars(select(Visit).where(unpushed()).order_by(Visit.start, Visit.seq)).all()
            book.hold((v.uscc, v.year) for v in todo)
            for v in todo:
                out.pushed.append(_push(book, v))
            gone = s.scalars(select(Visit).where(Visit.voided_at.is_not(None), Visit.register_state.in_(
                [RegisterState.SHARED, RegisterState.CONFLICT, RegisterState.UNCONFIRMED]))).all()
            for v in gone:
                if book.void(v.serial, v.voided_reason or "作废"):
                    out.voided.append(v.serial)
    except RuqiError as e:
        out.pushed.clear()
        out.voided.clear()
        out.findings.extend(e.findings)
    if out.pushed or out.voided:
        log_action(ws, Action.REGISTER_SYNC, where_of(ws.config.register.url), details={
            "pushed": [p.serial for p in out.pushed], "conflicts": [p.serial for p in out.conflicts],
            "voided": out.voided})
    for p in out.pushed:
        if p.conflict:
            out.findings.add(warning(RegisterCode.SYNC_CONFLICT, p.conflict, p.serial))
        elif p.now != p.printed:
            out.findings.add(warning(RegisterCode.SYNC_RENUMBERED,
                                     f"{p.enterprise}（{p.start:%Y-%m-%d}，{p.kind}）{p.how}生成的空白反馈卡印为第{p.printed[0]}次、"
                                     f"第{p.printed[1]}次{p.kind}，计入其他层级的检查后应为第{p.now[0]}次、第{p.now[1]}次{p.kind}。",
                                     p.serial))
    return out


def _push(book: SharedBook, v: Visit) -> Pushed:
    joined = v.register_state is None  # numbered before this workspace joined, not offline
    how = "加入共享台账前" if joined else "离线"
    done = sum(e.kind == v.kind for e in book.entries(v.uscc, v.year))
    cap = cap_exceeded(v.industry, v.grade, v.kind, done, benchmark=v.benchmark, key_supervision=v.key_supervision)
    conflict = "" if cap is None or v.over_cap else (
        f"{how}登记的检查 {v.serial}（{v.enterprise}，{v.start:%Y-%m-%d}，{v.kind}）补报时超过年度入企次数上限：{cap.rule}；"
        f"共享台账中该企业本年度已有{v.kind}{done}次，本次为第{done + 1}次。已如实登记，并列入纪委审查清单。")
    book.book(v, source="ruqi" if joined else "offline", conflict=conflict)
    now = number_by_date(book.entries(v.uscc, v.year)).get(v.serial, (0, 0))
    p = Pushed(v.serial, v.enterprise, v.kind, v.start, conflict, (v.visit_total, v.visit_kind), now, how)
    v.register_state = RegisterState.CONFLICT if conflict else RegisterState.SHARED
    v.register_note = conflict or None
    return p


def void_shared(ws: Workspace, serial: str, reason: str) -> Finding | None:
    """Void a visit in the shared register too (``ruqi void``, a withdrawn row); a warning when the
    register cannot be reached (``ruqi register sync`` voids it later)."""
    if ws.config.register is None:
        return None
    try:
        with shared_book(ws) as book:
            book.void(serial, reason)
    except RuqiError as e:
        why = e.finding.message.split("。")[0]
        return warning(RegisterCode.UNREACHABLE, f"本局台账已作废 {serial}，但共享台账暂时无法同步（{why}）。"
                                                 "恢复连接后请运行 ruqi register sync。", serial)
    return None


# ---- administration ------------------------------------------------------------------------------


def admin_engine(admin_url: str) -> Engine:
    return create_engine(driver_url(admin_url), connect_args={"connect_timeout": 10})


def setup(admin_url: str) -> tuple[int, int]:
    """Create or upgrade the shared schema: (version before, version after).  Safe while bureaus are
    connected: a step that cannot have its table lock within the migrations' lock timeout (a
    bureau's long transaction) gives up, changes nothing, and says to run it again."""
    eng = admin_engine(admin_url)
    try:
        return upgrade_register(eng)
    except OperationalError as e:
        if getattr(e.orig, "sqlstate", "") == "55P03":  # lock_not_available
            raise RuqiError(error(RegisterCode.BUSY, "有单位正在使用共享台账，本次升级没有等到数据表，未做任何改动（各单位不受影响）。"
                                                     "请稍后重新运行 ruqi register setup。")) from e
        raise RuqiError(_admin_failed(e, admin_url)) from e
    finally:
        eng.dispose()


def _admin_failed(e: DBAPIError, admin_url: str) -> Finding:
    why = str(e.orig).strip().splitlines()[0] if str(e.orig).strip() else type(e.orig).__name__
    return error(RegisterCode.UNREACHABLE, f"共享台账数据库（{where_of(admin_url)}）操作失败：{why}。请检查管理地址、网络，"
                                           "以及管理员账号是否有建表和建立账号（CREATEROLE）的权限。", where_of(admin_url))


@dataclass(frozen=True, slots=True)
class BureauAdded:
    bureau: Bureau
    password: str
    url: str  # what the bureau writes in [register] url
    created: bool  # False: the role existed, its password was reset

    def toml_lines(self) -> str:
        return (f"[register]\nurl = \"{self.url}\"\npassword_file = \"register.pass\"\n")


def role_name(database: str, division_code: str) -> str:
    """One login role per bureau and register database (a cluster may hold several registers)."""
    base = re.sub(r"[^a-z0-9_]", "_", database.lower())[:40]
    return f"{base}_{division_code}"


def add_bureau(admin_url: str, name: str, level: str, division_code: str, *, password: str | None = None) -> BureauAdded:
    """Create (or reset) a bureau's login role in the bureau group and register its division code
    and level: the policies let it write only rows carrying both."""
    if level not in LEVELS or not re.fullmatch(r"\d{6}", division_code) or not name.strip():
        raise RuqiError(error(RegisterCode.BAD_BUREAU, f"--level 应为 {'、'.join(LEVELS)} 之一，--division-code 应为6位数字，"
                                                       f"--name 不能为空（现为 {level}、{division_code}、{name}）。"))
    u = make_url(driver_url(admin_url))
    if not u.database:
        raise RuqiError(error(RegisterCode.BAD_ADMIN_URL, "管理地址中缺少数据库名，应为 postgresql://管理员@服务器:端口/数据库名。"))
    role = role_name(u.database, division_code)
    pw = password or secrets.token_urlsafe(24)
    eng = admin_engine(admin_url)
    try:
        exists = _add_role(eng, role, pw, division_code, level, name)
    except DBAPIError as e:
        raise RuqiError(_admin_failed(e, admin_url)) from e
    finally:
        eng.dispose()
    host = u.host or ""
    query = "&".join(f"{k}={v}" for k, v in u.query.items() if k in ("host", "port", "sslmode"))
    url = f"postgresql://{role}@{host}{f':{u.port}' if u.port else ''}/{u.database}{f'?{query}' if query else ''}"
    return BureauAdded(Bureau(division_code, level, name.strip(), role), pw, url, not exists)


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677): computed here so
    the password itself never reaches the server or its statement log."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


def _add_role(eng: Engine, role: str, pw: str, division_code: str, level: str, name: str) -> bool:
    """Create or reset the role; whether it existed."""
    with eng.begin() as c:
        upgrade_needed = c.execute(text("SELECT to_regclass('register_bureaus')")).scalar() is None
        if upgrade_needed:
            raise RuqiError(error(RegisterCode.NOT_SET_UP, "共享台账尚未建立：请先运行 ruqi register setup 管理地址。"))
        exists = c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None
        quoted_pw = c.execute(text("SELECT quote_literal(:p)"), {"p": scram_verifier(pw)}).scalar()
        verb = "ALTER" if exists else "CREATE"
        # Driver-level: the verifier's colons are not bind parameters; nothing else is interpolated.
        c.exec_driver_sql(f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD {quoted_pw}')
        c.execute(text(f'GRANT {BUREAU_GROUP} TO "{role}"'))
        c.execute(text("INSERT INTO register_bureaus (division_code, level, name, role_name) VALUES (:c, :l, :n, :r) "
                       "ON CONFLICT (division_code) DO UPDATE SET level = :l, name = :n, role_name = :r"),
                  {"c": division_code, "l": level, "n": name.strip(), "r": role})
    return exists


# ---- the 扫码入企 look-up ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class YearVisit:
    serial: str
    bureau: str  # the bureau's name (or code)
    level: str
    kind: str
    start: date
    end: date
    source: str  # ruqi / offline / import / local
    numbers: tuple[int, int] = (0, 0)
    conflict: str = ""


@dataclass(frozen=True, slots=True)
class Allowance:
    kind: str
    done: int
    cap: int | None
    rule: str

    @property
    def left(self) -> int | None:
        return None if self.cap is None else max(self.cap - self.done, 0)


@dataclass(frozen=True, slots=True)
class EnterpriseYear:
    uscc: str
    year: int
    enterprise: str
    industry: str
    grade: str
    visits: tuple[YearVisit, ...]
    allowances: tuple[Allowance, ...]
    shared: bool  # counted over the shared register (else this workspace's own)

    def to_json(self) -> dict[str, Any]:
        return {"uscc": self.uscc, "year": self.year, "enterprise": self.enterprise, "industry": self.industry,
                "grade": self.grade, "shared": self.shared,
                "visits": [{"serial": v.serial, "bureau": v.bureau, "level": v.level, "kind": v.kind,
                            "start": v.start.isoformat(), "end": v.end.isoformat(), "source": v.source,
                            "visit_total": v.numbers[0], "visit_kind": v.numbers[1], "conflict": v.conflict or None}
                           for v in self.visits],
                "kinds": {a.kind: {"done": a.done, "cap": a.cap, "left": a.left, "rule": a.rule}
                          for a in self.allowances}}


def _allowances(visits: list[YearVisit], profile: tuple[str, str, bool, bool] | None) -> tuple[Allowance, ...]:
    industry, grade, benchmark, key = profile or ("", "", False, False)
    out = []
    for k in INSPECTION_KINDS:
        done = sum(v.kind == k for v in visits)
        try:
            cap: Cap | None = cap_for(industry, grade, k, benchmark=benchmark, key_supervision=key)
        except KeyError:  # 执法检查 of an enterprise whose industry and grade nobody recorded
            cap = None
        out.append(Allowance(k, done, cap.limit if cap else None, cap.rule if cap else "行业、等级未知，无法给出上限"))
    return tuple(out)


def enterprise_year(ws: Workspace, uscc: str, year: int) -> EnterpriseYear:
    """The enterprise's whole-year record, across levels when the register is shared; the
    allowance per kind uses the industry and grade of its latest visit.  A mistyped code is refused:
    "no visits" for it would read as a full allowance."""
    bad = check_uscc(uscc, "--uscc")
    if bad is not None:
        raise RuqiError(bad)
    if ws.config.register is None:
        return _local_year(ws, uscc, year)
    with shared_book(ws) as book:
        rows = book._run(
            'SELECT v.serial, coalesce(b.name, v.bureau_code), v.bureau_level, v.kind, v.start, v."end", v.source, v.id, '
            "v.conflict, v.enterprise, v.industry, v.grade, v.benchmark, v.key_supervision "
            "FROM register_visits v LEFT JOIN register_bureaus b ON b.division_code = v.bureau_code "
            "WHERE v.uscc = :u AND v.year = :y AND v.voided_at IS NULL ORDER BY v.start, v.\"end\", v.id",
            {"u": uscc, "y": year}).all()
    tallied = [Tallied(r[0], r[3], r[4], r[5], r[7]) for r in rows]
    nums = number_by_date(tallied)
    visits = [YearVisit(r[0], r[1], r[2], r[3], r[4], r[5], r[6], nums[r[0]], r[8]) for r in rows]
    profiled = [r for r in rows if r[10]]
    last = profiled[-1] if profiled else None
    profile = (last[10], last[11], bool(last[12]), bool(last[13])) if last else None
    return EnterpriseYear(uscc, year, rows[-1][9] if rows else "", profile[0] if profile else "",
                          profile[1] if profile else "", tuple(visits), _allowances(visits, profile), True)


def _local_year(ws: Workspace, uscc: str, year: int) -> EnterpriseYear:
    with session(ws) as s:
        book = LocalBook(s)
        nums = number_by_date(book.entries(uscc, year))
        own = s.scalars(select(Visit).where(Visit.uscc == uscc, Visit.year == year, live())
                        .order_by(Visit.start, Visit.seq)).all()
        outside = s.scalars(select(OutsideVisit).where(OutsideVisit.uscc == uscc, OutsideVisit.year == year)).all()
        visits = [YearVisit(v.serial, ws.config.name, ws.config.level, v.kind, v.start, v.end, "local",
                            nums.get(v.serial, (0, 0)), v.register_note or "") for v in own]
        visits += [YearVisit(o.key, o.unit, o.level, o.kind, o.start, o.end, "import", nums.get(o.key, (0, 0)))
                   for o in outside]
        last = own[-1] if own else None
        profile = (last.industry, last.grade, bool(last.benchmark), bool(last.key_supervision)) if last else None
        name = last.enterprise if last else (outside[-1].enterprise if outside else "")
    visits.sort(key=lambda v: v.numbers)
    return EnterpriseYear(uscc, year, name, profile[0] if profile else "", profile[1] if profile else "",
                          tuple(visits), _allowances(visits, profile), False)


def level_rank(level: str) -> int:
    return LEVEL_ORDER.get(level, 9)

