"""Hidden metadata in our blank workbooks, so a returned file is recognised without guessing.

Written twice: a very hidden sheet ``_ruqi`` (key/value rows; survives Excel, WPS and
LibreOffice round trips and is cheap to read with calamine) and the workbook's custom document
properties (``ruqi.table``…).  ``sig`` is an HMAC over table, period, unit and issuer made with
the workspace key: a workbook issued by another workspace (or edited metadata) still reads, but
its unit is then taken from the cells, not from the metadata.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..xlsx_safe import set_text

if TYPE_CHECKING:  # openpyxl loads where a workbook is written (start-up time)
    from openpyxl import Workbook

META_SHEET = "_ruqi"
APP = "ruqi"
SCHEMA = "1"
PROP_PREFIX = "ruqi."


@dataclass(frozen=True, slots=True)
class Meta:
    table: int
    period: str
    unit_code: str
    unit_name: str
    due: str = ""  # ISO date or ""
    issued_by: str = ""  # issuing workspace's division code
    issued_at: str = ""
    engine_version: str = ""
    sig: str = ""

    def payload(self) -> str:
        return f"{self.table}|{self.period}|{self.unit_code}|{self.issued_by}"

    def signed(self, key: bytes) -> Meta:
        d = asdict(self) | {"sig": sign(key, self.payload())}
        return Meta(**d)

    def verify(self, key: bytes) -> bool:
        return bool(self.sig) and hmac.compare_digest(self.sig, sign(key, self.payload()))


def sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def write_meta(wb: Workbook, meta: Meta) -> None:
    from openpyxl.packaging.custom import StringProperty

    sh = wb.create_sheet(META_SHEET)
    rows = {"app": APP, "schema": SCHEMA} | {k: str(v) for k, v in asdict(meta).items()}
    for i, (k, v) in enumerate(rows.items(), start=1):
        sh.cell(i, 1, k)
        set_text(sh.cell(i, 2), v)
    sh.sheet_state = "veryHidden"  # not listed under 取消隐藏, so nobody edits it by accident
    for k, v in rows.items():
        wb.custom_doc_props.append(StringProperty(name=PROP_PREFIX + k, value=v or "-"))


def meta_from_pairs(pairs: dict[str, Any]) -> Meta | None:
    if str(pairs.get("app", "")).strip() != APP:
        return None
    try:
        table = int(float(str(pairs.get("table", ""))))
    except ValueError:
        return None
    fields = {k: _text(pairs.get(k)) for k in Meta.__dataclass_fields__ if k != "table"}
    return Meta(table=table, **fields)


def meta_from_rows(rows: list[list[Any]]) -> Meta | None:
    pairs = {str(r[0]).strip(): r[1] for r in rows if len(r) >= 2 and r[0] not in (None, "")}
    return meta_from_pairs(pairs)


_PROP = re.compile(r'<property[^>]*\bname="ruqi\.([a-z_]+)"[^>]*>\s*<vt:lpwstr>([^<]*)</vt:lpwstr>', re.S)


def meta_from_custom_props(path: Path) -> Meta | None:
    """The fallback when the hidden sheet is gone: docProps/custom.xml of an .xlsx."""
    try:
        with zipfile.ZipFile(path) as z:
            xml = z.read("docProps/custom.xml").decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return None
    pairs = {k: ("" if v == "-" else v) for k, v in _PROP.findall(xml)}
    return meta_from_pairs(pairs)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()
