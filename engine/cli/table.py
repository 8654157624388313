"""The command line's tables: rich's table, laid out in one pass over plain cells.

``ruqi review``, ``status`` and ``archive search`` print tables of hundreds of rows.  rich's
``Table`` measures every cell through its general renderable machinery (a ``Padding`` around each
cell, measured, then rendered line by line and cropped) — about as long as the rest of such a
command together (``ruqi review`` on a month: ~60 ms of ~180 ms after start-up).  This ``Table``
prints the very same output (the same box, widths, wrapping and styles: tests/test_cli_table.py
compares the two character by character, styles included) from the cells' text: a cell that fits
on one line of its column is padded as it is; only a cell that must wrap, fold or be cut is laid out
by rich itself, so the rules for those stay rich's.

It takes the part of rich's API the commands use: a title (centred or left), columns with
``no_wrap``, ``min_width`` and ``overflow``, rows of text (``str`` is read as markup, as rich does)
or ``Text``.  Printed with ``console.print(table)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rich import box
from rich._ratio import ratio_reduce
from rich.cells import cell_len, chop_cells
from rich.console import Console, ConsoleOptions, JustifyMethod, OverflowMethod
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Table as RichTable
from rich.text import Text

PAD = 1  # rich's default cell padding, each side
NEWLINE = Segment.line()


@dataclass(slots=True)
class Column:
    header: str
    no_wrap: bool = False
    min_width: int | None = None
    overflow: OverflowMethod = "ellipsis"
    cells: list[str | Text] = field(default_factory=list)

    def measure(self, widest: int, limit: int) -> int:
        """The column's width, padding included, given at most ``limit`` cells: rich's
        ``Table._measure_column`` of text cells whose widest line (of the header and every cell) is
        ``widest`` cells; ``min_width`` at least."""
        if limit < 1:
            return 0
        width = limit if limit - 2 * PAD < 1 else min(min(widest, limit) + 2 * PAD, limit)
        return width if self.min_width is None else max(width, self.min_width + 2 * PAD)


def _widest(text: Text) -> int:
    lines = text.plain.splitlines()
    return max(map(cell_len, lines)) if lines else 0


class Table:
    """rich's default table (heavy head box, one space of padding) for text cells."""

    def __init__(self, title: str | None = None, *, title_justify: JustifyMethod = "center") -> None:
        self.title = title
        self.title_justify = title_justify
        self.columns: list[Column] = []

    def add_column(self, header: str, *, no_wrap: bool = False, min_width: int | None = None,
                   overflow: OverflowMethod = "ellipsis") -> None:
        self.columns.append(Column(header, no_wrap, min_width, overflow))

    def add_row(self, *cells: str | Text) -> None:
        for column, cell in zip(self.columns, cells, strict=True):
            column.cells.append(cell)

    def widths(self, texts: list[list[Text]], max_width: int) -> list[int]:
        """Each column's width, padding included: rich's ``Table._calculate_column_widths``
        (``texts``: each column's header and cells)."""
        widest = [max(map(_widest, t)) for t in texts]
        widths = [c.measure(w, max_width) or 1 for c, w in zip(self.columns, widest, strict=True)]
        if sum(widths) > max_width:
            widths = RichTable._collapse_widths(widths, [not c.no_wrap for c in self.columns], max_width)
            if sum(widths) > max_width:  # rich's last resort: every column narrower alike
                widths = ratio_reduce(sum(widths) - max_width, [1] * len(widths), widths, widths)
            widths = [c.measure(most, w) for c, most, w in zip(self.columns, widest, widths, strict=True)]
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        if not self.columns:
            yield NEWLINE
            return
        # str is markup, read as rich reads it (the console's markup and emoji settings)
        texts = [[c if isinstance(c, Text) else console.render_str(c, highlight=False) for c in (col.header, *col.cells)]
                 for col in self.columns]
        edges = len(self.columns) + 1
        widths = self.widths(texts, options.max_width - edges)
        table_options = options.update(width=sum(widths) + edges, highlight=False, height=None)
        if self.title:
            title = console.render_str(self.title, style="table.title", highlight=False)
            yield from console.render(title, table_options.update(justify=self.title_justify))
        frame = box.HEAVY_HEAD.substitute(table_options, safe=console.safe_box)
        border = Style.null()
        yield Segment(frame.get_top(widths), border)
        yield NEWLINE
        header_style = console.get_style("table.header")
        rows = list(zip(*texts, strict=True))
        for n, row in enumerate(rows):
            ends = "head" if n == 0 else "foot" if n == len(rows) - 1 else "mid"
            left, right, between = (Segment(getattr(frame, f"{ends}_{part}"), border)
                                    for part in ("left", "right", "vertical"))
            style = header_style if n == 0 else Style.null()
            cells = [self._cell(console, table_options, column, w, text, style)
                     for column, w, text in zip(self.columns, widths, row, strict=True)]
            tallest = max(map(len, cells))
            if tallest == 0:  # no cell has a line (no room at all): rich's blank line
                cells = [[[Segment(" " * w)]] for w in widths]
            elif any(len(lines) != tallest for lines in cells):  # header cells sit at the bottom, the rest at the top
                cells = [_aligned(lines, w, tallest, style, bottom=n == 0) for lines, w in zip(cells, widths, strict=True)]
            plain = not style
            for k in range(max(tallest, 1)):
                parts = [lines[k] for lines in cells]
                if plain and all(isinstance(part, str) for part in parts):  # most rows: one segment a line
                    yield Segment(left.text + between.text.join(parts) + right.text, border)  # type: ignore[arg-type]
                else:
                    yield left
                    for i, part in enumerate(parts):
                        if i:
                            yield between
                        if isinstance(part, str):
                            yield Segment(part, style)
                        else:
                            yield from part
                    yield right
                yield NEWLINE
            if n == 0:
                yield Segment(frame.get_row(widths, "head"), border)
                yield NEWLINE
        yield Segment(frame.get_bottom(widths), border)
        yield NEWLINE

    @staticmethod
    def _cell(console: Console, options: ConsoleOptions, column: Column, width: int, text: Text,
              style: Style) -> Lines:
        """The cell's lines, each ``width`` wide, as rich's table lays them out: text that fits on one
        line padded as it is; longer text broken into lines by rich's own ``Text.wrap``.  A line of
        plain text is a ``str`` (printed in ``style``), any other a list of segments."""
        inner = width - 2 * PAD
        if inner < 1 or text.justify or text.no_wrap is not None:  # rich's whole way, for what never happens here
            cell_options = options.update(width=width, justify="left", no_wrap=column.no_wrap, overflow=column.overflow,
                                          height=None, highlight=False)
            return list(console.render_lines(Padding(text, (0, PAD)), cell_options, style=style))
        plain = text.plain
        if "\n" in plain or "\t" in plain or cell_len(plain) > inner:
            if _folds_alone(text, column, inner):  # a long name or serial: cut every ``inner`` cells
                return [f" {part}{' ' * (inner - cell_len(part))} " for part in chop_cells(plain, inner)]
            lines = text.wrap(console, inner, justify="left", overflow=text.overflow or column.overflow,
                              tab_size=(console.tab_size if text.tab_size is None else text.tab_size) or 8,
                              no_wrap=column.no_wrap)
            rendered = Text("\n").join(lines).render(console, end=text.end)
            return [_padded(line, style) for line in Segment.split_and_crop_lines(rendered, inner, pad=True,
                                                                                   include_new_lines=False)]
        if not text.spans and not text.style:
            return [f" {plain}{' ' * (inner - cell_len(plain))} "]
        filled = text.copy()
        filled.truncate(inner, pad=True)
        return [_padded(Text("\n").join([filled]).render(console), style)]


Lines = list[str | list[Segment]]


def _padded(segments: Iterable[Segment], style: Style) -> list[Segment]:
    pad = Segment(" " * PAD, style)
    return [pad, *Segment.apply_style(segments, style), pad]


def _aligned(lines: Lines, width: int, height: int, style: Style, *, bottom: bool) -> Lines:
    """``lines`` made ``height`` lines with blank ones (rich's ``Segment.align_top``/``align_bottom``)."""
    blank = [Segment(" " * width, style)]
    more: Lines = [blank] * (height - len(lines))
    return more + lines if bottom else lines + more


def _folds_alone(text: Text, column: Column, inner: int) -> bool:
    """Whether rich would fold the cell's text by cells alone: plain text, no space to break at
    (rich's word wrap finds one word, longer than the line, and chops it), in a ``fold`` column."""
    plain = text.plain
    return (column.overflow == "fold" and not column.no_wrap and text.overflow in (None, "fold") and inner >= 2
            and not text.spans and not text.style and plain.split() == [plain])
