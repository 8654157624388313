"""The 纪委 review: what needs the discipline inspectors' attention, and a verifiable export of it.

``build_review`` collects the list as typed data (``select_entries`` picks one kind of finding,
``build_entry`` one inspection); ``write_xlsx`` / ``write_pdf`` present it;
``export_bundle`` hands a reviewer a BagIt bag with the originals, an index and the report.
"""

from .collect import (
    CardIssue,
    OverCap,
    Review,
    SuspectCard,
    Tally,
    Violation,
    VisitMismatch,
    build_entry,
    build_review,
    select_entries,
)
from .model import CARD_STATE_ZH, FLAG_ZH, CardState, Document, Entry, ReviewFlag, SuspectReason, Team

__all__ = [
    "CARD_STATE_ZH", "FLAG_ZH", "CardIssue", "CardState", "Document", "Entry", "OverCap", "Review", "ReviewFlag",
    "SuspectCard", "SuspectReason", "Tally", "Team", "Violation", "VisitMismatch", "build_entry", "build_review",
    "select_entries",
]
