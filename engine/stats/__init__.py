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

from .aggregate import Aggregate, aggregate, file_report, write_aggregate
from .blank import BlankBatch, write_blank, write_blanks
from .codes import StatsCode
from .model import Row, Submission
from .period import Period
from .read import read_submission, recognise
from .submissions import (
    AcceptResult,
    AcceptStatus,
    StatsRound,
    accept,
    issued_periods,
    note_rejected,
    rounds,
    superseded_refs,
)
from .tables import TABLES, StatsKind, TableDef, table
from .units import Unit, units_for

__all__ = [
    "TABLES", "AcceptResult", "AcceptStatus", "Aggregate", "BlankBatch", "aggregate", "file_report", "write_aggregate", "Period", "Row", "StatsCode", "StatsKind", "Submission",
    "StatsRound", "TableDef", "Unit", "accept", "issued_periods", "note_rejected", "read_submission", "recognise", "rounds",
    "superseded_refs", "table", "units_for",
    "write_blank", "write_blanks",
]
