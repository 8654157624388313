"""Returns by e-mail: fetch cards and county workbooks from the bureau's IMAP mailboxes.

Public API::

    collect(ws, file=True, receipts=True, actor=None, on_message=None) -> MailReport
    accounts(ws) -> ([MailAccount], [Finding])        # the [[mail]] tables of ruqi.toml, checked
    fetch_account(ws, acct, on_message=None) -> [MessageOutcome]
    unpack(raw, limits) -> Unpacked                   # one message taken apart, no network (RAR: a local tool)
    attention(ws) -> [MailMessage]                    # messages set aside for a person
    MailPoller(ws, interval, on_report)               # `ruqi watch --mail`: collect every interval seconds

Modules, in the order a message meets them: ``config`` (mailboxes, passwords), ``fetch``
(IMAP, crash-safe hand-over to ``inbox/``), ``unpack`` (MIME, names, TNEF, zip, RAR, forwarded
mail), ``receipts`` (SMTP replies), ``collect`` (the whole run).  Provenance and the remembered
Message-IDs are in ``engine.provenance``; the inbox reads them by checksum.
"""

from __future__ import annotations

from .codes import ConfigCode, MailCode, MessageStatus, PartStatus
from .collect import MailPoller, collect
from .config import MailAccount, accounts, password
from .fetch import PROCESSED_FLAG, attention, fetch_account
from .outcome import MailReport, MessageOutcome, PartOutcome
from .unpack import Envelope, Part, Unpacked, unpack

__all__ = [
    "PROCESSED_FLAG", "ConfigCode", "Envelope", "MailAccount", "MailCode", "MailPoller", "MailReport", "MessageOutcome",
    "MessageStatus", "Part", "PartOutcome", "PartStatus", "Unpacked", "accounts", "attention", "collect",
    "fetch_account", "password", "unpack",
]
