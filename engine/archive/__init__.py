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

from ..lazy import lazy_package
from .layout import LABELS as FORM_LABELS  # a light module: the names only

# Public name → the submodule it comes from, imported on first use (see engine/lazy.py).
__all__ = ["FORM_LABELS", *lazy_package(__name__, {
    "Action": "audit", "AuditCode": "audit", "Entry": "audit", "IndexCode": "audit", "action_zh": "audit",
    "index_state": "audit", "log_action": "audit",
    "ArchivalCode": "numbering",
    "RepairCode": "repair", "RepairReport": "repair", "accept_audit_log": "repair", "repair": "repair",
    "sync_journal": "repair",
    "audit_log": "search", "find_sha256": "search", "get_item": "search", "history": "search",
    "items_for_serial": "search", "latest_item": "search", "search": "search", "superseded_ids": "search",
    "FiledItem": "store", "ItemMeta": "store", "ItemRow": "store", "StoreCode": "store", "file_item": "store",
    "Check": "verify", "VerifyCode": "verify", "code_zh": "verify", "VerifyReport": "verify", "verify": "verify",
    "verify_and_record": "verify",
})]
