"""The audit trail: an append-only, hash-chained log of every action on the archive.

Each entry stores ``prev_hash`` (the previous entry's hash; 64 zeros for the first) and its own
``hash`` = SHA-256 over the canonical JSON of all its fields.  Editing an entry breaks its hash;
deleting, inserting or reordering entries breaks ``seq`` continuity or the ``prev_hash`` link.

Cutting entries off the *end* leaves a consistent shorter chain, so two witnesses record the head
(seq, hash): the ``archive_audit_head`` row, written in the entry's own transaction, and the file
``archive/.ruqi-audit-head``, written after the commit.  A witness moves on only while it still
names an entry of the log (the file: any earlier entry, since it lags a commit; the row: exactly
the last one), and a missing witness is not recreated unless the other one vouches for the log.
So after the last entries are deleted, with or without one witness, the next append (the
``verify`` run's own entry included) does not launder the cut: verify keeps reporting it until
``ruqi archive repair --accept-audit-log`` records, in the log itself, that a person accepted it.
Anyone can recompute the chain with a SHA-256 tool: there is no secret key, so the head hash
printed by ``ruqi archive verify`` is what to record outside the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..actor import current_actor
from ..db import session_or_new
from ..findings import Finding, RuqiError, error
from ..workspace import Workspace
from . import journal
from .files import TMP_PREFIX
from .models import AuditHeadRecord, AuditRecord
from .numbering import write_lock
from .txn import on_commit

GENESIS = "0" * 64
HEAD_NAME = ".ruqi-audit-head"


class Action(StrEnum):
    FILE = "file"
    GENERATE = "generate"
    RECEIVE = "receive"
    REJECT = "reject"
    OVERRIDE = "override"
    EXPORT = "export"
    VERIFY = "verify"
    REPAIR = "repair"
    VOID = "void"
    REGISTER_IMPORT = "register_import"  # visits made outside ruqi imported into the register
    REGISTER_SYNC = "register_sync"  # visits recorded --offline pushed to the shared register
    ACCOUNT = "account"  # a web account created, or its password or role reset (engine.accounts)
    CONFIRM = "confirm"  # a person recorded a card's answers the machine could not read
    CORRECT = "correct"  # a person changed answers already read (by machine or person), with a reason
    TIE = "tie"  # a person tied a card without a readable serial to its inspection
    SIGN_IN = "sign_in"  # someone signed in to the web site (object: the account)
    SIGN_IN_REFUSED = "sign_in_refused"  # a wrong name or password on the web site (object: the name typed)

    @property
    def zh(self) -> str:
        """What the clerk reads in ``ruqi archive log``."""
        return ACTION_ZH[self]


ACTION_ZH: dict[Action, str] = {
    Action.FILE: "归档", Action.GENERATE: "生成文书", Action.RECEIVE: "收到反馈", Action.REJECT: "退回",
    Action.OVERRIDE: "批准超次数", Action.EXPORT: "导出审查包", Action.VERIFY: "四性检测", Action.REPAIR: "修复",
    Action.VOID: "作废检查", Action.ACCOUNT: "网页账号", Action.CONFIRM: "人工录入反馈卡", Action.CORRECT: "更正反馈卡答案",
    Action.TIE: "反馈卡关联检查编号", Action.REGISTER_IMPORT: "导入外部检查记录", Action.REGISTER_SYNC: "补报共享台账",
    Action.SIGN_IN: "网页登录", Action.SIGN_IN_REFUSED: "网页登录失败",
}


def action_zh(action: str) -> str:
    """An audit entry's action as a clerk reads it (the code itself for one written by a newer version)."""
    try:
        return f"{Action(action).zh}（{action}）"
    except ValueError:
        return action


class IndexCode(StrEnum):
    BEHIND = "ARCHIVE_INDEX_BEHIND"  # the database lacks entries the head/journal prove were made
    LOST = "ARCHIVE_INDEX_LOST"  # an empty database beside an archive that holds documents

    @property
    def zh(self) -> str:
        return INDEX_ZH[self]


INDEX_ZH: dict[IndexCode, str] = {IndexCode.BEHIND: "数据库落后于档案", IndexCode.LOST: "数据库是空的，档案中却有文件"}


class AuditCode(StrEnum):
    ALTERED = "AUDIT_ENTRY_ALTERED"
    CHAIN_BROKEN = "AUDIT_CHAIN_BROKEN"
    SEQ_GAP = "AUDIT_SEQ_GAP"
    TRUNCATED = "AUDIT_TRUNCATED"
    HEAD_MISSING = "AUDIT_HEAD_MISSING"
    HEAD_INVALID = "AUDIT_HEAD_INVALID"  # the head file holds something else than a head record
    HEAD_BEHIND = "AUDIT_HEAD_BEHIND"  # entries after the database's head were not appended by ruqi

    @property
    def zh(self) -> str:
        """What a page that lists only codes (the last 四性检测's audit entry) shows beside each."""
        return AUDIT_ZH[self]


AUDIT_ZH: dict[AuditCode, str] = {
    AuditCode.ALTERED: "审计日志条目被改动", AuditCode.CHAIN_BROKEN: "审计日志前后条目不衔接",
    AuditCode.SEQ_GAP: "审计日志序号不连续", AuditCode.TRUNCATED: "审计日志末尾被删除",
    AuditCode.HEAD_MISSING: "审计日志末条记录不见了", AuditCode.HEAD_INVALID: "审计日志末条记录文件被改动",
    AuditCode.HEAD_BEHIND: "审计日志有不是本程序追加的条目",
}


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: str
    actor: str
    action: str
    object: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "object": self.object, "details": self.details, "prev_hash": self.prev_hash, "hash": self.hash}


def canonical(obj: Any) -> str:
    """The one JSON spelling that is hashed: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(seq: int, at: str, actor: str, action: str, obj: str, details_text: str, prev_hash: str) -> str:
    """SHA-256 of the entry's canonical JSON ``{"action","actor","at","details","object","prev_hash","seq"}``.

    ``details_text`` is the stored canonical JSON of the details; it is spliced in as is, which
    gives exactly ``canonical(body)`` without parsing it again (verify hashes every entry)."""
    def q(v: str) -> str:
        return json.dumps(v, ensure_ascii=False)

    body = (f'{{"action":{q(action)},"actor":{q(actor)},"at":{q(at)},"details":{details_text},'
            f'"object":{q(obj)},"prev_hash":{q(prev_hash)},"seq":{int(seq)}}}')
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Stored(Protocol):
    """An entry as stored (an ``AuditRecord`` or a plain row of the table): ``details`` is text."""

    seq: int
    at: str
    actor: str
    action: str
    object: str
    details: str
    prev_hash: str
    hash: str


def _last(s: Session) -> AuditRecord | None:
    return s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).first()


def last_seq(s: Session) -> int:
    last = _last(s)
    return last.seq if last else 0


def next_seq(s: Session) -> int:
    last = _last(s)
    return last.seq + 1 if last else 1


def append(s: Session, ws: Workspace, action: Action, obj: str, actor: str, details: dict[str, Any], *,
           reset_heads: bool = False) -> AuditRecord:
    """Add one entry inside the caller's transaction, which must hold the archive write lock.

    ``reset_heads`` points both head witnesses at the new entry whatever they say now: only for
    the entry that records a person accepting the log as it stands (``repair``)."""
    return append_many(s, ws, action, [(obj, details)], actor, reset_heads=reset_heads)[0]


def append_many(s: Session, ws: Workspace, action: Action, entries: Sequence[tuple[str, dict[str, Any]]], actor: str,
                *, reset_heads: bool = False) -> list[AuditRecord]:
    """:func:`append` for several entries ``(object, details)`` in a row, with one look at the log's
    last entry, one flush and one move of the witnesses (the state they end in is the one a move
    per entry would leave: each move starts where the previous one ended)."""
    last = _last(s)
    problem = None if reset_heads else index_problem(ws, last.seq if last else 0)
    if problem is not None:  # numbering on from here would reissue serials and 档号 already filed
        raise RuqiError(problem)
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    recs: list[AuditRecord] = []
    for obj, details in entries:
        seq += 1
        at = datetime.now().astimezone().isoformat(timespec="microseconds")
        details_json = canonical(details)
        h = entry_hash(seq, at, actor, str(action), obj, details_json, prev)
        recs.append(AuditRecord(seq=seq, at=at, actor=actor, action=str(action), object=obj, details=details_json,
                                prev_hash=prev, hash=h))
        prev = h
    if not recs:
        return recs
    s.add_all(recs)
    s.flush()
    _advance_heads(s, ws, Head(last.seq, last.hash) if last else None, Head(seq, prev), reset_heads)
    journal.append_after_commit(s, ws, recs)
    return recs


REPAIR_ADVICE = ("为免重复使用已发出的检查编号和档号，程序暂停登记和归档。请运行 ruqi archive repair，从档案中的文件和日志重建数据库；"
                 "或者把最新的数据库备份恢复为 archive/ruqi.sqlite。")


def index_problem(ws: Workspace, db_seq: int) -> Finding | None:
    """Whether the database is behind the archive: the audit head (or, without it, the journal)
    names an entry the database lacks, or the database is empty while the archive holds documents
    (it was deleted, truncated, or replaced by an old backup)."""
    head = read_head(ws)
    known = head.seq if head is not None else journal.last_seq(ws)
    if known > db_seq:
        return error(IndexCode.BEHIND,
                     f"数据库落后于档案：档案中的审计日志已有 {known} 条，数据库中只有 {db_seq} 条（数据库被删除、截断或换成了旧备份）。"
                     + REPAIR_ADVICE, str(ws.archive))
    if db_seq == 0 and _holds_documents(ws):
        return error(IndexCode.LOST, f"数据库是空的，但档案文件夹“{ws.archive}”中已有归档文件（数据库被删除或换掉了）。"
                     + REPAIR_ADVICE, str(ws.archive))
    return None


def index_state(ws: Workspace) -> Finding | None:
    """``index_problem`` for the workspace's database as it is now."""
    with session_or_new(ws, None) as s:  # every command asks: the number alone, not the entry (start-up time)
        return index_problem(ws, s.scalar(select(func.max(AuditRecord.seq))) or 0)


def _holds_documents(ws: Workspace) -> bool:
    """A file in a year folder (``archive/2025/…``) other than a filing's temporary file (the first
    filing of a new workspace writes one before its entry)."""
    try:
        years = [p for p in ws.archive.iterdir() if p.is_dir() and p.name.isdigit()]
    except OSError:
        return False
    for y in years:
        for _dir, _subdirs, files in os.walk(y):
            if any(not f.startswith(TMP_PREFIX) for f in files):
                return True
    return False


def log_action(
    ws: Workspace, action: Action, obj: str, *, actor: str | None = None, details: dict[str, Any] | None = None,
    session: Session | None = None,
) -> Entry:
    """Append an audit entry (generate, reject, override, export, verify …) for ``obj`` (a serial,
    a 档号, a file name), in the caller's transaction when given.  ``details`` must be
    JSON-serialisable; put the hashes of what the action touched in it."""
    with session_or_new(ws, session) as s:
        write_lock(s)
        return to_entry(append(s, ws, action, obj, current_actor(actor), details or {}))


def to_entry(r: Stored) -> Entry:
    try:
        details = json.loads(r.details)
    except (TypeError, ValueError):
        details = {"_unparsable": r.details}
    return Entry(r.seq, r.at, r.actor, r.action, r.object, details, r.prev_hash, r.hash)


def check_chain(items: Iterable[Stored]) -> Iterator[Finding]:
    prev_seq, prev_hash = 0, GENESIS
    for e in items:
        where = f"日志第{e.seq}条"
        if e.seq != prev_seq + 1:
            yield error(AuditCode.SEQ_GAP, f"审计日志序号不连续：第{prev_seq}条之后是第{e.seq}条（有条目被删除或插入）。", where)
        if e.prev_hash != prev_hash:
            yield error(AuditCode.CHAIN_BROKEN,
                        f"审计日志第{e.seq}条与前一条不衔接：记录的前序哈希 {e.prev_hash[:12]}… 应为 {prev_hash[:12]}…"
                        "（条目被删除、插入或调换了顺序）。", where)
        actual = entry_hash(e.seq, e.at, e.actor, e.action, e.object, e.details, e.prev_hash)
        if actual != e.hash:
            yield error(AuditCode.ALTERED,
                        f"审计日志第{e.seq}条（{e.action} {e.object}）的内容与其哈希不符：记录 {e.hash[:12]}…，"
                        f"重算 {actual[:12]}…（条目被改动）。", where)
        prev_seq, prev_hash = e.seq, e.hash


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str


class HeadState(StrEnum):
    ABSENT = "absent"
    INVALID = "invalid"  # present, but not exactly a head record (or not a regular file)
    OK = "ok"


# Said after every head finding: the way out once a person knows why the log is shorter.
ACCEPT_HINT = "查明原因后（例如确是从备份恢复了数据库），可运行 ruqi archive repair --accept-audit-log \"理由\" 记录在案。"
MAX_HEAD_BYTES = 200  # {"seq": n, "hash": "<64 hex>"} is under 100 bytes
_HEX64 = re.compile(r"[0-9a-f]{64}")


def head_path(ws: Workspace) -> Path:
    return ws.archive / HEAD_NAME


def parse_head(data: bytes) -> Head | None:
    """A head record exactly as ``_write_head`` writes it and nothing else: the file is skipped by
    the store check, so it must not be able to carry any other content."""
    if len(data) > MAX_HEAD_BYTES:
        return None
    try:
        d = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(d, dict) or set(d) != {"seq", "hash"}:
        return None
    seq, h = d["seq"], d["hash"]
    if type(seq) is not int or seq < 1 or not isinstance(h, str) or not _HEX64.fullmatch(h):
        return None
    return Head(seq, h)


def head_file(ws: Workspace) -> tuple[HeadState, Head | None, int]:
    """(state, head, size in bytes) of ``archive/.ruqi-audit-head``."""
    p = head_path(ws)
    try:
        st = p.lstat()
    except FileNotFoundError:
        return HeadState.ABSENT, None, 0
    except OSError:
        return HeadState.INVALID, None, 0
    if not stat.S_ISREG(st.st_mode):
        return HeadState.INVALID, None, st.st_size
    try:
        head = parse_head(p.read_bytes()[:MAX_HEAD_BYTES + 1])
    except OSError:
        head = None
    return (HeadState.OK if head else HeadState.INVALID), head, st.st_size


def read_head(ws: Workspace) -> Head | None:
    return head_file(ws)[1]


def db_head(s: Session) -> Head | None:
    rec = s.get(AuditHeadRecord, 1)
    return Head(rec.seq, rec.hash) if rec else None


def check_head(ws: Workspace, by_seq: Mapping[int, Stored], in_db: Head | None) -> Iterator[Finding]:
    """Both head witnesses against the log: each must name an entry the log still has."""
    last = by_seq[max(by_seq)] if by_seq else None
    state, head, size = head_file(ws)
    if state is HeadState.INVALID:
        yield error(AuditCode.HEAD_INVALID,
                    f"{HEAD_NAME} 不是本系统写入的审计日志末条记录（{size} 字节，应只含序号和哈希，且是普通文件）："
                    "它被改动过，或被用来在档案库中夹带其他内容。请核对后从备份恢复，或" + ACCEPT_HINT, HEAD_NAME)
    elif state is HeadState.ABSENT and last is not None:
        yield error(AuditCode.HEAD_MISSING,
                    f"审计日志末条记录文件 {HEAD_NAME} 不见了：日志末尾的条目如果连同它一起被删除，日志看起来仍然完整，"
                    "因此无法确认日志未被截去。请从备份恢复该文件；" + ACCEPT_HINT, HEAD_NAME)
    elif head is not None:
        yield from _head_vs_log(head, by_seq, HEAD_NAME, "档案库中的末条记录")
    where = "数据库末条记录"
    if in_db is None:
        if last is not None:
            yield error(AuditCode.HEAD_MISSING,
                        "数据库中记录审计日志末条的表（archive_audit_head）是空的：有人删除了这条记录，"
                        "因此无法确认日志未被截去。" + ACCEPT_HINT, where)
        return
    yield from _head_vs_log(in_db, by_seq, where, "数据库中的末条记录")
    e = by_seq.get(in_db.seq)
    if last is not None and e is not None and e.hash == in_db.hash and in_db.seq < last.seq:
        yield error(AuditCode.HEAD_BEHIND,
                    f"数据库记录的审计日志末条为第{in_db.seq}条，日志却有 {last.seq} 条：第{in_db.seq + 1}条起的条目"
                    "不是由本系统追加的（直接写入了数据库）。" + ACCEPT_HINT, where)


def _head_vs_log(head: Head, by_seq: Mapping[int, Stored], where: str, who: str) -> Iterator[Finding]:
    e = by_seq.get(head.seq)
    if e is None or e.hash != head.hash:
        last = max(by_seq, default=0)
        yield error(AuditCode.TRUNCATED,
                    f"{who}表明审计日志应至少有 {head.seq} 条且第{head.seq}条哈希为 {head.hash[:12]}…，现有 {last} 条"
                    f"{'' if e is None else '且该条哈希不同'}（日志末尾被截去或改动）。" + ACCEPT_HINT, where)


def check_rows_within(by_seq: Mapping[int, Stored], row_seqs: Iterable[int]) -> Iterator[Finding]:
    """Index rows name the entry that filed them: none may lie beyond the log's last entry."""
    last = max(by_seq, default=0)
    beyond = sorted({q for q in row_seqs if q > last})
    if beyond:
        yield error(AuditCode.TRUNCATED,
                    f"索引中有归档条目记在审计日志第{beyond[0]}条"
                    f"{f'至第{beyond[-1]}条' if len(beyond) > 1 else ''}（共 {len(beyond)} 条），"
                    f"而日志只有 {last} 条：日志末尾被截去。", "索引")


def _advance_heads(s: Session, ws: Workspace, tip: Head | None, new: Head, reset: bool) -> None:
    """Move both witnesses from ``tip`` (the log's last entry before this one) to ``new``; a
    witness that disagrees with the log stays as it is, so the disagreement stays visible."""
    rec = s.get(AuditHeadRecord, 1)
    if rec is None:
        vouches = tip is None or reset
        if vouches:
            s.add(AuditHeadRecord(id=1, seq=new.seq, hash=new.hash))
    else:
        vouches = reset or (tip is not None and (rec.seq, rec.hash) == (tip.seq, tip.hash))
        if vouches:
            rec.seq, rec.hash = new.seq, new.hash
    if reset or _file_may_advance(s, ws, tip, vouches):
        on_commit(s, lambda: _write_head(ws, new.seq, new.hash, force=reset))


def _file_may_advance(s: Session, ws: Workspace, tip: Head | None, db_vouches: bool) -> bool:
    state, head, _ = head_file(ws)
    if state is HeadState.ABSENT:
        return tip is None or db_vouches  # a fresh log, or the database's witness vouches for it
    if head is None or tip is None or head.seq > tip.seq:
        return False
    if head == tip:
        return True
    e = s.get(AuditRecord, head.seq)  # a head one commit behind (written after its commit)
    return e is not None and e.hash == head.hash


def _write_head(ws: Workspace, seq: int, h: str, *, force: bool = False) -> None:
    cur = read_head(ws)
    if cur is not None and cur.seq >= seq and not force:
        return  # another process already wrote a later head
    p = head_path(ws)
    # A .ruqi-tmp- name: a crash before the rename leaves a file repair knows how to clear.
    tmp = p.with_name(f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}")
    tmp.write_text(json.dumps({"seq": seq, "hash": h}), encoding="utf-8")
    os.replace(tmp, p)
