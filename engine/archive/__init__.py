"""The archive: every document filed byte-identical, numbered (档号), indexed, logged in a
hash-chained audit trail, verified by 四性检测 and searchable.

Public API (everything else is reached from the values these return):

    file_item(ws, data_or_path, ItemMeta(...), *, actor=None, session=None) -> ItemRow
    log_action(ws, action, obj, *, actor=None, details=None, session=None) -> Entry
    index_state(ws) -> Finding | None   (the database is behind the archive: refuse to number)
    verify(ws, *, deep=False, sample=20) -> VerifyReport;  verify_and_record(ws, …) -> (report, index problem)
    repair(ws, *, actor=None, session=None, restore=None) -> RepairReport;  sync_journal(ws) -> int
    accept_audit_log(ws, reason, *, actor=None) -> Entry
    search(ws, *, enterprise=, uscc=, serial=, county=, form_type=, date_from=, date_to=, flag=, year=,
           latest_only=False) -> list[ItemRow]
    get_item(ws, id_or_档号) -> ItemRow | None;  items_for_serial(ws, serial) -> list[ItemRow]
    latest_item(ws, serial, form_type, fmt=None) -> ItemRow | None;  find_sha256(ws, sha256) -> list[ItemRow]
    superseded_ids(ws) -> set[int];  audit_log(ws, *, limit=None, action=None) -> list[Entry]
    history(ws, serial) -> list[Entry]   (every audit entry about one inspection)

Layout, 档号 and ordering guarantees: see ``layout``, ``numbering`` and ``store``.
"""

from __future__ import annotations

from .audit import Action, AuditCode, Entry, IndexCode, action_zh, index_state, log_action
from .layout import LABELS as FORM_LABELS
from .numbering import ArchivalCode
from .repair import RepairCode, RepairReport, accept_audit_log, repair, sync_journal
from .search import (
    audit_log,
    find_sha256,
    get_item,
    history,
    items_for_serial,
    latest_item,
    search,
    superseded_ids,
)
from .store import FiledItem, ItemMeta, ItemRow, StoreCode, file_item
from .verify import Check, VerifyCode, VerifyReport, verify, verify_and_record

__all__ = [
    "FORM_LABELS", "Action", "action_zh", "ArchivalCode", "AuditCode", "Check", "Entry", "FiledItem", "IndexCode", "ItemMeta",
    "ItemRow", "RepairCode", "RepairReport", "StoreCode", "VerifyCode", "VerifyReport", "accept_audit_log", "audit_log",
    "file_item", "find_sha256", "get_item", "history", "index_state", "items_for_serial", "latest_item", "log_action", "repair",
    "search", "superseded_ids", "sync_journal", "verify", "verify_and_record",
]
