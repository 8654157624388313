"""Findings: what a check has to say about a file, a row or a cell.

Every check in the engine *returns or yields* findings instead of raising, so one bad
row or one bad file never stops the others.  A finding has a stable ``code`` (for
programs and tests), a Chinese ``message`` (for the clerk) and a ``where`` (row/column,
A1 cell, question number, file name).  Codes are plain strings grouped in ``StrEnum``s
owned by the module that emits them (``PlanCode``, ``CardCode``…); this module only
knows the shape.
"""

from __future__ import annotations

import errno
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"  # the item cannot be accepted as it is
    WARNING = "warning"  # accepted, but a person should look
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    where: str = ""
    severity: Severity = Severity.ERROR
    # For developers only (an exception's type and text): in JSON and reason.json, never in the message.
    detail: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["code"] = str(self.code)
        d["severity"] = str(self.severity)
        if not self.detail:
            del d["detail"]
        return d

    def located(self, form: str = "[{}] ") -> str:
        return located(self.message, self.where, form)

    def __str__(self) -> str:
        return f"{self.located()}（{self.code}）"


def located(message: str, where: str = "", form: str = "[{}] ") -> str:
    """``message`` with its place in front (``form`` says how), once: a message that already
    begins by naming its place ("第2行是…", "notice.docx 正文第1段：…") is not prefixed again.
    Every renderer of findings (and of their stored dicts) goes through here."""
    if not where or message.startswith(where):
        return message
    return form.format(where) + message


def error(code: str, message: str, where: str = "", detail: str = "") -> Finding:
    return Finding(str(code), message, where, Severity.ERROR, detail)


def warning(code: str, message: str, where: str = "", detail: str = "") -> Finding:
    return Finding(str(code), message, where, Severity.WARNING, detail)


def os_reason(e: OSError) -> str:
    """Why an OS call failed, said for a clerk (disk full, read-only, no permission …)."""
    return {
        errno.ENOSPC: "磁盘已满，请腾出空间后重试",
        errno.EDQUOT: "磁盘配额已用完，请腾出空间后重试",
        errno.EROFS: "该位置是只读的（只读磁盘、共享文件夹或光盘），请改为可写的位置",
        errno.EACCES: "没有写入权限，请让管理员给当前用户开放该文件夹的读写权限",
        errno.EPERM: "操作不被允许（权限不足），请让管理员检查该文件夹的权限",
        errno.ENOENT: "文件或文件夹不存在",
        errno.ENAMETOOLONG: "文件名过长",
        errno.EIO: "磁盘读写出错（硬件或网络故障），请检查磁盘或网络连接",
    }.get(e.errno or 0, f"系统错误：{e.strerror or e}")


def exception_reason(e: BaseException) -> str:
    """What kind of failure an unexpected exception is, in a clerk's words.  The class name and
    text are for developers: pass ``exception_detail(e)`` as the finding's ``detail``."""
    kinds: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
        (MemoryError, "内存不足"),
        (RecursionError, "内容嵌套过深"),
        (TimeoutError, "等待超时"),
        (ConnectionError, "网络连接中断"),
        (zipfile.BadZipFile, "压缩结构已损坏"),
        (EOFError, "文件不完整，可能被截断"),
        (UnicodeError, "文字编码无法识别"),
        ((KeyError, IndexError, ValueError, TypeError, AttributeError, LookupError), "内容不符合预期的格式"),
        (NotImplementedError, "文件用了本程序不支持的功能"),
    )
    if isinstance(e, OSError) and not isinstance(e, TimeoutError | ConnectionError):
        return os_reason(e)
    return next((text for kind, text in kinds if isinstance(e, kind)), "程序内部错误")


def exception_detail(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:500]


@dataclass(slots=True)
class Findings:
    """An ordered collection with the few queries every caller needs."""

    items: list[Finding] = field(default_factory=list)

    def add(self, f: Finding | None) -> None:
        if f is not None:
            self.items.append(f)

    def extend(self, fs: Iterable[Finding | None]) -> None:
        for f in fs:
            self.add(f)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.items if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.items if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def codes(self) -> list[str]:
        return [f.code for f in self.items]

    def flatten(self, *keys: str) -> list[tuple[Any, ...]]:
        """``flatten("code", "where")`` → ``[(code, where), …]``: one-line test assertions."""
        return [tuple(getattr(f, k) for k in keys) for f in self.items]

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.items]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


class RuqiError(Exception):
    """Wraps findings so a value can be raised where raising is the only exit (CLI, config).

    ``finding`` is the first (the headline); ``findings`` all of them, e.g. every problem of a
    ``ruqi.toml`` at once, so the clerk fixes them in one go."""

    def __init__(self, finding: Finding, *more: Finding):
        super().__init__("\n".join(str(f) for f in (finding, *more)))
        self.finding = finding
        self.findings = [finding, *more]
