"""What reading a workbook produces: a ``Submission`` of ``Row``s, each value with the cell it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..findings import Findings
from ..forms import FormType
from .meta import Meta
from .period import Period
from .tables import StatsKind, TableDef
from .units import Unit


@dataclass(slots=True)
class Row:
    line: int  # 1-based worksheet row, as Excel shows it
    unit_text: str  # the 单位 cell as written ("平城区应急管理局")
    unit: Unit | None
    raw: dict[str, Any]  # column key → cell value as read
    refs: dict[str, str]  # column key → A1 reference ("附件2!C7")
    values: dict[str, Any] = field(default_factory=dict)  # column key → checked value (int / str)
    is_total: bool = False

    def ref(self, key: str) -> str:
        return self.refs.get(key) or self.refs.get("unit") or f"第{self.line}行"


@dataclass(slots=True)
class Submission:
    """One statistics workbook as read: which table, period and units, its rows and every finding."""

    path: Path
    kind: StatsKind | None = None
    period: Period | None = None
    sheet: str = ""
    via: str = ""  # "metadata": our blank came back; "headers": recognised by title and headers
    meta: Meta | None = None
    meta_trusted: bool = False  # metadata signed by this workspace
    submitter: Unit | None = None  # 填报单位, resolved
    submitter_text: str = ""
    filled_at: str = ""  # 填报时间 as written
    filled_date: date | None = None
    columns: dict[str, int] = field(default_factory=dict)  # column key → 0-based sheet column
    rows: list[Row] = field(default_factory=list)
    total: Row | None = None
    note: str = ""  # a ``备注：…`` line under the table, as written
    findings: Findings = field(default_factory=Findings)
    sha256: str = ""

    @property
    def table(self) -> TableDef | None:
        return self.kind.table if self.kind else None

    @property
    def ok(self) -> bool:
        """No errors: the inbox files it (warnings become flags); otherwise it goes to rejected/."""
        return self.kind is not None and self.findings.ok and bool(self.rows)

    def unit_codes(self) -> list[str]:
        return list(dict.fromkeys(r.unit.code for r in self.rows if r.unit))

    @property
    def units(self) -> list[Unit]:
        return list(dict.fromkeys(r.unit for r in self.rows if r.unit))

    def values_by_unit(self) -> dict[str, tuple[Unit, list[dict[str, Any]]]]:
        out: dict[str, tuple[Unit, list[dict[str, Any]]]] = {}
        for r in self.rows:
            if r.unit is not None:
                out.setdefault(r.unit.code, (r.unit, []))[1].append(dict(r.values))
        return out

    def archive_meta(self) -> dict[str, Any]:
        """Suggested archive metadata (題名, 责任者, 日期…) for filing the workbook as received."""
        t, units = self.table, self.units
        who = self.submitter or (units[0] if len(units) == 1 else None)
        title = t.title_for(self.period) if t else "统计表"
        period = self.period.label_zh if self.period else ""
        return {
            "form_type": FormType.STATS_TABLE,
            "title": f"{who.full_name if who else self.submitter_text}{period}{title}",
            "responsible": who.full_name if who else self.submitter_text,
            "date": self.filled_date or date.today(),
            "year": self.period.year if self.period else date.today().year,
            "county": "、".join(u.name for u in units),
            "original_name": self.path.name,
            "extra": {"table": t.no if t else None, "period": str(self.period or ""), "units": self.unit_codes(),
                      "via": self.via},
        }

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.path.name, "table": self.table.no if self.table else None,
            "period": str(self.period or ""), "via": self.via, "sheet": self.sheet,
            "units": [u.name for u in self.units], "rows": len(self.rows), "ok": self.ok,
            "findings": self.findings.to_list(),
        }
