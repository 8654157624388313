"""engine.cli.table prints what rich's Table prints, character by character and style by style.

The commands' tables (``ruqi status``, ``review``, ``archive search`` …) are laid out by
engine/cli/table.py in one pass over the cells' text, for start-up time; a clerk must not see any
difference from rich's layout: the same box, column widths, wrapping of long names, folding of
serials, cut-off ``no_wrap`` columns, CJK double widths, markup and styled cells, at every terminal
width.  Each case here is printed both ways and compared."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from rich.style import Style
from rich.table import Table as RichTable
from rich.text import Text

from engine.cli.table import Table

WORDS = ["大同市云州区晋北矿业有限公司", "平城区", "140200-2025-0001", "重点", "一般", "2025-06-30", "逾期 3 天",
         "回答“是”的题号：3、7", "Shanxi Coal Co. Ltd", "", "v2 pdf", "A", "第1次", "是", "检查组长 王某某，成员 李某",
         "[red]逾期 12 天[/red]", "\\[不是标记]", "两行\n文字", "制表\t符", "很长很长很长很长很长很长很长很长很长很长的企业名称股份有限公司", "晋北:fire:商贸"]


def both(title: str | None, justify: str, columns: list[dict[str, object]], rows: list[list[str | Text]]
         ) -> tuple[RichTable, Table]:
    rich_table = RichTable(title=title, title_justify=justify)  # type: ignore[arg-type]
    ours = Table(title, title_justify=justify)  # type: ignore[arg-type]
    for i, col in enumerate(columns):
        options = {k: v for k, v in col.items() if k != "header"}
        header = f"列{i}{col.get('header', '')}"
        rich_table.add_column(header, **options)  # type: ignore[arg-type]
        ours.add_column(header, **options)  # type: ignore[arg-type]
    for row in rows:
        rich_table.add_row(*(c.copy() if isinstance(c, Text) else c for c in row))
        ours.add_row(*row)
    return rich_table, ours


def styled_chars(table: object, width: int, emoji: bool = True) -> list[tuple[str, Style]]:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor", legacy_windows=False,
                      emoji=emoji)
    return [(ch, seg.style or Style.null()) for seg in console.render(table) for ch in seg.text]


def printed(table: object, width: int, **kw: object) -> str:
    console = Console(file=io.StringIO(), width=width, highlight=False, **kw)  # type: ignore[arg-type]
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def random_case(seed: int) -> tuple[str | None, str, list[dict[str, object]], list[list[str | Text]]]:
    rnd = random.Random(seed)
    ncols = rnd.randint(1, 9)
    columns: list[dict[str, object]] = []
    for _ in range(ncols):
        col: dict[str, object] = {}
        kind = rnd.random()
        if kind < 0.15:
            col.update(no_wrap=True, min_width=rnd.choice([10, 16, 25]))
        elif kind < 0.6:
            col["overflow"] = "fold"
        elif kind < 0.7:
            col["no_wrap"] = True
        if rnd.random() < 0.2:
            col["header"] = "（" + rnd.choice(WORDS[:8]) + "）"
        columns.append(col)
    rows: list[list[str | Text]] = []
    for _ in range(rnd.randint(0, 12)):
        row: list[str | Text] = []
        for _ in range(ncols):
            word = rnd.choice(WORDS)
            pick = rnd.random()
            if pick < 0.45:
                row.append(Text(word.replace("\\", "")))
            elif pick < 0.55:
                row.append(Text(word, style=rnd.choice(["red", "bold yellow", "green"])))
            elif pick < 0.6:
                t = Text(word)
                t.stylize("red", 0, max(1, len(word) // 2))
                row.append(t)
            else:
                row.append(word)
        rows.append(row)
    title = rnd.choice([None, "尚未交回的反馈卡", "检索到 3 件", "很长的标题：" + "入企检查纪律监督审查清单" * 3])
    return title, rnd.choice(["center", "left"]), columns, rows


@pytest.mark.parametrize("seed", range(60))
def test_prints_what_rich_prints(seed: int) -> None:
    title, justify, columns, rows = random_case(seed)
    for width in (12, 30, 60, 80, 100, 160, 240):
        rich_table, ours = both(title, justify, columns, rows)
        assert printed(ours, width) == printed(rich_table, width), (seed, width)
        emoji = seed % 2 == 0  # the CLI's console has emoji codes off (engine/cli/common.py)
        assert styled_chars(ours, width, emoji) == styled_chars(rich_table, width, emoji), (seed, width)


def test_a_terminal_without_unicode_gets_the_same_ascii_box() -> None:
    title, justify, columns, rows = random_case(7)
    rich_table, ours = both(title, justify, columns, rows)
    out = []
    for table in (rich_table, ours):
        file = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="replace")
        Console(file=file, width=80, legacy_windows=False).print(table)
        file.flush()
        out.append(file.buffer.getvalue())  # type: ignore[attr-defined]
    assert out[0] == out[1] and b"+" in out[1]


def test_a_table_without_columns_is_an_empty_line() -> None:
    assert printed(Table("无"), 80) == printed(RichTable(title="无"), 80)


def test_the_cli_prints_an_emoji_code_in_a_name_as_typed() -> None:
    from engine.cli import common

    table = Table("检索")
    table.add_column("企业")
    table.add_row("晋北:fire:商贸")
    with common.console.capture() as out:
        common.console.print(table)
    assert "晋北:fire:商贸" in out.get()
