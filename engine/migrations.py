"""Schema migrations: an ordered list of steps, the applied version kept in ``schema_version``.

A step is applied once, inside a transaction, and never edited after it has shipped: a later
change to a table is a new step.  Version 1 creates every table declared on ``Base.metadata``
at that time — on a fresh workspace that is already today's shape, so a step that changes a
table looks at what is there and does only what is missing (the same step then upgrades an old
workspace and is a no-op on a new one).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, MetaData, inspect, select, text
from sqlalchemy.schema import CreateTable

from .db import Base
from .register import Visit


def _v1_create_all(conn: Connection) -> None:
    Base.metadata.create_all(conn)


def _v2_archive_tables(conn: Connection) -> None:
    # Workspaces created before the archive existed got only the register from v1.
    from .archive.models import AuditRecord, ItemRecord

    Base.metadata.create_all(conn, tables=[ItemRecord.__table__, AuditRecord.__table__])


def _v3_stats_tables(conn: Connection) -> None:
    from .stats.submissions import StatsRecord, StatsRound

    Base.metadata.create_all(conn, tables=[StatsRound.__table__, StatsRecord.__table__])


# v4: voiding a visit.  Added columns are nullable (a filled table takes them without a default).
_V4_COLUMNS = {"voided_at": "TIMESTAMP", "voided_by": "VARCHAR(100)", "voided_reason": "VARCHAR(1000)"}
_OLD_NATURAL_KEY = "uq_visit_natural"  # (uscc, kind, start, end) unique over all visits, voided ones included


def _v4_void_visits(conn: Connection) -> None:
    have = {c["name"] for c in inspect(conn).get_columns("visits")}
    for name, sql_type in _V4_COLUMNS.items():
        if name not in have:
            conn.execute(text(f"ALTER TABLE visits ADD COLUMN {name} {sql_type}"))
    old = [u for u in inspect(conn).get_unique_constraints("visits") if u.get("name") == _OLD_NATURAL_KEY
           or sorted(u["column_names"]) == ["end", "kind", "start", "uscc"]]
    if old:
        if conn.dialect.name == "sqlite":
            _sqlite_rebuild_visits(conn)  # SQLite cannot drop a table constraint in place
        else:
            conn.execute(text(f'ALTER TABLE visits DROP CONSTRAINT "{old[0]["name"]}"'))
    indexes = {i["name"] for i in inspect(conn).get_indexes("visits")}
    for index in Visit.__table__.indexes:
        if index.name not in indexes:
            index.create(conn)


def _sqlite_rebuild_visits(conn: Connection) -> None:
    """SQLite's documented 12-step table change, reduced to what the register needs: new table
    without the old constraint, copy every row, drop the old one, rename; indexes follow."""
    new = Visit.__table__.to_metadata(MetaData(), name="visits__v4")  # indexes are created after the rename
    conn.execute(CreateTable(new))
    cols = ", ".join(f'"{c}"' for c in (c["name"] for c in inspect(conn).get_columns("visits")) if c in new.c)
    conn.execute(text(f"INSERT INTO visits__v4 ({cols}) SELECT {cols} FROM visits"))
    conn.execute(text("DROP TABLE visits"))
    conn.execute(text("ALTER TABLE visits__v4 RENAME TO visits"))


def _v5_audit_head(conn: Connection) -> None:
    # The database's own copy of the audit head, seeded with the log's last entry as it stands.
    from .archive.models import AuditHeadRecord, AuditRecord

    Base.metadata.create_all(conn, tables=[AuditHeadRecord.__table__])
    head, log = AuditHeadRecord.__table__, AuditRecord.__table__
    if conn.execute(select(head.c.id)).first() is None:
        last = conn.execute(select(log.c.seq, log.c.hash).order_by(log.c.seq.desc()).limit(1)).first()
        if last is not None:
            conn.execute(head.insert().values(id=1, seq=last.seq, hash=last.hash))


def _v6_mail_tables(conn: Connection) -> None:
    from .provenance import MailMessage, MailReceipt, MailSource

    Base.metadata.create_all(conn, tables=[MailSource.__table__, MailMessage.__table__, MailReceipt.__table__])


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_create_all, _v2_archive_tables, _v3_stats_tables,
                                                  _v4_void_visits, _v5_audit_head, _v6_mail_tables]


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
