"""Lists on the site are shown a page at a time (the CLI prints them whole): 50 rows, the total, and
links to the pages before and after that keep the list's filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request

PAGE_SIZE = 50
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # from 1
    size: int
    total: int  # rows in the whole list
    query: tuple[tuple[str, str], ...] = ()  # the request's other parameters, kept by the links

    @property
    def pages(self) -> int:
        return max((self.total + self.size - 1) // self.size, 1)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def rows(self, all_rows: Sequence[T]) -> list[T]:
        return list(all_rows[self.offset:self.offset + self.size])

    def link(self, number: int) -> str:
        return "?" + urlencode([*self.query, ("page", str(number))])


def page_of(request: Request, total: int, size: int = PAGE_SIZE) -> Page:
    """The page the request asks for (``?page=N``), within the list's ``total`` rows."""
    q = request.query_params
    asked = int(q["page"]) if (q.get("page") or "").isdigit() else 1
    pages = max((total + size - 1) // size, 1)
    rest = tuple((k, v) for k, v in q.multi_items() if k != "page")
    return Page(min(max(asked, 1), pages), size, total, rest)
