"""Reporting units: the rows of a statistics table, and reading a unit name as people write it.

A city workspace (``level == "市"``) collects from 市本级 and each county of
``engine.divisions``; a province workspace from 省本级 and each city in ``divisions.CITIES``.

Unit codes: a county's or city's division code; 市本级 uses the city's code and 省本级 the
province's (``140000``).  开发区 has no published code, so it gets the synthetic code
``<city code>KF`` (``140500KF`` for 晋城): stable, eight characters, and never a valid
division code, so it cannot collide with one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .. import divisions
from ..workspace import Config

PROVINCE_CODE = "140000"
PROVINCE_NAME = "山西省"
DEV_ZONE = "开发区"
DEV_ZONE_SUFFIX = "KF"

_SUFFIXES = re.compile(r"(应急管理综合行政执法支队|应急管理局|应急管理厅|应急局|应急厅|应急管理部门|经济发展与安全监管部|安全监管部)$")
_CITY_OWN = ("本级", "市本级", "市局", "市直", "市级")
_PROVINCE_OWN = ("本级", "省本级", "省厅", "省直", "省级", "山西省", "全省本级")


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str  # as in the table's 单位 column: 市本级, 平城区, 开发区, 大同市, 省本级
    full_name: str  # as in 填报单位: 大同市应急管理局, 平城区应急管理局

    def __str__(self) -> str:
        return self.name


def units_for(config: Config) -> list[Unit]:
    """Every unit a workspace expects a table from, 本级 first, in the order of ``engine.divisions``."""
    if config.level == "省":
        own = Unit(PROVINCE_CODE, "省本级", "山西省应急管理厅")
        return [own, *(Unit(code, name, f"{name}应急管理局") for code, name in divisions.CITIES.items())]
    city = config.division_code[:4] + "00"
    if config.level == "市":
        own = Unit(city, "市本级", f"{divisions.city_name(city)}应急管理局")
        return [own, *(_county_unit(d) for d in divisions.counties_of(city))]
    d = divisions.find_county(config.division_code)
    name = d.name if d else config.short_name
    return [Unit(config.division_code, name, config.name)]


def _county_unit(d: divisions.Division) -> Unit:
    if d.name == DEV_ZONE and not d.code:
        return Unit(d.city_code + DEV_ZONE_SUFFIX, DEV_ZONE, f"{divisions.city_name(d.city_code)}开发区经济发展与安全监管部")
    return Unit(d.code, d.name, d.bureau_name)


def normalize(text: object) -> str:
    """Full-width to half-width, no spaces, bureau suffix removed: ``'平城区应急管理局 '`` → ``'平城区'``."""
    t = unicodedata.normalize("NFKC", str(text or ""))
    t = re.sub(r"\s+", "", t)
    return _SUFFIXES.sub("", t)


def resolve(text: object, units: Sequence[Unit], config: Config) -> Unit | None:
    """The unit a clerk meant by ``text`` (name, bureau name, code, 大同市平城区, 市本级…), or None."""
    key = normalize(text)
    if not key:
        return None
    for u in units:
        if key in (u.code, u.name, normalize(u.full_name)):
            return u
    own = units[0] if units else None
    if config.level == "省":
        if key in _PROVINCE_OWN or key in ("山西省", "山西"):
            return own
        return next((u for u in units if key in (u.name.removesuffix("市"),)), None)
    if config.level == "市" and own is not None:
        city = divisions.city_name(own.code)
        rest = _strip_prefix(key, (city, city.removesuffix("市")))
        if rest in _CITY_OWN or key in (city, city.removesuffix("市")):
            return own
        for u in units:
            if rest == u.name:
                return u
        if DEV_ZONE in key:
            return next((u for u in units if u.name == DEV_ZONE), None)
    return None


def _strip_prefix(key: str, prefixes: Iterable[str]) -> str:
    for p in prefixes:
        if p and key.startswith(p) and len(key) > len(p):
            return key[len(p):]
    return key


def pick(names: str, units: Sequence[Unit], config: Config) -> tuple[list[Unit], list[str]]:
    """``--units 平城区,云冈区`` → the units and the names that matched none."""
    chosen: list[Unit] = []
    unknown: list[str] = []
    for part in re.split(r"[,，、;；\s]+", names or ""):
        if not part:
            continue
        u = resolve(part, units, config)
        if u is None:
            unknown.append(part)
        elif u not in chosen:
            chosen.append(u)
    return chosen, unknown
