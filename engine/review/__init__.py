"""The 纪委 review: what needs the discipline inspectors' attention, and a verifiable export of it.

``build_review`` collects the list as typed data (``select_entries`` picks one kind of finding,
``build_entry`` one inspection); ``write_xlsx`` / ``write_pdf`` present it;
``export_bundle`` hands a reviewer a BagIt bag with the originals, an index and the report.
"""

from __future__ import annotations

from ..lazy import lazy_package

# Public name → the submodule it comes from, imported on first use (see engine/lazy.py): `ruqi review`
# lists without loading the report's workbook and PDF writers, which only --out, --pdf and export need.
__all__ = lazy_package(__name__, {
    "CardIssue": "collect", "OverCap": "collect", "Review": "collect", "SuspectCard": "collect", "Tally": "collect",
    "Violation": "collect", "VisitMismatch": "collect", "build_entry": "collect", "build_review": "collect",
    "select_entries": "collect", "review_dict": "collect",
    "CARD_STATE_ZH": "model", "FLAG_ZH": "model", "CardState": "model", "Document": "model", "Entry": "model",
    "ReviewFlag": "model", "SuspectReason": "model", "Team": "model",
    "write_pdf": "report", "write_xlsx": "report",
    "export_bundle": "export",
})
