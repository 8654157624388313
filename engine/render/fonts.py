"""Which characters no installed font can print (they would come out as empty boxes in the PDF).

WeasyPrint lays text out with Pango, which falls back through fontconfig to any installed font
that has a character, so the question is "does any font here have it", not only the CSS stack.
Rare characters in enterprise names (CJK Extension B and later: 𠀀 𪚥) are covered by the Hanazono
fonts that ``scripts/setup.sh`` installs; a character still uncovered is reported at generation.

fontconfig is asked once per process (``fc-list``, a few milliseconds); where it cannot be asked
``uncovered`` reports nothing rather than guessing.
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
from functools import lru_cache

# Code points every PDF we make can print without asking (the CSS stack's own Latin face).
_ALWAYS = 0x80


@lru_cache(maxsize=1)
def _coverage() -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Merged (starts, ends) of every installed font's character set, or None if unknown."""
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--format=%{charset}\\n"], capture_output=True, text=True, timeout=30,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # The CJK faces of a family share one character set: each distinct range is parsed once.
    spans = sorted(_spans(" ".join(set(out.split()))))
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple(a for a, _ in merged), tuple(b for _, b in merged)


def _spans(charsets: str) -> list[tuple[int, int]]:
    spans = []
    for token in charsets.split():
        a, _, b = token.partition("-")
        try:
            spans.append((int(a, 16), int(b or a, 16)))
        except ValueError:
            continue
    return spans


def _covered(cp: int, cov: tuple[tuple[int, ...], tuple[int, ...]]) -> bool:
    starts, ends = cov
    i = bisect.bisect_right(starts, cp) - 1
    return i >= 0 and cp <= ends[i]


def uncovered(text: str) -> str:
    """The distinct characters of ``text`` (in order) that no installed font has; "" if none or unknown."""
    cov = _coverage()
    if cov is None:
        return ""
    seen: dict[str, None] = {}
    for ch in text:
        cp = ord(ch)
        if cp >= _ALWAYS and not ch.isspace() and ch not in seen and not _covered(cp, cov):
            seen[ch] = None
    return "".join(seen)
