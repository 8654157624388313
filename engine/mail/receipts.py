"""Receipts: a Chinese reply to each sender saying what became of every file they sent.

Sent by SMTP after the inbox has handled the files (``[[mail]] receipts = true``).  Rules:

- only to the message's own From address (exactly one address; never Reply-To, never Cc);
- never to automatic mail (``Auto-Submitted``, ``Precedence: bulk/list``, mailing lists, bounces)
  nor to the mailbox itself; receipts carry ``Auto-Submitted: auto-replied`` (RFC 3834) so two
  robots cannot answer each other;
- at most ``receipts_per_day`` per sender in 24 hours (``engine.provenance.MailReceipt``);
- a sender is told only about their own files, and nothing the register knows about an
  inspection: a card whose serial, QR code or enterprise does not match is answered with a
  neutral sentence, never with the register's enterprise name, dates or 档号.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import func, select

from ..db import session
from ..findings import Findings
from ..inbox import CardCode, Outcome, Reason, Status
from ..provenance import MailReceipt
from ..workspace import Workspace
from .codes import MessageStatus, PartStatus, network_reason
from .config import MailAccount, tls_context
from .outcome import MessageOutcome, PartOutcome

# Findings whose message is about the sender's own file only: safe to repeat to them.
_SAFE_CODES = {str(c) for c in Reason if c is not Reason.GENERATED_COPY} | {
    str(c) for c in (CardCode.ANSWER_BOTH, CardCode.ANSWER_NONE, CardCode.ANSWER_UNCLEAR, CardCode.QUESTION_MISSING,
                     CardCode.HEAD_MISSING, CardCode.POSITION_MISSING, CardCode.PHONE_MISSING, CardCode.PHONE_IMPLAUSIBLE)}
_IDENTITY = {str(c) for c in (CardCode.SERIAL_MISSING, CardCode.SERIAL_UNKNOWN, CardCode.QR_INVALID,
                              CardCode.QR_SERIAL_MISMATCH, CardCode.ENTERPRISE_MISMATCH)}
_SAME = "此前已收到相同内容的文件，无需重复发送。"


def due(acct: MailAccount, m: MessageOutcome) -> str:
    """Why no receipt is sent for this message ("" when one is due)."""
    if not acct.receipts or m.status in (MessageStatus.SEEN_BEFORE, MessageStatus.FAILED):
        return "-"
    if m.automatic:
        return "自动发送的邮件（退信、自动回复、群发），不回执"
    if len(m.from_addresses) != 1:
        return "发件人地址不唯一，不回执"
    if m.from_addresses[0].lower() in (acct.user.lower(), acct.from_address.lower()):
        return "本邮箱自己发出的邮件，不回执"
    return ""


def compose(ws: Workspace, acct: MailAccount, m: MessageOutcome) -> EmailMessage:
    lines = [f"{i}. {p.original_name}：{part_line(p)}" for i, p in enumerate(_shown(m.parts), start=1)]
    if not lines:
        lines = ["邮件中没有找到附件。请把填好的反馈卡（PDF 或 Word）或统计表（Excel）作为附件重新发送；"
                 "网盘链接无法自动收取。"]
    when = f"{m.received_at:%Y-%m-%d %H:%M}" if m.received_at else ""
    phone = ws.config.report_phone
    body = "\n".join([
        "您好！", "",
        f"{ws.config.name}已收到您{f'于 {when} ' if when else ''}发送的邮件“{m.subject or '（无主题）'}”。附件处理结果如下：", "",
        *lines, "",
        "被退回的文件，请按说明修改后重新发送；已归档的文件无需再发。",
        "本邮件由系统自动发送，请勿直接回复。" + (f"如有疑问，请致电 {phone}。" if phone else ""),
    ])
    e = EmailMessage()
    e["From"] = acct.from_address
    e["To"] = m.from_addresses[0]
    e["Subject"] = f"回执：{m.subject or '您的来信'}"[:200]
    e["Date"] = formatdate(localtime=True)
    e["Message-ID"] = make_msgid(domain=acct.from_address.rpartition("@")[2] or None)
    if m.message_id.startswith("<"):
        e["In-Reply-To"] = m.message_id
        e["References"] = m.message_id
    e["Auto-Submitted"] = "auto-replied"
    e.set_content(body + "\n", charset="utf-8")
    return e


def _shown(parts: list[PartOutcome]) -> list[PartOutcome]:
    taken = [p for p in parts if p.status is not PartStatus.SKIPPED]
    return taken or parts


def part_line(p: PartOutcome) -> str:
    if p.status is PartStatus.ALREADY:
        return _SAME
    if p.status in (PartStatus.REFUSED, PartStatus.SKIPPED):
        return f"未收取。{p.message}"
    if p.inbox is None:
        return "已收到，正在处理。"
    return inbox_line(p.inbox)


def inbox_line(o: Outcome) -> str:
    codes = set(o.findings.codes())
    if o.status is Status.DUPLICATE:
        return _SAME
    if o.status is Status.SKIPPED:  # still in the inbox (e.g. waiting for a permission): not handled yet
        return "已收到，正在处理。"
    if codes & _IDENTITY:
        return "已收到。卡片上的检查编号或二维码与本局登记不一致，工作人员将与您联系核实。"
    if Reason.GENERATED_COPY in codes:
        return "未收取：这是本局发出的空白反馈卡，请填写后再发送。"
    said = _said(o.findings)
    if o.status is Status.FILED:
        return "已收到并归档。" + (f"请注意：{said}" if said else "")
    if o.status is Status.NEEDS_REVIEW:
        return "已收到，需工作人员人工核对。" + (f"原因：{said}" if said else "")
    return f"已退回，未归档。原因：{said or '文件无法识别。'}请按原因修改后重新发送。"


def _said(findings: Findings) -> str:
    safe = [f.message for f in findings if f.code in _SAFE_CODES or f.code.startswith("STATS")]
    return "".join(s if s.endswith("。") else s + "。" for s in safe[:5])


def send_receipts(ws: Workspace, acct: MailAccount, messages: list[MessageOutcome], pw: str,
                  now: datetime | None = None) -> None:
    """Send what is due; each message's ``receipt`` says what happened (Chinese).  Never raises."""
    todo: list[MessageOutcome] = []
    for m in messages:
        why = due(acct, m) if m.mailbox == acct.key else "-"
        if not why:
            todo.append(m)
        elif why != "-":
            m.receipt = f"未发回执：{why}"
    if not todo:
        return
    now = now or datetime.now()
    try:
        smtp = _smtp(acct, pw)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
        for m in todo:
            m.receipt = f"回执未发送：无法连接发信服务器 {acct.smtp_host}:{acct.smtp_port}（{network_reason(e)}）"
        return
    try:
        for m in todo:
            to = m.from_addresses[0]
            if _sent_today(ws, to, now) >= acct.receipts_per_day:
                m.receipt = f"回执未发送：今天已给 {to} 发过 {acct.receipts_per_day} 封回执（上限）"
                continue
            try:
                smtp.send_message(compose(ws, acct, m), from_addr=acct.from_address, to_addrs=[to])
            except smtplib.SMTPException as e:
                m.receipt = f"回执发送失败：{network_reason(e)}"
                continue
            with session(ws) as s:
                s.add(MailReceipt(recipient=to.lower(), message_id=m.message_id, sent_at=now))
            m.receipt = f"已发回执给 {to}"
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _sent_today(ws: Workspace, to: str, now: datetime) -> int:
    with session(ws) as s:
        return int(s.scalar(select(func.count(MailReceipt.id)).where(
            MailReceipt.recipient == to.lower(), MailReceipt.sent_at > now - timedelta(days=1))) or 0)


def _smtp(acct: MailAccount, pw: str) -> smtplib.SMTP:
    ctx = tls_context(acct)
    if acct.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(acct.smtp_host, acct.smtp_port, context=ctx, timeout=60)
    else:
        smtp = smtplib.SMTP(acct.smtp_host, acct.smtp_port, timeout=60)
        if acct.smtp_security == "starttls":
            smtp.starttls(context=ctx)
    smtp.ehlo_or_helo_if_needed()
    if smtp.has_extn("auth"):
        smtp.login(acct.user, pw)
    return smtp
