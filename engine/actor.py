"""Who is acting: the name recorded with every register row, archive item and audit entry, and
the operating system's user names (``login_name``, ``user_name``) messages about file permissions give.

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
    return login_name() or "unknown"


def login_name() -> str | None:
    """The operating system's name for the user running this program (None when it has none:
    some containers).  Messages about file permissions name this user, not the signed-in one."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return None


def user_name(uid: int) -> str:
    """The login name of user ``uid`` (the owner of a file), or the number when it has none."""
    try:
        import pwd  # POSIX only

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)
