"""Stable codes of the mail fetcher: what happened to a message and to each of its attachments.

As everywhere in ruqi, codes are for programs and tests (``ruqi mail fetch --json``); the clerk
reads the Chinese message that comes with each one.
"""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from enum import StrEnum

from ..findings import exception_reason


class MessageStatus(StrEnum):
    PROCESSED = "processed"  # its attachments are in the inbox (or were received before); marked on the server
    ATTENTION = "attention"  # nothing usable or refused as a whole: listed for a person; marked on the server
    SEEN_BEFORE = "seen_before"  # its Message-ID was processed already (e.g. the copy in the other mailbox)
    FAILED = "failed"  # could not be fetched this time (connection); left unmarked, retried next time

    @property
    def zh(self) -> str:
        return {"processed": "已收取", "attention": "需人工处理", "seen_before": "已处理过", "failed": "下次再试"}[self.value]


class PartStatus(StrEnum):
    SAVED = "saved"  # written into inbox/ for the inbox to file
    ALREADY = "already_received"  # the same bytes are already archived or waiting in inbox/
    SKIPPED = "skipped"  # not something that can be a return (a signature, a calendar invite, text)
    REFUSED = "refused"  # could be a return but cannot be taken from the mail (bomb, too deep, too many)


class MailCode(StrEnum):
    NO_ATTACHMENT = "MAIL_NO_ATTACHMENT"  # only text, or a cloud-drive link
    TOO_LARGE = "MAIL_TOO_LARGE"  # the whole message is over the size limit: not downloaded
    TOO_MANY_PARTS = "MAIL_TOO_MANY_PARTS"
    MALFORMED = "MAIL_MALFORMED"  # the MIME tree could not be read at all
    MIME_DEFECTS = "MAIL_MIME_DEFECTS"  # warning: read despite defects
    MANY_RECIPIENTS = "MAIL_MANY_RECIPIENTS"  # warning: only the first addresses are kept
    NOT_A_RETURN = "MAIL_NOT_A_RETURN"  # an attachment of a kind no return can be
    NESTED_TOO_DEEP = "MAIL_NESTED_TOO_DEEP"
    ARCHIVE_TOO_LARGE = "MAIL_ARCHIVE_TOO_LARGE"  # zip/RAR bomb (declared or unpacked size), or too many members
    ARCHIVE_CORRUPT = "MAIL_ARCHIVE_CORRUPT"  # the archive, or one damaged member of it
    ARCHIVE_ENCRYPTED = "MAIL_ARCHIVE_ENCRYPTED"
    RAR_UNSUPPORTED = "MAIL_RAR_UNSUPPORTED"  # a RAR with no tool (unar/bsdtar) installed to open it, or a 7z
    TNEF_UNREADABLE = "MAIL_TNEF_UNREADABLE"
    EMPTY_PART = "MAIL_EMPTY_PART"
    ALREADY_RECEIVED = "MAIL_ALREADY_RECEIVED"
    SEEN_BEFORE = "MAIL_SEEN_BEFORE"
    FETCH_FAILED = "MAIL_FETCH_FAILED"
    CLOUD_LINK = "MAIL_CLOUD_LINK"  # a 网盘 link in the body: someone must download it


class ConfigCode(StrEnum):
    BAD_MAILBOX = "MAIL_CONFIG_INVALID"
    PASSWORD_MISSING = "MAIL_PASSWORD_MISSING"
    PASSWORD_FILE_OPEN = "MAIL_PASSWORD_FILE_TOO_OPEN"  # readable by group or others
    INSECURE = "MAIL_INSECURE_CONNECTION"  # security = "none" to a host that is not this machine
    CONNECT = "MAIL_CONNECT_FAILED"
    CERTIFICATE = "MAIL_CERTIFICATE_UNTRUSTED"
    LOGIN = "MAIL_LOGIN_FAILED"
    FOLDER = "MAIL_FOLDER_MISSING"
    SMTP = "MAIL_SMTP_FAILED"


def network_reason(e: BaseException) -> str:
    """Why a mail server could not be reached or refused, in a clerk's words (the exception's
    own text goes to a finding's ``detail``)."""
    if isinstance(e, imaplib.IMAP4.error):
        return "收信服务器拒绝了请求"
    if isinstance(e, smtplib.SMTPException):
        return "发信服务器拒绝了请求"
    if isinstance(e, ssl.SSLError):
        return "加密连接（SSL/TLS）失败"
    return exception_reason(e)
