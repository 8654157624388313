"""Keep mailbox addresses and phone numbers whole at a line end, in both template languages.

A line breaker may break after a hyphen (``jw-`` / ``xian@dtyjj.gov.cn``, ``0352-`` /
``6000001``), which makes an address unusable on paper.  The templates print such texts through
the ``nobreak`` filter: in HTML every ASCII token holding ``@`` or ``-`` becomes a
``white-space: nowrap`` span (it moves to the next line whole); in Word XML its hyphens become
``w:noBreakHyphen`` (Word and LibreOffice show a hyphen and do not break there).
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# An address or number: ASCII letters, digits and . _ + @ -, holding an @ or a hyphen.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]*[@-][A-Za-z0-9._+@-]*[A-Za-z0-9]")
_DOCX_HYPHEN = '</w:t><w:noBreakHyphen/><w:t xml:space="preserve">'


def html_nobreak(text: object) -> Markup:
    """Escaped text with every address in ``<span class="nobr">``."""
    s = str(text)
    out, last = [], 0
    for m in _TOKEN.finditer(s):
        out += [escape(s[last:m.start()]), Markup('<span class="nobr">'), escape(m.group(0)), Markup("</span>")]
        last = m.end()
    out.append(escape(s[last:]))
    return Markup("").join(out)


def docx_nobreak(text: object) -> Markup:
    """Escaped run text (inside ``w:t``) with the hyphens of every address made non-breaking."""
    s = str(text)
    out, last = [], 0
    for m in _TOKEN.finditer(s):
        out += [escape(s[last:m.start()]), Markup(_DOCX_HYPHEN).join(escape(p) for p in m.group(0).split("-"))]
        last = m.end()
    out.append(escape(s[last:]))
    return Markup("").join(out)
