"""Telling a full disk or an unwritable archive apart from a bad file.

A file cannot be blamed for ``ENOSPC`` or a read-only archive, and rejecting it would be wrong
(the next file fails the same way): such an error stops the run instead.  ``trouble`` recognises
it (an ``OSError`` errno, or the database's own words for it), ``Trouble.finding`` turns it into
the Chinese sentence that names the problem and the folder, and ``Stop`` carries it out of the
batch to ``ingest``, which rolls back what was not committed, puts the unfinished files back into
``inbox/`` and returns the finding as ``IngestReport.stopped``.
"""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..actor import login_name
from ..findings import Finding, RuqiError, error
from ..workspace import Workspace
from .codes import Reason

DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
# What SQLite and PostgreSQL say (lower case) when they cannot write.
DB_FULL_WORDS = ("database or disk is full", "no space left", "could not extend file", "disk quota exceeded")
DB_READ_ONLY_WORDS = ("readonly database", "read-only", "read only", "unable to open database file",
                      "permission denied")


@dataclass(frozen=True, slots=True)
class Trouble:
    code: Reason  # DISK_FULL / READ_ONLY
    folder: str  # the folder (or the database server) that could not be written

    def finding(self, left_in_inbox: int) -> Finding:
        if self.code is Reason.DISK_FULL:
            problem = f"磁盘空间已满，无法写入“{self.folder}”{_free(self.folder)}。"
            fix = "请清理该磁盘（或把工作目录移到空间充足的磁盘）后重新运行 ruqi ingest。"
        else:
            problem = f"无法写入“{self.folder}”：该文件夹是只读的，或本程序（用户 {login_name() or '?'}）没有写权限。"
            fix = "请让管理员恢复该文件夹的写权限后重新运行 ruqi ingest。"
        back = (f"本次尚未完成的 {left_in_inbox} 个文件已原样放回 inbox/，没有登记、没有归档；" if left_in_inbox
                else "")
        return error(self.code, f"{problem}处理已停止。{back}此前已处理完的文件不受影响。{fix}", self.folder)


class Stop(RuqiError):
    """The run cannot go on (see the module docstring); raised inside the batch only."""

    def __init__(self, trouble: Trouble):
        super().__init__(trouble.finding(0))
        self.trouble = trouble


def trouble(e: BaseException, ws: Workspace) -> Trouble | None:
    """The storage problem behind ``e`` (or one of its causes), or None for any other error."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, Stop):
            return cur.trouble
        t = _from_os(cur, ws) if isinstance(cur, OSError) else _from_db(cur, ws)
        if t is not None:
            return t
        cur = getattr(cur, "orig", None) or cur.__cause__ or cur.__context__
    return None


def _from_os(e: OSError, ws: Workspace) -> Trouble | None:
    if e.errno not in DISK_FULL_ERRNOS | READ_ONLY_ERRNOS:
        return None
    code = Reason.DISK_FULL if e.errno in DISK_FULL_ERRNOS else Reason.READ_ONLY
    return Trouble(code, _folder(e.filename, ws))


def _from_db(e: BaseException, ws: Workspace) -> Trouble | None:
    if not type(e).__module__.startswith(("sqlite3", "sqlalchemy", "psycopg")):
        return None
    text = str(e).lower()
    if any(w in text for w in DB_FULL_WORDS):
        return Trouble(Reason.DISK_FULL, _db_folder(ws))
    if any(w in text for w in DB_READ_ONLY_WORDS):
        return Trouble(Reason.READ_ONLY, _db_folder(ws))
    return None


def _folder(filename: object, ws: Workspace) -> str:
    if not filename:
        return str(ws.archive)
    p = Path(str(filename))
    return str(p if p.is_dir() else p.parent)


def _db_folder(ws: Workspace) -> str:
    url = ws.database_url
    if url.startswith("sqlite:///"):
        return str(Path(url.removeprefix("sqlite:///")).parent)
    return "数据库服务器（[archive] database_url）"


def _free(folder: str) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f"（该磁盘剩余 {free / 1048576:.1f} MB）"
