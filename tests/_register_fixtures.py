"""Bureaus sharing one register: workspaces of 大同市 and 平城区 joined to a shared register on a
throw-away PostgreSQL server (the ``pg_server`` fixture of ``test_archive_pg``), set up the way
the README tells an administrator and a county to do it."""

from __future__ import annotations

import os
from itertools import count
from pathlib import Path

from engine.shared_register import BureauAdded, add_bureau, setup
from engine.workspace import Workspace, init

CITY = ("大同市应急管理局", "市", "140200")
COUNTY = ("大同市平城区应急管理局", "县", "140213")
YUNZHOU = ("大同市云州区应急管理局", "县", "140215")

_dbs = count()


def register_database(pg_server: tuple[str, int]) -> str:
    """A fresh database on the server, set up as a shared register; its administrator URL."""
    import psycopg

    host, port = pg_server
    name = f"ruqi_register_{os.getpid()}_{next(_dbs)}"
    with psycopg.connect(host=host, port=port, user="ruqi", dbname="postgres", autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    admin = f"postgresql://ruqi@/{name}?host={host}&port={port}"
    setup(admin)
    return admin


def join(root: Path, admin: str, bureau: tuple[str, str, str]) -> Workspace:
    """A bureau's workspace joined to the register: the administrator adds the bureau, the bureau
    pastes the printed lines into ruqi.toml and keeps the password in register.pass (mode 600)."""
    name, level, code = bureau
    return join_existing(init(root, name=name, level=level, division_code=code), admin, bureau)


def join_existing(ws: Workspace, admin: str, bureau: tuple[str, str, str]) -> Workspace:
    """A workspace that has worked on its own joins the register (the README's steps for a county)."""
    name, level, code = bureau
    added: BureauAdded = add_bureau(admin, name, level, code)
    secret = ws.root / "register.pass"
    secret.write_text(added.password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    toml = ws.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n" + added.toml_lines(), encoding="utf-8")
    return Workspace.open(ws.root)
