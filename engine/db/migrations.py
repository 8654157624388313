"""Schema migrations: an ordered list of fixed steps, the applied version kept in ``schema_version``.

Each step names its tables and columns itself (SQLAlchemy Core on a private ``MetaData``, so the
same step runs on SQLite and PostgreSQL) and never reads the ORM classes: a step does the same
thing on every database, whenever it runs, and a later change to a table is a new step.  A
fresh workspace runs every step in order and so ends with exactly the shape an upgraded one has.

Versions 1–3 are the schema of the first release (commit b43c139, ``tests/data/workspace_v3.sql``):
every workspace that release made recorded 1, 2 and 3 at once, with these tables.  Steps are
applied once, inside one transaction, and never edited after they have shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
    text,
)

LIVE_NATURAL_INDEX = "uq_visit_natural_live"  # (uscc, kind, start, end) unique among live visits (v4)
_OLD_NATURAL_KEY = "uq_visit_natural"  # the same, unique over all visits (v1 – v3)


def _visit_columns() -> list[Column]:  # type: ignore[type-arg]
    """The register's columns as release 1 made them (a new list per table: columns belong to one)."""
    return [
        Column("id", Integer, primary_key=True),
        Column("serial", String(32), nullable=False, unique=True, index=True),
        Column("year", Integer, nullable=False, index=True),
        Column("seq", Integer, nullable=False),
        Column("enterprise", String(200), nullable=False),
        Column("uscc", String(18), nullable=False, index=True),
        Column("county", String(50), nullable=False),
        Column("county_code", String(6), nullable=False),
        Column("industry", String(20), nullable=False),
        Column("grade", String(10), nullable=False),
        Column("kind", String(10), nullable=False),
        Column("basis", String(500), nullable=False),
        Column("joint_units", String(500), nullable=False),
        Column("start", Date, nullable=False),
        Column("end", Date, nullable=False),
        Column("leader", String(50), nullable=False),
        Column("members", JSON, nullable=False),
        Column("experts", JSON, nullable=False),
        Column("content", String(2000), nullable=False),
        Column("benchmark", Boolean, nullable=False),
        Column("key_supervision", Boolean, nullable=False),
        Column("visit_total", Integer, nullable=False),
        Column("visit_kind", Integer, nullable=False),
        Column("issue_date", Date, nullable=False),
        Column("batch", String(64), nullable=False),
        Column("over_cap", Boolean, nullable=False),
        Column("override_reason", String(1000), nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("actor", String(100), nullable=False),
        Column("card_status", String(20), nullable=False),
        Column("card_received_at", DateTime),
        Column("card_version", Integer, nullable=False),
        Column("card_answers", JSON),
        Column("card_flags", JSON),
    ]


def _v1_register(conn: Connection) -> None:
    m = MetaData()
    Table("visits", m, *_visit_columns(),
          UniqueConstraint("uscc", "kind", "start", "end", name=_OLD_NATURAL_KEY))
    m.create_all(conn)


def _v2_archive_tables(conn: Connection) -> None:
    m = MetaData()
    Table(
        "archive_items", m,
        Column("id", Integer, primary_key=True),
        Column("archival_code", String(64), nullable=False, unique=True),
        Column("year", Integer, nullable=False, index=True),
        Column("piece", Integer, nullable=False),
        Column("retention", String(8), nullable=False),
        Column("form_type", String(32), nullable=False, index=True),
        Column("title", Text, nullable=False),
        Column("responsible", Text, nullable=False),
        Column("doc_date", Date, nullable=False, index=True),
        Column("serial", String(64), nullable=False, index=True),
        Column("enterprise", Text, nullable=False),
        Column("uscc", String(64), nullable=False, index=True),
        Column("county", Text, nullable=False),
        Column("original_name", Text, nullable=False),
        Column("rel_path", String(1000), nullable=False, unique=True),
        Column("format", String(16), nullable=False),
        Column("format_version", String(32), nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("sha256", String(64), nullable=False, index=True),
        Column("sm3", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        Column("supersedes", Integer),
        Column("flags", JSON, nullable=False),
        Column("extra", JSON, nullable=False),
        Column("received_at", DateTime),
        Column("filed_at", DateTime, nullable=False),
        Column("actor", Text, nullable=False),
        Column("audit_seq", Integer, nullable=False),
        UniqueConstraint("year", "piece", name="uq_archive_piece"),
    )
    Table(
        "archive_audit", m,
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("at", String(40), nullable=False),
        Column("actor", Text, nullable=False),
        Column("action", String(32), nullable=False, index=True),
        Column("object", Text, nullable=False),
        Column("details", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )
    m.create_all(conn)


def _v3_stats_tables(conn: Connection) -> None:
    m = MetaData()
    Table(
        "stats_rounds", m,
        Column("id", Integer, primary_key=True),
        Column("table_no", Integer, nullable=False),
        Column("period", String(8), nullable=False),
        Column("due", Date),
        Column("unit_codes", JSON, nullable=False),
        Column("issued_at", DateTime, nullable=False),
        Column("actor", String(100), nullable=False),
        UniqueConstraint("table_no", "period", name="uq_stats_round"),
    )
    Table(
        "stats_submissions", m,
        Column("id", Integer, primary_key=True),
        Column("table_no", Integer, nullable=False),
        Column("period", String(8), nullable=False),
        Column("unit_code", String(16), nullable=False),
        Column("unit_name", String(100), nullable=False),
        Column("submitter", String(200), nullable=False),
        Column("filled_at", String(40), nullable=False),
        Column("source_name", String(500), nullable=False),
        Column("archive_ref", String(1000), nullable=False),
        Column("sha256", String(64), nullable=False, index=True),
        Column("via", String(16), nullable=False),
        Column("received_at", DateTime, nullable=False),
        Column("values", JSON, nullable=False),
        Column("flags", JSON, nullable=False),
        Column("version", Integer, nullable=False),
        Column("superseded", Boolean, nullable=False),
        Column("superseded_by", Integer),
        Column("actor", String(100), nullable=False),
        Index("ix_stats_current", "table_no", "period", "unit_code", "superseded"),
    )
    m.create_all(conn)


def add_missing_columns(conn: Connection, table: str, columns: tuple[tuple[str, Any], ...]) -> list[str]:
    """``ALTER TABLE … ADD COLUMN`` for each column the table lacks; the names added.

    A database whose version rows were lost (an old backup's rows over a newer file) may already
    hold a step's columns: the step is then done, and adding them again would fail.
    """
    have = {c["name"] for c in inspect(conn).get_columns(table)}
    added = [name for name, _ in columns if name not in have]
    for name, sql_type in columns:
        if name in added:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type.compile(dialect=conn.dialect)}"))
    return added


# v4: voiding a visit.  The added columns are nullable, so a filled table takes them without a default.
_V4_COLUMNS = (("voided_at", DateTime()), ("voided_by", String(100)), ("voided_reason", String(1000)))


def _v4_void_visits(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        _v4_sqlite_rebuild_visits(conn)  # SQLite can neither drop a table constraint nor add one in place
    else:
        for name, sql_type in _V4_COLUMNS:
            conn.execute(text(f"ALTER TABLE visits ADD COLUMN {name} {sql_type.compile(dialect=conn.dialect)}"))
        conn.execute(text(f'ALTER TABLE visits DROP CONSTRAINT "{_OLD_NATURAL_KEY}"'))
    _live_natural_index(Table("visits", MetaData(), autoload_with=conn)).create(conn)


def _live_natural_index(visits: Table) -> Index:
    # SQLite and PostgreSQL both have partial indexes: a voided visit keeps its dates on record
    # while the corrected row for the same dates is registered.
    return Index(LIVE_NATURAL_INDEX, visits.c.uscc, visits.c.kind, visits.c.start, visits.c.end, unique=True,
                 sqlite_where=text("voided_at IS NULL"), postgresql_where=text("voided_at IS NULL"))


def _v4_sqlite_rebuild_visits(conn: Connection) -> None:
    """SQLite's documented 12-step table change, reduced to what the register needs: the new table
    (void columns, no all-visits natural key), every row copied, the old one dropped, the new one
    renamed; its indexes are made after the rename, under their own names."""
    m = MetaData()
    new = Table("visits__v4", m, *_visit_columns(), *(Column(n, t) for n, t in _V4_COLUMNS))
    for index in list(new.indexes):  # named after "visits__v4" by the column flags: made below instead
        new.indexes.discard(index)
    new.create(conn)
    old_cols = ", ".join(f'"{c.name}"' for c in _visit_columns())
    conn.execute(text(f"INSERT INTO visits__v4 ({old_cols}) SELECT {old_cols} FROM visits"))
    conn.execute(text("DROP TABLE visits"))
    conn.execute(text("ALTER TABLE visits__v4 RENAME TO visits"))
    conn.execute(text("CREATE UNIQUE INDEX ix_visits_serial ON visits (serial)"))
    conn.execute(text("CREATE INDEX ix_visits_year ON visits (year)"))
    conn.execute(text("CREATE INDEX ix_visits_uscc ON visits (uscc)"))


def _v5_audit_head(conn: Connection) -> None:
    # The database's own copy of the audit head, seeded with the log's last entry as it stands.
    m = MetaData()
    head = Table("archive_audit_head", m,
                 Column("id", Integer, primary_key=True, autoincrement=False),
                 Column("seq", Integer, nullable=False),
                 Column("hash", String(64), nullable=False))
    head.create(conn)
    log = Table("archive_audit", m, Column("seq", Integer), Column("hash", String(64)))
    last = conn.execute(select(log.c.seq, log.c.hash).order_by(log.c.seq.desc()).limit(1)).first()
    if last is not None:
        conn.execute(head.insert().values(id=1, seq=last.seq, hash=last.hash))


def _v6_mail_tables(conn: Connection) -> None:
    m = MetaData()
    Table(
        "mail_sources", m,
        Column("id", Integer, primary_key=True),
        Column("sha256", String(64), nullable=False, index=True),
        Column("message_id", String(500), nullable=False),
        Column("mailbox", String(300), nullable=False),
        Column("sender", String(500), nullable=False),
        Column("recipients", JSON, nullable=False),
        Column("recipient_count", Integer, nullable=False),
        Column("date_header", String(200), nullable=False),
        Column("received_at", DateTime, nullable=False),
        Column("subject", Text, nullable=False),
        Column("original_name", Text, nullable=False),
        Column("saved_as", Text, nullable=False),
        Column("fetched_at", DateTime, nullable=False, server_default=func.now()),
        UniqueConstraint("sha256", "message_id", "original_name", name="uq_mail_source"),
    )
    Table(
        "mail_messages", m,
        Column("id", Integer, primary_key=True),
        Column("message_id", String(500), nullable=False, unique=True),
        Column("mailbox", String(300), nullable=False),
        Column("sender", String(500), nullable=False),
        Column("subject", Text, nullable=False),
        Column("received_at", DateTime),
        Column("status", String(40), nullable=False),
        Column("code", String(60), nullable=False),
        Column("note", Text, nullable=False),
        Column("attachments", Integer, nullable=False),
        Column("processed_at", DateTime, nullable=False, server_default=func.now()),
    )
    Table(
        "mail_receipts", m,
        Column("id", Integer, primary_key=True),
        Column("recipient", String(500), nullable=False, index=True),
        Column("message_id", String(500), nullable=False),
        Column("sent_at", DateTime, nullable=False),
    )
    m.create_all(conn)


def _v7_stats_rejections(conn: Connection) -> None:
    m = MetaData()
    Table(
        "stats_rejections", m,
        Column("id", Integer, primary_key=True),
        Column("table_no", Integer, nullable=False),
        Column("period", String(8), nullable=False),
        Column("unit_code", String(16), nullable=False),
        Column("unit_name", String(100), nullable=False),
        Column("source_name", String(500), nullable=False),
        Column("stored_as", String(1000), nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("received_at", DateTime, nullable=False),
        Column("reasons", JSON, nullable=False),
        Column("actor", String(100), nullable=False),
        Index("ix_stats_rejected", "table_no", "period", "unit_code"),
    )
    # Until this step the statistics desk made this table itself on first use (the same shape):
    # a workspace that already has it keeps it and its rows.
    m.create_all(conn, checkfirst=True)


def _v8_web_accounts(conn: Connection) -> None:
    # The web site's accounts (``ruqi user add``) and its signed-in sessions (``engine.accounts``):
    # a session is a row, so signing out or disabling a user ends it on the server, not only in a cookie.
    m = MetaData()
    Table(
        "web_users", m,
        Column("id", Integer, primary_key=True),
        Column("name", String(100), nullable=False, unique=True),
        Column("role", String(16), nullable=False),
        Column("password_hash", String(200), nullable=False),
        Column("disabled", Boolean, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("created_by", String(100), nullable=False),
        Column("password_changed_at", DateTime, nullable=False),
    )
    Table(
        "web_sessions", m,
        Column("id", Integer, primary_key=True),
        Column("token_sha256", String(64), nullable=False, unique=True),
        Column("user_id", Integer, nullable=False, index=True),
        Column("csrf", String(64), nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("last_seen", DateTime, nullable=False),
        Column("expires_at", DateTime, nullable=False),
        Column("client", String(100), nullable=False),
    )
    m.create_all(conn)


# v9: what a returned card says, per question, in the register (engine.readings), and who read it.
# engine.readback.common's confidences; a scan's answer is one its reader decided (at least 0.5, the threshold).
_V9_CONFIDENCE = {"pdf_form": 1.0, "docx": 1.0, "pdf_text": 0.9, "image": 0.5}
_V9_HOW = {"pdf_form": "field", "docx": "field", "pdf_text": "text"}


def _v9_card_readings(conn: Connection) -> None:
    m = MetaData()
    readings = Table(
        "card_readings", m,
        Column("id", Integer, primary_key=True),
        Column("item_id", Integer, nullable=False, index=True),
        Column("question", Integer, nullable=False),
        Column("answer", String(2)),
        Column("how", String(10), nullable=False),
        Column("confidence", Float, nullable=False),
        Column("note", String(100), nullable=False),
        Column("actor", String(100), nullable=False),
        Column("at", DateTime, nullable=False),
        Column("reason", Text, nullable=False),
    )
    Table(
        "card_ties", m,
        Column("id", Integer, primary_key=True),
        Column("item_id", Integer, nullable=False, unique=True, index=True),
        Column("serial", String(32), nullable=False, index=True),
        Column("actor", String(100), nullable=False),
        Column("at", DateTime, nullable=False),
    )
    m.create_all(conn)
    if add_missing_columns(conn, "visits", (("card_read_by", String(10)),)):
        _v9_backfill(conn, readings)


def _v9_backfill(conn: Connection, readings: Table) -> None:
    """Every card filed before v9 gets its ten answers as the inbox recorded them (``extra``), and every
    visit with a card back the reader of its latest card; a scan filed unread waits for a person."""
    items = Table("archive_items", MetaData(), Column("id", Integer), Column("form_type", String(32)),
                  Column("serial", String(64)), Column("extra", JSON), Column("actor", Text),
                  Column("filed_at", DateTime))
    latest: dict[str, str] = {}
    for r in conn.execute(select(items).where(items.c.form_type.in_(("card_returned", "other")))
                          .order_by(items.c.id)):
        extra = r.extra if isinstance(r.extra, dict) else {}
        answers = extra.get("answers")
        if extra.get("kind") != "feedback_card" or not isinstance(answers, dict):
            continue
        method = str(extra.get("read_method", ""))
        marks = extra.get("marks") if isinstance(extra.get("marks"), dict) else {}
        rows = [{"item_id": r.id, "question": i, "answer": answers.get(str(i)) if answers.get(str(i)) in ("是", "否")
                 else None, "how": _V9_HOW.get(method, "mark"), "note": "", "actor": r.actor or "",
                 "at": r.filed_at, "reason": ""} for i in range(1, 11)]
        for row in rows:
            mark = marks.get(str(row["question"])) if isinstance(marks.get(str(row["question"])), dict) else {}
            row["note"] = str(mark.get("how", ""))[:100]
            row["confidence"] = float(mark.get("confidence", _V9_CONFIDENCE.get(method, 0.0))) if row["answer"] else 0.0
        conn.execute(readings.insert(), rows)
        if r.form_type == "card_returned" and r.serial:
            latest[r.serial] = "waiting" if any(row["answer"] is None for row in rows) else "machine"
    for serial, read_by in latest.items():
        conn.execute(text("UPDATE visits SET card_read_by = :b WHERE serial = :s"), {"b": read_by, "s": serial})


# v10: the shared register (engine.shared_register), and an index for the next serial.  Nullable
# columns, added in place on SQLite and PostgreSQL alike: which register numbered a visit (NULL:
# this workspace's own; "shared": the province's; "unconfirmed": recorded offline, not yet pushed;
# "conflict": pushed, over the cap), what sync found, and the approved reason of a 县 visiting
# outside its county.  Visits made outside ruqi and imported from a spreadsheet count toward the
# caps in their own table.
_V10_COLUMNS = (("register_state", String(12)), ("register_note", String(1000)), ("cross_reason", String(20)))


def _v10_shared_register(conn: Connection) -> None:
    add_missing_columns(conn, "visits", _V10_COLUMNS)
    # The next serial is max(seq) of the year: read off an index, not a scan of the year's visits.
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_visits_year_seq ON visits (year, seq)"))
    m = MetaData()
    Table(
        "outside_visits", m,
        Column("id", Integer, primary_key=True),
        Column("key", String(40), nullable=False, unique=True),
        Column("uscc", String(18), nullable=False, index=True),
        Column("enterprise", String(200), nullable=False),
        Column("year", Integer, nullable=False),
        Column("kind", String(10), nullable=False),
        Column("start", Date, nullable=False),
        Column("end", Date, nullable=False),
        Column("unit", String(100), nullable=False),
        Column("level", String(2), nullable=False),
        Column("source", String(200), nullable=False),
        Column("imported_at", DateTime, nullable=False),
        Column("actor", String(100), nullable=False),
        UniqueConstraint("uscc", "kind", "start", "end", "unit", name="uq_outside_visit"),
    )
    m.create_all(conn)


# v11: what each card says now, beside its readings (``engine.readings.CardNow``), so the 待核对 list
# reads the open cards only; and two indexes for the lists (visits by start date, corrections).  Filled from the readings as ``engine.readings.fold`` folds them: the
# latest row of each question counts; it is open when it has no answer, or a reader's answer below
# the review threshold (a person's answer is always decided).
_V11_REVIEW_BELOW = 0.5  # engine.readback.common.REVIEW_BELOW when v11 was written


def _v11_card_now(conn: Connection) -> None:
    m = MetaData()
    now = Table(
        "card_now", m,
        Column("item_id", Integer, primary_key=True, autoincrement=False),
        Column("unresolved", String(30), nullable=False, index=True),
        Column("read_by", String(10), nullable=False),
    )
    m.create_all(conn)
    # The review list is ordered (and paged) by start date and serial; corrections are few among the readings.
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_visits_start_serial ON visits (start, serial) "
                      "WHERE voided_at IS NULL"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_card_readings_corrected ON card_readings (item_id) "
                      "WHERE reason <> ''"))
    if conn.execute(select(func.count()).select_from(now)).scalar():
        return
    rows = conn.execute(text("SELECT item_id, question, answer, how, confidence FROM card_readings ORDER BY id"))
    latest: dict[int, dict[int, tuple[str | None, str, float]]] = {}
    for item_id, question, answer, how, confidence in rows:
        latest.setdefault(item_id, {})[question] = (answer, how, float(confidence))
    out = []
    for item_id, per_q in latest.items():
        open_q = [q for q in range(1, 11) if q not in per_q or per_q[q][0] is None
                  or (per_q[q][1] != "person" and per_q[q][2] < _V11_REVIEW_BELOW)]
        person = any(how == "person" for _, how, _ in per_q.values())
        out.append({"item_id": item_id, "unresolved": ",".join(map(str, open_q)),
                    "read_by": "waiting" if open_q else "person" if person else "machine"})
    for k in range(0, len(out), 1000):
        conn.execute(now.insert(), out[k:k + 1000])


# v12: each inspection's review result (``engine.review.stored``), so the 首页 and the 审查 counts and
# filters are GROUP BYs and WHEREs instead of the whole year's review built in Python.  The rows are
# decided by the review's own rules, which this module must not import: the step creates the tables
# and the triggers that mark an inspection dirty whenever one of its inputs is written, and leaves
# ``review_meta`` empty, which makes the first reader (``ruqi serve`` at start) fill every row.
REVIEW_DIRTY_SOURCES: dict[str, tuple[str, str, str, str]] = {
    # table → the dirty row's (serial, uscc, year, item_id) in terms of the written row ("{r}" = NEW/OLD)
    "visits": ("{r}.serial", "{r}.uscc", "{r}.year", "NULL"),  # a visit, and every visit of its enterprise-year
    "outside_visits": ("NULL", "{r}.uscc", "{r}.year", "NULL"),  # visits by date count those made outside ruqi
    "archive_items": ("{r}.serial", "NULL", "NULL", "{r}.id"),  # a card filed (or a flagged card naming a serial)
    "card_readings": ("NULL", "NULL", "NULL", "{r}.item_id"),  # a card read, confirmed or corrected
    "card_ties": ("{r}.serial", "NULL", "NULL", "{r}.item_id"),  # a card without a serial tied to an inspection
}


def _v12_review_rows(conn: Connection) -> None:
    m = MetaData()
    Table(
        "review_rows", m,
        Column("serial", String(32), primary_key=True),
        Column("start", Date, nullable=False, index=True),
        Column("end", Date, nullable=False),
        Column("due", Date, nullable=False),
        Column("county", String(50), nullable=False),
        Column("county_code", String(6), nullable=False),
        Column("voided_at", DateTime),
        Column("card_state", String(20), nullable=False),
        Column("flags", Integer, nullable=False),
        Column("yes_questions", String(30), nullable=False),
        Column("yes_answers", Integer, nullable=False),
        Column("withdrawn", Integer, nullable=False),
        Column("suspect_cards", Integer, nullable=False),
        Column("qr_cards", Integer, nullable=False),
        Column("over_cap_approved", Boolean, nullable=False),
        Column("numbers_unread", Boolean, nullable=False),
    )
    Table(
        "review_people", m,
        Column("id", Integer, primary_key=True),
        Column("serial", String(32), nullable=False, index=True),
        Column("name", String(50), nullable=False, index=True),
        Column("leader", Boolean, nullable=False),
    )
    Table(
        "review_dirty", m,
        Column("id", Integer, primary_key=True),
        Column("serial", String(32)),
        Column("uscc", String(18)),
        Column("year", Integer),
        Column("item_id", Integer),
    )
    Table(
        "review_meta", m,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("as_of", Date, nullable=False),
        Column("rules", String(64), nullable=False),
        Column("generation", Integer, nullable=False),
    )
    m.create_all(conn)
    install_review_triggers(conn)


# v13: the flagged cards (SUSPECT, QR_MISSING) beside the review rows, so the counts place the ones that match no
# inspection without searching the archive.  Emptying review_meta makes the first reader fill it (and every row).
def _v13_review_cards(conn: Connection) -> None:
    m = MetaData()
    Table(
        "review_cards", m,
        Column("item_id", Integer, primary_key=True, autoincrement=False),
        Column("serial", String(64), nullable=False, index=True),
        Column("county", String(50), nullable=False),
        Column("received_at", DateTime),
        Column("suspect", Boolean, nullable=False),
        Column("qr_missing", Boolean, nullable=False),
    )
    m.create_all(conn)
    conn.execute(text("DELETE FROM review_meta"))


REVIEW_TRIGGER_PREFIX = "review_dirty_"


def review_triggers(conn: Connection) -> set[str]:
    """The names of the dirty-marking triggers the database holds (a table rebuilt by a later step
    loses its triggers on SQLite: ``engine.review.stored`` checks and reinstalls them)."""
    if conn.dialect.name == "sqlite":
        q = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'review_dirty_%'"
    else:
        q = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'review_dirty_%'"
    return {str(r[0]) for r in conn.execute(text(q))}


def expected_review_triggers(dialect: str) -> set[str]:
    if dialect == "sqlite":
        return {f"{REVIEW_TRIGGER_PREFIX}{t}_{op}" for t in REVIEW_DIRTY_SOURCES for op in ("ins", "upd", "del")}
    return {f"{REVIEW_TRIGGER_PREFIX}{t}" for t in REVIEW_DIRTY_SOURCES}


def install_review_triggers(conn: Connection) -> None:
    """(Re)create the triggers that record, in ``review_dirty``, what each write to a review input touched."""
    for table, cols in REVIEW_DIRTY_SOURCES.items():
        insert = "INSERT INTO review_dirty (serial, uscc, year, item_id) VALUES ({})"
        new, old = (insert.format(", ".join(c.format(r=r) for c in cols)) for r in ("NEW", "OLD"))
        name = f"{REVIEW_TRIGGER_PREFIX}{table}"
        if conn.dialect.name == "sqlite":
            for op, event, body in (("ins", "INSERT", new), ("upd", "UPDATE", f"{old}; {new}"), ("del", "DELETE", old)):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}_{op}"))
                conn.execute(text(f"CREATE TRIGGER {name}_{op} AFTER {event} ON {table} BEGIN {body}; END"))
        else:
            conn.execute(text(f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $f$
                BEGIN
                    IF TG_OP <> 'INSERT' THEN {old}; END IF;
                    IF TG_OP <> 'DELETE' THEN {new}; END IF;
                    RETURN NULL;
                END $f$"""))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            conn.execute(text(f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                              f"FOR EACH ROW EXECUTE FUNCTION {name}()"))


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_register, _v2_archive_tables, _v3_stats_tables,
                                                  _v4_void_visits, _v5_audit_head, _v6_mail_tables,
                                                  _v7_stats_rejections, _v8_web_accounts, _v9_card_readings,
                                                  _v10_shared_register, _v11_card_now, _v12_review_rows,
                                                  _v13_review_cards]


def current_version(conn: Connection) -> int:
    conn.execute(text("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
    row = conn.execute(text("SELECT max(version) FROM schema_version")).scalar()
    return int(row or 0)


def upgrade(engine: Engine) -> int:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes opening a fresh database must not both run the same step.
            conn.execute(text("SELECT pg_advisory_xact_lock(7275716901)"))
        v = current_version(conn)
        for i, step in enumerate(MIGRATIONS[v:], start=v + 1):
            step(conn)
            conn.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": i})
        return len(MIGRATIONS)


# ---- the shared register (a PostgreSQL database of its own, one per province or city) ----------
# Every bureau stays connected while the administrator upgrades it, so each step is made to be
# run under load: additive only (new tables, nullable columns, new policies), in one transaction
# that waits at most REGISTER_LOCK_TIMEOUT for a table lock instead of queueing every bureau's
# next statement behind it (PostgreSQL grants locks in order: a waiting ALTER would stall all).
REGISTER_LOCK_TIMEOUT = "5s"
BUREAU_GROUP = "ruqi_bureau"  # the role every bureau's login role belongs to


def _r1_tables(conn: Connection) -> None:
    conn.execute(text("""
        CREATE TABLE register_bureaus (
            division_code varchar(6) PRIMARY KEY,
            level varchar(2) NOT NULL,
            name varchar(100) NOT NULL,
            role_name varchar(63) NOT NULL UNIQUE,
            added_at timestamptz NOT NULL DEFAULT now())"""))
    conn.execute(text("""
        CREATE TABLE register_visits (
            id bigserial PRIMARY KEY,
            serial varchar(40) NOT NULL UNIQUE,
            bureau_code varchar(6) NOT NULL,
            bureau_level varchar(2) NOT NULL,
            uscc varchar(18) NOT NULL,
            enterprise varchar(200) NOT NULL,
            county_code varchar(6) NOT NULL,
            year integer NOT NULL,
            kind varchar(10) NOT NULL,
            start date NOT NULL,
            "end" date NOT NULL,
            over_cap boolean NOT NULL DEFAULT false,
            cross_reason varchar(20) NOT NULL DEFAULT '',
            source varchar(10) NOT NULL DEFAULT 'ruqi',
            conflict varchar(1000) NOT NULL DEFAULT '',
            industry varchar(20) NOT NULL DEFAULT '',
            grade varchar(10) NOT NULL DEFAULT '',
            benchmark boolean NOT NULL DEFAULT false,
            key_supervision boolean NOT NULL DEFAULT false,
            voided_at timestamptz,
            void_reason varchar(1000),
            recorded_at timestamptz NOT NULL DEFAULT now(),
            recorded_by varchar(63) NOT NULL DEFAULT current_user)"""))
    # The cap check reads one enterprise-year's live visits: an index-only scan with these columns.
    conn.execute(text('CREATE INDEX ix_register_enterprise_year ON register_visits (uscc, year) '
                      'INCLUDE (kind, start, "end", id, serial, bureau_level, bureau_code) WHERE voided_at IS NULL'))
    conn.execute(text('CREATE UNIQUE INDEX uq_register_visit_live ON register_visits '
                      '(bureau_code, uscc, kind, start, "end") WHERE voided_at IS NULL'))


def _r2_row_security(conn: Connection) -> None:
    """Each bureau logs in as its own role: it reads every visit (to count) and writes only rows
    carrying its own division code and level.  No bureau may delete: a visit is withdrawn or voided
    by setting ``voided_at`` on its own row, so the record of what was booked stays."""
    conn.execute(text(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{BUREAU_GROUP}') THEN
            CREATE ROLE {BUREAU_GROUP} NOLOGIN;
        END IF; END $$"""))
    conn.execute(text(f"GRANT SELECT ON register_bureaus TO {BUREAU_GROUP}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON register_visits TO {BUREAU_GROUP}"))
    conn.execute(text(f"GRANT USAGE ON SEQUENCE register_visits_id_seq TO {BUREAU_GROUP}"))
    conn.execute(text("ALTER TABLE register_visits ENABLE ROW LEVEL SECURITY"))
    own = ("((bureau_code, bureau_level) IN (SELECT division_code, level FROM register_bureaus "
           "WHERE role_name = current_user))")
    conn.execute(text("CREATE POLICY register_read ON register_visits FOR SELECT USING (true)"))
    conn.execute(text(f"CREATE POLICY register_insert ON register_visits FOR INSERT WITH CHECK {own}"))
    # Another bureau's rows are invisible to UPDATE (0 rows), and no row may be handed to another bureau.
    conn.execute(text(f"CREATE POLICY register_update ON register_visits FOR UPDATE USING {own} WITH CHECK {own}"))


REGISTER_MIGRATIONS: list[Callable[[Connection], None]] = [_r1_tables, _r2_row_security]


def register_version(conn: Connection) -> int:
    conn.execute(text("CREATE TABLE IF NOT EXISTS register_schema_version (version integer NOT NULL, "
                      "applied_at timestamptz NOT NULL DEFAULT now())"))
    return int(conn.execute(text("SELECT max(version) FROM register_schema_version")).scalar() or 0)


def upgrade_register(engine: Engine) -> tuple[int, int]:
    """Bring the shared register's schema up to date: (version before, version after)."""
    with engine.begin() as conn:
        conn.execute(text(f"SET LOCAL lock_timeout = '{REGISTER_LOCK_TIMEOUT}'"))
        conn.execute(text("SELECT pg_advisory_xact_lock(7275716902)"))  # two administrators at once
        before = register_version(conn)
        for i, step in enumerate(REGISTER_MIGRATIONS[before:], start=before + 1):
            step(conn)
            conn.execute(text("INSERT INTO register_schema_version (version) VALUES (:v)"), {"v": i})
        return before, len(REGISTER_MIGRATIONS)
