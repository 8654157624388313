"""Schema migrations: an ordered list of steps, the applied version kept in ``schema_version``.

A step is applied once, inside a transaction, and never edited after it has shipped: a later
change to a table is a new step.  Version 1 creates every table declared on ``Base.metadata``
at that time.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, select, text

from .db import Base


def _v1_create_all(conn: Connection) -> None:
    Base.metadata.create_all(conn)


def _v2_archive_tables(conn: Connection) -> None:
    # Workspaces created before the archive existed got only the register from v1.
    from .archive.models import AuditRecord, ItemRecord

    Base.metadata.create_all(conn, tables=[ItemRecord.__table__, AuditRecord.__table__])


def _v3_stats_tables(conn: Connection) -> None:
    from .stats.submissions import StatsRecord, StatsRound

    Base.metadata.create_all(conn, tables=[StatsRound.__table__, StatsRecord.__table__])


def _v4_audit_head(conn: Connection) -> None:
    # The database's own copy of the audit head, seeded with the log's last entry as it stands.
    from .archive.models import AuditHeadRecord, AuditRecord

    Base.metadata.create_all(conn, tables=[AuditHeadRecord.__table__])
    head, log = AuditHeadRecord.__table__, AuditRecord.__table__
    if conn.execute(select(head.c.id)).first() is None:
        last = conn.execute(select(log.c.seq, log.c.hash).order_by(log.c.seq.desc()).limit(1)).first()
        if last is not None:
            conn.execute(head.insert().values(id=1, seq=last.seq, hash=last.hash))


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_create_all, _v2_archive_tables, _v3_stats_tables, _v4_audit_head]


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
