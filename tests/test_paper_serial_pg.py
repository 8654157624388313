"""The 待核对 list's query on PostgreSQL: a card filed under a serial read off its print (``serial_from_ocr``
in the item's JSON, no tie) waits. Skipped where no PostgreSQL server or psycopg is installed."""

from __future__ import annotations

from _archive_fixtures import card_meta, unique_pdf
from test_archive_pg import pg_server, pg_ws  # noqa: F401  (fixtures)

from engine.archive import file_item
from engine.confirm import waiting_cards
from engine.workspace import Workspace


def test_the_waiting_list_finds_a_card_filed_under_a_printed_serial_on_postgresql(
        pg_ws: Workspace) -> None:  # noqa: F811
    ocr = file_item(pg_ws, unique_pdf(1), card_meta(extra={"kind": "feedback_card", "serial_from_ocr": True}))
    file_item(pg_ws, unique_pdf(2), card_meta(serial="140200-2025-0002", extra={"kind": "feedback_card",
                                                                              "serial_from_ocr": False}))
    assert [(w.item_id, w.serial_unconfirmed) for w in waiting_cards(pg_ws) if w.serial_unconfirmed] == [(ocr.id, True)]
