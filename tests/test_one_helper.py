"""One helper for one job: full-width digits are folded by ``engine.text.halfwidth`` only, and the
operating system's user names come from ``engine.actor`` only.

Read from the source (``ast``, like ``test_import_graph``): a translation table of full-width code
points or a ``getpass``/``pwd`` call outside its home module fails, naming the file and line.  Each
caller keeps what it accepted before the tables were merged (the second half).
"""

from __future__ import annotations

import ast
import getpass
import os
from datetime import date
from pathlib import Path

from engine.actor import current_actor, login_name, user_name
from engine.cells import parse_date
from engine.identifiers import check_uscc, normalize_uscc
from engine.inbox.validate import plausible_phone
from engine.readback.common import parse_number, printed_dates_in
from engine.text import halfwidth

ENGINE = Path(__file__).resolve().parent.parent / "engine"
FULL_WIDTH_ASCII = range(0xFF01, 0xFF5F)  # ！ … ～: the full-width forms of printable ASCII


def _sources(engine_dir: Path = ENGINE) -> list[tuple[str, ast.AST]]:
    return [(str(p.relative_to(engine_dir.parent)), ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(engine_dir.rglob("*.py"))]


def full_width_tables(engine_dir: Path = ENGINE) -> list[str]:
    """Code points of full-width ASCII written as numbers: a translation table of its own."""
    return sorted({f"{name}:{n.lineno}" for name, tree in _sources(engine_dir) if name != "engine/text.py"
                   for n in ast.walk(tree)
                   if isinstance(n, ast.Constant) and type(n.value) is int and n.value in FULL_WIDTH_ASCII})


def _names_the_os_user(n: ast.AST) -> bool:
    if isinstance(n, ast.Attribute):
        return ast.unparse(n) in ("getpass.getuser", "pwd.getpwuid", "pwd.getpwnam")
    if isinstance(n, ast.Import | ast.ImportFrom):
        return any(a.name == "pwd" or (isinstance(n, ast.ImportFrom) and n.module == "getpass" and a.name == "getuser")
                   for a in n.names)
    return False


def os_user_lookups(engine_dir: Path = ENGINE) -> list[str]:
    """``getpass.getuser()`` or the ``pwd`` database used outside ``engine/actor.py`` (``getpass.getpass``,
    the password prompt, is another job)."""
    return sorted({f"{name}:{n.lineno}" for name, tree in _sources(engine_dir) if name != "engine/actor.py"
                   for n in ast.walk(tree) if _names_the_os_user(n)})


def test_full_width_digits_are_folded_in_one_place() -> None:
    assert full_width_tables() == []


def test_the_os_user_is_named_in_one_place() -> None:
    assert os_user_lookups() == []


def test_the_checkers_see_each_copy(tmp_path: Path) -> None:
    pkg = tmp_path / "engine"
    pkg.mkdir()
    (pkg / "text.py").write_text("T = {0xFF10: 0x30}\n", encoding="utf-8")
    (pkg / "a.py").write_text("T = {0xFF10 + i: 0x30 + i for i in range(10)}\nU = {0xFF0D: 0x2D}\n", encoding="utf-8")
    (pkg / "b.py").write_text("import getpass\n\ndef me():\n    return getpass.getuser()\n", encoding="utf-8")
    (pkg / "c.py").write_text("def owner(uid):\n    import pwd\n    return pwd.getpwuid(uid).pw_name\n", encoding="utf-8")
    (pkg / "d.py").write_text("import getpass\n\ndef ask():\n    return getpass.getpass('密码：')\n", encoding="utf-8")
    assert full_width_tables(pkg) == ["engine/a.py:1", "engine/a.py:2"]
    assert os_user_lookups(pkg) == ["engine/b.py:4", "engine/c.py:2", "engine/c.py:3"]


def test_halfwidth_folds_digits_and_only_the_signs_named() -> None:
    assert halfwidth("０１２３４５６７８９") == "0123456789"
    assert halfwidth("（０３５２）－１２３＋") == "（0352）－123＋"  # punctuation kept unless named
    assert halfwidth("（０３５２）－１２３＋", "-()+") == "(0352)-123+"
    assert halfwidth("ａＢ９", "aB") == "aB9"


def test_each_caller_reads_what_it_read_before() -> None:
    # 统一社会信用代码: full-width letters either case, digits, spaces and dashes.
    assert normalize_uscc(" ９１１４０２００ｍａ０ｋ１２３４５４ ") == "91140200MA0K123454"
    assert normalize_uscc("91140200-ＭＡ0K 123454") == "91140200MA0K123454"
    assert check_uscc("９１１４０２００ＭＡ０Ｋ１２３４５４") is None
    # Dates typed with full-width digits; full-width separators were never read and still are not.
    assert parse_date("２０２５年３月１０日") == date(2025, 3, 10)
    assert parse_date("２０２５-３-１０") == date(2025, 3, 10)
    assert parse_date("２０２５－３－１０") is None
    assert parse_date("填报时间：２０２５年６月１６日", within_text=True) == date(2025, 6, 16)
    # Phones: full-width digits, dash, brackets and plus.
    assert plausible_phone("（０３５２）－５１２３４５６")
    assert plausible_phone("＋８６ １３８００１３８０００")
    assert not plausible_phone("１３８００")
    # The card's numbers and printed dates.
    assert parse_number("１２") == 12 and parse_number("十二") == 12
    assert printed_dates_in("检查日期：２０２５年３月３日至４日") == (date(2025, 3, 3), date(2025, 3, 4))


def test_the_os_user_names() -> None:
    assert login_name() == getpass.getuser()
    assert current_actor() == getpass.getuser() and current_actor("张三") == "张三"
    if hasattr(os, "geteuid"):
        import pwd

        assert user_name(os.geteuid()) == pwd.getpwuid(os.geteuid()).pw_name
    assert user_name(2_000_000_000) == "2000000000"  # no such user: the number
