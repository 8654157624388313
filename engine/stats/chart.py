"""A horizontal bar chart as inline SVG, small enough to read in one go (no plotting library).

One group of bars per label (a unit, a manual part), one bar per series (政务人员注册率,
企业注册率).  Rates are drawn on a 0–100 % axis; a rate above 100 % is drawn to the edge and
labelled with its real value, a missing value is written as text instead of a bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7f6000")
FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, percent: bool = True, width: int = 640,
              missing_text: str = "未报送") -> str:
    """SVG markup.  ``percent``: values are fractions drawn on 0–100 %; else counts on 0–max."""
    label_w, value_w, bar_h, gap, top = 96, 58, 11, 9, 40
    plot_w = width - label_w - value_w
    group_h = bar_h * len(series) + gap
    height = top + group_h * len(labels) + 8
    biggest = max([1.0, *(v for s in series for v in s.values if v is not None)])
    vmax = 1.0 if percent else float(math.ceil(biggest / 4) * 4)  # whole-number ticks
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10">']
    out += _legend(series, label_w)
    out += _axis(label_w, plot_w, top, height, vmax, percent)
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        out.append(f'<text x="{label_w - 6}" y="{y0 + (group_h - gap) / 2 + 3.5:.1f}" text-anchor="end">'
                   f"{escape(label)}</text>")
        for k, s in enumerate(series):
            v = s.values[i]
            y = y0 + k * bar_h
            if v is None:
                if k == 0:  # one note per group, level with the label
                    out.append(f'<text x="{label_w + 4}" y="{y0 + (group_h - gap) / 2 + 3.5:.1f}" fill="#999">'
                               f"{escape(missing_text)}</text>")
                continue
            w = plot_w * min(v, vmax) / vmax
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{PALETTE[k % 4]}"/>')
            shown = f"{v * 100:.1f}%" if percent else f"{v:g}"
            color = "#c00000" if percent and v > 1 else "#000"
            out.append(f'<text x="{label_w + w + 3:.1f}" y="{y + bar_h - 3}" fill="{color}">{shown}</text>')
    out.append("</svg>")
    return "".join(out)


def _legend(series: Sequence[Series], x0: int) -> list[str]:
    out, x = [], x0
    for k, s in enumerate(series):
        out.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE[k % 4]}"/>')
        out.append(f'<text x="{x + 14}" y="13">{escape(s.name)}</text>')
        x += 24 + 11 * len(s.name)
    return out


def _axis(x0: int, plot_w: int, top: int, height: int, vmax: float, percent: bool) -> list[str]:
    out = []
    for i in range(5):
        x = x0 + plot_w * i / 4
        tick = f"{25 * i}%" if percent else f"{vmax * i / 4:g}"
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" fill="#666">{tick}</text>')
    return out
