"""Who is acting: the name recorded with every register row, archive item and audit entry.

A leaf module (standard library only), so the register, the archive and the statistics desk can
all name the actor without importing each other.
"""

from __future__ import annotations

import getpass


def current_actor(actor: str | None = None) -> str:
    """The given name, else the login name, else ``unknown``."""
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
