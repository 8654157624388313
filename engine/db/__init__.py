"""The workspace database: the connection, the transaction and the schema's migrations.

SQLite in ``archive/ruqi.sqlite`` by default; PostgreSQL when ``[archive] database_url`` is set.

Direction of imports: features import this package, never the other way.  The schema is owned
here, by ``engine.db.migrations`` (an ordered list of fixed steps that name every table and
column themselves); the ORM classes that map those tables live next to the code that uses them
(``engine.register``, ``engine.archive.models``, ``engine.stats.submissions``,
``engine.provenance``) on the shared ``Base``.  ``tests/test_schema.py`` checks that the
migrated database and the ORM classes agree, so neither can drift from the other.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, Index, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from ..findings import Finding, RuqiError, error
from ..workspace import Workspace, folder_problem
from .migrations import MIGRATIONS, upgrade


class DbCode(StrEnum):
    UNAVAILABLE = "DB_UNAVAILABLE"  # cannot be opened or written (disk full, read-only, locked away)
    DAMAGED = "DB_DAMAGED"  # not a database, or malformed
    BUSY = "DB_BUSY"  # SQLite's write lock not had within the busy timeout (another process writing)


class Base(DeclarativeBase):
    pass


IN_LIST_MAX = 500  # bound parameters of one IN (…) list: SQLite allows 999 per statement in old builds
_T = TypeVar("_T")


def in_lists(values: Sequence[_T]) -> Iterator[list[_T]]:
    """``values`` in order, cut into lists short enough for one ``IN (…)``."""
    for k in range(0, len(values), IN_LIST_MAX):
        yield list(values[k:k + IN_LIST_MAX])


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of a mapped table over the rows that match ``where`` (SQL), on SQLite and PostgreSQL
    alike (both have partial indexes).

    PostgreSQL's predicate is given to the index when it is created on PostgreSQL, not up front:
    naming ``postgresql_where`` when the index is made loads SQLAlchemy's whole PostgreSQL dialect
    (~20 ms) in every process that imports the mapping — every ``ruqi`` command, on SQLite too."""
    index = Index(name, *columns, unique=unique, sqlite_where=text(where))

    def on_postgresql(target: Index, connection: Connection, **_kw: object) -> None:
        if connection.dialect.name == "postgresql":
            target.dialect_options["postgresql"]["where"] = text(where)

    event.listen(index, "before_create", on_postgresql)
    return index


_ENGINES: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets a reviewer read while the inbox writes; busy_timeout makes two `ruqi` processes
    # wait for each other instead of failing with "database is locked".  It comes first: switching
    # the journal mode needs a lock too, and another process opening or migrating the same file at
    # that moment must be waited for (two processes starting at once failed here).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN IMMEDIATE ourselves.
    dbapi_conn.isolation_level = None


READ_ONLY = "ruqi_read_only"  # execution option of a connection whose transactions only read (``reading``)


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # IMMEDIATE takes the write lock at the start, so "read max(件号) then insert" is atomic
    # across processes.  A transaction that only reads begins without it: in WAL mode it reads the
    # last commit while another process writes, instead of waiting for the writer to finish; with
    # query_only on, a write in it fails at once rather than upgrading the lock halfway.  Each
    # transaction sets query_only, as the pooled connection may have served the other kind last.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("PRAGMA query_only=ON")
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("PRAGMA query_only=OFF")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_READING: ContextVar[bool] = ContextVar("ruqi_reading", default=False)


@contextmanager
def reading() -> Iterator[None]:
    """Within the block, every transaction this thread opens (``session``) only reads: on SQLite it
    neither takes nor waits for the write lock (``ruqi status`` while ``ruqi generate`` files a
    chunk), and a write in it is refused.  The read-only commands wrap their queries in it."""
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


class DatabaseForbidden(RuntimeError):
    """A process that must not open the database tried to (an engine bug, not a clerk's problem)."""


_FORBIDDEN = False  # set in the inbox's worker processes: they read files, the parent records them


def forbid_database() -> None:
    """From now on this process opens no database: its inherited connections are let go (never
    closed: they are the parent's) and ``get_engine`` refuses."""
    global _FORBIDDEN
    _FORBIDDEN = True
    for eng in _ENGINES.values():
        eng.dispose(close=False)
    _ENGINES.clear()


def get_engine(ws: Workspace) -> Engine:
    if _FORBIDDEN:
        raise DatabaseForbidden("this process examines files only and must not open the database")
    url = ws.database_url
    eng = _ENGINES.get(url)
    if eng is None:
        eng = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(eng, "connect", _sqlite_pragmas)
            event.listen(eng, "begin", _sqlite_begin)
        try:
            if not _sqlite_schema_current(eng):
                upgrade(eng)
        except DatabaseError as e:  # not a database, malformed, or not writable: say which, and what to do
            eng.dispose()
            raise RuqiError(database_finding(e, database_where(ws))) from e
        _ENGINES[url] = eng
    return eng


def _sqlite_schema_current(eng: Engine) -> bool:
    """Whether a SQLite database is at the code's schema version, read without the write lock:
    ``upgrade`` takes it (and checks again) only when there is a step to run, so a command does not
    wait at start for another process's filing."""
    if eng.dialect.name != "sqlite":
        return False
    with eng.connect() as conn, conn.execution_options(**{READ_ONLY: True}).begin():
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").first() is None:
            return False
        return (conn.exec_driver_sql("SELECT max(version) FROM schema_version").scalar() or 0) >= len(MIGRATIONS)


def dispose_engine(ws: Workspace) -> None:
    """Close the pooled connections (before the database file is moved or replaced)."""
    eng = _ENGINES.pop(ws.database_url, None)
    if eng is not None:
        eng.dispose()


def dispose_engines() -> None:
    """Close every pooled connection of this process (when a command ends): SQLite then writes its
    WAL back into the database file and removes it, instead of leaving that to whichever garbage
    collection might close the connections at exit."""
    for eng in _ENGINES.values():
        eng.dispose()
    _ENGINES.clear()


def database_where(ws: Workspace) -> str:
    """Where the database is, for a message (never the URL: it may hold a password)."""
    p = sqlite_path(ws)
    return str(p) if p is not None else "[archive] database_url"


def sqlite_path(ws: Workspace) -> Path | None:
    url = ws.database_url
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///"))


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def sqlite_damage(ws: Workspace) -> str | None:
    """Why the workspace's SQLite file is unusable (not a database, fails its integrity check), or
    None when it is sound, absent, or not SQLite."""
    p = sqlite_path(ws)
    if p is None or not p.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30)
        try:
            rows = [r[0] for r in con.execute("PRAGMA quick_check(5)")]
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        return str(e)
    return None if rows == ["ok"] else "；".join(map(str, rows))


def quarantine_sqlite(ws: Workspace, stamp: str) -> Path | None:
    """Move a damaged SQLite file (and its side files) out of archive/, to the workspace root, so
    a fresh one can be built; returns where it went.  Never deleted: it may still be salvageable."""
    p = sqlite_path(ws)
    if p is None or not p.exists():
        return None
    dispose_engine(ws)
    target = ws.root / f"{p.name}.damaged-{stamp}"
    for suffix in ("", *SQLITE_SIDE_FILES):
        side = p.with_name(p.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


@contextmanager
def session_or_new(ws: Workspace, s: Session | None) -> Iterator[Session]:
    """The caller's session when given (its transaction decides), else a new transaction."""
    if s is not None:
        yield s
    else:
        with session(ws) as own:
            yield own


@contextmanager
def session(ws: Workspace) -> Iterator[Session]:
    """A transaction: committed when the block ends normally, rolled back otherwise."""
    eng = get_engine(ws)
    maker = sessionmaker(eng.execution_options(**{READ_ONLY: True}) if _READING.get() else eng, expire_on_commit=False)
    with maker() as s, s.begin():
        yield s


def database_finding(e: DatabaseError, where: str = "") -> Finding:
    """A database error said for a clerk, with what to do about it."""
    text = str(getattr(e, "orig", e))
    low = text.lower()
    if isinstance(e, OperationalError) and "database is locked" in low:  # busy_timeout ran out: nothing is damaged
        return error(DbCode.BUSY, f"数据库正被另一个 ruqi 程序长时间占用（例如另一位办事员正在生成大批文书），等待超时，本次未做任何改动。"
                                  f"请稍后重试。（数据库提示：{text}）", where)
    if isinstance(e, OperationalError) and ("full" in low or "readonly" in low or "unable to open" in low):
        folder = Path(where).parent if where and not where.startswith("[") else None
        why = (folder_problem(folder) if folder is not None and folder.is_dir() else None) or (
            "磁盘已满，请腾出空间后重试" if "full" in low else "数据库文件或所在文件夹只读，请检查权限"
            if "readonly" in low else "无法打开数据库文件，请检查 archive/ 文件夹是否存在、是否可写")
        return error(DbCode.UNAVAILABLE, f"数据库无法写入（{folder or 'archive/'}）：{why}。（数据库提示：{text}）", where)
    return error(DbCode.DAMAGED, f"数据库出错，数据库文件（{where or 'archive/ruqi.sqlite'}）可能已损坏：请运行 "
                                 "ruqi archive repair（损坏的文件移到工作目录下留存，再从档案中的文件和日志重建），"
                                 f"或者从备份恢复数据库文件。（数据库提示：{text}）", where)
