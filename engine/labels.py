"""Flags as a clerk reads them: the one table the CLI and the web pages print from."""

from __future__ import annotations

from .inbox.codes import Flag
from .stats.codes import PARTIAL_FLAG
from .stats.codes import label_zh as stats_label_zh

# Every archive flag with its label: the cards' (``Flag.zh``) and PARTIAL_FLAG, what a summary filed before
# every unit reported carries.
FLAG_ZH: dict[str, str] = {**{f: f.zh for f in Flag}, PARTIAL_FLAG: "不完整的汇总"}


def flag_zh(flag: str) -> str:
    """A flag as a clerk reads it: cards' flags here, statistics tables' from their own code list."""
    return FLAG_ZH.get(flag) or stats_label_zh(flag) or flag
