"""County statistics (附件1–4 of the 扫码入企 notice): blank workbooks out, submissions in, aggregate up.

The front door, for the inbox and the CLI::

    recognise(path) -> StatsKind | None                 # cheap: is this one of our tables?
    issued_periods(ws) -> {table_no: Period}             # the latest round per table (the database)
    rounds(ws) -> [StatsRound]                           # every round sent out, latest period first
    read_submission(path, ws, rounds=…) -> Submission    # read + validate; never raises, never opens the database
    accept(ws, submission, archive_ref) -> AcceptResult  # record it (supersedes the unit's earlier one)
    note_rejected(ws, submission, findings, received_at=…) # the inbox sent it back: its unit shows 已退回
    write_blanks(ws, table_no, period, due=…, units=…) -> BlankBatch
    aggregate(ws, table_no, period, due=None) -> Aggregate; write_aggregate(agg, out) -> (xlsx, pdf)
    file_report(ws, agg, [xlsx, pdf]) -> [archive rows]

Formula-safe writing of outside text into spreadsheets: ``engine.xlsx_safe``.
"""

from __future__ import annotations

from ..lazy import lazy_package

# Public name → the submodule it comes from, imported on first use (see engine/lazy.py).
__all__ = lazy_package(__name__, {
    "Aggregate": "aggregate", "aggregate": "aggregate", "file_report": "aggregate", "write_aggregate": "aggregate",
    "BlankBatch": "blank", "write_blank": "blank", "write_blanks": "blank",
    "StatsCode": "codes",
    "Row": "model", "Submission": "model",
    "Period": "period",
    "read_submission": "read", "recognise": "read",
    "AcceptResult": "submissions", "AcceptStatus": "submissions", "StatsRound": "submissions", "accept": "submissions",
    "issued_periods": "submissions", "note_rejected": "submissions", "rounds": "submissions",
    "superseded_refs": "submissions",
    "NoSuchTable": "tables", "TABLES": "tables", "StatsKind": "tables", "TableDef": "tables", "table": "tables",
    "Unit": "units", "units_for": "units",
})

