"""Findings: what a check has to say about a file, a row or a cell.

Every check in the engine *returns or yields* findings instead of raising, so one bad
row or one bad file never stops the others.  A finding has a stable ``code`` (for
programs and tests), a Chinese ``message`` (for the clerk) and a ``where`` (row/column,
A1 cell, question number, file name).  Codes are plain strings grouped in ``StrEnum``s
owned by the module that emits them (``PlanCode``, ``CardCode``…); this module only
knows the shape.
"""

from __future__ import annotations

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

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["code"] = str(self.code)
        d["severity"] = str(self.severity)
        return d

    def __str__(self) -> str:
        loc = f"[{self.where}] " if self.where else ""
        return f"{loc}{self.message}（{self.code}）"


def error(code: str, message: str, where: str = "") -> Finding:
    return Finding(str(code), message, where, Severity.ERROR)


def warning(code: str, message: str, where: str = "") -> Finding:
    return Finding(str(code), message, where, Severity.WARNING)


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
