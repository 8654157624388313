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

from ..lazy import lazy_package

# Public name → the submodule it comes from, imported on first use (see engine/lazy.py).
__all__ = lazy_package(__name__, {
    "ConfigCode": "codes", "MailCode": "codes", "MessageStatus": "codes", "PartStatus": "codes",
    "MailPoller": "collect", "collect": "collect",
    "MailAccount": "config", "accounts": "config", "password": "config",
    "PROCESSED_FLAG": "fetch", "attention": "fetch", "fetch_account": "fetch",
    "MailReport": "outcome", "MessageOutcome": "outcome", "PartOutcome": "outcome",
    "Envelope": "unpack", "Part": "unpack", "Unpacked": "unpack", "unpack": "unpack",
})

