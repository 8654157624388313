"""Fetching from IMAP (IMAPClient; no hand-parsed IMAP) and handing attachments to the inbox.

Per group of messages fetched together (up to ``BODY_BATCH_BYTES``), in this order, so that a
crash at any point loses nothing and files nothing twice:

1. ``BODY.PEEK[]`` (the messages stay unread for the clerk's own mail client);
2. ``unpack`` each (``engine.mail.unpack``);
3. write each attachment to ``<workspace>/.mail-staging/`` (outside what the inbox scans),
   fsync, and give it the server's received time as its file time;
4. commit their provenance to the database (``engine.provenance``), keyed by SHA-256, in one
   transaction;
5. rename them into ``inbox/`` (atomic; a name already holding the same bytes is not written
   again; bytes already archived are not written at all);
6. remember the Message-IDs as processed (database), then mark the messages on the server: the
   keyword ``RuqiProcessed`` and, when ``processed_folder`` is set, a move into that folder.

A crash before 6 re-fetches the message next time: its attachments are either still in the
inbox under the same name (not written again) or already archived (``already_received``), so
nothing is filed twice.  The database, not the server flag, is the authority: a message whose
Message-ID is known is only marked again (``seen_before``), in whichever mailbox it arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import __version__
from ..archive.models import ItemRecord
from ..db import session
from ..findings import RuqiError, error, exception_detail
from ..inbox.shelve import target_for
from ..provenance import MailMessage, MailSource, Source, processed_ids, record_source
from ..workspace import Limits, Workspace
from .codes import ConfigCode, MailCode, MessageStatus, PartStatus, network_reason
from .config import MailAccount, password, tls_context
from .outcome import MessageOutcome, PartOutcome
from .unpack import Unpacked, unpack

PROCESSED_FLAG = "RuqiProcessed"
STAGING = ".mail-staging"
META_BATCH = 200  # messages whose size and Message-ID are asked for at once
BODY_BATCH_BYTES = 8 << 20  # bodies fetched together up to this many bytes
FAULT_ENV = "RUQI_MAIL_FAULT"  # crash tests: the named point kills this process with SIGKILL


def max_message_bytes(ws: Workspace) -> int:
    """Messages larger than this are not downloaded: one attachment may be max_file_mb, base64 adds a third."""
    return int(ws.config.limits.max_file_mb * 4 * 1024 * 1024)


def connect(acct: MailAccount, pw: str) -> Any:
    """A logged-in IMAPClient with the folder selected; RuqiError with a Chinese finding otherwise."""
    from imapclient import IMAPClient
    from imapclient.exceptions import LoginError

    try:
        ctx = tls_context(acct)
        client = IMAPClient(acct.host, port=acct.port, ssl=acct.security == "tls", ssl_context=ctx, timeout=60)
        if acct.security == "starttls":
            client.starttls(ctx)
    except ssl.SSLCertVerificationError as e:
        raise RuqiError(error(ConfigCode.CERTIFICATE, f"邮件服务器 {acct.host} 的证书无法验证（{e.verify_message}）。"
                                                      f"如果本单位邮件服务器使用自建证书，请向信息中心要根证书文件，放入工作目录，"
                                                      f"在 [[mail]] 中用 ca_file 指定；否则可能连到了冒充的服务器。", acct.key)) from e
    except (OSError, ssl.SSLError) as e:
        raise RuqiError(error(ConfigCode.CONNECT, f"无法连接邮件服务器 {acct.host}:{acct.port}（{network_reason(e)}）。请检查网络、服务器地址、端口和加密方式。",
                              acct.key, exception_detail(e))) from e
    try:
        client.login(acct.user, pw)
    except LoginError as e:
        _logout(client)
        raise RuqiError(error(ConfigCode.LOGIN, f"邮箱 {acct.user} 登录失败：账号或密码（授权码）不对。"
                                                f"QQ、163 等邮箱需在网页版设置中开启 IMAP 并使用“授权码”作为密码。", acct.key)) from e
    with contextlib.suppress(Exception):
        # 163/126 mail refuse to select a folder ("Unsafe Login") until the client names itself.
        if client.has_capability("ID"):
            client.id_({"name": "ruqi", "version": __version__})
    try:
        client.select_folder(acct.folder)
    except Exception as e:
        _logout(client)
        raise RuqiError(error(ConfigCode.FOLDER, f"邮箱 {acct.user} 中没有文件夹“{acct.folder}”。", acct.key)) from e
    return client


def _logout(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.logout()


def fetch_account(ws: Workspace, acct: MailAccount, on_message: Callable[[MessageOutcome], None] | None = None,
                  pw: str | None = None) -> list[MessageOutcome]:
    """Process every message of one mailbox not processed yet.  Raises RuqiError only for the mailbox
    as a whole (password, connection, login, folder); each message gets its own outcome."""
    client = connect(acct, pw if pw is not None else password(ws, acct))
    out: list[MessageOutcome] = []
    try:
        uids = sorted(client.search(["UNKEYWORD", PROCESSED_FLAG]))
        for k in range(0, len(uids), META_BATCH):
            for m in _batch(ws, acct, client, uids[k:k + META_BATCH]):
                out.append(m)
                if on_message is not None:
                    on_message(m)
    finally:
        _logout(client)
    return out


def _batch(ws: Workspace, acct: MailAccount, client: Any, uids: list[int]) -> Iterable[MessageOutcome]:
    meta = client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    ids = {uid: _message_id(meta[uid]) for uid in uids if uid in meta}
    with session(ws) as s:
        known = processed_ids(s, [m for m in ids.values() if m])
    pending: list[tuple[int, datetime]] = []
    done: list[MessageOutcome] = []
    for uid in uids:
        if uid not in meta:
            continue  # expunged meanwhile
        received = meta[uid].get(b"INTERNALDATE")
        mid = ids[uid]
        if mid and mid in known:
            m = MessageOutcome(acct.key, uid, mid, received_at=received, status=MessageStatus.SEEN_BEFORE)
            m.findings.append(error(MailCode.SEEN_BEFORE, "这封邮件（相同 Message-ID）已经处理过，例如发到了本局的另一个邮箱，不再重复处理。"))
            done.append(m)
        elif meta[uid].get(b"RFC822.SIZE", 0) > max_message_bytes(ws):
            done.append(_too_large(ws, acct, client, uid, mid, received, meta[uid][b"RFC822.SIZE"]))
        else:
            pending.append((uid, received))
    _mark(client, acct, [m.uid for m in done])
    yield from done
    for group in _size_groups(pending, meta):
        bodies = client.fetch([u for u, _ in group], ["BODY.PEEK[]"])
        work: list[Work] = []
        for uid, received in group:
            raw = bodies.get(uid, {}).get(b"BODY[]")
            if raw is None:
                m = MessageOutcome(acct.key, uid, ids.get(uid, ""), received_at=received, status=MessageStatus.FAILED)
                m.findings.append(error(MailCode.FETCH_FAILED, "服务器没有返回这封邮件的内容，下次再试。"))
                yield m
                continue
            work.append(read_message(acct, uid, raw, received or datetime.now(), ws.config.limits))
        save_group(ws, work)
        handled = [w.outcome for w in work]
        # The group's attachments are all in the inbox with their provenance: only now remember and mark.
        fault("after_save")
        _remember(ws, *handled)
        _mark(client, acct, [m.uid for m in handled])
        yield from handled


def _size_groups(pending: list[tuple[int, datetime]], meta: dict[int, Any]) -> Iterable[list[tuple[int, datetime]]]:
    group: list[tuple[int, datetime]] = []
    size = 0
    for item in pending:
        n = meta[item[0]].get(b"RFC822.SIZE", 0)
        if group and size + n > BODY_BATCH_BYTES:
            yield group
            group, size = [], 0
        group.append(item)
        size += n
    if group:
        yield group


def _message_id(meta: dict[bytes, Any]) -> str:
    raw = next((v for k, v in meta.items() if k.startswith(b"BODY[HEADER")), b"")
    try:
        return str(message_from_bytes(raw or b"", policy=policy.default).get("Message-ID", "") or "").strip()[:500]
    except Exception:
        return ""


def _too_large(ws: Workspace, acct: MailAccount, client: Any, uid: int, mid: str, received: datetime | None,
               size: int) -> MessageOutcome:
    # Only the headers are read: who sent it and what about, so a person can deal with it.
    head = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]", b"")
    env = unpack(head or b"", ws.config.limits, fallback_id=mid or f"<uid-{uid}@{acct.key}>").envelope
    m = MessageOutcome(acct.key, uid, env.message_id, env.sender, env.subject, received, MessageStatus.ATTENTION,
                       from_addresses=env.from_addresses, automatic=env.automatic)
    limit = max_message_bytes(ws) / 1048576
    m.findings.append(error(MailCode.TOO_LARGE, f"邮件太大（{size / 1048576:.1f} MB，上限 {limit:g} MB），未下载。"
                                                f"请在邮箱中打开，确认附件后另存到收件箱。"))
    m.note = f"{env.sender}：“{env.subject}”太大未下载，请在邮箱中人工处理。"
    _remember(ws, m)
    return m


def read_message(acct: MailAccount, uid: int, raw: bytes, received: datetime, limits: Limits) -> Work:
    """Unpack one message (no I/O): its outcome so far, the parts, and the provenance to record."""
    fallback = "<sha256-" + hashlib.sha256(raw).hexdigest()[:32] + "@ruqi>"
    u = unpack(raw, limits, fallback_id=fallback)
    env = u.envelope
    m = MessageOutcome(acct.key, uid, env.message_id, env.sender, env.subject, received,
                       from_addresses=env.from_addresses, automatic=env.automatic)
    m.findings.extend(u.findings)
    src = Source(env.sender, env.recipients, env.recipient_count, env.date_header, received, env.message_id,
                 env.subject, "", acct.key)
    return Work(m, u, src)


@dataclass(slots=True)
class Work:
    outcome: MessageOutcome
    unpacked: Unpacked
    source: Source


def save_group(ws: Workspace, group: list[Work]) -> None:
    """Put the attachments of several messages into the inbox: staged and fsynced, provenance
    committed in one transaction, then renamed into ``inbox/`` (one directory fsync)."""
    staged: list[tuple[Path, Path]] = []
    staging = ws.root / STAGING
    shas = {hashlib.sha256(p.data).hexdigest() for w in group for p in w.unpacked.parts
            if p.status is PartStatus.SAVED and p.data is not None}
    plan = _Plan(ws.inbox, staging)
    with session(ws) as s:
        plan.archived = _archived(s, shas)
        for w in group:
            w.outcome.parts = plan.stage(w.unpacked, w.source)
            for po in w.outcome.parts:
                if po.sha256:
                    record_source(s, po.sha256, _with_name(w.source, po.original_name), po.saved_as)
        staged = plan.staged
    for tmp, target in staged:
        os.rename(tmp, target)
    if staged:
        _fsync_dir(ws.inbox)
    for w in group:
        w.outcome.status, w.outcome.note = _verdict(w.unpacked, w.outcome)


class _Plan:
    """Each part's fate: already archived, already waiting in the inbox, or a new file staged for it."""

    def __init__(self, inbox: Path, staging: Path):
        self.inbox, self.staging = inbox, staging
        self.archived: dict[str, str] = {}
        self.staged: list[tuple[Path, Path]] = []
        self.reserved: dict[Path, str] = {}  # inbox names promised in this group
        self.names: dict[str, str] = {}  # sha256 -> the inbox name its bytes got in this group

    def stage(self, u: Unpacked, src: Source) -> list[PartOutcome]:
        outs: list[PartOutcome] = []
        for p in u.parts:
            po = PartOutcome(p.original_name, p.status, p.code, p.message)
            outs.append(po)
            if p.status is PartStatus.SAVED and p.data is not None:
                self._one(po, p.inbox_name, p.data, src.received_at)
        return outs

    def _one(self, po: PartOutcome, name: str, data: bytes, received: datetime) -> None:
        po.sha256 = hashlib.sha256(data).hexdigest()
        if po.sha256 in self.archived:
            po.status, po.code = PartStatus.ALREADY, str(MailCode.ALREADY_RECEIVED)
            po.message = f"此前已收到相同内容的文件（{self.archived[po.sha256]}），不再重复收取。"
            return
        if po.sha256 in self.names:  # the same bytes twice in this group: one file, one outcome
            po.saved_as = self.names[po.sha256]
            return
        target, there = target_for(self.inbox, name, po.sha256, self.reserved)
        self.reserved[target] = po.sha256
        self.names[po.sha256] = po.saved_as = target.name
        if there:
            return  # the same bytes wait in the inbox under this name (a re-fetch after a crash)
        self.staging.mkdir(exist_ok=True)
        tmp = self.staging / f"{os.getpid()}-{len(self.staged)}-{po.sha256[:16]}"
        _write(tmp, data, received)
        self.staged.append((tmp, target))


def _with_name(src: Source, name: str) -> Source:
    return Source(src.sender, src.recipients, src.recipient_count, src.date_header, src.received_at, src.message_id,
                  src.subject, name, src.mailbox)


def _write(path: Path, data: bytes, received: datetime) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    # The file's time is the server's received time too: the inbox's fallback if the database row were gone.
    t = received.timestamp()
    os.utime(path, (t, t))


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _archived(s: Session, shas: set[str]) -> dict[str, str]:
    if not shas:
        return {}
    rows = s.execute(select(ItemRecord.sha256, ItemRecord.archival_code).where(ItemRecord.sha256.in_(sorted(shas))))
    return {sha: code for sha, code in rows}


def _verdict(u: Unpacked, m: MessageOutcome) -> tuple[MessageStatus, str]:
    who = f"{m.sender or '（无发件人）'}：“{m.subject or '（无主题）'}”"
    if u.refused:
        return MessageStatus.ATTENTION, f"{who} 未能取出附件（{'；'.join(f.message for f in u.findings if f.is_error)}）"
    taken = [p for p in m.parts if p.status in (PartStatus.SAVED, PartStatus.ALREADY)]
    refused = [p for p in m.parts if p.status is PartStatus.REFUSED]
    links = u.cloud_links
    if links:
        m.findings.append(error(MailCode.CLOUD_LINK, f"正文中有网盘链接（{'、'.join(links)}），附件需要人工下载后放入收件箱。"))
    if not taken and not refused:
        if not links:
            m.findings.append(error(MailCode.NO_ATTACHMENT, "这封邮件没有可收取的附件（只有正文）。"))
        return MessageStatus.ATTENTION, f"{who} 没有可收取的附件" + (f"，正文中有网盘链接：{'、'.join(links)}" if links else "") + "，请人工查看。"
    if refused or links:
        what = "；".join(f"{p.original_name}：{p.message}" for p in refused)
        return MessageStatus.ATTENTION, f"{who} 部分附件需人工处理：{what or '正文中的网盘链接'}"
    return MessageStatus.PROCESSED, ""


def _remember(ws: Workspace, *ms: MessageOutcome) -> None:
    if not ms:
        return
    with session(ws) as s:
        known = processed_ids(s, [m.message_id for m in ms])
        for m in ms:
            if m.message_id in known:
                continue
            known.add(m.message_id)
            s.add(MailMessage(message_id=m.message_id, mailbox=m.mailbox, sender=m.sender[:500], subject=m.subject,
                              received_at=m.received_at, status=str(m.status),
                              code=next((f.code for f in m.findings if f.is_error), ""), note=m.note,
                              attachments=sum(p.status is PartStatus.SAVED for p in m.parts)))


def _mark(client: Any, acct: MailAccount, uids: list[int]) -> None:
    if not uids:
        return
    client.add_flags(uids, [PROCESSED_FLAG])
    if acct.processed_folder:
        folder = _folder(client, acct.processed_folder)
        if client.has_capability("MOVE"):
            client.move(uids, folder)
        else:  # RFC 3501 servers without MOVE: copy, then delete the originals
            client.copy(uids, folder)
            client.delete_messages(uids)
            if client.has_capability("UIDPLUS"):
                client.expunge(uids)
            else:
                client.expunge()


def _folder(client: Any, name: str) -> str:
    """``ruqi/已收`` with the server's own hierarchy separator; created when missing (IMAPClient
    encodes the Chinese name in IMAP's modified UTF-7)."""
    try:
        sep = client.namespace().personal[0][1]
        sep = sep.decode() if isinstance(sep, bytes) else (sep or "/")
    except Exception:
        sep = "/"
    folder = name.replace("/", sep)
    if not client.folder_exists(folder):
        client.create_folder(folder)
    return folder


def waiting(ws: Workspace) -> set[str]:
    """Names in inbox/ that an earlier fetch saved and no ingest has taken yet (a run killed in between)."""
    present = {p.name for p in ws.inbox.iterdir() if p.is_file()}
    if not present:
        return set()
    with session(ws) as s:
        names = set(s.scalars(select(MailSource.saved_as).where(MailSource.saved_as.in_(sorted(present)))))
    return names & present


def fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def attention(ws: Workspace) -> list[MailMessage]:
    """Messages set aside for a person, newest first."""
    with session(ws) as s:
        return list(s.scalars(select(MailMessage).where(MailMessage.status == str(MessageStatus.ATTENTION))
                              .order_by(MailMessage.received_at.desc(), MailMessage.id.desc())))
