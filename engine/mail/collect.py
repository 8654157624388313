"""One ``ruqi mail fetch``: every mailbox, then the inbox, then the receipts."""

from __future__ import annotations

from collections.abc import Callable

from ..findings import RuqiError
from ..inbox import ingest
from ..workspace import Workspace
from .codes import PartStatus
from .config import accounts, password
from .fetch import fault, fetch_account, waiting
from .outcome import MailReport, MessageOutcome
from .receipts import send_receipts


def collect(ws: Workspace, *, file: bool = True, receipts: bool = True, actor: str | None = None,
            on_message: Callable[[MessageOutcome], None] | None = None) -> MailReport:
    """Fetch every ``[[mail]]`` mailbox into the inbox; then (``file``) ingest what was saved, and
    (``receipts``) answer the senders of mailboxes with ``receipts = true``.

    ``on_message`` is called as each message is done with fetching (before the inbox files it).
    Problems with a mailbox as a whole (configuration, password, connection) are in
    ``report.problems``; the other mailboxes are still fetched.
    """
    report = MailReport()
    accts, problems = accounts(ws)
    report.problems.extend(problems)
    passwords: dict[str, str] = {}
    for acct in accts:
        try:
            passwords[acct.key] = password(ws, acct)
            report.messages.extend(fetch_account(ws, acct, on_message, pw=passwords[acct.key]))
        except RuqiError as e:
            report.problems.append(e.finding)
    fault("before_ingest")
    names = {p.saved_as for p in report.saved} | waiting(ws)
    if file and names:
        report.ingest = ingest(ws, names=sorted(names), actor=actor)
        by_name = {o.file: o for o in report.ingest.outcomes}
        for m in report.messages:
            for p in m.parts:
                if p.status is PartStatus.SAVED:
                    p.inbox = by_name.get(p.saved_as)
    if file and receipts:
        for acct in accts:
            if acct.receipts and acct.key in passwords:
                send_receipts(ws, acct, report.messages, passwords[acct.key])
    return report
