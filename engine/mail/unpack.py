"""Taking a message apart: its envelope (the provenance) and every attachment that could be a return.

No network, no database, no files of ours: ``unpack(raw, limits)`` turns the bytes of one message into an
``Unpacked`` value.  It never raises; what it could not take is a ``Part`` with a code and a
Chinese message, and the caller goes on with the next message.

What Chinese mail clients send, and what is done with it:

- file names as RFC 2231 (``filename*=GBK''…``) or RFC 2047 (``"=?GBK?B?…?="``, Outlook and Foxmail),
  in GBK/GB18030/UTF-8: decoded by the ``email`` package (``policy.default``); raw 8-bit names (no
  encoding at all, some webmail) are re-read from the header's bytes as UTF-8, else GB18030;
- ``application/octet-stream`` for everything: the type is judged by the content's magic bytes,
  then by the name;
- a body in GB2312 whose characters are really GBK/GB18030: decoded with GB18030 (a superset);
- TNEF (``winmail.dat``, ``application/ms-tnef``) from Outlook: opened with ``tnefparse``;
- forwarded mails (``message/rfc822``, or an attached ``.eml``), zip and RAR files and inline images
  (a photo pasted into the body) are opened; zip and RAR go through one path (``_Walker.archive``):
  nesting stops at ``MAX_DEPTH`` levels, an archive at ``MAX_ZIP_MEMBERS`` members, or when the
  sizes it declares, or what it really unpacks (read as a stream: declared sizes are not trusted),
  exceed ``[limits] max_unzipped_mb``; member names only label a part, the inbox gets the last
  component made safe (``Part.inbox_name``), so ``../x.pdf`` is ``x.pdf``;
- zip member names in GBK when the zip does not say UTF-8; RAR 4 names without the Unicode flag
  (WinRAR < 5, 好压, 360压缩) are the sender's code page, read as UTF-8, else GB18030; RAR 5 names are UTF-8;
- RAR is read with ``rarfile``, which needs a Debian tool for compressed members (``unar``, or
  ``bsdtar`` from libarchive-tools; ``scripts/setup.sh`` installs unar).  Without one, every RAR
  (stored or not) is refused with ``MAIL_RAR_UNSUPPORTED`` and the message is listed for a person.
  rarfile hands a compressed member to the tool via a temporary file: the only files this module
  causes to be written;
- 7z is not opened (py7zr would bring several compiled codec packages for a format senders rarely
  use): refused with ``MAIL_RAR_UNSUPPORTED`` too, with its own message.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from pathlib import PurePosixPath
from typing import IO

import rarfile

from ..findings import Finding, error, exception_detail, exception_reason, warning
from ..inbox.codes import Reason
from ..inbox.preflight import safe_name, sniff
from ..workspace import Limits
from .codes import MailCode, PartStatus

MAX_DEPTH = 3  # forwarded-in-forwarded-in-zip is as deep as real returns go
MAX_PARTS = 500  # MIME leaves per message; 5,000 attachments is an attack, not a return
MAX_ZIP_MEMBERS = 200
MAX_BODY_CHARS = 20_000  # body text kept for the cloud-link check

RETURN_EXTENSIONS = {".pdf", ".docx", ".xlsx", ".xls", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".heic", ".heif",
                     ".doc", ".wps", ".et", ".bmp", ".gif", ".webp", ".ofd"}
ARCHIVE_EXTENSIONS = {".zip"}
UNSUPPORTED_ARCHIVES = {".7z"}
RAR_MAGIC = b"Rar!\x1a\x07"  # RAR 4 and RAR 5 alike
# Attachments that are never returns: signatures, contact cards, calendar invites, mail-client clutter.
NOT_RETURNS = {".p7s", ".p7m", ".asc", ".sig", ".vcf", ".ics", ".txt", ".htm", ".html", ".url", ".lnk", ".exe", ".bat",
               ".js", ".css", ".xml", ".json", ".log"}
CLOUD_LINK = re.compile(r"(pan\.baidu\.com|share\.weiyun\.com|wx\.mail\.qq\.com/ftn|mail\.qq\.com/cgi-bin/ftnExs|"
                        r"aliyundrive\.com|alipan\.com|quark\.cn|115\.com|lanzou\w*\.com|cowtransfer\.com|"
                        r"dl\.email\.163\.com|mail\.163\.com/large|fs\.126\.com|caiyun\.139\.com)", re.I)
_HEIC_BRANDS = (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftypheif")


@dataclass(frozen=True, slots=True)
class Envelope:
    message_id: str
    sender: str  # "Name <addr>" as decoded
    from_addresses: tuple[str, ...]  # the bare addresses of From (receipts go only there)
    recipients: tuple[str, ...]  # To + Cc, bare addresses
    date_header: str
    subject: str
    automatic: bool  # auto-reply, bounce or list mail: never answered

    @property
    def recipient_count(self) -> int:
        return len(self.recipients)


@dataclass(slots=True)
class Part:
    """One attachment: what it was called, its bytes (when taken), and what became of it."""

    original_name: str  # as the sender named it; "a.zip/卡.pdf" for a member, "转发.eml/卡.pdf" when forwarded
    data: bytes | None
    status: PartStatus
    code: str = ""
    message: str = ""  # Chinese

    @property
    def inbox_name(self) -> str:
        """A safe name for inbox/: the last path component only, no separators or control characters."""
        last = re.split(r"[/\\]", self.original_name.rstrip("/\\"))[-1]
        return safe_name(last or "附件")


@dataclass(slots=True)
class Unpacked:
    envelope: Envelope
    parts: list[Part] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the message as a whole
    body_text: str = ""
    refused: bool = False  # the message as a whole cannot be taken (too many parts, malformed)

    @property
    def saved(self) -> list[Part]:
        return [p for p in self.parts if p.status is PartStatus.SAVED]

    @property
    def cloud_links(self) -> list[str]:
        return sorted({m.group(0) for m in CLOUD_LINK.finditer(self.body_text)})


def unpack(raw: bytes, limits: Limits, fallback_id: str = "") -> Unpacked:
    """Take one message apart (see the module docstring).  Never raises."""
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        env = envelope(msg, fallback_id)
    except Exception as e:  # a header so broken the parser gives up: nothing can be trusted
        env = Envelope(fallback_id, "", (), (), "", "", False)
        out = Unpacked(env, refused=True)
        out.findings.append(error(MailCode.MALFORMED, f"邮件结构无法解析（{exception_reason(e)}），未取出附件。请人工打开这封邮件查看。",
                                  detail=exception_detail(e)))
        return out
    out = Unpacked(env)
    if len(env.recipients) > 50:
        out.findings.append(warning(MailCode.MANY_RECIPIENTS, f"这封邮件有 {len(env.recipients)} 个收件人，来源记录只保留前 50 个。"))
    leaves = _count_leaves(msg)
    if leaves > MAX_PARTS:
        out.refused = True
        out.findings.append(error(MailCode.TOO_MANY_PARTS, f"这封邮件有 {leaves} 个部分（上限 {MAX_PARTS}），不像是交回的反馈卡或统计表，"
                                                           "未取出附件。请人工核实发件人。"))
        return out
    try:
        _Walker(out, limits).message(msg, "", 0)
    except Exception as e:  # a MIME tree the parser accepted but cannot walk: keep what was taken
        out.findings.append(error(MailCode.MALFORMED, f"邮件结构有错误（{exception_reason(e)}），部分附件可能未取出。请人工打开这封邮件核对。",
                                  detail=exception_detail(e)))
    if getattr(msg, "defects", None):
        kinds = sorted({type(d).__name__ for d in msg.defects})  # the email package's defect classes: for developers
        out.findings.append(warning(MailCode.MIME_DEFECTS, f"邮件格式不规范（{len(kinds)} 类问题），已尽量读取。",
                                    detail="、".join(kinds)))
    return out


# ---- the envelope ----------------------------------------------------------------------------------


def envelope(msg: EmailMessage, fallback_id: str = "") -> Envelope:
    mid = _header(msg, "Message-ID").strip() or fallback_id
    from_raw = _header(msg, "From")
    addrs = tuple(a for _, a in getaddresses([from_raw]) if "@" in a)
    rcpt = tuple(a for _, a in getaddresses([_header(msg, "To"), _header(msg, "Cc")]) if a)
    auto = (_header(msg, "Auto-Submitted").lower() not in ("", "no")
            or _header(msg, "Precedence").lower() in ("bulk", "list", "junk")
            or bool(_header(msg, "List-Id")) or not addrs or parseaddr(from_raw)[1].lower().startswith("mailer-daemon"))
    return Envelope(mid[:500], from_raw[:500], addrs, rcpt, _header(msg, "Date")[:200], _header(msg, "Subject")[:1000], auto)


def _header(msg: Message, name: str) -> str:
    """A header as text; raw 8-bit headers (no RFC 2047) are read as UTF-8, else GB18030."""
    try:
        v = msg.get(name)
    except Exception:
        v = None
    if v is None:
        return ""
    s = str(v)
    if "\ufffd" in s or _has_surrogates(s):
        raw = _raw_header(msg, name)
        if raw is not None:
            return _bytes_text(raw).strip()
    return " ".join(s.split())


def _raw_header(msg: Message, name: str) -> bytes | None:
    for k, v in msg.raw_items():
        if k.lower() == name.lower():
            return v.encode("ascii", "surrogateescape") if isinstance(v, str) else None
    return None


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in s)


def _bytes_text(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("gb18030", errors="replace")


def filename(part: Message) -> str:
    """The attachment's name however the client encoded it ("" when it has none)."""
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    if name and "\ufffd" not in name and not _has_surrogates(name):
        return _collapse(name)
    # Raw 8-bit parameter: re-read the header's bytes in the encoding Chinese clients use.
    for h in ("Content-Disposition", "Content-Type"):
        raw = _raw_header(part, h)
        if raw is None:
            continue
        legacy = Message()
        legacy[h] = _bytes_text(raw)
        n = legacy.get_filename() if h == "Content-Disposition" else legacy.get_param("name")
        if isinstance(n, tuple):
            n = n[2]
        if n:
            return _collapse(str(n))
    return _collapse(name)


def _collapse(name: str) -> str:
    # Encoded words glued inside a quoted string (seen from some Outlook versions) and stray whitespace.
    if "=?" in name:
        with contextlib.suppress(Exception):
            name = str(make_header(decode_header(name)))
    return " ".join(name.replace("\r", " ").replace("\n", " ").split())


def body_text(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = (part.get_content_charset() or "utf-8").lower()
    if charset in ("gb2312", "gbk", "x-gbk", "gb_2312-80", "euc-cn", "cp936"):
        charset = "gb18030"  # what "GB2312" mail really contains
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return _bytes_text(payload)


def _count_leaves(msg: Message) -> int:
    n = 0
    stack = [msg]
    while stack and n <= MAX_PARTS:
        m = stack.pop()
        if m.is_multipart():
            payload = m.get_payload()
            stack.extend(payload if isinstance(payload, list) else [])
        else:
            n += 1
    return n


# ---- walking the tree ------------------------------------------------------------------------------


class _Walker:
    def __init__(self, out: Unpacked, limits: Limits):
        self.out = out
        self.limits = limits
        self.budget = int(limits.max_unzipped_mb * 1024 * 1024)  # bytes all unpacking of this message may produce
        self.images = 0

    def add(self, name: str, data: bytes | None, status: PartStatus, code: str = "", message: str = "") -> None:
        self.out.parts.append(Part(name, data, status, str(code), message))

    def message(self, msg: Message, prefix: str, depth: int) -> None:
        for part in _leaves_and_messages(msg):
            self.part(part, prefix, depth)

    def part(self, part: Message, prefix: str, depth: int) -> None:
        ctype = part.get_content_type()
        name = filename(part)
        disposition = (part.get_content_disposition() or "").lower()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            label = prefix + (name or f"转发邮件{_subject_of(inner_msg)}.eml") + "/"
            self.nested_message(inner_msg, label, depth + 1)
            return
        if ctype.startswith("text/") and not name and disposition != "attachment":
            if len(self.out.body_text) < MAX_BODY_CHARS:
                self.out.body_text += body_text(part)[:MAX_BODY_CHARS] + "\n"
            return
        if ctype.startswith("multipart/"):
            return  # an empty multipart: nothing in it
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        if not name:
            name = self._unnamed(ctype, data)
        self.consider(prefix + name, data, depth, ctype)

    def nested_message(self, msg: Message | None, label: str, depth: int) -> None:
        if msg is None:
            self.add(label.rstrip("/"), None, PartStatus.REFUSED, MailCode.MALFORMED, "转发的邮件是空的或已损坏，未能打开。")
            return
        if depth > MAX_DEPTH:
            self.add(label.rstrip("/"), None, PartStatus.REFUSED, MailCode.NESTED_TOO_DEEP,
                     f"转发/压缩嵌套超过 {MAX_DEPTH} 层，未再打开。请让发件人直接发送附件。")
            return
        self.message(msg, label, depth)

    def _unnamed(self, ctype: str, data: bytes) -> str:
        # An inline image (a photo pasted into the body) has no name: give it one by its type.
        self.images += 1
        ext = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/heic": ".heic",
               "application/pdf": ".pdf", "image/tiff": ".tif"}.get(ctype, "")
        if not ext and sniff(data[:1024]) == "pdf":
            ext = ".pdf"
        return f"正文图片{self.images}{ext}" if ctype.startswith("image/") else f"未命名附件{self.images}{ext}"

    def consider(self, name: str, data: bytes, depth: int, ctype: str = "") -> None:
        ext = PurePosixPath(re.split(r"[/\\]", name)[-1].lower()).suffix
        if not data:
            self.add(name, None, PartStatus.SKIPPED, MailCode.EMPTY_PART, "附件是空的（0字节），没有内容可以收取。")
            return
        magic = sniff(data[:1024])
        if ctype == "application/ms-tnef" or ext == ".dat" and data[:4] == b"\x78\x9f\x3e\x22":
            self.tnef(name, data, depth)
            return
        if ctype == "message/rfc822" or ext == ".eml":
            self.nested_message(_parse(data), name + "/", depth + 1)
            return
        if magic == "zip" and (ext in ARCHIVE_EXTENSIONS or not _is_office(data)):
            self.zip(name, data, depth)
            return
        if data[:6] == RAR_MAGIC or ext == ".rar":
            self.rar(name, data, depth)
            return
        if ext in UNSUPPORTED_ARCHIVES or data[:4] == b"7z\xbc\xaf":
            self.add(name, data, PartStatus.REFUSED, MailCode.RAR_UNSUPPORTED,
                     "7z 压缩包不能自动解压。请工作人员解压后把其中的文件放入收件箱，或请发件人直接发送文件（或 zip、rar）。")
            return
        if len(data) > self.limits.max_file_mb * 1024 * 1024:
            self.add(name, None, PartStatus.REFUSED, Reason.TOO_LARGE,
                     f"附件太大（{len(data) / 1048576:.1f} MB，上限 {self.limits.max_file_mb:g} MB）。"
                     "反馈卡一般不超过 1 MB，请确认文件后压缩或重新导出再发送。")
            return
        if magic in ("pdf", "image", "ole", "zip") or data[4:12] in _HEIC_BRANDS or ext in RETURN_EXTENSIONS:
            self.add(name, data, PartStatus.SAVED)
            return
        if ext in NOT_RETURNS or ctype.startswith("text/") or ctype in ("application/pkcs7-signature", "text/calendar"):
            self.add(name, None, PartStatus.SKIPPED, MailCode.NOT_A_RETURN, "这个附件不是反馈卡或统计表（签名、名片、日程或文本），未收取。")
            return
        # Unknown content under an unknown name: the inbox says what it is not, with its usual reason.
        self.add(name, data, PartStatus.SAVED)

    def tnef(self, name: str, data: bytes, depth: int) -> None:
        if depth + 1 > MAX_DEPTH:
            self.add(name, None, PartStatus.REFUSED, MailCode.NESTED_TOO_DEEP, f"嵌套超过 {MAX_DEPTH} 层，未再打开。")
            return
        try:
            from tnefparse import TNEF

            t = TNEF(data)
            found = [(_tnef_name(a), a.data) for a in t.attachments]
        except Exception:
            self.add(name, None, PartStatus.REFUSED, MailCode.TNEF_UNREADABLE,
                     "Outlook 的 winmail.dat 无法打开。请让发件人把 Outlook 设为“HTML/纯文本”格式后重新发送。")
            return
        if not found:
            self.add(name, None, PartStatus.SKIPPED, MailCode.NOT_A_RETURN, "Outlook 的 winmail.dat 中没有附件。")
            return
        for inner, blob in found:
            if isinstance(inner, bytes):
                inner = _bytes_text(inner)
            self.consider(f"{name}/{inner.strip(chr(0)) or '附件'}", bytes(blob or b""), depth + 1)

    def zip(self, name: str, data: bytes, depth: int) -> None:
        self.archive(name, data, depth, _zip_members, ZIP_ERRORS)

    def rar(self, name: str, data: bytes, depth: int) -> None:
        if not rar_backend():
            self.add(name, data, PartStatus.REFUSED, MailCode.RAR_UNSUPPORTED,
                     "本机没有安装 RAR 解压工具（unar 或 bsdtar），这个 RAR 压缩包未能自动解开。请工作人员解压后把其中的文件"
                     "放入收件箱；请管理员安装 unar（sudo apt-get install unar），以后的 RAR 附件即可自动解开。")
            return
        self.archive(name, data, depth, _rar_members, RAR_ERRORS)

    def archive(self, name: str, data: bytes, depth: int, members_of: Callable[[bytes], list[_Member]],
                errors: tuple[type[BaseException], ...]) -> None:
        """Open a zip or RAR the same way: depth, member count, declared then actual size, names kept as labels."""
        if depth + 1 > MAX_DEPTH:
            self.add(name, None, PartStatus.REFUSED, MailCode.NESTED_TOO_DEEP,
                     f"压缩包嵌套超过 {MAX_DEPTH} 层，未再打开。请把文件直接放在一个压缩包里发送。")
            return
        try:
            members = members_of(data)
        except rarfile.PasswordRequired:  # RAR with encrypted headers: not even the names can be read
            self._encrypted(name)
            return
        except errors:
            self.add(name, None, PartStatus.REFUSED, MailCode.ARCHIVE_CORRUPT,
                     "压缩包已损坏或不完整（例如分卷压缩只发了一部分），无法打开。请让发件人重新发送。")
            return
        if len(members) > MAX_ZIP_MEMBERS:
            self.add(name, None, PartStatus.REFUSED, MailCode.ARCHIVE_TOO_LARGE,
                     f"压缩包里有 {len(members)} 个文件（上限 {MAX_ZIP_MEMBERS}），未解压。请人工核实。")
            return
        if any(m.encrypted for m in members):
            self._encrypted(name)
            return
        declared = sum(m.size for m in members)
        if declared > self.budget:  # refused before a byte is unpacked; what is read is counted again below
            self.add(name, None, PartStatus.REFUSED, MailCode.ARCHIVE_TOO_LARGE,
                     f"压缩包声称解压后有 {declared / 1048576:,.0f} MB（上限 {self.limits.max_unzipped_mb:g} MB），"
                     "疑似恶意构造（“压缩炸弹”），未解压。")
            return
        taken: list[tuple[str, bytes | None]] = []
        for m in members:
            blob = self._read_member(m, errors)
            if self.budget < 0:
                self.add(name, None, PartStatus.REFUSED, MailCode.ARCHIVE_TOO_LARGE,
                         f"压缩包解压后超过 {self.limits.max_unzipped_mb:g} MB，疑似恶意构造（“压缩炸弹”），未解压。")
                return
            taken.append((m.name, blob))
        if not taken:
            self.add(name, None, PartStatus.SKIPPED, MailCode.NOT_A_RETURN, "压缩包是空的。")
        for member, blob in taken:
            if blob is None:
                self.add(f"{name}/{member}", None, PartStatus.REFUSED, MailCode.ARCHIVE_CORRUPT,
                         "压缩包中的这个文件已损坏（校验不符或数据不全），未能取出。请让发件人重新发送。")
            else:
                self.consider(f"{name}/{member}", blob, depth + 1)

    def _encrypted(self, name: str) -> None:
        self.add(name, None, PartStatus.REFUSED, MailCode.ARCHIVE_ENCRYPTED, "压缩包设置了密码，无法打开。请让发件人取消密码后重新发送。")

    def _read_member(self, m: _Member, errors: tuple[type[BaseException], ...]) -> bytes | None:
        """The member's bytes, counted against the message's budget (sizes an archive claims are not trusted);
        ``None`` when it is damaged or the budget ran out (``self.budget < 0`` then)."""
        chunks: list[bytes] = []
        try:
            with m.open() as fh:
                while chunk := fh.read(1 << 16):
                    self.budget -= len(chunk)
                    if self.budget < 0:
                        return None
                    chunks.append(chunk)
        except errors:
            return None
        return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class _Member:
    """One file in a zip or RAR, whatever the format."""

    name: str  # decoded for a person; made safe for inbox/ by ``Part.inbox_name``
    size: int  # as declared: checked before reading, then not trusted
    encrypted: bool
    open: Callable[[], IO[bytes]]


ZIP_ERRORS: tuple[type[BaseException], ...] = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                                               RuntimeError)
RAR_ERRORS: tuple[type[BaseException], ...] = (rarfile.Error, *ZIP_ERRORS)


def _zip_members(data: bytes) -> list[_Member]:
    z = zipfile.ZipFile(io.BytesIO(data))
    return [_Member(_member_name(i), i.file_size, bool(i.flag_bits & 0x1), functools.partial(z.open, i))
            for i in z.infolist() if not i.is_dir() and not _clutter(i.filename)]


def _rar_members(data: bytes) -> list[_Member]:
    r = rarfile.RarFile(io.BytesIO(data), errors="strict")  # strict: a truncated archive is an error, not a shorter list
    out = []
    for i in r.infolist():
        name = _rar_name(i)
        if i.is_file() and not _clutter(name):  # directories, symlinks and hard links are not returns
            out.append(_Member(name, int(i.file_size or 0), bool(i.needs_password()), functools.partial(r.open, i)))
    return out


def rar_backend() -> bool:
    """Whether rarfile finds a tool to unpack compressed RAR members (unrar, unar, 7z or bsdtar).  Checked before
    every RAR, stored or not, so that what a clerk sees does not depend on how the sender compressed it."""
    try:
        rarfile.tool_setup()
    except rarfile.RarCannotExec:
        return False
    return True


def _rar_name(info: rarfile.RarInfo) -> str:
    # RAR 4 without the Unicode flag stores names in the sender's code page (GBK on Chinese Windows); rarfile
    # reads them as windows-1252.  RAR 5 and flagged RAR 4 names are UTF-8 and already right.
    raw = info.orig_filename
    if isinstance(info, rarfile.Rar3Info) and not info.flags & rarfile.RAR_FILE_UNICODE and isinstance(raw, bytes):
        return _bytes_text(raw).replace("\\", "/").rstrip("/")
    return str(info.filename)


def _tnef_name(a: object) -> str:
    # tnefparse decodes names as UTF-8; Chinese Outlook writes the title in the OEM code page (GBK).
    try:
        return str(a.long_filename() or "")  # type: ignore[attr-defined]
    except UnicodeDecodeError:
        raw = getattr(a, "_name", b"")
        return _bytes_text(raw).strip("\x00") if isinstance(raw, bytes) else str(raw)


def _leaves_and_messages(msg: Message) -> list[Message]:
    """The leaves of a MIME tree, with message/rfc822 parts kept whole (they are opened with depth)."""
    out: list[Message] = []
    stack = [msg]
    while stack:
        m = stack.pop(0)
        if m.get_content_type() == "message/rfc822":
            out.append(m)
        elif m.is_multipart():
            payload = m.get_payload()
            stack[0:0] = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
        else:
            out.append(m)
    return out


def _parse(data: bytes) -> Message | None:
    try:
        return message_from_bytes(data, policy=policy.default)
    except Exception:
        return None


def _subject_of(msg: Message | None) -> str:
    if msg is None:
        return ""
    s = _header(msg, "Subject")
    return f"（{safe_name(s, 30)}）" if s else ""


def _is_office(data: bytes) -> bool:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    return "word/document.xml" in names or "xl/workbook.xml" in names or "[Content_Types].xml" in names


def _clutter(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base in (".DS_Store", "Thumbs.db", "desktop.ini") or base.startswith("._")


def _member_name(info: zipfile.ZipInfo) -> str:
    # Zips made on Chinese Windows store GBK names without the UTF-8 flag; zipfile reads them as cp437.
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("gb18030")
    return name
