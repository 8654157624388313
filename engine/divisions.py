"""Shanxi administrative divisions the engine knows (codes from public data, see DOMAIN.md).

A county is looked up by its name, by its bureau's name (``平城区应急管理局``) or by its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Division:
    code: str  # six digits; "" where none is published (开发区)
    name: str
    city_code: str

    @property
    def bureau_name(self) -> str:
        return f"{self.name}应急管理局"


CITIES: dict[str, str] = {"140200": "大同市", "140500": "晋城市", "141000": "临汾市", "141100": "吕梁市"}

_COUNTIES: dict[str, list[tuple[str, str]]] = {
    "140200": [
        ("140212", "新荣区"), ("140213", "平城区"), ("140214", "云冈区"), ("140215", "云州区"),
        ("140221", "阳高县"), ("140222", "天镇县"), ("140223", "广灵县"), ("140224", "灵丘县"),
        ("140225", "浑源县"), ("140226", "左云县"),
    ],
    "140500": [
        ("140502", "城区"), ("140521", "沁水县"), ("140522", "阳城县"), ("140524", "陵川县"),
        ("140525", "泽州县"), ("140581", "高平市"), ("", "开发区"),
    ],
}

COUNTIES: list[Division] = [
    Division(code, name, city) for city, rows in _COUNTIES.items() for code, name in rows
]


def city_name(city_code: str) -> str:
    return CITIES.get(city_code, city_code)


def counties_of(city_code: str) -> list[Division]:
    return [d for d in COUNTIES if d.city_code == city_code]


_SUFFIX = re.compile(r"(应急管理局|应急局|应急管理部门)$")


def normalize_unit_name(text: str) -> str:
    """``' 平城区应急管理局 '`` → ``'平城区'``; full-width spaces and bureau suffixes removed."""
    t = re.sub(r"[\s\u3000]+", "", str(text or ""))
    return _SUFFIX.sub("", t)


def find_county(text: str, city_code: str | None = None) -> Division | None:
    """Find a county by name, bureau name or code, optionally within one city.

    ``城区`` and ``开发区`` are ambiguous across cities, hence ``city_code``.
    """
    key = normalize_unit_name(text)
    if not key:
        return None
    pool = counties_of(city_code) if city_code else COUNTIES
    for d in pool:
        if key in (d.code, d.name) or key == f"{city_name(d.city_code)}{d.name}":
            return d
    return None
