"""Who is acting: the name recorded with every register row, archive item and audit entry.

A leaf module (standard library only), so the register, the archive and the statistics desk can
all name the actor without importing each other.

The web site (``engine.web``) runs every request of a signed-in user inside ``acting_as(name)``:
a context variable, so concurrent requests (threads of the server's pool, asyncio tasks) each see
their own user, and the library code they call records that name without being passed it.  A
thread started by hand does not inherit it: run its work with ``contextvars.copy_context().run``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ACTING: ContextVar[str | None] = ContextVar("ruqi_actor", default=None)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Everything done inside the block (in this context) is recorded under ``name``."""
    token = _ACTING.set(name)
    try:
        yield
    finally:
        _ACTING.reset(token)


def current_actor(actor: str | None = None) -> str:
    """The given name, else the signed-in user of this context, else the login name, else ``unknown``."""
    if actor:
        return actor
    acting = _ACTING.get()
    if acting:
        return acting
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
