"""One vocabulary: form types, card states, flags, audit actions, the question count and the card's
是/否 are each spelled once, in their enum or in the form definition, and every other module names them.

Read from the source (``ast``), like ``test_import_graph``: a string literal equal to one of these
values outside its home module fails, naming the file and line, so a copy cannot creep back.
Docstrings and comments are not code and are not read.  An enum member's own value (``X = "x"`` in an
enum class) is a definition, not a copy: the inbox's outcome status ``needs_review`` and a finding
code ``VIOLATION`` are other enums' values that happen to be spelled alike.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import get_type_hints

import pytest

from engine.archive import Action
from engine.card_state import STORED, CardState
from engine.forms import (
    CARD,
    CARD_QUESTIONS,
    FORMS,
    NO,
    QUESTION_NUMBERS,
    YES,
    FormKey,
    FormType,
    InspectionKind,
)
from engine.forms.definitions import QUESTION_STEM, SERIAL_LABEL, label_of
from engine.inbox.codes import Flag, Status
from engine.inbox.finish import Known, Seen
from engine.review.model import ReviewFlag

ENGINE = Path(__file__).resolve().parent.parent / "engine"

# value → the modules that define it (its home) or use the same spelling for something else, and why.
# The card states the register stores (the review's derived ones, "late", "missing" …, are also common
# JSON field names and are not policed).
HOME: dict[str, set[str]] = {
    **{t.value: {"engine.forms.types"} for t in FormType},
    **{k.value: {"engine.forms.definitions", "engine.forms.types"} for k in FormKey},
    **{s.value: {"engine.card_state"} for s in STORED},
    **{f.value: {"engine.inbox.codes"} for f in Flag},
    **{k.value: {"engine.forms.definitions"} for k in InspectionKind},
    YES: {"engine.forms.definitions"},
    NO: {"engine.forms.definitions"},
}
ELSEWHERE: dict[str, set[str]] = {
    "none": {"engine.mail.config", "engine.workspace", "engine.render.pdf"},  # the mail server's security = "none"; CSS content: none
    "needs_review": {"engine.inbox.shelve"},  # the old inbox/needs_review/ folder
    "other": {"engine.inbox.preflight"},  # an OLE file that is neither Word nor Excel
    "card": {"engine.review.collect", "engine.readback"},  # `ruqi review --json` field; readback's lazy table: card.py
    "received": {"engine.confirm_sheet"},  # a field of the review sheet's template
    "plan": {"engine.web.routes.generate", "engine"},  # a page template's variable; engine's lazy table: plan.py
}
# A migration spells the values as they were when it was written: it must not change when an enum does.
FROZEN = {"engine.db.migrations"}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ENGINE.rglob("*.py")):
        parts = list(path.relative_to(ENGINE.parent).with_suffix("").parts)
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _text_parts(tree: ast.AST) -> set[int]:
    """The literal pieces of f-strings: text around values, never a value on its own."""
    return {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}


def _enum_values(tree: ast.AST) -> set[int]:
    """The value constants of enum members (``X = "x"`` directly in a class deriving from an Enum)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any("Enum" in ast.unparse(b) for b in node.bases):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
                    out.add(id(stmt.value))
    return out


def _range_to_question_count(node: ast.Call) -> bool:
    """``range(1, 11)``, ``range(1, QUESTION_COUNT + 1)``, ``range(1, len(CARD_QUESTIONS) + 1)``."""
    if not (isinstance(node.func, ast.Name) and node.func.id == "range" and len(node.args) == 2):
        return False
    start, stop = (ast.unparse(a) for a in node.args)
    return start == "1" and (stop == str(len(CARD_QUESTIONS) + 1) or "QUESTION_COUNT" in stop
                             or "CARD_QUESTIONS" in stop)


def _literal_action(node: ast.Call) -> bool:
    """``log_action(ws, "export", …)`` / ``audit.append(s, ws, "file", …)``: the action as a string."""
    name = ast.unparse(node.func).rsplit(".", 1)[-1]
    pos = {"log_action": 1, "append": 2}.get(name)
    if pos is None or len(node.args) <= pos:
        return False
    arg = node.args[pos]
    if name == "append" and not ast.unparse(node.func).startswith("audit"):
        return False
    return isinstance(arg, ast.Constant) and isinstance(arg.value, str)


def copies() -> list[str]:
    found = []
    for module, path in _modules():
        if module in FROZEN:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | _enum_values(tree) | _text_parts(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ENGINE.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                v = node.value
                if v in HOME and module not in HOME[v] | ELSEWHERE.get(v, set()):
                    found.append(f"{where} {v!r}")
            elif isinstance(node, ast.Call) and module != "engine.forms.definitions" and _range_to_question_count(node):
                found.append(f"{where} {ast.unparse(node)} (use QUESTION_NUMBERS)")
            elif isinstance(node, ast.Call) and _literal_action(node):
                found.append(f"{where} {ast.unparse(node)[:60]} (use Action)")
    return found


def test_no_vocabulary_literal_outside_its_enum() -> None:
    assert copies() == []


def test_the_checker_finds_each_kind_of_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself, on a module that makes every mistake once."""
    pkg = tmp_path / "engine"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text(
        '"""docstring: card_returned, needs_review are fine here."""\n'
        'from enum import StrEnum\n'
        'class Mine(StrEnum):\n    X = "needs_review"\n'
        'state = "needs_review"\n'
        'flags = ["REVISED"]\n'
        'kind = "card_generated"\n'
        'answers = {q: "否" for q in range(1, 11)}\n'
        'log_action(ws, "export", "x")\n',
        encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", pkg)
    found = copies()
    assert sorted(f.split(" ", 1)[0].rsplit(":", 1)[1] for f in found) == ["5", "6", "7", "8", "8", "9"], found


def test_every_value_has_a_chinese_label() -> None:
    for enum in (FormKey, FormType, CardState, Flag, ReviewFlag, Action, InspectionKind):
        for member in enum:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in member.zh), (enum.__name__, member)


def test_stored_values_are_the_ones_existing_workspaces_hold() -> None:
    """Enums replaced literals that are in every workspace's database: same bytes, or old rows stop matching."""
    assert [s.value for s in STORED] == ["none", "received", "needs_review"]
    assert {t.value for t in FormType} >= {"notice", "notice_board", "card_generated", "card_returned", "stats_table",
                                           "stats_report", "review_export", "other"}
    assert {"REVISED", "VIOLATION_WITHDRAWN"} <= {f.value for f in Flag}
    assert [a.value for a in Action][:9] == ["file", "generate", "receive", "reject", "override", "export", "verify",
                                             "repair", "void"]


# The literals a workspace of the first release holds read with these enums: tests/test_release1_upgrade.py.


def test_question_numbers_and_answer_words_come_from_the_card() -> None:
    assert tuple(range(1, len(CARD.items) + 1)) == QUESTION_NUMBERS
    assert CARD.options == (YES, NO)
    assert FORMS[FormKey.CARD] is CARD and FormType.generated(FormKey.CARD) is FormType.CARD_GENERATED
    assert FormType.generated("notice") is FormType.NOTICE


# ---- the readers derive the card's words from engine/forms/definitions.py --------------------------------

def _card_words() -> set[str]:
    labels = {CARD.label(k) for k in ("unit", "date", "inspectors", "experts", "enterprise", "head", "position",
                                      "phone", "remark")}
    visit = CARD.texts["visit"].split("{visit_total}", 1)[1].split("{visit_kind}", 1)[0]  # 次入企业检查，第
    return labels | {label_of(SERIAL_LABEL), visit.strip("，第"), QUESTION_STEM, *(t.zh for t in FormKey)}


def retyped_card_words(paths: list[Path], *, exact: bool) -> list[str]:
    """String literals in these modules that spell one of the card's printed words (anywhere in the literal,
    or, with ``exact``, as the whole literal: the validator's messages are prose), or the answer words."""
    words = _card_words()
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
                continue
            v = node.value
            hit = [w for w in words if (v == w if exact else w in v)]
            if v in (YES, NO) or (not exact and YES in v and NO in v):
                hit.append(f"{YES}/{NO}")
            if hit:
                found.append(f"{path.relative_to(ENGINE.parent)}:{node.lineno} {v[:40]!r} re-types {hit}")
    return found


def test_the_readers_take_the_cards_words_from_its_definition() -> None:
    """Labels, 是/否, the question stem and the visit sentence: change the card, the readers follow."""
    assert retyped_card_words(sorted((ENGINE / "readback").glob("*.py")), exact=False) == []
    assert retyped_card_words([ENGINE / "inbox" / "validate.py"], exact=True) == []


def test_the_derived_patterns_read_what_the_card_prints() -> None:
    from engine.readback.common import HEAD_LABELS, QUESTION_PREFIXES, printed_dates_in, visit_numbers_in

    visit = CARD.texts["visit"].format(visit_total=3, visit_kind="二", kind_boxes="☑执法检查")
    assert visit_numbers_in(visit) == (3, 2)
    assert visit_numbers_in(visit.replace("入企业检查", "入企检查").replace("，", "")) == (3, 2)
    assert printed_dates_in(CARD.texts["date"].format(date_range="2025年3月3日至5日")) is not None
    assert [labels[0] for labels in HEAD_LABELS.values()] == ["被检查单位", "负责人", "职务", "联系电话"]
    assert QUESTION_PREFIXES[9] == "十、是否" and CARD_QUESTIONS[9].startswith(QUESTION_PREFIXES[9])


def literal_codes() -> list[str]:
    """``error("SOME_CODE", …)``: a finding's code typed in place, not a member of a code enum with its label."""
    found = []
    for _module, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = ast.unparse(node.func) if isinstance(node, ast.Call) else ""
            if (func.rsplit(".", 1)[-1] in ("error", "warning", "Finding") and not func.startswith(("log", "logger."))
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append(f"{path.relative_to(ENGINE.parent)}:{node.lineno} {node.args[0].value}")
    return found


def test_every_finding_code_is_an_enum_member() -> None:
    assert literal_codes() == []


# ---- one Chinese word for one thing in what the clerk reads ----------------------------------------------

# The word not used → the word used (the card comes back 交回, as 已交回/逾期交回 say everywhere; the blank the
# bureau issues is the 空白 card; a refused inbox file is 退回, where inbox/rejected/ puts it).
DISCARDED = {"回收": "交回", "收回": "交回", "反馈卡（生成）": "反馈卡（空白）", "生成的反馈卡": "空白反馈卡", "拒收": "退回"}


def discarded_words() -> list[str]:
    found = []
    for _module, path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [f"{path.relative_to(ENGINE.parent)}:{node.lineno} {w} (say {use})"
                          for w, use in DISCARDED.items() if w in node.value]
    # what else a clerk reads: the README, the web pages and reports, the forms' own templates
    pages = [ENGINE.parent / "README.md", *sorted(p for ext in ("*.html", "*.j2") for d in (ENGINE, ENGINE.parent / "templates")
                                                  for p in d.rglob(ext))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found += [f"{page.relative_to(ENGINE.parent)} {w} (say {use})" for w, use in DISCARDED.items() if w in text]
    return found


def test_one_word_for_one_thing() -> None:
    assert discarded_words() == []
    assert FormType.CARD_RETURNED.zh.endswith("（交回）") and FormType.CARD_GENERATED.zh.endswith("（空白）")
    assert Flag.NEEDS_REVIEW.zh == "待人工核对" == Status.NEEDS_REVIEW.zh


# ---- what goes wrong is said in Chinese; the exception's own words only as a labelled hint or in `detail` -----

ENGLISH_WORDS = re.compile(r"[A-Za-z]{4,}")


def _said_in_chinese(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    for word in allowed:
        text = text.replace(word, "")
    return ENGLISH_WORDS.findall(text)


def test_a_broken_template_is_explained_without_the_parsers_english(tdir: Path) -> None:
    from engine.render.lint import check_templates

    (tdir / "notice.docx").write_bytes(b"this is no zip archive")
    html = tdir / "card.html"
    html.write_text(html.read_text(encoding="utf-8").replace("</table>", "</tabel>", 1), encoding="utf-8")
    found = {f.where: f for f in check_templates(tdir)}
    docx, xhtml = found["notice.docx"], found["card.html"]
    assert "不是有效的 Word 文档" in docx.message and "zip" in docx.detail
    assert "不是格式良好的 XHTML（第" in xhtml.message and "mismatched" in xhtml.detail
    assert _said_in_chinese(docx.message, ("notice.docx", "Word", ".docx")) == []
    assert _said_in_chinese(xhtml.message, ("XHTML", "html", "card", "amp")) == []


def test_a_database_error_is_said_first_and_the_databases_words_are_labelled(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DatabaseError

    from engine.db import database_finding

    db = tmp_path / "ruqi.sqlite"
    db.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)  # a header and then garbage: what a bad copy leaves
    try:
        with create_engine(f"sqlite:///{db}").connect() as con:
            con.execute(text("SELECT * FROM visits"))
    except DatabaseError as e:
        f = database_finding(e, str(db))
    else:
        pytest.fail("a damaged database opened")
    head, _, hint = f.message.partition("（数据库提示：")
    assert _said_in_chinese(head, ("archive", "repair", "ruqi", "sqlite", str(tmp_path))) == [] and hint


# ---- templates name the card's words too -------------------------------------------------------------------

JINJA_CODE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)


def template_copies(root: Path) -> list[str]:
    """In the code of Jinja templates (``{% … %}``, ``{{ … }}``; never their prose): 是/否 typed as a string
    literal, or the question count typed as a number (``length == 10``), instead of ``YES``/``NO``/``QUESTION_COUNT``;
    anywhere in a template, a review flag's code typed into a link (``?flag=VIOLATION``)."""
    count = re.compile(rf"(?<![\w.]){len(CARD_QUESTIONS)}(?![\w.])")
    found = []
    for path in sorted(p for ext in ("*.html", "*.j2") for p in root.rglob(ext)):
        text = path.read_text(encoding="utf-8")
        for m in JINJA_CODE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            code = m.group(0)
            found += [f"{path.relative_to(root.parent)}:{line} {w!r} (use {name})"
                      for w, name in ((YES, "YES"), (NO, "NO")) if f'"{w}"' in code or f"'{w}'" in code]
            if count.search(code):
                found.append(f"{path.relative_to(root.parent)}:{line} {code[:40]!r} (use QUESTION_COUNT)")
        for m in re.finditer(r"flag=([A-Z_]+)", text):
            if m.group(1) in {f.value for f in ReviewFlag}:
                found.append(f"{path.relative_to(root.parent)}:{text.count(chr(10), 0, m.start()) + 1} {m.group(0)} "
                             "(pass the ReviewFlag)")
    return found


def test_templates_name_the_cards_words() -> None:
    assert template_copies(ENGINE) == []


def test_the_template_checker_finds_each_kind_of_copy(tmp_path: Path) -> None:
    root = tmp_path / "engine"
    root.mkdir()
    (root / "a.html").write_text(
        '<p>是否属实（prose is not code）</p>\n{% if a == "是" %}x{% endif %}\n'
        "{% if n | length == 10 %}全部{% endif %}{{ 'no' if b == '否' }}\n{{ items[:100] }}{{ QUESTION_COUNT }}\n"
        '<a href="/review?flag=CARD_OVERDUE">x</a><a href="/review?flag={{ flags.late }}">y</a>\n',
        encoding="utf-8")
    assert [f.split(" ", 1)[0].rsplit(":", 1)[1] for f in template_copies(root)] == ["2", "3", "3", "5"]


def test_where_bytes_seen_before_are_is_an_enum() -> None:
    """``Known.kind`` (an archive item, or a photo an earlier release held) was the strings "archive"/"held"."""
    assert get_type_hints(Known)["kind"] is Seen and issubclass(Seen, Enum)
    # The literals are gone from the two modules that built and compared them.
    for module in ("finish", "pipeline"):
        tree = ast.parse((ENGINE / "inbox" / f"{module}.py").read_text(encoding="utf-8"))
        assert not [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in ("archive", "held")]
