"""Looking at ``inbox/`` before anything is claimed: which entries are documents to handle now,
and which stay where they are, each with a reason the clerk reads (status ``skipped``).

Nothing here moves or reads a document.  Left in place, and said why:

- a folder (its files are not handled: the clerk moves them into ``inbox/`` itself), a symbolic
  link (never followed: it could point anywhere), a FIFO, socket or device (reading one blocks);
- a file the engine's user may not read (its permissions): claiming it would hide it in
  ``.processing/`` where nobody could fix it;
- a file still being written: the stability rule of ``ruqi watch`` (size and modification time
  unchanged for ``[limits] stable_seconds``) applies to ``ruqi ingest`` too.  A file whose
  modification time is already that old is stable by its own evidence; a younger one is watched
  for up to ``WAIT_FACTOR`` × ``stable_seconds`` and left in the inbox if it keeps changing.

Silently ignored: the folders the engine owns (``rejected/``, ``needs_review/``, ``.processing/``),
hidden and system folders (``.Trash-1000``, ``$RECYCLE.BIN``, NAS snapshots), and the editor lock
files and partial downloads ``engine.inbox.claim.ignored`` names.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from ..actor import user_name
from ..findings import Findings, error
from .claim import PROCESSING, ignored
from .codes import Reason, Status
from .outcome import Outcome
from .preflight import display_name
from .shelve import NEEDS_REVIEW_DIR

WAIT_FACTOR = 2.0  # a young file is watched at most this many stable_seconds before it is left
POLL_S = 0.2
MAX_COUNTED = 10_000  # files counted inside a dropped folder (the message only needs a number)
OWNED_DIRS = {PROCESSING, "rejected", NEEDS_REVIEW_DIR}
SYSTEM_DIRS = {"$RECYCLE.BIN", "System Volume Information", "@eaDir", "#recycle", "#snapshot", "lost+found"}

Signature = tuple[int, int, int, int]  # (size, mtime_ns, ctime_ns, mode): any change means "not settled"


@dataclass(slots=True)
class Survey:
    ready: list[Path] = field(default_factory=list)  # regular, readable, settled files, oldest first
    left: list[Outcome] = field(default_factory=list)  # skipped: stay in inbox/, reason given
    vanished: list[str] = field(default_factory=list)  # gone while watched (taken by another run, or deleted)

    def leave(self, name: str, code: Reason, message: str) -> None:
        self.left.append(left_outcome(name, code, message))


def left_outcome(name: str, code: Reason, message: str, detail: str = "") -> Outcome:
    shown = display_name(name)
    return Outcome(shown, "", Status.SKIPPED, location=f"inbox/{shown}",
                   findings=Findings([error(code, message, "文件", detail)]))


def signature(st: os.stat_result) -> Signature:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode


def entries(inbox: Path) -> dict[str, os.stat_result]:
    """Every entry of ``inbox/`` the engine should look at (lstat: links are not followed)."""
    out: dict[str, os.stat_result] = {}
    for e in os.scandir(inbox):
        if ignored(e.name):
            continue
        try:
            st = e.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone between listing and stat: nothing to say about it
        if stat.S_ISDIR(st.st_mode) and (e.name in OWNED_DIRS or e.name.startswith(".") or e.name in SYSTEM_DIRS):
            continue
        out[e.name] = st
    return out


def survey(inbox: Path, names: Collection[str] | None, stable_seconds: float, *,
           clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Survey:
    """Sort the inbox's entries (or only ``names``) into ready files and skipped entries."""
    sv = Survey()
    young: dict[str, Signature] = {}
    ready: dict[str, int] = {}  # name → mtime_ns, for the oldest-first order
    wall = time.time_ns()
    for name, st in entries(inbox).items():
        if names is not None and name not in names:
            continue
        if not _regular(sv, inbox, name, st):
            continue
        if stable_seconds <= 0 or wall - st.st_mtime_ns >= stable_seconds * 1e9:
            ready[name] = st.st_mtime_ns
        else:
            young[name] = signature(st)
    if young:
        _wait(sv, inbox, young, ready, stable_seconds, clock, sleep)
    sv.ready = [inbox / n for n in sorted(ready, key=lambda n: (ready[n], n))]
    return sv


def _regular(sv: Survey, inbox: Path, name: str, st: os.stat_result) -> bool:
    """A regular file the engine may read; anything else is left with its reason."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        try:
            target = f"（指向“{display_name(os.readlink(inbox / name))}”）"
        except OSError:
            target = ""
        sv.leave(name, Reason.SYMLINK, f"这是快捷方式（符号链接）{target}，不是文件本身；为安全起见不跟随链接。"
                                      "请把它指向的文件本身复制进 inbox/，再删除这个快捷方式。")
        return False
    if stat.S_ISDIR(mode):
        n = _count_files(inbox / name)
        sv.leave(name, Reason.FOLDER, f"这是一个文件夹（内有 {n} 个文件），收件箱不处理文件夹里的文件。"
                                     "请把其中的反馈卡和统计表移出文件夹、直接放进 inbox/，再运行 ruqi ingest；"
                                     "之后可删除空文件夹。")
        return False
    if not stat.S_ISREG(mode):
        what = "命名管道（FIFO）" if stat.S_ISFIFO(mode) else "套接字" if stat.S_ISSOCK(mode) else "设备文件"
        sv.leave(name, Reason.NOT_A_FILE, f"这不是普通文件，而是{what}，不能当作文档读取。请删除它，把真正的文件放入收件箱。")
        return False
    try:
        fd = os.open(inbox / name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        sv.leave(name, Reason.NO_PERMISSION, no_permission(st))
        return False
    except FileNotFoundError:
        return False
    os.close(fd)
    return True


def no_permission(st: os.stat_result) -> str:
    return (f"本程序（用户 {user_name(os.geteuid() if hasattr(os, 'geteuid') else -1)}）没有读取此文件的权限"
            f"（文件属于用户 {user_name(st.st_uid)}，权限 {stat.filemode(st.st_mode)}）。文件留在收件箱未动。"
            "请让管理员放开读取权限（如 chmod a+r），或重新复制一份放入收件箱后再运行 ruqi ingest。")


def _count_files(folder: Path) -> int:
    n = 0
    for _dir, _dirs, files in os.walk(folder):
        n += len(files)
        if n >= MAX_COUNTED:
            break
    return n


def _wait(sv: Survey, inbox: Path, young: dict[str, Signature], ready: dict[str, int], stable_seconds: float,
          clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    """Watch young files until each is settled (unchanged for ``stable_seconds``), or time is up."""
    start = clock()
    since = dict.fromkeys(young, start)
    deadline = start + WAIT_FACTOR * stable_seconds
    while young:
        sleep(min(POLL_S, max(0.0, deadline - clock())))
        now, wall = clock(), time.time_ns()
        for name in list(young):
            try:
                st = (inbox / name).lstat()
            except FileNotFoundError:
                del young[name]
                sv.vanished.append(name)
                continue
            sig = signature(st)
            if sig != young[name]:
                young[name], since[name] = sig, now
            elif now - since[name] >= stable_seconds or wall - st.st_mtime_ns >= stable_seconds * 1e9:
                del young[name]
                ready[name] = st.st_mtime_ns
        if now >= deadline:
            break
    for name in young:
        sv.leave(name, Reason.STILL_WRITING, still_writing(f"{WAIT_FACTOR * stable_seconds:g} 秒内大小或修改时间仍在变化"))


VANISHED_MESSAGE = ("文件在处理前不见了：可能被移走或删除，或已由同时运行的另一个 ruqi ingest / ruqi watch 处理。"
                    "本次未处理；如文件仍需处理，请重新放入收件箱。")


def still_writing(evidence: str) -> str:
    return (f"文件仍在写入（{evidence}），可能还在复制或下载。文件留在收件箱未动；"
            "复制完成后重新运行 ruqi ingest（ruqi watch 会自动等到复制完成）。")
