"""Benchmark: fetching and filing N returned cards from a local Dovecot, against a plain imaplib download.

    .venv/bin/python benchmarks/bench_mail.py [--n 1000] [--inspections 20]

The corpus is what enterprises send: each message is a Foxmail-style mail (GBK RFC 2047 file
name, octet-stream, GB2312 body) carrying one returned card, ticked in the generated PDF the way
a reader does it (``--inspections`` cards rendered once, answer patterns varied so every
attachment has distinct bytes).  The messages are delivered twice with IMAP APPEND, to two
mailboxes of a throwaway Dovecot on 127.0.0.1 (started here, as the tests do).

- baseline: ``imaplib`` logs in, selects, searches and downloads every message (``BODY.PEEK[]``,
  50 per FETCH) into one file each; nothing is parsed, nothing is filed;
- engine, fetch only (``collect(file=False)``) on mailbox 1: IMAPClient, Message-ID check,
  unpacking, GBK names, SHA-256, provenance committed, atomic hand-over to ``inbox/``, the message
  marked on the server;
- engine, fetch and file (``collect()``) on mailbox 2: the same, then the inbox files every card
  (read, QR checked, validated against the register, archived with its provenance).

Messages per second are printed with the ratios; nothing is asserted.
"""

from __future__ import annotations

import argparse
import imaplib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _inbox_fixtures import new_workspace, render_card, tick_pdf  # noqa: E402
from _mail_fixtures import DOVECOT, PASSWORD, Dovecot, connect_workspace, foxmail  # noqa: E402

from engine.db import session  # noqa: E402
from engine.register import by_serial  # noqa: E402
from engine.workspace import Workspace  # noqa: E402


def corpus(ws: Workspace, n: int, inspections: int, tmp: Path) -> list[bytes]:
    blanks = []
    with session(ws) as s:
        insps = [by_serial(s, f"{ws.config.division_code}-2025-{k:04d}").to_inspection() for k in range(1, inspections + 1)]
    for k, insp in enumerate(insps):
        blanks.append(render_card(ws, insp, tmp / f"r{k}", ("pdf",))["pdf"])
    out = []
    for i in range(n):
        pattern = i // inspections
        answers = {q: "是" if pattern >> (q - 1) & 1 else "否" for q in range(1, 11)}
        card = tick_pdf(blanks[i % inspections], tmp / "t.pdf", answers).read_bytes()
        out.append(foxmail([(f"反馈卡{i:04d}（恒泰化工）.pdf", card)]).as_bytes())
    return out


def deliver(server: Dovecot, messages: list[bytes], user: str) -> None:
    m = server.imap(user)
    try:
        for raw in messages:
            m.append("INBOX", None, None, raw)
    finally:
        m.logout()


def baseline(server: Dovecot, user: str, out: Path) -> int:
    out.mkdir()
    m = imaplib.IMAP4("127.0.0.1", server.port)
    m.login(user, PASSWORD)
    m.select("INBOX", readonly=True)
    uids = m.uid("SEARCH", "ALL")[1][0].split()
    for k in range(0, len(uids), 50):
        typ, data = m.uid("FETCH", b",".join(uids[k:k + 50]), "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                (out / f"{len(list(out.iterdir()))}.eml").write_bytes(item[1])
    m.logout()
    return len(uids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--inspections", type=int, default=20)
    args = ap.parse_args()
    if DOVECOT is None:
        sys.exit("dovecot is not installed (Debian dovecot-imapd; scripts/setup.sh --tests)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    server = Dovecot(users=("one", "two")).start()
    try:
        from engine.mail import collect

        ws1 = new_workspace(tmp / "ws1", inspections=args.inspections)
        ws2 = new_workspace(tmp / "ws2", inspections=args.inspections)
        t = time.perf_counter()
        msgs = corpus(ws1, args.n, args.inspections, tmp)
        print(f"corpus: {len(msgs)} messages, {sum(map(len, msgs)) / 1048576:.1f} MB, built in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        deliver(server, msgs, "one")
        deliver(server, msgs, "two")
        print(f"delivered twice by IMAP APPEND in {time.perf_counter() - t:.1f} s")
        connect_workspace(ws1.root, server, ("one",))
        connect_workspace(ws2.root, server, ("two",))
        ws1, ws2 = Workspace.open(ws1.root), Workspace.open(ws2.root)

        t = time.perf_counter()
        got = baseline(server, "one", tmp / "plain")
        base = time.perf_counter() - t
        t = time.perf_counter()
        r1 = collect(ws1, file=False)
        fetch_only = time.perf_counter() - t
        t = time.perf_counter()
        r2 = collect(ws2)
        full = time.perf_counter() - t
        filed = sum(o.status == "filed" for o in r2.ingest.outcomes) if r2.ingest else 0
        assert got == len(r1.messages) == len(r2.messages) == args.n, (got, len(r1.messages), len(r2.messages))
        rate = args.n / base
        print(f"plain imaplib download        : {base:7.1f} s  {rate:8.1f} msg/s")
        print(f"engine fetch (no filing)      : {fetch_only:7.1f} s  {args.n / fetch_only:8.1f} msg/s  "
              f"ratio {base / fetch_only:.2f}x of baseline speed")
        print(f"engine fetch + file ({filed} filed): {full:7.1f} s  {args.n / full:8.1f} msg/s  "
              f"ratio {base / full:.3f}x of baseline speed")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
