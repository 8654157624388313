"""Accounts of the web site: users with a role, Argon2 password hashes, signed-in sessions.

Public API:

    add_user(ws, name, role, password, *, replace=False, actor=None) -> UserInfo   (``ruqi user add``)
    list_users(ws) -> list[UserInfo]
    authenticate(ws, name, password) -> UserInfo | None
    start_session(ws, user, client) -> (token, SignedIn);  signed_in(ws, token) -> SignedIn | None
    end_session(ws, token)
    Role, Perm, PERMISSIONS, may(role, perm)

**Who may do what is decided here, once** (``PERMISSIONS``): the web routes name a ``Perm``, never a
role, so the rule "a clerk cannot export a review package, a reviewer cannot generate, ingest or
confirm" is one table, tested as a table (``tests/test_web_accounts.py``).

A session is a database row keyed by the SHA-256 of a random token (the cookie holds the token,
signed by ``engine.web.security``): signing out, an expired session or a disabled user end it on the
server.  Each session has its own CSRF token.  Creating an account or changing a password is an
audit entry (``Action.ACCOUNT``) under the name of whoever did it; passwords never reach the log.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, DateTime, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from .actor import current_actor
from .archive import Action, log_action
from .db import Base, session
from .findings import RuqiError, error
from .workspace import Workspace

if TYPE_CHECKING:
    from argon2 import PasswordHasher


class Role(StrEnum):
    CLERK = "clerk"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def zh(self) -> str:
        return ROLE_ZH[self]


ROLE_ZH = {Role.CLERK: "办事员", Role.REVIEWER: "纪委审查人员", Role.ADMIN: "管理员"}


class Perm(StrEnum):
    """What a request wants to do; each web route names exactly one."""

    READ = "read"  # see the pages (首页, lists, documents, archive search)
    GENERATE = "generate"  # upload a plan, generate forms
    INGEST = "ingest"  # drop returned files into the inbox
    CONFIRM = "confirm"  # say what a card waiting for a person answers
    STATS = "stats"  # send out blank workbooks, aggregate
    VERIFY = "verify"  # run 四性检测
    APPROVE_OVER_CAP = "approve_over_cap"  # approve a visit over the annual cap
    EXPORT_REVIEW = "export_review"  # download the 纪委 review package (BagIt)


_WORK = frozenset({Role.CLERK, Role.ADMIN})
PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.READ: frozenset(Role),
    Perm.GENERATE: _WORK,
    Perm.INGEST: _WORK,
    Perm.CONFIRM: _WORK,
    Perm.STATS: _WORK,
    Perm.VERIFY: _WORK,
    Perm.APPROVE_OVER_CAP: frozenset({Role.ADMIN}),
    Perm.EXPORT_REVIEW: frozenset({Role.REVIEWER, Role.ADMIN}),
}

PERM_ZH = {Perm.READ: "查看", Perm.GENERATE: "生成文书", Perm.INGEST: "收件", Perm.CONFIRM: "核对反馈卡",
           Perm.STATS: "统计表下发和汇总", Perm.VERIFY: "四性检测", Perm.APPROVE_OVER_CAP: "批准超次数检查",
           Perm.EXPORT_REVIEW: "导出纪委审查包"}


def may(role: str, perm: Perm) -> bool:
    return role in PERMISSIONS[perm]


class AccountCode(StrEnum):
    NAME_BAD = "ACCOUNT_NAME_BAD"
    ROLE_BAD = "ACCOUNT_ROLE_BAD"
    PASSWORD_SHORT = "ACCOUNT_PASSWORD_SHORT"
    EXISTS = "ACCOUNT_EXISTS"
    UNKNOWN = "ACCOUNT_UNKNOWN"
    PASSWORD_WRONG = "ACCOUNT_PASSWORD_WRONG"  # the current password given to change it is not the account's
    PASSWORD_MISMATCH = "ACCOUNT_PASSWORD_MISMATCH"  # the new password typed twice differently


MIN_PASSWORD = 10
MAX_NAME = 50
SESSION_HOURS = 10  # one working day: a forgotten sign-in does not outlive the night
IDLE_MINUTES = 120
_SEEN_EVERY = timedelta(seconds=60)  # last_seen is written at most this often (a write per request would queue)


class User(Base):
    __tablename__ = "web_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime)


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    client: Mapped[str] = mapped_column(String(100))


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The user behind a request, with the CSRF token of their session."""

    user: UserInfo
    csrf: str
    session_id: int

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> Role:
        return self.user.role

    def may(self, perm: Perm) -> bool:
        return may(self.user.role, perm)


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # deferred: only the site and `ruqi user` need it

    return PasswordHasher()  # RFC 9106 low-memory profile: Argon2id, t=3, m=64 MiB, p=4


@cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_hex(16))


def _info(u: User) -> UserInfo:
    return UserInfo(u.id, u.name, Role(u.role), bool(u.disabled), u.created_at, u.created_by)


def stored_name(name: str) -> str:
    """The spelling an account name is stored and looked up under: NFC, trimmed."""
    return unicodedata.normalize("NFC", name).strip()


def check_name(name: str) -> str:
    """The account name as stored (:func:`stored_name`); RuqiError when it cannot be one."""
    clean = stored_name(name)
    if not clean or len(clean) > MAX_NAME or any(unicodedata.category(c)[0] in "CZ" and c != " " for c in clean):
        raise RuqiError(error(AccountCode.NAME_BAD, f"用户名“{clean[:MAX_NAME]}”不可用：应为 1 到 {MAX_NAME} 个字符，"
                                                    "不含换行、制表符等控制字符（可用姓名，如 张三）。"))
    return clean


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise RuqiError(error(AccountCode.ROLE_BAD, f"角色“{role}”不存在，只能是 "
                              + "、".join(f"{r.value}（{r.zh}）" for r in Role) + " 之一。")) from None


def add_user(ws: Workspace, name: str, role: str, password: str, *, replace: bool = False,
             actor: str | None = None) -> UserInfo:
    """Create an account (``replace``: set a new role and password for an existing one, and end its
    sessions).  The password is stored only as its Argon2 hash."""
    name, r = check_name(name), check_role(role)
    _check_password(password)
    hashed = _hasher().hash(password)
    now = datetime.now()
    who = current_actor(actor)
    with session(ws) as s:
        u = s.scalars(select(User).where(User.name == name)).first()
        if u is not None and not replace:
            raise RuqiError(error(AccountCode.EXISTS, f"用户“{name}”已存在。要重设其密码或角色，请加 --reset。"))
        op = "add" if u is None else "reset"
        if u is None:
            u = User(name=name, role=r.value, password_hash=hashed, disabled=False, created_at=now, created_by=who,
                     password_changed_at=now)
            s.add(u)
        else:
            u.role, u.password_hash, u.disabled, u.password_changed_at = r.value, hashed, False, now
            s.execute(delete(WebSession).where(WebSession.user_id == u.id))
        s.flush()
        log_action(ws, Action.ACCOUNT, name, actor=who, session=s, details={"op": op, "role": r.value})
        return _info(u)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise RuqiError(error(AccountCode.PASSWORD_SHORT, f"密码太短：至少 {MIN_PASSWORD} 个字符。"))


def change_password(ws: Workspace, name: str, current: str, new: str, *, keep_session: int | None = None) -> UserInfo:
    """A user's own new password, given the current one (the web's 修改密码); their other sessions end,
    ``keep_session`` (the one asking) stays."""
    _check_password(new)
    if authenticate(ws, name, current) is None:
        raise RuqiError(error(AccountCode.PASSWORD_WRONG, "当前密码不对，密码没有修改。"))
    hashed = _hasher().hash(new)
    with session(ws) as s:
        u = s.scalars(select(User).where(User.name == name)).one()
        u.password_hash, u.password_changed_at = hashed, datetime.now()
        s.execute(delete(WebSession).where(WebSession.user_id == u.id, WebSession.id != (keep_session or 0)))
        log_action(ws, Action.ACCOUNT, u.name, actor=u.name, session=s, details={"op": "password"})
        return _info(u)


def set_disabled(ws: Workspace, name: str, disabled: bool, *, actor: str | None = None) -> UserInfo:
    """Disable an account (it can no longer sign in; its sessions end at once) or enable it again."""
    clean = stored_name(name)
    with session(ws) as s:
        u = s.scalars(select(User).where(User.name == clean)).first()
        if u is None:
            raise RuqiError(error(AccountCode.UNKNOWN, f"没有名为“{clean}”的网页账号（ruqi user list 列出全部账号）。"))
        u.disabled = disabled
        if disabled:
            s.execute(delete(WebSession).where(WebSession.user_id == u.id))
        log_action(ws, Action.ACCOUNT, u.name, actor=current_actor(actor), session=s,
                   details={"op": "disable" if disabled else "enable"})
        return _info(u)


def list_users(ws: Workspace) -> list[UserInfo]:
    with session(ws) as s:
        return [_info(u) for u in s.scalars(select(User).order_by(User.name))]


def authenticate(ws: Workspace, name: str, password: str) -> UserInfo | None:
    """The user when the name and password match an enabled account; None otherwise (an unknown
    name costs the same Argon2 work, so timing does not tell which names exist)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    clean = stored_name(name)
    with session(ws) as s:
        u = s.scalars(select(User).where(User.name == clean)).first()
        try:
            _hasher().verify(u.password_hash if u is not None else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if u is None or u.disabled:
            return None
        if _hasher().check_needs_rehash(u.password_hash):  # parameters raised since it was set
            u.password_hash = _hasher().hash(password)
        return _info(u)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(ws: Workspace, user: UserInfo, client: str = "", *, now: datetime | None = None) -> tuple[str, SignedIn]:
    """A new session for ``user``: the token for the cookie and who is signed in."""
    now = now or datetime.now()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with session(ws) as s:
        s.execute(delete(WebSession).where(WebSession.expires_at < now))
        row = WebSession(token_sha256=_digest(token), user_id=user.id, csrf=csrf, created_at=now, last_seen=now,
                         expires_at=now + timedelta(hours=SESSION_HOURS), client=client[:100])
        s.add(row)
        s.flush()
        return token, SignedIn(user, csrf, row.id)


def signed_in(ws: Workspace, token: str, *, now: datetime | None = None) -> SignedIn | None:
    """Who holds this session token: None when unknown, expired, idle too long or the user is disabled."""
    now = now or datetime.now()
    with session(ws) as s:
        row = s.scalars(select(WebSession).where(WebSession.token_sha256 == _digest(token))).first()
        if row is None:
            return None
        u = s.get(User, row.user_id)
        if u is None or u.disabled or now >= row.expires_at or now - row.last_seen > timedelta(minutes=IDLE_MINUTES):
            s.delete(row)
            return None
        if now - row.last_seen > _SEEN_EVERY:
            row.last_seen = now
        return SignedIn(_info(u), row.csrf, row.id)


def end_session(ws: Workspace, token: str) -> None:
    with session(ws) as s:
        s.execute(delete(WebSession).where(WebSession.token_sha256 == _digest(token)))
