"""One ``ruqi mail fetch``: every mailbox, then the inbox, then the receipts."""

from __future__ import annotations

import imaplib
import ssl
import time
from collections.abc import Callable

from ..findings import RuqiError, error, exception_detail
from ..inbox import ingest
from ..workspace import Workspace
from .codes import MailCode, PartStatus, network_reason
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
        except (OSError, ssl.SSLError, imaplib.IMAP4.error) as e:
            # The connection broke mid-fetch: what was done is kept, the rest is fetched next time.
            report.problems.append(error(MailCode.FETCH_FAILED, f"邮箱 {acct.user} 收取中断（{network_reason(e)}），"
                                                                f"已收取的不受影响，其余下次再收。", acct.key,
                                         exception_detail(e)))
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


class MailPoller:
    """``ruqi watch --mail``: ``collect`` at most every ``interval`` seconds, called once per watch cycle."""

    def __init__(self, ws: Workspace, interval: float, on_report: Callable[[MailReport], None] | None = None,
                 actor: str | None = None, clock: Callable[[], float] = time.monotonic):
        self.ws, self.interval, self.on_report, self.actor, self.clock = ws, interval, on_report, actor, clock
        self._last: float | None = None

    def __call__(self) -> None:
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        report = collect(self.ws, actor=self.actor)
        if self.on_report is not None:
            self.on_report(report)

