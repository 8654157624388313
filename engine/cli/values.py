"""Command-line values converted without pydantic, where that gives the very same value (start-up time).

typer ≥ 0.29 converts every option's text with a pydantic ``TypeAdapter``: importing pydantic and
building one adapter per option costs every ``ruqi`` command about a tenth of a second before it does
anything, for options that are nearly all text, flags, whole numbers and paths.  ``install()``
converts those directly (``str`` and ``bool`` as they are, ``int`` from plain digits, ``Path`` through
typer's own path checks) and hands everything else — any other type, a parser, a range, and every value the direct way does not
take, such as ``--year abc`` — to typer's pydantic conversion, so values and (Chinese, see ``zh``)
error messages stay what typer gives.  ``tests/test_cli_zh.py`` compares the two on the same values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import typer.core
from typer import _coercion
from typer._click import Context
from typer._param_types import coerce_cli_path

from ..cells import parse_date

_DIGITS = re.compile(r"-?[0-9]{1,18}")
_UNSET = object()  # "not a value the direct way takes": typer's own conversion decides


def direct_value(annotation: Any, value: Any) -> Any:
    """``value`` converted as typer would, or ``_UNSET`` when only typer's conversion can tell."""
    if annotation in (str, bool):
        return value if type(value) is annotation else _UNSET
    if annotation is int:
        if type(value) is int:
            return value
        return int(value) if type(value) is str and _DIGITS.fullmatch(value) else _UNSET
    return _UNSET


def _is_direct(desc: _coercion.TypeDescriptor) -> bool:
    """A text, flag, whole-number (no range) or path option, with no parser or file of its own."""
    annotation, info = desc.annotation, desc.parameter_info
    if desc.file_annotation is not None or info.parser is not None:
        return False
    if annotation is int:
        return info.min is None and info.max is None and not info.clamp
    return annotation in (str, bool) or _is_plain_path(annotation, info)


def _is_plain_path(annotation: Any, info: Any) -> bool:
    return annotation is Path and info.path_type is None


@dataclass(frozen=True)
class DirectRuntimeParam(_coercion.RuntimeParam):
    """A text, whole-number or path option: converted directly, anything unusual by typer."""

    descriptor: _coercion.TypeDescriptor

    def _coerce_value(self, value: Any, param: typer.core._TyperParameter, ctx: Context) -> Any:
        if _is_plain_path(self.annotation, self.parameter_info) and isinstance(value, str | Path):
            path = Path(value)
            if str(path) == str(value):  # else ("", "a/") typer's messages quote the text as typed
                return coerce_cli_path(path, self.parameter_info, path_type=Path, param=param, ctx=ctx)
        done = direct_value(self.annotation, value)
        if done is not _UNSET:
            return done
        return _coercion.build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)


def runtime_param(descriptor: _coercion.TypeDescriptor) -> _coercion.RuntimeParam:
    """The direct conversion for plain ``str``, ``bool``, ``int`` and ``Path`` options, typer's for the rest."""
    if _is_direct(descriptor):
        return DirectRuntimeParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation,
                                  descriptor=descriptor)
    return _coercion.build_runtime_param(descriptor)


def _get_runtime_param(self: typer.core._TyperParameter) -> _coercion.RuntimeParam:
    if self._runtime_param is None:
        self._runtime_param = runtime_param(self.type_descriptor)
    return self._runtime_param


def install() -> None:
    """Convert plain option values directly in every typer command of this process (idempotent)."""
    typer.core._TyperParameter.get_runtime_param = _get_runtime_param  # type: ignore[method-assign]


def day_option(text: str | None, option: str) -> date | None:
    """A date option's value (``--today``, ``--from``, ``--due`` …): 2025-06-01, 2025/6/1 or 2025年6月1日,
    as the plan's and the workbooks' dates are read; a date that does not exist (2025-02-30) is a usage
    error said in Chinese, like any other bad value."""
    if text is None or not text.strip():
        return None
    day = parse_date(text)
    if day is None:
        raise typer.BadParameter(f"日期“{text}”无法识别，请写成 2025-06-01 或 2025年6月1日。", param_hint=option)
    return day


def choice_option(text: str | None, option: str, choices: Mapping[str, str]) -> str | None:
    """An option that takes one of ``choices`` ({value: its Chinese label}, the order shown): the value
    (any letter case) or its label; anything else is a usage error listing them, not a search that
    silently finds nothing."""
    if text is None or not text.strip():
        return None
    typed = text.strip()
    for value, label in choices.items():
        if typed.lower() == value.lower() or typed == label:
            return value
    listed = "、".join(f"{v}（{label}）" for v, label in choices.items())
    raise typer.BadParameter(f"没有“{text}”这一项，可选：{listed}。", param_hint=option)


def positive_seconds(value: float, option: str) -> float:
    """A waiting time such as ``--interval``: more than 0 seconds."""
    if not value > 0:  # also NaN
        raise typer.BadParameter(f"要写大于 0 的秒数，例如 2（现为 {value:g}）。", param_hint=option)
    return value
