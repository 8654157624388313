"""The workspace database: one SQLAlchemy metadata for the register, the archive index and the audit log.

SQLite in ``archive/ruqi.sqlite`` by default; PostgreSQL when ``[archive] database_url`` is set.
Tables are declared next to the code that owns them (``engine.register``, ``engine.archive``);
this module only holds the shared ``Base`` and the connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from .findings import Finding, error
from .workspace import Workspace


class DbCode(StrEnum):
    UNAVAILABLE = "DB_UNAVAILABLE"  # cannot be opened or written (disk full, read-only, locked away)
    DAMAGED = "DB_DAMAGED"  # not a database, or malformed


class Base(DeclarativeBase):
    pass


_ENGINES: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets a reviewer read while the inbox writes; busy_timeout makes two `ruqi` processes
    # wait for each other instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN IMMEDIATE ourselves.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # IMMEDIATE takes the write lock at the start, so "read max(件号) then insert" is atomic
    # across processes.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(ws: Workspace) -> Engine:
    url = ws.database_url
    eng = _ENGINES.get(url)
    if eng is None:
        eng = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(eng, "connect", _sqlite_pragmas)
            event.listen(eng, "begin", _sqlite_begin)
        _import_models()
        from .migrations import upgrade

        upgrade(eng)
        _ENGINES[url] = eng
    return eng


def _import_models() -> None:
    # Importing registers each module's tables on Base.metadata.
    from . import provenance, register  # noqa: F401
    from .archive import models  # noqa: F401
    from .stats import submissions  # noqa: F401


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
    maker = sessionmaker(get_engine(ws), expire_on_commit=False)
    with maker() as s, s.begin():
        yield s


def database_finding(e: DatabaseError, where: str = "") -> Finding:
    """A database error said for a clerk, with what to do about it."""
    text = str(getattr(e, "orig", e))
    low = text.lower()
    if isinstance(e, OperationalError) and ("full" in low or "readonly" in low or "unable to open" in low):
        why = ("磁盘已满，请腾出空间后重试" if "full" in low else "数据库文件或所在文件夹只读，请检查权限"
               if "readonly" in low else "无法打开数据库文件，请检查 archive/ 文件夹是否存在、是否可写")
        return error(DbCode.UNAVAILABLE, f"数据库无法写入：{why}。（数据库提示：{text}）", where)
    return error(DbCode.DAMAGED, f"数据库出错：{text}。若数据库文件 archive/ruqi.sqlite 已损坏，请从备份恢复，"
                                 f"或运行 ruqi archive repair 从档案文件重建索引。", where)
